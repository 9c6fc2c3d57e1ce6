//! The batch-and-dedup stage: groups transactions into batches (by size or
//! time), parses them, drops known duplicates before any crypto, hands batches
//! to the verify workers, and sorts their verdicts: valid and new → forward,
//! valid and seen → duplicate, invalid → bad signature.
//!
//! One thread owns the dedup table, so checking before verify and inserting
//! after need no lock. It never waits on a full queue: it sheds and counts.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crossbeam_channel::{select, Receiver, RecvTimeoutError};
use rampart_sigverify::{
    backend::TxVerdict,
    pool::{Done, Job, SubmitError, VerifyPool},
    txn::Transaction,
    Rule,
};
use tokio::sync::mpsc::{error::TrySendError, Sender};

use super::dedup::Dedup;
use crate::{
    metrics::{latency::LatencyHistogram, Counters},
    packet::Packet,
};

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Transactions per batch at most.
    pub size: usize,
    /// Longest a transaction waits for its batch to fill.
    pub delay: Duration,
    /// The signature rule.
    pub rule: Rule,
}

/// Runs the stage until `input` is closed and every batch in flight is back.
///
/// While every verify worker is busy (and its queue full) the stage stops
/// taking from `input`, so the backlog waits in the ingress queue, whose
/// producer sheds and counts when it is full: verification is never handed
/// more than it can do, and nothing waits on a peer.
pub fn run(
    input: Receiver<Packet>,
    pool: VerifyPool<Packet>,
    mut dedup: Dedup,
    forward: Sender<Packet>,
    policy: BatchPolicy,
    counters: Arc<Counters>,
) {
    let max_in_flight = pool.threads() * 2;
    let mut latency = LatencyHistogram::new(Instant::now());
    let mut batch: Vec<Packet> = Vec::with_capacity(policy.size);
    let mut batch_started = Instant::now();
    let mut in_flight = 0usize;
    let mut next_id = 0u64;
    let mut input_open = true;
    loop {
        let room = in_flight < max_in_flight;
        let wait = if batch.is_empty() {
            Duration::from_millis(50)
        } else {
            policy.delay.saturating_sub(batch_started.elapsed())
        };
        if input_open && room && batch.len() < policy.size {
            select! {
                recv(input) -> packet => match packet {
                    Ok(packet) => {
                        if batch.is_empty() {
                            batch_started = Instant::now();
                        }
                        batch.push(packet);
                        // Take what is already queued, so an idle worker gets
                        // the whole backlog rather than one transaction.
                        while batch.len() < policy.size {
                            match input.try_recv() {
                                Ok(packet) => batch.push(packet),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(_) => input_open = false,
                },
                recv(pool.done()) -> done => {
                    if let Ok(done) = done {
                        in_flight -= 1;
                        sort_verdicts(done, &mut dedup, &forward, &counters, &mut latency);
                    }
                },
                default(wait) => {},
            }
        } else {
            match pool.done().recv_timeout(if room {
                wait.max(Duration::from_micros(50))
            } else {
                Duration::from_millis(50)
            }) {
                Ok(done) => {
                    in_flight -= 1;
                    sort_verdicts(done, &mut dedup, &forward, &counters, &mut latency);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        counters.ingress_queue_depth.set(input.len() as u64);
        // A worker sitting idle takes what is there now; while all are busy
        // the batch grows, up to its size or its delay. So batches are small
        // (and latency low) at light load and large at heavy load.
        let idle_worker = in_flight < pool.threads();
        let due = !batch.is_empty()
            && in_flight < max_in_flight
            && (idle_worker
                || batch.len() >= policy.size
                || batch_started.elapsed() >= policy.delay
                || !input_open);
        if due {
            let id = next_id;
            next_id += 1;
            if dispatch(
                std::mem::take(&mut batch),
                id,
                &pool,
                &mut dedup,
                policy.rule,
                &counters,
            ) {
                in_flight += 1;
            }
            batch = Vec::with_capacity(policy.size);
        }
        if !input_open && batch.is_empty() && in_flight == 0 {
            break;
        }
    }
    let _ = pool.shutdown();
}

/// Parses, drops malformed and known duplicates, and submits the rest.
/// Returns whether a job went to the workers.
fn dispatch(
    packets: Vec<Packet>,
    id: u64,
    pool: &VerifyPool<Packet>,
    dedup: &mut Dedup,
    rule: Rule,
    counters: &Counters,
) -> bool {
    let now = Instant::now();
    let mut keep = Vec::with_capacity(packets.len());
    for packet in packets {
        match Transaction::parse(&packet.bytes) {
            Err(error) => counters.add_malformed(&error),
            Ok(tx) if dedup.contains(tx.first_signature(), now) => counters.duplicate.inc(),
            Ok(_) => keep.push(packet),
        }
    }
    if keep.is_empty() {
        return false;
    }
    let count = keep.len() as u64;
    match pool.try_submit(Job {
        id,
        rule,
        transactions: keep,
    }) {
        Ok(()) => {
            counters.batches.inc();
            true
        }
        Err(SubmitError::Full(_)) | Err(SubmitError::Stopped(_)) => {
            counters.shed_verify.add(count);
            false
        }
    }
}

/// Routes each verified transaction to exactly one terminal counter.
fn sort_verdicts(
    done: Done<Packet>,
    dedup: &mut Dedup,
    forward: &Sender<Packet>,
    counters: &Counters,
    latency: &mut LatencyHistogram,
) {
    let now = Instant::now();
    // Time from a stream's completion to its verdict (queue, batch wait and
    // verification).
    for packet in &done.transactions {
        latency.record(now.duration_since(packet.received));
    }
    latency.publish(
        now,
        false,
        &[
            (0.5, &counters.verify_latency_p50_us),
            (0.99, &counters.verify_latency_p99_us),
        ],
    );
    for (packet, verdict) in done.transactions.into_iter().zip(done.verdicts) {
        match verdict {
            TxVerdict::Valid => {
                let Ok(tx) = Transaction::parse(&packet.bytes) else {
                    continue;
                };
                if !dedup.insert(tx.first_signature(), now) {
                    counters.duplicate.inc();
                    continue;
                }
                match forward.try_send(packet) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                        counters.shed_forward.inc()
                    }
                }
            }
            TxVerdict::Malformed(error) => counters.add_malformed(&error),
            TxVerdict::BadSignature { .. } => counters.bad_signature.inc(),
        }
    }
    counters
        .forward_queue_depth
        .set((forward.max_capacity() - forward.capacity()) as u64);
}
