//! Hand-built DER for test certificates: the pieces the forged-identity
//! scenario and the identity tests put together into certificates no
//! certificate library would write (raw key bytes in a name, an extension,
//! a serial).

/// AlgorithmIdentifier { id-Ed25519 } (RFC 8410), for keys and signatures.
pub const ED25519_ALG: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// One DER element: tag, definite length (up to 65,535), content.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of the given encoded parts.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// The SubjectPublicKeyInfo of an Ed25519 key: 44 bytes.
pub fn ed25519_spki(key: &[u8]) -> Vec<u8> {
    seq(&[&ED25519_ALG, &der(0x03, &[&[0u8][..], key].concat())])
}

/// A Name of one common name whose value is `value`, raw.
pub fn name(value: &[u8]) -> Vec<u8> {
    let common_name = der(0x06, &[0x55, 0x04, 0x03]);
    seq(&[&der(0x31, &seq(&[&common_name, &der(0x0c, value)]))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_the_short_and_both_long_forms() {
        assert_eq!(der(0x04, &[7; 3])[..2], [0x04, 3]);
        assert_eq!(der(0x04, &[7; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(der(0x04, &[7; 0x1234])[..4], [0x04, 0x82, 0x12, 0x34]);
        assert_eq!(ed25519_spki(&[9; 32]).len(), 44);
    }
}
