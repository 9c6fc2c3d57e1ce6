//! `rampart bench pipeline`: the whole appliance on loopback — a TPU client
//! load generator, the appliance (QUIC ingress → dedup → verify → forwarder)
//! and a TPU-style sink — against the raw verify rate of the same worker
//! count, measured in the same run.
//!
//! Three phases: saturation (how many transactions per second get through),
//! half of the capacity so found (the latency the appliance adds under load),
//! and the same rate with the client sending straight to the sink (the
//! latency of the bench's own client, sink and loopback, measured alike).
//! The capacity is the forwarded rate at saturation, or the raw verify rate
//! if that is lower: with Rampart's vector engine verification is no longer
//! the bottleneck on a small machine, and "half of the raw verify rate" would
//! then be an overload, not half load.
//!
//! - `phase.rs`: one phase through a fresh appliance, judged at the sink.

mod phase;

use std::time::Duration;

use clap::Args;
use rampart_sigverify::{backend::EngineChoice, Rule};
use serde::Serialize;

use self::phase::{phase, Route};
use super::loadgen::{self, KeyMode, TxSpec};
use super::raw_rate::{raw_verify_rate, RawWorkers};

/// Arguments of `rampart bench pipeline`.
#[derive(Debug, Args)]
pub struct BenchPipelineArgs {
    /// Signature rule.
    #[arg(long, default_value = "strict")]
    rule: Rule,
    /// Verify worker threads in the appliance (and for the raw rate).
    #[arg(long, default_value_t = 1)]
    verify_threads: usize,
    /// Client connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Distinct transactions to generate.
    #[arg(long, default_value_t = 40_000)]
    transactions: usize,
    /// Share with an invalid signature (none of them may reach the sink).
    #[arg(long, default_value_t = 0.05)]
    invalid_fraction: f64,
    /// Share sent a second time (duplicates; none may reach the sink twice).
    #[arg(long, default_value_t = 0.05)]
    duplicate_fraction: f64,
    /// Signed message size in bytes.
    #[arg(long, default_value_t = 256)]
    msg_size: usize,
    /// Seconds per phase at most.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// The CPU backend's path (auto, ifma512, ifma, avx2, off), for the appliance and
    /// the raw rate alike.
    #[arg(long, default_value = "auto")]
    engine: EngineChoice,
    /// Leave the verify workers unpinned (pinned to the last cores is the
    /// production default, kept here too).
    #[arg(long)]
    no_pin: bool,
    /// With one worker, give it a thread of its own (the appliance's default
    /// verifies in the batch stage's thread: `pipeline.verify_in_batch_thread`).
    #[arg(long)]
    worker_thread: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    rule: String,
    verify_threads: usize,
    connections: usize,
    offered_tps: f64,
    forwarded_tps: f64,
    raw_verify_tps: f64,
    /// The lower of the forwarded rate at saturation and the raw verify rate.
    capacity_tps: f64,
    /// Forwarded over what the raw rate allows of this mix: the raw verify
    /// rate times the share of distinct transactions that are valid.
    ratio_forwarded_vs_raw: f64,
    half_load_offered_tps: f64,
    /// Latency at half load, measured outside the appliance: from the
    /// client starting a stream to the sink receiving it (both QUIC hops on
    /// loopback included), valid unique transactions only.
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    /// The appliance's own view (stream complete at ingress → handed to the
    /// validator), for comparison.
    appliance_p50_us: u64,
    appliance_p99_us: u64,
    /// Of that, stream complete to verdict (p50, p99).
    verify_p50_us: u64,
    verify_p99_us: u64,
    /// The same client and sink at the half-load rate with no appliance
    /// between them (p50, p99): the floor under `p50_us` and `p99_us`, what
    /// loopback QUIC and the bench's own threads take on these cores.
    direct_p50_us: u64,
    direct_p99_us: u64,
    /// Transactions with an invalid signature that reached the sink (must be 0).
    forwarded_invalid: u64,
    /// Transactions that reached the sink more than once (must be 0).
    forwarded_duplicate: u64,
    /// Valid unique transactions sent at half load that never arrived.
    lost_valid: u64,
    /// The same under saturation, where shedding is expected.
    saturation_lost_valid: u64,
    shed_ingress: u64,
    shed_verify: u64,
    shed_forward: u64,
    /// Streams that waited for their peer's budget (slowed, not dropped).
    budget_waits: u64,
    duplicate: u64,
    bad_signature: u64,
    malformed: u64,
}

