//! `engine_diff`: Rampart's vector ed25519 engine
//! (`rampart_sigverify::ed25519::engine::Engine`, every backend this CPU has:
//! IFMA, AVX2) against the scalar path (`rampart_sigverify::ed25519::verify`)
//! under each rule: the same verdict and the same reason for every input.
//!
//! The input is a small program: a rule, then 1–9 signatures (so lanes are
//! full, partial and mixed), each built from a recipe that mostly lands near
//! valid: an honest signature then one mutation (a flipped bit in R, S, the
//! key or the message; S + L; a small-order, mixed-order or non-canonical
//! key; a small-order or non-canonical R with the equation made to hold), or
//! raw bytes. Message lengths cross SHA-512's block boundaries.
#![no_main]

use std::sync::OnceLock;

use curve25519_dalek::{constants::EIGHT_TORSION, edwards::CompressedEdwardsY, scalar::Scalar};
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use rampart_fuzz::Choices;
use rampart_sigverify::{
    ed25519::{engine::Engine, verify},
    Rule, SigVerdict, SignatureInput,
};
use rampart_testkit::{
    add_le, non_canonical_encodings, sign_raw, sign_with_r, small_order_encodings, L_BYTES,
};

struct Owned {
    pubkey: [u8; 32],
    signature: [u8; 64],
    message: Vec<u8>,
}

fn message(choices: &mut Choices<'_>) -> Vec<u8> {
    // Lengths around the 128-byte SHA-512 block (with R ‖ A in front, the
    // padding boundary falls at 47/48 and 111/112 message bytes).
    let len = match choices.byte() % 4 {
        0 => choices.below(64),
        1 => 40 + choices.below(16),
        2 => 104 + choices.below(16),
        _ => choices.below(1300),
    };
    let mut message = choices.take(len).to_vec();
    message.resize(len, 0x5a);
    message
}

fn scalar(choices: &mut Choices<'_>) -> Scalar {
    Scalar::from_bytes_mod_order(choices.array::<32>())
}

/// Signing keys to draw from (key generation is most of an input's cost
/// under the sanitizer; the engine sees the key, not how it was made).
const KEYS: usize = 32;

fn keys() -> &'static [SigningKey] {
    static SIGNING_KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    SIGNING_KEYS.get_or_init(|| {
        (0..KEYS as u8)
            .map(|i| SigningKey::from_bytes(&[i.wrapping_mul(73).wrapping_add(1); 32]))
            .collect()
    })
}

/// Small-order and non-canonical point encodings, computed once.
fn encodings() -> &'static (Vec<[u8; 32]>, Vec<[u8; 32]>) {
    static ENCODINGS: OnceLock<(Vec<[u8; 32]>, Vec<[u8; 32]>)> = OnceLock::new();
    ENCODINGS.get_or_init(|| (small_order_encodings(), non_canonical_encodings()))
}

fn recipe(choices: &mut Choices<'_>) -> Owned {
    let kind = choices.byte();
    let signing = &keys()[choices.below(KEYS)];
    let secret = signing.to_scalar();
    let honest_key = signing.verifying_key().to_bytes();
    let message = message(choices);
    let honest = |message: &[u8]| signing.sign(message).to_bytes();
    let (small, odd) = encodings();
    match kind % 12 {
        0 => Owned {
            pubkey: honest_key,
            signature: honest(&message),
            message,
        },
        1 => {
            let mut signature = honest(&message);
            let bit = choices.below(512);
            signature[bit / 8] ^= 1 << (bit % 8);
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        2 => {
            let signature = honest(&message);
            let mut message = message;
            if message.is_empty() {
                message.push(0);
            } else {
                let bit = choices.below(message.len() * 8);
                message[bit / 8] ^= 1 << (bit % 8);
            }
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        3 => {
            let mut pubkey = honest_key;
            let bit = choices.below(256);
            pubkey[bit / 8] ^= 1 << (bit % 8);
            Owned {
                pubkey,
                signature: honest(&message),
                message,
            }
        }
        4 => {
            // S + L (or + 2L): the same point equation, a non-canonical S.
            let mut signature = honest(&message);
            let mut s: [u8; 32] = signature[32..].try_into().unwrap_or_default();
            for _ in 0..=choices.below(2) {
                s = add_le(&s, &L_BYTES);
            }
            signature[32..].copy_from_slice(&s);
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        5 => {
            // A small-order key with S = r: the cofactored equation holds.
            let pubkey = small[choices.below(small.len())];
            let signature = sign_raw(&Scalar::ZERO, &pubkey, &scalar(choices), &message);
            Owned {
                pubkey,
                signature,
                message,
            }
        }
        6 => {
            // A mixed-order key aB + T signed with a: cofactored only.
            let torsion = EIGHT_TORSION[choices.below(8)];
            let point = signing.verifying_key().to_edwards() + torsion;
            let pubkey = point.compress().to_bytes();
            let signature = sign_raw(&secret, &pubkey, &scalar(choices), &message);
            Owned {
                pubkey,
                signature,
                message,
            }
        }
        7 => {
            // A small-order R with S = k·a: [8]SB = [8]R + [8]kA holds.
            let r_bytes = small[choices.below(small.len())];
            let signature = sign_with_r(&secret, &honest_key, &r_bytes, &Scalar::ZERO, &message);
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        8 => {
            // A non-canonical key encoding of a real point.
            let pubkey = odd[choices.below(odd.len())];
            let signature = sign_raw(&secret, &pubkey, &scalar(choices), &message);
            Owned {
                pubkey,
                signature,
                message,
            }
        }
        9 => {
            // A non-canonical R: y + p for a small y, when that decodes.
            let r_bytes = odd[choices.below(odd.len())];
            let r = CompressedEdwardsY(r_bytes).decompress();
            let signature = match r {
                Some(_) => sign_with_r(&secret, &honest_key, &r_bytes, &scalar(choices), &message),
                None => honest(&message),
            };
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        10 => {
            // Raw signature over an honest key.
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(&choices.array::<32>());
            signature[32..].copy_from_slice(&choices.array::<32>());
            Owned {
                pubkey: honest_key,
                signature,
                message,
            }
        }
        _ => Owned {
            pubkey: choices.array::<32>(),
            signature: {
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&choices.array::<32>());
                signature[32..].copy_from_slice(&choices.array::<32>());
                signature
            },
            message,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let rule = [Rule::Strict, Rule::Zip215, Rule::Zip215Amended][choices.below(3)];
    let count = 1 + choices.below(9);
    let owned: Vec<Owned> = (0..count).map(|_| recipe(&mut choices)).collect();
    let inputs: Vec<SignatureInput<'_>> = owned
        .iter()
        .map(|o| SignatureInput {
            pubkey: &o.pubkey,
            signature: &o.signature,
            message: &o.message,
        })
        .collect();
    let scalar: Vec<SigVerdict> = inputs.iter().map(|input| verify(rule, input)).collect();
    for engine in Engine::all_available() {
        let mut out = vec![Ok(()); inputs.len()];
        if rule == Rule::Strict {
            engine.verify_strict(&inputs, &mut out);
        } else {
            engine.verify_cofactored(rule, &inputs, &mut out);
        }
        for (i, (vector, reference)) in out.iter().zip(&scalar).enumerate() {
            assert_eq!(
                vector,
                reference,
                "{} under {rule}, input {i} of {count}: key {:02x?} signature {:02x?} message {} bytes",
                engine.kind(),
                owned[i].pubkey,
                owned[i].signature,
                owned[i].message.len()
            );
        }
    }
});
