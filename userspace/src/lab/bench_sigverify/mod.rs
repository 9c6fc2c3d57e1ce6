//! `rampart bench sigverify`: verifies/s of a backend through the verify pool,
//! next to ed25519-dalek `verify` and `verify_strict` measured in the same run on
//! the same transactions, with a per-batch latency histogram.

//!
//! - `contenders.rs`: the dalek baselines and the pool runs, in turns.
//! - `check.rs`: the half-invalid verdict check every pool passes first.
//! - `report.rs`: the report, the clock estimate and the fpga-sim cycle figures.

mod check;
mod contenders;
mod report;

use std::{io::Write, time::Duration};

use anyhow::{bail, Context};
use clap::Args;
use ed25519_dalek::Verifier;
use rampart_sigverify::{
    backend::{BackendKind, EngineChoice},
    Rule,
};

use self::{
    check::VerdictCheck,
    contenders::{
        baseline_slice, parse_all, run_pool_slice, start_pool, Batches, PoolRun, PoolTally, Tally,
    },
    report::{estimate_clock_hz, fpga_cycles, print_table, Report},
};
use super::loadgen::{self, KeyMode, TxSpec};
use crate::appliance::backend::{make_backend, BackendSpec};

/// Arguments of `rampart bench sigverify`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Signature rule: strict, zip215 or zip215-amended.
    #[arg(long, default_value = "strict")]
    rule: Rule,
    /// Verification backend.
    #[arg(long, default_value = "cpu")]
    backend: BackendKind,
    /// CPU backend's path: auto (Rampart's vector engine where the CPU has
    /// AVX-512 IFMA, scalar elsewhere), ifma, avx2, or off (scalar singles and
    /// batch equations).
    #[arg(long, default_value = "auto")]
    engine: EngineChoice,
    /// Verify worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Transactions per batch handed to a worker (and largest RLC batch).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Signed message size in bytes (legacy up to 1167, v1 above).
    #[arg(long, default_value_t = 256)]
    msg_size: usize,
    /// Share of transactions with an invalid signature.
    #[arg(long, default_value_t = 0.0)]
    invalid_fraction: f64,
    /// Signing keys: `distinct` (one per transaction) or `sharedN` (N keys reused).
    #[arg(long, default_value = "distinct", value_parser = parse_keys)]
    keys: KeyMode,
    /// Seconds to measure each contender, split across the rounds.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Rounds in which the contenders take turns.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Distinct transactions to generate (cycled through while measuring).
    #[arg(long, default_value_t = 8192)]
    transactions: usize,
    /// Keep the batch size fixed at --batch instead of adapting it to the
    /// observed failure rate (for tuning the sizer).
    #[arg(long)]
    fixed_batch: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// With `--backend fpga-sim`: signatures to run through the simulated
    /// card for the cycle report (its verdicts are checked against the CPU).
    #[arg(long, default_value_t = 256)]
    fpga_verifies: usize,
}

impl BenchArgs {
    /// The backend each worker gets.
    fn backend_spec(&self) -> BackendSpec {
        BackendSpec {
            kind: self.backend,
            engine: self.engine,
            max_rlc_batch: self.batch,
            adaptive: !self.fixed_batch,
            exact_reasons: false,
        }
    }
}

fn parse_keys(text: &str) -> Result<KeyMode, String> {
    if text == "distinct" {
        return Ok(KeyMode::Distinct);
    }
    text.strip_prefix("shared")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map(KeyMode::Shared)
        .ok_or_else(|| format!("expected `distinct` or `sharedN` (e.g. shared8), got {text:?}"))
}

