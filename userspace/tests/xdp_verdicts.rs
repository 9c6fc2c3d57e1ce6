//! The XDP program's verdict chain through BPF_PROG_TEST_RUN: the real
//! program in the kernel's verifier and interpreter/JIT, on frames built with
//! pnet, with its real maps. Root only; skips visibly otherwise.

mod common;

use std::time::Duration;

use aya::programs::{TestRun, TestRunOptions};
use common::{quic_initial, quic_short, skip_unless_root, Frame, PinDir};
use rampart::filter::{loader::xdp_program, FilterMaps, Loader};
use rampart_common::{maps::RateLimit, Verdict};

const PORT: u16 = 8009;
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

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
        let bytes = frame.build();
        let before = self.maps.counters().unwrap();
        let action = self.run(&bytes);
        let after = self.maps.counters().unwrap();
        let want_action = if verdict.is_drop() {
            XDP_DROP
        } else {
            XDP_PASS
        };
        let what = format!(
            "{}:{} ({} B payload)",
            frame.source,
            frame.dest_port,
            frame.payload.len()
        );
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
}

fn valid_initial() -> Vec<u8> {
    quic_initial(1200, 8, 8)
}

#[test]
fn unprotected_traffic_always_passes() {
    if skip_unless_root("unprotected_traffic_always_passes") {
        return;
    }
    let mut h = Harness::new("unprotected");
    h.maps
        .add_deny("203.0.113.0/24".parse().unwrap(), None)
        .unwrap();
    for frame in [
        Frame::udp("203.0.113.5", 53, vec![0; 10]),
        Frame::udp("203.0.113.5", PORT + 1, vec![0xff; 3]),
        Frame::udp("2001:db8::1", 443, vec![]),
    ] {
        h.expect(&frame, Verdict::PassUnprotected);
    }
    // Not IP, and too short for an Ethernet header.
    let mut arp = Frame::udp("10.0.0.1", PORT, vec![]).build();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(h.run(&arp), XDP_PASS);
    assert_eq!(h.run(&arp[..14]), XDP_PASS);
}

#[test]
fn every_verdict_of_the_chain() {
    if skip_unless_root("every_verdict_of_the_chain") {
        return;
    }
    let mut h = Harness::new("chain");
    h.maps.add_allow("192.0.2.0/24".parse().unwrap()).unwrap();
    h.maps
        .add_deny("203.0.113.0/24".parse().unwrap(), None)
        .unwrap();
    h.maps
        .add_deny("2001:db8:bad::/48".parse().unwrap(), None)
        .unwrap();

    h.expect(
        &Frame::udp("198.51.100.7", PORT, valid_initial()),
        Verdict::Pass,
    );
    h.expect(
        &Frame::udp("2001:db8:1::7", PORT, valid_initial()),
        Verdict::Pass,
    );
    // Allow-list skips everything, even junk.
    h.expect(
        &Frame::udp("192.0.2.9", PORT, vec![0]),
        Verdict::PassAllowed,
    );
    h.expect(
        &Frame::udp("203.0.113.9", PORT, valid_initial()),
        Verdict::DropDenied,
    );
    h.expect(
        &Frame::udp("2001:db8:bad::1", PORT, valid_initial()),
        Verdict::DropDenied,
    );

    let mut fragment = Frame::udp("198.51.100.7", PORT, valid_initial());
    fragment.first_fragment = true;
    h.expect(&fragment, Verdict::DropFragment);
    let mut fragment6 = Frame::udp("2001:db8:1::7", PORT, valid_initial());
    fragment6.first_fragment = true;
    h.expect(&fragment6, Verdict::DropFragment);
    // A later fragment has no UDP header: no port, so not ours to judge.
    let mut later = Frame::udp("198.51.100.7", PORT, valid_initial());
    later.fragment_offset = 100;
    h.expect(&later, Verdict::PassUnprotected);

    for delta in [-1, 1, -8] {
        let mut bad = Frame::udp("198.51.100.7", PORT, valid_initial());
        bad.udp_len_delta = delta;
        h.expect(&bad, Verdict::DropMalformed);
    }

    let mut no_fixed_bit = valid_initial();
    no_fixed_bit[0] &= !0x40;
    h.expect(
        &Frame::udp("198.51.100.7", PORT, no_fixed_bit),
        Verdict::DropQuicHeader,
    );
    let mut version2 = valid_initial();
    version2[1..5].copy_from_slice(&0x6b33_43cfu32.to_be_bytes());
    h.expect(
        &Frame::udp("198.51.100.7", PORT, version2),
        Verdict::DropQuicHeader,
    );
    h.expect(
        &Frame::udp("198.51.100.7", PORT, quic_initial(1200, 21, 8)),
        Verdict::DropQuicHeader,
    );
    h.expect(
        &Frame::udp("198.51.100.7", PORT, quic_initial(1200, 8, 21)),
        Verdict::DropQuicHeader,
    );
    let mut negotiation = valid_initial();
    negotiation[1..5].copy_from_slice(&0u32.to_be_bytes());
    h.expect(
        &Frame::udp("198.51.100.7", PORT, negotiation),
        Verdict::DropQuicVersionNegotiation,
    );
    h.expect(
        &Frame::udp("198.51.100.7", PORT, quic_initial(1199, 8, 8)),
        Verdict::DropQuicShortInitial,
    );
    h.expect(
        &Frame::udp("198.51.100.7", PORT, vec![]),
        Verdict::DropQuicHeader,
    );
    // Handshake packets (type 2) may be short.
    let mut handshake = quic_initial(60, 8, 8);
    handshake[0] = 0xe0;
    h.expect(&Frame::udp("198.51.100.7", PORT, handshake), Verdict::Pass);
    // Short header: 1 + 8-byte CID + 20 is the least possible.
    h.expect(
        &Frame::udp("198.51.100.7", PORT, quic_short(28)),
        Verdict::DropQuicShortPacket,
    );
    h.expect(
        &Frame::udp("198.51.100.7", PORT, quic_short(29)),
        Verdict::Pass,
    );
    let mut short_no_fixed = quic_short(100);
    short_no_fixed[0] = 0x00;
    h.expect(
        &Frame::udp("198.51.100.7", PORT, short_no_fixed),
        Verdict::DropQuicHeader,
    );
}

#[test]
fn vlan_tagged_frames_are_judged_too() {
    if skip_unless_root("vlan_tagged_frames_are_judged_too") {
        return;
    }
    let mut h = Harness::new("vlan");
    h.maps
        .add_deny("203.0.113.0/24".parse().unwrap(), None)
        .unwrap();
    let mut frame = Frame::udp("203.0.113.1", PORT, valid_initial());
    frame.vlan = Some(42);
    h.expect(&frame, Verdict::DropDenied);
    let mut frame = Frame::udp("2001:db8::1", PORT, valid_initial());
    frame.vlan = Some(7);
    h.expect(&frame, Verdict::Pass);
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
    let frame = Frame::udp("192.0.2.200", PORT, valid_initial());
    for _ in 0..5 {
        h.expect(&frame, Verdict::Pass);
    }
    h.expect(&frame, Verdict::DropRateLimited);
    // Another source has its own bucket; a CIDR rule has a bigger one.
    h.expect(
        &Frame::udp("192.0.2.201", PORT, valid_initial()),
        Verdict::Pass,
    );
    let ruled = Frame::udp("198.51.100.1", PORT, valid_initial());
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
    let fresh = Frame::udp("192.0.2.77", PORT, valid_initial());
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
