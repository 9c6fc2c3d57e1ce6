//! Rampart's XDP spam filter.
//!
//! Runs on every received frame, before the kernel allocates a socket buffer
//! on NICs with native XDP. Frames that are not UDP to a protected port pass
//! untouched; frames whose headers cannot be walked to the UDP header (too
//! many VLAN tags, an unknown or too long IPv6 extension-header chain) are
//! dropped. Protected traffic goes through the verdict chain: allow-list,
//! deny-list, fragments, header consistency, QUIC header sanity, per-source
//! token bucket. Every frame ends in exactly one per-CPU counter.
//!
//! The chain itself is `rampart_common::packet`, shared with the host tests;
//! this crate holds the maps, their lookups (`tables.rs`), the frame reader
//! (`packet.rs`) and the entry point.
#![no_std]
#![no_main]

mod packet;
mod tables;

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{Array, LpmTrie, LruHashMap, PerCpuArray},
    programs::XdpContext,
};
use rampart_common::maps::{
    Bucket, Config, Counter, DenyEntry, RateLimit, SourceKey, COUNTER_ENTRIES, MAX_BUCKETS,
    MAX_CIDRS, MAX_TALKERS, PORT_ENTRIES,
};

#[map(name = "RP_CONFIG")]
static RP_CONFIG: Array<Config> = Array::pinned(1, 0);

#[map(name = "RP_PORTS")]
static RP_PORTS: Array<u32> = Array::pinned(PORT_ENTRIES, 0);

#[map(name = "RP_ALLOW4")]
static RP_ALLOW4: LpmTrie<[u8; 4], u8> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_ALLOW6")]
static RP_ALLOW6: LpmTrie<[u8; 16], u8> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_DENY4")]
static RP_DENY4: LpmTrie<[u8; 4], DenyEntry> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_DENY6")]
static RP_DENY6: LpmTrie<[u8; 16], DenyEntry> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_RATE4")]
static RP_RATE4: LpmTrie<[u8; 4], RateLimit> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_RATE6")]
static RP_RATE6: LpmTrie<[u8; 16], RateLimit> = LpmTrie::pinned(MAX_CIDRS, 0);

#[map(name = "RP_BUCKETS")]
static RP_BUCKETS: LruHashMap<SourceKey, Bucket> = LruHashMap::pinned(MAX_BUCKETS, 0);

#[map(name = "RP_COUNTERS")]
static RP_COUNTERS: PerCpuArray<Counter> = PerCpuArray::pinned(COUNTER_ENTRIES, 0);

#[map(name = "RP_TALKERS")]
static RP_TALKERS: LruHashMap<SourceKey, u64> = LruHashMap::pinned(MAX_TALKERS, 0);

/// The XDP entry point.
#[xdp]
pub fn rampart(ctx: XdpContext) -> u32 {
    let frame = packet::XdpFrame::new(&ctx);
    let judgement = rampart_common::packet::judge(&frame, &mut tables::Maps);
    tables::count(&frame, &judgement);
    if judgement.verdict.is_drop() {
        xdp_action::XDP_DROP
    } else {
        xdp_action::XDP_PASS
    }
}

/// Drops every frame and touches nothing: the floor `rampart bench xdp`
/// compares the verdict chain against.
#[xdp]
pub fn bare_drop(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_DROP
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
