//! The QUIC endpoint: admits connections, reads one transaction per
//! unidirectional stream, and hands each to the pipeline without ever waiting
//! on it (a full queue is shed and counted).
//!
//! Agave's rules: streams up to 4096 bytes (v1 transactions; the parser holds
//! legacy and v0 to 1232), an empty or oversize stream closes the connection
//! with code 5 (invalid stream), a stream unfinished after the chunk timeout
//! is dropped, no bidirectional streams or datagrams. Clients get stream
//! credit from the start; push-back is through that credit and explicit
//! shedding, never by closing connections.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use crossbeam_channel::{Sender, TrySendError};
use quinn::{crypto::rustls::QuicServerConfig, VarInt};

use super::admission::{Admission, AdmissionLimits, Refusal, StakeTable, TxBucket};
use crate::{
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

/// A running ingress endpoint.
pub struct Ingress {
    endpoint: quinn::Endpoint,
    accept: tokio::task::JoinHandle<()>,
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
        out: Sender<Packet>,
        counters: Arc<Counters>,
    ) -> Result<Self, IngressError> {
        let server = quinn_server_config(&config, identity)?;
        let endpoint = endpoint::bind(config.listen, Some(server))?;
        let admission = Arc::new(Mutex::new(Admission::new(
            config.admission,
            stakes.read().map(|s| s.clone()).unwrap_or_default(),
        )));
        let shared = Arc::new(Shared {
            config,
            stakes,
            admission,
            live: Mutex::default(),
            out,
            counters,
        });
        let accept = tokio::spawn(accept_loop(endpoint.clone(), shared));
        Ok(Ingress { endpoint, accept })
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
    out: Sender<Packet>,
    counters: Arc<Counters>,
}

async fn accept_loop(endpoint: quinn::Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(connecting) = incoming.accept() else {
                shared.counters.handshakes_failed.inc();
                return;
            };
            // Agave gives a handshake 2 s.
            match tokio::time::timeout(Duration::from_secs(2), connecting).await {
                Ok(Ok(connection)) => serve_connection(connection, shared).await,
                _ => shared.counters.handshakes_failed.inc(),
            }
        });
    }
}

async fn serve_connection(connection: quinn::Connection, shared: Arc<Shared>) {
    let peer = connection.remote_address();
    let identity = peer_pubkey(&connection);
    let ticket = {
        let Ok(mut admission) = shared.admission.lock() else {
            return;
        };
        if let Ok(stakes) = shared.stakes.read() {
            admission.set_stakes(stakes.clone());
        }
        admission.admit(peer.ip(), identity, Instant::now())
    };
    let ticket = match ticket {
        Ok(admitted) => {
            if let Some(victim) = admitted.evicted {
                let evicted = shared
                    .live
                    .lock()
                    .ok()
                    .and_then(|mut live| live.remove(&victim));
                if let Some(evicted) = evicted {
                    shared.counters.connections_evicted.inc();
                    evicted.close(VarInt::from_u32(close_code::DROPPED), b"evicted");
                }
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
    if let Ok(mut live) = shared.live.lock() {
        live.insert(ticket.id, connection.clone());
    }
    connection.set_max_concurrent_uni_streams(VarInt::from_u32(ticket.max_streams));
    let bucket = Arc::new(Mutex::new(TxBucket::new(ticket.tps, Instant::now())));
    loop {
        let stream = match connection.accept_uni().await {
            Ok(stream) => stream,
            Err(_) => break,
        };
        let (shared, bucket, connection) = (shared.clone(), bucket.clone(), connection.clone());
        tokio::spawn(async move { read_stream(stream, peer, &connection, &shared, &bucket).await });
    }
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
    connection: &quinn::Connection,
    shared: &Shared,
    bucket: &Mutex<TxBucket>,
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
    if !bucket.lock().map(|mut b| b.take(now)).unwrap_or(false) {
        counters.rate_limited.inc();
        return;
    }
    let packet = Packet {
        bytes,
        received: now,
        peer,
    };
    match shared.out.try_send(packet) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            counters.shed_ingress.inc()
        }
    }
}
