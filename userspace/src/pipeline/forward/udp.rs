//! The UDP forwarder: one datagram per transaction, nothing to wait for, so
//! no backlog and no deadlines; a transaction already older than the maximum
//! age is expired rather than sent.

use std::time::Instant;

use tokio::sync::mpsc::Receiver;

use super::{backlog::is_expired, fail_all, publish_latency, ForwardConfig};
use crate::{
    metrics::{latency::LatencyHistogram, Counters},
    packet::Packet,
    quic::endpoint::any_for,
};

/// Sends each transaction from `input` to the target until `input` closes.
pub(super) async fn run(
    config: &ForwardConfig,
    mut input: Receiver<Packet>,
    counters: &Counters,
    latency: &mut LatencyHistogram,
) {
    let socket = match tokio::net::UdpSocket::bind(any_for(config.target)).await {
        Ok(socket) => socket,
        Err(error) => {
            tracing::error!(%error, "cannot bind the UDP forward socket");
            return fail_all(input, counters).await;
        }
    };
    let max_age = config.max_age();
    while let Some(packet) = input.recv().await {
        counters.forward_queue_depth.set(input.len() as u64);
        if is_expired(packet.received, Instant::now(), max_age) {
            counters.forward_expired.inc();
            continue;
        }
        match socket.send_to(&packet.bytes, config.target).await {
            Ok(_) => {
                counters.forwarded.inc();
                latency.record(packet.received.elapsed());
                publish_latency(latency, counters, false);
            }
            Err(_) => counters.forward_failed.inc(),
        }
    }
}
