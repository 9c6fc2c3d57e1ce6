//! The map side of the verdict chain: [`Maps`] answers the chain's
//! [`Tables`] questions from the BPF maps, and [`count`] books the verdict.
//! The decisions themselves are in `rampart_common::packet`.

use aya_ebpf::{helpers::bpf_ktime_get_ns, maps::lpm_trie::Key};
use rampart_common::{
    maps::{counter_index, RateLimit, DEFAULT_QUIC_CID_LEN},
    packet::{bucket, Cursor, Judgement, Source, Tables},
};

use crate::{
    packet::XdpFrame, RP_ALLOW4, RP_ALLOW6, RP_BUCKETS, RP_CONFIG, RP_COUNTERS, RP_DENY4, RP_DENY6,
    RP_PORTS, RP_RATE4, RP_RATE6, RP_TALKERS,
};

/// The filter's BPF maps, as the chain's [`Tables`].
pub struct Maps;

impl Tables for Maps {
    #[inline(always)]
    fn port_row(&self, port: u16) -> Option<u32> {
        match RP_PORTS.get(port as u32) {
            Some(&slot) if slot != 0 => Some(slot - 1),
            _ => None,
        }
    }

    #[inline(always)]
    fn allowed(&self, source: Source) -> bool {
        match source {
            Source::V4(addr) => RP_ALLOW4.get(Key::new(32, addr)).is_some(),
            Source::V6(addr) => RP_ALLOW6.get(Key::new(128, addr)).is_some(),
        }
    }

    #[inline(always)]
    fn denied(&self, source: Source) -> bool {
        let entry = match source {
            Source::V4(addr) => RP_DENY4.get(Key::new(32, addr)),
            Source::V6(addr) => RP_DENY6.get(Key::new(128, addr)),
        };
        match entry {
            // The clock is read only for entries that expire.
            Some(entry) => entry.expires_at_ns == 0 || now() < entry.expires_at_ns,
            None => false,
        }
    }

    #[inline(always)]
    fn rate_limited(&mut self, source: Source, bytes: u64) -> bool {
        let rule = match source {
            Source::V4(addr) => RP_RATE4.get(Key::new(32, addr)),
            Source::V6(addr) => RP_RATE6.get(Key::new(128, addr)),
        };
        let limit: RateLimit = match rule {
            Some(rule) => *rule,
            None => match RP_CONFIG.get(0) {
                Some(config) => config.rate,
                None => return false,
            },
        };
        if bucket::is_unlimited(&limit) {
            return false;
        }
        let now = now();
        let key = source.key();
        let Some(stored) = RP_BUCKETS.get_ptr_mut(&key) else {
            let (fresh, limited) = bucket::first(&limit, now, bytes);
            let _ = RP_BUCKETS.insert(&key, &fresh, 0);
            return limited;
        };
        // Safety: the pointer is to this map's value and valid for this program
        // run; concurrent updates from other CPUs make the bucket approximate,
        // not unsafe.
        bucket::take(unsafe { &mut *stored }, &limit, now, bytes)
    }

    #[inline(always)]
    fn quic_cid_len(&self) -> usize {
        RP_CONFIG
            .get(0)
            .map_or(DEFAULT_QUIC_CID_LEN, |config| config.quic_cid_len) as usize
    }
}

/// CLOCK_MONOTONIC nanoseconds.
#[inline(always)]
fn now() -> u64 {
    // Safety: a helper with no arguments or side effects.
    unsafe { bpf_ktime_get_ns() }
}

/// Adds the frame to its verdict counter, and a drop to its source's tally.
#[inline(always)]
pub fn count(frame: &XdpFrame, judgement: &Judgement) {
    let verdict = judgement.verdict;
    let index = counter_index(judgement.row, verdict as u32);
    let Some(counter) = RP_COUNTERS.get_ptr_mut(index) else {
        return;
    };
    // Safety: per-CPU slot of this map, only this CPU writes it now.
    let packets = unsafe {
        (*counter).packets += 1;
        (*counter).bytes += frame.frame_len() as u64;
        (*counter).packets
    };
    if !verdict.is_drop() {
        return;
    }
    let Some(source) = judgement.source else {
        return;
    };
    // Top talkers are sampled: one drop in 2^shift (per CPU and verdict) is
    // recorded with weight 2^shift. A hash update on every dropped frame
    // would cost more than the rest of the deny path.
    let shift = RP_CONFIG
        .get(0)
        .map_or(0, |config| config.talker_sample_shift)
        & 31;
    let mask = (1u64 << shift) - 1;
    if packets & mask != 0 {
        return;
    }
    let weight = 1u64 << shift;
    let key = source.key();
    match RP_TALKERS.get_ptr_mut(&key) {
        // Safety: valid map value pointer; the count is approximate across
        // CPUs, which top-talker ranking tolerates.
        Some(drops) => unsafe { *drops += weight },
        None => {
            let _ = RP_TALKERS.insert(&key, &weight, 0);
        }
    }
}
