//! What `rampart bench sigverify` reports, the core-clock estimate its cycle
//! figures use, and the fpga-sim cycle figures.

#[cfg(not(feature = "fpga-sim"))]
use anyhow::bail;
#[cfg(feature = "fpga-sim")]
use anyhow::Context;
use std::time::Instant;

use rampart_sigverify::{txn::Transaction, Rule};
use serde::Serialize;

#[cfg(feature = "fpga-sim")]
use super::progress;

/// The machine-readable result.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) rule: String,
    pub(super) backend: String,
    /// What the CPU backend ran on: ifma, avx2 or scalar.
    pub(super) engine: String,
    pub(super) threads: usize,
    pub(super) batch: usize,
    pub(super) msg_size: usize,
    pub(super) invalid_fraction: f64,
    pub(super) keys: String,
    pub(super) verifies_per_sec: f64,
    pub(super) verifies_per_sec_per_core: f64,
    pub(super) baseline_verify_per_sec: f64,
    pub(super) baseline_verify_strict_per_sec: f64,
    pub(super) ratio_vs_verify: f64,
    pub(super) ratio_vs_verify_strict: f64,
    pub(super) one_thread_verifies_per_sec: Option<f64>,
    pub(super) speedup_vs_one_thread: Option<f64>,
    pub(super) p50_batch_us: u64,
    pub(super) p99_batch_us: u64,
    pub(super) p999_batch_us: u64,
    pub(super) verdict_mismatches: u64,
    /// Half-invalid transactions every pool had to judge right before the run.
    pub(super) verdict_check_cases: usize,
    /// Core clock estimated in this run from a dependent multiply chain.
    pub(super) clock_ghz_estimate: f64,
    /// Cycles per verification on one core at that clock.
    pub(super) cycles_per_verify: f64,
    /// Cycle figures of the simulated card (`--backend fpga-sim` only).
    pub(super) fpga_sim: Option<FpgaSimReport>,
}

/// Simulated cycles per verification and what they project to.
#[derive(Debug, Serialize)]
pub(super) struct FpgaSimReport {
    pub(super) verifications: u64,
    pub(super) latency_cycles: u64,
    pub(super) amortized_cycles: f64,
    pub(super) multiplier_busy: f64,
    pub(super) clock_mhz: f64,
    pub(super) projected_verifies_per_sec_per_engine: f64,
    pub(super) simulated_cycles: u64,
    pub(super) simulation_wall_s: f64,
    pub(super) simulated_cycles_per_sec: f64,
    pub(super) hardware_mismatches: u64,
}

/// The core clock, estimated from a chain of dependent `x = x·k ⊕ (x >> 31)`
/// steps: 3 cycles for the 64-bit multiply plus 1 for the xor on every x86-64
/// core of the last decade, whatever the turbo state. Runs for ~50 ms.
pub(super) fn estimate_clock_hz() -> f64 {
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

pub(super) fn print_table(r: &Report) {
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
pub(super) fn fpga_cycles(
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
pub(super) fn fpga_cycles(
    _rule: Rule,
    _parsed: &[Transaction<'_>],
    _count: usize,
) -> anyhow::Result<FpgaSimReport> {
    bail!("backend fpga-sim is not part of this build (feature `fpga-sim`)")
}
