//! The XDP program's verdict chain through BPF_PROG_TEST_RUN: the real
//! program in the kernel's verifier and interpreter/JIT, on frames built with
//! pnet, with its real maps. Root only; skips visibly otherwise.
//!
//! The frames live in case lists (frame, expected verdict) that the
//! behaviour tests run under their own rules, and that
//! `host_build_and_loaded_program_agree_frame_for_frame` runs, whole and
//! truncated, through both the loaded program and the host build of
//! `rampart_common::packet`, checking they agree frame for frame.

mod common;
mod xdp_corpus;

use std::{collections::HashMap, net::IpAddr, time::Duration};

use aya::programs::{TestRun, TestRunOptions};
use common::{quic_initial, quic_short, skip_unless_root, Frame, PinDir};
use rampart::filter::{
    loader::xdp_program,
    maps::{monotonic_ns, Counters},
    FilterMaps, Loader, RuleSet,
};
use rampart_common::{
    maps::{Bucket, RateLimit, SourceKey, UNPROTECTED_ROW},
    packet::{bucket, judge, Source, Tables},
    Verdict,
};
use xdp_corpus::{
    with_ipv4_options, with_ipv6_ext, with_vlan_tags, Ext, DEST_OPTS, HOP_BY_HOP, MOBILITY,
    NO_NEXT, ROUTER_ALERT, ROUTING, TCP, TPID_QINQ, TPID_VLAN,
};

const PORT: u16 = 8009;
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

/// A frame and the verdict the chain must give it under its test's rules.
struct Case {
    what: String,
    bytes: Vec<u8>,
    verdict: Verdict,
}

fn case(what: impl Into<String>, bytes: Vec<u8>, verdict: Verdict) -> Case {
    Case {
        what: what.into(),
        bytes,
        verdict,
    }
}

/// A case for a pnet-built frame, named after its source, port and payload.
fn frame_case(frame: &Frame, verdict: Verdict) -> Case {
    let what = format!(
        "{}:{} ({} B payload)",
        frame.source,
        frame.dest_port,
        frame.payload.len()
    );
    case(what, frame.build(), verdict)
}

struct Harness {
    ebpf: aya::Ebpf,
    maps: FilterMaps,
    _pins: PinDir,
}

impl Harness {
    fn new(test: &str) -> Self {
        let pins = PinDir::new(test);
        let mut ebpf = Loader::new(&pins.0)
            .load()
            .expect("program loads and verifies");
        let mut maps = FilterMaps::take(&mut ebpf).unwrap();
        maps.init_config().unwrap();
        maps.set_ports(&[PORT]).unwrap();
        // Exact top-talker counts for the assertions below.
        maps.set_talker_sampling(0).unwrap();
        Harness {
            ebpf,
            maps,
            _pins: pins,
        }
    }

    fn run(&mut self, frame: &[u8]) -> u32 {
        let program = xdp_program(&mut self.ebpf).unwrap();
        let opts = TestRunOptions {
            data_in: Some(frame),
            repeat: 1,
            ..Default::default()
        };
        program.test_run(opts).expect("test run").return_value
    }

    /// Runs `frame` and checks both the action and that exactly the
    /// expected counter moved by one.
    fn expect(&mut self, frame: &Frame, verdict: Verdict) {
        self.expect_case(&frame_case(frame, verdict));
    }

    /// As [`Harness::expect`], for a case.
    fn expect_case(&mut self, case: &Case) {
        let (what, verdict) = (&case.what, case.verdict);
        let before = self.maps.counters().unwrap();
        let action = self.run(&case.bytes);
        let after = self.maps.counters().unwrap();
        let want_action = if verdict.is_drop() {
            XDP_DROP
        } else {
            XDP_PASS
        };
        assert_eq!(action, want_action, "{what}: expected {verdict:?}");
        for v in Verdict::ALL {
            let delta = after.packets(v) - before.packets(v);
            assert_eq!(
                delta,
                u64::from(v == verdict),
                "{what}: counter {} moved by {delta}, expected {verdict:?}",
                v.label()
            );
        }
    }

