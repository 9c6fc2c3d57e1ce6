//! Signature test cases and oracles shared by Rampart's test suites (the
//! sigverify conformance and engine tests, the FPGA verifier tests). Dev-only.
//!
//! Cases are generated from a seeded PRNG so failures reproduce. Expected
//! verdicts are never typed in: they come from the oracles, computed here
//! (`solana-signature`, the function Agave calls, cross-checked against
//! ed25519-dalek `verify_strict` and ed25519-zebra), or from Rampart's own CPU
//! reference ([`Case::expected_under`]) for the tests of other paths.
//! Oracles say pass or fail only; [`Facts`] says what a rejection reason can
//! be checked against (how A, R and S decode), without any verifier.

use curve25519_dalek::{
    constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION},
    edwards::{CompressedEdwardsY, EdwardsPoint},
    scalar::Scalar,
};
use rampart_sigverify::Rule;
use sha2::{Digest, Sha512};

/// One signature case, owned.
#[derive(Debug, Clone)]
pub struct Case {
    pub pubkey: [u8; 32],
    pub signature: [u8; 64],
    pub message: Vec<u8>,
    pub note: &'static str,
}

impl Case {
    /// The case as the verifier's input type.
    pub fn input(&self) -> rampart_sigverify::SignatureInput<'_> {
        rampart_sigverify::SignatureInput {
            pubkey: &self.pubkey,
            signature: &self.signature,
            message: &self.message,
        }
    }
}

impl Case {
    /// (public key, signature, message), the shape device drivers take.
    pub fn wire(&self) -> (&[u8; 32], &[u8; 64], &[u8]) {
        (&self.pubkey, &self.signature, &self.message)
    }

    /// Rampart's CPU reference verdict under the strict rule.
    pub fn expected(&self) -> rampart_sigverify::SigVerdict {
        self.expected_under(Rule::Strict)
    }

    /// Rampart's CPU reference verdict under `rule` (itself checked against
    /// the oracles by the sigverify conformance tests).
    pub fn expected_under(&self, rule: Rule) -> rampart_sigverify::SigVerdict {
        rampart_sigverify::ed25519::verify(rule, &self.input())
    }
}

/// A small deterministic PRNG (splitmix64) so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// N random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }
    /// Fills `buf` with random bytes, eight per draw.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
    /// `len` random bytes, one per draw.
    pub fn vec(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// The group order L as little-endian bytes.
pub const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Adds two 256-bit little-endian integers, wrapping.
pub fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// Whether the encoding's y (sign bit cleared) is below p = 2^255 − 19,
/// computed by subtraction rather than by pattern, to differ from the crate's way.
pub fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    y[31] &= 0x7f;
    // p in little-endian.
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    for i in (0..32).rev() {
        if y[i] != p[i] {
            return y[i] < p[i];
        }
    }
    false
}

/// Every encoding of a small-order point: the eight canonical ones, their
/// sign-flipped twins, and the non-canonical y ≥ p forms that decode.
pub fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for point in EIGHT_TORSION {
        let canonical = point.compress().to_bytes();
        out.push(canonical);
        let mut flipped = canonical;
        flipped[31] ^= 0x80;
        out.push(flipped);
    }
    // y = p + y' for the small y' among small-order points (y' = 0 and y' = 1).
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

/// Non-canonical encodings y = p + k (k < 19) that decode to some point.
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

/// SHA-512(R ‖ A ‖ M) mod L.
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

