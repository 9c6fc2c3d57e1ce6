//! One phase of `rampart bench pipeline`: a fresh appliance and sink, a
//! client sending for a while, and what arrived at the sink.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::BenchPipelineArgs;
use crate::{
    appliance::{Appliance, Config},
    lab::loadgen::tpu::{TpuClient, TpuSink},
    quic::identity::Identity,
};

pub(super) struct PhaseResult {
    pub(super) offered_tps: f64,
    pub(super) forwarded_tps: f64,
    pub(super) p50: u64,
    pub(super) p99: u64,
    pub(super) p999: u64,
    pub(super) appliance_latency: (u64, u64),
    pub(super) forwarded_invalid: u64,
    pub(super) forwarded_duplicate: u64,
    pub(super) lost_valid: u64,
    pub(super) verify_latency: (u64, u64),
    pub(super) shed: [u64; 3],
    pub(super) budget_waits: u64,
    pub(super) duplicate: u64,
    pub(super) bad_signature: u64,
    pub(super) malformed: u64,
}

/// Where a phase's client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// Through a fresh appliance, which forwards to the sink.
    Appliance,
    /// Straight to the sink: what the client, the sink and loopback cost on
    /// their own, the floor under the appliance's figures.
    Direct,
}

/// One phase: a fresh sink (and appliance, on [`Route::Appliance`]); sends
/// for `window` (at `rate` tx/s, evenly spaced, if given, else as fast as the connections
/// take them), then drains.
pub(super) fn phase(
    args: &BenchPipelineArgs,
    wire: &[(Vec<u8>, bool)],
    rate: Option<f64>,
    window: Duration,
    route: Route,
) -> anyhow::Result<PhaseResult> {
    // The client and the sink stand in for two other machines: each gets a
    // thread of its own, so the sink's arrival stamps never wait behind the
    // client's sends.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let sink_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-sink")
        .enable_all()
        .build()?;
    let sink_identity = Identity::generate()?;
    let sink = sink_runtime.block_on(async { TpuSink::start(&sink_identity) })?;
    let dir = std::env::temp_dir().join(format!("rampart-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let appliance = match route {
        Route::Appliance => Some(Appliance::start(appliance_config(
            args,
            &dir,
            sink.local_addr()?,
        ))?),
        Route::Direct => None,
    };
    let target = match &appliance {
        Some(appliance) => appliance.ingress_addr(),
        None => sink.local_addr()?,
    };
    // Without an appliance nothing is counted: every counter stays 0.
    let counters = appliance
        .as_ref()
        .map_or_else(Arc::default, |appliance| appliance.counters().clone());

    let client_identity = Identity::generate()?;
    let sent = Arc::new(AtomicU64::new(0));
    // Wire index → when its stream was started (first copy), for every
    // transaction the ingress acknowledged.
    let sent_at: Arc<std::sync::Mutex<HashMap<usize, Instant>>> = Arc::default();
    let started = Instant::now();
    let (client, connections) = runtime.block_on(async {
        let client = TpuClient::new(&client_identity)?;
        let mut connections = Vec::new();
        for _ in 0..args.connections.max(1) {
            connections.push(client.connect(target).await?);
        }
        anyhow::Ok((client, connections))
    })?;
    // Dropping every handle of a connection closes it: the handles are kept
    // until the drain is over.
    let stamps = Stamps {
        sent: sent.clone(),
        sent_at: sent_at.clone(),
    };
    match rate {
        Some(rate) => send_paced(&runtime, &connections, wire, rate, window, &stamps),
        None => runtime.block_on(send_flat_out(&connections, wire, window, &stamps)),
    }
    let sending = started.elapsed();
    let offered = sent.load(Ordering::Relaxed);
    // Drain with the connections open, as a real client keeps them (Agave's
    // does): an acknowledged stream the appliance is still holding back for
    // stream credit is read once the backlog clears, and would be lost if
    // the client closed now. Then wait until every transaction that entered
    // is accounted for.
    let deadline = Instant::now() + Duration::from_secs(20);
    let settled = || match route {
        Route::Appliance => {
            counters.entered.get() >= offered && counters.terminal_total() >= counters.entered.get()
        }
        Route::Direct => sink.count() as u64 >= offered,
    };
    while Instant::now() < deadline && !settled() {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(connections);
    runtime.block_on(client.close());
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
    if let Some(appliance) = appliance {
        appliance.shutdown();
    }
    sink_runtime.block_on(sink.stop());
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
        budget_waits: counters.budget_waits.get(),
        duplicate: counters.duplicate.get(),
        bad_signature: counters.bad_signature.get(),
        malformed: counters.malformed_total(),
    })
}