    fn expect_all(&mut self, cases: &[Case]) {
        for case in cases {
            self.expect_case(case);
        }
    }

    /// Runs `frame` and reads which counter it landed in: (action, verdict,
    /// port of the row or `None` for the unprotected row). Panics unless
    /// exactly one counter moved, by one.
    fn observe(&mut self, frame: &[u8]) -> (u32, Verdict, Option<u16>) {
        let before = self.maps.counters().unwrap();
        let action = self.run(frame);
        let after = self.maps.counters().unwrap();
        let moved = moved_counters(&before, &after);
        assert_eq!(moved.len(), 1, "one counter per frame, got {moved:?}");
        let (port, verdict) = moved[0];
        (action, verdict, port)
    }
}

/// Every (row, verdict) counter whose packets moved, with a check that each
/// moved by exactly one.
fn moved_counters(before: &Counters, after: &Counters) -> Vec<(Option<u16>, Verdict)> {
    let rows = after
        .ports
        .iter()
        .map(|(port, row)| (Some(*port), row, &before.ports[port]))
        .chain(std::iter::once((
            None,
            &after.unprotected,
            &before.unprotected,
        )));
    let mut moved = Vec::new();
    for (port, now, was) in rows {
        for v in Verdict::ALL {
            let delta = now.verdicts[v as usize].packets - was.verdicts[v as usize].packets;
            if delta != 0 {
                assert_eq!(delta, 1, "{port:?} {v:?} moved by {delta}");
                moved.push((port, v));
            }
        }
    }
    moved
}

fn valid_initial() -> Vec<u8> {
    quic_initial(1200, 8, 8)
}

/// A valid Initial to [`PORT`] from `source`, as bytes.
fn initial_from(source: &str) -> Vec<u8> {
    Frame::udp(source, PORT, valid_initial()).build()
}

/// A valid Initial of `len` bytes to [`PORT`] from `source`, as bytes.
fn initial_from_of(source: &str, len: usize) -> Vec<u8> {
    Frame::udp(source, PORT, quic_initial(len, 8, 8)).build()
}

/// A limit no frame longer than 1500 bytes ever gets through: the smallest
/// byte burst, refilled at a byte a second. Unlike a packet limit it does
/// not depend on timing, so the host build and the program agree on it.
const BYTES_OVER_BURST: RateLimit = RateLimit {
    pps: 0,
    burst_packets: 0,
    bps: 1,
    burst_bytes: 1500,
};

/// A QUIC payload length that makes a frame longer than 1500 bytes.
const OVER_BURST: usize = 1600;

fn deny(h: &mut Harness, cidrs: &[&str]) {
    for cidr in cidrs {
        h.maps.add_deny(cidr.parse().unwrap(), None).unwrap();
    }
}

// ---- the case lists ----------------------------------------------------------

/// Deny 203.0.113.0/24: nothing but UDP to the protected port is judged.
fn unprotected_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        Frame::udp("203.0.113.5", 53, vec![0; 10]),
        Frame::udp("203.0.113.5", PORT + 1, vec![0xff; 3]),
        Frame::udp("2001:db8::1", 443, vec![]),
    ]
    .iter()
    .map(|frame| frame_case(frame, Verdict::PassUnprotected))
    .collect();
    // Not IP, and too short for anything but an Ethernet header.
    let mut arp = Frame::udp("10.0.0.1", PORT, vec![]).build();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    cases.push(case("ARP", arp.clone(), Verdict::PassUnprotected));
    cases.push(case(
        "Ethernet only",
        arp[..14].to_vec(),
        Verdict::PassUnprotected,
    ));
    cases
}

