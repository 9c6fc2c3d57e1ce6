//! Rampart's vector engine (`ed25519::verify_strict_many`,
//! `ed25519::verify_cofactored_many`) against the scalar paths (same verdict,
//! same reason) and the oracles: `solana-signature` verify cross-checked with
//! ed25519-dalek verify_strict for strict, `verify_non_strict` cross-checked
//! with ed25519-zebra for zip215, zebra plus the encoding and order checks for
//! the amended rule.
//!
//! RFC 8032 and the speccheck vectors also run through the engine in
//! conformance.rs. The long differential run (10⁶ cases by default, each under all three rules) is
//! `cargo test --release -p rampart-sigverify --test engine -- --ignored --nocapture`
//! (`RAMPART_ENGINE_CASES` sets the count).
//!
//! Each test runs every engine backend this CPU has; for each one it lacks it
//! prints `skipping <test>/<backend>: needs <cpu feature>` (see `skip/`).

mod skip;

use rampart_sigverify::{ed25519, Rule, SigVerdict};
use rampart_testkit::{
    add_le, generate, honest, oracle, small_order_encodings, Case, Rng, L_BYTES,
};

/// Runs `cases` through the engine under the strict rule in one call and
/// counts verdicts that differ from the scalar path (reason included) or from
/// the oracle. `test` names the calling test in skip lines.
fn mismatches(test: &str, cases: &[Case]) -> usize {
    mismatches_under(test, Rule::Strict, cases)
}

/// [`mismatches`] under any rule.
fn mismatches_under(test: &str, rule: Rule, cases: &[Case]) -> usize {
    let inputs: Vec<_> = cases.iter().map(Case::input).collect();
    let expected: Vec<(SigVerdict, bool)> = cases
        .iter()
        .map(|case| (ed25519::verify(rule, &case.input()), oracle(rule, case)))
        .collect();
    // The public entry point (fastest backend), then every backend by name.
    let mut runs: Vec<(String, Vec<SigVerdict>)> = Vec::new();
    let mut out: Vec<SigVerdict> = vec![Ok(()); inputs.len()];
    if rule.is_cofactored() {
        ed25519::verify_cofactored_many(rule, &inputs, &mut out);
    } else {
        ed25519::verify_strict_many(&inputs, &mut out);
    }
    runs.push(("auto".into(), out));
    for engine in skip::engines(test) {
        let mut out: Vec<SigVerdict> = vec![Ok(()); inputs.len()];
        if rule.is_cofactored() {
            engine.verify_cofactored(rule, &inputs, &mut out);
        } else {
            engine.verify_strict(&inputs, &mut out);
        }
        runs.push((engine.kind().to_string(), out));
    }
    let mut bad = 0;
    for (name, out) in &runs {
        for (i, case) in cases.iter().enumerate() {
            let (scalar, accepts) = expected[i];
            if out[i] != scalar || out[i].is_ok() != accepts {
                bad += 1;
                eprintln!(
                    "{rule} {name} case {i} ({}): engine {:?}, scalar {scalar:?}, oracle accepts: {accepts}",
                    case.note, out[i]
                );
            }
        }
    }
    bad
}

#[test]
fn random_and_mutated_cases_match() {
    let test = "random_and_mutated_cases_match";
    let cases = generate(&mut Rng(0x5eed_0006), 3000);
    assert_eq!(mismatches(test, &cases), 0);
}

#[test]
fn cofactored_rules_match() {
    let test = "cofactored_rules_match";
    let mut rng = Rng(0xc0fac);
    let cases = generate(&mut rng, 1500);
    for rule in [Rule::Zip215, Rule::Zip215Amended] {
        assert_eq!(mismatches_under(test, rule, &cases), 0, "{rule}");
        for len in 1..=17 {
            assert_eq!(
                mismatches_under(test, rule, &cases[len * 17..len * 18]),
                0,
                "{rule} length {len}"
            );
        }
    }
}

