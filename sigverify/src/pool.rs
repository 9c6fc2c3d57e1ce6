//! A pool of verify workers, each owning one backend, fed through bounded
//! lock-free queues (crossbeam).
//!
//! The pool is the only place in this crate that starts threads. Batches go in
//! whole and come out whole, with one verdict per transaction in input order;
//! a full input queue is reported to the caller, who decides to wait or shed.
//!
//! An inline pool ([`VerifyPool::inline`]) has no thread of its own: it
//! verifies a job in the submitting thread and queues the result the same
//! way. With a single worker on a small machine that saves the two
//! cross-thread wake-ups a batch otherwise costs (docs/architecture.md,
//! "Verifying in the batch thread", has the figures).
//!
//! A backend that panics loses nothing and stalls nothing: the worker catches
//! the panic, takes a fresh backend (when the pool was given a way to build
//! one), verifies the batch again one transaction at a time, and reports the
//! panic in [`Faults`]; a transaction that panics even alone comes back
//! [`TxVerdict::Unverified`].

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Mutex},
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
    /// Every worker is busy and the queue is full (for an inline pool: its
    /// results were not taken); the job is handed back.
    #[error("verify queue full")]
    Full(Job<T>),
    /// The pool has shut down; the job is handed back.
    #[error("verify pool stopped")]
    Stopped(Job<T>),
}

/// Worker threads (or the caller's thread, [`inline`](Self::inline)) that
/// verify [`Job`]s and send back [`Done`]s.
pub struct VerifyPool<T> {
    run: Run<T>,
    done: Receiver<Done<T>>,
}

