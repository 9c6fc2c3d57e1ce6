//! Health and readiness, judged from the counters.
//!
//! A stuck appliance is worse than a dead one: it accepts connections and
//! forwards nothing, and a supervisor that only watches the process never
//! notices. [`HealthJudge`] compares the counters with what they were one
//! window ago (pure: it takes `now` and a [`Progress`] snapshot):
//!
//! - **Stalled** (unhealthy, and the systemd watchdog stops being fed):
//!   transactions entered during the window and no stage judged any of them:
//!   nothing was forwarded, rejected, found duplicate or expired, so they
//!   either sit in a stuck stage or are all shed in front of one. Overload is
//!   not a stall: a saturated pipeline sheds some and still judges the rest.
//! - **Not ready** (healthy, but not doing its job): the forwarder lost
//!   transactions during the window and delivered none: the validator is
//!   unreachable or refusing. Restarting Rampart would not help, so this does
//!   not stop the watchdog; it is for load balancers and operators.
//! - Idle (nothing entered) is healthy and ready.

use std::{
    collections::VecDeque,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use super::Counters;

/// The counters the judgement needs, read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Streams that carried or claimed a transaction.
    pub entered: u64,
    /// Transactions a stage judged: forwarded, or refused for a reason of
    /// their own (malformed, duplicate, bad signature, over a rate, expired…),
    /// everything terminal except queue sheds and forwarding losses.
    pub judged: u64,
    /// Transactions shed because a queue was full.
    pub shed: u64,
    /// Transactions delivered to the validator.
    pub forwarded: u64,
    /// Transactions the forwarder lost (failed, expired or evicted).
    pub forward_lost: u64,
}

impl Progress {
    /// Reads the counters now.
    pub fn read(counters: &Counters) -> Self {
        let shed = [
            &counters.shed_ingress,
            &counters.shed_verify,
            &counters.shed_forward,
        ]
        .iter()
        .map(|c| c.get())
        .sum();
        let forward_lost = [
            &counters.forward_failed,
            &counters.forward_expired,
            &counters.forward_evicted,
        ]
        .iter()
        .map(|c| c.get())
        .sum();
        Progress {
            entered: counters.entered.get(),
            judged: counters
                .terminal_total()
                .saturating_sub(shed)
                .saturating_sub(forward_lost),
            shed,
            forwarded: counters.forwarded.get(),
            forward_lost,
        }
    }

    fn since(&self, earlier: &Progress) -> Progress {
        Progress {
            entered: self.entered.saturating_sub(earlier.entered),
            judged: self.judged.saturating_sub(earlier.judged),
            shed: self.shed.saturating_sub(earlier.shed),
            forwarded: self.forwarded.saturating_sub(earlier.forwarded),
            forward_lost: self.forward_lost.saturating_sub(earlier.forward_lost),
        }
    }
}

/// The judgement at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Doing its job (or idle).
    Ready,
    /// Healthy, but the forwarder is not delivering: why.
    NotReady(String),
    /// A stage is stuck: why. The watchdog stops being fed.
    Stalled(String),
}

impl Health {
    /// Whether the appliance itself works (the watchdog is fed).
    pub fn is_live(&self) -> bool {
        !matches!(self, Health::Stalled(_))
    }

    /// Whether it is doing its job.
    pub fn is_ready(&self) -> bool {
        matches!(self, Health::Ready)
    }

    /// One line for the health endpoint and the logs.
    pub fn describe(&self) -> String {
        match self {
            Health::Ready => "ok".to_owned(),
            Health::NotReady(why) => format!("not ready: {why}"),
            Health::Stalled(why) => format!("stalled: {why}"),
        }
    }
}

/// Judges [`Health`] from counter snapshots over a sliding window.
#[derive(Debug)]
pub struct HealthJudge {
    window: Duration,
    /// Snapshots no older than the window (plus the one just before it).
    history: VecDeque<(Instant, Progress)>,
}

impl HealthJudge {
    /// A judge over `window` (at least one second's worth of snapshots is
    /// needed before anything is judged bad).
    pub fn new(window: Duration) -> Self {
        HealthJudge {
            window,
            history: VecDeque::new(),
        }
    }

