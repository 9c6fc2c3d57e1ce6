//! The honest clients: valid, unique transactions sent at a fixed rate (or
//! all at once, in `burst`), each stream opened only when the appliance
//! grants stream credit, as Agave's tpu-client-next does, and counted as
//! delivered at the sink by its first signature.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use super::client::deliver;
use crate::lab::loadgen::{self, KeyMode, TxSpec};

/// Signed message size of every generated transaction (legacy format: the
/// first signature is bytes 1..65).
pub(super) const MESSAGE_SIZE: usize = 200;

/// `count` valid, distinct transactions, generated on every core.
///
/// # Errors
/// The generator refuses the spec (it does not for these).
pub(super) fn valid_transactions(count: usize, seed: u64) -> anyhow::Result<Vec<Vec<u8>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let per = count.div_ceil(threads).max(1);
    let chunks: Vec<anyhow::Result<Vec<Vec<u8>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = per.min(count.saturating_sub(t * per));
                scope.spawn(move || {
                    Ok(loadgen::generate(&TxSpec {
                        count: n,
                        message_size: MESSAGE_SIZE,
                        invalid_fraction: 0.0,
                        keys: KeyMode::Shared(16),
                        seed: seed.wrapping_mul(1_000_003).wrapping_add(t as u64),
                    })?
                    .into_iter()
                    .map(|tx| tx.bytes)
                    .collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("generator thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(count);
    for chunk in chunks {
        out.extend(chunk?);
    }
    Ok(out)
}

/// A transaction's first signature (legacy layout), its name at the sink.
pub(super) fn first_signature(bytes: &[u8]) -> Option<[u8; 64]> {
    bytes.get(1..65)?.try_into().ok()
}

/// What one honest client did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sent {
    /// Streams opened and written (the rest were never granted credit
    /// before the hard stop).
    pub streams: u64,
    /// Streams the appliance acknowledged whole.
    pub acknowledged: u64,
}

/// Sends every transaction of `txs` on `connection`, one stream each, at
/// `rate` per second (none: as fast as stream credit allows), giving up on
/// what is not sent by `hard_stop`.
pub(super) async fn send_all(
    connection: quinn::Connection,
    txs: Arc<Vec<Vec<u8>>>,
    rate: Option<f64>,
    hard_stop: Instant,
) -> Sent {
    let started = tokio::time::Instant::now();
    let mut tasks = JoinSet::new();
    let mut sent = Sent::default();
    for index in 0..txs.len() {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(index as f64 / rate.max(1.0));
            tokio::time::sleep_until(due).await;
        }
        let left = hard_stop.saturating_duration_since(Instant::now());
        let stream = match tokio::time::timeout(left, connection.open_uni()).await {
            Ok(Ok(stream)) => stream,
            _ => break,
        };
        sent.streams += 1;
        let txs = txs.clone();
        tasks.spawn(async move { deliver(stream, &txs[index]).await });
        while let Some(done) = tasks.try_join_next() {
            sent.acknowledged += u64::from(matches!(done, Ok(true)));
        }
    }
    let left = hard_stop.saturating_duration_since(Instant::now());
    let _ = tokio::time::timeout(left, async {
        while let Some(done) = tasks.join_next().await {
            sent.acknowledged += u64::from(matches!(done, Ok(true)));
        }
    })
    .await;
    tasks.abort_all();
    sent
}
