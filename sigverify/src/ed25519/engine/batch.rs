//! From a slice of signatures to kernel runs of four or eight lanes, and from kernel
//! outcomes to the same verdicts, reasons included, as the scalar paths.

use solana_ed25519::scalar::Scalar;

use super::{
    kernel::{CofactoredOutcome, LaneInput, LaneOutcome, SHARED_GROUPS},
    limbs::{signed_radix16, signed_radix256},
    sha512::Padded,
    Engine, MAX_LANES,
};
use crate::{
    ed25519::{
        encoding::is_canonical_point_encoding, prepared::canonical_s, SigError, SigVerdict,
        SignatureInput,
    },
    rule::Rule,
};

/// Turns groups of up to [`Engine::lanes`] signatures into kernel inputs: the
/// challenge hashes of the group, four at once, both scalars as digits. Owns
/// the hash buffers so that they are reused from group to group.
struct LanePreparer {
    padded: [Padded; MAX_LANES],
}

/// A group's kernel inputs (the first [`Engine::lanes`] used), and which
/// lanes had S < L.
struct PreparedLanes {
    lanes: [LaneInput; MAX_LANES],
    s_ok: [bool; MAX_LANES],
}

impl LanePreparer {
    fn new() -> Self {
        LanePreparer {
            padded: core::array::from_fn(|_| Padded::new()),
        }
    }

