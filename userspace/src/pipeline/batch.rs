//! The batch-and-dedup stage: groups transactions into batches (by size or
//! time), parses each once, drops known duplicates and identical copies in
//! flight before any crypto, hands batches to the verify workers, and sorts
//! their verdicts: valid and new → forward, valid and seen → duplicate,
//! invalid → bad signature.
//!
//! [`Batcher`] decides when a batch goes (pure, takes `now`); [`run`] only
//! moves data between the queues. One thread owns the dedup table, so
//! checking before verify and inserting after need no lock. It never waits on
//! a full queue: it sheds and counts.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crossbeam_channel::{select, RecvTimeoutError};
use rampart_sigverify::{
    backend::TxVerdict,
    pool::{Done, Job, SubmitError, VerifyPool},
    Rule,
};
use tokio::sync::mpsc::{error::TrySendError, Sender};

use super::dedup::{Admit, Dedup};
use crate::{
    fair::FairReceiver,
    metrics::{counters::VERIFY_QUANTILES, latency::LatencyHistogram, Counters},
    packet::{Packet, ParsedTx},
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

/// How busy the verify workers are, as the batch decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workers {
    /// Batches handed out and not yet back.
    pub in_flight: usize,
    /// Worker threads.
    pub threads: usize,
    /// Batches that may be out at once (workers plus their queues).
    pub max_in_flight: usize,
}

impl Workers {
    /// Whether another batch may be handed out.
    pub fn room(&self) -> bool {
        self.in_flight < self.max_in_flight
    }

    /// Whether some worker sits idle.
    pub fn idle(&self) -> bool {
        self.in_flight < self.threads
    }
}

/// The batch being filled and the decision when it goes. Pure: every call
/// takes `now`.
///
/// A worker sitting idle takes what is there now; while all are busy the
/// batch grows, up to its size or its delay. So batches are small (and
/// latency low) at light load and large at heavy load.
#[derive(Debug)]
pub struct Batcher<T> {
    size: usize,
    delay: Duration,
    items: Vec<T>,
    started: Instant,
}

impl<T> Batcher<T> {
    /// An empty batcher for batches of up to `size`, each waiting at most `delay`.
    pub fn new(size: usize, delay: Duration, now: Instant) -> Self {
        let size = size.max(1);
        Batcher {
            size,
            delay,
            items: Vec::with_capacity(size),
            started: now,
        }
    }

    /// Adds one item; the batch's clock starts with its first item.
    pub fn push(&mut self, item: T, now: Instant) {
        if self.items.is_empty() {
            self.started = now;
        }
        self.items.push(item);
    }

