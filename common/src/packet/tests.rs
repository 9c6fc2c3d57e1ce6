//! Host tests of the verdict chain: every verdict, every header the walk
//! follows or refuses, truncation at every byte, and random corruption. No
//! root, no kernel: frames are built here, tables live in memory.

use std::{collections::HashMap, format, net::IpAddr, vec, vec::Vec};

use super::{
    bucket,
    headers::{headers, Headers, MAX_EXT_HEADERS},
    judge, Judgement, Source, Tables,
};
use crate::{
    maps::{Bucket, RateLimit, SourceKey, UNPROTECTED_ROW},
    Verdict,
};

const PORT: u16 = 8009;
const OTHER_PORT: u16 = 8010;
const OPEN_PORT: u16 = 9000;

const HOP_BY_HOP: u8 = 0;
const TCP: u8 = 6;
const UDP: u8 = 17;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const ESP: u8 = 50;
const AUTH: u8 = 51;
const ICMPV6: u8 = 58;
const NO_NEXT: u8 = 59;
const DEST_OPTS: u8 = 60;
const UNKNOWN_EXT: [u8; 5] = [135, 139, 140, 253, 254];

const TPID_VLAN: u16 = 0x8100;
const TPID_QINQ: u16 = 0x88a8;

// ---- frames ----------------------------------------------------------------

/// An IPv6 extension header: its type and its bytes (the first, the next
/// header, is filled in when the frame is built).
#[derive(Debug, Clone)]
struct Ext {
    kind: u8,
    bytes: Vec<u8>,
}

impl Ext {
    /// A Hop-by-Hop, Routing or Destination Options header of `units` × 8 bytes.
    fn options(kind: u8, units: usize) -> Self {
        let mut bytes = vec![0u8; units * 8];
        bytes[1] = (units - 1) as u8;
        if kind == ROUTING {
            bytes[2] = 4; // segment routing, no segments left
        } else {
            bytes[2] = 1; // PadN over the rest
            bytes[3] = (units * 8 - 4) as u8;
        }
        Ext { kind, bytes }
    }

    fn fragment(offset: u16, more: bool) -> Self {
        let mut bytes = vec![0u8; 8];
        bytes[2..4].copy_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        bytes[7] = 0x5a;
        Ext {
            kind: FRAGMENT,
            bytes,
        }
    }

    fn auth() -> Self {
        let mut bytes = vec![0u8; 16];
        bytes[1] = 2; // (16 / 4) - 2
        bytes[7] = 1;
        Ext { kind: AUTH, bytes }
    }

    fn raw(kind: u8, len: usize) -> Self {
        Ext {
            kind,
            bytes: vec![0; len],
        }
    }
}

#[derive(Debug, Clone)]
struct Frame {
    tags: Vec<(u16, u16)>,
    source: IpAddr,
    /// IPv4 options (a multiple of 4 bytes).
    options: Vec<u8>,
    /// IPv6 extension headers, in order.
    exts: Vec<Ext>,
    /// IPv4: MF set.
    more_fragments: bool,
    /// IPv4 fragment offset in 8-byte units.
    fragment_offset: u16,
    /// The IP protocol (after the extension headers).
    protocol: u8,
    dest_port: u16,
    payload: Vec<u8>,
    udp_len_delta: i32,
    /// Added to the IPv4 total length or IPv6 payload length.
    ip_len_delta: i32,
    /// Pad the frame with zeros to this length (Ethernet minimum is 60).
    pad_to: usize,
}

fn udp(source: &str, dest_port: u16, payload: Vec<u8>) -> Frame {
    Frame {
        tags: vec![],
        source: source.parse().unwrap(),
        options: vec![],
        exts: vec![],
        more_fragments: false,
        fragment_offset: 0,
        protocol: UDP,
        dest_port,
        payload,
        udp_len_delta: 0,
        ip_len_delta: 0,
        pad_to: 0,
    }
}

