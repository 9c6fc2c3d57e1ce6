//! `rampart bench sigverify`: verifies/s of a backend through the verify pool,
//! next to ed25519-dalek `verify` and `verify_strict` measured in the same run on
//! the same transactions, with a per-batch latency histogram.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use clap::Args;
use ed25519_dalek::Verifier;
use hdrhistogram::Histogram;
use rampart_sigverify::{
    backend::{BackendKind, EngineChoice},
    pool::{Job, VerifyPool},
    txn::Transaction,
    Rule,
};
use serde::Serialize;

use super::loadgen::{self, GeneratedTx, KeyMode, TxSpec};
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

/// The machine-readable result.
#[derive(Debug, Serialize)]
struct Report {
    rule: String,
    backend: String,
    /// What the CPU backend ran on: ifma, avx2 or scalar.
    engine: String,
    threads: usize,
    batch: usize,
    msg_size: usize,
    invalid_fraction: f64,
    keys: String,
    verifies_per_sec: f64,
    verifies_per_sec_per_core: f64,
    baseline_verify_per_sec: f64,
    baseline_verify_strict_per_sec: f64,
    ratio_vs_verify: f64,
    ratio_vs_verify_strict: f64,
    one_thread_verifies_per_sec: Option<f64>,
    speedup_vs_one_thread: Option<f64>,
    p50_batch_us: u64,
    p99_batch_us: u64,
    p999_batch_us: u64,
    verdict_mismatches: u64,
    /// Half-invalid transactions every pool had to judge right before the run.
    verdict_check_cases: usize,
    /// Core clock estimated in this run from a dependent multiply chain.
    clock_ghz_estimate: f64,
    /// Cycles per verification on one core at that clock.
    cycles_per_verify: f64,
    /// Cycle figures of the simulated card (`--backend fpga-sim` only).
    fpga_sim: Option<FpgaSimReport>,
}

/// Simulated cycles per verification and what they project to.
#[derive(Debug, Serialize)]
struct FpgaSimReport {
    verifications: u64,
    latency_cycles: u64,
    amortized_cycles: f64,
    multiplier_busy: f64,
    clock_mhz: f64,
    projected_verifies_per_sec_per_engine: f64,
    simulated_cycles: u64,
    simulation_wall_s: f64,
    simulated_cycles_per_sec: f64,
    hardware_mismatches: u64,
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

/// A fixed half-invalid set, checked verdict by verdict through a pool
/// before anything is measured.
struct VerdictCheck {
    transactions: Vec<Vec<u8>>,
    expected: Vec<bool>,
}

impl VerdictCheck {
    /// Cases in the check.
    const CASES: usize = 512;

    fn new(args: &BenchArgs) -> anyhow::Result<Self> {
        let txs = loadgen::generate(&TxSpec {
            count: Self::CASES,
            message_size: args.msg_size,
            invalid_fraction: 0.5,
            keys: args.keys,
            seed: 0xc4ec,
        })
        .context("bad transaction spec for the verdict check")?;
        Ok(VerdictCheck {
            expected: txs.iter().map(|tx| tx.valid).collect(),
            transactions: txs.into_iter().map(|tx| tx.bytes).collect(),
        })
    }

    fn cases(&self) -> usize {
        self.transactions.len()
    }

    /// Verifies the set through `pool` in batches and fails on any verdict
    /// that differs from how the transaction was generated.
    fn run(&self, pool: &VerifyPool<Vec<u8>>, rule: Rule) -> anyhow::Result<()> {
        let batch = 64;
        let jobs = self.transactions.chunks(batch).enumerate();
        let submitted = jobs.len();
        for (id, chunk) in jobs {
            let job = Job {
                id: id as u64,
                rule,
                transactions: chunk.to_vec(),
            };
            if pool.submit(job).is_err() {
                bail!("verify workers stopped");
            }
        }
        let mut wrong = 0usize;
        for _ in 0..submitted {
            let Some(done) = pool.recv_timeout(Duration::from_secs(30)) else {
                bail!("verify workers made no progress for 30 s");
            };
            let start = done.id as usize * batch;
            wrong += done
                .verdicts
                .iter()
                .zip(&self.expected[start..])
                .filter(|(got, want)| got.is_valid() != **want)
                .count();
        }
        if wrong > 0 {
            bail!(
                "verdict check: {wrong} of {} half-invalid transactions got the wrong verdict",
                self.cases()
            );
        }
        Ok(())
    }
}

fn progress(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "[bench] {line}");
}

