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

/// L, the order of the base point, little-endian.
const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Whether S (little-endian) is below L: what [`canonical_s`] accepts, decided
/// by comparing bytes from the top. S is public, so this need not run in
/// constant time; the engine asks it twice per signature, and the
/// constant-time parse behind `canonical_s` cost it about 2 % of a
/// verification.
pub(crate) fn s_below_l(s: &[u8; 32]) -> bool {
    s.iter().rev().cmp(L_BYTES.iter().rev()) == core::cmp::Ordering::Less
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

#[cfg(test)]
mod tests {
    use solana_ed25519::scalar::Scalar;

    use super::{s_below_l, L_BYTES};

    /// The byte comparison accepts exactly what the constant-time parse does:
    /// L and its neighbours, 2^252 ± 1, the top bits, and random values spread
    /// over the whole range and just below and above L.
    #[test]
    fn s_below_l_agrees_with_the_canonical_parse() {
        let mut cases = vec![[0u8; 32], [0xff; 32], L_BYTES];
        let around = |delta: i16| {
            let mut bytes = L_BYTES;
            let mut carry = delta;
            for byte in bytes.iter_mut() {
                let v = i16::from(*byte) + carry;
                *byte = v.rem_euclid(256) as u8;
                carry = v.div_euclid(256);
            }
            bytes
        };
        cases.extend((-300..300).map(around));
        let mut top = [0u8; 32];
        top[31] = 0x10;
        cases.push(top);
        top[31] = 0x80;
        cases.push(top);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..20_000 {
            let mut bytes = [0u8; 32];
            for byte in bytes.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *byte = seed as u8;
            }
            // A third anywhere, a third near L's top byte, a third sharing L's
            // top 16 bytes.
            match i % 3 {
                0 => {}
                1 => bytes[31] &= 0x1f,
                _ => bytes[16..].copy_from_slice(&L_BYTES[16..]),
            }
            cases.push(bytes);
        }
        for s in cases {
            let parsed = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)).is_some();
            assert_eq!(s_below_l(&s), parsed, "{s:02x?}");
        }
    }
}