impl Frame {
    fn tags(mut self, tags: &[(u16, u16)]) -> Self {
        self.tags = tags.to_vec();
        self
    }
    fn options(mut self, options: &[u8]) -> Self {
        self.options = options.to_vec();
        self
    }
    fn exts(mut self, exts: &[Ext]) -> Self {
        self.exts = exts.to_vec();
        self
    }
    fn protocol(mut self, protocol: u8) -> Self {
        self.protocol = protocol;
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&40000u16.to_be_bytes());
        l4.extend_from_slice(&self.dest_port.to_be_bytes());
        let udp_len = 8 + self.payload.len() as i32 + self.udp_len_delta;
        l4.extend_from_slice(&(udp_len as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        l4.extend_from_slice(&self.payload);
        let (ethertype, ip) = match self.source {
            IpAddr::V4(source) => {
                let header_len = 20 + self.options.len();
                let total = (header_len + l4.len()) as i32 + self.ip_len_delta;
                let mut ip = vec![0x40 | (header_len / 4) as u8, 0];
                ip.extend_from_slice(&(total as u16).to_be_bytes());
                ip.extend_from_slice(&[0x12, 0x34]);
                let flags = (u16::from(self.more_fragments) << 13) | self.fragment_offset;
                ip.extend_from_slice(&flags.to_be_bytes());
                ip.extend_from_slice(&[64, self.protocol, 0, 0]);
                ip.extend_from_slice(&source.octets());
                ip.extend_from_slice(&[10, 99, 0, 1]);
                ip.extend_from_slice(&self.options);
                ip.extend_from_slice(&l4);
                (0x0800u16, ip)
            }
            IpAddr::V6(source) => {
                let mut chain = Vec::new();
                let mut next = self.protocol;
                for ext in self.exts.iter().rev() {
                    let mut header = ext.bytes.clone();
                    header[0] = next;
                    header.extend_from_slice(&chain);
                    chain = header;
                    next = ext.kind;
                }
                let payload_len = (chain.len() + l4.len()) as i32 + self.ip_len_delta;
                let mut ip = vec![0x60, 0, 0, 0];
                ip.extend_from_slice(&(payload_len as u16).to_be_bytes());
                ip.extend_from_slice(&[next, 64]);
                ip.extend_from_slice(&source.octets());
                ip.extend_from_slice(&"fd00:99::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
                ip.extend_from_slice(&chain);
                ip.extend_from_slice(&l4);
                (0x86ddu16, ip)
            }
        };
        let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        for &(tpid, vid) in &self.tags {
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&vid.to_be_bytes());
        }
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(&ip);
        if frame.len() < self.pad_to {
            frame.resize(self.pad_to, 0);
        }
        frame
    }
}

/// A QUIC v1 long-header Initial of `len` bytes with the given CID lengths.
fn quic_initial(len: usize, dcid_len: u8, scid_len: u8) -> Vec<u8> {
    let mut payload = vec![0u8; len.max(8 + dcid_len as usize + scid_len as usize)];
    payload[0] = 0xc0;
    payload[1..5].copy_from_slice(&1u32.to_be_bytes());
    payload[5] = dcid_len;
    payload[6 + dcid_len as usize] = scid_len;
    payload.truncate(len.max(7 + dcid_len as usize));
    payload
}

fn valid_initial() -> Vec<u8> {
    quic_initial(1200, 8, 8)
}

/// A QUIC short-header packet of `len` bytes.
fn quic_short(len: usize) -> Vec<u8> {
    let mut payload = vec![0x55u8; len];
    payload[0] = 0x40;
    payload
}

// ---- tables ----------------------------------------------------------------

/// The maps, in memory: CIDR lists searched longest prefix first like the
/// kernel's LPM tries, buckets kept with the shared bucket arithmetic.
struct Memory {
    ports: Vec<u16>,
    allow: Vec<(IpAddr, u8)>,
    deny: Vec<(IpAddr, u8)>,
    rules: Vec<((IpAddr, u8), RateLimit)>,
    global: RateLimit,
    buckets: HashMap<SourceKey, Bucket>,
    now: u64,
    cid_len: usize,
}

fn cidr(text: &str) -> (IpAddr, u8) {
    let (addr, len) = text.split_once('/').unwrap();
    (addr.parse().unwrap(), len.parse().unwrap())
}

fn contains(&(net, len): &(IpAddr, u8), source: Source) -> bool {
    let (net, addr): (Vec<u8>, Vec<u8>) = match (net, source) {
        (IpAddr::V4(net), Source::V4(addr)) => (net.octets().to_vec(), addr.to_vec()),
        (IpAddr::V6(net), Source::V6(addr)) => (net.octets().to_vec(), addr.to_vec()),
        _ => return false,
    };
    (0..len as usize).all(|bit| {
        let mask = 0x80u8 >> (bit % 8);
        net[bit / 8] & mask == addr[bit / 8] & mask
    })
}

/// Every packet from 100.64.0.0/10 and 2001:db8:11::/48 is rate limited (a
/// zero burst); nothing else is.
const ALWAYS_LIMITED: RateLimit = RateLimit {
    pps: 1,
    burst_packets: 0,
    bps: 0,
    burst_bytes: 0,
};

impl Memory {
    /// Ports 8009 and 8010; allow 192.0.2.0/24 and 2001:db8:a11::/48; deny
    /// 203.0.113.0/24 and 2001:db8:bad::/48; rate limit as `ALWAYS_LIMITED`.
    fn standard() -> Self {
        Memory {
            ports: vec![PORT, OTHER_PORT],
            allow: vec![cidr("192.0.2.0/24"), cidr("2001:db8:a11::/48")],
            deny: vec![cidr("203.0.113.0/24"), cidr("2001:db8:bad::/48")],
            rules: vec![
                (cidr("100.64.0.0/10"), ALWAYS_LIMITED),
                (cidr("2001:db8:11::/48"), ALWAYS_LIMITED),
            ],
            global: RateLimit::default(),
            buckets: HashMap::new(),
            now: 1_000_000_000,
            cid_len: 8,
        }
    }
}

impl Tables for Memory {
    fn port_row(&self, port: u16) -> Option<u32> {
        self.ports
            .iter()
            .position(|&p| p == port)
            .map(|row| row as u32)
    }
    fn allowed(&self, source: Source) -> bool {
        self.allow.iter().any(|net| contains(net, source))
    }
    fn denied(&self, source: Source) -> bool {
        self.deny.iter().any(|net| contains(net, source))
    }
    fn rate_limited(&mut self, source: Source, bytes: u64) -> bool {
        let limit = self
            .rules
            .iter()
            .filter(|(net, _)| contains(net, source))
            .max_by_key(|((_, len), _)| *len)
            .map_or(self.global, |(_, limit)| *limit);
        if bucket::is_unlimited(&limit) {
            return false;
        }
        match self.buckets.get_mut(&source.key()) {
            Some(bucket) => bucket::take(bucket, &limit, self.now, bytes),
            None => {
                let (fresh, limited) = bucket::first(&limit, self.now, bytes);
                self.buckets.insert(source.key(), fresh);
                limited
            }
        }
    }
    fn quic_cid_len(&self) -> usize {
        self.cid_len
    }
}

fn verdict_of(frame: &Frame) -> Verdict {
    judge(frame.build().as_slice(), &mut Memory::standard()).verdict
}

#[track_caller]
fn expect(what: &str, frame: &Frame, verdict: Verdict) {
    let bytes = frame.build();
    let judgement = judge(bytes.as_slice(), &mut Memory::standard());
    assert_eq!(
        judgement.verdict, verdict,
        "{what}: {} port {} via {:?}",
        frame.source, frame.dest_port, frame.exts
    );
    let row = match verdict {
        Verdict::PassUnprotected | Verdict::DropHeaderChain => UNPROTECTED_ROW,
        _ => Memory::standard().port_row(frame.dest_port).unwrap(),
    };
    assert_eq!(judgement.row, row, "{what}: counter row");
}

// ---- every verdict ---------------------------------------------------------

/// (what, frame, verdict) for every verdict of the chain.
fn chain_cases() -> Vec<(&'static str, Frame, Verdict)> {
    use Verdict::*;
    let v4 = |payload| udp("198.51.100.7", PORT, payload);
    let mut cases = vec![
        ("valid Initial v4", v4(valid_initial()), Pass),
        (
            "valid Initial v6",
            udp("2001:db8:1::7", PORT, valid_initial()),
            Pass,
        ),
        (
            "second protected port",
            udp("198.51.100.7", OTHER_PORT, valid_initial()),
            Pass,
        ),
        (
            "open port",
            udp("203.0.113.5", OPEN_PORT, vec![0; 10]),
            PassUnprotected,
        ),
        (
            "open port v6",
            udp("2001:db8:bad::1", 443, vec![]),
            PassUnprotected,
        ),
        ("TCP", v4(valid_initial()).protocol(TCP), PassUnprotected),
        ("allowed junk", udp("192.0.2.9", PORT, vec![0]), PassAllowed),
        (
            "allowed junk v6",
            udp("2001:db8:a11::9", PORT, vec![0]),
            PassAllowed,
        ),
        (
            "denied",
            udp("203.0.113.9", PORT, valid_initial()),
            DropDenied,
        ),
        (
            "denied v6",
            udp("2001:db8:bad::1", PORT, valid_initial()),
            DropDenied,
        ),
        ("empty payload", v4(vec![]), DropQuicHeader),
        (
            "Initial of 1199",
            v4(quic_initial(1199, 8, 8)),
            DropQuicShortInitial,
        ),
        ("DCID of 21", v4(quic_initial(1200, 21, 8)), DropQuicHeader),
        ("SCID of 21", v4(quic_initial(1200, 8, 21)), DropQuicHeader),
        (
            "short header of 28",
            v4(quic_short(28)),
            DropQuicShortPacket,
        ),
        ("short header of 29", v4(quic_short(29)), Pass),
        (
            "rate limited",
            udp("100.64.1.1", PORT, valid_initial()),
            DropRateLimited,
        ),
        (
            "rate limited v6",
            udp("2001:db8:11::1", PORT, valid_initial()),
            DropRateLimited,
        ),
        (
            "three tags",
            v4(valid_initial()).tags(&[(TPID_QINQ, 1), (TPID_VLAN, 2), (TPID_VLAN, 3)]),
            DropHeaderChain,
        ),
    ];
    let mut frame = v4(valid_initial());
    frame.more_fragments = true;
    cases.push(("first fragment v4", frame, DropFragment));
    cases.push((
        "first fragment v6",
        udp("2001:db8:1::7", PORT, valid_initial()).exts(&[Ext::fragment(0, true)]),
        DropFragment,
    ));
    let mut frame = v4(valid_initial());
    frame.fragment_offset = 100;
    cases.push(("later fragment v4", frame, PassUnprotected));
    cases.push((
        "later fragment v6",
        udp("2001:db8:1::7", PORT, valid_initial()).exts(&[Ext::fragment(100, true)]),
        PassUnprotected,
    ));
    for delta in [-1, 1, -8, -9] {
        let mut frame = v4(valid_initial());
        frame.udp_len_delta = delta;
        cases.push(("UDP length off", frame, DropMalformed));
    }
    let mut frame = v4(valid_initial());
    frame.ip_len_delta = 1;
    cases.push(("IP length past the frame", frame, DropMalformed));
    let mut payload = valid_initial();
    payload[0] &= !0x40;
    cases.push(("no fixed bit", v4(payload), DropQuicHeader));
    let mut payload = valid_initial();
    payload[1..5].copy_from_slice(&0x6b33_43cfu32.to_be_bytes());
    cases.push(("QUIC v2", v4(payload), DropQuicHeader));
    let mut payload = valid_initial();
    payload[1..5].copy_from_slice(&0u32.to_be_bytes());
    cases.push((
        "version negotiation",
        v4(payload),
        DropQuicVersionNegotiation,
    ));
    let mut payload = quic_initial(60, 8, 8);
    payload[0] = 0xe0;
    cases.push(("Handshake of 60", v4(payload), Pass));
    let mut payload = quic_short(100);
    payload[0] = 0;
    cases.push(("short header, no fixed bit", v4(payload), DropQuicHeader));
    let mut frame = v4(quic_short(29));
    frame.pad_to = 100;
    cases.push(("Ethernet padding", frame, Pass));
    cases.push((
        "hop-by-hop, denied",
        udp("2001:db8:bad::1", PORT, valid_initial()).exts(&[Ext::options(HOP_BY_HOP, 1)]),
        DropDenied,
    ));
    cases
}

#[test]
fn every_verdict_of_the_chain() {
    let cases = chain_cases();
    for verdict in Verdict::ALL {
        assert!(
            cases.iter().any(|(_, _, v)| *v == verdict),
            "no case for {verdict:?}"
        );
    }
    for (what, frame, verdict) in &cases {
        expect(what, frame, *verdict);
    }
}

#[test]
fn non_ip_and_short_frames_pass_unprotected() {
    let mut arp = udp("10.0.0.1", PORT, vec![]).build();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    for frame in [&arp[..], &arp[..14], &arp[..13], &[][..]] {
        let judgement = judge(frame, &mut Memory::standard());
        assert_eq!(
            judgement,
            Judgement {
                verdict: Verdict::PassUnprotected,
                row: UNPROTECTED_ROW,
                source: None
            }
        );
    }
}

#[test]
fn deny_beats_every_later_check_and_allow_beats_deny() {
    let mut memory = Memory::standard();
    memory.allow.push(cidr("203.0.113.7/32"));
    let junk = udp("203.0.113.7", PORT, vec![0]).build();
    assert_eq!(
        judge(junk.as_slice(), &mut memory).verdict,
        Verdict::PassAllowed
    );
    let junk = udp("203.0.113.8", PORT, vec![0]).build();
    assert_eq!(
        judge(junk.as_slice(), &mut memory).verdict,
        Verdict::DropDenied
    );
}

// ---- VLAN tags and IPv4 options ------------------------------------------------

#[test]
fn one_and_two_vlan_tags_are_walked_and_a_third_is_dropped() {
    for tags in [
        vec![(TPID_VLAN, 42)],
        vec![(TPID_QINQ, 42)],
        vec![(TPID_QINQ, 100), (TPID_VLAN, 42)],
        vec![(TPID_VLAN, 1), (TPID_VLAN, 2)],
    ] {
        for source in ["203.0.113.1", "2001:db8:bad::1"] {
            expect(
                "tagged, denied",
                &udp(source, PORT, valid_initial()).tags(&tags),
                Verdict::DropDenied,
            );
        }
        expect(
            "tagged",
            &udp("2001:db8::1", PORT, valid_initial()).tags(&tags),
            Verdict::Pass,
        );
        expect(
            "tagged, short packet",
            &udp("198.51.100.1", PORT, quic_short(10)).tags(&tags),
            Verdict::DropQuicShortPacket,
        );
    }
    let three = [(TPID_QINQ, 1), (TPID_VLAN, 2), (TPID_VLAN, 3)];
    let frame = udp("198.51.100.1", OPEN_PORT, vec![]).tags(&three);
    expect("three tags, open port", &frame, Verdict::DropHeaderChain);
}

#[test]
fn ipv4_options_are_walked_to_the_udp_header() {
    for words in 1..=10usize {
        // NOPs, then End of Option List.
        let mut options = vec![1u8; words * 4];
        options[words * 4 - 1] = 0;
        let denied = udp("203.0.113.1", PORT, valid_initial()).options(&options);
        expect("options, denied", &denied, Verdict::DropDenied);
        let fine = udp("198.51.100.1", PORT, valid_initial()).options(&options);
        expect("options", &fine, Verdict::Pass);
        let open = udp("203.0.113.1", OPEN_PORT, vec![]).options(&options);
        expect("options, open port", &open, Verdict::PassUnprotected);
    }
    // IHL below 5 is no IPv4 header at all (the kernel drops it).
    let mut bytes = udp("203.0.113.1", PORT, valid_initial()).build();
    bytes[14] = 0x44;
    let judgement = judge(bytes.as_slice(), &mut Memory::standard());
    assert_eq!(judgement.verdict, Verdict::PassUnprotected);
}

// ---- IPv6 extension headers ----------------------------------------------------

/// The extension headers the walk follows, each in its smallest form.
fn walkable() -> Vec<Ext> {
    vec![
        Ext::options(HOP_BY_HOP, 1),
        Ext::options(ROUTING, 1),
        Ext::options(DEST_OPTS, 1),
        Ext::auth(),
        Ext::fragment(0, false),
    ]
}

#[test]
fn each_ipv6_extension_header_before_udp_is_judged() {
    let mut exts = walkable();
    exts.push(Ext::options(HOP_BY_HOP, 256));
    exts.push(Ext::options(DEST_OPTS, 3));
    for ext in exts {
        let chain = [ext.clone()];
        let what = format!("ext {} ({} B)", ext.kind, ext.bytes.len());
        expect(
            &what,
            &udp("2001:db8:bad::1", PORT, valid_initial()).exts(&chain),
            Verdict::DropDenied,
        );
        expect(
            &what,
            &udp("2001:db8:1::1", PORT, valid_initial()).exts(&chain),
            Verdict::Pass,
        );
        expect(
            &what,
            &udp("2001:db8:1::1", PORT, quic_initial(1100, 8, 8)).exts(&chain),
            Verdict::DropQuicShortInitial,
        );
        expect(
            &what,
            &udp("2001:db8:bad::1", OPEN_PORT, vec![]).exts(&chain),
            Verdict::PassUnprotected,
        );
        let mut frame = udp("2001:db8:1::1", PORT, valid_initial()).exts(&chain);
        frame.udp_len_delta = -1;
        expect(&what, &frame, Verdict::DropMalformed);
        let mut frame = udp("2001:db8:1::1", PORT, valid_initial()).exts(&chain);
        frame.ip_len_delta = -(ext.bytes.len() as i32) - 1;
        expect(
            "extension headers longer than the IP payload",
            &frame,
            Verdict::DropMalformed,
        );
    }
}

#[test]
fn six_extension_headers_are_walked_and_seven_are_dropped() {
    let mut six = walkable();
    six.push(Ext::options(DEST_OPTS, 2));
    assert_eq!(six.len(), MAX_EXT_HEADERS);
    let denied = udp("2001:db8:bad::1", PORT, valid_initial());
    expect("six", &denied.clone().exts(&six), Verdict::DropDenied);
    let fine = udp("2001:db8:1::1", PORT, valid_initial());
    expect("six", &fine.clone().exts(&six), Verdict::Pass);
    let mut seven = six.clone();
    seven.push(Ext::options(DEST_OPTS, 1));
    for frame in [&denied, &fine] {
        expect(
            "seven",
            &frame.clone().exts(&seven),
            Verdict::DropHeaderChain,
        );
    }
    let open = udp("2001:db8:1::1", OPEN_PORT, vec![]).exts(&seven);
    expect("seven, open port", &open, Verdict::DropHeaderChain);
    // A chain that ends in another protocol after six headers is not UDP.
    let tcp = fine.clone().exts(&six).protocol(TCP);
    expect("six, then TCP", &tcp, Verdict::PassUnprotected);
}

#[test]
fn fragment_header_then_another_extension_header() {
    let after = [Ext::fragment(0, true), Ext::options(DEST_OPTS, 1)];
    let first = udp("2001:db8:1::7", PORT, valid_initial()).exts(&after);
    expect("first fragment, dest opts", &first, Verdict::DropFragment);
    let before = [Ext::options(HOP_BY_HOP, 1), Ext::fragment(0, true)];
    let first = udp("2001:db8:1::7", PORT, valid_initial()).exts(&before);
    expect("hop-by-hop, first fragment", &first, Verdict::DropFragment);
    let atomic = [Ext::fragment(0, false), Ext::options(DEST_OPTS, 1)];
    let denied = udp("2001:db8:bad::1", PORT, valid_initial()).exts(&atomic);
    expect(
        "atomic fragment, dest opts, denied",
        &denied,
        Verdict::DropDenied,
    );
    let fine = udp("2001:db8:1::1", PORT, valid_initial()).exts(&atomic);
    expect("atomic fragment, dest opts", &fine, Verdict::Pass);
    // A later fragment has no UDP header: no port, not ours to judge.
    let later = [Ext::options(HOP_BY_HOP, 1), Ext::fragment(8, true)];
    let later = udp("2001:db8:bad::1", PORT, valid_initial()).exts(&later);
    expect(
        "hop-by-hop, later fragment",
        &later,
        Verdict::PassUnprotected,
    );
}

#[test]
fn unknown_extension_headers_are_dropped_and_other_protocols_pass() {
    for prefix in [vec![], vec![Ext::options(HOP_BY_HOP, 1)]] {
        for kind in UNKNOWN_EXT {
            let mut chain = prefix.clone();
            chain.push(Ext::raw(kind, 8));
            let frame = udp("2001:db8:1::1", OPEN_PORT, vec![]).exts(&chain);
            expect("unknown extension header", &frame, Verdict::DropHeaderChain);
        }
        for protocol in [TCP, ICMPV6, NO_NEXT, ESP] {
            let frame = udp("2001:db8:bad::1", PORT, valid_initial())
                .exts(&prefix)
                .protocol(protocol);
            expect("not UDP", &frame, Verdict::PassUnprotected);
        }
    }
}

#[test]
fn first_fragments_too_short_for_a_udp_header_are_dropped() {
    // The UDP header is cut by the IP length, not the frame: the port read
    // would come from padding.
    let mut v4 = udp("198.51.100.1", OPEN_PORT, vec![]);
    v4.more_fragments = true;
    v4.ip_len_delta = -4;
    v4.pad_to = 60;
    expect(
        "IPv4 first fragment of 4 bytes",
        &v4,
        Verdict::DropHeaderChain,
    );
    let mut v6 = udp("2001:db8:1::1", OPEN_PORT, vec![]).exts(&[Ext::fragment(0, true)]);
    v6.ip_len_delta = -1;
    expect(
        "IPv6 first fragment of 7 bytes",
        &v6,
        Verdict::DropHeaderChain,
    );
    // The same without MF is a whole (malformed) datagram, judged by port.
    v4.more_fragments = false;
    expect("IPv4 datagram of 4 bytes", &v4, Verdict::PassUnprotected);
    v4.dest_port = PORT;
    expect("IPv4 datagram of 4 bytes", &v4, Verdict::DropMalformed);
}

// ---- truncation and corruption -------------------------------------------------

/// Frames to protected ports from sources neither allowed nor denied, each
/// with a different header shape.
fn protected_shapes() -> Vec<Frame> {
    let v4 = udp("198.51.100.7", PORT, valid_initial());
    let v6 = udp("2001:db8:1::7", PORT, valid_initial());
    let mut shapes = vec![
        v4.clone(),
        v6.clone(),
        v4.clone().tags(&[(TPID_VLAN, 7)]),
        v6.clone().tags(&[(TPID_QINQ, 1), (TPID_VLAN, 2)]),
        v4.clone().options(&[1, 1, 1, 0, 0x94, 4, 0, 0]),
        v6.clone().exts(&walkable()),
        v6.clone().exts(&[Ext::options(HOP_BY_HOP, 4)]),
        udp("198.51.100.7", PORT, quic_short(40)),
    ];
    let mut fragment = v4;
    fragment.more_fragments = true;
    shapes.push(fragment);
    shapes.push(v6.exts(&[Ext::fragment(0, true), Ext::options(DEST_OPTS, 1)]));
    shapes
}

#[test]
fn truncation_at_every_byte_never_passes_protected_junk_and_never_panics() {
    for shape in protected_shapes() {
        let full = shape.build();
        let Headers::Udp(datagram) = headers(full.as_slice()) else {
            panic!("{shape:?} is UDP");
        };
        let port_end = datagram.udp + 4;
        let has_ext = !shape.exts.is_empty();
        // The fixed IPv6 header is read up to the source address; after it
        // the walk has started.
        let walk_start = 14 + 4 * shape.tags.len() + 24;
        let what = format!("{} via {:?}", shape.source, shape.exts);
        for cut in 0..full.len() {
            let frame = &full[..cut];
            let judgement = judge(frame, &mut Memory::standard());
            let verdict = judgement.verdict;
            if cut >= port_end {
                assert!(verdict.is_drop(), "cut {cut} of {what}: {verdict:?}");
                assert_eq!(judgement.row, 0, "cut {cut} of {what}: the port's row");
            } else if has_ext && cut >= walk_start {
                // Inside the extension headers: unwalkable, dropped.
                assert_eq!(verdict, Verdict::DropHeaderChain, "cut {cut} of {what}");
            } else {
                assert_eq!(
                    verdict,
                    Verdict::PassUnprotected,
                    "cut {cut} of {what}: headers incomplete, not ours"
                );
            }
        }
    }
}

/// xorshift64: a seeded, dependency-free source of corruption.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_corruption_never_panics_and_keeps_the_rows_straight() {
    let mut frames: Vec<Vec<u8>> = protected_shapes().iter().map(Frame::build).collect();
    frames.extend(chain_cases().iter().map(|(_, frame, _)| frame.build()));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut memory = Memory::standard();
    for round in 0..100_000 {
        let mut frame = frames[round % frames.len()].clone();
        // Corrupt the first 128 bytes, where the headers are.
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(frame.len().min(128));
            frame[at] = rng.next() as u8;
        }
        if rng.below(4) == 0 {
            frame.truncate(rng.below(frame.len() + 1));
        }
        let judgement = judge(frame.as_slice(), &mut memory);
        match judgement.verdict {
            Verdict::PassUnprotected | Verdict::DropHeaderChain => {
                assert_eq!(judgement.row, UNPROTECTED_ROW)
            }
            _ => assert!(judgement.row < 2, "{judgement:?}"),
        }
        if judgement.verdict == Verdict::Pass {
            let Headers::Udp(datagram) = headers(frame.as_slice()) else {
                panic!("passed protected without a UDP header: {frame:?}");
            };
            assert!(!datagram.fragment && !memory.denied(datagram.source));
        }
    }
}

