//! `rampart bench pipeline`: the whole appliance on loopback — a TPU client
//! load generator, the appliance (QUIC ingress → dedup → verify → forwarder)
//! and a TPU-style sink — against the raw verify rate of the same worker
//! count, measured in the same run.
//!
//! Two phases: saturation (how many transactions per second get through), then
//! half of the capacity so found (the latency the appliance adds under load).
//! The capacity is the forwarded rate at saturation, or the raw verify rate
//! if that is lower: with Rampart's vector engine verification is no longer
//! the bottleneck on a small machine, and "half of the raw verify rate" would
//! then be an overload, not half load.

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use rampart_sigverify::{
    backend::{Backend, CpuBackend, CpuConfig, EngineChoice},
    pool::{Job, VerifyPool},
    Rule,
};
use serde::Serialize;

use super::loadgen::{
    self,
    tpu::{TpuClient, TpuSink},
    KeyMode, TxSpec,
};
use crate::{
    appliance::{Appliance, Config},
    quic::identity::Identity,
};

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
    /// Share with an invalid signature.
    #[arg(long, default_value_t = 0.0)]
    invalid_fraction: f64,
    /// Share sent a second time (duplicates).
    #[arg(long, default_value_t = 0.0)]
    duplicate_fraction: f64,
    /// Signed message size in bytes.
    #[arg(long, default_value_t = 256)]
    msg_size: usize,
    /// Seconds per phase at most.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// The CPU backend's path (auto, ifma, avx2, off), for the appliance and
    /// the raw rate alike.
    #[arg(long, default_value = "auto")]
    engine: EngineChoice,
    /// Leave the verify workers unpinned (pinned to the last cores is the
    /// production default, kept here too).
    #[arg(long)]
    no_pin: bool,
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
    ratio_forwarded_vs_raw: f64,
    half_load_offered_tps: f64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    /// Of that, stream complete to verdict (p50, p99).
    verify_p50_us: u64,
    verify_p99_us: u64,
    /// Valid unique transactions sent at half load that never arrived.
    lost_valid: u64,
    /// The same under saturation, where shedding is expected.
    saturation_lost_valid: u64,
    shed_ingress: u64,
    shed_verify: u64,
    shed_forward: u64,
    rate_limited: u64,
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
        args,
        window,
    )?;
    eprintln!(
        "[bench pipeline] raw verify: {raw:.0} tx/s with {} worker(s)",
        args.verify_threads
    );

    // Saturation: a little more than verification can take, so the shared
    // cores are not spent receiving traffic that can only be shed.
    let saturated = phase(args, &wire, Some(raw * 1.15), window)?;
    eprintln!(
        "[bench pipeline] saturation: offered {:.0} tx/s, forwarded {:.0} tx/s",
        saturated.offered_tps, saturated.forwarded_tps
    );
    let capacity = saturated.forwarded_tps.min(raw);
    let half = phase(args, &wire, Some(capacity / 2.0), window)?;
    eprintln!(
        "[bench pipeline] half load: offered {:.0} tx/s, latency p50 {} us p99 {} us p99.9 {} us; shed {:?}, rate-limited {}, lost {}",
        half.offered_tps, half.p50, half.p99, half.p999, half.shed, half.rate_limited, half.lost_valid
    );
    let report = Report {
        rule: args.rule.to_string(),
        verify_threads: args.verify_threads,
        connections: args.connections,
        offered_tps: saturated.offered_tps,
        forwarded_tps: saturated.forwarded_tps,
        raw_verify_tps: raw,
        capacity_tps: capacity,
        ratio_forwarded_vs_raw: saturated.forwarded_tps / raw.max(1.0),
        half_load_offered_tps: half.offered_tps,
        p50_us: half.p50,
        p99_us: half.p99,
        p999_us: half.p999,
        verify_p50_us: half.verify_latency.0,
        verify_p99_us: half.verify_latency.1,
        lost_valid: half.lost_valid,
        saturation_lost_valid: saturated.lost_valid,
        shed_ingress: saturated.shed[0],
        shed_verify: saturated.shed[1],
        shed_forward: saturated.shed[2],
        rate_limited: saturated.rate_limited,
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
            "  shed: ingress {} verify {} forward {}; rate-limited {}",
            report.shed_ingress, report.shed_verify, report.shed_forward, report.rate_limited
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
            "  valid unique transactions lost at half load: {} (under saturation, shed: {})",
            report.lost_valid, report.saturation_lost_valid
        );
    }
    Ok(())
}

