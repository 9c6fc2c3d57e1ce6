//! The verdict chain for one frame, and the counters it ends in.

use aya_ebpf::{helpers::bpf_ktime_get_ns, maps::lpm_trie::Key, programs::XdpContext};
use rampart_common::{
    maps::{
        counter_index, Bucket, RateLimit, SourceKey, DEFAULT_QUIC_CID_LEN, TOKEN_SCALE,
        UNPROTECTED_ROW,
    },
    Verdict,
};

use crate::{
    packet::{be16, be32, byte, frame_len, read},
    RP_ALLOW4, RP_ALLOW6, RP_BUCKETS, RP_CONFIG, RP_COUNTERS, RP_DENY4, RP_DENY6, RP_PORTS,
    RP_RATE4, RP_RATE6, RP_TALKERS,
};

const ETH_HEADER: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const IPPROTO_UDP: u8 = 17;
const IPV6_HEADER: usize = 40;
const IPV6_FRAGMENT: u8 = 44;
const UDP_HEADER: usize = 8;
/// RFC 9000 14.1: a client's Initial travels in a datagram of at least 1200 bytes.
const MIN_INITIAL_PAYLOAD: usize = 1200;
/// Largest QUIC connection ID (RFC 9000 17.2).
const MAX_CID_LEN: u8 = 20;
/// Packet-number bytes plus the header-protection sample (RFC 9001 5.4.2).
const SHORT_HEADER_TAIL: usize = 20;
/// Longest time a bucket refills for in one step, so `elapsed × rate` cannot
/// overflow (10 s × 10^9/s < 2^64).
const MAX_REFILL_NS: u64 = 10_000_000_000;

/// Source address as read from the IP header.
#[derive(Clone, Copy)]
pub enum Source {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Source {
    fn key(self) -> SourceKey {
        let mut addr = [0u8; 16];
        match self {
            Source::V4(v4) => {
                addr[10] = 0xff;
                addr[11] = 0xff;
                addr[12] = v4[0];
                addr[13] = v4[1];
                addr[14] = v4[2];
                addr[15] = v4[3];
            }
            Source::V6(v6) => {
                let mut i = 0;
                while i < 8 {
                    addr[i] = v6[i];
                    i += 1;
                }
            }
        }
        SourceKey { addr }
    }
}

/// The IP and UDP facts the chain needs.
struct Datagram {
    source: Source,
    /// The first fragment of a fragmented datagram.
    fragment: bool,
    /// Offset of the UDP header in the frame.
    udp: usize,
    /// Bytes from the UDP header to the end of the IP payload, per the IP header.
    ip_payload_len: usize,
}

/// Decides the verdict for a frame: (verdict, counter row, source if known).
#[inline(always)]
pub fn judge(ctx: &XdpContext) -> (Verdict, u32, Option<Source>) {
    let Some(datagram) = datagram(ctx) else {
        return (Verdict::PassUnprotected, UNPROTECTED_ROW, None);
    };
    let Some(port) = be16(ctx, datagram.udp + 2) else {
        return (Verdict::PassUnprotected, UNPROTECTED_ROW, None);
    };
    let row = match RP_PORTS.get(port as u32) {
        Some(&slot) if slot != 0 => slot - 1,
        _ => {
            return (
                Verdict::PassUnprotected,
                UNPROTECTED_ROW,
                Some(datagram.source),
            )
        }
    };
    let verdict = protected_verdict(ctx, &datagram);
    (verdict, row, Some(datagram.source))
}

#[inline(always)]
fn protected_verdict(ctx: &XdpContext, d: &Datagram) -> Verdict {
    if allowed(d.source) {
        return Verdict::PassAllowed;
    }
    if denied(d.source) {
        return Verdict::DropDenied;
    }
    if d.fragment {
        return Verdict::DropFragment;
    }
    let Some(udp_len) = be16(ctx, d.udp + 4) else {
        return Verdict::DropMalformed;
    };
    let udp_len = udp_len as usize;
    let frame = frame_len(ctx);
    // IP payload must fit the frame (trailing Ethernet padding is fine), and the
    // UDP length must be exactly the IP payload.
    if udp_len < UDP_HEADER || d.udp + d.ip_payload_len > frame || udp_len != d.ip_payload_len {
        return Verdict::DropMalformed;
    }
    let quic = quic_verdict(ctx, d.udp + UDP_HEADER, udp_len - UDP_HEADER);
    if quic != Verdict::Pass {
        return quic;
    }
    if rate_limited(d.source, frame as u64) {
        return Verdict::DropRateLimited;
    }
    Verdict::Pass
}

/// Reads Ethernet (with one VLAN tag), IPv4 or IPv6 and finds the UDP header.
/// `None` for anything that is not UDP over IP or whose headers do not fit.
#[inline(always)]
fn datagram(ctx: &XdpContext) -> Option<Datagram> {
    let mut offset = ETH_HEADER;
    let mut ethertype = be16(ctx, 12)?;
    if ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ {
        ethertype = be16(ctx, 16)?;
        offset += 4;
    }
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(ctx, offset),
        ETHERTYPE_IPV6 => ipv6(ctx, offset),
        _ => None,
    }
}

