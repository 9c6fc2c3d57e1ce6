//! Attacks on connections and streams rather than on transactions: `churn`
//! (connections opened and closed as fast as the client can), `slowloris`
//! (every allowed stream held open, a byte a second) and `oversize`
//! (oversize and empty streams, each of which costs the attacker its
//! connection).

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use quinn::VarInt;
use tokio::task::JoinSet;

use super::{
    client::{fire, pool_identity, pool_ip, Client},
    Outcome,
};

/// Clients connecting at once in `churn` and `oversize`.
const WORKERS: usize = 16;
/// Connections made from one source before moving to the next (the
/// appliance allows 8 new connections per source per minute).
const PER_SOURCE: usize = 8;
/// `slowloris` sources, and connections from each.
const SLOW_SOURCES: usize = 16;
const SLOW_PER_SOURCE: usize = 4;
/// Largest transaction the appliance takes; an oversize stream is longer.
const OVERSIZE_BYTES: usize = 4096 + 904;

/// Counts shared by the workers of one attack.
#[derive(Default)]
struct Tally {
    offered: AtomicU64,
    connected: AtomicU64,
    failed: AtomicU64,
}

/// Runs `WORKERS` workers, each taking sources `w, w + WORKERS, …` of pool
/// `family` and making up to `PER_SOURCE` connections from each until
/// `stop`, handing each connection to `use_it`.
async fn per_source_workers<F, Fut>(
    family: u8,
    server: SocketAddr,
    stop: Instant,
    tally: Arc<Tally>,
    use_it: F,
) where
    F: Fn(quinn::Connection, Arc<Tally>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut workers = JoinSet::new();
    for worker in 0..WORKERS {
        let (tally, use_it) = (tally.clone(), use_it.clone());
        workers.spawn(async move {
            let mut source = worker;
            while Instant::now() < stop {
                let Ok(client) =
                    Client::new(pool_ip(family, source), &pool_identity(family, source))
                else {
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    source += WORKERS;
                    continue;
                };
                for _ in 0..PER_SOURCE {
                    if Instant::now() >= stop {
                        break;
                    }
                    match client.connect(server).await {
                        Ok(connection) => {
                            tally.connected.fetch_add(1, Ordering::Relaxed);
                            use_it(connection, tally.clone()).await;
                        }
                        Err(_) => {
                            tally.failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                client.close();
                source += WORKERS;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// `churn`: connect, close at once, again, from ever new sources.
pub(super) async fn churn(server: SocketAddr, stop: Instant) -> Outcome {
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    per_source_workers(
        18,
        server,
        stop,
        tally.clone(),
        |connection, _| async move {
            connection.close(VarInt::from_u32(0), b"churn");
        },
    )
    .await;
    let connected = tally.connected.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    Outcome::new("connections", connected + failed, started)
        .connections(connected)
        .note("connect_failures", failed as f64)
}

/// `oversize`: on each connection, oversize and empty streams at once; the
/// appliance closes the connection at the first.
pub(super) async fn oversize(server: SocketAddr, stop: Instant) -> Outcome {
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    per_source_workers(
        20,
        server,
        stop,
        tally.clone(),
        |connection, tally| async move {
            let mut streams = JoinSet::new();
            for i in 0..8 {
                let Ok(Ok(stream)) =
                    tokio::time::timeout(Duration::from_millis(500), connection.open_uni()).await
                else {
                    break;
                };
                tally.offered.fetch_add(1, Ordering::Relaxed);
                let bytes = if i % 2 == 0 {
                    vec![0x01; OVERSIZE_BYTES]
                } else {
                    Vec::new()
                };
                streams.spawn(async move { fire(stream, &bytes).await });
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), connection.closed()).await;
            streams.abort_all();
            connection.close(VarInt::from_u32(0), b"done");
        },
    )
    .await;
    let connected = tally.connected.load(Ordering::Relaxed);
    Outcome::new("streams", tally.offered.load(Ordering::Relaxed), started)
        .connections(connected)
        .note(
            "connect_failures",
            tally.failed.load(Ordering::Relaxed) as f64,
        )
}

/// One slowloris stream: a byte a second until the appliance stops it or
/// `stop`, then reset (never finished).
async fn drip(mut stream: quinn::SendStream, stop: Instant) {
    while Instant::now() < stop {
        if stream.write_all(&[0x01]).await.is_err() {
            return;
        }
        let left = stop.saturating_duration_since(Instant::now());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
    }
    let _ = stream.reset(VarInt::from_u32(0));
}

/// `slowloris`: `SLOW_SOURCES × SLOW_PER_SOURCE` connections, each holding
/// every stream its credit allows open, a byte a second.
pub(super) async fn slowloris(server: SocketAddr, stop: Instant) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let offered = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    let mut holders = JoinSet::new();
    let mut connected = 0u64;
    for source in 0..SLOW_SOURCES {
        let client = Client::new(pool_ip(19, source), &pool_identity(19, source))?;
        for _ in 0..SLOW_PER_SOURCE {
            let Ok(connection) = client.connect(server).await else {
                continue;
            };
            connected += 1;
            let offered = offered.clone();
            holders.spawn(async move {
                let mut streams = JoinSet::new();
                while Instant::now() < stop {
                    let left = stop.saturating_duration_since(Instant::now());
                    let Ok(Ok(stream)) = tokio::time::timeout(left, connection.open_uni()).await
                    else {
                        break;
                    };
                    offered.fetch_add(1, Ordering::Relaxed);
                    streams.spawn(drip(stream, stop));
                    while streams.try_join_next().is_some() {}
                }
                while streams.join_next().await.is_some() {}
            });
        }
        clients.push(client);
    }
    while holders.join_next().await.is_some() {}
    for client in &clients {
        client.close();
    }
    Ok(Outcome::new("streams", offered.load(Ordering::Relaxed), started).connections(connected))
}
