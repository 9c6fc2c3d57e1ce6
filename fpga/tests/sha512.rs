//! The simulated SHA-512 core against `sha2::Sha512`: standard vectors, every
//! length 0..=300, and a few hundred seeded random messages up to 4096 bytes.
#![cfg(feature = "verilator")]

use rampart_fpga::sim::Sha512Sim;
use rampart_testkit::Rng;
use sha2::{Digest, Sha512};

fn reference(message: &[u8]) -> [u8; 64] {
    Sha512::digest(message).into()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn standard_vectors() {
    let vectors: [(&[u8], &str); 3] = [
        (
            b"",
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
             47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
        ),
        (
            b"abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
        (
            b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno\
              ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018\
             501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
        ),
    ];
    let mut sim = Sha512Sim::new();
    for (message, expected) in vectors {
        let got = sim.digest(message);
        assert_eq!(
            got.to_vec(),
            unhex(expected),
            "message {:?}",
            String::from_utf8_lossy(message)
        );
        assert_eq!(got, reference(message));
    }
}

#[test]
fn every_length_up_to_300() {
    let mut rng = Rng(0x5a5a_0001);
    let mut sim = Sha512Sim::new();
    for len in 0..=300 {
        let mut message = vec![0u8; len];
        rng.fill(&mut message);
        assert_eq!(sim.digest(&message), reference(&message), "length {len}");
    }
}

#[test]
fn random_messages_up_to_4096() {
    let mut rng = Rng(0x5a5a_0002);
    let mut sim = Sha512Sim::new();
    for case in 0..300 {
        let len = (rng.next_u64() % 4097) as usize;
        let mut message = vec![0u8; len];
        rng.fill(&mut message);
        assert_eq!(
            sim.digest(&message),
            reference(&message),
            "case {case}, length {len}"
        );
    }
}

#[test]
fn rtl_lints_clean() {
    let rtl = concat!(env!("CARGO_MANIFEST_DIR"), "/rtl/sha512.v");
    let out = std::process::Command::new("verilator")
        .args(["--lint-only", "-Wall", rtl])
        .output()
        .expect("run verilator (deploy/setup.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "verilator -Wall: {stderr}"
    );
}