/// Runs `rampart bench sigverify`.
///
/// # Errors
/// Bad arguments, a backend that is not built, or a thread that cannot start.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.transactions == 0 || args.seconds <= 0.0 {
        bail!("--batch, --transactions and --seconds must be positive");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    make_backend(&args.backend_spec())?;
    let engine_path = match args.backend {
        BackendKind::Cpu => args.engine.resolve().unwrap_or("scalar"),
        BackendKind::FpgaSim => "n/a",
    };
    let clock_before = estimate_clock_hz();
    let keys = match args.keys {
        KeyMode::Distinct => "distinct".to_owned(),
        KeyMode::Shared(n) => format!("shared{n}"),
    };
    progress(&format!(
        "generating {} signed transactions ({} B messages, {keys} keys, {:.0}% invalid)",
        args.transactions,
        args.msg_size,
        args.invalid_fraction * 100.0
    ));
    let txs = loadgen::generate(&TxSpec {
        count: args.transactions,
        message_size: args.msg_size,
        invalid_fraction: args.invalid_fraction,
        keys: args.keys,
        seed: 0x5eed,
    })
    .context("bad transaction spec")?;
    let parsed = parse_all(&txs)?;
    let expected: Vec<bool> = txs.iter().map(|tx| tx.valid).collect();
    let fpga_sim = if args.backend == BackendKind::FpgaSim {
        Some(fpga_cycles(args.rule, &parsed, args.fpga_verifies)?)
    } else {
        None
    };
    let mut batches = Batches::new(&txs, args.batch);

    // Contenders take turns in short rounds, so that noise from the rest of the
    // machine falls on all of them alike instead of on whichever ran last.
    let rounds = args.rounds.max(1);
    let slice = Duration::from_secs_f64(args.seconds / rounds as f64);
    let pool = start_pool(args, threads)?;
    let one_thread_pool = if threads > 1 {
        Some(start_pool(args, 1)?)
    } else {
        None
    };
    // Whatever the measured mix, every pool must tell valid from invalid on
    // a half-invalid set first: a backend that accepts everything fails here.
    let check = VerdictCheck::new(args)?;
    check.run(&pool, args.rule)?;
    if let Some(one) = &one_thread_pool {
        check.run(one, args.rule)?;
    }
    let mut verify = Tally::default();
    let mut verify_strict = Tally::default();
    let mut ours = PoolTally::new()?;
    let mut one_thread = PoolTally::new()?;
    // Warm-up: one slice for every contender alike, not counted.
    let warm_up = Duration::from_millis(200);
    baseline_slice(&parsed, warm_up, |key, msg, sig| {
        key.verify(msg, sig).is_ok()
    });
    baseline_slice(&parsed, warm_up, |key, msg, sig| {
        key.verify_strict(msg, sig).is_ok()
    });
    for pool in std::iter::once(&pool).chain(&one_thread_pool) {
        run_pool_slice(
            pool,
            args.rule,
            &mut batches,
            warm_up,
            &mut PoolTally::new()?,
        )?;
    }
    for round in 0..rounds {
        verify.add(baseline_slice(&parsed, slice, |key, msg, sig| {
            key.verify(msg, sig).is_ok()
        }));
        verify_strict.add(baseline_slice(&parsed, slice, |key, msg, sig| {
            key.verify_strict(msg, sig).is_ok()
        }));
        run_pool_slice(&pool, args.rule, &mut batches, slice, &mut ours)?;
        if let Some(one) = &one_thread_pool {
            run_pool_slice(one, args.rule, &mut batches, slice, &mut one_thread)?;
        }
        progress(&format!(
            "round {}/{rounds}: rampart {:.0}/s ({threads} threads), dalek verify {:.0}/s, verify_strict {:.0}/s",
            round + 1,
            ours.tally.rate(),
            verify.rate(),
            verify_strict.rate()
        ));
    }
    let mismatches =
        ours.mismatches(&expected, &batches) + one_thread.mismatches(&expected, &batches);
    let ours = PoolRun {
        verifies_per_sec: ours.tally.rate(),
        latency: ours.latency,
        mismatches,
    };
    let baseline_verify = verify.rate();
    let baseline_strict = verify_strict.rate();
    let one_thread = one_thread_pool.map(|_| one_thread.tally.rate());

    let per_core = ours.verifies_per_sec / threads as f64;
    let clock_hz = (clock_before + estimate_clock_hz()) / 2.0;
    let report = Report {
        rule: args.rule.to_string(),
        backend: args.backend.to_string(),
        engine: engine_path.to_owned(),
        threads,
        batch: args.batch,
        msg_size: args.msg_size,
        invalid_fraction: args.invalid_fraction,
        keys,
        verifies_per_sec: ours.verifies_per_sec,
        verifies_per_sec_per_core: per_core,
        baseline_verify_per_sec: baseline_verify,
        baseline_verify_strict_per_sec: baseline_strict,
        ratio_vs_verify: per_core / baseline_verify,
        ratio_vs_verify_strict: per_core / baseline_strict,
        one_thread_verifies_per_sec: one_thread,
        speedup_vs_one_thread: one_thread.map(|one| ours.verifies_per_sec / one),
        p50_batch_us: ours.latency.value_at_quantile(0.5),
        p99_batch_us: ours.latency.value_at_quantile(0.99),
        p999_batch_us: ours.latency.value_at_quantile(0.999),
        verdict_mismatches: ours.mismatches,
        verdict_check_cases: check.cases(),
        clock_ghz_estimate: clock_hz / 1e9,
        cycles_per_verify: clock_hz / per_core,
        fpga_sim,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    let hardware_mismatches = report
        .fpga_sim
        .as_ref()
        .map_or(0, |f| f.hardware_mismatches);
    if hardware_mismatches > 0 {
        bail!("{hardware_mismatches} simulated-hardware verdicts differed from the CPU reference");
    }
    if report.verdict_mismatches > 0 {
        bail!(
            "{} verdicts differed from how the transactions were generated",
            report.verdict_mismatches
        );
    }
    Ok(())
}

fn progress(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "[bench] {line}");
}