#[inline(always)]
fn ipv4(ctx: &XdpContext, ip: usize) -> Option<Datagram> {
    let version_ihl = byte(ctx, ip)?;
    if version_ihl >> 4 != 4 {
        return None;
    }
    let header_len = ((version_ihl & 0x0f) as usize) * 4;
    if header_len < 20 || byte(ctx, ip + 9)? != IPPROTO_UDP {
        return None;
    }
    let total_len = be16(ctx, ip + 2)? as usize;
    let flags_offset = be16(ctx, ip + 6)?;
    let more_fragments = flags_offset & 0x2000 != 0;
    let fragment_offset = flags_offset & 0x1fff;
    if fragment_offset != 0 {
        // A later fragment carries no UDP header, so no port to judge by; the
        // first fragment is dropped below, which makes reassembly fail.
        return None;
    }
    let source = read::<[u8; 4]>(ctx, ip + 12)?;
    Some(Datagram {
        source: Source::V4(source),
        fragment: more_fragments,
        udp: ip + header_len,
        ip_payload_len: total_len.saturating_sub(header_len),
    })
}

#[inline(always)]
fn ipv6(ctx: &XdpContext, ip: usize) -> Option<Datagram> {
    if byte(ctx, ip)? >> 4 != 6 {
        return None;
    }
    let payload_len = be16(ctx, ip + 4)? as usize;
    let next = byte(ctx, ip + 6)?;
    let source = read::<[u8; 16]>(ctx, ip + 8)?;
    let mut udp = ip + IPV6_HEADER;
    let mut ip_payload_len = payload_len;
    let mut fragment = false;
    if next == IPV6_FRAGMENT {
        // Fragment header: next header, reserved, offset+flags, id.
        if byte(ctx, udp)? != IPPROTO_UDP {
            return None;
        }
        let offset_flags = be16(ctx, udp + 2)?;
        if offset_flags & 0xfff8 != 0 {
            return None;
        }
        fragment = offset_flags & 1 != 0;
        udp += 8;
        ip_payload_len = ip_payload_len.saturating_sub(8);
    } else if next != IPPROTO_UDP {
        return None;
    }
    Some(Datagram {
        source: Source::V6(source),
        fragment,
        udp,
        ip_payload_len,
    })
}

/// QUIC header sanity for a UDP payload at `offset` of `len` bytes.
#[inline(always)]
fn quic_verdict(ctx: &XdpContext, offset: usize, len: usize) -> Verdict {
    let Some(first) = byte(ctx, offset) else {
        return Verdict::DropQuicHeader;
    };
    if first & 0x80 != 0 {
        let Some(version) = be32(ctx, offset + 1) else {
            return Verdict::DropQuicHeader;
        };
        if version == 0 {
            return Verdict::DropQuicVersionNegotiation;
        }
        if version != 1 || first & 0x40 == 0 {
            return Verdict::DropQuicHeader;
        }
        let Some(dcid_len) = byte(ctx, offset + 5) else {
            return Verdict::DropQuicHeader;
        };
        if dcid_len > MAX_CID_LEN {
            return Verdict::DropQuicHeader;
        }
        let Some(scid_len) = byte(ctx, offset + 6 + dcid_len as usize) else {
            return Verdict::DropQuicHeader;
        };
        if scid_len > MAX_CID_LEN {
            return Verdict::DropQuicHeader;
        }
        // Long-header type 0 is Initial.
        if (first >> 4) & 0x03 == 0 && len < MIN_INITIAL_PAYLOAD {
            return Verdict::DropQuicShortInitial;
        }
        Verdict::Pass
    } else {
        if first & 0x40 == 0 {
            return Verdict::DropQuicHeader;
        }
        // Safety (map read): Config is plain data copied out at once.
        let cid_len = RP_CONFIG
            .get(0)
            .map_or(DEFAULT_QUIC_CID_LEN, |config| config.quic_cid_len)
            as usize;
        if len < 1 + cid_len + SHORT_HEADER_TAIL {
            return Verdict::DropQuicShortPacket;
        }
        Verdict::Pass
    }
}

