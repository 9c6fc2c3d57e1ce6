//! Frames for the XDP verdict tests that pnet's `Frame` does not build:
//! IPv6 extension headers, stacked VLAN tags and IPv4 options, made by
//! editing the bytes `Frame::build` returns. Shared by `xdp_verdicts.rs`.
#![allow(dead_code)]

/// IPv6 Hop-by-Hop Options header.
pub const HOP_BY_HOP: u8 = 0;
/// IPv6 Routing header.
pub const ROUTING: u8 = 43;
/// IPv6 Fragment header.
pub const FRAGMENT: u8 = 44;
/// IPsec Authentication Header.
pub const AUTH: u8 = 51;
/// IPv6 Destination Options header.
pub const DEST_OPTS: u8 = 60;
/// IPv6 Mobility header (an extension header the filter does not walk).
pub const MOBILITY: u8 = 135;
/// No Next Header.
pub const NO_NEXT: u8 = 59;
/// TCP.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;

const ETH: usize = 14;
const IPV6: usize = 40;

/// One IPv6 extension header: its type and its bytes after the first
/// (next-header) byte, which `with_ipv6_ext` fills in.
#[derive(Debug, Clone)]
pub struct Ext {
    pub kind: u8,
    pub rest: Vec<u8>,
}

impl Ext {
    /// An 8-byte Hop-by-Hop, Routing or Destination Options header (PadN
    /// options; a Routing header with no segments left).
    pub fn short(kind: u8) -> Self {
        let rest = match kind {
            ROUTING => vec![0, 4, 0, 0, 0, 0, 0],
            _ => vec![0, 1, 4, 0, 0, 0, 0],
        };
        Ext { kind, rest }
    }

    /// An options header of `units` × 8 bytes (Hdr Ext Len = units − 1).
    pub fn long(kind: u8, units: u8) -> Self {
        let mut rest = vec![0u8; units as usize * 8 - 1];
        rest[0] = units - 1;
        rest[1] = 1; // PadN over the rest
        rest[2] = (units as usize * 8 - 4) as u8;
        Ext { kind, rest }
    }

    /// A Fragment header with `offset` (8-byte units) and the M flag.
    pub fn fragment(offset: u16, more: bool) -> Self {
        let field = (offset << 3) | u16::from(more);
        let [hi, lo] = field.to_be_bytes();
        Ext {
            kind: FRAGMENT,
            rest: vec![0, hi, lo, 0, 0, 0x12, 0x34],
        }
    }

    /// A 16-byte Authentication Header (Payload Len = 16 / 4 − 2).
    pub fn auth() -> Self {
        let mut rest = vec![0u8; 15];
        rest[0] = 2;
        rest[6] = 1; // SPI
        Ext { kind: AUTH, rest }
    }

    /// Any other header type, `len` bytes long in all.
    pub fn raw(kind: u8, len: usize) -> Self {
        Ext {
            kind,
            rest: vec![0; len - 1],
        }
    }
}

/// `frame` (untagged IPv6, as `Frame::build` makes it) with `exts` inserted
/// between the IPv6 header and its payload, in order; the IPv6 payload
/// length and every next-header field follow.
pub fn with_ipv6_ext(frame: &[u8], exts: &[Ext]) -> Vec<u8> {
    assert_eq!(&frame[12..14], &[0x86, 0xdd], "an untagged IPv6 frame");
    let ip = ETH;
    let mut out = frame[..ip + IPV6].to_vec();
    let mut next = frame[ip + 6];
    let mut chain = Vec::new();
    for ext in exts.iter().rev() {
        let mut header = vec![next];
        header.extend_from_slice(&ext.rest);
        header.extend_from_slice(&chain);
        chain = header;
        next = ext.kind;
    }
    out[ip + 6] = next;
    let payload_len = u16::from_be_bytes([out[ip + 4], out[ip + 5]]) as usize + chain.len();
    out[ip + 4..ip + 6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    out.extend_from_slice(&chain);
    out.extend_from_slice(&frame[ip + IPV6..]);
    out
}

/// `frame` with the VLAN tags `tags` (TPID, VLAN id) pushed in front of its
/// EtherType, outermost first.
pub fn with_vlan_tags(frame: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut out = frame[..12].to_vec();
    for &(tpid, vid) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&vid.to_be_bytes());
    }
    out.extend_from_slice(&frame[12..]);
    out
}

/// 802.1ad service tag.
pub const TPID_QINQ: u16 = 0x88a8;
/// 802.1Q tag.
pub const TPID_VLAN: u16 = 0x8100;

/// `frame` (untagged IPv4, as `Frame::build` makes it) with `options` (a
/// multiple of 4 bytes) after its 20-byte header: IHL, total length and
/// checksum follow.
pub fn with_ipv4_options(frame: &[u8], options: &[u8]) -> Vec<u8> {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "an untagged IPv4 frame");
    assert_eq!(options.len() % 4, 0);
    let ip = ETH;
    let mut out = frame[..ip + 20].to_vec();
    out.extend_from_slice(options);
    out.extend_from_slice(&frame[ip + 20..]);
    let header_len = 20 + options.len();
    out[ip] = 0x40 | (header_len / 4) as u8;
    let total = u16::from_be_bytes([out[ip + 2], out[ip + 3]]) as usize + options.len();
    out[ip + 2..ip + 4].copy_from_slice(&(total as u16).to_be_bytes());
    out[ip + 10..ip + 12].copy_from_slice(&[0, 0]);
    let checksum = ipv4_checksum(&out[ip..ip + header_len]);
    out[ip + 10..ip + 12].copy_from_slice(&checksum.to_be_bytes());
    out
}

/// IPv4 Router Alert (RFC 2113), the option routers see most.
pub const ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
