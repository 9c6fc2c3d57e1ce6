//! The QUIC endpoint: admits connections, reads one transaction per
//! unidirectional stream, and hands each to the pipeline's fair queue under
//! its peer's key (staked identity, or unstaked source). A peer over its
//! share of a full queue is not read: its next stream waits, and a
//! transaction already read waits for room up to the stream deadline, then
//! is shed and counted. No thread ever waits on a peer.
//!
//! Agave's rules: streams up to 4096 bytes (v1 transactions; the parser holds
//! legacy and v0 to 1232), an empty or oversize stream closes the connection
//! with code 5 (invalid stream), a stream unfinished after the chunk timeout
//! is dropped, no bidirectional streams or datagrams. Clients get stream
//! credit from the start; push-back is through that credit and explicit
//! shedding, never by closing connections.
//!
//! Before any of that, every Initial passes the [`HandshakeGate`]: a cap on
//! handshakes in flight, a stateless Retry under pressure, per-source and
//! global new-connection rates, all before the endpoint spends a key exchange.
//!
//! Flow control is sized to transactions, not to quinn's bulk-transfer
//! defaults (1.25 MB per stream): a stream may buffer one transaction
//! (`max_stream_bytes`), a connection one legacy-size transaction per stream
//! it was granted ([`connection_window`]).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use quinn::{crypto::rustls::QuicServerConfig, VarInt};

use super::{
    admission::{Admission, AdmissionLimits, PeerKey, Refusal, StakeTable, TxBucket},
    gate::{GateLimits, GateVerdict, HandshakeGate},
};
use crate::{
    fair::{Class, FairSender, Offered},
    metrics::Counters,
    packet::Packet,
    quic::{
        endpoint::{self, EndpointError},
        identity::Identity,
        tls::{peer_pubkey, server_config, TlsError},
    },
};

/// QUIC close codes Agave uses.
pub mod close_code {
    /// Dropped to make room for another connection.
    pub const DROPPED: u32 = 1;
    /// Refused by admission (table full, per-peer cap).
    pub const DISALLOWED: u32 = 2;
    /// Too many connections.
    pub const TOO_MANY: u32 = 4;
    /// An empty or oversize stream.
    pub const INVALID_STREAM: u32 = 5;
}

/// Settings of the ingress endpoint.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngressConfig {
    /// UDP address to listen on (the TPU QUIC port). Default 0.0.0.0:8009.
    pub listen: SocketAddr,
    /// The appliance's keypair (Solana JSON); created on first start if absent.
    pub identity: std::path::PathBuf,
    /// Stake file: a JSON object from base58 identity to lamports; re-read
    /// when it changes. None: every peer is unstaked.
    pub stake_file: Option<std::path::PathBuf>,
    /// Largest stream in bytes (4096: v1 transactions).
    pub max_stream_bytes: usize,
    /// Milliseconds a stream may take to finish (Agave: 2000).
    pub stream_timeout_ms: u64,
    /// Milliseconds of silence before a connection is dropped (Agave: 30000).
    pub idle_timeout_ms: u64,
    /// Refuse clients without a certificate (Agave's server does).
    pub require_client_cert: bool,
    /// Connection and stream limits.
    pub admission: AdmissionLimits,
    /// Limits applied to Initials, before any handshake.
    pub handshakes: GateLimits,
    /// Bytes of datagrams the kernel may hold for the listening socket
    /// while the network edge is not reading (0: the kernel's default, about
    /// 208 KiB). Drops there are QUIC losses for every peer, staked ones too.
    pub receive_buffer_bytes: usize,
}

impl Default for IngressConfig {
    fn default() -> Self {
        IngressConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8009)),
            identity: "/var/lib/rampart/identity.json".into(),
            stake_file: None,
            max_stream_bytes: 4096,
            stream_timeout_ms: 2000,
            idle_timeout_ms: 30_000,
            require_client_cert: true,
            admission: AdmissionLimits::default(),
            handshakes: GateLimits::default(),
            receive_buffer_bytes: 8 << 20,
        }
    }
}

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The endpoint could not be set up.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// A configuration value quinn refuses.
    #[error("ingress setting {0}")]
    Setting(String),
}

