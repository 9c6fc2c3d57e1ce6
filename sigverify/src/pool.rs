//! A pool of verify workers, each owning one backend, fed through bounded
//! lock-free queues (crossbeam).
//!
//! The pool is the only place in this crate that starts threads. Batches go in
//! whole and come out whole, with one verdict per transaction in input order;
//! a full input queue is reported to the caller, who decides to wait or shed.
//!
//! A backend that panics loses nothing and stalls nothing: the worker catches
//! the panic, takes a fresh backend (when the pool was given a way to build
//! one), verifies the batch again one transaction at a time, and reports the
//! panic in [`Faults`]; a transaction that panics even alone comes back
//! [`TxVerdict::Unverified`].

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::{
    backend::{verify_views, Backend, TxVerdict},
    rule::Rule,
    txn::Verifiable,
};

/// A batch of transactions to verify. `T` is whatever owns the bytes and
/// presents the verification inputs: raw bytes (a `Vec<u8>`, parsed by the
/// worker) or a transaction the caller parsed already (never parsed again).
#[derive(Debug)]
pub struct Job<T> {
    /// Caller's identifier, returned with the verdicts.
    pub id: u64,
    /// The rule to verify under.
    pub rule: Rule,
    /// The transactions, as received on the wire.
    pub transactions: Vec<T>,
}

/// A verified batch: the job's transactions back, with one verdict each.
#[derive(Debug)]
pub struct Done<T> {
    /// The job's identifier.
    pub id: u64,
    /// The transactions, in the order they were submitted.
    pub transactions: Vec<T>,
    /// `verdicts[i]` is the verdict on `transactions[i]`.
    pub verdicts: Vec<TxVerdict>,
    /// Time the worker spent on the batch (parse and verify).
    pub busy: Duration,
    /// Index of the worker that did it.
    pub worker: usize,
    /// What went wrong on the way, for the caller to count.
    pub faults: Faults,
}

/// Faults met while verifying one batch. None of them is a verdict: the
/// verdicts stand on their own; these say what it took to reach them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Panics caught in the backend (the batch was then verified again, one
    /// transaction at a time, each with a fresh backend where one could be
    /// built).
    pub panics: u32,
    /// Device errors the backend recovered from by verifying on the CPU
    /// ([`Backend::take_errors`]).
    pub backend_errors: u64,
}

/// Builds a fresh backend for a worker whose backend panicked (its state is
/// suspect). `None` keeps the old one.
pub type BackendFactory = Arc<dyn Fn() -> Option<Box<dyn Backend>> + Send + Sync>;

/// Errors from handing a job to the pool.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError<T> {
    /// Every worker is busy and the queue is full; the job is handed back.
    #[error("verify queue full")]
    Full(Job<T>),
    /// The pool has shut down; the job is handed back.
    #[error("verify pool stopped")]
    Stopped(Job<T>),
}

/// Worker threads that verify [`Job`]s and send back [`Done`]s.
pub struct VerifyPool<T> {
    jobs: Option<Sender<Job<T>>>,
    done: Receiver<Done<T>>,
    workers: Vec<JoinHandle<()>>,
}

