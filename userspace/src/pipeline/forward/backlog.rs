//! The forwarder's backlog: what it holds while the validator is away or
//! every stream is busy, and which transaction goes next.
//!
//! Freshest first: after an outage the transactions that still have most of
//! their blockhash's life left go before the ones that waited it out (their
//! clients have likely resent them by now). Anything older than the maximum
//! age is expired rather than forwarded, and when the backlog is full the
//! oldest makes room for the newcomer.
//!
//! Pure: takes `now`, never sleeps, knows nothing of QUIC.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// A bounded backlog, ordered by when each transaction was received.
#[derive(Debug)]
pub struct Backlog<T> {
    /// Oldest at the front, freshest at the back.
    items: VecDeque<(Instant, T)>,
    capacity: usize,
    max_age: Duration,
}

impl<T> Backlog<T> {
    /// Holds at most `capacity` (at least one) transactions, each for at most
    /// `max_age` after it was received.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        let capacity = capacity.max(1);
        Backlog {
            items: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            max_age,
        }
    }

    /// Holds `item`, received at `received`. When the backlog is full the
    /// oldest transaction is handed back to be counted as evicted; that is
    /// `item` itself when nothing held is older.
    pub fn push(&mut self, received: Instant, item: T) -> Option<T> {
        // Arrivals are nearly in order: search from the back.
        let at = self
            .items
            .iter()
            .rposition(|(held, _)| *held <= received)
            .map_or(0, |i| i + 1);
        self.items.insert(at, (received, item));
        if self.items.len() > self.capacity {
            return self.items.pop_front().map(|(_, item)| item);
        }
        None
    }

    /// Drops every transaction older than the maximum age at `now`; returns
    /// how many, to be counted as expired.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut expired = 0;
        while self
            .items
            .front()
            .is_some_and(|(received, _)| is_expired(*received, now, self.max_age))
        {
            self.items.pop_front();
            expired += 1;
        }
        expired
    }

    /// Takes the freshest transaction, unless even that one is too old at
    /// `now` (then everything held is, and [`Backlog::expire`] counts it).
    pub fn pop_freshest(&mut self, now: Instant) -> Option<T> {
        let (received, _) = self.items.back()?;
        if is_expired(*received, now, self.max_age) {
            return None;
        }
        self.items.pop_back().map(|(_, item)| item)
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Whether a transaction received at `received` is too old to forward at
/// `now`: strictly older than `max_age`.
pub fn is_expired(received: Instant, now: Instant, max_age: Duration) -> bool {
    now.saturating_duration_since(received) > max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Duration = Duration::from_secs(5);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn freshest_goes_first() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(16, AGE);
        for i in 0..4u64 {
            assert!(backlog.push(t0 + ms(i), i).is_none());
        }
        let now = t0 + ms(10);
        let order: Vec<u64> = std::iter::from_fn(|| backlog.pop_freshest(now)).collect();
        assert_eq!(order, [3, 2, 1, 0]);
        assert!(backlog.is_empty());
    }

    #[test]
    fn a_late_arrival_takes_its_place_by_age() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(16, AGE);
        backlog.push(t0 + ms(10), "b");
        backlog.push(t0 + ms(30), "d");
        backlog.push(t0 + ms(20), "c");
        backlog.push(t0, "a");
        let now = t0 + ms(40);
        let order: Vec<&str> = std::iter::from_fn(|| backlog.pop_freshest(now)).collect();
        assert_eq!(order, ["d", "c", "b", "a"]);
    }

    #[test]
    fn stale_ones_expire_and_fresh_ones_stay() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(16, AGE);
        for i in 0..3u64 {
            backlog.push(t0 + Duration::from_secs(i), i);
        }
        // Exactly the maximum age is still fresh.
        assert_eq!(backlog.expire(t0 + AGE), 0);
        assert_eq!(backlog.expire(t0 + AGE + ms(1)), 1);
        assert_eq!(backlog.len(), 2);
        assert_eq!(backlog.expire(t0 + AGE + Duration::from_secs(10)), 2);
        assert!(backlog.is_empty());
    }

    #[test]
    fn nothing_stale_is_ever_handed_out() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(16, AGE);
        backlog.push(t0, 0u64);
        backlog.push(t0 + ms(100), 1);
        let late = t0 + AGE + ms(200);
        assert_eq!(backlog.pop_freshest(late), None, "both are too old");
        assert_eq!(backlog.len(), 2, "left for expire() to count");
        assert_eq!(backlog.expire(late), 2);
    }

    #[test]
    fn a_full_backlog_evicts_the_oldest_for_a_newcomer() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(3, AGE);
        for i in 0..3u64 {
            assert!(backlog.push(t0 + ms(i), i).is_none());
        }
        assert_eq!(backlog.push(t0 + ms(10), 10), Some(0));
        // A newcomer older than everything held is the one that goes.
        assert_eq!(backlog.push(t0, 99), Some(99));
        assert_eq!(backlog.len(), 3);
        let now = t0 + ms(20);
        let order: Vec<u64> = std::iter::from_fn(|| backlog.pop_freshest(now)).collect();
        assert_eq!(order, [10, 2, 1]);
    }

    #[test]
    fn a_zero_capacity_still_holds_one() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(0, AGE);
        assert!(backlog.push(t0, 1u64).is_none());
        assert_eq!(backlog.push(t0 + ms(1), 2), Some(1));
    }
}
