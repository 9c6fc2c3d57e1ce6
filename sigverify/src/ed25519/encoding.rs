//! Checks on the 32-byte point encodings themselves, before any curve arithmetic.

/// Whether a compressed Edwards point encodes its y coordinate reduced mod
/// p = 2^255 − 19 (the sign bit is ignored).
///
/// Decoders in the dalek family reduce y silently, so 19 y values have two
/// encodings each; the amended ZIP-215 rule accepts only the reduced one.
pub fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    // y >= p only when bits 8..255 are all ones and the low byte is >= 0xed.
    let top_all_ones = bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff);
    !(top_all_ones && bytes[0] >= 0xed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(y_low: u8, sign: bool) -> [u8; 32] {
        let mut bytes = [0xff; 32];
        bytes[0] = y_low;
        bytes[31] = if sign { 0xff } else { 0x7f };
        bytes
    }

    #[test]
    fn p_minus_one_is_canonical_and_p_is_not() {
        assert!(is_canonical_point_encoding(&encode(0xec, false)));
        assert!(!is_canonical_point_encoding(&encode(0xed, false)));
        assert!(!is_canonical_point_encoding(&encode(0xff, true)));
        assert!(is_canonical_point_encoding(&[0; 32]));
    }
}