/// Signs with a raw secret scalar `a` under an arbitrary public-key encoding
/// (which need not be aB: mixed-order keys are aB + T).
pub fn sign_raw(a: &Scalar, pubkey: &[u8; 32], nonce: &Scalar, message: &[u8]) -> [u8; 64] {
    let r = (ED25519_BASEPOINT_POINT * nonce).compress().to_bytes();
    let k = challenge(&r, pubkey, message);
    let s = nonce + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// Signs with a raw nonce point encoding R given as bytes (for small-order or
/// non-canonical R): S = r + k·a where R decodes to a point with discrete log r
/// only for the honest part; the verdict is up to the rule.
pub fn sign_with_r(
    a: &Scalar,
    pubkey: &[u8; 32],
    r_bytes: &[u8; 32],
    r: &Scalar,
    message: &[u8],
) -> [u8; 64] {
    let k = challenge(r_bytes, pubkey, message);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

/// A fresh honest key pair from the PRNG: (secret scalar, public key bytes).
pub fn keypair(rng: &mut Rng) -> (Scalar, [u8; 32]) {
    let seed: [u8; 32] = rng.bytes();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let scalar = signing.to_scalar();
    (scalar, signing.verifying_key().to_bytes())
}

/// An honest signature by a fresh key over `len` random bytes.
pub fn honest(rng: &mut Rng, len: usize) -> Case {
    let message = rng.vec(len);
    honest_over(rng, message)
}

/// An honest signature by a fresh key over a message of a length drawn from
/// `lengths`.
pub fn honest_with(rng: &mut Rng, lengths: MessageLengths) -> Case {
    let len = lengths.draw(rng);
    honest(rng, len)
}

/// An honest signature by a fresh key over `message`.
pub fn honest_over(rng: &mut Rng, message: Vec<u8>) -> Case {
    let seed: [u8; 32] = rng.bytes();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    use ed25519_dalek::Signer;
    let signature = signing.sign(&message).to_bytes();
    Case {
        pubkey: signing.verifying_key().to_bytes(),
        signature,
        message,
        note: "honest",
    }
}

/// How long generated messages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLengths {
    /// 0–299 bytes: cheap, for runs of many cases.
    Short,
    /// Mostly up to 1,300 bytes (transaction sizes), one in eight below 16,
    /// one in eight up to 4,096 (v1 transactions; several hash blocks).
    Long,
}

impl MessageLengths {
    /// A length drawn from this distribution.
    pub fn draw(self, rng: &mut Rng) -> usize {
        match self {
            MessageLengths::Short => rng.below(300) as usize,
            MessageLengths::Long => match rng.below(8) {
                0 => rng.below(4097) as usize,
                1 => rng.below(16) as usize,
                _ => rng.below(1300) as usize,
            },
        }
    }
}

/// Random and mutated cases covering every rule difference, over short
/// messages.
pub fn generate(rng: &mut Rng, count: usize) -> Vec<Case> {
    generate_with(rng, count, MessageLengths::Short)
}

/// [`generate`] with messages drawn from `lengths`.
pub fn generate_with(rng: &mut Rng, count: usize, lengths: MessageLengths) -> Vec<Case> {
    let small = small_order_encodings();
    let non_canonical = non_canonical_encodings();
    let mut cases = Vec::with_capacity(count);
    while cases.len() < count {
        let len = lengths.draw(rng);
        let mut case = honest(rng, len);
        match rng.below(17) {
            0 | 1 => {}
            2 => {
                let bit = rng.below(256) as usize;
                case.signature[bit / 8] ^= 1 << (bit % 8);
                case.note = "flip R";
            }
            3 => {
                let bit = 256 + rng.below(256) as usize;
                case.signature[bit / 8] ^= 1 << (bit % 8);
                case.note = "flip S";
            }
            4 => {
                let bit = rng.below(256) as usize;
                case.pubkey[bit / 8] ^= 1 << (bit % 8);
                case.note = "flip A";
            }
            5 => {
                if case.message.is_empty() {
                    case.message.push(0);
                }
                let bit = rng.below(case.message.len() as u64 * 8) as usize;
                case.message[bit / 8] ^= 1 << (bit % 8);
                case.note = "flip message";
            }
            6 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&case.signature[32..]);
                case.signature[32..].copy_from_slice(&add_le(&s, &L_BYTES));
                case.note = "S + L";
            }
            7 => {
                // Small-order public key with a signature made as if its secret were 0:
                // R = rB, S = r. Cofactored rules that allow any A accept this.
                case.pubkey = small[rng.below(small.len() as u64) as usize];
                let r = Scalar::from_bytes_mod_order(rng.bytes());
                case.signature = sign_with_r(
                    &Scalar::ZERO,
                    &case.pubkey,
                    &(ED25519_BASEPOINT_POINT * r).compress().to_bytes(),
                    &r,
                    &case.message,
                );
                case.note = "small-order A";
            }
            8 => {
                // Small-order R with an honest key: S = k·a, so [S]B = [k]A and
                // the equation holds up to the torsion R.
                let (a, pubkey) = keypair(rng);
                let r_bytes = small[rng.below(small.len() as u64) as usize];
                case.pubkey = pubkey;
                case.signature = sign_with_r(&a, &pubkey, &r_bytes, &Scalar::ZERO, &case.message);
                case.note = "small-order R";
            }
            9 => {
                // Mixed-order key A' = aB + T signed with a.
                let (a, _) = keypair(rng);
                let torsion = EIGHT_TORSION[1 + rng.below(7) as usize];
                let mixed: EdwardsPoint = ED25519_BASEPOINT_POINT * a + torsion;
                let pubkey = mixed.compress().to_bytes();
                let nonce = Scalar::from_bytes_mod_order(rng.bytes());
                case.pubkey = pubkey;
                case.signature = sign_raw(&a, &pubkey, &nonce, &case.message);
                case.note = "mixed-order A";
            }
            10 => {
                // Mixed-order R: R' = rB + T.
                let (a, pubkey) = keypair(rng);
                let nonce = Scalar::from_bytes_mod_order(rng.bytes());
                let torsion = EIGHT_TORSION[1 + rng.below(7) as usize];
                let r_bytes = (ED25519_BASEPOINT_POINT * nonce + torsion)
                    .compress()
                    .to_bytes();
                case.pubkey = pubkey;
                case.signature = sign_with_r(&a, &pubkey, &r_bytes, &nonce, &case.message);
                case.note = "mixed-order R";
            }
            11 => {
                // A non-canonical public-key encoding, signed over those bytes.
                case.pubkey = non_canonical[rng.below(non_canonical.len() as u64) as usize];
                let r = Scalar::from_bytes_mod_order(rng.bytes());
                let r_bytes = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
                case.signature =
                    sign_with_r(&Scalar::ZERO, &case.pubkey, &r_bytes, &r, &case.message);
                case.note = "non-canonical A";
            }
            12 => {
                // A non-canonical R encoding of a small-y point.
                let (a, pubkey) = keypair(rng);
                let r_bytes = non_canonical[rng.below(non_canonical.len() as u64) as usize];
                case.pubkey = pubkey;
                case.signature = sign_with_r(&a, &pubkey, &r_bytes, &Scalar::ZERO, &case.message);
                case.note = "non-canonical R";
            }
            13 => {
                // Random bytes everywhere.
                case.pubkey = rng.bytes();
                case.signature = rng.bytes();
                case.note = "random";
            }
            14 => {
                // High bit set in S (S ≥ 2^255): never canonical.
                case.signature[63] |= 0x80;
                case.note = "S high bit";
            }
            15 => {
                // R the identity with the sign bit set (decodes, x = 0, never a
                // canonical encoding), S = k·a so the equation holds for it.
                let (a, pubkey) = keypair(rng);
                let mut r_bytes = EdwardsPoint::default().compress().to_bytes();
                r_bytes[31] |= 0x80;
                case.pubkey = pubkey;
                case.signature = sign_with_r(&a, &pubkey, &r_bytes, &Scalar::ZERO, &case.message);
                case.note = "identity R with sign bit";
            }
            _ => {
                // Small-order A and small-order R together, S = 0.
                case.pubkey = small[rng.below(small.len() as u64) as usize];
                let r_bytes = small[rng.below(small.len() as u64) as usize];
                case.signature = [0; 64];
                case.signature[..32].copy_from_slice(&r_bytes);
                case.note = "small A and R, S=0";
            }
        }
        cases.push(case);
    }
    cases
}

