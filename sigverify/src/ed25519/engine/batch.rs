//! From a slice of signatures to kernel runs of four or eight lanes, and from kernel
//! outcomes to the same verdicts, reasons included, as the scalar paths.

use solana_ed25519::scalar::Scalar;

use super::{
    kernel::{LaneInput, LaneOutcome, LanePoint, PointCheck, SHARED_GROUPS},
    limbs::{signed_radix16, signed_radix256},
    sha512::Padded,
    Engine, MAX_LANES,
};
use crate::{
    ed25519::{
        encoding::is_canonical_point_encoding, prepared::s_below_l, SigError, SigVerdict,
        SignatureInput,
    },
    rule::Rule,
};

/// Turns groups of up to [`Engine::lanes`] signatures into kernel inputs: the
/// challenge hashes of the group, all at once, both scalars as digits. Owns
/// the hash buffers so that they are reused from group to group.
struct LanePreparer {
    padded: [Padded; MAX_LANES],
}

impl LanePreparer {
    fn new() -> Self {
        LanePreparer {
            padded: core::array::from_fn(|_| Padded::new()),
        }
    }

    /// Prepares `group` (1 to `engine.lanes()` signatures) into the first
    /// `engine.lanes()` of `lanes` (in place: a group's inputs are 1 KiB)
    /// and returns which lanes had S < L; spare lanes repeat the first.
    fn prepare(
        &mut self,
        engine: Engine,
        group: &[SignatureInput<'_>],
        lanes: &mut [LaneInput; MAX_LANES],
    ) -> [bool; MAX_LANES] {
        let width = engine.lanes();
        let input = |j: usize| group.get(j).unwrap_or(&group[0]);
        for (j, message) in self.padded[..width].iter_mut().enumerate() {
            let input = input(j);
            message.fill(&[&input.signature[..32], input.pubkey, input.message]);
        }
        let digests = engine.digests(&self.padded);
        let mut s_ok = [true; MAX_LANES];
        for (j, lane) in lanes[..width].iter_mut().enumerate() {
            let input = input(j);
            lane.pubkey = *input.pubkey;
            let k = Scalar::from_bytes_mod_order_wide(&digests[j]);
            lane.k_digits = signed_radix16(&k.to_bytes());
            // A lane with S ≥ L runs with S = 0; its outcome is not used.
            let s = input.s_bytes();
            if s_below_l(&s) {
                lane.s_digits = signed_radix256(&s);
            } else {
                lane.s_digits = [0; 32];
                s_ok[j] = false;
            }
        }
        s_ok
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
///
/// A signature whose S is not below L never reaches the scalar
/// multiplication: its verdict follows from A's and R's point checks alone.
pub(crate) fn verify_strict(engine: Engine, inputs: &[SignatureInput<'_>], out: &mut [SigVerdict]) {
    debug_assert_eq!(inputs.len(), out.len());
    let mut pending = Vec::new();
    let decided = kernel_where_s_below_l(engine, inputs, |kernel_inputs, kept| {
        strict_kernel(engine, kernel_inputs, kept, out, &mut pending)
    });
    for (index, pubkey) in decided {
        let outcome = LaneOutcome {
            pubkey_valid: pubkey.valid,
            pubkey_small_order: pubkey.small_order,
            ..LaneOutcome::default()
        };
        let r = inputs[index].r_bytes();
        match judge_strict(&outcome, false, &r) {
            Judgement::Final(verdict) => out[index] = verdict,
            Judgement::DependsOnR(otherwise) => pending.push(PendingReason {
                index,
                r,
                otherwise,
            }),
        }
    }
    let encodings: Vec<[u8; 32]> = pending.iter().map(|reason| reason.r).collect();
    for (reason, check) in pending.iter().zip(engine.check_points(&encodings)) {
        out[reason.index] = Err(if !check.valid {
            SigError::RInvalid
        } else if check.small_order {
            SigError::RSmallOrder
        } else {
            reason.otherwise
        });
    }
}

/// Runs `inputs` through the strict kernel, writing the verdict of
/// `inputs[n]` to `out[kept[n]]` (to `out[n]` without `kept`), and queueing
/// in `pending` the rejections whose reason depends on R.
fn strict_kernel(
    engine: Engine,
    inputs: &[SignatureInput<'_>],
    kept: Option<&[usize]>,
    out: &mut [SigVerdict],
    pending: &mut Vec<PendingReason>,
) {
    core_blocks(
        engine,
        inputs,
        kept,
        false,
        |index, input, outcome, s_ok, _| {
            let r = input.r_bytes();
            match judge_strict(outcome, s_ok, &r) {
                Judgement::Final(verdict) => out[index] = verdict,
                Judgement::DependsOnR(otherwise) => pending.push(PendingReason {
                    index,
                    r,
                    otherwise,
                }),
            }
        },
    );
}

/// Runs `inputs` through the core, [`SHARED_GROUPS`] groups of lanes at a
/// time, and calls `each` for every input with the index of its verdict
/// (`kept[n]` for `inputs[n]`, `n` without `kept`), the input, its outcome,
/// whether its S is below L, and (with `keep`, else unspecified) its R'.
fn core_blocks<'a>(
    engine: Engine,
    inputs: &[SignatureInput<'a>],
    kept: Option<&[usize]>,
    keep: bool,
    mut each: impl FnMut(usize, &SignatureInput<'a>, &LaneOutcome, bool, &LanePoint),
) {
    let lanes = engine.lanes();
    let block = lanes * SHARED_GROUPS;
    let mut preparer = LanePreparer::new();
    let empty = LaneInput {
        pubkey: [0; 32],
        k_digits: [0; 64],
        s_digits: [0; 32],
    };
    let mut kernel_in = [[empty; MAX_LANES]; SHARED_GROUPS];
    let mut s_ok = [[true; MAX_LANES]; SHARED_GROUPS];
    let mut outcomes = [[LaneOutcome::default(); MAX_LANES]; SHARED_GROUPS];
    let mut points = [[[[0u64; 5]; 4]; MAX_LANES]; SHARED_GROUPS];
    for (b, inputs) in inputs.chunks(block).enumerate() {
        let mut groups = 0;
        for ((group, lanes_in), s_ok) in inputs
            .chunks(lanes)
            .zip(kernel_in.iter_mut())
            .zip(s_ok.iter_mut())
        {
            *s_ok = preparer.prepare(engine, group, lanes_in);
            groups += 1;
        }
        let kept_points = keep.then_some(&mut points[..groups]);
        engine.verify_groups(&kernel_in[..groups], &mut outcomes[..groups], kept_points);
        for (j, input) in inputs.iter().enumerate() {
            let (g, lane) = (j / lanes, j % lanes);
            let n = b * block + j;
            let index = kept.map_or(n, |kept| kept[n]);
            each(
                index,
                input,
                &outcomes[g][lane],
                s_ok[g][lane],
                &points[g][lane],
            );
        }
    }
}

/// Runs `kernel` on the inputs whose S is below L, with the index of each
/// one's verdict (`None`: the inputs are all of them, nothing allocated, the
/// common case). Returns the others, whose verdict needs no scalar
/// multiplication, each with A's point check.
fn kernel_where_s_below_l<'a>(
    engine: Engine,
    inputs: &[SignatureInput<'a>],
    kernel: impl FnOnce(&[SignatureInput<'a>], Option<&[usize]>),
) -> Vec<(usize, PointCheck)> {
    let decided = s_not_below_l(inputs);
    if decided.is_empty() {
        kernel(inputs, None);
        return Vec::new();
    }
    let kept = others(inputs.len(), &decided);
    let kernel_inputs: Vec<_> = kept.iter().map(|&i| inputs[i]).collect();
    kernel(&kernel_inputs, Some(&kept));
    let pubkeys = point_checks(engine, inputs, &decided);
    decided.into_iter().zip(pubkeys).collect()
}

/// The indices of the inputs whose S is not below L (none, without
/// allocating, in the common case).
fn s_not_below_l(inputs: &[SignatureInput<'_>]) -> Vec<usize> {
    (0..inputs.len())
        .filter(|&i| !s_below_l(&inputs[i].s_bytes()))
        .collect()
}

/// The indices below `len` not in `taken` (ascending).
fn others(len: usize, taken: &[usize]) -> Vec<usize> {
    let mut skip = taken.iter().peekable();
    (0..len)
        .filter(|i| {
            let hit = skip.peek() == Some(&i);
            if hit {
                skip.next();
            }
            !hit
        })
        .collect()
}

/// A's point checks for the inputs at `indices`.
fn point_checks(
    engine: Engine,
    inputs: &[SignatureInput<'_>],
    indices: &[usize],
) -> Vec<PointCheck> {
    let encodings: Vec<[u8; 32]> = indices.iter().map(|&i| *inputs[i].pubkey).collect();
    engine.check_points(&encodings)
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
    let decided = kernel_where_s_below_l(engine, inputs, |kernel_inputs, kept| {
        cofactored_kernel(engine, kernel_inputs, kept, out, amended)
    });
    // S ≥ L: the verdict is A's checks, else `SNonCanonical`; R is never read.
    for (index, pubkey) in decided {
        // Never `Ok` with S ≥ L: the `and` only names the type.
        out[index] = judge_cofactored_before_r(pubkey, false, &inputs[index], amended)
            .and(Err(SigError::SNonCanonical));
    }
}

/// Runs `inputs` through the strict core, writing the verdict of `inputs[n]`
/// to `out[kept[n]]` (to `out[n]` without `kept`) under a cofactored rule.
///
/// Where R's bytes are the canonical encoding of the recomputed R', R = R'
/// and the cofactored equation holds with no square root for R: the common
/// case of an honest signer. Only the others decode R and test
/// [8](R' − R) = 0 against the R' the core kept, grouped across the call.
fn cofactored_kernel(
    engine: Engine,
    inputs: &[SignatureInput<'_>],
    kept: Option<&[usize]>,
    out: &mut [SigVerdict],
    amended: bool,
) {
    /// A lane whose verdict waits for R's decoding.
    struct Pending {
        index: usize,
        recomputed: LanePoint,
        r: [u8; 32],
    }
    let mut pending = Vec::new();
    core_blocks(
        engine,
        inputs,
        kept,
        true,
        |index, input, outcome, s_ok, recomputed| {
            let pubkey = PointCheck {
                valid: outcome.pubkey_valid,
                small_order: outcome.pubkey_valid && outcome.pubkey_small_order,
            };
            let r = input.r_bytes();
            if let Err(error) = judge_cofactored_before_r(pubkey, s_ok, input, amended) {
                out[index] = Err(error);
            } else if outcome.recomputed == r {
                let r_check = PointCheck {
                    valid: true,
                    small_order: outcome.recomputed_small_order,
                };
                out[index] = judge_cofactored_r(r_check, true, &r, amended);
            } else {
                pending.push(Pending {
                    index,
                    recomputed: *recomputed,
                    r,
                });
            }
        },
    );
    let lanes = engine.lanes();
    for group in pending.chunks(lanes) {
        let pick = |j: usize| group.get(j).unwrap_or(&group[0]);
        let recomputed = core::array::from_fn(|j| pick(j).recomputed);
        let r = core::array::from_fn(|j| pick(j).r);
        let checks = engine.check_r_cofactored_group(&recomputed, &r);
        for (lane, (r_check, holds)) in group.iter().zip(checks) {
            out[lane.index] = judge_cofactored_r(r_check, holds, &lane.r, amended);
        }
    }
}

/// The cofactored verdict follows the scalar path's check order: A
/// (encoding, decoding, order), S < L, R (likewise), the equation; encodings
/// and orders only count under the amended rule. This is its first half, up
/// to R: A's encoding (amended), A decodes, A's order (amended), S < L.
fn judge_cofactored_before_r(
    pubkey: PointCheck,
    s_ok: bool,
    input: &SignatureInput<'_>,
    amended: bool,
) -> Result<(), SigError> {
    if amended && !is_canonical_point_encoding(input.pubkey) {
        return Err(SigError::PubkeyNonCanonical);
    }
    if !pubkey.valid {
        return Err(SigError::PubkeyInvalid);
    }
    if amended && pubkey.small_order {
        return Err(SigError::PubkeySmallOrder);
    }
    if !s_ok {
        return Err(SigError::SNonCanonical);
    }
    Ok(())
}

/// The cofactored verdict's second half, after
/// [`judge_cofactored_before_r`]: R's encoding (amended), R decodes, R's
/// order (amended), the equation.
fn judge_cofactored_r(r_check: PointCheck, holds: bool, r: &[u8; 32], amended: bool) -> SigVerdict {
    if amended && !is_canonical_point_encoding(r) {
        return Err(SigError::RNonCanonical);
    }
    if !r_check.valid {
        return Err(SigError::RInvalid);
    }
    if amended && r_check.small_order {
        return Err(SigError::RSmallOrder);
    }
    if holds {
        Ok(())
    } else {
        Err(SigError::Equation)
    }
}
