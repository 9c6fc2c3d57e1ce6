//! From the Ethernet header to the UDP destination port: up to two VLAN tags,
//! IPv4 with options, IPv6 with its extension headers.
//!
//! The port is only known once the UDP header is found, so a frame whose
//! headers cannot be followed that far cannot be told apart from one to a
//! protected port. Such a frame is [`Headers::Unwalkable`] and the chain drops
//! it: otherwise any header the walk skips would be a way past the deny-list.
//! Frames that plainly are not UDP (ARP, TCP, ICMP, ESP, a later fragment)
//! and frames cut short before an extension header was seen are
//! [`Headers::NotUdp`] and pass: the kernel's own input path drops a frame
//! whose IP or UDP header is cut, so those never reach a socket.

use super::cursor::Cursor;
use crate::maps::SourceKey;

/// Length of an Ethernet header without tags.
pub const ETH_HEADER: usize = 14;
/// Length of a VLAN tag (802.1Q or 802.1ad).
pub const VLAN_TAG: usize = 4;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER: usize = 40;
/// Length of a UDP header.
pub const UDP_HEADER: usize = 8;
/// VLAN tags walked (802.1ad QinQ: a service tag, then a customer tag); a
/// frame with more is dropped.
pub const MAX_VLAN_TAGS: usize = 2;
/// IPv6 extension headers walked before the UDP header; a longer chain is
/// dropped. RFC 8200 4.1 orders at most six kinds before the upper layer
/// (Destination Options may appear twice), so six covers any sane chain.
pub const MAX_EXT_HEADERS: usize = 6;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
mod proto {
    pub const HOP_BY_HOP: u8 = 0;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AUTH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const EXPERIMENT_1: u8 = 253;
    pub const EXPERIMENT_2: u8 = 254;
}

/// Source address as read from the IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// IPv4, network order.
    V4([u8; 4]),
    /// IPv6, network order.
    V6([u8; 16]),
}

impl Source {
    /// The token-bucket and top-talker key: an IPv4 address as IPv4-mapped
    /// IPv6, an IPv6 address cut to its /64.
    #[inline(always)]
    pub fn key(self) -> SourceKey {
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

/// The IP and UDP facts the chain judges a datagram by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Source address.
    pub source: Source,
    /// UDP destination port.
    pub dest_port: u16,
    /// The first fragment of a fragmented datagram.
    pub fragment: bool,
    /// Offset of the UDP header in the frame.
    pub udp: usize,
    /// Bytes from the UDP header to the end of the IP payload, per the IP
    /// header (and the extension headers' own lengths).
    pub ip_payload_len: usize,
}

/// What the headers of a frame say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Headers {
    /// Not a UDP datagram: not IP, another protocol after a clean walk, a
    /// later fragment (no UDP header in it), or cut short before the UDP
    /// destination port with no extension header on the way.
    NotUdp,
    /// Headers that cannot be followed to the UDP header: more than
    /// [`MAX_VLAN_TAGS`] tags, an IPv6 extension header the walk does not
    /// know or more than [`MAX_EXT_HEADERS`] of them, an extension-header
    /// chain cut short, or a first fragment too short to hold a UDP header.
    /// The source, when the IP header was read.
    Unwalkable(Option<Source>),
    /// A UDP datagram (or its first fragment), port known.
    Udp(Datagram),
}

/// Walks a frame's headers to its UDP destination port.
#[inline(always)]
pub fn headers<F: Cursor + ?Sized>(frame: &F) -> Headers {
    let Some(mut ethertype) = frame.be16(12) else {
        return Headers::NotUdp;
    };
    let mut ip = ETH_HEADER;
    // Written out rather than looped: two tags are all there is to walk.
    if is_vlan(ethertype) {
        let Some(inner) = frame.be16(ip + 2) else {
            return Headers::NotUdp;
        };
        ethertype = inner;
        ip += VLAN_TAG;
        if is_vlan(ethertype) {
            let Some(inner) = frame.be16(ip + 2) else {
                return Headers::NotUdp;
            };
            ethertype = inner;
            ip += VLAN_TAG;
            if is_vlan(ethertype) {
                return Headers::Unwalkable(None);
            }
        }
    }
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(frame, ip),
        ETHERTYPE_IPV6 => ipv6(frame, ip),
        _ => Headers::NotUdp,
    }
}

#[inline(always)]
fn is_vlan(ethertype: u16) -> bool {
    ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ
}