impl<T: Verifiable + Send + 'static> VerifyPool<T> {
    /// Starts one worker thread per backend. Up to `queue_per_worker` jobs per
    /// worker may wait in the input queue (and as many results in the output
    /// queue) before [`try_submit`](Self::try_submit) reports it full.
    ///
    /// # Errors
    /// If the OS refuses to start a thread.
    pub fn start(
        backends: Vec<Box<dyn Backend>>,
        queue_per_worker: usize,
    ) -> std::io::Result<Self> {
        Self::start_pinned(backends, queue_per_worker, &[])
    }

    /// As [`start`](Self::start), with worker i pinned to CPU
    /// `cores[i % cores.len()]` (no pinning when `cores` is empty). Pinning
    /// keeps a verify worker's caches warm and its core free of network work;
    /// where the OS refuses, the worker runs unpinned.
    ///
    /// # Errors
    /// If the OS refuses to start a thread.
    pub fn start_pinned(
        backends: Vec<Box<dyn Backend>>,
        queue_per_worker: usize,
        cores: &[usize],
    ) -> std::io::Result<Self> {
        Self::start_replacing(backends, queue_per_worker, cores, None)
    }

    /// As [`start_pinned`](Self::start_pinned), with `replace` building the
    /// fresh backend a worker takes after its backend panics (without it the
    /// worker keeps the old backend).
    ///
    /// # Errors
    /// If the OS refuses to start a thread.
    pub fn start_replacing(
        backends: Vec<Box<dyn Backend>>,
        queue_per_worker: usize,
        cores: &[usize],
        replace: Option<BackendFactory>,
    ) -> std::io::Result<Self> {
        let depth = backends.len().max(1) * queue_per_worker.max(1);
        let (job_tx, job_rx) = bounded::<Job<T>>(depth);
        let (done_tx, done_rx) = bounded::<Done<T>>(depth);
        let mut workers = Vec::with_capacity(backends.len());
        for (worker, backend) in backends.into_iter().enumerate() {
            let jobs = job_rx.clone();
            let done = done_tx.clone();
            let core = (!cores.is_empty()).then(|| cores[worker % cores.len()]);
            let replace = replace.clone();
            let handle = thread::Builder::new()
                .name(format!("verify-{worker}"))
                .spawn(move || {
                    if let Some(core) = core {
                        pin_to_core(core);
                    }
                    run_worker(worker, backend, replace, jobs, done)
                })?;
            workers.push(handle);
        }
        Ok(VerifyPool {
            jobs: Some(job_tx),
            done: done_rx,
            workers,
        })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Queues a job without waiting.
    ///
    /// # Errors
    /// [`SubmitError::Full`] when the queue is full, so the caller can shed.
    pub fn try_submit(&self, job: Job<T>) -> Result<(), SubmitError<T>> {
        let Some(jobs) = &self.jobs else {
            return Err(SubmitError::Stopped(job));
        };
        jobs.try_send(job).map_err(|err| match err {
            TrySendError::Full(job) => SubmitError::Full(job),
            TrySendError::Disconnected(job) => SubmitError::Stopped(job),
        })
    }

    /// Queues a job, waiting for room (for trusted producers such as benchmarks).
    ///
    /// # Errors
    /// [`SubmitError::Stopped`] if the workers are gone.
    pub fn submit(&self, job: Job<T>) -> Result<(), SubmitError<T>> {
        let Some(jobs) = &self.jobs else {
            return Err(SubmitError::Stopped(job));
        };
        jobs.send(job)
            .map_err(|err| SubmitError::Stopped(err.into_inner()))
    }

    /// The queue of finished batches.
    pub fn done(&self) -> &Receiver<Done<T>> {
        &self.done
    }

    /// Waits up to `timeout` for a finished batch.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Done<T>> {
        self.done.recv_timeout(timeout).ok()
    }

    /// Stops taking jobs, lets the workers finish what is queued, and returns
    /// every result not yet received.
    pub fn shutdown(mut self) -> Vec<Done<T>> {
        self.jobs = None;
        let mut rest = Vec::new();
        for handle in std::mem::take(&mut self.workers) {
            while !handle.is_finished() {
                rest.extend(self.done.recv_timeout(Duration::from_millis(1)));
            }
            // A worker that panicked has lost only its own batch; nothing to add.
            let _ = handle.join();
        }
        rest.extend(self.done.try_iter());
        rest
    }
}

impl<T> Drop for VerifyPool<T> {
    fn drop(&mut self) {
        self.jobs = None;
        // Drain so that no worker blocks on a full result queue, then join.
        for handle in std::mem::take(&mut self.workers) {
            while !handle.is_finished() {
                while self.done.try_recv().is_ok() {}
                thread::sleep(Duration::from_micros(200));
            }
            let _ = handle.join();
        }
    }
}

