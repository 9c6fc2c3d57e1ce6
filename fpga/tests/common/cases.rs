//! Signature cases for the verifier tests: honest, mutated, small-order,
//! mixed-order and non-canonical, built with curve25519-dalek. Expected
//! verdicts are never typed in: the tests ask the CPU reference.
#![allow(dead_code)]

use curve25519_dalek::{
    constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION},
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
};
use sha2::{Digest, Sha512};

use super::SplitMix64;

/// One owned case.
#[derive(Debug, Clone)]
pub struct Case {
    pub pubkey: [u8; 32],
    pub signature: [u8; 64],
    pub message: Vec<u8>,
    pub note: &'static str,
}

impl Case {
    pub fn input(&self) -> rampart_sigverify::SignatureInput<'_> {
        rampart_sigverify::SignatureInput {
            pubkey: &self.pubkey,
            signature: &self.signature,
            message: &self.message,
        }
    }

    pub fn wire(&self) -> (&[u8; 32], &[u8; 64], &[u8]) {
        (&self.pubkey, &self.signature, &self.message)
    }

    /// The CPU reference's strict verdict.
    pub fn expected(&self) -> rampart_sigverify::SigVerdict {
        self.expected_under(rampart_sigverify::Rule::Strict)
    }

    /// The CPU reference's verdict under `rule`.
    pub fn expected_under(&self, rule: rampart_sigverify::Rule) -> rampart_sigverify::SigVerdict {
        rampart_sigverify::ed25519::verify(rule, &self.input())
    }
}

/// L, little-endian.
pub const L_BYTES: [u8; 32] = rampart_fpga::scalar::L;

