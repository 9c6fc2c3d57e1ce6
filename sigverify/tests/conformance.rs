//! Verdicts under every rule against the oracles: RFC 8032, the speccheck edge
//! cases, and a differential run of random and mutated signatures, through the
//! single path, the batch path and the CPU backend (on every engine choice
//! this CPU runs; for each it lacks, `skipping <test>/<backend>: needs <cpu
//! feature>`, see `skip/`).

mod skip;

use rampart_sigverify::{
    backend::{Backend, CpuBackend, CpuConfig},
    ed25519::{self, verify_batch_cofactored},
    Rule, SigVerdict,
};
use rampart_testkit::{generate, oracle, small_order_encodings, Case, Rng};

/// Counts verdicts of every path that differ from the oracles; `test` names
/// the calling test in skip lines.
fn check_all_paths(test: &str, rule: Rule, cases: &[Case]) -> usize {
    let expected: Vec<bool> = cases.iter().map(|case| oracle(rule, case)).collect();
    let inputs: Vec<_> = cases.iter().map(Case::input).collect();
    let mut mismatches = 0;

    for (i, case) in cases.iter().enumerate() {
        let single = ed25519::verify(rule, &case.input());
        if single.is_ok() != expected[i] {
            mismatches += 1;
            eprintln!(
                "{rule} single: case {i} ({}) expected {} got {single:?}",
                case.note, expected[i]
            );
        }
    }

    let mut batch = vec![Ok(()); inputs.len()];
    if rule.is_cofactored() {
        verify_batch_cofactored(rule, &inputs, &mut batch);
    } else {
        // The vector engine where the CPU has it, the scalar path otherwise.
        ed25519::verify_strict_many(&inputs, &mut batch);
    }
    // The CPU backend on every path this CPU has: the engine's backends (for
    // the cofactored rules on AVX2 that is the batch equation with engine
    // singles) and no engine at all (scalar singles, batch equation).
    let mut via_backend: Vec<(String, Vec<SigVerdict>)> = Vec::new();
    for engine in skip::engine_choices(test) {
        let mut backend = CpuBackend::new(CpuConfig {
            engine,
            ..CpuConfig::default()
        });
        let mut verdicts = vec![Ok(()); inputs.len()];
        backend.verify_signatures(rule, &inputs, &mut verdicts);
        via_backend.push((format!("backend (engine {engine})"), verdicts));
    }
    for (path, verdicts) in
        std::iter::once(("batch", &batch)).chain(via_backend.iter().map(|(p, v)| (p.as_str(), v)))
    {
        for (i, verdict) in verdicts.iter().enumerate() {
            if verdict.is_ok() != expected[i] {
                mismatches += 1;
                eprintln!(
                    "{rule} {path}: case {i} ({}) expected {} got {verdict:?}",
                    cases[i].note, expected[i]
                );
            }
        }
    }
    mismatches
}

/// RFC 8032 section 7.1 tests 1–3 and SHA(abc): (secret seed, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 4] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[test]
fn rfc8032_vectors_pass_every_rule_and_mutations_fail() {
    let test = "rfc8032_vectors_pass_every_rule_and_mutations_fail";
    let mut cases = Vec::new();
    for (seed, public, message, signature) in RFC8032 {
        let message = hex::decode(message).unwrap();
        // The vector is self-consistent: the seed derives the key and signs to
        // the same bytes (Ed25519 signing is deterministic).
        let signing = ed25519_dalek::SigningKey::from_bytes(&hex32(seed));
        assert_eq!(signing.verifying_key().to_bytes(), hex32(public));
        use ed25519_dalek::Signer;
        let signature: [u8; 64] = hex::decode(signature).unwrap().try_into().unwrap();
        assert_eq!(signing.sign(&message).to_bytes(), signature);
        let case = Case {
            pubkey: hex32(public),
            signature,
            message,
            note: "rfc8032",
        };
        for rule in Rule::ALL {
            assert_eq!(ed25519::verify(rule, &case.input()), Ok(()), "{rule}");
        }
        let mut bad = case.clone();
        bad.signature[0] ^= 1;
        bad.note = "rfc8032 flipped";
        cases.push(case);
        cases.push(bad);
    }
    for rule in Rule::ALL {
        assert_eq!(check_all_paths(test, rule, &cases), 0, "{rule}");
    }
}

