//! The forwarder: hands every valid, unique transaction to the validator's
//! TPU, byte for byte as received, over QUIC (one unidirectional stream each,
//! the appliance's identity as client certificate, one persistent connection
//! replaced when it is lost or stalls) or over UDP.
//!
//! It never slows verification down and never stops taking input: it drains
//! its queue into its own bounded backlog and keeps expiring and counting
//! while the validator is away. Every transaction that enters ends in exactly
//! one counter: forwarded, failed (it was on a connection that was lost or
//! stalled), expired (older than `max_age_ms` when its turn came) or evicted
//! (the backlog was full of newer ones).
//!
//! - [`backlog`]: which transaction goes next, which are too old (pure).
//! - [`watchdog`]: open, write and acknowledgement deadlines (pure).
//! - [`super::pacing`]: when to dial (pure).
//! - `quic` and `udp`: the shells that move the bytes.

pub mod backlog;
mod quic;
mod udp;
pub mod watchdog;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc::Receiver;

use crate::{
    metrics::{counters::LATENCY_QUANTILES, latency::LatencyHistogram, Counters},
    packet::Packet,
    quic::identity::Identity,
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

/// Forwarder settings. Every duration is in milliseconds; zero is taken as 1.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardConfig {
    /// `quic` or `udp`.
    pub mode: ForwardMode,
    /// The validator's TPU address (QUIC port for `quic`).
    pub target: SocketAddr,
    /// Transactions waiting to be forwarded at most: the hand-off queue from
    /// the verify stage (more are shed there) and, as large again, the
    /// forwarder's own backlog (full, the oldest makes room: evicted).
    pub queue: usize,
    /// Streams open at once on the forward connection.
    pub max_in_flight: usize,
    /// New connections per minute at most (Agave refuses more than 8 per
    /// IP). After a failed dial the next waits 60 s / this (7.5 s at 8): the
    /// longest a validator's return waits for the forwarder.
    pub connections_per_minute: usize,
    /// A transaction older than this (since its stream finished at ingress)
    /// when its turn comes is dropped as expired. Default 5000.
    ///
    /// Agave's leaders take a blockhash for 150 slots (`MAX_PROCESSING_AGE`,
    /// ≈ 60 s at 400 ms), but a transaction arrives with an unknown part of
    /// that spent (a `finalized` blockhash is already ≈ 13 s old), and RPC's
    /// send-transaction-service resends every 2 s (`DEFAULT_RETRY_RATE_MS`):
    /// a copy held much longer has been superseded by a fresh resend. 5 s
    /// covers two resends, and outlasts the dedup stage's memory of a
    /// signature (up to twice `pipeline.dedup_window_ms`, 4 s by default),
    /// so a resend deduplicated against a held copy is never lost with it.
    /// Longer keeps more through an outage and sends staler ones after it.
    pub max_age_ms: u64,
    /// Handshake deadline. Default 2000.
    pub connect_timeout_ms: u64,
    /// Stream-credit deadline: no stream granted on the connection for this
    /// long while one waits, and the connection is stalled. Default 2000.
    pub open_timeout_ms: u64,
    /// Write deadline, from stream credit to the FIN accepted by flow
    /// control. Default 2000.
    pub write_timeout_ms: u64,
    /// Acknowledgement deadline, from FIN to the validator acknowledging
    /// every byte. Default 5000: several loss-recovery rounds even a
    /// continent away; shorter replaces a silent validator sooner and risks
    /// replacing a merely lossy one.
    pub ack_timeout_ms: u64,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        ForwardConfig {
            mode: ForwardMode::Quic,
            target: SocketAddr::from(([127, 0, 0, 1], 8010)),
            queue: 65_536,
            max_in_flight: 1024,
            connections_per_minute: 8,
            max_age_ms: 5000,
            connect_timeout_ms: 2000,
            open_timeout_ms: 2000,
            write_timeout_ms: 2000,
            ack_timeout_ms: 5000,
        }
    }
}

impl ForwardConfig {
    /// `max_age_ms` as a duration.
    pub fn max_age(&self) -> Duration {
        millis(self.max_age_ms)
    }

    /// `connect_timeout_ms` as a duration.
    pub fn connect_timeout(&self) -> Duration {
        millis(self.connect_timeout_ms)
    }

    /// The stream deadlines.
    pub fn deadlines(&self) -> watchdog::Deadlines {
        watchdog::Deadlines {
            open: millis(self.open_timeout_ms),
            write: millis(self.write_timeout_ms),
            ack: millis(self.ack_timeout_ms),
        }
    }
}

/// A duration of `ms` milliseconds, at least one.
fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms.max(1))
}

/// Runs the forwarder until `input` closes and everything held is forwarded,
/// failed or expired (so it returns within about `max_age_ms` plus the
/// deadlines even with the validator gone).
pub async fn run(
    config: ForwardConfig,
    identity: Identity,
    input: Receiver<Packet>,
    counters: Arc<Counters>,
) {
    // Added latency: from the stream's completion at ingress to the moment the
    // transaction is handed to the validator (written and finished); the
    // validator's acknowledgement is its own time, not the appliance's.
    let mut latency = LatencyHistogram::new(Instant::now());
    match config.mode {
        ForwardMode::Udp => udp::run(&config, input, &counters, &mut latency).await,
        ForwardMode::Quic => quic::run(&config, &identity, input, &counters, &mut latency).await,
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

/// Counts everything that arrives on `input` as failed until it closes: the
/// forwarder could not be set up, and the pipeline must still add up.
async fn fail_all(mut input: Receiver<Packet>, counters: &Counters) {
    while let Some(_packet) = input.recv().await {
        counters.forward_failed.inc();
    }
}