    /// Prepares `group` (1 to `engine.lanes()` signatures); spare lanes
    /// repeat the first.
    fn prepare(&mut self, engine: Engine, group: &[SignatureInput<'_>]) -> PreparedLanes {
        let lanes = engine.lanes();
        let input = |j: usize| group.get(j).unwrap_or(&group[0]);
        for (j, message) in self.padded[..lanes].iter_mut().enumerate() {
            let input = input(j);
            message.fill(&[&input.signature[..32], input.pubkey, input.message]);
        }
        let mut digests = [[0u8; 64]; MAX_LANES];
        for (quad, out) in self.padded[..lanes].chunks(4).zip(digests.chunks_mut(4)) {
            let [p0, p1, p2, p3] = quad else {
                unreachable!("lane counts are multiples of four")
            };
            out.copy_from_slice(&engine.digest4([p0, p1, p2, p3]));
        }
        let mut prepared = PreparedLanes {
            lanes: [LaneInput {
                pubkey: [0; 32],
                k_digits: [0; 64],
                s_digits: [0; 32],
            }; MAX_LANES],
            s_ok: [true; MAX_LANES],
        };
        for (j, lane) in prepared.lanes[..lanes].iter_mut().enumerate() {
            let input = input(j);
            lane.pubkey = *input.pubkey;
            let k = Scalar::from_bytes_mod_order_wide(&digests[j]);
            lane.k_digits = signed_radix16(&k.to_bytes());
            // A lane with S ≥ L runs with S = 0; its outcome is not used.
            match canonical_s(input) {
                Ok(s) => lane.s_digits = signed_radix256(&s.to_bytes()),
                Err(_) => prepared.s_ok[j] = false,
            }
        }
        prepared
    }
}

/// A rejection whose reason depends on whether R decodes: the strict oracle
/// checks R before S and before the equation, so a refused R names it.
struct PendingReason {
    index: usize,
    r: [u8; 32],
    /// The reason when R decodes to a point that is not of small order.
    otherwise: SigError,
}

/// Verifies every input under the strict rule with the vector engine, writing
/// `out[i]` for `inputs[i]`; equal, reason for reason, to the scalar path.
pub(crate) fn verify_strict(engine: Engine, inputs: &[SignatureInput<'_>], out: &mut [SigVerdict]) {
    debug_assert_eq!(inputs.len(), out.len());
    let lanes = engine.lanes();
    let block = lanes * SHARED_GROUPS;
    let mut preparer = LanePreparer::new();
    let mut pending = Vec::new();
    let mut prepared: Vec<PreparedLanes> = Vec::with_capacity(SHARED_GROUPS);
    let mut kernel_in = Vec::with_capacity(SHARED_GROUPS);
    let mut outcomes = [[LaneOutcome::default(); MAX_LANES]; SHARED_GROUPS];
    for (b, (inputs, out)) in inputs.chunks(block).zip(out.chunks_mut(block)).enumerate() {
        prepared.clear();
        prepared.extend(
            inputs
                .chunks(lanes)
                .map(|group| preparer.prepare(engine, group)),
        );
        kernel_in.clear();
        kernel_in.extend(prepared.iter().map(|p| p.lanes));
        let outcomes = &mut outcomes[..prepared.len()];
        engine.verify_groups(&kernel_in, outcomes);
        for (j, (input, verdict)) in inputs.iter().zip(out.iter_mut()).enumerate() {
            let (g, lane) = (j / lanes, j % lanes);
            let r = input.r_bytes();
            match judge_strict(&outcomes[g][lane], prepared[g].s_ok[lane], &r) {
                Judgement::Final(final_verdict) => *verdict = final_verdict,
                Judgement::DependsOnR(otherwise) => pending.push(PendingReason {
                    index: b * block + j,
                    r,
                    otherwise,
                }),
            }
        }
    }
    for group in pending.chunks(lanes) {
        let encodings = core::array::from_fn(|j| group.get(j).unwrap_or(&group[0]).r);
        let checks = engine.check_points_group(&encodings);
        for (reason, check) in group.iter().zip(checks) {
            out[reason.index] = Err(if !check.valid {
                SigError::RInvalid
            } else if check.small_order {
                SigError::RSmallOrder
            } else {
                reason.otherwise
            });
        }
    }
}

enum Judgement {
    Final(SigVerdict),
    DependsOnR(SigError),
}

/// The strict verdict for one lane, in the oracle's check order: A decodes, A
/// not of small order, (R decodes and is not of small order), S < L, and the
/// recomputed point's encoding equal to R's bytes.
fn judge_strict(outcome: &LaneOutcome, s_ok: bool, r: &[u8; 32]) -> Judgement {
    if !outcome.pubkey_valid {
        return Judgement::Final(Err(SigError::PubkeyInvalid));
    }
    if outcome.pubkey_small_order {
        return Judgement::Final(Err(SigError::PubkeySmallOrder));
    }
    if !s_ok {
        return Judgement::DependsOnR(SigError::SNonCanonical);
    }
    if outcome.recomputed == *r {
        // R is the canonical encoding of the recomputed point, so its order is
        // that point's order.
        return Judgement::Final(if outcome.recomputed_small_order {
            Err(SigError::RSmallOrder)
        } else {
            Ok(())
        });
    }
    Judgement::DependsOnR(if is_canonical_point_encoding(r) {
        SigError::Equation
    } else {
        // A non-canonical R that decodes can never equal a recomputed encoding.
        SigError::RNonCanonical
    })
}

/// Verifies every input under a cofactored rule (`zip215` or
/// `zip215-amended`) one signature per lane, writing `out[i]` for
/// `inputs[i]`; equal, reason for reason, to the scalar single path.
pub(crate) fn verify_cofactored(
    engine: Engine,
    rule: Rule,
    inputs: &[SignatureInput<'_>],
    out: &mut [SigVerdict],
) {
    debug_assert!(rule.is_cofactored());
    debug_assert_eq!(inputs.len(), out.len());
    let amended = rule == Rule::Zip215Amended;
    let lanes = engine.lanes();
    let mut preparer = LanePreparer::new();
    for (group, verdicts) in inputs.chunks(lanes).zip(out.chunks_mut(lanes)) {
        let prepared = preparer.prepare(engine, group);
        let r = core::array::from_fn(|j| group.get(j).unwrap_or(&group[0]).r_bytes());
        let outcomes = engine.verify_cofactored_group(&prepared.lanes, &r);
        for (j, (input, verdict)) in group.iter().zip(verdicts.iter_mut()).enumerate() {
            *verdict = judge_cofactored(&outcomes[j], prepared.s_ok[j], input, &r[j], amended);
        }
    }
}

/// The cofactored verdict for one lane, in the order of the scalar path's
/// checks: A (encoding, decoding, order), S < L, R (likewise), the equation.
/// Encodings and orders only count under the amended rule.
fn judge_cofactored(
    outcome: &CofactoredOutcome,
    s_ok: bool,
    input: &SignatureInput<'_>,
    r: &[u8; 32],
    amended: bool,
) -> SigVerdict {
    if amended && !is_canonical_point_encoding(input.pubkey) {
        return Err(SigError::PubkeyNonCanonical);
    }
    if !outcome.pubkey.valid {
        return Err(SigError::PubkeyInvalid);
    }
    if amended && outcome.pubkey.small_order {
        return Err(SigError::PubkeySmallOrder);
    }
    if !s_ok {
        return Err(SigError::SNonCanonical);
    }
    if amended && !is_canonical_point_encoding(r) {
        return Err(SigError::RNonCanonical);
    }
    if !outcome.r.valid {
        return Err(SigError::RInvalid);
    }
    if amended && outcome.r.small_order {
        return Err(SigError::RSmallOrder);
    }
    if outcome.equation_holds {
        Ok(())
    } else {
        Err(SigError::Equation)
    }
}
