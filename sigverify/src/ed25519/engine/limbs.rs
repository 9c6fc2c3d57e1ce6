//! Plain-Rust helpers on one lane's field element or scalar: bytes to radix-2^51
//! limbs and back, full reduction mod p, and signed radix-16 digits. Nothing here
//! uses vector instructions; these run once or twice per signature.

/// p = 2^255 − 19 in radix 2^51.
const P: [u64; 5] = [
    (1 << 51) - 19,
    (1 << 51) - 1,
    (1 << 51) - 1,
    (1 << 51) - 1,
    (1 << 51) - 1,
];

/// Low 51 bits.
pub(super) const MASK51: u64 = (1 << 51) - 1;

/// A field element's 255 low bits of `bytes` (little-endian, bit 255 ignored) as
/// five 51-bit limbs. Values ≥ p are kept as they are: they represent y mod p,
/// exactly as the dalek decoders treat a non-canonical y.
pub(super) fn from_bytes(bytes: &[u8; 32]) -> [u64; 5] {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3));
    [
        w0 & MASK51,
        ((w0 >> 51) | (w1 << 13)) & MASK51,
        ((w1 >> 38) | (w2 << 26)) & MASK51,
        ((w2 >> 25) | (w3 << 39)) & MASK51,
        (w3 >> 12) & MASK51,
    ]
}

/// The unique representative in [0, p) of limbs that are each below 2^52.
pub(super) fn canonical(limbs: [u64; 5]) -> [u64; 5] {
    let mut l = limbs;
    // Two carry passes bring every limb below 2^51 (so the value below 2^255).
    for _ in 0..2 {
        let mut carry = 0;
        for limb in l.iter_mut() {
            *limb += carry;
            carry = *limb >> 51;
            *limb &= MASK51;
        }
        l[0] += carry * 19;
    }
    // Now the value v < 2^255 + small; v ≥ p iff v + 19 ≥ 2^255.
    let mut q = (l[0] + 19) >> 51;
    for limb in &l[1..] {
        q = (limb + q) >> 51;
    }
    l[0] += 19 * q;
    let mut carry = 0;
    for limb in l.iter_mut() {
        *limb += carry;
        carry = *limb >> 51;
        *limb &= MASK51;
    }
    debug_assert!(less_than_p(&l));
    l
}

fn less_than_p(l: &[u64; 5]) -> bool {
    for i in (0..5).rev() {
        if l[i] != P[i] {
            return l[i] < P[i];
        }
    }
    false
}

/// The 32-byte little-endian encoding of canonical limbs (bit 255 clear).
pub(super) fn to_bytes(l: &[u64; 5]) -> [u8; 32] {
    let words = [
        l[0] | (l[1] << 51),
        (l[1] >> 13) | (l[2] << 38),
        (l[2] >> 26) | (l[3] << 25),
        (l[3] >> 39) | (l[4] << 12),
    ];
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// A scalar below 2^255 (little-endian bytes) as 64 signed digits in [−8, 8)
/// (the top one in [−8, 8]), least significant first: Σ dᵢ·16ⁱ equals it.
pub(super) fn signed_radix16(bytes: &[u8; 32]) -> [i8; 64] {
    debug_assert!(bytes[31] <= 127);
    let mut digits = [0i8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        digits[2 * i] = (byte & 15) as i8;
        digits[2 * i + 1] = (byte >> 4) as i8;
    }
    for i in 0..63 {
        let carry = (digits[i] + 8) >> 4;
        digits[i] -= carry << 4;
        digits[i + 1] += carry;
    }
    digits
}

/// A scalar below 2^253 (little-endian bytes) as 32 signed digits in
/// [−128, 128), the top one at most 32, least significant first: Σ dᵢ·256ⁱ
/// equals it.
pub(super) fn signed_radix256(bytes: &[u8; 32]) -> [i8; 32] {
    debug_assert!(bytes[31] < 0x20);
    let mut digits = [0i8; 32];
    let mut carry = 0i16;
    for (digit, &byte) in digits.iter_mut().zip(bytes) {
        let value = i16::from(byte) + carry;
        carry = i16::from(value >= 128);
        *digit = (value - (carry << 8)) as i8;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_and_its_neighbours_reduce() {
        let p_bytes = to_bytes(&P);
        assert_eq!(canonical(from_bytes(&p_bytes)), [0; 5]);
        let mut p_plus_one = P;
        p_plus_one[0] += 1;
        assert_eq!(canonical(p_plus_one), [1, 0, 0, 0, 0]);
        let mut p_minus_one = P;
        p_minus_one[0] -= 1;
        assert_eq!(canonical(p_minus_one), p_minus_one);
        // 2^255 − 1 (all limbs full) is p + 18.
        assert_eq!(canonical([MASK51; 5]), [18, 0, 0, 0, 0]);
        // Limbs up to 2^52 − 1 each.
        let big = [(1 << 52) - 1; 5];
        let c = canonical(big);
        assert!(less_than_p(&c));
    }

    #[test]
    fn bytes_round_trip() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        bytes[31] &= 0x7f;
        assert_eq!(to_bytes(&from_bytes(&bytes)), bytes);
    }

    #[test]
    fn radix256_digits_sum_back() {
        for seed in 0u8..=255 {
            let mut bytes = [0u8; 32];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(seed).wrapping_add(seed ^ 0x5a);
            }
            bytes[31] &= 0x1f;
            let digits = signed_radix256(&bytes);
            // Σ dᵢ·256ⁱ back to bytes with borrows.
            let mut acc = 0i32;
            let mut back = [0u8; 32];
            for (i, d) in digits.iter().enumerate() {
                assert!((-128..128).contains(&i32::from(*d)));
                acc += i32::from(*d);
                back[i] = acc.rem_euclid(256) as u8;
                acc = acc.div_euclid(256);
            }
            assert_eq!(acc, 0);
            assert_eq!(back, bytes);
            assert!(digits[31] <= 32);
        }
    }

    #[test]
    fn radix16_digits_sum_back() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(91).wrapping_add(200);
        }
        bytes[31] = 0x7f;
        let digits = signed_radix16(&bytes);
        // Recombine in base 16 with an i128 accumulator per 16-digit block.
        let mut value = [0i64; 64];
        for (v, d) in value.iter_mut().zip(digits) {
            assert!((-8..=8).contains(&d));
            *v = i64::from(d);
        }
        // Carry-propagate back to unsigned nibbles and compare.
        let mut nibbles = [0i64; 65];
        nibbles[..64].copy_from_slice(&value);
        for i in 0..64 {
            let borrow = nibbles[i].div_euclid(16);
            nibbles[i] = nibbles[i].rem_euclid(16);
            nibbles[i + 1] += borrow;
        }
        assert_eq!(nibbles[64], 0);
        for (i, byte) in bytes.iter().enumerate() {
            assert_eq!(
                nibbles[2 * i] as u8 | ((nibbles[2 * i + 1] as u8) << 4),
                *byte
            );
        }
    }
}
