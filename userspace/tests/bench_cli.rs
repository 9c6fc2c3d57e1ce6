//! `rampart bench …` end to end, in short runs of the real binary: each
//! benchmark finishes, passes its own checks (verdicts, what reached the
//! sink, what each XDP mode's counters say), and keeps every JSON field name
//! it had before the drivers moved out of `cli/`, so scripts that read them
//! keep working.

mod common;

use std::process::Command;

/// Runs `rampart bench ARGS --json` and returns its JSON object.
fn bench(args: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .output()
        .expect("rampart starts");
    assert!(
        output.status.success(),
        "rampart bench {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8 output");
    let last = stdout.lines().last().expect("a JSON line");
    match serde_json::from_str(last).expect("JSON") {
        serde_json::Value::Object(object) => object,
        other => panic!("not a JSON object: {other}"),
    }
}

fn assert_fields(object: &serde_json::Map<String, serde_json::Value>, fields: &[&str]) {
    let missing: Vec<_> = fields
        .iter()
        .filter(|f| !object.contains_key(**f))
        .collect();
    assert!(missing.is_empty(), "fields gone: {missing:?} in {object:?}");
}

#[test]
fn bench_sigverify_checks_verdicts_and_keeps_its_fields() {
    let report = bench(&[
        "sigverify",
        "--threads",
        "1",
        "--seconds",
        "0.4",
        "--rounds",
        "2",
        "--transactions",
        "512",
        "--batch",
        "64",
    ]);
    assert_fields(
        &report,
        &[
            "rule",
            "backend",
            "engine",
            "threads",
            "batch",
            "msg_size",
            "invalid_fraction",
            "keys",
            "verifies_per_sec",
            "verifies_per_sec_per_core",
            "baseline_verify_per_sec",
            "baseline_verify_strict_per_sec",
            "ratio_vs_verify",
            "ratio_vs_verify_strict",
            "one_thread_verifies_per_sec",
            "speedup_vs_one_thread",
            "p50_batch_us",
            "p99_batch_us",
            "p999_batch_us",
            "verdict_mismatches",
            "clock_ghz_estimate",
            "cycles_per_verify",
            "fpga_sim",
        ],
    );
    assert_eq!(report["verdict_mismatches"], 0);
    assert_eq!(report["verdict_check_cases"], 512);
    assert!(report["verifies_per_sec"].as_f64().unwrap_or(0.0) > 0.0);
}

#[test]
fn bench_pipeline_checks_the_sink_and_keeps_its_fields() {
    let report = bench(&[
        "pipeline",
        "--seconds",
        "0.6",
        "--transactions",
        "2000",
        "--connections",
        "2",
        "--invalid-fraction",
        "0.1",
        "--duplicate-fraction",
        "0.1",
    ]);
    assert_fields(
        &report,
        &[
            "rule",
            "verify_threads",
            "connections",
            "offered_tps",
            "forwarded_tps",
            "raw_verify_tps",
            "capacity_tps",
            "ratio_forwarded_vs_raw",
            "half_load_offered_tps",
            "p50_us",
            "p99_us",
            "p999_us",
            "verify_p50_us",
            "verify_p99_us",
            "direct_p50_us",
            "direct_p99_us",
            "lost_valid",
            "saturation_lost_valid",
            "shed_ingress",
            "shed_verify",
            "shed_forward",
            "budget_waits",
            "duplicate",
            "bad_signature",
            "malformed",
        ],
    );
    // The run fails by itself if either is non-zero; the report says so too.
    assert_eq!(report["forwarded_invalid"], 0);
    assert_eq!(report["forwarded_duplicate"], 0);
    assert!(
        report["bad_signature"].as_u64().unwrap_or(0) > 0,
        "invalid ones were sent"
    );
    assert!(
        report["duplicate"].as_u64().unwrap_or(0) > 0,
        "copies were sent"
    );
    assert!(
        report["direct_p99_us"].as_u64().unwrap_or(0) > 0,
        "the direct phase delivered to the sink"
    );
}

#[test]
fn bench_xdp_confirms_every_mode_from_its_counters_and_keeps_its_fields() {
    if common::skip_unless_root(
        "bench_xdp_confirms_every_mode_from_its_counters_and_keeps_its_fields",
    ) {
        return;
    }
    let report = bench(&[
        "xdp",
        "--seconds",
        "0.3",
        "--rounds",
        "1",
        "--max-packets",
        "20000",
        "--deny-cidrs",
        "200",
        "--buckets",
        "2000",
        "--test-run-repeat",
        "1000",
        "--xdp-mode",
        "skb",
    ]);
    assert_fields(
        &report,
        &[
            "sender_only",
            "bare_drop",
            "rampart",
            "rampart_rate_limit",
            "nftables",
            "socket",
            "quic_userspace",
            "rampart_vs_socket",
            "rampart_vs_nftables",
            "rampart_vs_quic_userspace",
            "rampart_vs_bare_drop",
            "chain_vs_bare_test_run",
            "deny_vs_bare_test_run",
            "test_run",
        ],
    );
    for mode in [
        "sender_only",
        "bare_drop",
        "rampart",
        "nftables",
        "socket",
        "quic_userspace",
    ] {
        assert_fields(
            report[mode].as_object().expect("a mode object"),
            &["pps", "cpu_ns_per_packet", "rx_ns_per_packet", "packets"],
        );
    }
    let rampart = &report["rampart"];
    assert_eq!(
        rampart["judged"], rampart["dropped"],
        "the deny rule drops the whole flood"
    );
    let limited = &report["rampart_rate_limit"];
    assert!(
        limited["dropped"].as_u64().unwrap_or(0) > 0,
        "the token bucket drops"
    );
}