/// Signatures verified and time spent, summed over rounds.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    verified: u64,
    elapsed: Duration,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.verified += other.verified;
        self.elapsed += other.elapsed;
    }

    fn rate(&self) -> f64 {
        self.verified as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One thread running a dalek function over the same transactions for
/// `window`, decoding the key each time as the validator does.
fn baseline_slice<F>(parsed: &[Transaction<'_>], window: Duration, verify: F) -> Tally
where
    F: Fn(&ed25519_dalek::VerifyingKey, &[u8], &ed25519_dalek::Signature) -> bool,
{
    let started = Instant::now();
    let mut verified = 0u64;
    'outer: loop {
        for tx in parsed {
            for (key, signature) in tx.signer_keys().iter().zip(tx.signatures()) {
                if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key) {
                    std::hint::black_box(verify(
                        &key,
                        tx.message(),
                        &ed25519_dalek::Signature::from_bytes(signature),
                    ));
                }
                verified += 1;
            }
            if verified.is_multiple_of(64) && started.elapsed() >= window {
                break 'outer;
            }
        }
    }
    Tally {
        verified,
        elapsed: started.elapsed(),
    }
}

fn parse_all(txs: &[GeneratedTx]) -> anyhow::Result<Vec<Transaction<'_>>> {
    txs.iter()
        .map(|tx| Transaction::parse(&tx.bytes).context("generated transaction does not parse"))
        .collect()
}

/// The generated transactions cut into the batches handed to workers.
/// The transactions cut into jobs. A job's transactions travel to a worker
/// and come back with its verdicts; they wait here for their next turn, so
/// that the driving thread, which shares the cores with the workers it
/// measures, copies a batch only when a small set has it out already.
struct Batches {
    /// Batch i, when it is not out at a worker.
    idle: Vec<Option<Vec<Vec<u8>>>>,
    /// Every batch, to copy from when a small set has all its batches out.
    source: Vec<Vec<Vec<u8>>>,
    batch: usize,
}

impl Batches {
    fn new(txs: &[GeneratedTx], batch: usize) -> Self {
        let source: Vec<Vec<Vec<u8>>> = txs
            .chunks(batch)
            .map(|chunk| chunk.iter().map(|tx| tx.bytes.clone()).collect())
            .collect();
        Batches {
            idle: source.iter().cloned().map(Some).collect(),
            source,
            batch,
        }
    }

    fn len(&self) -> usize {
        self.idle.len()
    }

    /// Batch `index` for a job: the idle one, or a copy while it is out.
    fn take(&mut self, index: usize) -> Vec<Vec<u8>> {
        self.idle[index]
            .take()
            .unwrap_or_else(|| self.source[index].clone())
    }

    /// Batch `index` back from a worker.
    fn put_back(&mut self, index: usize, transactions: Vec<Vec<u8>>) {
        self.idle[index] = Some(transactions);
    }
}

struct PoolRun {
    verifies_per_sec: f64,
    latency: Histogram<u64>,
    mismatches: u64,
}

/// Pool throughput summed over rounds, batch times, and verdicts seen.
struct PoolTally {
    tally: Tally,
    latency: Histogram<u64>,
    /// (batch index, how many verdicts said valid) per finished batch.
    valid_counts: Vec<(usize, Vec<bool>)>,
}

impl PoolTally {
    fn new() -> anyhow::Result<Self> {
        Ok(PoolTally {
            tally: Tally::default(),
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            valid_counts: Vec::new(),
        })
    }

