//! Duplicate suppression, in bounded memory: once before verification and
//! once after.
//!
//! - **Forwarded recently**: a keyed hash of the first signature over a time
//!   window. Two generations of 64-bit tags: lookups check both, inserts go to
//!   the current one, and every window (or when the current one is full) the
//!   older is dropped. A tag lives at most two windows, and less when a flood
//!   of distinct transactions fills a generation early. Only
//!   transactions that verified are inserted, so a corrupt copy sent first can
//!   never shadow the valid one (Firedancer does the same: check before
//!   verify, insert after).
//! - **In flight**: a keyed hash of the whole bytes of every transaction now
//!   being verified. An identical copy that arrives meanwhile is a duplicate
//!   at once and costs no verification. Whole bytes, not the first signature:
//!   a corrupt copy with the same signature is not identical, so it cannot
//!   make the valid one look like a duplicate.
//!
//! The hashes are SipHash keyed with a per-boot random seed, so peers cannot
//! aim collisions. Pure: takes `now`, does no I/O.

use std::{
    collections::{HashMap, HashSet},
    hash::Hasher,
    time::{Duration, Instant},
};

use siphasher::sip::SipHasher13;

/// What to do with a transaction before verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// New: verify it (it is now in flight).
    Verify,
    /// Forwarded within the window, or an identical copy is being verified.
    Duplicate,
}

/// Recently forwarded transactions (by first signature) and those in flight
/// (by whole content).
#[derive(Debug)]
pub struct Dedup {
    keys: (u64, u64),
    current: HashSet<u64>,
    previous: HashSet<u64>,
    window: Duration,
    rotated_at: Instant,
    max_per_generation: usize,
    /// Content tag → copies admitted and not yet settled (always 1 unless
    /// tags collide).
    in_flight: HashMap<u64, u32>,
    /// The sum of `in_flight`'s values, kept so the gauge costs nothing.
    in_flight_total: usize,
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
            in_flight: HashMap::new(),
            in_flight_total: 0,
        }
    }

    fn hash(&self, bytes: &[u8], domain: u8) -> u64 {
        let mut hasher = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        hasher.write_u8(domain);
        hasher.write(bytes);
        hasher.finish()
    }

    fn tag(&self, signature: &[u8; 64]) -> u64 {
        self.hash(signature, 0)
    }

    /// The keyed hash of a transaction's whole bytes, its identity in flight.
    pub fn content_tag(&self, bytes: &[u8]) -> u64 {
        self.hash(bytes, 1)
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

    /// Before verification: a duplicate if forwarded within the window or if
    /// an identical copy (same `content` tag) is in flight; otherwise it is
    /// now in flight until [`settle`](Self::settle).
    pub fn admit(&mut self, signature: &[u8; 64], content: u64, now: Instant) -> Admit {
        if self.contains(signature, now) || self.in_flight.contains_key(&content) {
            return Admit::Duplicate;
        }
        *self.in_flight.entry(content).or_insert(0) += 1;
        self.in_flight_total += 1;
        Admit::Verify
    }

    /// After verification of an admitted transaction: it leaves flight, and
    /// if `valid` it is remembered. Returns whether to forward it (valid and
    /// not forwarded meanwhile under the same first signature).
    pub fn settle(
        &mut self,
        signature: &[u8; 64],
        content: u64,
        valid: bool,
        now: Instant,
    ) -> bool {
        if let Some(count) = self.in_flight.get_mut(&content) {
            *count -= 1;
            self.in_flight_total -= 1;
            if *count == 0 {
                self.in_flight.remove(&content);
            }
        }
        valid && self.insert(signature, now)
    }

    /// Transactions admitted and not yet settled (a gauge; bounded by the
    /// verify stage's batches in flight).
    pub fn in_flight(&self) -> usize {
        self.in_flight_total
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
        assert_ne!(a.content_tag(&[5; 64]), a.tag(&[5; 64]), "domains differ");
    }

    #[test]
    fn an_identical_copy_in_flight_is_a_duplicate_without_verification() {
        let now = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(2), 100, (1, 2), now);
        let (sig, tx) = ([1u8; 64], b"the whole transaction".as_slice());
        let content = dedup.content_tag(tx);
        assert_eq!(dedup.admit(&sig, content, now), Admit::Verify);
        assert_eq!(dedup.admit(&sig, content, now), Admit::Duplicate);
        assert_eq!(dedup.in_flight(), 1);
        assert!(dedup.settle(&sig, content, true, now));
        assert_eq!(dedup.in_flight(), 0);
        // Forwarded: every later copy is a duplicate by signature.
        assert_eq!(dedup.admit(&sig, content, now), Admit::Duplicate);
    }

    #[test]
    fn a_corrupt_copy_in_flight_does_not_shadow_the_valid_one() {
        let now = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(2), 100, (1, 2), now);
        let sig = [1u8; 64];
        let corrupt = dedup.content_tag(b"same signature, other message");
        let valid = dedup.content_tag(b"the signed message");
        assert_eq!(dedup.admit(&sig, corrupt, now), Admit::Verify);
        assert_eq!(dedup.admit(&sig, valid, now), Admit::Verify);
        assert!(
            !dedup.settle(&sig, corrupt, false, now),
            "invalid: not forwarded"
        );
        assert!(dedup.settle(&sig, valid, true, now), "valid: forwarded");
        assert_eq!(dedup.in_flight(), 0);
    }

    #[test]
    fn two_valid_variants_in_flight_forward_once() {
        let now = Instant::now();
        let mut dedup = Dedup::new(Duration::from_secs(2), 100, (1, 2), now);
        let sig = [2u8; 64];
        let (a, b) = (dedup.content_tag(b"a"), dedup.content_tag(b"b"));
        assert_eq!(dedup.admit(&sig, a, now), Admit::Verify);
        assert_eq!(dedup.admit(&sig, b, now), Admit::Verify);
        assert!(dedup.settle(&sig, a, true, now));
        assert!(
            !dedup.settle(&sig, b, true, now),
            "second valid copy is a duplicate"
        );
    }
}