/// ed25519-dalek `verify_strict`.
fn dalek_verify_strict(case: &Case) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&case.pubkey) else {
        return false;
    };
    key.verify_strict(
        &case.message,
        &ed25519_dalek::Signature::from_bytes(&case.signature),
    )
    .is_ok()
}

/// ed25519-zebra (ZIP-215).
fn zebra_verify(case: &Case) -> bool {
    let Ok(key) = ed25519_zebra::VerificationKey::try_from(case.pubkey) else {
        return false;
    };
    key.verify(
        &ed25519_zebra::Signature::from_bytes(&case.signature),
        &case.message,
    )
    .is_ok()
}

/// A key or R of small order (dalek's `is_weak`).
fn is_weak(bytes: &[u8; 32]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(bytes).is_ok_and(|key| key.is_weak())
}

/// The expected verdict under `rule`, from the oracles. Panics if the oracles of
/// one rule disagree with each other, since then there is no single truth.
pub fn oracle(rule: Rule, case: &Case) -> bool {
    let signature = solana_signature::Signature::from(case.signature);
    match rule {
        Rule::Strict => {
            let agave = signature.verify(&case.pubkey, &case.message);
            assert_eq!(
                agave,
                dalek_verify_strict(case),
                "strict oracles disagree on {case:?}"
            );
            agave
        }
        Rule::Zip215 => {
            let agave = signature.verify_non_strict(&case.pubkey, &case.message);
            assert_eq!(
                agave,
                zebra_verify(case),
                "zip215 oracles disagree on {case:?}"
            );
            agave
        }
        Rule::Zip215Amended => {
            let mut r = [0u8; 32];
            r.copy_from_slice(&case.signature[..32]);
            zebra_verify(case)
                && y_is_canonical(&case.pubkey)
                && y_is_canonical(&r)
                && !is_weak(&case.pubkey)
                && !is_weak(&r)
        }
    }
}