/// The appliance under test: loopback, forwarding to `sink`, with the
/// per-source limits opened for a load generator that comes from one address.
fn appliance_config(args: &BenchPipelineArgs, dir: &std::path::Path, sink: SocketAddr) -> Config {
    let mut config = Config::default();
    config.ingress.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.ingress.identity = dir.join("identity.json");
    config
        .ingress
        .admission
        .max_new_connections_per_ip_per_minute = 10_000;
    config.ingress.admission.max_connections_per_unstaked_peer = 10_000;
    config.ingress.admission.unstaked_tps_per_ip = 10_000_000;
    config.ingress.admission.unstaked_tps_total = 10_000_000;
    // Every load-generator connection comes from one loopback address.
    config.ingress.handshakes.per_source_per_minute = 10_000;
    config.ingress.admission.unstaked_streams = 1024;
    config.metrics.listen = None;
    config.forward.target = sink;
    config.pipeline.rule = args.rule;
    config.pipeline.verify_threads = Some(args.verify_threads.max(1));
    config.pipeline.pin_verify_workers = !args.no_pin;
    config.pipeline.verify_in_batch_thread = !args.worker_thread;
    config.pipeline.engine = args.engine;
    config
}

/// Where the client records what it sent: the count, and when each wire
/// index's stream was started.
#[derive(Clone)]
struct Stamps {
    sent: Arc<AtomicU64>,
    sent_at: Arc<std::sync::Mutex<HashMap<usize, Instant>>>,
}

impl Stamps {
    /// Sends `bytes` (wire index `index`) on `connection` and records it.
    async fn send(&self, connection: &quinn::Connection, index: usize, bytes: &[u8]) {
        let at = Instant::now();
        if TpuClient::send(connection, bytes).await.is_ok() {
            self.sent.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut sent_at) = self.sent_at.lock() {
                sent_at.insert(index, at);
            }
        }
    }
}

/// Streams in flight per connection at most.
const IN_FLIGHT_PER_CONNECTION: usize = 256;

/// Starts transaction n at `n / rate` seconds, round robin over the
/// connections, from this (plain) thread: its sleeps are precise to tens of
/// microseconds, where the client runtime's timer fires on whole
/// milliseconds and so sent the load as one burst per millisecond (~30
/// transactions at a time at half load on 2 vCPUs).
fn send_paced(
    runtime: &tokio::runtime::Runtime,
    connections: &[quinn::Connection],
    wire: &[(Vec<u8>, bool)],
    rate: f64,
    window: Duration,
    stamps: &Stamps,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(
        IN_FLIGHT_PER_CONNECTION * connections.len(),
    ));
    let begun = Instant::now();
    for (n, (bytes, _)) in wire.iter().enumerate() {
        let due = begun + Duration::from_secs_f64(n as f64 / rate);
        if let Some(ahead) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(ahead);
        }
        if begun.elapsed() >= window {
            break;
        }
        let Ok(permit) = runtime.block_on(permits.clone().acquire_owned()) else {
            break;
        };
        let (connection, bytes, stamps) = (
            connections[n % connections.len()].clone(),
            bytes.clone(),
            stamps.clone(),
        );
        runtime.spawn(async move {
            let _permit = permit;
            stamps.send(&connection, n, &bytes).await;
        });
    }
    let all = (IN_FLIGHT_PER_CONNECTION * connections.len()) as u32;
    let _ = runtime.block_on(permits.acquire_many(all));
}

/// Sends as fast as the connections take it: each connection its share of
/// the wire (index n on connection n mod count), in order.
async fn send_flat_out(
    connections: &[quinn::Connection],
    wire: &[(Vec<u8>, bool)],
    window: Duration,
    stamps: &Stamps,
) {
    let mut tasks = Vec::new();
    for (c, connection) in connections.iter().enumerate() {
        let mine: Vec<(usize, Vec<u8>)> = wire
            .iter()
            .enumerate()
            .filter(|(i, _)| i % connections.len() == c)
            .map(|(i, (bytes, _))| (i, bytes.clone()))
            .collect();
        let (connection, stamps) = (connection.clone(), stamps.clone());
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_PER_CONNECTION));
            for (index, bytes) in mine {
                if begun.elapsed() >= window {
                    break;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (connection, stamps) = (connection.clone(), stamps.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    stamps.send(&connection, index, &bytes).await;
                });
            }
            let _ = permits.acquire_many(IN_FLIGHT_PER_CONNECTION as u32).await;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}