/// The quinn server configuration for `identity`.
///
/// # Errors
/// TLS or transport settings out of range.
pub fn quinn_server_config(
    config: &IngressConfig,
    identity: &Identity,
) -> Result<quinn::ServerConfig, IngressError> {
    let tls = server_config(identity, config.require_client_cert)?;
    let crypto = QuicServerConfig::try_from(tls)
        .map_err(|e| IngressError::Tls(TlsError::Quic(e.to_string())))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .stream_receive_window(VarInt::from_u32(config.max_stream_bytes as u32))
        .receive_window(connection_window(
            config.admission.unstaked_streams,
            config.max_stream_bytes,
        ))
        .max_concurrent_uni_streams(VarInt::from_u32(config.admission.unstaked_streams))
        .max_concurrent_bidi_streams(VarInt::from_u32(0))
        .datagram_receive_buffer_size(None)
        .max_idle_timeout(Some(
            Duration::from_millis(config.idle_timeout_ms)
                .try_into()
                .map_err(|_| {
                    IngressError::Setting(format!(
                        "idle_timeout_ms {} too large",
                        config.idle_timeout_ms
                    ))
                })?,
        ));
    server.transport_config(Arc::new(transport));
    server.migration(false);
    Ok(server)
}

/// Bytes a legacy or v0 transaction may take (Solana's packet data size).
const LEGACY_TX_BYTES: u64 = 1232;

/// A connection's receive window: one legacy-size transaction on each of its
/// `streams`, and at least one largest stream, so that a connection can never
/// hold more unread data than its streams can use (quinn's default is 15 MB).
pub fn connection_window(streams: u32, max_stream_bytes: usize) -> VarInt {
    let bytes = (u64::from(streams) * LEGACY_TX_BYTES).max(max_stream_bytes as u64);
    VarInt::from_u64(bytes).unwrap_or(VarInt::MAX)
}

/// Where ingress puts transactions: the pipeline's fair queue, keyed by peer.
pub type IngressQueue = FairSender<PeerKey, Packet>;

/// A running ingress endpoint.
pub struct Ingress {
    endpoint: quinn::Endpoint,
    accept: tokio::task::JoinHandle<()>,
    socket_inode: Option<u64>,
}

