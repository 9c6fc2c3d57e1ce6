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
    collections::HashMap,
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
    backend::EngineChoice,
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
    appliance::{backend::make_backend, verify_cores, Appliance, Config, PipelineConfig},
    packet::{Packet, ParsedTx},
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
    let valid_share = txs.iter().filter(|tx| tx.valid).count() as f64 / txs.len().max(1) as f64;
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
    let capacity = saturated.forwarded_tps.min(raw * valid_share);
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
            "  (the appliance's own histogram: p50 {} us, p99 {} us)",
            report.appliance_p50_us, report.appliance_p99_us
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

/// Transactions per second the verify workers alone judge, with the
/// appliance's own backends, pinning, pre-parsed jobs and no copies: each
/// job's transactions come back with its verdicts and go out again.
fn raw_verify_rate(
    txs: &[Vec<u8>],
    args: &BenchPipelineArgs,
    window: Duration,
) -> anyhow::Result<f64> {
    let threads = args.verify_threads.max(1);
    let spec = PipelineConfig {
        engine: args.engine,
        rule: args.rule,
        ..PipelineConfig::default()
    }
    .backend();
    let backends = (0..threads)
        .map(|_| make_backend(&spec))
        .collect::<Result<Vec<_>, _>>()?;
    let cores = if args.no_pin {
        Vec::new()
    } else {
        verify_cores(threads)
    };
    let pool = VerifyPool::<ParsedTx>::start_pinned(backends, 2, &cores)?;
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut idle: Vec<Option<Vec<ParsedTx>>> = txs
        .chunks(64)
        .map(|chunk| {
            let parsed = chunk
                .iter()
                .filter_map(|bytes| {
                    let packet = Packet {
                        bytes: bytes.clone(),
                        received: Instant::now(),
                        peer,
                    };
                    ParsedTx::parse(packet, |_| 0).ok()
                })
                .collect();
            Some(parsed)
        })
        .collect();
    // A warm-up slice, not counted, as every contender of `bench sigverify` gets.
    for measured in [false, true] {
        let slice = if measured {
            window
        } else {
            Duration::from_millis(300)
        };
        let started = Instant::now();
        let (mut next, mut in_flight, mut done) = (0usize, 0usize, 0u64);
        let mut last = started;
        loop {
            while started.elapsed() < slice && in_flight < pool.threads() * 2 {
                let index = next % idle.len();
                let Some(transactions) = idle[index].take() else {
                    break;
                };
                pool.submit(Job {
                    id: index as u64,
                    rule: args.rule,
                    transactions,
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
            if started.elapsed() <= slice {
                done += finished.verdicts.len() as u64;
                last = Instant::now();
            }
            idle[finished.id as usize] = Some(finished.transactions);
        }
        if measured {
            let _ = pool.shutdown();
            return Ok(done as f64 / last.duration_since(started).as_secs_f64().max(1e-6));
        }
    }
    Ok(0.0)
}

struct PhaseResult {
    offered_tps: f64,
    forwarded_tps: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    appliance_latency: (u64, u64),
    forwarded_invalid: u64,
    forwarded_duplicate: u64,
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
    // Wire index → when its stream was started (first copy), for every
    // transaction the ingress acknowledged.
    let sent_at: Arc<std::sync::Mutex<HashMap<usize, Instant>>> = Arc::default();
    let started = Instant::now();
    runtime.block_on(async {
        let client = TpuClient::new(&client_identity)?;
        let mut tasks = Vec::new();
        let per_connection_rate = rate.map(|r| r / args.connections.max(1) as f64);
        for c in 0..args.connections.max(1) {
            let connection = client.connect(ingress).await?;
            let (sent, sent_at) = (sent.clone(), sent_at.clone());
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
                    let (connection, sent, sent_at) =
                        (connection.clone(), sent.clone(), sent_at.clone());
                    tokio::spawn(async move {
                        let _permit = permit;
                        let at = Instant::now();
                        if TpuClient::send(&connection, &bytes).await.is_ok() {
                            sent.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut sent_at) = sent_at.lock() {
                                sent_at.insert(index, at);
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
    let appliance_latency = (
        counters.latency_quantile_us("0.5").unwrap_or(0),
        counters.latency_quantile_us("0.99").unwrap_or(0),
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
    let sent_at = sent_at.lock().map(|s| s.clone()).unwrap_or_default();
    // Bytes → (valid, earliest stream start among its copies).
    let mut sent_bytes: HashMap<&[u8], (bool, Instant)> = HashMap::new();
    for (&index, &at) in &sent_at {
        let (bytes, valid) = &wire[index];
        let entry = sent_bytes.entry(bytes.as_slice()).or_insert((*valid, at));
        entry.1 = entry.1.min(at);
    }
    let mut arrivals: HashMap<&[u8], usize> = HashMap::new();
    let mut latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut forwarded_invalid, mut forwarded_duplicate) = (0u64, 0u64);
    for received in &forwarded_at_end {
        let copies = arrivals.entry(received.bytes.as_slice()).or_insert(0);
        *copies += 1;
        if *copies > 1 {
            forwarded_duplicate += 1;
            continue;
        }
        match sent_bytes.get(received.bytes.as_slice()) {
            Some((true, at)) => {
                let micros = received.at.saturating_duration_since(*at).as_micros() as u64;
                let _ = latency.record(micros.clamp(1, 60_000_000));
            }
            // Invalid, or never sent at all: either way not the appliance's to forward.
            _ => forwarded_invalid += 1,
        }
    }
    let lost_valid = sent_bytes
        .iter()
        .filter(|(bytes, (valid, _))| *valid && !arrivals.contains_key(*bytes))
        .count() as u64;
    Ok(PhaseResult {
        offered_tps: offered as f64 / sending.as_secs_f64(),
        forwarded_tps: arrivals.len() as f64
            / last_arrival.duration_since(started).as_secs_f64().max(1e-6),
        p50: latency.value_at_quantile(0.5),
        p99: latency.value_at_quantile(0.99),
        p999: latency.value_at_quantile(0.999),
        appliance_latency,
        forwarded_invalid,
        forwarded_duplicate,
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
