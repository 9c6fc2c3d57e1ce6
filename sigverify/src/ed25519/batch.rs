//! Random-linear-combination batch verification for the cofactored rules, with
//! bisection so that bad signatures are found without poisoning their batch.
//!
//! For signatures i with random 128-bit weights z_i the batch holds iff
//! `[8]( [Σ z_i S_i]B + Σ [z_i](−R_i) + Σ [z_i k_i](−A_i) ) = 0`. If every
//! signature satisfies its own cofactored equation the sum is exactly zero; if one
//! does not, the sum is non-zero except with probability about 2^-125 over the
//! weights, which are drawn fresh from the OS for every call. Signatures sharing
//! a public key share one multiscalar term.

use std::collections::HashMap;

use solana_ed25519::{
    constants::ED25519_BASEPOINT_POINT,
    edwards::EdwardsPoint,
    scalar::Scalar,
    traits::{IsIdentity, VartimeMultiscalarMul},
};

use super::{prepared::Prepared, SigError, SigVerdict, SignatureInput};
use crate::rule::Rule;

/// Failed sets at most this large are resolved one signature at a time.
const SINGLES_BELOW: usize = 4;

/// What a batch call did, for adaptive batch sizing and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchStats {
    /// Signatures rejected before the equation (encoding, order, S range).
    pub precheck_rejected: usize,
    /// Signatures that decoded but failed the equation; these are the ones that
    /// make a batch fall back to bisection.
    pub equation_rejected: usize,
    /// Multiscalar multiplications run (1 when the whole batch is valid).
    pub multiscalar_checks: usize,
    /// Single-signature equation checks (only without OS randomness, or for
    /// strict, which has no batch equation).
    pub single_checks: usize,
}

/// Verifies `inputs` under a cofactored `rule`, writing one verdict per input into
/// `out` (same order). Verdicts equal [`verify`](super::verify) for every input.
///
/// `rule` must be cofactored; for [`Rule::Strict`] every signature is checked on
/// its own, since no batch equation gives strict's verdicts.
pub fn verify_batch_cofactored(
    rule: Rule,
    inputs: &[SignatureInput<'_>],
    out: &mut [SigVerdict],
) -> BatchStats {
    let mut stats = BatchStats::default();
    if !rule.is_cofactored() {
        for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
            *verdict = super::verify(rule, input);
            stats.single_checks += 1;
            match verdict {
                Err(SigError::Equation) => stats.equation_rejected += 1,
                Err(_) => stats.precheck_rejected += 1,
                Ok(()) => {}
            }
        }
        return stats;
    }

    let mut batch = Batch::with_capacity(inputs.len());
    for (position, (input, verdict)) in inputs.iter().zip(out.iter_mut()).enumerate() {
        match Prepared::new(rule, input) {
            Ok(prepared) => batch.push(position, input.pubkey, prepared),
            Err(reason) => {
                *verdict = Err(reason);
                stats.precheck_rejected += 1;
            }
        }
    }
    let all: Vec<usize> = (0..batch.signatures.len()).collect();
    if batch.draw_weights().is_ok() {
        let sum = batch.weighted_sum(&all, &mut stats);
        batch.resolve(&all, sum, &mut stats);
    } else {
        // No OS randomness: a batch equation would not be sound, so fall back
        // to the exact per-signature check.
        batch.check_each(&all, &mut stats);
    }
    for (slot, position) in batch.positions.iter().enumerate() {
        let valid = batch.valid[slot];
        out[*position] = if valid {
            Ok(())
        } else {
            Err(SigError::Equation)
        };
        stats.equation_rejected += usize::from(!valid);
    }
    stats
}

/// The decoded signatures of one batch call and the scratch for bisection.
struct Batch {
    /// Decoded signatures that passed every pre-check.
    signatures: Vec<Prepared>,
    /// Index in the caller's input of each decoded signature.
    positions: Vec<usize>,
    /// Index into `keys` of each signature's public key.
    key_of: Vec<usize>,
    /// Distinct −A points in this batch.
    keys: Vec<EdwardsPoint>,
    /// Distinct public-key encodings, to find shared keys.
    key_index: HashMap<[u8; 32], usize>,
    /// Random weight z_i per signature.
    weights: Vec<Scalar>,
    /// Equation verdict per signature, filled by `resolve`.
    valid: Vec<bool>,
    /// Per-key summed coefficients (scratch for one multiscalar check).
    key_coefficients: Vec<Option<Scalar>>,
}