/// Allow 192.0.2.0/24; deny 203.0.113.0/24 and 2001:db8:bad::/48.
fn chain_cases() -> Vec<Case> {
    use Verdict::*;
    let v4 = |payload: Vec<u8>| Frame::udp("198.51.100.7", PORT, payload);
    let mut frames = vec![
        (v4(valid_initial()), Pass),
        (Frame::udp("2001:db8:1::7", PORT, valid_initial()), Pass),
        // Allow-list skips everything, even junk.
        (Frame::udp("192.0.2.9", PORT, vec![0]), PassAllowed),
        (Frame::udp("203.0.113.9", PORT, valid_initial()), DropDenied),
        (
            Frame::udp("2001:db8:bad::1", PORT, valid_initial()),
            DropDenied,
        ),
    ];
    let mut fragment = v4(valid_initial());
    fragment.first_fragment = true;
    frames.push((fragment, DropFragment));
    let mut fragment6 = Frame::udp("2001:db8:1::7", PORT, valid_initial());
    fragment6.first_fragment = true;
    frames.push((fragment6, DropFragment));
    // A later fragment has no UDP header: no port, so not ours to judge.
    let mut later = v4(valid_initial());
    later.fragment_offset = 100;
    frames.push((later, PassUnprotected));
    for delta in [-1, 1, -8] {
        let mut bad = v4(valid_initial());
        bad.udp_len_delta = delta;
        frames.push((bad, DropMalformed));
    }
    let mut no_fixed_bit = valid_initial();
    no_fixed_bit[0] &= !0x40;
    frames.push((v4(no_fixed_bit), DropQuicHeader));
    let mut version2 = valid_initial();
    version2[1..5].copy_from_slice(&0x6b33_43cfu32.to_be_bytes());
    frames.push((v4(version2), DropQuicHeader));
    frames.push((v4(quic_initial(1200, 21, 8)), DropQuicHeader));
    frames.push((v4(quic_initial(1200, 8, 21)), DropQuicHeader));
    let mut negotiation = valid_initial();
    negotiation[1..5].copy_from_slice(&0u32.to_be_bytes());
    frames.push((v4(negotiation), DropQuicVersionNegotiation));
    frames.push((v4(quic_initial(1199, 8, 8)), DropQuicShortInitial));
    frames.push((v4(vec![]), DropQuicHeader));
    // Handshake packets (type 2) may be short.
    let mut handshake = quic_initial(60, 8, 8);
    handshake[0] = 0xe0;
    frames.push((v4(handshake), Pass));
    // Short header: 1 + 8-byte CID + 20 is the least possible.
    frames.push((v4(quic_short(28)), DropQuicShortPacket));
    frames.push((v4(quic_short(29)), Pass));
    let mut short_no_fixed = quic_short(100);
    short_no_fixed[0] = 0x00;
    frames.push((v4(short_no_fixed), DropQuicHeader));
    frames
        .iter()
        .map(|(frame, verdict)| frame_case(frame, *verdict))
        .collect()
}

/// Deny 203.0.113.0/24: one 802.1Q tag.
fn vlan_cases() -> Vec<Case> {
    let mut denied = Frame::udp("203.0.113.1", PORT, valid_initial());
    denied.vlan = Some(42);
    let mut fine = Frame::udp("2001:db8::1", PORT, valid_initial());
    fine.vlan = Some(7);
    vec![
        frame_case(&denied, Verdict::DropDenied),
        frame_case(&fine, Verdict::Pass),
    ]
}

/// The rules of the issue 10 tests below.
const BYPASS_DENY: [&str; 2] = ["203.0.113.0/24", "2001:db8:bad::/48"];

/// Deny as [`BYPASS_DENY`]: `ext` before the UDP header.
fn ext_before_udp_cases(ext: Ext) -> Vec<Case> {
    let name = format!("ext header {} before UDP", ext.kind);
    let mut junk = valid_initial();
    junk[0] &= !0x40;
    let junk = Frame::udp("2001:db8:1::7", PORT, junk).build();
    let open = Frame::udp("2001:db8:bad::1", PORT + 1, vec![]).build();
    let chain = std::slice::from_ref(&ext);
    vec![
        case(
            format!("{name}, denied source"),
            with_ipv6_ext(&initial_from("2001:db8:bad::1"), chain),
            Verdict::DropDenied,
        ),
        case(
            &name,
            with_ipv6_ext(&initial_from("2001:db8:1::7"), chain),
            Verdict::Pass,
        ),
        case(
            format!("{name}, no fixed bit"),
            with_ipv6_ext(&junk, chain),
            Verdict::DropQuicHeader,
        ),
        case(
            format!("{name}, open port"),
            with_ipv6_ext(&open, chain),
            Verdict::PassUnprotected,
        ),
    ]
}

