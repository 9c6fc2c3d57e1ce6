//! Decoding a signature into curve points and scalars, with the checks each rule
//! makes before the equation, so batch and single paths share one definition.

use sha2::{Digest, Sha512};
use solana_ed25519::{
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
    traits::{HEEADecomposition, IsIdentity},
};

use super::{encoding::is_canonical_point_encoding, SigError, SignatureInput};
use crate::rule::Rule;

/// A signature decoded for the cofactored equation `[8]([S]B − R − [k]A) = 0`.
pub(crate) struct Prepared {
    /// −A, the negated public key point.
    pub minus_a: EdwardsPoint,
    /// −R, the negated commitment point.
    pub minus_r: EdwardsPoint,
    /// S, known to be reduced mod L.
    pub s: Scalar,
    /// k = SHA-512(R ‖ A ‖ M) mod L.
    pub k: Scalar,
}

/// The challenge scalar k = SHA-512(R ‖ A ‖ M) mod L, over the encodings as sent.
pub(crate) fn challenge(input: &SignatureInput<'_>) -> Scalar {
    let digest = Sha512::new()
        .chain_update(input.r_bytes())
        .chain_update(input.pubkey)
        .chain_update(input.message)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// S as a scalar, or the rejection every rule gives when S ≥ L.
pub(crate) fn canonical_s(input: &SignatureInput<'_>) -> Result<Scalar, SigError> {
    Option::from(Scalar::from_canonical_bytes(input.s_bytes())).ok_or(SigError::SNonCanonical)
}

/// Decodes a point, applying the amended rule's extra encoding and order checks
/// when `amended` is set. The three errors are the point's own variants.
fn decode_point(
    bytes: &[u8; 32],
    amended: bool,
    errors: [SigError; 3],
) -> Result<EdwardsPoint, SigError> {
    let [non_canonical, invalid, small_order] = errors;
    if amended && !is_canonical_point_encoding(bytes) {
        return Err(non_canonical);
    }
    let point = CompressedEdwardsY(*bytes).decompress().ok_or(invalid)?;
    if amended && point.is_small_order() {
        return Err(small_order);
    }
    Ok(point)
}

/// Decodes the public key point A: any point under ZIP-215, and under the amended
/// rule a canonical encoding of a point that is not of small order.
pub(crate) fn decode_pubkey(bytes: &[u8; 32], amended: bool) -> Result<EdwardsPoint, SigError> {
    decode_point(
        bytes,
        amended,
        [
            SigError::PubkeyNonCanonical,
            SigError::PubkeyInvalid,
            SigError::PubkeySmallOrder,
        ],
    )
}

/// Decodes the commitment point R under the same policy as [`decode_pubkey`].
pub(crate) fn decode_r(bytes: &[u8; 32], amended: bool) -> Result<EdwardsPoint, SigError> {
    decode_point(
        bytes,
        amended,
        [
            SigError::RNonCanonical,
            SigError::RInvalid,
            SigError::RSmallOrder,
        ],
    )
}

impl Prepared {
    /// Runs every check of a cofactored rule except the equation, in check order.
    pub fn new(rule: Rule, input: &SignatureInput<'_>) -> Result<Self, SigError> {
        debug_assert!(rule.is_cofactored());
        let amended = rule == Rule::Zip215Amended;
        let a = decode_pubkey(input.pubkey, amended)?;
        let s = canonical_s(input)?;
        let r = decode_r(&input.r_bytes(), amended)?;
        Ok(Prepared {
            minus_a: -a,
            minus_r: -r,
            s,
            k: challenge(input),
        })
    }

    /// Checks `[8]([S]B − R − [k]A) = 0` for this one signature.
    ///
    /// k is split into half-size τ, ρ with ρ ≡ ±τk (mod L); multiplying the
    /// equation by τ (coprime to L, and the cofactor clears the torsion) turns
    /// it into a 128/128/256-bit triple multiplication, about a third cheaper.
    pub fn equation_holds(&self) -> bool {
        let (rho, tau, flip) = self.k.heea_decompose();
        let a_term = if flip { -self.minus_a } else { self.minus_a };
        let combined = EdwardsPoint::vartime_triple_scalar_mul_basepoint(
            &tau,
            &self.minus_r,
            &rho,
            &a_term,
            &(tau * self.s),
        );
        combined.mul_by_cofactor().is_identity()
    }
}