pub fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// Every encoding of a small-order point: canonical, sign-flipped, and the
/// non-canonical y ≥ p forms that decode.
pub fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for point in EIGHT_TORSION {
        let canonical = point.compress().to_bytes();
        out.push(canonical);
        let mut flipped = canonical;
        flipped[31] ^= 0x80;
        out.push(flipped);
    }
    for y_low in [0xedu8, 0xee] {
        for sign in [0u8, 0x80] {
            let mut bytes = [0xffu8; 32];
            bytes[0] = y_low;
            bytes[31] = 0x7f | sign;
            if CompressedEdwardsY(bytes).decompress().is_some() {
                out.push(bytes);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Encodings y = p + k (k < 19) that decode.
pub fn non_canonical_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for k in 0u8..19 {
        for sign in [0u8, 0x80] {
            let mut bytes = [0xffu8; 32];
            bytes[0] = 0xed + k;
            bytes[31] = 0x7f | sign;
            if CompressedEdwardsY(bytes).decompress().is_some() {
                out.push(bytes);
            }
        }
    }
    out
}

pub fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let digest = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(message)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn scalar(rng: &mut SplitMix64) -> Scalar {
    let mut b = [0u8; 64];
    rng.fill(&mut b);
    Scalar::from_bytes_mod_order_wide(&b)
}

/// S = nonce + k·a over the given R and A encodings.
fn sign(
    a: &Scalar,
    pubkey: &[u8; 32],
    r_bytes: &[u8; 32],
    nonce: &Scalar,
    message: &[u8],
) -> [u8; 64] {
    let k = challenge(r_bytes, pubkey, message);
    let s = nonce + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

pub fn message(rng: &mut SplitMix64) -> Vec<u8> {
    let len = match rng.next_u64() % 8 {
        0 => (rng.next_u64() % 4097) as usize,
        1 => (rng.next_u64() % 16) as usize,
        _ => (rng.next_u64() % 1300) as usize,
    };
    let mut m = vec![0u8; len];
    rng.fill(&mut m);
    m
}

/// An honest signature by a fresh key.
pub fn honest(rng: &mut SplitMix64) -> Case {
    let message = message(rng);
    honest_over(rng, message)
}

/// An honest signature by a fresh key over `message`.
pub fn honest_over(rng: &mut SplitMix64, message: Vec<u8>) -> Case {
    let a = scalar(rng);
    let nonce = scalar(rng);
    let pubkey = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
    Case {
        signature: sign(&a, &pubkey, &r, &nonce, &message),
        pubkey,
        message,
        note: "honest",
    }
}

fn flip(bytes: &mut [u8], rng: &mut SplitMix64) {
    let bit = (rng.next_u64() % (bytes.len() as u64 * 8)) as usize;
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// `count` random and mutated cases.
pub fn generate(rng: &mut SplitMix64, count: usize) -> Vec<Case> {
    let small = small_order_encodings();
    let non_canonical = non_canonical_encodings();
    let pick = |rng: &mut SplitMix64, v: &[[u8; 32]]| v[(rng.next_u64() % v.len() as u64) as usize];
    let mut cases = Vec::with_capacity(count);
    while cases.len() < count {
        let mut case = honest(rng);
        match rng.next_u64() % 16 {
            0..=3 => {}
            4 => {
                flip(&mut case.signature[..32], rng);
                case.note = "flip R";
            }
            5 => {
                flip(&mut case.signature[32..], rng);
                case.note = "flip S";
            }
            6 => {
                flip(&mut case.pubkey, rng);
                case.note = "flip A";
            }
            7 => {
                if case.message.is_empty() {
                    case.message.push(0);
                }
                flip(&mut case.message, rng);
                case.note = "flip message";
            }
            8 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&case.signature[32..]);
                case.signature[32..].copy_from_slice(&add_le(&s, &L_BYTES));
                case.note = "S + L";
            }
            9 => {
                // Small-order A, signed as if its secret were 0.
                case.pubkey = pick(rng, &small);
                let nonce = scalar(rng);
                let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
                case.signature = sign(&Scalar::ZERO, &case.pubkey, &r, &nonce, &case.message);
                case.note = "small-order A";
            }
            10 => {
                // Small-order R with S = k·a: [S]B − [k]A is the identity.
                let a = scalar(rng);
                case.pubkey = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
                let r = pick(rng, &small);
                case.signature = sign(&a, &case.pubkey, &r, &Scalar::ZERO, &case.message);
                case.note = "small-order R";
            }
            11 => {
                // Mixed-order A = aB + T.
                let a = scalar(rng);
                let t = EIGHT_TORSION[1 + (rng.next_u64() % 7) as usize];
                case.pubkey = (ED25519_BASEPOINT_POINT * a + t).compress().to_bytes();
                let nonce = scalar(rng);
                let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
                case.signature = sign(&a, &case.pubkey, &r, &nonce, &case.message);
                case.note = "mixed-order A";
            }
            12 => {
                case.pubkey = pick(rng, &non_canonical);
                let nonce = scalar(rng);
                let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
                case.signature = sign(&Scalar::ZERO, &case.pubkey, &r, &nonce, &case.message);
                case.note = "non-canonical A";
            }
            13 => {
                // R = identity + something non-canonical, or a flipped sign.
                if rng.next_u64().is_multiple_of(2) {
                    case.signature[..32].copy_from_slice(&pick(rng, &non_canonical));
                    case.note = "non-canonical R";
                } else {
                    case.signature[31] ^= 0x80;
                    case.note = "R sign flipped";
                }
            }
            14 => {
                // R' computed correctly, R given as a point with x = 0 and the
                // sign bit set (decodes, never a canonical encoding).
                let a = scalar(rng);
                case.pubkey = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
                let mut r = EdwardsPoint::default().compress().to_bytes();
                r[31] |= 0x80;
                case.signature = sign(&a, &case.pubkey, &r, &Scalar::ZERO, &case.message);
                case.note = "identity R with sign bit";
            }
            _ => {
                rng.fill(&mut case.pubkey);
                rng.fill(&mut case.signature);
                case.note = "random bytes";
            }
        }
        cases.push(case);
    }
    cases
}