    /// Records `now`'s snapshot and judges the window that ends with it.
    pub fn observe(&mut self, now: Instant, progress: Progress) -> Health {
        self.history.push_back((now, progress));
        // Keep the newest snapshot at least a window old as the baseline.
        while self.history.len() > 2
            && self
                .history
                .get(1)
                .is_some_and(|(at, _)| now.duration_since(*at) >= self.window)
        {
            self.history.pop_front();
        }
        let Some((since, baseline)) = self.history.front() else {
            return Health::Ready;
        };
        let span = now.duration_since(*since);
        if span < self.window {
            return Health::Ready;
        }
        let delta = progress.since(baseline);
        let secs = span.as_secs();
        if delta.entered > 0 && delta.judged == 0 {
            return Health::Stalled(format!(
                "{} transactions entered in the last {secs} s and no stage judged any \
                 ({} shed)",
                delta.entered, delta.shed
            ));
        }
        if delta.forward_lost > 0 && delta.forwarded == 0 {
            return Health::NotReady(format!(
                "the forwarder lost {} transactions in the last {secs} s and delivered none \
                 (validator unreachable?)",
                delta.forward_lost
            ));
        }
        Health::Ready
    }
}

/// The latest judgement, shared between the monitor that makes it and the
/// endpoint that shows it.
#[derive(Debug, Clone)]
pub struct HealthState(Arc<RwLock<Health>>);

impl Default for HealthState {
    fn default() -> Self {
        HealthState(Arc::new(RwLock::new(Health::Ready)))
    }
}

impl HealthState {
    /// The latest judgement.
    pub fn get(&self) -> Health {
        match self.0.read() {
            Ok(health) => health.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the judgement.
    pub fn set(&self, health: Health) {
        match self.0.write() {
            Ok(mut slot) => *slot = health,
            Err(poisoned) => *poisoned.into_inner() = health,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);
    const SECOND: Duration = Duration::from_secs(1);

    fn progress(entered: u64, judged: u64, shed: u64, forwarded: u64, lost: u64) -> Progress {
        Progress {
            entered,
            judged,
            shed,
            forwarded,
            forward_lost: lost,
        }
    }

    #[test]
    fn idle_and_busy_pipelines_are_ready() {
        let t0 = Instant::now();
        let mut judge = HealthJudge::new(WINDOW);
        for s in 0..30 {
            assert_eq!(
                judge.observe(t0 + SECOND * s, Progress::default()),
                Health::Ready
            );
        }
        let mut judge = HealthJudge::new(WINDOW);
        for s in 0..30u64 {
            let p = progress(100 * s, 90 * s, 10 * s, 80 * s, 0);
            assert_eq!(judge.observe(t0 + SECOND * s as u32, p), Health::Ready);
        }
    }

    #[test]
    fn entering_with_nothing_judged_for_a_window_is_a_stall() {
        let t0 = Instant::now();
        let mut judge = HealthJudge::new(WINDOW);
        // Working, then the verify stage stops: transactions keep entering and
        // are shed in front of it.
        for s in 0..5u64 {
            judge.observe(
                t0 + SECOND * s as u32,
                progress(10 * s, 10 * s, 0, 10 * s, 0),
            );
        }
        let mut verdicts = Vec::new();
        for s in 5..20u64 {
            let p = progress(10 * s, 40, 10 * (s - 4), 40, 0);
            verdicts.push(judge.observe(t0 + SECOND * s as u32, p));
        }
        // A window after the last judged transaction (s = 4), not before.
        assert!(verdicts[..9].iter().all(Health::is_live), "{verdicts:?}");
        assert!(matches!(&verdicts[9], Health::Stalled(why) if why.contains("no stage judged")));
        assert!(!verdicts[14].is_live());
        // It recovers once a transaction is judged again.
        let mut last = Health::Ready;
        for s in 20..32u64 {
            last = judge.observe(
                t0 + SECOND * s as u32,
                progress(10 * s, 40 + s, 0, 40 + s, 0),
            );
        }
        assert_eq!(last, Health::Ready);
    }

    #[test]
    fn a_forwarder_that_delivers_nothing_is_not_ready_but_live() {
        let t0 = Instant::now();
        let mut judge = HealthJudge::new(WINDOW);
        let mut last = Health::Ready;
        for s in 0..12u64 {
            last = judge.observe(
                t0 + SECOND * s as u32,
                progress(10 * s, 10 * s, 0, 0, 10 * s),
            );
        }
        assert!(last.is_live() && !last.is_ready(), "{last:?}");
        assert!(last.describe().contains("delivered none"));
    }

    #[test]
    fn a_quiet_stretch_ends_no_judgement_early() {
        // Snapshots may be irregular; the baseline is always a window old.
        let t0 = Instant::now();
        let mut judge = HealthJudge::new(WINDOW);
        judge.observe(t0, Progress::default());
        assert_eq!(
            judge.observe(t0 + SECOND * 3, progress(5, 0, 0, 0, 0)),
            Health::Ready,
            "under a window: no judgement yet"
        );
        assert!(!judge
            .observe(t0 + SECOND * 11, progress(9, 0, 0, 0, 0))
            .is_live());
    }
}
