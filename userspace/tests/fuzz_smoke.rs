//! A bounded smoke run of every fuzz target in `fuzz/` (cargo-fuzz,
//! libFuzzer): each one runs for [`SECONDS_PER_TARGET`] from its seed corpus
//! with a fixed libFuzzer seed, and any crash fails the test with the path of
//! the input that caused it. docs/fuzzing.md has the long runs.
//!
//! Needs cargo-fuzz (deploy/setup.sh installs it) and the nightly toolchain
//! the eBPF build already uses. Without cargo-fuzz the test prints
//! "skipping fuzz_targets_survive_a_smoke_run: needs cargo-fuzz" and passes,
//! except under CI (`CI` set and not empty), where it fails.
//!
//! Cost, measured on the 2-core CI machine: see docs/fuzzing.md (a cold
//! build of the targets, then 30 s per target).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
    time::Instant,
};

/// How long each target runs.
const SECONDS_PER_TARGET: u32 = 30;

/// The triple cargo-fuzz builds for (its default), under `fuzz/target/`.
const FUZZ_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// Targets run at once.
const PARALLEL_RUNS: usize = 2;

/// The toolchain deploy/setup.sh pins for the eBPF build (userspace/build.rs
/// looks for the same): cargo-fuzz needs a nightly for the sanitizer flags.
const PINNED_NIGHTLY: &str = "nightly-2026-05-20";

/// Every target, with the libFuzzer options it needs beyond the common ones.
const TARGETS: &[(&str, &[&str])] = &[
    ("tx_parse", &["-max_len=4200"]),
    ("xdp_chain", &["-max_len=1700"]),
    ("cert_identity", &["-max_len=2048"]),
    ("rules_file", &["-max_len=2048"]),
    ("config_file", &["-max_len=4096"]),
    ("engine_diff", &["-max_len=2048"]),
    // A real QUIC server and client in the process: their background
    // threads' allocations are not leaks of one input.
    ("ingress_stream", &["-max_len=1024", "-detect_leaks=0"]),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("userspace/ has a parent")
        .to_path_buf()
}

/// The nightly to run cargo-fuzz under: `RAMPART_FUZZ_TOOLCHAIN`, else the
/// pinned one when rustup lists it, else `nightly`.
fn toolchain() -> String {
    if let Ok(toolchain) = std::env::var("RAMPART_FUZZ_TOOLCHAIN") {
        return toolchain;
    }
    let listed = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if listed.lines().any(|line| line.starts_with(PINNED_NIGHTLY)) {
        PINNED_NIGHTLY.to_owned()
    } else {
        "nightly".to_owned()
    }
}

/// `cargo +toolchain fuzz ARGS`, in the workspace root, with no build flags
/// from the test's own environment (cargo-fuzz sets its own).
fn cargo_fuzz(toolchain: &str, args: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{toolchain}"))
        .arg("fuzz")
        .args(args)
        .current_dir(workspace_root());
    for key in [
        "CARGO",
        "RUSTC",
        "RUSTUP_TOOLCHAIN",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(key);
    }
    command
}

/// True (and says so) when cargo-fuzz is missing outside CI; panics when it
/// is missing under CI.
fn skip_without_cargo_fuzz(test: &str, toolchain: &str) -> bool {
    let present = cargo_fuzz(toolchain, &["--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return false;
    }
    if std::env::var_os("CI").is_some_and(|value| !value.is_empty()) {
        panic!(
            "{test} needs cargo-fuzz (with the {toolchain} toolchain) and CI is set, so it must \
             run, not skip: run deploy/setup.sh"
        );
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipping {test}: needs cargo-fuzz");
    true
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The value after `key` on libFuzzer's final stats lines.
fn stat(output: &str, key: &str) -> Option<u64> {
    output
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim().parse().ok())
}

/// Runs `target` for [`SECONDS_PER_TARGET`]; the failure message names the
/// crashing input.
fn smoke(
    toolchain: &str,
    root: &Path,
    scratch: &Path,
    target: &str,
    options: &[&str],
) -> Result<(), String> {
    // New inputs go to a scratch directory (the first corpus), so the run
    // reads the repository's seeds and never writes to them.
    let fresh = scratch.join(target);
    std::fs::create_dir_all(&fresh).expect("scratch corpus");
    let seeds = root.join("fuzz/corpus").join(target);
    let max_time = format!("-max_total_time={SECONDS_PER_TARGET}");
    let index = TARGETS.iter().position(|(t, _)| *t == target).unwrap_or(0);
    let seed = format!("-seed={}", 1000 + index);
    let artifacts = root.join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&artifacts).expect("artifact directory");
    let artifact_prefix = format!("-artifact_prefix={}/", artifacts.display());
    // The binary `cargo fuzz build` made, run directly (as `cargo fuzz run`
    // would, with its ASAN_OPTIONS), so nothing rebuilds mid-run.
    let binary = root
        .join("fuzz/target")
        .join(FUZZ_TRIPLE)
        .join("release")
        .join(target);
    let started = Instant::now();
    let run = Command::new(&binary)
        .args([
            artifact_prefix.as_str(),
            &max_time,
            &seed,
            "-timeout=30",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ])
        .args(options)
        .arg(&fresh)
        .arg(&seeds)
        .env("ASAN_OPTIONS", "detect_odr_violation=0")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", binary.display()));
    let output = text(&run);
    let execs = stat(&output, "stat::number_of_executed_units:").unwrap_or(0);
    eprintln!(
        "fuzz smoke: {target}: {execs} executions in {:.0} s, exit {:?}",
        started.elapsed().as_secs_f64(),
        run.status.code()
    );
    if !run.status.success() {
        let input = output
            .lines()
            .find_map(|line| line.split("Test unit written to ").nth(1))
            .unwrap_or("(no input written; see the output)")
            .trim()
            .to_owned();
        return Err(format!(
            "{target} crashed; input: {input}\nreproduce: cargo +{toolchain} fuzz run \
             --fuzz-dir fuzz {target} {input}\n{}",
            tail(&output, 40)
        ));
    }
    if execs == 0 {
        return Err(format!("{target} ran no input:\n{}", tail(&output, 20)));
    }
    Ok(())
}

#[test]
fn fuzz_targets_survive_a_smoke_run() {
    let test = "fuzz_targets_survive_a_smoke_run";
    let toolchain = toolchain();
    if skip_without_cargo_fuzz(test, &toolchain) {
        return;
    }
    let root = workspace_root();

    // One build of every target first (the default profile: optimized, with
    // debug assertions and overflow checks, AddressSanitizer).
    let started = Instant::now();
    let build = cargo_fuzz(&toolchain, &["build", "--fuzz-dir", "fuzz"])
        .output()
        .expect("run cargo fuzz build");
    assert!(
        build.status.success(),
        "cargo fuzz build failed:\n{}",
        tail(&text(&build), 60)
    );
    eprintln!(
        "fuzz smoke: built every target in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let scratch = std::env::temp_dir().join(format!("rampart-fuzz-smoke-{}", std::process::id()));
    // Two targets at a time: the CI machine has two cores, and each run
    // is one process on one core.
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_RUNS {
            scope.spawn(|| {
                while let Some(&(target, options)) =
                    TARGETS.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    if let Err(failure) = smoke(&toolchain, &root, &scratch, target, options) {
                        failures.lock().expect("no panics hold it").push(failure);
                    }
                }
            });
        }
    });
    eprintln!(
        "fuzz smoke: every target run in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let failures = failures.into_inner().expect("no panics hold it");
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
