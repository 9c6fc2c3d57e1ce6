//! Deadlines on the forward connection: each transaction's stream must get
//! stream credit, be written, and be acknowledged in time, or the connection
//! is judged stalled (to be closed and replaced, and every transaction still
//! on it counted as failed).
//!
//! A validator can keep a connection alive with keep-alives while granting no
//! stream credit, or stop acknowledging; without these deadlines every stream
//! slot would wait on it for good.
//!
//! Pure: takes `now`; the forwarder's loop reports each stream's progress and
//! asks [`Watchdog::check`] on every tick.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// Where a transaction's stream is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// For stream credit (`open_uni`).
    Open,
    /// For flow-control credit to write it and its FIN.
    Write,
    /// For the validator to acknowledge all of it.
    Ack,
}

impl Phase {
    /// A stable name for logs.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Open => "open",
            Phase::Write => "write",
            Phase::Ack => "ack",
        }
    }
}

/// How long each phase may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Stream credit: no stream granted on the connection for this long while
    /// one waits. Streams queueing behind a validator's concurrent-stream
    /// limit are not a stall as long as some get through.
    pub open: Duration,
    /// From stream credit to the last byte and FIN accepted by flow control.
    pub write: Duration,
    /// From FIN to the validator's acknowledgement of every byte.
    pub ack: Duration,
}

/// The streams in flight on one connection and when each entered its phase.
#[derive(Debug)]
pub struct Watchdog {
    deadlines: Deadlines,
    streams: HashMap<u64, (Phase, Instant)>,
    /// When the connection last granted a stream (or was made).
    last_granted: Instant,
}

impl Watchdog {
    /// A watchdog for a connection made at `now`.
    pub fn new(deadlines: Deadlines, now: Instant) -> Self {
        Watchdog {
            deadlines,
            streams: HashMap::new(),
            last_granted: now,
        }
    }

    /// Stream `id` starts at `now`, waiting for credit.
    pub fn start(&mut self, id: u64, now: Instant) {
        self.streams.insert(id, (Phase::Open, now));
    }

    /// Stream `id` moved on to `phase` at `now`. Ignored for a stream not
    /// tracked (already finished or drained).
    pub fn advance(&mut self, id: u64, phase: Phase, now: Instant) {
        if let Some(entry) = self.streams.get_mut(&id) {
            if entry.0 == Phase::Open && phase != Phase::Open {
                self.last_granted = self.last_granted.max(now);
            }
            *entry = (phase, now);
        }
    }

    /// Stream `id` ended (delivered or failed). Returns whether it was
    /// tracked: only then does its outcome count, so nothing counts twice.
    pub fn finish(&mut self, id: u64) -> bool {
        self.streams.remove(&id).is_some()
    }

    /// The phase whose deadline the connection missed at `now`, if any.
    pub fn check(&self, now: Instant) -> Option<Phase> {
        let mut oldest_open: Option<Instant> = None;
        for &(phase, since) in self.streams.values() {
            let late = |limit: Duration| now.saturating_duration_since(since) > limit;
            match phase {
                Phase::Open => {
                    oldest_open = Some(oldest_open.map_or(since, |o| o.min(since)));
                }
                Phase::Write if late(self.deadlines.write) => return Some(Phase::Write),
                Phase::Ack if late(self.deadlines.ack) => return Some(Phase::Ack),
                Phase::Write | Phase::Ack => {}
            }
        }
        let waiting_since = oldest_open?.max(self.last_granted);
        (now.saturating_duration_since(waiting_since) > self.deadlines.open).then_some(Phase::Open)
    }

    /// Forgets every stream (the connection is gone); returns how many were
    /// in flight, to be counted as failed.
    pub fn drain(&mut self) -> usize {
        let n = self.streams.len();
        self.streams.clear();
        n
    }

    /// Streams in flight.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream is in flight.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINES: Deadlines = Deadlines {
        open: Duration::from_secs(2),
        write: Duration::from_secs(2),
        ack: Duration::from_secs(5),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn no_stream_credit_is_a_stall_after_the_open_deadline() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(DEADLINES, t0);
        dog.start(1, t0 + ms(100));
        dog.start(2, t0 + ms(200));
        assert_eq!(dog.check(t0 + ms(2100)), None, "exactly the deadline");
        assert_eq!(dog.check(t0 + ms(2101)), Some(Phase::Open));
    }

    #[test]
    fn streams_queueing_behind_a_stream_limit_are_not_a_stall() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(DEADLINES, t0);
        // Stream 1 waits a long time, but others keep getting credit.
        dog.start(1, t0);
        for i in 0..10u64 {
            let at = t0 + ms(500 * i);
            dog.start(100 + i, at);
            dog.advance(100 + i, Phase::Write, at + ms(10));
            dog.advance(100 + i, Phase::Ack, at + ms(20));
            assert!(dog.finish(100 + i));
            assert_eq!(dog.check(at + ms(30)), None);
        }
        // Then credit stops: two seconds after the last grant, it is a stall.
        let last = t0 + ms(4510);
        assert_eq!(dog.check(last + DEADLINES.open), None);
        assert_eq!(dog.check(last + DEADLINES.open + ms(1)), Some(Phase::Open));
    }

    #[test]
    fn a_write_held_by_flow_control_is_a_stall() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(DEADLINES, t0);
        dog.start(1, t0);
        dog.advance(1, Phase::Write, t0 + ms(1));
        assert_eq!(dog.check(t0 + ms(2001)), None);
        assert_eq!(dog.check(t0 + ms(2002)), Some(Phase::Write));
    }

    #[test]
    fn a_missing_acknowledgement_is_a_stall() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(DEADLINES, t0);
        dog.start(1, t0);
        dog.advance(1, Phase::Write, t0);
        dog.advance(1, Phase::Ack, t0 + ms(1));
        assert_eq!(dog.check(t0 + ms(5001)), None);
        assert_eq!(dog.check(t0 + ms(5002)), Some(Phase::Ack));
    }

    #[test]
    fn an_idle_connection_is_never_stalled() {
        let t0 = Instant::now();
        let dog = Watchdog::new(DEADLINES, t0);
        assert_eq!(dog.check(t0 + Duration::from_secs(3600)), None);
    }

    #[test]
    fn each_stream_counts_once() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(DEADLINES, t0);
        for id in 0..3 {
            dog.start(id, t0);
        }
        assert!(dog.finish(0));
        assert!(!dog.finish(0), "a second outcome for the same stream");
        assert_eq!(dog.drain(), 2);
        assert!(!dog.finish(1), "drained streams were counted already");
        dog.advance(2, Phase::Ack, t0);
        assert!(dog.is_empty(), "progress of a drained stream is ignored");
    }
}