/// Where a pool's jobs run.
enum Run<T> {
    /// On worker threads, fed through a bounded queue (`None` once stopping).
    Threads {
        jobs: Option<Sender<Job<T>>>,
        handles: Vec<JoinHandle<()>>,
    },
    /// In the submitting thread. The lock is never contended: submitting is
    /// what runs the worker, and only the pool's owner submits.
    Inline {
        worker: Mutex<Worker>,
        done: Sender<Done<T>>,
    },
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
        let mut handles = Vec::with_capacity(backends.len());
        for (index, backend) in backends.into_iter().enumerate() {
            let jobs = job_rx.clone();
            let done = done_tx.clone();
            let core = (!cores.is_empty()).then(|| cores[index % cores.len()]);
            let mut worker = Worker::new(index, backend, replace.clone());
            let handle = thread::Builder::new()
                .name(format!("verify-{index}"))
                .spawn(move || {
                    if let Some(core) = core {
                        pin_to_core(core);
                    }
                    for job in jobs {
                        if done.send(worker.verify(job)).is_err() {
                            return;
                        }
                    }
                })?;
            handles.push(handle);
        }
        Ok(VerifyPool {
            run: Run::Threads {
                jobs: Some(job_tx),
                handles,
            },
            done: done_rx,
        })
    }

    /// A pool of one worker that runs in the submitting thread: a submit
    /// verifies the job before it returns and queues its [`Done`], of which
    /// up to `results` may wait to be taken. Panics and backend replacement
    /// are handled as on a worker thread.
    pub fn inline(
        backend: Box<dyn Backend>,
        results: usize,
        replace: Option<BackendFactory>,
    ) -> Self {
        let (done_tx, done_rx) = bounded::<Done<T>>(results.max(1));
        VerifyPool {
            run: Run::Inline {
                worker: Mutex::new(Worker::new(0, backend, replace)),
                done: done_tx,
            },
            done: done_rx,
        }
    }

    /// Number of workers: the threads, or 1 for an inline pool (the caller).
    pub fn threads(&self) -> usize {
        match &self.run {
            Run::Threads { handles, .. } => handles.len(),
            Run::Inline { .. } => 1,
        }
    }

    /// Whether jobs run in the submitting thread.
    pub fn is_inline(&self) -> bool {
        matches!(self.run, Run::Inline { .. })
    }

    /// Queues a job without waiting for room (an inline pool verifies it
    /// first, in this thread).
    ///
    /// # Errors
    /// [`SubmitError::Full`] when the queue is full, so the caller can shed.
    pub fn try_submit(&self, job: Job<T>) -> Result<(), SubmitError<T>> {
        match &self.run {
            Run::Threads { jobs: None, .. } => Err(SubmitError::Stopped(job)),
            Run::Threads {
                jobs: Some(jobs), ..
            } => jobs.try_send(job).map_err(|err| match err {
                TrySendError::Full(job) => SubmitError::Full(job),
                TrySendError::Disconnected(job) => SubmitError::Stopped(job),
            }),
            Run::Inline { worker, done } => run_inline(worker, done, job),
        }
    }

    /// Queues a job, waiting for room (for trusted producers such as
    /// benchmarks). An inline pool verifies it first and cannot wait for
    /// room: the caller is the one who would make it.
    ///
    /// # Errors
    /// [`SubmitError::Stopped`] if the workers are gone; for an inline pool,
    /// [`SubmitError::Full`] when its results were not taken.
    pub fn submit(&self, job: Job<T>) -> Result<(), SubmitError<T>> {
        match &self.run {
            Run::Threads { jobs: None, .. } => Err(SubmitError::Stopped(job)),
            Run::Threads {
                jobs: Some(jobs), ..
            } => jobs
                .send(job)
                .map_err(|err| SubmitError::Stopped(err.into_inner())),
            Run::Inline { worker, done } => run_inline(worker, done, job),
        }
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
        let mut rest = Vec::new();
        for handle in self.stop() {
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

impl<T> VerifyPool<T> {
    /// Stops taking jobs and hands over the worker threads to join.
    fn stop(&mut self) -> Vec<JoinHandle<()>> {
        match &mut self.run {
            Run::Threads { jobs, handles } => {
                *jobs = None;
                std::mem::take(handles)
            }
            Run::Inline { .. } => Vec::new(),
        }
    }
}

impl<T> Drop for VerifyPool<T> {
    fn drop(&mut self) {
        // Drain so that no worker blocks on a full result queue, then join.
        for handle in self.stop() {
            while !handle.is_finished() {
                while self.done.try_recv().is_ok() {}
                thread::sleep(Duration::from_micros(200));
            }
            let _ = handle.join();
        }
    }
}

/// Verifies `job` in this thread and queues its result, unless the result
/// queue is full (checked first, so that no work is done for nothing).
fn run_inline<T: Verifiable>(
    worker: &Mutex<Worker>,
    done: &Sender<Done<T>>,
    job: Job<T>,
) -> Result<(), SubmitError<T>> {
    if done.is_full() {
        return Err(SubmitError::Full(job));
    }
    let rule = job.rule;
    // `Worker::verify` catches every panic of the backend, so the lock is
    // never poisoned; if it were, the worker's state is still whole.
    let finished = worker
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .verify(job);
    // Only the pool's owner fills this queue and it was not full, so this
    // succeeds; were it to fail, the job goes back whole.
    done.try_send(finished).map_err(|err| {
        let finished = err.into_inner();
        SubmitError::Full(Job {
            id: finished.id,
            rule,
            transactions: finished.transactions,
        })
    })
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

/// One backend and what verifying with it safely takes: a way to replace it
/// after a panic, and scratch space kept between batches.
struct Worker {
    index: usize,
    backend: Box<dyn Backend>,
    replace: Option<BackendFactory>,
    scratch: Vec<TxVerdict>,
}

impl Worker {
    fn new(index: usize, backend: Box<dyn Backend>, replace: Option<BackendFactory>) -> Self {
        Worker {
            index,
            backend,
            replace,
            scratch: Vec::new(),
        }
    }

    /// Verifies one job. A panic in the backend costs a fresh backend and a
    /// second pass one transaction at a time, never the batch.
    fn verify<T: Verifiable>(&mut self, job: Job<T>) -> Done<T> {
        let started = Instant::now();
        let mut faults = Faults::default();
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            verify_job(
                self.backend.as_mut(),
                job.rule,
                &job.transactions,
                &mut self.scratch,
            )
        }));
        let verdicts = match attempt {
            Ok(verdicts) => verdicts,
            Err(_) => {
                // The panic message went to stderr through the panic hook.
                faults.panics += 1;
                self.renew(&mut faults);
                self.verify_one_by_one(&job, &mut faults)
            }
        };
        faults.backend_errors += self.backend.take_errors();
        Done {
            id: job.id,
            transactions: job.transactions,
            verdicts,
            busy: started.elapsed(),
            worker: self.index,
            faults,
        }
    }

    /// Replaces a backend that panicked, where a factory can build one
    /// (keeping the count of device errors it had recovered from), and drops
    /// scratch state the panic may have left half-written.
    fn renew(&mut self, faults: &mut Faults) {
        self.scratch.clear();
        faults.backend_errors += self.backend.take_errors();
        if let Some(fresh) = self.replace.as_ref().and_then(|build| build()) {
            self.backend = fresh;
        }
    }

    /// After a panic: each transaction verified alone, so one that makes the
    /// backend panic costs only itself ([`TxVerdict::Unverified`]).
    fn verify_one_by_one<T: Verifiable>(
        &mut self,
        job: &Job<T>,
        faults: &mut Faults,
    ) -> Vec<TxVerdict> {
        let mut verdicts = Vec::with_capacity(job.transactions.len());
        for item in &job.transactions {
            let attempt = catch_unwind(AssertUnwindSafe(|| {
                verify_job(
                    self.backend.as_mut(),
                    job.rule,
                    std::slice::from_ref(item),
                    &mut self.scratch,
                )
            }));
            match attempt {
                Ok(mut one) => verdicts.push(one.pop().unwrap_or(TxVerdict::Unverified)),
                Err(_) => {
                    faults.panics += 1;
                    self.renew(faults);
                    verdicts.push(TxVerdict::Unverified);
                }
            }
        }
        verdicts
    }
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