/// Runs `rampart bench pipeline`.
///
/// # Errors
/// Set-up failures.
pub fn run(args: &BenchPipelineArgs) -> anyhow::Result<()> {
    let window = Duration::from_secs_f64(args.seconds.max(0.5));
    eprintln!(
        "[bench pipeline] generating {} transactions",
        args.transactions
    );
    let txs = loadgen::generate(&TxSpec {
        count: args.transactions,
        message_size: args.msg_size,
        invalid_fraction: args.invalid_fraction,
        keys: KeyMode::Distinct,
        seed: 7,
    })?;
    let mut wire: Vec<(Vec<u8>, bool)> =
        txs.iter().map(|tx| (tx.bytes.clone(), tx.valid)).collect();
    let duplicates = (args.transactions as f64 * args.duplicate_fraction) as usize;
    for i in 0..duplicates {
        let (bytes, valid) = wire[i * wire.len() / duplicates.max(1) % txs.len()].clone();
        wire.push((bytes, valid));
    }

    let raw = raw_verify_rate(
        &txs.iter().map(|t| t.bytes.clone()).collect::<Vec<_>>(),
        &RawWorkers {
            engine: args.engine,
            rule: args.rule,
            threads: args.verify_threads,
            pin: !args.no_pin,
        },
        window,
    )?;
    let valid_share = txs.iter().filter(|tx| tx.valid).count() as f64 / txs.len().max(1) as f64;
    eprintln!(
        "[bench pipeline] raw verify: {raw:.0} tx/s with {} worker(s)",
        args.verify_threads
    );

    // Saturation: a little more than verification can take, so the shared
    // cores are not spent receiving traffic that can only be shed.
    let saturated = phase(args, &wire, Some(raw * 1.15), window, Route::Appliance)?;
    eprintln!(
        "[bench pipeline] saturation: offered {:.0} tx/s, forwarded {:.0} tx/s",
        saturated.offered_tps, saturated.forwarded_tps
    );
    let capacity = saturated.forwarded_tps.min(raw * valid_share);
    let half = phase(args, &wire, Some(capacity / 2.0), window, Route::Appliance)?;
    eprintln!(
        "[bench pipeline] half load: offered {:.0} tx/s, latency p50 {} us p99 {} us p99.9 {} us; shed {:?}, budget waits {}, lost {}",
        half.offered_tps, half.p50, half.p99, half.p999, half.shed, half.budget_waits, half.lost_valid
    );
    // The same client and sink at the same rate with no appliance between
    // them: the part of the latency above that is the bench's own.
    let direct = phase(args, &wire, Some(capacity / 2.0), window, Route::Direct)?;
    eprintln!(
        "[bench pipeline] direct, no appliance: offered {:.0} tx/s, latency p50 {} us p99 {} us",
        direct.offered_tps, direct.p50, direct.p99
    );
    let report = Report {
        rule: args.rule.to_string(),
        verify_threads: args.verify_threads,
        connections: args.connections,
        offered_tps: saturated.offered_tps,
        forwarded_tps: saturated.forwarded_tps,
        raw_verify_tps: raw,
        capacity_tps: capacity,
        ratio_forwarded_vs_raw: saturated.forwarded_tps / (raw * valid_share).max(1.0),
        half_load_offered_tps: half.offered_tps,
        p50_us: half.p50,
        p99_us: half.p99,
        p999_us: half.p999,
        appliance_p50_us: half.appliance_latency.0,
        appliance_p99_us: half.appliance_latency.1,
        forwarded_invalid: saturated.forwarded_invalid + half.forwarded_invalid,
        forwarded_duplicate: saturated.forwarded_duplicate + half.forwarded_duplicate,
        verify_p50_us: half.verify_latency.0,
        verify_p99_us: half.verify_latency.1,
        direct_p50_us: direct.p50,
        direct_p99_us: direct.p99,
        lost_valid: half.lost_valid,
        saturation_lost_valid: saturated.lost_valid,
        shed_ingress: saturated.shed[0],
        shed_verify: saturated.shed[1],
        shed_forward: saturated.shed[2],
        budget_waits: saturated.budget_waits,
        duplicate: saturated.duplicate,
        bad_signature: saturated.bad_signature,
        malformed: saturated.malformed,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "rampart bench pipeline (rule {}, {} verify worker(s), {} connections)",
            report.rule, report.verify_threads, report.connections
        );
        println!("  raw verify          {:>10.0} tx/s", report.raw_verify_tps);
        println!("  offered             {:>10.0} tx/s", report.offered_tps);
        println!(
            "  forwarded           {:>10.0} tx/s  ({:.2}x raw)",
            report.forwarded_tps, report.ratio_forwarded_vs_raw
        );
        println!(
            "  shed: ingress {} verify {} forward {}; budget waits {}",
            report.shed_ingress, report.shed_verify, report.shed_forward, report.budget_waits
        );
        println!(
            "  capacity            {:>10.0} tx/s  ({})",
            report.capacity_tps,
            if report.capacity_tps < report.raw_verify_tps {
                "forwarded at saturation: ingress, client and sink share the cores"
            } else {
                "raw verify rate"
            }
        );
        println!(
            "  at half load ({:.0} tx/s): added latency p50 {} us, p99 {} us, p99.9 {} us",
            report.half_load_offered_tps, report.p50_us, report.p99_us, report.p999_us
        );
        println!(
            "  (the appliance's own histogram: p50 {} us, p99 {} us;",
            report.appliance_p50_us, report.appliance_p99_us
        );
        println!(
            "   client straight to sink at the same rate: p50 {} us, p99 {} us)",
            report.direct_p50_us, report.direct_p99_us
        );
        println!(
            "  valid unique transactions lost at half load: {} (under saturation, shed: {})",
            report.lost_valid, report.saturation_lost_valid
        );
        println!(
            "  at the sink: {} invalid, {} duplicate (both must be 0)",
            report.forwarded_invalid, report.forwarded_duplicate
        );
    }
    if report.forwarded_invalid + report.forwarded_duplicate > 0 {
        anyhow::bail!(
            "the sink received {} invalid and {} duplicate transactions",
            report.forwarded_invalid,
            report.forwarded_duplicate
        );
    }
    Ok(())
}