/// Facts about a case's encodings, from curve25519-dalek's point decoding and
/// byte arithmetic alone, not from any verifier (Rampart's or an oracle's):
/// what a rejection reason is checked against, where the oracles give only
/// pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// A decodes to a curve point (a non-canonical y is reduced, as dalek does).
    pub a_decodes: bool,
    /// A's y (sign bit cleared) is below p.
    pub a_canonical: bool,
    /// A decodes to a point of small order.
    pub a_small_order: bool,
    /// R decodes to a curve point.
    pub r_decodes: bool,
    /// R's y is below p.
    pub r_canonical: bool,
    /// R decodes to a point of small order.
    pub r_small_order: bool,
    /// S < L.
    pub s_canonical: bool,
}

impl Facts {
    /// The facts of `case`.
    pub fn of(case: &Case) -> Facts {
        let mut r = [0u8; 32];
        r.copy_from_slice(&case.signature[..32]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&case.signature[32..]);
        let decodes = |bytes: &[u8; 32]| CompressedEdwardsY(*bytes).decompress().is_some();
        Facts {
            a_decodes: decodes(&case.pubkey),
            a_canonical: y_is_canonical(&case.pubkey),
            a_small_order: is_weak(&case.pubkey),
            r_decodes: decodes(&r),
            r_canonical: y_is_canonical(&r),
            r_small_order: is_weak(&r),
            s_canonical: le_below(&s, &L_BYTES),
        }
    }

    /// Whether every check `rule` makes before its equation passes: A decodes
    /// and S < L under every rule; A not of small order under strict and
    /// amended; R decodes under the cofactored rules; A and R canonical and R
    /// not of small order under amended. (Under strict, R is judged through
    /// the equation: `compress([S]B − [k]A)` must equal R's bytes.)
    pub fn encodings_pass(&self, rule: Rule) -> bool {
        let common = self.a_decodes && self.s_canonical;
        match rule {
            Rule::Strict => common && !self.a_small_order,
            Rule::Zip215 => common && self.r_decodes,
            Rule::Zip215Amended => {
                common
                    && !self.a_small_order
                    && self.a_canonical
                    && self.r_decodes
                    && self.r_canonical
                    && !self.r_small_order
            }
        }
    }

    /// Whether `reason` is a true statement about the case under `rule`: the
    /// fact it names holds and the rule rejects for it. `Equation` is true
    /// when every check before the equation passes ([`Facts::encodings_pass`]);
    /// whether the equation itself holds is the oracles' to say.
    pub fn supports(&self, rule: Rule, reason: rampart_sigverify::SigError) -> bool {
        use rampart_sigverify::SigError;
        let not_zip215 = rule != Rule::Zip215;
        match reason {
            SigError::PubkeyNonCanonical => rule == Rule::Zip215Amended && !self.a_canonical,
            SigError::PubkeyInvalid => !self.a_decodes,
            SigError::PubkeySmallOrder => not_zip215 && self.a_decodes && self.a_small_order,
            SigError::SNonCanonical => !self.s_canonical,
            SigError::RNonCanonical => not_zip215 && !self.r_canonical,
            SigError::RInvalid => !self.r_decodes,
            SigError::RSmallOrder => not_zip215 && self.r_decodes && self.r_small_order,
            SigError::Equation => self.encodings_pass(rule),
        }
    }
}

/// Whether little-endian `a` < `b`.
fn le_below(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}