    /// Verdicts that differ from how the transactions were generated.
    fn mismatches(&self, expected: &[bool], batches: &Batches) -> u64 {
        self.valid_counts
            .iter()
            .map(|(index, verdicts)| {
                let start = index * batches.batch;
                verdicts
                    .iter()
                    .zip(&expected[start..])
                    .filter(|(got, want)| got != want)
                    .count() as u64
            })
            .sum()
    }
}

fn start_pool(args: &BenchArgs, threads: usize) -> anyhow::Result<VerifyPool<Vec<u8>>> {
    let backends = (0..threads)
        .map(|_| make_backend(&args.backend_spec()))
        .collect::<Result<Vec<_>, _>>()?;
    VerifyPool::start(backends, 2).context("cannot start verify workers")
}

/// Keeps every worker of `pool` busy for `window`, then drains it; counts the
/// batches that finished inside the window over the time until the last of them.
fn run_pool_slice(
    pool: &VerifyPool<Vec<u8>>,
    rule: Rule,
    batches: &mut Batches,
    window: Duration,
    tally: &mut PoolTally,
) -> anyhow::Result<()> {
    let max_in_flight = pool.threads() * 2;
    let started = Instant::now();
    let mut next = 0usize;
    let mut in_flight = 0usize;
    let mut verified = 0u64;
    let mut last_counted = Duration::ZERO;
    loop {
        let open = started.elapsed() < window;
        while open && in_flight < max_in_flight {
            let index = next % batches.len();
            let job = Job {
                id: index as u64,
                rule,
                transactions: batches.take(index),
            };
            if pool.submit(job).is_err() {
                bail!("verify workers stopped");
            }
            next += 1;
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        let Some(done) = pool.recv_timeout(Duration::from_secs(30)) else {
            bail!("verify workers made no progress for 30 s");
        };
        in_flight -= 1;
        let now = started.elapsed();
        if now <= window {
            last_counted = now;
            verified += done.verdicts.len() as u64;
            let _ = tally.latency.record(done.busy.as_micros().max(1) as u64);
        }
        let valid = done.verdicts.iter().map(|v| v.is_valid()).collect();
        tally.valid_counts.push((done.id as usize, valid));
        batches.put_back(done.id as usize, done.transactions);
    }
    // Work finished by the last counted completion, over the time to it.
    tally.tally.add(Tally {
        verified,
        elapsed: last_counted,
    });
    Ok(())
}

/// The core clock, estimated from a chain of dependent `x = x·k ⊕ (x >> 31)`
/// steps: 3 cycles for the 64-bit multiply plus 1 for the xor on every x86-64
/// core of the last decade, whatever the turbo state. Runs for ~50 ms.
fn estimate_clock_hz() -> f64 {
    const STEPS: u64 = 40_000_000;
    const CYCLES_PER_STEP: f64 = 4.0;
    let mut x: u64 = std::hint::black_box(0x1234_5678_9abc_def1);
    let k = std::hint::black_box(0x9e37_79b9_7f4a_7c15_u64);
    let started = Instant::now();
    for _ in 0..STEPS {
        x = x.wrapping_mul(k) ^ (x >> 31);
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::hint::black_box(x);
    STEPS as f64 * CYCLES_PER_STEP / elapsed
}

fn print_table(r: &Report) {
    println!("rampart bench sigverify");
    println!(
        "  rule {}  backend {} ({})  threads {}  batch {}  msg {} B  keys {}  invalid {:.0}%",
        r.rule,
        r.backend,
        r.engine,
        r.threads,
        r.batch,
        r.msg_size,
        r.keys,
        r.invalid_fraction * 100.0
    );
    println!(
        "  rampart               {:>10.0} verifies/s  ({:.0} per core)",
        r.verifies_per_sec, r.verifies_per_sec_per_core
    );
    println!(
        "  dalek verify          {:>10.0} verifies/s  (1 thread)",
        r.baseline_verify_per_sec
    );
    println!(
        "  dalek verify_strict   {:>10.0} verifies/s  (1 thread)",
        r.baseline_verify_strict_per_sec
    );
    println!("  per core vs verify        {:.2}x", r.ratio_vs_verify);
    println!(
        "  per core vs verify_strict {:.2}x",
        r.ratio_vs_verify_strict
    );
    if let (Some(one), Some(speedup)) = (r.one_thread_verifies_per_sec, r.speedup_vs_one_thread) {
        println!(
            "  1 thread              {one:>10.0} verifies/s  -> {speedup:.2}x with {} threads",
            r.threads
        );
    }
    println!(
        "  batch time p50 {} us  p99 {} us  p99.9 {} us",
        r.p50_batch_us, r.p99_batch_us, r.p999_batch_us
    );
    println!(
        "  cycles per verify     {:>10.0}  (one core at ~{:.2} GHz, estimated in this run)",
        r.cycles_per_verify, r.clock_ghz_estimate
    );
    println!(
        "  verdict mismatches {} (and 0 of {} in the half-invalid check before the run)",
        r.verdict_mismatches, r.verdict_check_cases
    );
    if let Some(f) = &r.fpga_sim {
        println!(
            "  simulated card ({} verifications in hardware, rule {})",
            f.verifications, r.rule
        );
        println!(
            "    latency, one alone        {:>8} cycles",
            f.latency_cycles
        );
        println!(
            "    amortized, engine full    {:>8.0} cycles/verify  (multiplier busy {:.0}%)",
            f.amortized_cycles,
            f.multiplier_busy * 100.0
        );
        println!(
            "    projected at {:.0} MHz      {:>8.0} verifies/s per engine",
            f.clock_mhz, f.projected_verifies_per_sec_per_engine
        );
        println!(
            "    simulation                {:.2} s wall for {} cycles ({:.0} cycles/s)",
            f.simulation_wall_s, f.simulated_cycles, f.simulated_cycles_per_sec
        );
        println!(
            "    hardware verdict mismatches vs CPU {}",
            f.hardware_mismatches
        );
    }
}

/// Runs up to `count` of the transactions' signatures through the simulated
/// card and reports its cycle figures.
#[cfg(feature = "fpga-sim")]
fn fpga_cycles(
    rule: Rule,
    parsed: &[Transaction<'_>],
    count: usize,
) -> anyhow::Result<FpgaSimReport> {
    use rampart_fpga::perf::{self, CLOCK_HZ};
    use rampart_sigverify::SignatureInput;
    let inputs: Vec<SignatureInput<'_>> = parsed
        .iter()
        .flat_map(|tx| {
            tx.signatures()
                .iter()
                .zip(tx.signer_keys())
                .map(move |(signature, pubkey)| SignatureInput {
                    pubkey,
                    signature,
                    message: tx.message(),
                })
        })
        .take(count.max(1))
        .collect();
    progress(&format!(
        "simulating {} verifications on the fpga-sim card",
        inputs.len()
    ));
    let m = perf::measure(rule, &inputs).context("fpga-sim cycle measurement")?;
    Ok(FpgaSimReport {
        verifications: m.verifications,
        latency_cycles: m.latency_cycles,
        amortized_cycles: m.amortized_cycles,
        multiplier_busy: m.multiplier_busy,
        clock_mhz: CLOCK_HZ / 1e6,
        projected_verifies_per_sec_per_engine: m.verifies_per_sec(CLOCK_HZ),
        simulated_cycles: m.simulated_cycles,
        simulation_wall_s: m.wall.as_secs_f64(),
        simulated_cycles_per_sec: m.simulated_hz(),
        hardware_mismatches: m.mismatches,
    })
}

/// Without the `fpga-sim` feature there is no simulated card to measure.
#[cfg(not(feature = "fpga-sim"))]
fn fpga_cycles(
    _rule: Rule,
    _parsed: &[Transaction<'_>],
    _count: usize,
) -> anyhow::Result<FpgaSimReport> {
    bail!("backend fpga-sim is not part of this build (feature `fpga-sim`)")
}
