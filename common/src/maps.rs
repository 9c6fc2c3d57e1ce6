//! Map names, sizes, and the `#[repr(C)]` keys and values both sides use.
//!
//! Names are the kernel's map names (at most 15 bytes) and the file names
//! under [`PIN_DIR`], where every map is pinned so rules and counters outlive
//! the process that set them.

use crate::verdict::VERDICT_COUNT;

/// Where maps and the XDP link are pinned (bpffs).
pub const PIN_DIR: &str = "/sys/fs/bpf/rampart";

/// `Array<Config>` with one entry: global settings.
pub const CONFIG: &str = "RP_CONFIG";
/// `Array<u32>` indexed by UDP port (host order): 0 for an unprotected port,
/// else the port's counter row + 1. An array lookup is a bounds check and an
/// add, against ~30 ns for a hash lookup on every frame. The list of ports
/// itself is kept in [`Config`] for userspace.
pub const PORTS: &str = "RP_PORTS";

/// Entries in [`PORTS`]: every UDP port.
pub const PORT_ENTRIES: u32 = 65_536;
/// `LpmTrie<[u8; 4], u8>`: IPv4 allow-list.
pub const ALLOW_V4: &str = "RP_ALLOW4";
/// `LpmTrie<[u8; 16], u8>`: IPv6 allow-list.
pub const ALLOW_V6: &str = "RP_ALLOW6";
/// `LpmTrie<[u8; 4], DenyEntry>`: IPv4 deny-list.
pub const DENY_V4: &str = "RP_DENY4";
/// `LpmTrie<[u8; 16], DenyEntry>`: IPv6 deny-list.
pub const DENY_V6: &str = "RP_DENY6";
/// `LpmTrie<[u8; 4], RateLimit>`: per-CIDR rate limits (IPv4).
pub const RATE_V4: &str = "RP_RATE4";
/// `LpmTrie<[u8; 16], RateLimit>`: per-CIDR rate limits (IPv6).
pub const RATE_V6: &str = "RP_RATE6";
/// `LruHashMap<SourceKey, Bucket>`: token buckets per source.
pub const BUCKETS: &str = "RP_BUCKETS";
/// `PerCpuArray<Counter>`: one row of [`VERDICT_COUNT`] counters per port
/// slot, plus a last row for unprotected traffic.
pub const COUNTERS: &str = "RP_COUNTERS";
/// `LruHashMap<SourceKey, u64>`: drops per source (top talkers), sampled
/// as [`Config::talker_sample_shift`] says.
pub const TALKERS: &str = "RP_TALKERS";

/// Most protected ports (counter rows).
pub const MAX_PORTS: u32 = 16;
/// Counter row for traffic not addressed to a protected port.
pub const UNPROTECTED_ROW: u32 = MAX_PORTS;
/// Entries in the counter array.
pub const COUNTER_ENTRIES: u32 = (MAX_PORTS + 1) * VERDICT_COUNT;
/// Entries in each CIDR list.
pub const MAX_CIDRS: u32 = 65_536;
/// Sources tracked by the token buckets; least recently seen are evicted, so a
/// spoofed flood cannot exhaust memory.
pub const MAX_BUCKETS: u32 = 262_144;
/// Sources tracked as top talkers.
pub const MAX_TALKERS: u32 = 4_096;

/// Index into [`COUNTERS`] of a verdict in a counter row.
pub const fn counter_index(row: u32, verdict: u32) -> u32 {
    row * VERDICT_COUNT + verdict
}

/// Global filter settings.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Config {
    /// Rate limit for sources no per-CIDR rule covers.
    pub rate: RateLimit,
    /// Length of the connection IDs the QUIC server issues; a short-header
    /// packet needs at least 1 + this + 20 bytes (header, CID, and the
    /// packet-number and sample bytes header protection needs, RFC 9001 5.4.2).
    pub quic_cid_len: u32,
    /// How many of `ports` are in use.
    pub port_count: u32,
    /// The protected ports, in counter-row order (for userspace listings).
    pub ports: [u16; MAX_PORTS as usize],
    /// Top talkers record one drop in 2^this (per CPU and verdict), weighted
    /// 2^this; 0 records every drop.
    pub talker_sample_shift: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

/// Default top-talker sampling: one drop in 16.
pub const DEFAULT_TALKER_SAMPLE_SHIFT: u32 = 4;

/// Default connection ID length of quinn (and so of Agave's TPU server).
pub const DEFAULT_QUIC_CID_LEN: u32 = 8;

/// A token-bucket limit. A zero rate disables that dimension.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Sustained packets per second.
    pub pps: u64,
    /// Packets that may arrive at once.
    pub burst_packets: u64,
    /// Sustained bytes per second (whole frames).
    pub bps: u64,
    /// Bytes that may arrive at once.
    pub burst_bytes: u64,
}

/// Largest rate accepted, so refill arithmetic cannot overflow (per second).
pub const MAX_RATE: u64 = 1_000_000_000;
/// Largest burst accepted.
pub const MAX_BURST: u64 = 1_000_000_000;
/// Token units per packet or byte: buckets count in billionths so refill is
/// exact at nanosecond resolution.
pub const TOKEN_SCALE: u64 = 1_000_000_000;

/// A deny-list entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DenyEntry {
    /// CLOCK_MONOTONIC nanoseconds after which the entry no longer applies;
    /// 0 means never.
    pub expires_at_ns: u64,
}

/// Whom a token bucket or a drop count belongs to: an IPv4 address (as an
/// IPv4-mapped IPv6 address) or an IPv6 /64 prefix (the rest zero).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SourceKey {
    /// The address bytes, network order.
    pub addr: [u8; 16],
}

/// One source's token bucket.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Packet tokens, in units of 1/[`TOKEN_SCALE`] packet.
    pub packet_tokens: u64,
    /// Byte tokens, in units of 1/[`TOKEN_SCALE`] byte.
    pub byte_tokens: u64,
    /// CLOCK_MONOTONIC nanoseconds of the last refill.
    pub last_ns: u64,
}

/// A packet and byte count.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    /// Packets.
    pub packets: u64,
    /// Bytes (whole frames).
    pub bytes: u64,
}

#[cfg(feature = "user")]
mod pod {
    // Safety: each type is #[repr(C)], made only of integers and byte arrays,
    // with no padding (every field is 8-byte sized or the struct is bytes only).
    unsafe impl aya::Pod for super::Config {}
    // Safety: as above.
    unsafe impl aya::Pod for super::RateLimit {}
    // Safety: as above.
    unsafe impl aya::Pod for super::DenyEntry {}
    // Safety: as above.
    unsafe impl aya::Pod for super::SourceKey {}
    // Safety: as above.
    unsafe impl aya::Pod for super::Bucket {}
    // Safety: as above.
    unsafe impl aya::Pod for super::Counter {}
}