/// Deny as [`BYPASS_DENY`]: a Fragment header, then another one.
fn fragment_then_ext_cases() -> Vec<Case> {
    vec![
        // A first fragment: dropped as a fragment, like one without the
        // Destination Options header.
        case(
            "first fragment, then dest opts",
            with_ipv6_ext(
                &initial_from("2001:db8:1::7"),
                &[Ext::fragment(0, true), Ext::short(DEST_OPTS)],
            ),
            Verdict::DropFragment,
        ),
        // An atomic fragment (offset 0, no M flag) is a whole datagram: judged.
        case(
            "atomic fragment, then dest opts, denied source",
            with_ipv6_ext(
                &initial_from("2001:db8:bad::1"),
                &[Ext::fragment(0, false), Ext::short(DEST_OPTS)],
            ),
            Verdict::DropDenied,
        ),
        case(
            "hop-by-hop, then a first fragment",
            with_ipv6_ext(
                &initial_from("2001:db8:1::7"),
                &[Ext::short(HOP_BY_HOP), Ext::fragment(0, true)],
            ),
            Verdict::DropFragment,
        ),
    ]
}

/// Deny as [`BYPASS_DENY`]: two VLAN tags.
fn qinq_cases() -> Vec<Case> {
    let tags = [(TPID_QINQ, 100), (TPID_VLAN, 42)];
    let short = Frame::udp("198.51.100.7", PORT, quic_short(10)).build();
    vec![
        case(
            "QinQ IPv4, denied source",
            with_vlan_tags(&initial_from("203.0.113.1"), &tags),
            Verdict::DropDenied,
        ),
        case(
            "QinQ IPv6, denied source",
            with_vlan_tags(&initial_from("2001:db8:bad::1"), &tags),
            Verdict::DropDenied,
        ),
        case(
            "two 802.1Q tags, short packet",
            with_vlan_tags(&short, &[(TPID_VLAN, 1), (TPID_VLAN, 2)]),
            Verdict::DropQuicShortPacket,
        ),
        case(
            "QinQ IPv4",
            with_vlan_tags(&initial_from("198.51.100.7"), &tags),
            Verdict::Pass,
        ),
    ]
}

/// Deny as [`BYPASS_DENY`]: IPv4 options.
fn ipv4_options_cases() -> Vec<Case> {
    // The longest header: 40 bytes of options (NOPs, then end of list).
    let mut longest = [1u8; 40];
    longest[39] = 0;
    vec![
        case(
            "router alert, denied source",
            with_ipv4_options(&initial_from("203.0.113.1"), &ROUTER_ALERT),
            Verdict::DropDenied,
        ),
        case(
            "40 bytes of options, denied source",
            with_ipv4_options(&initial_from("203.0.113.1"), &longest),
            Verdict::DropDenied,
        ),
        case(
            "router alert",
            with_ipv4_options(&initial_from("198.51.100.7"), &ROUTER_ALERT),
            Verdict::Pass,
        ),
    ]
}

