//! Transaction floods: invalid signatures from a staked peer or from many
//! unstaked sources, copies of valid transactions, and the forger's valid
//! transactions under a certificate that names a staked node.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use tokio::task::JoinSet;

use super::{
    client::{fire, pool_identity, pool_ip, Client, FORGER_IP, STAKED_ATTACKER_IP},
    forged::{forged_tls, FORGER_SEED},
    honest::send_all,
    Outcome,
};
use crate::quic::identity::Identity;

/// Connections of the staked attacker (a staked peer may hold 16).
const STAKED_CONNECTIONS: usize = 4;
/// Source addresses of the unstaked flood, and connections from each.
const UNSTAKED_SOURCES: usize = 250;
const CONNECTIONS_PER_SOURCE: usize = 4;
/// Handshakes the unstaked flood has in flight at once while connecting.
const CONNECTING_AT_ONCE: usize = 32;

/// Transaction number `n` of an invalid flood: a copy of a valid one whose
/// signature's S has its low 8 bytes replaced by `n` (S stays below L, so
/// each costs a full verification that fails), unique per `n`.
pub(super) fn invalid_unique(base: &[Vec<u8>], n: u64) -> Vec<u8> {
    let mut bytes = base[(n as usize) % base.len().max(1)].clone();
    if let Some(low) = bytes.get_mut(33..41) {
        low.copy_from_slice(&(n ^ 0x5a5a_5a5a_5a5a_5a5a).to_le_bytes());
    }
    bytes
}

/// Sends `make(n)` for n = 0, 1, … on `connection`, one stream each, as fast
/// as stream credit allows, until `stop`; counts every stream written.
async fn flood(
    connection: quinn::Connection,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
    counter: Arc<AtomicU64>,
    stop: Instant,
) {
    let mut tasks = JoinSet::new();
    while Instant::now() < stop {
        let left = stop.saturating_duration_since(Instant::now());
        let stream = match tokio::time::timeout(left, connection.open_uni()).await {
            Ok(Ok(stream)) => stream,
            _ => break,
        };
        let bytes = make(counter.fetch_add(1, Ordering::Relaxed));
        tasks.spawn(async move { fire(stream, &bytes).await });
        while tasks.try_join_next().is_some() {}
    }
    tasks.abort_all();
}

/// Floods every connection of `connections` with `make` until `stop`.
async fn flood_all(
    connections: Vec<quinn::Connection>,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
    stop: Instant,
) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let mut floods = JoinSet::new();
    for connection in connections {
        floods.spawn(flood(connection, make.clone(), counter.clone(), stop));
    }
    while floods.join_next().await.is_some() {}
    counter.load(Ordering::Relaxed)
}

/// A staked peer's connections, flooding what `make` builds.
async fn staked_flood(
    server: std::net::SocketAddr,
    identity: &Identity,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    let client = Client::new(STAKED_ATTACKER_IP.into(), identity)?;
    let mut connections = Vec::new();
    for _ in 0..STAKED_CONNECTIONS {
        connections.push(client.connect(server).await?);
    }
    let started = Instant::now();
    let offered = flood_all(connections, make, stop).await;
    client.close();
    Ok(Outcome::new("transactions", offered, started).connections(STAKED_CONNECTIONS as u64))
}

/// `invalid-staked`: unique invalid signatures from a staked peer.
pub(super) async fn invalid_staked(
    server: std::net::SocketAddr,
    identity: Identity,
    base: Arc<Vec<Vec<u8>>>,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    staked_flood(
        server,
        &identity,
        Arc::new(move |n| invalid_unique(&base, n)),
        stop,
    )
    .await
}

/// `duplicates`: copies of a few valid transactions from a staked peer.
pub(super) async fn duplicates(
    server: std::net::SocketAddr,
    identity: Identity,
    copies_of: Arc<Vec<Vec<u8>>>,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    let make = move |n: u64| copies_of[(n as usize) % copies_of.len().max(1)].clone();
    staked_flood(server, &identity, Arc::new(make), stop).await
}

/// The unstaked flood's connections, made before the clock starts:
/// `UNSTAKED_SOURCES × CONNECTIONS_PER_SOURCE` of them, each source its own
/// address in 127.16.0.0/16 and its own identity.
pub(super) struct UnstakedFleet {
    clients: Vec<Client>,
    connections: Vec<quinn::Connection>,
    failed: u64,
}

impl UnstakedFleet {
    /// Connects the fleet, `CONNECTING_AT_ONCE` handshakes at a time.
    ///
    /// # Errors
    /// A client socket cannot be bound.
    pub(super) async fn connect(server: std::net::SocketAddr) -> anyhow::Result<Self> {
        let mut clients = Vec::new();
        for source in 0..UNSTAKED_SOURCES {
            clients.push(Arc::new(Client::new(
                pool_ip(16, source),
                &pool_identity(16, source),
            )?));
        }
        let mut connecting = JoinSet::new();
        let (mut connections, mut failed) = (Vec::new(), 0u64);
        let mut take = |done: Option<Result<anyhow::Result<quinn::Connection>, _>>| match done {
            Some(Ok(Ok(connection))) => connections.push(connection),
            _ => failed += 1,
        };
        for client in &clients {
            for _ in 0..CONNECTIONS_PER_SOURCE {
                while connecting.len() >= CONNECTING_AT_ONCE {
                    take(connecting.join_next().await);
                }
                let client = client.clone();
                connecting.spawn(async move { client.connect(server).await });
            }
        }
        while let Some(done) = connecting.join_next().await {
            take(Some(done));
        }
        let clients = clients
            .into_iter()
            .filter_map(|c| Arc::try_unwrap(c).ok())
            .collect();
        Ok(UnstakedFleet {
            clients,
            connections,
            failed,
        })
    }
}

/// `invalid-unstaked`: unique invalid signatures over every connection of
/// the fleet until `stop`.
pub(super) async fn invalid_unstaked(
    fleet: UnstakedFleet,
    base: Arc<Vec<Vec<u8>>>,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let connected = fleet.connections.len() as u64;
    let offered = flood_all(
        fleet.connections,
        Arc::new(move |n| invalid_unique(&base, n)),
        stop,
    )
    .await;
    for client in &fleet.clients {
        client.close();
    }
    Ok(Outcome::new("transactions", offered, started)
        .connections(connected)
        .note("connect_failures", fleet.failed as f64)
        .note("sources", UNSTAKED_SOURCES as f64))
}

/// `forged-identity`: valid transactions at `rate` from a client whose
/// certificate carries the staked node's key in its subject and proves its
/// own key in the handshake.
pub(super) async fn forged_identity(
    server: std::net::SocketAddr,
    staked_key: [u8; 32],
    txs: Arc<Vec<Vec<u8>>>,
    rate: f64,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    let client = Client::with_tls(FORGER_IP.into(), forged_tls(FORGER_SEED, &staked_key)?)?;
    let connection = client.connect(server).await?;
    let started = Instant::now();
    let wanted = txs.len() as u64;
    let sent = send_all(connection, txs, Some(rate), stop).await;
    client.close();
    // Offered: what it set out to send at its rate; the appliance may grant
    // the credit for fewer streams.
    Ok(Outcome::new("transactions", wanted, started)
        .connections(1)
        .note("forger_streams_opened", sent.streams as f64)
        .note("forger_acknowledged", sent.acknowledged as f64))
}
