//! Connection pacing for the forwarder: at most N new connections per
//! sliding minute, because Agave refuses more than 8 per IP per minute and a
//! refused forwarder would lose everything queued behind it; and when to dial
//! again after a connection is lost, fails or stalls ([`Dialer`]).
//!
//! Pure: takes `now`, never sleeps; the forwarder's loop dials beside its
//! main work and keeps taking, expiring and counting transactions meanwhile.

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

/// When to dial the validator.
///
/// The first dial, and the first after a connection that delivered, go at
/// once (a validator restart or a dropped connection costs one handshake).
/// After a failure (the handshake failed, the connection stalled, or it
/// ended without delivering anything) dials are spaced by the pacer's
/// window over its budget: 7.5 s for 8 a minute. That spacing is the most
/// an outage's end waits for the next dial, and keeps a long outage inside
/// the budget, so the pacer's own (up to a minute long) wait is rarely hit.
#[derive(Debug)]
pub struct Dialer {
    pacer: ConnectPacer,
    spacing: Duration,
    failing: bool,
    last_dial: Option<Instant>,
}

impl Dialer {
    /// At most `per_window` dials (at least one) in any `window`.
    pub fn new(per_window: usize, window: Duration) -> Self {
        let per_window = per_window.max(1);
        let spacing = window / u32::try_from(per_window).unwrap_or(u32::MAX);
        Dialer {
            pacer: ConnectPacer::new(per_window, window),
            spacing,
            failing: false,
            last_dial: None,
        }
    }

    /// Whether to dial at `now`; a dial allowed is recorded as made.
    ///
    /// # Errors
    /// The earliest time a dial will be allowed.
    pub fn try_dial(&mut self, now: Instant) -> Result<(), Instant> {
        if let (true, Some(last)) = (self.failing, self.last_dial) {
            let earliest = last + self.spacing;
            if earliest > now {
                return Err(earliest);
            }
        }
        self.pacer.try_attempt(now).map_err(|wait| now + wait)?;
        self.last_dial = Some(now);
        Ok(())
    }

    /// The dial failed, or its connection stalled or ended without
    /// delivering anything: the next dial waits out the spacing.
    pub fn failed(&mut self) {
        self.failing = true;
    }

    /// A transaction was delivered: the validator is healthy, and losing the
    /// connection later redials at once.
    pub fn delivered(&mut self) {
        self.failing = false;
    }

    /// The spacing between dials while failing.
    pub fn spacing(&self) -> Duration {
        self.spacing
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

    #[test]
    fn the_first_dial_and_a_redial_after_delivering_go_at_once() {
        let t0 = Instant::now();
        let mut dialer = Dialer::new(8, MINUTE);
        assert_eq!(dialer.try_dial(t0), Ok(()));
        dialer.delivered();
        // The connection is lost a second later: redial at once.
        assert_eq!(dialer.try_dial(t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn after_a_failure_dials_are_spaced_by_the_budget() {
        let t0 = Instant::now();
        let mut dialer = Dialer::new(8, MINUTE);
        assert_eq!(dialer.spacing(), Duration::from_millis(7500));
        assert_eq!(dialer.try_dial(t0), Ok(()));
        dialer.failed();
        let next = t0 + Duration::from_millis(7500);
        assert_eq!(dialer.try_dial(t0 + Duration::from_secs(2)), Err(next));
        assert_eq!(dialer.try_dial(next), Ok(()));
        // Delivering ends the failing state.
        dialer.delivered();
        assert_eq!(dialer.try_dial(next + Duration::from_millis(1)), Ok(()));
    }

    #[test]
    fn a_long_outage_stays_within_the_budget_and_never_waits_long() {
        // A validator that is gone for ten minutes; each dial fails after a
        // two-second handshake timeout; the loop asks every 50 ms.
        let t0 = Instant::now();
        let mut dialer = Dialer::new(8, MINUTE);
        let mut dials = Vec::new();
        let mut now = t0;
        while now < t0 + 10 * MINUTE {
            if dialer.try_dial(now).is_ok() {
                dials.push(now);
                dialer.failed();
                now += Duration::from_secs(2);
            }
            now += Duration::from_millis(50);
        }
        for window in dials.windows(9) {
            assert!(
                window[8].duration_since(window[0]) >= MINUTE,
                "nine dials inside a minute"
            );
        }
        let longest = dials
            .windows(2)
            .map(|pair| pair[1].duration_since(pair[0]))
            .max()
            .expect("several dials");
        assert!(
            longest <= Duration::from_millis(7550),
            "the validator's return waits at most the spacing, not {longest:?}"
        );
    }

    #[test]
    fn the_pacer_still_binds_a_validator_that_delivers_and_drops() {
        let t0 = Instant::now();
        let mut dialer = Dialer::new(2, MINUTE);
        for i in 0..2 {
            assert_eq!(dialer.try_dial(t0 + Duration::from_secs(i)), Ok(()));
            dialer.delivered();
        }
        assert_eq!(
            dialer.try_dial(t0 + Duration::from_secs(2)),
            Err(t0 + MINUTE)
        );
    }
}
