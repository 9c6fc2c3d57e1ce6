//! Connection pacing for the forwarder: at most N new connections per
//! sliding minute, because Agave refuses more than 8 per IP per minute and a
//! refused forwarder would lose everything queued behind it.
//!
//! Pure: takes `now`, never sleeps; the forwarder's loop decides what to do
//! while it waits.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// A sliding-window budget of connection attempts.
#[derive(Debug)]
pub struct ConnectPacer {
    window: Duration,
    per_window: usize,
    attempts: VecDeque<Instant>,
}

impl ConnectPacer {
    /// At most `per_window` attempts (at least one) in any `window`.
    pub fn new(per_window: usize, window: Duration) -> Self {
        let per_window = per_window.max(1);
        ConnectPacer {
            window,
            per_window,
            attempts: VecDeque::with_capacity(per_window),
        }
    }

    /// Records an attempt at `now` if the budget allows one; otherwise says
    /// how long until it will.
    ///
    /// # Errors
    /// The wait until the oldest attempt in the window expires.
    pub fn try_attempt(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .attempts
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.window)
        {
            self.attempts.pop_front();
        }
        if self.attempts.len() >= self.per_window {
            let oldest = self.attempts.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        self.attempts.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn eight_attempts_a_minute_then_a_wait_for_the_oldest_to_expire() {
        let t0 = Instant::now();
        let mut pacer = ConnectPacer::new(8, MINUTE);
        for i in 0..8 {
            assert_eq!(pacer.try_attempt(t0 + Duration::from_secs(i)), Ok(()));
        }
        let at = t0 + Duration::from_secs(10);
        assert_eq!(pacer.try_attempt(at), Err(Duration::from_secs(50)));
        // The refusal is not an attempt: the wait is unchanged.
        assert_eq!(pacer.try_attempt(at), Err(Duration::from_secs(50)));
        assert_eq!(
            pacer.try_attempt(t0 + MINUTE),
            Ok(()),
            "the first one expired"
        );
        assert_eq!(
            pacer.try_attempt(t0 + MINUTE),
            Err(Duration::from_secs(1)),
            "the second expires a second later"
        );
    }

    #[test]
    fn a_zero_budget_still_allows_one() {
        let t0 = Instant::now();
        let mut pacer = ConnectPacer::new(0, MINUTE);
        assert_eq!(pacer.try_attempt(t0), Ok(()));
        assert!(pacer.try_attempt(t0).is_err());
    }
}
