//! The RTL-padded SHA-512 block (`rtl/sha512_msg.v`) against the sha2 crate:
//! a 64-byte prefix (as R ‖ A) and messages of every length class 0..=4096,
//! with and without back-pressure on the message stream.
#![cfg(feature = "verilator")]

use rampart_fpga::sim::MsgHashSim;
use rampart_fpga::SHA512_CYCLES_PER_BLOCK;
use rampart_testkit::Rng;
use sha2::{Digest, Sha512};

fn check(sim: &mut MsgHashSim, rng: &mut Rng, len: usize, stall: u64) -> u64 {
    let mut prefix = [0u8; 64];
    rng.fill(&mut prefix);
    let mut message = vec![0u8; len];
    rng.fill(&mut message);
    let (got, cycles) = sim.digest(&prefix, &message, stall);
    let want = Sha512::new()
        .chain_update(prefix)
        .chain_update(&message)
        .finalize();
    assert_eq!(
        got.as_slice(),
        want.as_slice(),
        "length {len}, stall {stall}"
    );
    cycles
}

#[test]
fn padding_boundaries_match_sha2() {
    let mut sim = MsgHashSim::new();
    let mut rng = Rng(1);
    // Around the one/two/three-block boundaries (prefix 64 + message + 17).
    for len in (0..=80).chain(160..=200).chain([4095, 4096]) {
        check(&mut sim, &mut rng, len, 0);
    }
}

#[test]
fn random_lengths_match_sha2_with_back_pressure() {
    let mut sim = MsgHashSim::new();
    let mut rng = Rng(2);
    for n in 0..120 {
        let len = (rng.next_u64() % 4097) as usize;
        let stall = if n % 3 == 0 {
            2 + rng.next_u64() % 5
        } else {
            0
        };
        check(&mut sim, &mut rng, len, stall);
    }
}

#[test]
fn cycles_follow_the_block_count() {
    let mut sim = MsgHashSim::new();
    let mut rng = Rng(3);
    // 47 message bytes + 64 prefix + 17 padding = one block.
    let one = check(&mut sim, &mut rng, 47, 0);
    let two = check(&mut sim, &mut rng, 48, 0);
    assert!(one < 120, "one block took {one} cycles");
    assert_eq!(
        two - one,
        SHA512_CYCLES_PER_BLOCK,
        "a second block costs one compression (its fill overlaps)"
    );
}