impl Ingress {
    /// Binds the endpoint and starts accepting. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// Binding or TLS setup failing.
    pub fn start(
        config: IngressConfig,
        identity: &Identity,
        stakes: Arc<RwLock<Arc<StakeTable>>>,
        out: IngressQueue,
        counters: Arc<Counters>,
    ) -> Result<Self, IngressError> {
        let server = quinn_server_config(&config, identity)?;
        let socket = endpoint::udp_socket(config.listen)?;
        endpoint::size_receive_buffer(&socket, config.receive_buffer_bytes);
        let socket_inode = super::socket::inode(&socket);
        let endpoint = endpoint::on_socket(socket, Some(server))?;
        let admission = Arc::new(Mutex::new(Admission::new(
            config.admission,
            stakes.read().map(|s| s.clone()).unwrap_or_default(),
        )));
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed)
            .map_err(|e| IngressError::Setting(format!("randomness: {e}")))?;
        let keys = (
            u64::from_le_bytes(seed[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(seed[8..].try_into().unwrap_or_default()),
        );
        let gate = HandshakeGate::new(config.handshakes, keys);
        let unstaked_total = Mutex::new(TxBucket::new(
            config.admission.unstaked_tps_total,
            Instant::now(),
        ));
        let shared = Arc::new(Shared {
            config,
            stakes,
            admission,
            live: Mutex::default(),
            unstaked_total,
            budgets: Mutex::default(),
            out,
            counters,
        });
        let accept = tokio::spawn(accept_loop(endpoint.clone(), gate, shared));
        Ok(Ingress {
            endpoint,
            accept,
            socket_inode,
        })
    }

    /// The inode of the endpoint's UDP socket, for
    /// [`super::socket::watch`] (`None` where the kernel does not say).
    pub fn socket_inode(&self) -> Option<u64> {
        self.socket_inode
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Stops accepting, closes connections, and waits for the accept loop.
    pub async fn shutdown(self) {
        self.endpoint.close(VarInt::from_u32(0), b"shutdown");
        self.accept.abort();
        let _ = self.accept.await;
        self.endpoint.wait_idle().await;
    }
}

struct Shared {
    config: IngressConfig,
    stakes: Arc<RwLock<Arc<StakeTable>>>,
    admission: Arc<Mutex<Admission>>,
    /// Live connections by ticket id, so an evicted one can be closed.
    live: Mutex<std::collections::HashMap<u64, quinn::Connection>>,
    /// Each live peer's transaction budget, shared by its connections, and
    /// how many connections hold it (removed with the last one: bounded by
    /// the connection tables).
    budgets: Mutex<std::collections::HashMap<PeerKey, SharedBudget>>,
    /// The budget all unstaked peers share, on top of each one's own.
    unstaked_total: Mutex<TxBucket>,
    out: IngressQueue,
    counters: Arc<Counters>,
}

/// A peer's transaction budget and the number of its connections holding it.
type SharedBudget = (Arc<Mutex<TxBucket>>, usize);

impl Shared {
    /// The peer's budget, made at `tps` by its first connection.
    fn join_budget(&self, peer: PeerKey, tps: u32) -> Option<Arc<Mutex<TxBucket>>> {
        let mut budgets = self.budgets.lock().ok()?;
        let entry = budgets
            .entry(peer)
            .or_insert_with(|| (Arc::new(Mutex::new(TxBucket::new(tps, Instant::now()))), 0));
        entry.1 += 1;
        let budget = entry.0.clone();
        self.counters.peer_budgets.set(budgets.len() as u64);
        Some(budget)
    }

    /// One connection of the peer is gone; the budget goes with the last.
    fn leave_budget(&self, peer: PeerKey) {
        if let Ok(mut budgets) = self.budgets.lock() {
            if let Some(entry) = budgets.get_mut(&peer) {
                entry.1 = entry.1.saturating_sub(1);
                if entry.1 == 0 {
                    budgets.remove(&peer);
                }
            }
            self.counters.peer_budgets.set(budgets.len() as u64);
        }
    }
}

/// Judges every Initial at the gate and starts only the handshakes it lets
/// through, each with its deadline; the `handshakes_in_flight` gauge is the
/// count of handshakes in flight, and the gate's input.
async fn accept_loop(endpoint: quinn::Endpoint, mut gate: HandshakeGate, shared: Arc<Shared>) {
    let timeout = gate.handshake_timeout();
    while let Some(incoming) = endpoint.accept().await {
        let counters = &shared.counters;
        let verdict = gate.decide(
            incoming.remote_address().ip(),
            incoming.remote_address_validated(),
            counters.handshakes_in_flight.get() as usize,
            Instant::now(),
        );
        match verdict {
            GateVerdict::Accept => {}
            GateVerdict::Retry => {
                counters.handshakes_retried.inc();
                // Only unvalidated Initials are sent here, and those may retry.
                if incoming.may_retry() {
                    let _ = incoming.retry();
                } else {
                    incoming.ignore();
                }
                continue;
            }
            GateVerdict::Refuse(reason) => {
                counters.handshakes_refused[reason as usize].inc();
                incoming.refuse();
                continue;
            }
        }
        let shared = shared.clone();
        let guard = InFlight::enter(shared.counters.clone());
        tokio::spawn(async move {
            let connecting = match incoming.accept() {
                Ok(connecting) => connecting,
                Err(_) => {
                    shared.counters.handshakes_failed.inc();
                    return;
                }
            };
            let handshake = tokio::time::timeout(timeout, connecting).await;
            drop(guard);
            match handshake {
                Ok(Ok(connection)) => serve_connection(connection, shared).await,
                _ => shared.counters.handshakes_failed.inc(),
            }
        });
    }
}

/// One handshake in flight, counted in the gauge until dropped.
struct InFlight(Arc<Counters>);

impl InFlight {
    fn enter(counters: Arc<Counters>) -> Self {
        counters.handshakes_in_flight.add(1);
        InFlight(counters)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.handshakes_in_flight.sub(1);
    }
}

async fn serve_connection(connection: quinn::Connection, shared: Arc<Shared>) {
    let peer = connection.remote_address();
    let identity = peer_pubkey(&connection);
    let (decision, evicted) = {
        let Ok(mut admission) = shared.admission.lock() else {
            return;
        };
        if let Ok(stakes) = shared.stakes.read() {
            admission.set_stakes(stakes.clone());
        }
        let decision = admission.admit(peer.ip(), identity, Instant::now());
        // Recorded as live before the admission lock is released (lock order:
        // admission, then live), so that an eviction another connection's
        // admission decides always finds it to close.
        let evicted = match &decision {
            Ok(admitted) => shared.live.lock().ok().and_then(|mut live| {
                live.insert(admitted.ticket.id, connection.clone());
                admitted.evicted.and_then(|victim| live.remove(&victim))
            }),
            Err(_) => None,
        };
        (decision, evicted)
    };
    let ticket = match decision {
        Ok(admitted) => {
            if let Some(evicted) = evicted {
                shared.counters.connections_evicted.inc();
                evicted.close(VarInt::from_u32(close_code::DROPPED), b"evicted");
            }
            admitted.ticket
        }
        Err(refusal) => {
            let code = match refusal {
                Refusal::NewConnectionRate | Refusal::PeerConnections => close_code::TOO_MANY,
                Refusal::TableFull => close_code::DISALLOWED,
            };
            shared.counters.connections_refused[refusal as usize].inc();
            connection.close(VarInt::from_u32(code), refusal.label().as_bytes());
            return;
        }
    };
    shared.counters.connections_accepted.inc();
    shared.counters.connections_open.add(1);
    connection.set_max_concurrent_uni_streams(VarInt::from_u32(ticket.max_streams));
    connection.set_receive_window(connection_window(
        ticket.max_streams,
        shared.config.max_stream_bytes,
    ));
    let Some(budget) = shared.join_budget(ticket.peer, ticket.tps) else {
        return;
    };
    let class = if ticket.staked {
        Class::Staked(ticket.share)
    } else {
        Class::Unstaked
    };
    loop {
        // The next stream is taken only once the peer's budget allows it
        // (and, unstaked, the budget all unstaked peers share): the client,
        // out of stream credit meanwhile, waits; nothing it sent within its
        // budget is read and dropped.
        let now = Instant::now();
        let mut wait = budget
            .lock()
            .map(|mut bucket| bucket.reserve(now))
            .unwrap_or_default();
        if !ticket.staked {
            let total = shared
                .unstaked_total
                .lock()
                .map(|mut bucket| bucket.reserve(now))
                .unwrap_or_default();
            wait = wait.max(total);
        }
        if !wait.is_zero() {
            shared.counters.budget_waits.inc();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = connection.closed() => break,
            }
        }
        // Nor while the peer is the one furthest over its share of a full
        // pipeline queue: it is not read until the batch stage makes room.
        tokio::select! {
            _ = shared.out.wait_room(ticket.peer, class) => {}
            _ = connection.closed() => break,
        }
        let stream = match connection.accept_uni().await {
            Ok(stream) => stream,
            Err(_) => break,
        };
        let (shared, connection) = (shared.clone(), connection.clone());
        let source = (ticket.peer, class);
        tokio::spawn(async move { read_stream(stream, peer, source, &connection, &shared).await });
    }
    shared.leave_budget(ticket.peer);
    shared.counters.connections_open.sub(1);
    if let Ok(mut live) = shared.live.lock() {
        live.remove(&ticket.id);
    }
    if let Ok(mut admission) = shared.admission.lock() {
        admission.release(ticket.id);
    }
}

/// Reads one transaction and hands it on; every outcome is one counter.
async fn read_stream(
    mut stream: quinn::RecvStream,
    peer: SocketAddr,
    (source, class): (PeerKey, Class),
    connection: &quinn::Connection,
    shared: &Shared,
) {
    let counters = &shared.counters;
    let limit = shared.config.max_stream_bytes;
    let timeout = Duration::from_millis(shared.config.stream_timeout_ms);
    let read = tokio::time::timeout(timeout, stream.read_to_end(limit)).await;
    let bytes = match read {
        Err(_) => {
            counters.entered.inc();
            counters.unfinished.inc();
            let _ = stream.stop(VarInt::from_u32(0));
            return;
        }
        // The client gave the stream up: counted, nothing delivered.
        Ok(Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(_)))) => {
            counters.entered.inc();
            counters.reset.inc();
            return;
        }
        // The connection went away mid-stream: no transaction was delivered.
        Ok(Err(quinn::ReadToEndError::Read(_))) => return,
        Ok(Err(quinn::ReadToEndError::TooLong)) => {
            counters.entered.inc();
            counters.oversize.inc();
            connection.close(
                VarInt::from_u32(close_code::INVALID_STREAM),
                b"oversize stream",
            );
            return;
        }
        Ok(Ok(bytes)) => bytes,
    };
    counters.entered.inc();
    if bytes.is_empty() {
        counters.empty.inc();
        connection.close(
            VarInt::from_u32(close_code::INVALID_STREAM),
            b"empty stream",
        );
        return;
    }
    let now = Instant::now();
    let packet = Packet {
        bytes,
        received: now,
        peer,
    };
    // Room comes within the stream deadline unless the peer stays the one
    // furthest over its share of a full queue all that time.
    match shared
        .out
        .push_waiting(source, class, packet, timeout)
        .await
    {
        Offered::Queued => {}
        Offered::QueuedAfterWait => counters.queue_waits.inc(),
        Offered::QueuedShedding(_) => counters.shed_heaviest.inc(),
        Offered::Shed(_) => {
            counters.queue_waits.inc();
            counters.shed_ingress.inc()
        }
    }
}