fn raw_verify_rate(
    txs: &[Vec<u8>],
    args: &BenchPipelineArgs,
    window: Duration,
) -> anyhow::Result<f64> {
    let backends: Vec<Box<dyn Backend>> = (0..args.verify_threads.max(1))
        .map(|_| {
            Box::new(CpuBackend::new(CpuConfig {
                engine: args.engine,
                ..CpuConfig::default()
            })) as Box<dyn Backend>
        })
        .collect();
    let pool = VerifyPool::<Vec<u8>>::start(backends, 2)?;
    let batches: Vec<Vec<Vec<u8>>> = txs.chunks(64).map(|c| c.to_vec()).collect();
    let started = Instant::now();
    let (mut next, mut in_flight, mut done) = (0usize, 0usize, 0u64);
    let mut last = started;
    loop {
        while started.elapsed() < window && in_flight < pool.threads() * 2 {
            pool.submit(Job {
                id: 0,
                rule: args.rule,
                transactions: batches[next % batches.len()].clone(),
            })
            .map_err(|_| anyhow::anyhow!("verify pool stopped"))?;
            next += 1;
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        let finished = pool
            .recv_timeout(Duration::from_secs(30))
            .context("verify workers stalled")?;
        in_flight -= 1;
        if started.elapsed() <= window {
            done += finished.verdicts.len() as u64;
            last = Instant::now();
        }
    }
    let _ = pool.shutdown();
    Ok(done as f64 / last.duration_since(started).as_secs_f64().max(1e-6))
}

struct PhaseResult {
    offered_tps: f64,
    forwarded_tps: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    lost_valid: u64,
    verify_latency: (u64, u64),
    shed: [u64; 3],
    rate_limited: u64,
    duplicate: u64,
    bad_signature: u64,
    malformed: u64,
}

/// One phase: a fresh appliance and sink; sends for `window` (at `rate` tx/s
/// if given, else as fast as the connections take them), then drains.
fn phase(
    args: &BenchPipelineArgs,
    wire: &[(Vec<u8>, bool)],
    rate: Option<f64>,
    window: Duration,
) -> anyhow::Result<PhaseResult> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let sink_identity = Identity::generate()?;
    let sink = runtime.block_on(async { TpuSink::start(&sink_identity) })?;
    let dir = std::env::temp_dir().join(format!("rampart-bench-pipeline-{}", std::process::id()));
    let mut config = Config::default();
    config.ingress.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.ingress.identity = dir.join("identity.json");
    config
        .ingress
        .admission
        .max_new_connections_per_ip_per_minute = 10_000;
    config.ingress.admission.max_connections_per_unstaked_peer = 10_000;
    config.ingress.admission.unstaked_tps_per_ip = 10_000_000;
    config.ingress.admission.unstaked_streams = 1024;
    config.metrics.listen = None;
    config.forward.target = sink.local_addr()?;
    config.pipeline.rule = args.rule;
    config.pipeline.verify_threads = Some(args.verify_threads.max(1));
    config.pipeline.pin_verify_workers = !args.no_pin;
    config.pipeline.engine = args.engine;
    let appliance = Appliance::start(config)?;
    let ingress = appliance.ingress_addr();
    let counters = appliance.counters().clone();

    let client_identity = Identity::generate()?;
    let sent = Arc::new(AtomicU64::new(0));
    let sent_set: Arc<std::sync::Mutex<HashSet<usize>>> = Arc::default();
    let started = Instant::now();
    runtime.block_on(async {
        let client = TpuClient::new(&client_identity)?;
        let mut tasks = Vec::new();
        let per_connection_rate = rate.map(|r| r / args.connections.max(1) as f64);
        for c in 0..args.connections.max(1) {
            let connection = client.connect(ingress).await?;
            let (sent, sent_set) = (sent.clone(), sent_set.clone());
            let wire: Vec<(usize, Vec<u8>)> = wire
                .iter()
                .enumerate()
                .filter(|(i, _)| i % args.connections.max(1) == c)
                .map(|(i, (bytes, _))| (i, bytes.clone()))
                .collect();
            tasks.push(tokio::spawn(async move {
                let begun = Instant::now();
                let permits = Arc::new(tokio::sync::Semaphore::new(256));
                for (n, (index, bytes)) in wire.into_iter().enumerate() {
                    if begun.elapsed() >= window {
                        break;
                    }
                    if let Some(rate) = per_connection_rate {
                        let due = begun + Duration::from_secs_f64(n as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        break;
                    };
                    let (connection, sent, sent_set) =
                        (connection.clone(), sent.clone(), sent_set.clone());
                    tokio::spawn(async move {
                        let _permit = permit;
                        if TpuClient::send(&connection, &bytes).await.is_ok() {
                            sent.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut set) = sent_set.lock() {
                                set.insert(index);
                            }
                        }
                    });
                }
                let _ = permits.acquire_many(256).await;
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        client.close().await;
        anyhow::Ok(())
    })?;
    let sending = started.elapsed();
    let offered = sent.load(Ordering::Relaxed);
    // Drain: wait until every transaction that entered is accounted for.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && counters.terminal_total() < counters.entered.get() {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let forwarded_at_end = sink.received();
    let (p50, p99, p999) = (
        counters.latency_quantile_us("0.5").unwrap_or(0),
        counters.latency_quantile_us("0.99").unwrap_or(0),
        counters.latency_quantile_us("0.999").unwrap_or(0),
    );
    let verify_latency = (
        counters.verify_latency_quantile_us("0.5").unwrap_or(0),
        counters.verify_latency_quantile_us("0.99").unwrap_or(0),
    );
    appliance.shutdown();
    runtime.block_on(sink.stop());
    let _ = std::fs::remove_dir_all(&dir);

    let last_arrival = forwarded_at_end
        .iter()
        .map(|r| r.at)
        .max()
        .unwrap_or(started);
    let received: HashSet<Vec<u8>> = forwarded_at_end.into_iter().map(|r| r.bytes).collect();
    let sent_set = sent_set.lock().map(|s| s.clone()).unwrap_or_default();
    let expected: HashSet<&Vec<u8>> = sent_set
        .iter()
        .filter(|&&i| wire[i].1)
        .map(|&i| &wire[i].0)
        .collect();
    let lost_valid = expected
        .iter()
        .filter(|bytes| !received.contains(**bytes))
        .count() as u64;
    Ok(PhaseResult {
        offered_tps: offered as f64 / sending.as_secs_f64(),
        forwarded_tps: received.len() as f64
            / last_arrival.duration_since(started).as_secs_f64().max(1e-6),
        p50,
        p99,
        p999,
        lost_valid,
        verify_latency,
        shed: [
            counters.shed_ingress.get(),
            counters.shed_verify.get(),
            counters.shed_forward.get(),
        ],
        rate_limited: counters.rate_limited.get(),
        duplicate: counters.duplicate.get(),
        bad_signature: counters.bad_signature.get(),
        malformed: counters.malformed_total(),
    })
}