/// IPv4 at `ip`: options are skipped by the header length (IHL).
#[inline(always)]
fn ipv4<F: Cursor + ?Sized>(frame: &F, ip: usize) -> Headers {
    let Some(version_ihl) = frame.byte(ip) else {
        return Headers::NotUdp;
    };
    let header_len = ((version_ihl & 0x0f) as usize) * 4;
    // IHL below 5 is no IPv4 header; the kernel drops it.
    if version_ihl >> 4 != 4 || header_len < 20 {
        return Headers::NotUdp;
    }
    let (Some(total_len), Some(flags_offset), Some(protocol), Some(source)) = (
        frame.be16(ip + 2),
        frame.be16(ip + 6),
        frame.byte(ip + 9),
        frame.bytes::<4>(ip + 12),
    ) else {
        return Headers::NotUdp;
    };
    // A later fragment carries no UDP header, so no port to judge by; the
    // first fragment is dropped on protected ports, so reassembly fails.
    if protocol != proto::UDP || flags_offset & 0x1fff != 0 {
        return Headers::NotUdp;
    }
    udp(
        frame,
        Source::V4(source),
        ip + header_len,
        (total_len as usize).saturating_sub(header_len),
        flags_offset & 0x2000 != 0,
        false,
    )
}

/// What an IPv6 next-header value asks of the walk.
enum Next {
    /// The UDP header.
    Udp,
    /// Hop-by-Hop, Routing or Destination Options: length in 8-byte units,
    /// not counting the first 8.
    Options,
    /// Authentication Header: length in 4-byte units, not counting the first 8.
    Auth,
    /// Fragment header: 8 bytes.
    Fragment,
    /// An extension header the walk does not follow.
    Unknown,
    /// Any other protocol: the chain ends and it is not UDP. ESP is here too:
    /// what it carries is encrypted.
    Other,
}

#[inline(always)]
fn classify(next: u8) -> Next {
    match next {
        proto::UDP => Next::Udp,
        proto::HOP_BY_HOP | proto::ROUTING | proto::DEST_OPTS => Next::Options,
        proto::AUTH => Next::Auth,
        proto::FRAGMENT => Next::Fragment,
        proto::MOBILITY | proto::HIP | proto::SHIM6 | proto::EXPERIMENT_1 | proto::EXPERIMENT_2 => {
            Next::Unknown
        }
        _ => Next::Other,
    }
}

/// IPv6 at `ip`: walks up to [`MAX_EXT_HEADERS`] extension headers.
#[inline(always)]
fn ipv6<F: Cursor + ?Sized>(frame: &F, ip: usize) -> Headers {
    let Some(version) = frame.byte(ip) else {
        return Headers::NotUdp;
    };
    if version >> 4 != 6 {
        return Headers::NotUdp;
    }
    let (Some(payload_len), Some(first_next), Some(source)) = (
        frame.be16(ip + 4),
        frame.byte(ip + 6),
        frame.bytes::<16>(ip + 8),
    ) else {
        return Headers::NotUdp;
    };
    let source = Source::V6(source);
    let unwalkable = Headers::Unwalkable(Some(source));
    let mut next = first_next;
    let mut offset = ip + IPV6_HEADER;
    let mut ext_len = 0usize;
    let mut fragment = false;
    let mut depth = 0;
    loop {
        let kind = classify(next);
        if let Next::Udp = kind {
            return udp(
                frame,
                source,
                offset,
                (payload_len as usize).saturating_sub(ext_len),
                fragment,
                depth > 0,
            );
        }
        if depth == MAX_EXT_HEADERS {
            return match kind {
                Next::Other => Headers::NotUdp,
                _ => unwalkable,
            };
        }
        let size = match kind {
            Next::Udp | Next::Other => return Headers::NotUdp,
            Next::Unknown => return unwalkable,
            Next::Options => match frame.byte(offset + 1) {
                Some(units) => (units as usize + 1) * 8,
                None => return unwalkable,
            },
            Next::Auth => match frame.byte(offset + 1) {
                Some(units) => (units as usize + 2) * 4,
                None => return unwalkable,
            },
            Next::Fragment => {
                let Some(offset_flags) = frame.be16(offset + 2) else {
                    return unwalkable;
                };
                // A later fragment: no UDP header in it (see `ipv4`).
                if offset_flags & 0xfff8 != 0 {
                    return Headers::NotUdp;
                }
                fragment |= offset_flags & 1 != 0;
                8
            }
        };
        let Some(following) = frame.byte(offset) else {
            return unwalkable;
        };
        next = following;
        offset += size;
        ext_len += size;
        depth += 1;
    }
}

/// The UDP header at `offset`, once the IP headers put it there.
#[inline(always)]
fn udp<F: Cursor + ?Sized>(
    frame: &F,
    source: Source,
    offset: usize,
    ip_payload_len: usize,
    fragment: bool,
    after_ext: bool,
) -> Headers {
    // A first fragment must hold the whole UDP header (RFC 7112 for IPv6);
    // one that does not would be judged by a port read from past the IP
    // payload, and the real header would arrive in the next fragment.
    if fragment && ip_payload_len < UDP_HEADER {
        return Headers::Unwalkable(Some(source));
    }
    match frame.be16(offset + 2) {
        Some(dest_port) => Headers::Udp(Datagram {
            source,
            dest_port,
            fragment,
            udp: offset,
            ip_payload_len,
        }),
        None if after_ext => Headers::Unwalkable(Some(source)),
        None => Headers::NotUdp,
    }
}
