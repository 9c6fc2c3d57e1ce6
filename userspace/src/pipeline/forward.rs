//! The forwarder: hands every valid, unique transaction to the validator's
//! TPU, byte for byte as received, over QUIC (one unidirectional stream each,
//! the appliance's identity as client certificate, one persistent connection
//! with reconnect) or over UDP.
//!
//! It never slows verification down: its queue is bounded and the stage
//! before sheds into a counter when it is full. New connections are paced to
//! Agave's limit of 8 per IP per minute.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use quinn::VarInt;
use tokio::sync::{mpsc::Receiver, Semaphore};

use super::pacing::ConnectPacer;
use crate::{
    metrics::{counters::LATENCY_QUANTILES, latency::LatencyHistogram, Counters},
    packet::Packet,
    quic::{
        endpoint::{any_for, bind, tpu_client_config, EndpointError},
        identity::Identity,
    },
};

/// How transactions reach the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardMode {
    /// QUIC to the TPU QUIC port (Agave 4.x).
    Quic,
    /// UDP datagrams (validators and tools that still take UDP).
    Udp,
}

/// Forwarder settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardConfig {
    /// `quic` or `udp`.
    pub mode: ForwardMode,
    /// The validator's TPU address (QUIC port for `quic`).
    pub target: SocketAddr,
    /// Transactions waiting to be forwarded at most; more are shed.
    pub queue: usize,
    /// Streams open at once on the forward connection.
    pub max_in_flight: usize,
    /// New connections per minute at most (Agave refuses more than 8 per IP).
    pub connections_per_minute: usize,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            mode: ForwardMode::Quic,
            target: SocketAddr::from(([127, 0, 0, 1], 8010)),
            queue: 65_536,
            max_in_flight: 1024,
            connections_per_minute: 8,
        }
    }
}

/// Runs the forwarder until `input` closes and everything queued is sent.
pub async fn run(
    config: ForwardConfig,
    identity: Identity,
    mut input: Receiver<Packet>,
    counters: Arc<Counters>,
) {
    // Added latency: from the stream's completion at ingress to the moment the
    // transaction is handed to the validator (written and finished); the
    // validator's acknowledgement is its own time, not the appliance's.
    let mut latency = LatencyHistogram::new(Instant::now());
    match config.mode {
        ForwardMode::Udp => {
            let socket = match tokio::net::UdpSocket::bind(any_for(config.target)).await {
                Ok(socket) => socket,
                Err(error) => {
                    tracing::error!(%error, "cannot bind the UDP forward socket");
                    while let Some(_packet) = input.recv().await {
                        counters.forward_failed.inc();
                    }
                    return;
                }
            };
            while let Some(packet) = input.recv().await {
                match socket.send_to(&packet.bytes, config.target).await {
                    Ok(_) => {
                        counters.forwarded.inc();
                        latency.record(packet.received.elapsed());
                        publish_latency(&mut latency, &counters, false);
                    }
                    Err(_) => counters.forward_failed.inc(),
                }
            }
        }
        ForwardMode::Quic => {
            let mut client = match QuicForwarder::new(&config, &identity) {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(%error, "cannot set up the QUIC forwarder");
                    while let Some(_packet) = input.recv().await {
                        counters.forward_failed.inc();
                    }
                    return;
                }
            };
            let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
            let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Duration>();
            loop {
                tokio::select! {
                    packet = input.recv() => {
                        let Some(packet) = packet else { break };
                        let Some(connection) = client.connection(&counters).await else {
                            counters.forward_failed.inc();
                            continue;
                        };
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            counters.forward_failed.inc();
                            continue;
                        };
                        let (counters, done_tx) = (counters.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            let _permit = permit;
                            if let Some(handed_off) = send_one(&connection, &packet.bytes).await {
                                counters.forwarded.inc();
                                let _ = done_tx.send(handed_off.duration_since(packet.received));
                            } else {
                                counters.forward_failed.inc();
                            }
                        });
                    }
                    Some(added) = done_rx.recv() => {
                        latency.record(added);
                        publish_latency(&mut latency, &counters, false);
                    }
                }
            }
            // Drain: wait for every stream in flight.
            let _ = permits
                .acquire_many(config.max_in_flight.max(1) as u32)
                .await;
            drop(done_tx);
            while let Some(added) = done_rx.recv().await {
                latency.record(added);
            }
            client.close().await;
        }
    }
    publish_latency(&mut latency, &counters, true);
}

/// Publishes the added-latency quantiles (at most twice a second unless forced).
fn publish_latency(latency: &mut LatencyHistogram, counters: &Counters, force: bool) {
    latency.publish(
        Instant::now(),
        force,
        &LATENCY_QUANTILES,
        &counters.latency_us,
    );
}

/// Sends one transaction and waits for the validator to acknowledge all of
/// it: only then is it forwarded (quinn drops unacknowledged data when a
/// connection closes, so "written" is not "delivered"). Returns when it was
/// handed off (written and finished), or None if it was not delivered.
async fn send_one(connection: &quinn::Connection, bytes: &[u8]) -> Option<Instant> {
    let mut stream = connection.open_uni().await.ok()?;
    stream.write_all(bytes).await.ok()?;
    stream.finish().ok()?;
    let handed_off = Instant::now();
    match tokio::time::timeout(Duration::from_secs(5), stream.stopped()).await {
        Ok(Ok(None)) => Some(handed_off),
        _ => None,
    }
}

/// One persistent connection to the validator, re-made when it drops, with
/// connection attempts paced to the server's per-IP limit.
struct QuicForwarder {
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
    target: SocketAddr,
    connection: Option<quinn::Connection>,
    pacer: ConnectPacer,
}

impl QuicForwarder {
    fn new(config: &ForwardConfig, identity: &Identity) -> Result<Self, EndpointError> {
        let client = tpu_client_config(identity)?;
        let endpoint = bind(any_for(config.target), None)?;
        Ok(QuicForwarder {
            endpoint,
            config: client,
            target: config.target,
            connection: None,
            pacer: ConnectPacer::new(config.connections_per_minute, Duration::from_secs(60)),
        })
    }

    /// The live connection, connecting if needed (waiting for the pacing
    /// window rather than exceeding the server's limit).
    async fn connection(&mut self, counters: &Counters) -> Option<quinn::Connection> {
        if let Some(connection) = &self.connection {
            if connection.close_reason().is_none() {
                return Some(connection.clone());
            }
            tracing::warn!(target = %self.target, "forward connection closed; reconnecting");
        }
        self.connection = None;
        for _ in 0..3 {
            if let Err(wait) = self.pacer.try_attempt(Instant::now()) {
                tokio::time::sleep(wait).await;
                continue;
            }
            let connecting =
                match self
                    .endpoint
                    .connect_with(self.config.clone(), self.target, "solana-tpu")
                {
                    Ok(connecting) => connecting,
                    Err(error) => {
                        tracing::warn!(%error, "forward connect failed");
                        return None;
                    }
                };
            match tokio::time::timeout(Duration::from_secs(2), connecting).await {
                Ok(Ok(connection)) => {
                    counters.forward_connects.inc();
                    self.connection = Some(connection.clone());
                    return Some(connection);
                }
                Ok(Err(error)) => tracing::warn!(%error, "forward handshake failed"),
                Err(_) => tracing::warn!("forward handshake timed out"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    async fn close(self) {
        if let Some(connection) = self.connection {
            connection.close(VarInt::from_u32(0), b"shutdown");
        }
        self.endpoint.wait_idle().await;
    }
}
