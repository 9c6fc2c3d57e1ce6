//! One signature, one verdict: the reference path every other path must match.

use solana_ed25519::edwards::{CompressedEdwardsY, EdwardsPoint};

use super::{
    encoding::is_canonical_point_encoding,
    prepared::{canonical_s, challenge, decode_pubkey, Prepared},
    SigError, SigVerdict, SignatureInput,
};
use crate::rule::Rule;

/// Verifies one signature under `rule`.
///
/// # Errors
/// The first check that fails, as a [`SigError`].
pub fn verify(rule: Rule, input: &SignatureInput<'_>) -> SigVerdict {
    match rule {
        Rule::Strict => verify_strict(input),
        Rule::Zip215 | Rule::Zip215Amended => {
            let prepared = Prepared::new(rule, input)?;
            if prepared.equation_holds() {
                Ok(())
            } else {
                Err(SigError::Equation)
            }
        }
    }
}

/// Agave's rule (`solana-signature` `verify`, dalek `verify_strict`).
///
/// The oracle decompresses R and rejects it if it is of small order, then
/// compares `compress([k](−A) + [S]B)` with R byte for byte. When the bytes are
/// equal R is the canonical encoding of that recomputed point, so R's order is
/// the recomputed point's order: the fast path checks that instead and never
/// takes R's square root. Only a rejection pays to decode R, to name the reason.
fn verify_strict(input: &SignatureInput<'_>) -> SigVerdict {
    let a = decode_pubkey(input.pubkey, false)?;
    if a.is_small_order() {
        return Err(SigError::PubkeySmallOrder);
    }
    let r_bytes = input.r_bytes();
    let s = match canonical_s(input) {
        Ok(s) => s,
        Err(not_canonical) => return Err(strict_r_reason(&r_bytes).unwrap_or(not_canonical)),
    };
    let recomputed = EdwardsPoint::vartime_double_scalar_mul_basepoint(&challenge(input), &-a, &s);
    if recomputed.compress().0 == r_bytes {
        if recomputed.is_small_order() {
            return Err(SigError::RSmallOrder);
        }
        Ok(())
    } else {
        let reason =
            strict_r_reason(&r_bytes).unwrap_or(if is_canonical_point_encoding(&r_bytes) {
                SigError::Equation
            } else {
                // R decodes, but a recomputed (canonical) encoding can never equal it.
                SigError::RNonCanonical
            });
        Err(reason)
    }
}

/// The R check the strict oracle makes before S and the equation, if it fails.
fn strict_r_reason(r_bytes: &[u8; 32]) -> Option<SigError> {
    let Some(r) = CompressedEdwardsY(*r_bytes).decompress() else {
        return Some(SigError::RInvalid);
    };
    r.is_small_order().then_some(SigError::RSmallOrder)
}