    /// Whether the batch has reached its size.
    pub fn is_full(&self) -> bool {
        self.items.len() >= self.size
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the batch should go now: it is not empty, a worker can take
    /// it, and a worker is idle, or it is full, or its oldest item has waited
    /// the delay, or no more input will come.
    pub fn due(&self, now: Instant, workers: Workers, input_open: bool) -> bool {
        !self.items.is_empty()
            && workers.room()
            && (workers.idle()
                || self.is_full()
                || now.duration_since(self.started) >= self.delay
                || !input_open)
    }

    /// How long the loop may wait for more input before the batch's delay
    /// runs out (`idle` when the batch is empty).
    pub fn wait(&self, now: Instant, idle: Duration) -> Duration {
        if self.items.is_empty() {
            idle
        } else {
            self.delay.saturating_sub(now.duration_since(self.started))
        }
    }

    /// Takes the batch, leaving an empty one.
    pub fn take(&mut self) -> Vec<T> {
        std::mem::replace(&mut self.items, Vec::with_capacity(self.size))
    }
}

/// Runs the stage until `input` is closed and every batch in flight is back.
///
/// While every verify worker is busy (and its queue full) the stage stops
/// taking from `input`, so the backlog waits in the fair queue, per source:
/// what the stage takes next is the fair choice among the sources waiting,
/// and a batch holds runs of one source each. Verification is never handed
/// more than it can do, and nothing waits on a peer.
pub fn run<K: Copy + Eq + std::hash::Hash + Ord>(
    input: FairReceiver<K, Packet>,
    pool: VerifyPool<ParsedTx>,
    mut dedup: Dedup,
    forward: Sender<Packet>,
    policy: BatchPolicy,
    counters: Arc<Counters>,
) {
    // No batch waits in a busy worker's queue: what arrives meanwhile stays
    // here (and in the fair queue, in fair order) and goes whole to the next
    // idle worker. A queued batch used to add a second batch's verification
    // to the latency of everything behind it (bench pipeline at half load,
    // one worker: p99 at the sink 2.4-4.3 ms before, 1.6-3.0 ms after).
    let mut workers = Workers {
        in_flight: 0,
        threads: pool.threads(),
        max_in_flight: pool.threads(),
    };
    let mut latency = LatencyHistogram::new(Instant::now());
    let mut batch = Batcher::new(policy.size, policy.delay, Instant::now());
    let mut next_id = 0u64;
    let mut input_open = true;
    let idle_wait = Duration::from_millis(50);
    loop {
        let wait = batch.wait(Instant::now(), idle_wait);
        let pulling = input_open && workers.room() && !batch.is_full();
        // Whatever is queued already is taken without waiting (a ring is
        // only a promise that something came since the last take).
        if pulling && fill(&input, &mut batch, policy.size) {
            // Taken; fall through to the batch decision.
        } else if pulling {
            select! {
                recv(input.doorbell()) -> ring => {
                    if !fill(&input, &mut batch, policy.size) && ring.is_err() {
                        input_open = false;
                    }
                },
                recv(pool.done()) -> done => {
                    if let Ok(done) = done {
                        workers.in_flight -= 1;
                        sort_verdicts(done, &mut dedup, &forward, &counters, &mut latency);
                    }
                },
                default(wait) => {},
            }
        } else {
            let timeout = if workers.room() {
                wait.max(Duration::from_micros(50))
            } else {
                idle_wait
            };
            match pool.done().recv_timeout(timeout) {
                Ok(done) => {
                    workers.in_flight -= 1;
                    sort_verdicts(done, &mut dedup, &forward, &counters, &mut latency);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let (depth, sources) = input.depth();
        counters.ingress_queue_depth.set(depth as u64);
        counters.queue_sources.set(sources as u64);
        if batch.due(Instant::now(), workers, input_open) {
            let id = next_id;
            next_id += 1;
            if dispatch(batch.take(), id, &pool, &mut dedup, policy.rule, &counters) {
                workers.in_flight += 1;
            }
        }
        counters.dedup_in_flight.set(dedup.in_flight() as u64);
        if !input_open && batch.is_empty() && workers.in_flight == 0 {
            break;
        }
    }
    let _ = pool.shutdown();
}

/// Moves what the fair queue gives, up to the batch's size, into the batch.
/// Returns whether anything came.
fn fill<K: Copy + Eq + std::hash::Hash + Ord>(
    input: &FairReceiver<K, Packet>,
    batch: &mut Batcher<Packet>,
    size: usize,
) -> bool {
    let taken = input.take(size.saturating_sub(batch.len()));
    let now = Instant::now();
    let any = !taken.is_empty();
    for packet in taken {
        batch.push(packet, now);
    }
    any
}

/// Parses each packet once, drops malformed ones and duplicates, and submits
/// the rest. Returns whether a job went to the workers.
fn dispatch(
    packets: Vec<Packet>,
    id: u64,
    pool: &VerifyPool<ParsedTx>,
    dedup: &mut Dedup,
    rule: Rule,
    counters: &Counters,
) -> bool {
    let now = Instant::now();
    let mut keep = Vec::with_capacity(packets.len());
    for packet in packets {
        match ParsedTx::parse(packet, |bytes| dedup.content_tag(bytes)) {
            Err((_, error)) => counters.add_malformed(&error),
            Ok(tx) => match dedup.admit(tx.first_signature(), tx.content(), now) {
                Admit::Duplicate => counters.duplicate.inc(),
                Admit::Verify => keep.push(tx),
            },
        }
    }
    if keep.is_empty() {
        return false;
    }
    match pool.try_submit(Job {
        id,
        rule,
        transactions: keep,
    }) {
        Ok(()) => {
            counters.batches.inc();
            true
        }
        Err(SubmitError::Full(job)) | Err(SubmitError::Stopped(job)) => {
            for tx in &job.transactions {
                dedup.settle(tx.first_signature(), tx.content(), false, now);
            }
            counters.shed_verify.add(job.transactions.len() as u64);
            false
        }
    }
}

/// Routes each verified transaction to exactly one terminal counter.
fn sort_verdicts(
    done: Done<ParsedTx>,
    dedup: &mut Dedup,
    forward: &Sender<Packet>,
    counters: &Counters,
    latency: &mut LatencyHistogram,
) {
    let now = Instant::now();
    // Time from a stream's completion to its verdict (queue, batch wait and
    // verification).
    for tx in &done.transactions {
        latency.record(now.duration_since(tx.packet().received));
    }
    latency.publish(now, false, &VERIFY_QUANTILES, &counters.verify_latency_us);
    counters.verify_panics.add(u64::from(done.faults.panics));
    counters.backend_errors.add(done.faults.backend_errors);
    for (tx, verdict) in done.transactions.into_iter().zip(done.verdicts) {
        let forward_it = dedup.settle(tx.first_signature(), tx.content(), verdict.is_valid(), now);
        match verdict {
            TxVerdict::Valid if !forward_it => counters.duplicate.inc(),
            TxVerdict::Valid => match forward.try_send(tx.into_packet()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                    counters.shed_forward.inc()
                }
            },
            TxVerdict::Malformed(error) => counters.add_malformed(&error),
            TxVerdict::BadSignature { .. } => counters.bad_signature.inc(),
            TxVerdict::Unverified => counters.unverified.inc(),
        }
    }
    counters
        .forward_queue_depth
        .set((forward.max_capacity() - forward.capacity()) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: usize = 4;
    const DELAY: Duration = Duration::from_micros(250);

    fn busy() -> Workers {
        Workers {
            in_flight: 2,
            threads: 2,
            max_in_flight: 4,
        }
    }

    #[test]
    fn an_idle_worker_takes_a_single_transaction_at_once() {
        let t0 = Instant::now();
        let mut batch = Batcher::new(SIZE, DELAY, t0);
        assert!(
            !batch.due(
                t0,
                Workers {
                    in_flight: 0,
                    ..busy()
                },
                true
            ),
            "empty"
        );
        batch.push(1, t0);
        assert!(batch.due(
            t0,
            Workers {
                in_flight: 1,
                ..busy()
            },
            true
        ));
    }

    #[test]
    fn with_every_worker_busy_a_batch_grows_until_full_or_late() {
        let t0 = Instant::now();
        let mut batch = Batcher::new(SIZE, DELAY, t0);
        batch.push(1, t0);
        assert!(!batch.due(t0 + DELAY / 2, busy(), true));
        assert_eq!(
            batch.wait(t0 + DELAY / 2, Duration::from_millis(50)),
            DELAY / 2
        );
        assert!(batch.due(t0 + DELAY, busy(), true), "its delay ran out");
        for i in 2..=SIZE {
            batch.push(i, t0);
        }
        assert!(batch.is_full() && batch.due(t0, busy(), true), "full");
        assert_eq!(batch.take(), vec![1, 2, 3, 4]);
        assert!(batch.is_empty());
    }

    #[test]
    fn the_delay_counts_from_the_first_item_of_each_batch() {
        let t0 = Instant::now();
        let mut batch = Batcher::new(SIZE, DELAY, t0);
        batch.push(1, t0 + DELAY * 10);
        assert!(!batch.due(t0 + DELAY * 10, busy(), true));
        assert!(batch.due(t0 + DELAY * 11, busy(), true));
    }

    #[test]
    fn nothing_goes_while_the_workers_have_no_room() {
        let t0 = Instant::now();
        let mut batch = Batcher::new(SIZE, DELAY, t0);
        for i in 0..SIZE {
            batch.push(i, t0);
        }
        let full = Workers {
            in_flight: 4,
            ..busy()
        };
        assert!(!batch.due(t0 + DELAY * 100, full, false));
    }

    #[test]
    fn a_closed_input_flushes_what_is_left() {
        let t0 = Instant::now();
        let mut batch = Batcher::new(SIZE, DELAY, t0);
        batch.push(1, t0);
        assert!(batch.due(t0, busy(), false));
    }

    /// A CPU backend that panics on any batch holding one signature.
    struct PanicsOn {
        poison: [u8; 64],
        cpu: rampart_sigverify::backend::CpuBackend,
    }

    impl rampart_sigverify::backend::Backend for PanicsOn {
        fn name(&self) -> &'static str {
            "panics-on"
        }

        fn verify_signatures(
            &mut self,
            rule: Rule,
            inputs: &[rampart_sigverify::ed25519::SignatureInput<'_>],
            out: &mut [rampart_sigverify::ed25519::SigVerdict],
        ) {
            assert!(
                inputs.iter().all(|i| *i.signature != self.poison),
                "the test's poison signature"
            );
            self.cpu.verify_signatures(rule, inputs, out);
        }
    }

    #[test]
    fn a_panicking_backend_stalls_nothing_and_every_transaction_is_counted() {
        a_panic_stalls_nothing(|build| {
            let backends = (0..2).filter_map(|_| build()).collect();
            VerifyPool::start_replacing(backends, 2, &[], Some(build)).unwrap()
        });
    }

    #[test]
    fn verifying_in_the_stage_thread_a_panic_stalls_nothing_either() {
        a_panic_stalls_nothing(|build| {
            let backend = build().unwrap();
            VerifyPool::inline(backend, 2, Some(build))
        });
    }

    /// The stage over a pool made by `start` from a backend factory whose
    /// backends panic on one transaction: every other transaction is judged
    /// and counted, and the stage ends.
    fn a_panic_stalls_nothing(
        start: impl FnOnce(rampart_sigverify::pool::BackendFactory) -> VerifyPool<ParsedTx>,
    ) {
        use rampart_sigverify::{backend::Backend, pool::BackendFactory};
        use rampart_txgen::{generate, KeyMode, TxSpec};

        let txs = generate(&TxSpec {
            count: 300,
            message_size: 200,
            invalid_fraction: 0.1,
            keys: KeyMode::Distinct,
            seed: 12,
        })
        .unwrap();
        let poison_at = txs.iter().position(|tx| tx.valid).unwrap();
        let poison: [u8; 64] = txs[poison_at].bytes[1..65].try_into().unwrap();
        let build: BackendFactory = Arc::new(move || {
            Some(Box::new(PanicsOn {
                poison,
                cpu: Default::default(),
            }) as Box<dyn Backend>)
        });
        let pool = start(build);
        let counters = Arc::new(Counters::default());
        // One source holds at most half the queue.
        let (input_tx, input) = crate::fair::fair_queue::<u8, Packet>(crate::fair::FairLimits {
            capacity: 2 * txs.len(),
            unstaked_floor: 0.2,
        });
        let (forward, mut forwarded) = tokio::sync::mpsc::channel(txs.len());
        let policy = BatchPolicy {
            size: 16,
            delay: Duration::from_micros(200),
            rule: Rule::Strict,
        };
        let stage = {
            let counters = counters.clone();
            let dedup = Dedup::new(Duration::from_secs(10), 10_000, (1, 2), Instant::now());
            std::thread::spawn(move || run(input, pool, dedup, forward, policy, counters))
        };
        for tx in &txs {
            let packet = Packet {
                bytes: tx.bytes.clone(),
                received: Instant::now(),
                peer: ([127, 0, 0, 1], 9).into(),
            };
            assert!(matches!(
                input_tx.try_push(0, crate::fair::Class::Unstaked, packet),
                crate::fair::Push::Queued
            ));
        }
        drop(input_tx);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stage.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the batch stage stalled after a backend panic"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        stage.join().unwrap();

        let mut out = 0;
        while forwarded.try_recv().is_ok() {
            out += 1;
        }
        let valid = txs.iter().filter(|tx| tx.valid).count() as u64;
        assert_eq!(counters.unverified.get(), 1, "only the poison transaction");
        assert_eq!(out, valid - 1, "every other valid transaction went on");
        assert_eq!(counters.bad_signature.get(), txs.len() as u64 - valid);
        assert!(
            counters.verify_panics.get() >= 2,
            "its batch, then it alone"
        );
        assert_eq!(counters.terminal_total() + out, txs.len() as u64);
    }
}