/// Deny as [`BYPASS_DENY`]: headers the walk refuses, and their neighbours
/// it does not.
fn header_chain_cases() -> Vec<Case> {
    use Verdict::*;
    let fine = initial_from("2001:db8:1::7");
    let six = [
        Ext::short(HOP_BY_HOP),
        Ext::short(ROUTING),
        Ext::short(DEST_OPTS),
        Ext::auth(),
        Ext::fragment(0, false),
        Ext::long(DEST_OPTS, 3),
    ];
    let mut seven = six.to_vec();
    seven.push(Ext::short(DEST_OPTS));
    let open = Frame::udp("198.51.100.7", 53, vec![1; 20]).build();
    let mut tiny_first = Frame::udp("2001:db8:1::7", 53, vec![]);
    tiny_first.first_fragment = true;
    let mut tiny_first = tiny_first.build();
    // Payload length 8 + 7: the fragment header and 7 bytes of UDP header.
    tiny_first[18..20].copy_from_slice(&15u16.to_be_bytes());
    let with_tcp = {
        let mut frame = with_ipv6_ext(&fine, &[Ext::short(HOP_BY_HOP)]);
        frame[54] = TCP;
        frame
    };
    let no_next = {
        let mut frame = fine.clone();
        frame[20] = NO_NEXT;
        frame
    };
    let cut_in_chain = with_ipv6_ext(&fine, &[Ext::short(HOP_BY_HOP), Ext::long(DEST_OPTS, 4)]);
    vec![
        case("six extension headers", with_ipv6_ext(&fine, &six), Pass),
        case(
            "seven extension headers",
            with_ipv6_ext(&fine, &seven),
            DropHeaderChain,
        ),
        case(
            "mobility header",
            with_ipv6_ext(&fine, &[Ext::raw(MOBILITY, 8)]),
            DropHeaderChain,
        ),
        case(
            "hop-by-hop, then experimental 253",
            with_ipv6_ext(&fine, &[Ext::short(HOP_BY_HOP), Ext::raw(253, 8)]),
            DropHeaderChain,
        ),
        case(
            "three VLAN tags, open port",
            with_vlan_tags(&open, &[(TPID_QINQ, 1), (TPID_VLAN, 2), (TPID_VLAN, 3)]),
            DropHeaderChain,
        ),
        case(
            "chain cut in its second header",
            cut_in_chain[..14 + 40 + 8 + 20].to_vec(),
            DropHeaderChain,
        ),
        case("first fragment of 7 UDP bytes", tiny_first, DropHeaderChain),
        case("hop-by-hop, then TCP", with_tcp, PassUnprotected),
        case("no next header", no_next, PassUnprotected),
    ]
}

// ---- behaviour tests ---------------------------------------------------------

#[test]
fn unprotected_traffic_always_passes() {
    if skip_unless_root("unprotected_traffic_always_passes") {
        return;
    }
    let mut h = Harness::new("unprotected");
    deny(&mut h, &["203.0.113.0/24"]);
    h.expect_all(&unprotected_cases());
}

#[test]
fn every_verdict_of_the_chain() {
    if skip_unless_root("every_verdict_of_the_chain") {
        return;
    }
    let mut h = Harness::new("chain");
    h.maps.add_allow("192.0.2.0/24".parse().unwrap()).unwrap();
    deny(&mut h, &BYPASS_DENY);
    h.expect_all(&chain_cases());
    h.expect_all(&header_chain_cases());
    h.maps.set_rate(None, BYTES_OVER_BURST).unwrap();
    h.expect_case(&case(
        "over the byte burst",
        initial_from_of("198.51.100.7", OVER_BURST),
        Verdict::DropRateLimited,
    ));
}

#[test]
fn vlan_tagged_frames_are_judged_too() {
    if skip_unless_root("vlan_tagged_frames_are_judged_too") {
        return;
    }
    let mut h = Harness::new("vlan");
    deny(&mut h, &["203.0.113.0/24"]);
    h.expect_all(&vlan_cases());
}

#[test]
fn truncation_at_every_byte_never_passes_protected_junk_and_never_crashes() {
    if skip_unless_root("truncation_at_every_byte") {
        return;
    }
    let mut h = Harness::new("truncation");
    for source in ["198.51.100.7", "2001:db8::7"] {
        let full = Frame::udp(source, PORT, valid_initial()).build();
        // BPF_PROG_TEST_RUN needs at least an Ethernet header.
        for cut in 14..full.len() {
            let before = h.maps.counters().unwrap().total_packets();
            let action = h.run(&full[..cut]);
            let after = h.maps.counters().unwrap();
            assert_eq!(
                after.total_packets() - before,
                1,
                "cut {cut}: one counter per frame"
            );
            // Once the destination port is readable the frame is ours, and a
            // cut frame is malformed (UDP header cut, or the IP length past
            // the end): dropped, never passed.
            let port_end = if source.contains(':') {
                14 + 40 + 4
            } else {
                14 + 20 + 4
            };
            if cut >= port_end {
                assert_eq!(action, XDP_DROP, "cut {cut} of {source}");
            } else {
                assert_eq!(
                    action, XDP_PASS,
                    "cut {cut} of {source}: headers incomplete, not ours"
                );
            }
        }
    }
}

