//! The contenders: ed25519-dalek on one thread, and Rampart's pool, each
//! given slices of the same transactions in turns.

use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rampart_sigverify::{
    pool::{Job, VerifyPool},
    txn::Transaction,
    Rule,
};

use super::BenchArgs;
use crate::{
    appliance::backend::make_backend,
    lab::{loadgen::GeneratedTx, pool_driver::drive},
};

/// Signatures verified and time spent, summed over rounds.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub(super) verified: u64,
    pub(super) elapsed: Duration,
}

impl Tally {
    pub(super) fn add(&mut self, other: Tally) {
        self.verified += other.verified;
        self.elapsed += other.elapsed;
    }

    pub(super) fn rate(&self) -> f64 {
        self.verified as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One thread running a dalek function over the same transactions for
/// `window`, decoding the key each time as the validator does.
pub(super) fn baseline_slice<F>(parsed: &[Transaction<'_>], window: Duration, verify: F) -> Tally
where
    F: Fn(&ed25519_dalek::VerifyingKey, &[u8], &ed25519_dalek::Signature) -> bool,
{
    let started = Instant::now();
    let mut verified = 0u64;
    'outer: loop {
        for tx in parsed {
            for (key, signature) in tx.signer_keys().iter().zip(tx.signatures()) {
                if let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key) {
                    std::hint::black_box(verify(
                        &key,
                        tx.message(),
                        &ed25519_dalek::Signature::from_bytes(signature),
                    ));
                }
                verified += 1;
            }
            if verified.is_multiple_of(64) && started.elapsed() >= window {
                break 'outer;
            }
        }
    }
    Tally {
        verified,
        elapsed: started.elapsed(),
    }
}

pub(super) fn parse_all(txs: &[GeneratedTx]) -> anyhow::Result<Vec<Transaction<'_>>> {
    txs.iter()
        .map(|tx| Transaction::parse(&tx.bytes).context("generated transaction does not parse"))
        .collect()
}

/// The generated transactions cut into the batches handed to workers.
/// The transactions cut into jobs. A job's transactions travel to a worker
/// and come back with its verdicts; they wait here for their next turn, so
/// that the driving thread, which shares the cores with the workers it
/// measures, copies a batch only when a small set has it out already.
pub(super) struct Batches {
    /// Batch i, when it is not out at a worker.
    idle: Vec<Option<Vec<Vec<u8>>>>,
    /// Every batch, to copy from when a small set has all its batches out.
    source: Vec<Vec<Vec<u8>>>,
    batch: usize,
}

impl Batches {
    pub(super) fn new(txs: &[GeneratedTx], batch: usize) -> Self {
        let source: Vec<Vec<Vec<u8>>> = txs
            .chunks(batch)
            .map(|chunk| chunk.iter().map(|tx| tx.bytes.clone()).collect())
            .collect();
        Batches {
            idle: source.iter().cloned().map(Some).collect(),
            source,
            batch,
        }
    }

    fn len(&self) -> usize {
        self.idle.len()
    }

    /// Batch `index` for a job: the idle one, or a copy while it is out.
    fn take(&mut self, index: usize) -> Vec<Vec<u8>> {
        self.idle[index]
            .take()
            .unwrap_or_else(|| self.source[index].clone())
    }

    /// Batch `index` back from a worker.
    fn put_back(&mut self, index: usize, transactions: Vec<Vec<u8>>) {
        self.idle[index] = Some(transactions);
    }
}

pub(super) struct PoolRun {
    pub(super) verifies_per_sec: f64,
    pub(super) latency: Histogram<u64>,
    pub(super) mismatches: u64,
}

/// Pool throughput summed over rounds, batch times, and verdicts seen.
pub(super) struct PoolTally {
    pub(super) tally: Tally,
    pub(super) latency: Histogram<u64>,
    /// (batch index, each verdict's validity) per finished batch.
    pub(super) valid_counts: Vec<(usize, Vec<bool>)>,
}

impl PoolTally {
    pub(super) fn new() -> anyhow::Result<Self> {
        Ok(PoolTally {
            tally: Tally::default(),
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            valid_counts: Vec::new(),
        })
    }

    /// Verdicts that differ from how the transactions were generated.
    pub(super) fn mismatches(&self, expected: &[bool], batches: &Batches) -> u64 {
        self.valid_counts
            .iter()
            .map(|(index, verdicts)| {
                let start = index * batches.batch;
                verdicts
                    .iter()
                    .zip(&expected[start..])
                    .filter(|(got, want)| got != want)
                    .count() as u64
            })
            .sum()
    }
}

pub(super) fn start_pool(args: &BenchArgs, threads: usize) -> anyhow::Result<VerifyPool<Vec<u8>>> {
    let backends = (0..threads)
        .map(|_| make_backend(&args.backend_spec()))
        .collect::<Result<Vec<_>, _>>()?;
    VerifyPool::start(backends, 2).context("cannot start verify workers")
}

/// Keeps every worker of `pool` busy for `window`, then drains it; counts the
/// batches that finished inside the window over the time until the last of them.
pub(super) fn run_pool_slice(
    pool: &VerifyPool<Vec<u8>>,
    rule: Rule,
    batches: &mut Batches,
    window: Duration,
    tally: &mut PoolTally,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut next = 0usize;
    let mut verified = 0u64;
    let mut last_counted = Duration::ZERO;
    drive(
        pool,
        batches,
        |batches| {
            if started.elapsed() >= window {
                return None;
            }
            let index = next % batches.len();
            next += 1;
            Some(Job {
                id: index as u64,
                rule,
                transactions: batches.take(index),
            })
        },
        |batches, done| {
            let now = started.elapsed();
            if now <= window {
                last_counted = now;
                verified += done.verdicts.len() as u64;
                let _ = tally.latency.record(done.busy.as_micros().max(1) as u64);
            }
            let valid = done.verdicts.iter().map(|v| v.is_valid()).collect();
            tally.valid_counts.push((done.id as usize, valid));
            batches.put_back(done.id as usize, done.transactions);
        },
    )?;
    // Work finished by the last counted completion, over the time to it.
    tally.tally.add(Tally {
        verified,
        elapsed: last_counted,
    });
    Ok(())
}