impl Batch {
    fn with_capacity(n: usize) -> Self {
        Batch {
            signatures: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            key_of: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            key_index: HashMap::with_capacity(n),
            weights: Vec::new(),
            valid: Vec::new(),
            key_coefficients: Vec::new(),
        }
    }

    fn push(&mut self, position: usize, pubkey: &[u8; 32], prepared: Prepared) {
        let next = self.keys.len();
        let key = *self.key_index.entry(*pubkey).or_insert(next);
        if key == next {
            self.keys.push(prepared.minus_a);
        }
        self.key_of.push(key);
        self.positions.push(position);
        self.signatures.push(prepared);
    }

    /// Draws a fresh 128-bit weight per signature from the OS.
    fn draw_weights(&mut self) -> Result<(), getrandom::Error> {
        let mut bytes = vec![0u8; 16 * self.signatures.len()];
        self.valid = vec![false; self.signatures.len()];
        self.key_coefficients = vec![None; self.keys.len()];
        getrandom::fill(&mut bytes)?;
        self.weights = bytes
            .chunks_exact(16)
            .map(|chunk| {
                let mut wide = [0u8; 32];
                wide[..16].copy_from_slice(chunk);
                // Top bit set: z is never zero, so a lone signature's weighted
                // equation fails exactly when its own equation fails.
                wide[15] |= 0x80;
                Scalar::from_bytes_mod_order(wide)
            })
            .collect();
        Ok(())
    }

    /// Sets `valid` for every signature in `items`, whose weighted sum (before
    /// the cofactor) is `sum`.
    ///
    /// The weighted sum is linear in the signatures, so when a set fails only
    /// its left half needs a new multiscalar multiplication: the right half's
    /// sum is the difference. One bad signature among n costs multiscalar work
    /// over about n points in all, and no single-signature check.
    fn resolve(&mut self, items: &[usize], sum: EdwardsPoint, stats: &mut BatchStats) {
        if sum.mul_by_cofactor().is_identity() {
            self.mark_valid(items);
            return;
        }
        if items.len() <= 1 {
            // A lone signature whose own weighted equation fails is invalid:
            // z ≠ 0 and the cofactor clears only torsion.
            return;
        }
        if items.len() <= SINGLES_BELOW {
            // A small multiscalar multiplication costs about as much as
            // checking its signatures one by one; and once all but one pass,
            // the last is known bad without a check.
            let (last, rest) = items.split_last().unwrap_or((&items[0], &[]));
            let mut all_rest_valid = true;
            for &i in rest {
                stats.single_checks += 1;
                let valid = self.signatures[i].equation_holds();
                self.valid[i] = valid;
                all_rest_valid &= valid;
            }
            if !all_rest_valid {
                stats.single_checks += 1;
                self.valid[*last] = self.signatures[*last].equation_holds();
            }
            return;
        }
        let (left, right) = items.split_at(items.len() / 2);
        let left_sum = self.weighted_sum(left, stats);
        self.resolve(left, left_sum, stats);
        self.resolve(right, sum - left_sum, stats);
    }

    /// Checks every signature of `items` on its own (when no randomness).
    fn check_each(&mut self, items: &[usize], stats: &mut BatchStats) {
        for &i in items {
            stats.single_checks += 1;
            self.valid[i] = self.signatures[i].equation_holds();
        }
    }

    fn mark_valid(&mut self, items: &[usize]) {
        for &i in items {
            self.valid[i] = true;
        }
    }

    /// `[Σ z_i S_i]B + Σ [z_i](−R_i) + Σ [z_i k_i](−A_i)` over `items`.
    fn weighted_sum(&mut self, items: &[usize], stats: &mut BatchStats) -> EdwardsPoint {
        stats.multiscalar_checks += 1;
        let mut scalars = Vec::with_capacity(2 * items.len() + 1);
        let mut points = Vec::with_capacity(2 * items.len() + 1);
        let mut base_coefficient = Scalar::ZERO;
        let mut touched = Vec::with_capacity(items.len());
        for &i in items {
            let signature = &self.signatures[i];
            let z = self.weights[i];
            base_coefficient += z * signature.s;
            scalars.push(z);
            points.push(signature.minus_r);
            let key = self.key_of[i];
            let term = z * signature.k;
            match &mut self.key_coefficients[key] {
                Some(sum) => *sum += term,
                empty => {
                    *empty = Some(term);
                    touched.push(key);
                }
            }
        }
        for key in touched {
            if let Some(coefficient) = self.key_coefficients[key].take() {
                scalars.push(coefficient);
                points.push(self.keys[key]);
            }
        }
        scalars.push(base_coefficient);
        points.push(ED25519_BASEPOINT_POINT);
        EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
    }
}