/// The frames of `token_bucket_limits_and_refills`.
fn bucket_frames() -> [Frame; 4] {
    [
        Frame::udp("192.0.2.200", PORT, valid_initial()),
        Frame::udp("192.0.2.201", PORT, valid_initial()),
        Frame::udp("198.51.100.1", PORT, valid_initial()),
        Frame::udp("192.0.2.77", PORT, valid_initial()),
    ]
}

#[test]
fn token_bucket_limits_and_refills() {
    if skip_unless_root("token_bucket_limits_and_refills") {
        return;
    }
    let mut h = Harness::new("bucket");
    h.maps
        .set_rate(
            None,
            RateLimit {
                pps: 4,
                burst_packets: 5,
                bps: 0,
                burst_bytes: 0,
            },
        )
        .unwrap();
    h.maps
        .set_rate(
            Some("198.51.100.0/24".parse().unwrap()),
            RateLimit {
                pps: 1,
                burst_packets: 50,
                bps: 0,
                burst_bytes: 0,
            },
        )
        .unwrap();
    let [frame, other, ruled, fresh] = bucket_frames();
    for _ in 0..5 {
        h.expect(&frame, Verdict::Pass);
    }
    h.expect(&frame, Verdict::DropRateLimited);
    // Another source has its own bucket; a CIDR rule has a bigger one.
    h.expect(&other, Verdict::Pass);
    for _ in 0..50 {
        h.expect(&ruled, Verdict::Pass);
    }
    h.expect(&ruled, Verdict::DropRateLimited);
    // Empty the bucket again (tokens came back while the lines above ran),
    // then let it refill for 600 ms at 4 packets/s: 2.4 tokens, so two pass
    // and the third is dropped unless the machine stalls for 150 ms.
    let bytes = frame.build();
    for _ in 0..10 {
        if h.run(&bytes) == XDP_DROP {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(600));
    h.expect(&frame, Verdict::Pass);
    h.expect(&frame, Verdict::Pass);
    h.expect(&frame, Verdict::DropRateLimited);
    // Byte limit: 1500-byte burst lets one 1.2 KB frame through, not two.
    h.maps
        .set_rate(
            None,
            RateLimit {
                pps: 0,
                burst_packets: 0,
                bps: 1500,
                burst_bytes: 1500,
            },
        )
        .unwrap();
    h.expect(&fresh, Verdict::Pass);
    h.expect(&fresh, Verdict::DropRateLimited);
    let talkers = h.maps.top_talkers(10).unwrap();
    let drops_of = |ip: &str| {
        talkers
            .iter()
            .find(|(a, _)| a.to_string() == ip)
            .map(|(_, d)| *d)
    };
    // Three drops: the first empty bucket, the one that emptied it again, the last.
    assert_eq!(drops_of("192.0.2.200"), Some(3));
    assert_eq!(drops_of("198.51.100.1"), Some(1));
    assert_eq!(drops_of("192.0.2.77"), Some(1));
}

#[test]
fn deny_entries_expire() {
    if skip_unless_root("deny_entries_expire") {
        return;
    }
    let mut h = Harness::new("expiry");
    h.maps
        .add_deny(
            "203.0.113.0/24".parse().unwrap(),
            Some(Duration::from_millis(300)),
        )
        .unwrap();
    let frame = Frame::udp("203.0.113.1", PORT, valid_initial());
    h.expect(&frame, Verdict::DropDenied);
    std::thread::sleep(Duration::from_millis(400));
    h.expect(&frame, Verdict::Pass);
    assert!(
        h.maps.rules().unwrap().deny.is_empty(),
        "listing prunes expired entries"
    );
}

// ---- issue 10: bypasses of the old chain ----------------------------------------
//
// Each of these passed the frame as unprotected on the chain before issue 10,
// skipping the deny-list and every later check.

fn bypass_harness(test: &str) -> Harness {
    let mut h = Harness::new(test);
    deny(&mut h, &BYPASS_DENY);
    h
}

#[test]
fn issue_10_hop_by_hop_before_udp_is_judged() {
    if skip_unless_root("issue_10_hop_by_hop_before_udp_is_judged") {
        return;
    }
    bypass_harness("hbh").expect_all(&ext_before_udp_cases(Ext::short(HOP_BY_HOP)));
}

#[test]
fn issue_10_routing_header_before_udp_is_judged() {
    if skip_unless_root("issue_10_routing_header_before_udp_is_judged") {
        return;
    }
    bypass_harness("routing").expect_all(&ext_before_udp_cases(Ext::short(ROUTING)));
}

#[test]
fn issue_10_destination_options_before_udp_are_judged() {
    if skip_unless_root("issue_10_destination_options_before_udp_are_judged") {
        return;
    }
    bypass_harness("dstopts").expect_all(&ext_before_udp_cases(Ext::short(DEST_OPTS)));
}

#[test]
fn issue_10_fragment_header_then_another_extension_header_is_judged() {
    if skip_unless_root("issue_10_fragment_header_then_another_extension_header_is_judged") {
        return;
    }
    bypass_harness("fragext").expect_all(&fragment_then_ext_cases());
}

#[test]
fn issue_10_qinq_double_tagged_frames_are_judged() {
    if skip_unless_root("issue_10_qinq_double_tagged_frames_are_judged") {
        return;
    }
    bypass_harness("qinq").expect_all(&qinq_cases());
}

#[test]
fn issue_10_ipv4_options_are_walked() {
    if skip_unless_root("issue_10_ipv4_options_are_walked") {
        return;
    }
    bypass_harness("ipv4opts").expect_all(&ipv4_options_cases());
}

#[test]
fn issue_10_unwalkable_header_chains_are_dropped() {
    if skip_unless_root("issue_10_unwalkable_header_chains_are_dropped") {
        return;
    }
    let mut h = bypass_harness("unwalkable");
    h.expect_all(&header_chain_cases());
    // Counted in the unprotected row: the port is unknown.
    let dropped = header_chain_cases()
        .iter()
        .filter(|case| case.verdict == Verdict::DropHeaderChain)
        .count();
    let counters = h.maps.counters().unwrap();
    assert_eq!(
        counters.unprotected.verdicts[Verdict::DropHeaderChain as usize].packets,
        dropped as u64
    );
}

// ---- the host build against the loaded program -------------------------------

/// The maps' rules, in memory, for the host build of the chain.
struct MemoryTables {
    ports: Vec<u16>,
    rules: RuleSet,
    cid_len: usize,
    buckets: HashMap<SourceKey, Bucket>,
}

impl MemoryTables {
    /// The same rules as `maps` holds (read back from the maps themselves).
    fn mirror(maps: &mut FilterMaps) -> Self {
        MemoryTables {
            ports: maps.ports().unwrap(),
            rules: maps.rules().unwrap(),
            cid_len: maps.config().unwrap().quic_cid_len as usize,
            buckets: HashMap::new(),
        }
    }
}

fn ip_of(source: Source) -> IpAddr {
    match source {
        Source::V4(addr) => addr.into(),
        Source::V6(addr) => addr.into(),
    }
}

impl Tables for MemoryTables {
    fn port_row(&self, port: u16) -> Option<u32> {
        self.ports
            .iter()
            .position(|&p| p == port)
            .map(|row| row as u32)
    }

    fn allowed(&self, source: Source) -> bool {
        self.rules.allow.iter().any(|c| c.contains(ip_of(source)))
    }

    fn denied(&self, source: Source) -> bool {
        // Only permanent entries here: no clock to compare.
        self.rules
            .deny
            .iter()
            .any(|(c, _)| c.contains(ip_of(source)))
    }

    fn rate_limited(&mut self, source: Source, bytes: u64) -> bool {
        let limit = self
            .rules
            .rate
            .iter()
            .filter(|(c, _)| c.contains(ip_of(source)))
            .max_by_key(|(c, _)| c.len())
            .map_or(self.rules.global_rate, |(_, limit)| *limit);
        if bucket::is_unlimited(&limit) {
            return false;
        }
        let now = monotonic_ns();
        match self.buckets.get_mut(&source.key()) {
            Some(stored) => bucket::take(stored, &limit, now, bytes),
            None => {
                let (fresh, limited) = bucket::first(&limit, now, bytes);
                self.buckets.insert(source.key(), fresh);
                limited
            }
        }
    }

    fn quic_cid_len(&self) -> usize {
        self.cid_len
    }
}

/// Every frame of every case list above, plus the bucket frames. Their
/// verdicts are those of their own tests' rules: the agreement test compares
/// the host build with the program, not with these.
fn corpus() -> Vec<Case> {
    let mut cases = unprotected_cases();
    cases.extend(chain_cases());
    cases.extend(vlan_cases());
    for ext in [
        Ext::short(HOP_BY_HOP),
        Ext::short(ROUTING),
        Ext::short(DEST_OPTS),
        Ext::auth(),
        Ext::long(HOP_BY_HOP, 255),
    ] {
        cases.extend(ext_before_udp_cases(ext));
    }
    cases.extend(fragment_then_ext_cases());
    cases.extend(qinq_cases());
    cases.extend(ipv4_options_cases());
    cases.extend(header_chain_cases());
    for frame in bucket_frames() {
        cases.push(frame_case(&frame, Verdict::Pass));
    }
    // Rate limited under the agreement test's rules. Cut short, it is
    // malformed before the bucket is asked, so only the whole frame takes
    // from it, and the whole frame is always over the byte burst.
    cases.push(case(
        "over the byte burst",
        initial_from_of("100.64.1.1", OVER_BURST),
        Verdict::DropRateLimited,
    ));
    cases
}

#[test]
fn host_build_and_loaded_program_agree_frame_for_frame() {
    if skip_unless_root("host_build_and_loaded_program_agree_frame_for_frame") {
        return;
    }
    let mut h = Harness::new("agree");
    h.maps.set_ports(&[PORT, PORT + 1]).unwrap();
    h.maps.add_allow("192.0.2.0/24".parse().unwrap()).unwrap();
    deny(&mut h, &BYPASS_DENY);
    h.maps
        .set_rate(Some("100.64.0.0/10".parse().unwrap()), BYTES_OVER_BURST)
        .unwrap();
    let mut tables = MemoryTables::mirror(&mut h.maps);
    let mut frames = 0;
    let mut seen = Vec::new();
    let mut disagreements = Vec::new();
    for case in corpus() {
        let full = &case.bytes;
        // Every cut through the headers and the first QUIC bytes, and the
        // whole frame. BPF_PROG_TEST_RUN needs an Ethernet header.
        let cuts = (14..full.len().min(200)).chain([full.len() - 1, full.len()]);
        for cut in cuts.filter(|&cut| cut >= 14) {
            let frame = &full[..cut];
            let (action, kernel, kernel_port) = h.observe(frame);
            let host = judge(frame, &mut tables);
            let host_port = (host.row != UNPROTECTED_ROW).then(|| tables.ports[host.row as usize]);
            frames += 1;
            if !seen.contains(&host.verdict) {
                seen.push(host.verdict);
            }
            let action_matches = action == if kernel.is_drop() { XDP_DROP } else { XDP_PASS };
            if (host.verdict, host_port) != (kernel, kernel_port) || !action_matches {
                disagreements.push(format!(
                    "{} cut at {cut}/{}: host {:?} in {host_port:?}, program {kernel:?} in \
                     {kernel_port:?} (action {action})",
                    case.what,
                    full.len(),
                    host.verdict
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {frames} frames disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    for verdict in Verdict::ALL {
        assert!(seen.contains(&verdict), "the corpus never gave {verdict:?}");
    }
    eprintln!("host build and program agree on {frames} frames");
}