fn speccheck_cases() -> Vec<Case> {
    let text = include_str!("vectors/ed25519-speccheck-cases.json");
    let rows: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    rows.iter()
        .map(|row| Case {
            pubkey: hex32(row["pub_key"].as_str().unwrap()),
            signature: hex::decode(row["signature"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
            message: hex::decode(row["message"].as_str().unwrap()).unwrap(),
            note: "speccheck",
        })
        .collect()
}

#[test]
fn speccheck_vectors_match_the_oracles_under_every_rule() {
    let test = "speccheck_vectors_match_the_oracles_under_every_rule";
    let cases = speccheck_cases();
    assert!(!cases.is_empty());
    for rule in Rule::ALL {
        assert_eq!(check_all_paths(test, rule, &cases), 0, "{rule}");
    }
    // Agave's rule accepts exactly one of the speccheck cases (index 3).
    let accepted: Vec<usize> = (0..cases.len())
        .filter(|&i| ed25519::verify(Rule::Strict, &cases[i].input()).is_ok())
        .collect();
    assert_eq!(accepted, vec![3]);
}

#[test]
fn differential_random_and_mutated_cases() {
    let mut rng = Rng(0x5eed_0001);
    let cases = generate(&mut rng, 4000);
    for rule in Rule::ALL {
        let mismatches = check_all_paths("differential_random_and_mutated_cases", rule, &cases);
        assert_eq!(mismatches, 0, "{rule}: {mismatches} verdict differences");
    }
    // The generator must actually reach the places where the rules differ.
    let accepted = |rule| cases.iter().filter(|case| oracle(rule, case)).count();
    let (strict, zip215, amended) = (
        accepted(Rule::Strict),
        accepted(Rule::Zip215),
        accepted(Rule::Zip215Amended),
    );
    eprintln!(
        "accepted of {}: strict {strict}, zip215 {zip215}, amended {amended}",
        cases.len()
    );
    assert!(zip215 > amended && amended > strict / 2 && zip215 > strict);
}

#[test]
fn every_small_order_encoding_is_rejected_as_key_by_strict_and_amended() {
    let mut rng = Rng(7);
    for encoding in small_order_encodings() {
        let mut case = rampart_testkit::honest(&mut rng, 32);
        case.pubkey = encoding;
        for rule in [Rule::Strict, Rule::Zip215Amended] {
            let verdict = ed25519::verify(rule, &case.input());
            assert!(
                verdict.is_err(),
                "{rule} accepted small-order key {encoding:02x?}"
            );
        }
    }
}

/// Batch verdicts equal single verdicts for every placement of invalid
/// signatures, including all-bad and all-good batches of every small size.
#[test]
fn batch_verdicts_equal_single_verdicts_for_every_mix() {
    let mut rng = Rng(0xba7c4);
    let good: Vec<Case> = (0..12)
        .map(|_| rampart_testkit::honest(&mut rng, 64))
        .collect();
    let bad: Vec<Case> = good
        .iter()
        .map(|case| {
            let mut bad = case.clone();
            bad.message.push(1);
            bad
        })
        .collect();
    for rule in [Rule::Zip215, Rule::Zip215Amended] {
        for size in 1..=8usize {
            for mask in 0u32..(1 << size) {
                let cases: Vec<Case> = (0..size)
                    .map(|i| {
                        if mask & (1 << i) != 0 {
                            bad[i].clone()
                        } else {
                            good[i].clone()
                        }
                    })
                    .collect();
                let inputs: Vec<_> = cases.iter().map(Case::input).collect();
                let mut out: Vec<SigVerdict> = vec![Ok(()); size];
                verify_batch_cofactored(rule, &inputs, &mut out);
                for (i, verdict) in out.iter().enumerate() {
                    assert_eq!(
                        verdict.is_err(),
                        mask & (1 << i) != 0,
                        "{rule} size {size} mask {mask:b}"
                    );
                    assert_eq!(*verdict, ed25519::verify(rule, &inputs[i]));
                }
            }
        }
    }
}

#[test]
fn shared_keys_batch_like_distinct_keys() {
    let mut rng = Rng(99);
    let seed: [u8; 32] = rng.bytes();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    use ed25519_dalek::Signer;
    let cases: Vec<Case> = (0..64)
        .map(|i| {
            let message = rng.vec(40);
            let mut signature = signing.sign(&message).to_bytes();
            if i % 9 == 4 {
                signature[40] ^= 4;
            }
            Case {
                pubkey: signing.verifying_key().to_bytes(),
                signature,
                message,
                note: "shared key",
            }
        })
        .collect();
    assert_eq!(
        check_all_paths("shared_keys_batch_like_distinct_keys", Rule::Zip215, &cases),
        0
    );
}
