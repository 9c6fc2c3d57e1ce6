//! `handshakes`: genuine QUIC Initials (a real client's first packet, made
//! with quinn-proto) that never complete, from many source addresses and
//! ports, at a fixed rate. Each would cost the appliance a key exchange and
//! seconds of state if it started a handshake; the handshake gate should
//! answer most with a stateless Retry or a refusal.
//!
//! The Initials are made before the clock starts (making one costs about
//! as much as sending many), then sent at the rate, replayed from the start
//! if the run outlasts them.

use std::{
    net::{SocketAddr, UdpSocket},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;

use super::{client::pool_ip, Outcome};
use crate::quic::{endpoint::tpu_client_config, identity::Identity};

/// Source sockets, each its own address in 127.17.0.0/16 (and port).
const SOURCES: usize = 512;
/// Distinct Initials made at most.
const MAX_DISTINCT: usize = 40_000;

/// `count` Initials to `server`, made on every core.
///
/// # Errors
/// The client configuration, or quinn-proto refusing to connect.
pub(super) fn make_initials(server: SocketAddr, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let count = count.clamp(1, MAX_DISTINCT);
    let config = tpu_client_config(&Identity::from_seed([0x17; 32]))?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let per = count.div_ceil(threads);
    let made: Vec<anyhow::Result<Vec<Vec<u8>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let config = config.clone();
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(per);
                    let mut endpoint = None;
                    for i in 0..per {
                        // A fresh endpoint now and then: each keeps the
                        // state of every connection it started.
                        if i % 1000 == 0 {
                            endpoint = Some(quinn_proto::Endpoint::new(
                                Arc::new(quinn_proto::EndpointConfig::default()),
                                None,
                                false,
                                None,
                            ));
                        }
                        let Some(endpoint) = endpoint.as_mut() else {
                            break;
                        };
                        let (_, mut connection) = endpoint
                            .connect(Instant::now(), config.clone(), server, "solana-tpu")
                            .context("a client connection")?;
                        let mut buf = Vec::with_capacity(1500);
                        if let Some(transmit) =
                            connection.poll_transmit(Instant::now(), 1, &mut buf)
                        {
                            buf.truncate(transmit.size);
                            out.push(buf);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("Initial maker panicked")))
            })
            .collect()
    });
    let mut initials = Vec::with_capacity(count);
    for chunk in made {
        initials.extend(chunk?);
    }
    Ok(initials)
}

/// Sends `initials` to `server` at `rate` per second until `stop`, round
/// robin over `SOURCES` sockets. Blocking: run it on a thread of its own.
///
/// # Errors
/// A source socket cannot be bound.
pub(super) fn flood(
    server: SocketAddr,
    initials: &[Vec<u8>],
    rate: f64,
    stop: Instant,
) -> anyhow::Result<Outcome> {
    let sockets = (0..SOURCES)
        .map(|i| {
            let source = SocketAddr::new(pool_ip(17, i), 0);
            UdpSocket::bind(source).with_context(|| format!("binding {source}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let (mut sent, mut failed) = (0u64, 0u64);
    while Instant::now() < stop && !initials.is_empty() {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let initial = &initials[sent as usize % initials.len()];
            let socket = &sockets[sent as usize % sockets.len()];
            if socket.send_to(initial, server).is_err() {
                failed += 1;
            }
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(Outcome::new("initials", sent, started)
        .note("distinct_initials", initials.len() as f64)
        .note("send_errors", failed as f64)
        .note("sources", SOURCES as f64))
}
