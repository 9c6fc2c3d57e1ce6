//! The verify engine alone (`rtl/engine.v`), loaded with the jobs the front
//! end would prepare, against the instruction-level model: the same result
//! code for every job, and the same number of issued instructions (each
//! costs the context 16 clocks, so a miscount shows as a shifted finish).
//! Covers decompression (non-square y, both sign bits), the small-order and
//! S checks, the scalar multiplication and the final comparison, under the
//! strict rule and the cofactored ones.
#![cfg(feature = "verilator")]

use std::collections::HashMap;

use rampart_fpga::field::Fe;
use rampart_fpga::microcode::{program, ResultCode};
use rampart_fpga::model::{self, Job};
use rampart_fpga::sim::EngineSim;
use rampart_sigverify::Rule;
use rampart_testkit::Rng;
use rampart_testkit::{self as cases, Case, MessageLengths};

fn job_of(case: &Case) -> Job {
    let mut r = [0u8; 32];
    r.copy_from_slice(&case.signature[..32]);
    let k = cases::challenge(&r, &case.pubkey, &case.message).to_bytes();
    Job::new(&case.pubkey, &case.signature, k)
}

#[test]
fn engine_matches_the_model_code_and_instruction_count() {
    let mut rng = Rng(0xe9_1e);
    let cases = cases::generate_with(&mut rng, 150, MessageLengths::Long);
    let mut jobs: Vec<Job> = cases.iter().map(job_of).collect();
    // The same signatures under the cofactored rules.
    for rule in [Rule::Zip215, Rule::Zip215Amended] {
        jobs.extend(cases.iter().take(60).map(|c| Job {
            cofactored: true,
            amended: rule == Rule::Zip215Amended,
            ..job_of(c)
        }));
    }
    // Arbitrary y of A (about half are not on the curve), flags toggled.
    for n in 0..50u8 {
        let mut job = jobs[usize::from(n)];
        let mut y = [0u8; 32];
        rng.fill(&mut y);
        job.y_a = Fe::from_bytes_reduce(&y).0;
        job.sign_a = n % 2 == 0;
        // Never clear s_bad: the front end sets it for every S >= L, and
        // the engine only holds S's low 253 bits.
        job.s_bad |= n % 5 == 0;
        job.r_bad = n % 7 == 0;
        jobs.push(job);
    }
    let code = program::assemble();
    let expected: Vec<model::Outcome> = jobs.iter().map(|j| model::run(&code, j, 10_000)).collect();
    let mut codes_seen: Vec<ResultCode> = expected.iter().map(|o| o.code).collect();
    codes_seen.sort_by_key(|c| *c as u8);
    codes_seen.dedup();
    assert!(codes_seen.len() >= 5, "model reached only {codes_seen:?}");

    let mut sim = EngineSim::new().expect("engine model");
    let mut loaded_at = HashMap::new();
    let mut finished = HashMap::new();
    let mut next = 0usize;
    while finished.len() < jobs.len() {
        let response = if next < jobs.len() && sim.free() {
            loaded_at.insert(next as u16, sim.cycles());
            let r = sim.load(next as u16, &jobs[next]);
            next += 1;
            r
        } else {
            sim.step()
        };
        if let Some(r) = response {
            assert!(
                finished.insert(r.tag, r).is_none(),
                "tag {} finished twice",
                r.tag
            );
        }
        assert!(sim.cycles() < 50_000_000, "engine hung");
    }
    let mut offsets = Vec::new();
    for (i, want) in expected.iter().enumerate() {
        let got = finished[&(i as u16)];
        assert_eq!(ResultCode::from_bits(got.code), want.code, "job {i}");
        let latency = got.cycle - loaded_at[&(i as u16)];
        offsets.push(latency as i64 - 16 * want.issued as i64);
    }
    let (lo, hi) = (offsets.iter().min().unwrap(), offsets.iter().max().unwrap());
    // Only the wait for the context's first issue slot (0..15) may differ.
    assert!(
        hi - lo < 16,
        "finish offsets {lo}..{hi}: instruction counts differ"
    );
}
