//! Token-bucket arithmetic for the per-source rate limit, apart from the
//! maps that hold the buckets (the kernel's LRU map, or a test's memory).
//!
//! Pure: the caller passes the clock. Buckets count in 1/[`TOKEN_SCALE`] of
//! a packet or byte, so the refill is exact at nanosecond resolution. No
//! stored limit or bucket (userspace writes both) makes the arithmetic wrap
//! or panic: every factor is clamped to its documented bound first, so no
//! product overflows, and every sum saturates. (A saturating multiply would
//! need a 128-bit multiply, which BPF does not have.)

use crate::maps::{Bucket, RateLimit, MAX_BURST, MAX_RATE, TOKEN_SCALE};

/// Longest time a bucket refills for in one step, so `elapsed × rate` cannot
/// overflow (10 s × 10^9/s < 2^64).
pub const MAX_REFILL_NS: u64 = 10_000_000_000;

/// Largest frame length the arithmetic takes (far above any MTU), so
/// `bytes × TOKEN_SCALE` fits in 64 bits.
const MAX_COST_BYTES: u64 = 1 << 32;

/// `value` in token units, for a `value` of at most `max` (≤ 2^32).
#[inline(always)]
fn tokens(value: u64, max: u64) -> u64 {
    value.min(max) * TOKEN_SCALE
}

/// Tokens `rate` per second adds in `elapsed_ns` (at most [`MAX_REFILL_NS`]).
#[inline(always)]
fn refill(elapsed_ns: u64, rate: u64) -> u64 {
    elapsed_ns.min(MAX_REFILL_NS) * rate.min(MAX_RATE)
}

/// Whether `limit` limits anything (a zero rate disables its dimension).
#[inline(always)]
pub fn is_unlimited(limit: &RateLimit) -> bool {
    limit.pps == 0 && limit.bps == 0
}

/// A source's first packet of `bytes`: its new bucket (full, less this
/// packet) and whether this packet is over the limit already (a zero burst).
#[inline(always)]
pub fn first(limit: &RateLimit, now: u64, bytes: u64) -> (Bucket, bool) {
    let packet_cost = TOKEN_SCALE;
    let byte_cost = tokens(bytes, MAX_COST_BYTES);
    let burst_packets = tokens(limit.burst_packets, MAX_BURST);
    let burst_bytes = tokens(limit.burst_bytes, MAX_BURST);
    let bucket = Bucket {
        packet_tokens: burst_packets.saturating_sub(packet_cost),
        byte_tokens: burst_bytes.saturating_sub(byte_cost),
        last_ns: now,
    };
    let limited =
        (limit.pps != 0 && limit.burst_packets == 0) || (limit.bps != 0 && burst_bytes < byte_cost);
    (bucket, limited)
}

/// Refills `bucket` for the time since it was last touched, then takes one
/// packet of `bytes` from it. True if either dimension was short. Packet
/// tokens are taken when there are enough of them; byte tokens only when
/// both dimensions had enough.
#[inline(always)]
pub fn take(bucket: &mut Bucket, limit: &RateLimit, now: u64, bytes: u64) -> bool {
    let packet_cost = TOKEN_SCALE;
    let byte_cost = tokens(bytes, MAX_COST_BYTES);
    let elapsed = now.saturating_sub(bucket.last_ns);
    bucket.last_ns = now;
    let mut limited = false;
    if limit.pps != 0 {
        let full = tokens(limit.burst_packets, MAX_BURST);
        let available = bucket
            .packet_tokens
            .saturating_add(refill(elapsed, limit.pps))
            .min(full);
        if available < packet_cost {
            limited = true;
            bucket.packet_tokens = available;
        } else {
            bucket.packet_tokens = available - packet_cost;
        }
    }
    if limit.bps != 0 {
        let full = tokens(limit.burst_bytes, MAX_BURST);
        let available = bucket
            .byte_tokens
            .saturating_add(refill(elapsed, limit.bps))
            .min(full);
        if limited || available < byte_cost {
            limited = true;
            bucket.byte_tokens = available;
        } else {
            bucket.byte_tokens = available - byte_cost;
        }
    }
    limited
}
