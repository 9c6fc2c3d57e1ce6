//! From a slice of signatures to four-lane kernel runs, and from kernel
//! outcomes to the same verdicts, reasons included, as the scalar strict path.

use solana_ed25519::scalar::Scalar;

use super::{
    limbs::signed_radix16,
    sha512::Padded,
    strict::{LaneInput, LaneOutcome},
    Engine,
};
use crate::ed25519::{
    encoding::is_canonical_point_encoding, prepared::canonical_s, SigError, SigVerdict,
    SignatureInput,
};

/// Lanes per kernel run.
pub(crate) const LANES: usize = 4;

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
    let mut pending = Vec::new();
    let mut padded = [Padded::new(), Padded::new(), Padded::new(), Padded::new()];
    for (chunk_index, chunk) in inputs.chunks(LANES).enumerate() {
        let first = chunk_index * LANES;
        let mut s_ok = [true; LANES];
        let mut lanes = [LaneInput {
            pubkey: [0; 32],
            k_digits: [0; 64],
            s_digits: [0; 64],
        }; LANES];
        for (j, message) in padded.iter_mut().enumerate() {
            // Short chunks repeat their first signature in the spare lanes.
            let input = chunk.get(j).unwrap_or(&chunk[0]);
            message.fill(&[&input.signature[..32], input.pubkey, input.message]);
        }
        let digests = engine.digest4([&padded[0], &padded[1], &padded[2], &padded[3]]);
        for (j, lane) in lanes.iter_mut().enumerate() {
            let input = chunk.get(j).unwrap_or(&chunk[0]);
            lane.pubkey = *input.pubkey;
            let k = Scalar::from_bytes_mod_order_wide(&digests[j]);
            lane.k_digits = signed_radix16(&k.to_bytes());
            match canonical_s(input) {
                Ok(s) => lane.s_digits = signed_radix16(&s.to_bytes()),
                Err(_) => s_ok[j] = false,
            }
        }
        let outcomes = engine.verify4(&lanes);
        for (j, input) in chunk.iter().enumerate() {
            let r = input.r_bytes();
            match judge(&outcomes[j], s_ok[j], &r) {
                Judgement::Final(verdict) => out[first + j] = verdict,
                Judgement::DependsOnR(otherwise) => pending.push(PendingReason {
                    index: first + j,
                    r,
                    otherwise,
                }),
            }
        }
    }
    for group in pending.chunks(LANES) {
        let encodings = [0, 1, 2, 3].map(|j| group.get(j).unwrap_or(&group[0]).r);
        let checks = engine.check_points4(&encodings);
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

/// The verdict for one lane, in the oracle's check order: A decodes, A not of
/// small order, (R decodes and is not of small order), S < L, and the
/// recomputed point's encoding equal to R's bytes.
fn judge(outcome: &LaneOutcome, s_ok: bool, r: &[u8; 32]) -> Judgement {
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
