//! Drives a verify pool from a benchmark: at most the pool's depth of jobs
//! out at once (its job and result queues are both bounded, so submitting more
//! before reading results deadlocks), every finished batch handed back, and a
//! return once nothing is out and no job is left.

use std::time::Duration;

use anyhow::bail;
use rampart_sigverify::{
    pool::{Done, Job, VerifyPool},
    txn::Verifiable,
};

/// Submits `next_job(state)` while there is room and it gives one, passes
/// each finished batch to `on_done(state, done)`, and returns when nothing is
/// out and `next_job` gives no more. `state` is what both need to touch (a
/// batch taken out by one and put back by the other).
///
/// # Errors
/// The workers stopped, or made no progress for 30 s.
pub fn drive<T, S>(
    pool: &VerifyPool<T>,
    state: &mut S,
    mut next_job: impl FnMut(&mut S) -> Option<Job<T>>,
    mut on_done: impl FnMut(&mut S, Done<T>),
) -> anyhow::Result<()>
where
    T: Verifiable + Send + 'static,
{
    let max_in_flight = pool.threads() * 2;
    let mut in_flight = 0usize;
    loop {
        while in_flight < max_in_flight {
            let Some(job) = next_job(state) else {
                break;
            };
            if pool.submit(job).is_err() {
                bail!("verify workers stopped");
            }
            in_flight += 1;
        }
        if in_flight == 0 {
            return Ok(());
        }
        let Some(done) = pool.recv_timeout(Duration::from_secs(30)) else {
            bail!("verify workers made no progress for 30 s");
        };
        in_flight -= 1;
        on_done(state, done);
    }
}