// ---- token buckets -------------------------------------------------------------

#[test]
fn bucket_allows_the_burst_then_refills_at_the_rate() {
    let limit = RateLimit {
        pps: 4,
        burst_packets: 5,
        bps: 0,
        burst_bytes: 0,
    };
    let (mut bucket, limited) = bucket::first(&limit, 0, 1200);
    assert!(!limited);
    let mut passed = 1;
    while !bucket::take(&mut bucket, &limit, 0, 1200) {
        passed += 1;
    }
    assert_eq!(passed, 5);
    // 600 ms at 4/s: 2.4 packets.
    let now = 600_000_000;
    assert!(!bucket::take(&mut bucket, &limit, now, 1200));
    assert!(!bucket::take(&mut bucket, &limit, now, 1200));
    assert!(bucket::take(&mut bucket, &limit, now, 1200));
    // A long silence refills to the burst, no further.
    let later = now + 3_600_000_000_000;
    let mut passed = 0;
    while !bucket::take(&mut bucket, &limit, later, 1200) {
        passed += 1;
    }
    assert_eq!(passed, 5);
}

#[test]
fn bucket_limits_bytes_and_a_zero_burst_limits_everything() {
    let bytes = RateLimit {
        pps: 0,
        burst_packets: 0,
        bps: 1500,
        burst_bytes: 1500,
    };
    let (mut bucket, limited) = bucket::first(&bytes, 0, 1242);
    assert!(!limited);
    assert!(bucket::take(&mut bucket, &bytes, 0, 1242));
    let (_, limited) = bucket::first(&bytes, 0, 1501);
    assert!(limited, "a frame larger than the byte burst");
    let (mut bucket, limited) = bucket::first(&ALWAYS_LIMITED, 0, 60);
    assert!(limited);
    assert!(bucket::take(
        &mut bucket,
        &ALWAYS_LIMITED,
        5_000_000_000,
        60
    ));
    assert!(bucket::is_unlimited(&RateLimit::default()));
}