/// Every valid/invalid pattern over eight lanes, with invalid cases of every
/// kind in each position, and slices of every length up to 17 (spare lanes).
#[test]
fn lanes_mixing_valid_and_invalid_in_every_position() {
    let test = "lanes_mixing_valid_and_invalid_in_every_position";
    let mut rng = Rng(0x1a7e5);
    let pool: Vec<Case> = generate(&mut rng, 400)
        .into_iter()
        .filter(|case| !oracle(Rule::Strict, case))
        .collect();
    assert!(pool.len() > 100);
    // Every pattern over eight lanes: one run of the 8-lane backend, two of
    // the 4-lane ones.
    let mut cases = Vec::new();
    for pattern in 0..256usize {
        let bad = &pool[pattern % pool.len()];
        for lane in 0..8 {
            if pattern & (1 << lane) != 0 {
                cases.push(bad.clone());
            } else {
                cases.push(honest(&mut rng, 32 + lane * 50));
            }
        }
    }
    assert_eq!(mismatches(test, &cases), 0);
    for len in 1..=17 {
        let start = rng.below((cases.len() - len) as u64) as usize;
        assert_eq!(
            mismatches(test, &cases[start..start + len]),
            0,
            "length {len}"
        );
    }
}

/// A rewrite of S.
type SMutation = fn(&[u8; 32]) -> [u8; 32];

/// Non-canonical S of several kinds, small-order points as A and R in every
/// encoding, with valid signatures around them in the same kernel run.
#[test]
fn edge_encodings_match() {
    let test = "edge_encodings_match";
    let mut rng = Rng(0xed6e);
    let mut cases = Vec::new();
    let s_variants: [SMutation; 4] = [
        |s| add_le(s, &L_BYTES),
        |_| L_BYTES,
        |_| [0xff; 32],
        |s| add_le(&add_le(s, &L_BYTES), &L_BYTES),
    ];
    for variant in s_variants {
        let mut case = honest(&mut rng, 64);
        let mut s = [0u8; 32];
        s.copy_from_slice(&case.signature[32..]);
        case.signature[32..].copy_from_slice(&variant(&s));
        case.note = "non-canonical S";
        cases.push(case);
        cases.push(honest(&mut rng, 10));
    }
    for point in small_order_encodings() {
        let mut as_key = honest(&mut rng, 20);
        as_key.pubkey = point;
        as_key.note = "small-order encoding as A";
        let mut as_r = honest(&mut rng, 20);
        as_r.signature[..32].copy_from_slice(&point);
        as_r.note = "small-order encoding as R";
        cases.extend([as_key, honest(&mut rng, 5), as_r]);
    }
    assert_eq!(mismatches(test, &cases), 0);
}

/// The long differential run; see the module comment.
#[test]
#[ignore = "long run (minutes): cargo test --release -p rampart-sigverify --test engine -- --ignored"]
fn long_differential_run() {
    let test = "long_differential_run";
    let total: usize = std::env::var("RAMPART_ENGINE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = 4096;
    let chunks = total.div_ceil(chunk);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let bad = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if index >= chunks {
                    break;
                }
                let count = chunk.min(total - index * chunk);
                let cases = generate(&mut Rng(0xd1ff_0000 + index as u64), count);
                let differences = Rule::ALL
                    .into_iter()
                    .map(|rule| mismatches_under(test, rule, &cases))
                    .sum::<usize>();
                bad.fetch_add(differences, std::sync::atomic::Ordering::Relaxed);
                if index % 32 == 31 {
                    eprintln!("{} of {total} cases", (index + 1) * chunk);
                }
            });
        }
    });
    let bad = bad.into_inner();
    eprintln!(
        "{total} cases under 3 rules (engines: {:?}) in {:.0?}: {bad} differences",
        skip::engines(test)
            .iter()
            .map(|e| e.kind().label())
            .collect::<Vec<_>>(),
        started.elapsed()
    );
    assert_eq!(bad, 0);
}