/// Pins the calling thread to one CPU; a refusal leaves it unpinned.
fn pin_to_core(core: usize) {
    if core >= libc::CPU_SETSIZE as usize {
        return;
    }
    // Safety: a zeroed cpu_set_t is empty; CPU_SET writes inside it (core is
    // below CPU_SETSIZE); sched_setaffinity reads it for this thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn run_worker<T: Verifiable>(
    worker: usize,
    mut backend: Box<dyn Backend>,
    replace: Option<BackendFactory>,
    jobs: Receiver<Job<T>>,
    done: Sender<Done<T>>,
) {
    let mut scratch = Vec::new();
    for job in jobs {
        let started = Instant::now();
        let mut faults = Faults::default();
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            verify_job(backend.as_mut(), job.rule, &job.transactions, &mut scratch)
        }));
        let verdicts = match attempt {
            Ok(verdicts) => verdicts,
            Err(_) => {
                // The panic message went to stderr through the panic hook.
                faults.panics += 1;
                renew(&mut backend, &replace, &mut scratch, &mut faults);
                verify_one_by_one(&mut backend, &replace, &job, &mut scratch, &mut faults)
            }
        };
        faults.backend_errors += backend.take_errors();
        let finished = Done {
            id: job.id,
            transactions: job.transactions,
            verdicts,
            busy: started.elapsed(),
            worker,
            faults,
        };
        if done.send(finished).is_err() {
            return;
        }
    }
}

/// Replaces a backend that panicked, where a factory can build one (keeping
/// the count of device errors it had recovered from), and drops scratch state
/// the panic may have left half-written.
fn renew(
    backend: &mut Box<dyn Backend>,
    replace: &Option<BackendFactory>,
    scratch: &mut Vec<TxVerdict>,
    faults: &mut Faults,
) {
    scratch.clear();
    faults.backend_errors += backend.take_errors();
    if let Some(fresh) = replace.as_ref().and_then(|build| build()) {
        *backend = fresh;
    }
}

/// After a panic: each transaction verified alone, so one that makes the
/// backend panic costs only itself ([`TxVerdict::Unverified`]).
fn verify_one_by_one<T: Verifiable>(
    backend: &mut Box<dyn Backend>,
    replace: &Option<BackendFactory>,
    job: &Job<T>,
    scratch: &mut Vec<TxVerdict>,
    faults: &mut Faults,
) -> Vec<TxVerdict> {
    let mut verdicts = Vec::with_capacity(job.transactions.len());
    for item in &job.transactions {
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            verify_job(
                backend.as_mut(),
                job.rule,
                std::slice::from_ref(item),
                scratch,
            )
        }));
        match attempt {
            Ok(mut one) => verdicts.push(one.pop().unwrap_or(TxVerdict::Unverified)),
            Err(_) => {
                faults.panics += 1;
                renew(backend, replace, scratch, faults);
                verdicts.push(TxVerdict::Unverified);
            }
        }
    }
    verdicts
}

/// Takes every transaction's verification inputs (parsing raw bytes) and
/// verifies the well-formed ones together.
fn verify_job<T: Verifiable>(
    backend: &mut dyn Backend,
    rule: Rule,
    items: &[T],
    scratch: &mut Vec<TxVerdict>,
) -> Vec<TxVerdict> {
    let mut verdicts = Vec::with_capacity(items.len());
    let mut parsed = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for (slot, item) in items.iter().enumerate() {
        match item.view() {
            Ok(tx) => {
                parsed.push(tx);
                slots.push(slot);
                verdicts.push(TxVerdict::Valid);
            }
            Err(error) => verdicts.push(TxVerdict::Malformed(error)),
        }
    }
    verify_views(backend, rule, &parsed, scratch);
    for (slot, verdict) in slots.into_iter().zip(scratch.drain(..)) {
        verdicts[slot] = verdict;
    }
    verdicts
}