#[test]
fn bucket_arithmetic_saturates_on_any_stored_bucket() {
    let limit = RateLimit {
        pps: u64::MAX,
        burst_packets: u64::MAX,
        bps: u64::MAX,
        burst_bytes: u64::MAX,
    };
    let mut bucket = Bucket {
        packet_tokens: u64::MAX,
        byte_tokens: u64::MAX,
        last_ns: 0,
    };
    assert!(!bucket::take(&mut bucket, &limit, u64::MAX, 1500));
    // Clamped to the largest burst, which no 2^64-byte frame fits in.
    assert!(bucket::take(&mut bucket, &limit, u64::MAX, u64::MAX));
    let (_, limited) = bucket::first(&limit, u64::MAX, 1500);
    assert!(!limited);
    let (_, limited) = bucket::first(&limit, u64::MAX, u64::MAX);
    assert!(limited);
    let mut back_in_time = Bucket {
        packet_tokens: 0,
        byte_tokens: 0,
        last_ns: u64::MAX,
    };
    assert!(bucket::take(&mut back_in_time, &ALWAYS_LIMITED, 0, 1));
}

#[test]
fn source_keys_map_ipv4_and_cut_ipv6_to_its_slash_64() {
    let v4 = Source::V4([198, 51, 100, 7]).key();
    assert_eq!(
        v4.addr,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7]
    );
    let v6 = Source::V6([0x20, 1, 0xd, 0xb8, 0, 1, 0, 2, 9, 9, 9, 9, 9, 9, 9, 9]).key();
    assert_eq!(v6.addr[..8], [0x20, 1, 0xd, 0xb8, 0, 1, 0, 2]);
    assert_eq!(v6.addr[8..], [0; 8]);
    assert_eq!(
        verdict_of(&udp("2001:db8:11::1", PORT, valid_initial())),
        Verdict::DropRateLimited
    );
}