#[inline(always)]
fn allowed(source: Source) -> bool {
    match source {
        Source::V4(addr) => RP_ALLOW4.get(Key::new(32, addr)).is_some(),
        Source::V6(addr) => RP_ALLOW6.get(Key::new(128, addr)).is_some(),
    }
}

#[inline(always)]
fn denied(source: Source) -> bool {
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

/// CLOCK_MONOTONIC nanoseconds.
#[inline(always)]
fn now() -> u64 {
    // Safety: a helper with no arguments or side effects.
    unsafe { bpf_ktime_get_ns() }
}

/// Takes one packet and `bytes` from the source's bucket; true if either is empty.
#[inline(always)]
fn rate_limited(source: Source, bytes: u64) -> bool {
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
    if limit.pps == 0 && limit.bps == 0 {
        return false;
    }
    let now = now();
    let key = source.key();
    let packet_cost = TOKEN_SCALE;
    let byte_cost = bytes * TOKEN_SCALE;
    let Some(bucket) = RP_BUCKETS.get_ptr_mut(&key) else {
        // First packet from this source: a full bucket, minus this packet.
        let fresh = Bucket {
            packet_tokens: (limit.burst_packets * TOKEN_SCALE).saturating_sub(packet_cost),
            byte_tokens: (limit.burst_bytes * TOKEN_SCALE).saturating_sub(byte_cost),
            last_ns: now,
        };
        let _ = RP_BUCKETS.insert(&key, &fresh, 0);
        return (limit.pps != 0 && limit.burst_packets == 0)
            || (limit.bps != 0 && limit.burst_bytes * TOKEN_SCALE < byte_cost);
    };
    // Safety: the pointer is to this map's value and valid for this program run;
    // concurrent updates from other CPUs make the bucket approximate, not unsafe.
    let bucket = unsafe { &mut *bucket };
    let elapsed = now.saturating_sub(bucket.last_ns);
    let elapsed = if elapsed > MAX_REFILL_NS {
        MAX_REFILL_NS
    } else {
        elapsed
    };
    bucket.last_ns = now;
    let mut limited = false;
    if limit.pps != 0 {
        let full = limit.burst_packets * TOKEN_SCALE;
        let tokens = (bucket.packet_tokens + elapsed * limit.pps).min(full);
        if tokens < packet_cost {
            limited = true;
            bucket.packet_tokens = tokens;
        } else {
            bucket.packet_tokens = tokens - packet_cost;
        }
    }
    if limit.bps != 0 {
        let full = limit.burst_bytes * TOKEN_SCALE;
        let tokens = (bucket.byte_tokens + elapsed * limit.bps).min(full);
        if limited || tokens < byte_cost {
            limited = true;
            bucket.byte_tokens = tokens;
        } else {
            bucket.byte_tokens = tokens - byte_cost;
        }
    }
    limited
}

/// Adds the frame to its verdict counter, and a drop to its source's tally.
#[inline(always)]
pub fn count(ctx: &XdpContext, verdict: Verdict, row: u32, source: Option<Source>) {
    let index = counter_index(row, verdict as u32);
    let Some(counter) = RP_COUNTERS.get_ptr_mut(index) else {
        return;
    };
    // Safety: per-CPU slot of this map, only this CPU writes it now.
    let packets = unsafe {
        (*counter).packets += 1;
        (*counter).bytes += frame_len(ctx) as u64;
        (*counter).packets
    };
    if !verdict.is_drop() {
        return;
    }
    let Some(source) = source else {
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
