//! Duplicate suppression on a keyed hash of the first signature, over a time
//! window, in bounded memory.
//!
//! Two generations of 64-bit tags: lookups check both, inserts go to the
//! current one, and every window (or when the current one is full) the older is
//! dropped. A tag lives between one and two windows. The hash is SipHash keyed
//! with a per-boot random seed, so peers cannot aim collisions. Only
//! transactions that verified are inserted, so a corrupt copy sent first can
//! never shadow the valid one (Firedancer does the same: check before verify,
//! insert after).
//!
//! Pure: takes `now`, does no I/O.

use std::{
    collections::HashSet,
    hash::Hasher,
    time::{Duration, Instant},
};

use siphasher::sip::SipHasher13;

/// Recently forwarded transactions, by first signature.
#[derive(Debug)]
pub struct Dedup {
    keys: (u64, u64),
    current: HashSet<u64>,
    previous: HashSet<u64>,
    window: Duration,
    rotated_at: Instant,
    max_per_generation: usize,
}

impl Dedup {
    /// A filter remembering signatures for `window` to `2 × window`, at most
    /// `max_per_generation` per window, seeded with `keys`.
    pub fn new(
        window: Duration,
        max_per_generation: usize,
        keys: (u64, u64),
        now: Instant,
    ) -> Self {
        Dedup {
            keys,
            current: HashSet::with_capacity(max_per_generation.min(1 << 20)),
            previous: HashSet::new(),
            window,
            rotated_at: now,
            max_per_generation: max_per_generation.max(1),
        }
    }

    fn tag(&self, signature: &[u8; 64]) -> u64 {
        let mut hasher = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        hasher.write(signature);
        hasher.finish()
    }

    fn rotate_if_due(&mut self, now: Instant) {
        if now.duration_since(self.rotated_at) >= self.window
            || self.current.len() >= self.max_per_generation
        {
            self.previous = std::mem::take(&mut self.current);
            self.rotated_at = now;
        }
    }

    /// Whether `signature` was inserted within the window.
    pub fn contains(&mut self, signature: &[u8; 64], now: Instant) -> bool {
        self.rotate_if_due(now);
        let tag = self.tag(signature);
        self.current.contains(&tag) || self.previous.contains(&tag)
    }

    /// Records `signature`; false if it was already there (a duplicate).
    pub fn insert(&mut self, signature: &[u8; 64], now: Instant) -> bool {
        if self.contains(signature, now) {
            return false;
        }
        let tag = self.tag(signature);
        self.current.insert(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_a_window_and_forgets_after_two() {
        let start = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(2), 1000, (1, 2), start);
        let sig = [7u8; 64];
        assert!(!dedup.contains(&sig, start));
        assert!(dedup.insert(&sig, start));
        assert!(!dedup.insert(&sig, start + Duration::from_millis(1900)));
        assert!(dedup.contains(&sig, start + Duration::from_millis(3000)));
        // The next rotation (a window after the last) drops it.
        assert!(!dedup.contains(&sig, start + Duration::from_millis(5100)));
    }

    #[test]
    fn memory_is_bounded() {
        let start = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(100), 10, (3, 4), start);
        for i in 0..100u8 {
            let mut sig = [0u8; 64];
            sig[0] = i;
            dedup.insert(&sig, start);
        }
        assert!(dedup.current.len() <= 10 && dedup.previous.len() <= 10);
    }

    #[test]
    fn different_seeds_give_different_tags() {
        let now = Instant::now();
        let a = Dedup::new(Duration::from_secs(1), 10, (1, 1), now);
        let b = Dedup::new(Duration::from_secs(1), 10, (1, 2), now);
        assert_ne!(a.tag(&[5; 64]), b.tag(&[5; 64]));
    }
}
