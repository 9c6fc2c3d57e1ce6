//! Helpers for the root-only filter tests: skipping visibly when not root (and
//! failing instead under CI), private pin directories, and frames built with pnet.
#![allow(dead_code)]

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use pnet_packet::{
    ethernet::{EtherTypes, MutableEthernetPacket},
    ip::IpNextHeaderProtocols,
    ipv4::{self, MutableIpv4Packet},
    ipv6::MutableIpv6Packet,
    udp::MutableUdpPacket,
};

/// Returns true (and prints why) when the calling test must skip: when not
/// root. Under CI (the environment variable `CI` set and not empty) the
/// root-only tests must run, so there not being root panics instead: a CI
/// that cannot run the XDP chain fails rather than passing without it.
pub fn skip_unless_root(test: &str) -> bool {
    if rampart::filter::is_root() {
        return false;
    }
    if std::env::var_os("CI").is_some_and(|value| !value.is_empty()) {
        panic!(
            "{test} needs root (CAP_BPF, CAP_NET_ADMIN) and CI is set, so it must run, not \
             skip: run CI as root (outside CI, with CI unset, root-only tests skip)"
        );
    }
    // Straight to stderr, past the test harness's output capture, so the
    // skip shows in every run.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: needs root (CAP_BPF, CAP_NET_ADMIN)"
    );
    true
}

/// A pin directory of the test's own under /sys/fs/bpf, removed on drop.
pub struct PinDir(pub PathBuf);

impl PinDir {
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!(
            "/sys/fs/bpf/rampart-test-{}-{test}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        PinDir(path)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The parts of a UDP frame a test varies.
#[derive(Debug, Clone)]
pub struct Frame {
    pub source: IpAddr,
    pub dest_port: u16,
    pub payload: Vec<u8>,
    pub vlan: Option<u16>,
    /// IPv4: set MF (first fragment); IPv6: add a fragment header with M set.
    pub first_fragment: bool,
    /// IPv4 fragment offset (8-byte units) for a later fragment.
    pub fragment_offset: u16,
    /// Added to the UDP length field (to make it inconsistent).
    pub udp_len_delta: i32,
}

impl Frame {
    pub fn udp(source: &str, dest_port: u16, payload: Vec<u8>) -> Self {
        Frame {
            source: source.parse().unwrap(),
            dest_port,
            payload,
            vlan: None,
            first_fragment: false,
            fragment_offset: 0,
            udp_len_delta: 0,
        }
    }

    /// The frame's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut udp = vec![0u8; 8 + self.payload.len()];
        {
            let mut packet = MutableUdpPacket::new(&mut udp).unwrap();
            packet.set_source(40000);
            packet.set_destination(self.dest_port);
            packet.set_length((8 + self.payload.len() as i32 + self.udp_len_delta) as u16);
            packet.set_payload(&self.payload);
        }
        let (ethertype, ip) = match self.source {
            IpAddr::V4(source) => (EtherTypes::Ipv4, self.ipv4(source, &udp)),
            IpAddr::V6(source) => (EtherTypes::Ipv6, self.ipv6(source, &udp)),
        };
        let vlan_len = if self.vlan.is_some() { 4 } else { 0 };
        let mut frame = vec![0u8; 14 + vlan_len + ip.len()];
        {
            let mut eth = MutableEthernetPacket::new(&mut frame).unwrap();
            eth.set_destination([2, 0, 0, 0, 0, 1].into());
            eth.set_source([2, 0, 0, 0, 0, 2].into());
            eth.set_ethertype(if self.vlan.is_some() {
                EtherTypes::Vlan
            } else {
                ethertype
            });
        }
        if let Some(tag) = self.vlan {
            frame[14..16].copy_from_slice(&tag.to_be_bytes());
            frame[16..18].copy_from_slice(&ethertype.0.to_be_bytes());
        }
        frame[14 + vlan_len..].copy_from_slice(&ip);
        frame
    }

    fn ipv4(&self, source: Ipv4Addr, udp: &[u8]) -> Vec<u8> {
        let mut ip = vec![0u8; 20 + udp.len()];
        let mut packet = MutableIpv4Packet::new(&mut ip).unwrap();
        packet.set_version(4);
        packet.set_header_length(5);
        packet.set_total_length((20 + udp.len()) as u16);
        packet.set_ttl(64);
        packet.set_next_level_protocol(IpNextHeaderProtocols::Udp);
        packet.set_source(source);
        packet.set_destination(Ipv4Addr::new(10, 99, 0, 1));
        if self.first_fragment {
            packet.set_flags(ipv4::Ipv4Flags::MoreFragments);
        }
        packet.set_fragment_offset(self.fragment_offset);
        packet.set_payload(udp);
        let checksum = ipv4::checksum(&packet.to_immutable());
        packet.set_checksum(checksum);
        ip
    }

    fn ipv6(&self, source: Ipv6Addr, udp: &[u8]) -> Vec<u8> {
        let fragment = if self.first_fragment { 8 } else { 0 };
        let mut ip = vec![0u8; 40 + fragment + udp.len()];
        {
            let mut packet = MutableIpv6Packet::new(&mut ip).unwrap();
            packet.set_version(6);
            packet.set_payload_length((fragment + udp.len()) as u16);
            packet.set_hop_limit(64);
            packet.set_source(source);
            packet.set_destination("fd00:99::1".parse().unwrap());
            packet.set_next_header(if self.first_fragment {
                IpNextHeaderProtocols::Ipv6Frag
            } else {
                IpNextHeaderProtocols::Udp
            });
        }
        if self.first_fragment {
            ip[40] = 17;
            ip[43] = 1; // offset 0, M set
        }
        ip[40 + fragment..].copy_from_slice(udp);
        ip
    }
}

/// A QUIC v1 long-header Initial of `len` bytes with the given CID lengths.
pub fn quic_initial(len: usize, dcid_len: u8, scid_len: u8) -> Vec<u8> {
    let mut payload = vec![0u8; len.max(8 + dcid_len as usize + scid_len as usize)];
    payload[0] = 0xc0; // long header, fixed bit, Initial
    payload[1..5].copy_from_slice(&1u32.to_be_bytes());
    payload[5] = dcid_len;
    payload[6 + dcid_len as usize] = scid_len;
    payload.truncate(len.max(7 + dcid_len as usize));
    payload
}

/// A QUIC short-header packet of `len` bytes.
pub fn quic_short(len: usize) -> Vec<u8> {
    let mut payload = vec![0x55u8; len];
    payload[0] = 0x40;
    payload
}
