//! BPF_PROG_TEST_RUN cost of each path through the chain, with the same
//! tables loaded, against the bare drop program.

use aya::programs::{TestRun, TestRunOptions};
use rampart_common::maps::RateLimit;
use serde::Serialize;

use super::{setup::populate_buckets, BenchXdpArgs, PinGuard, PORT};
use crate::filter::{
    loader::named_program, Cidr, FilterMaps, Loader, BARE_DROP_NAME, PROGRAM_NAME,
};

/// BPF_PROG_TEST_RUN nanoseconds per run for each path through the chain,
/// each path going one stage further than the one before.
#[derive(Debug, Clone, Serialize)]
pub struct TestRunCosts {
    /// The bare XDP_DROP program.
    pub bare_drop_ns: f64,
    /// Not IP: Ethernet parse and a counter.
    pub not_ip_ns: f64,
    /// UDP to an unprotected port: IP/UDP parse and the port lookup.
    pub unprotected_ns: f64,
    /// Protected, source in the deny-list: allow and deny lookups.
    pub deny_ns: f64,
    /// Protected, junk QUIC header: length and QUIC checks too.
    pub quic_drop_ns: f64,
    /// Protected, valid Initial: every stage including the token bucket.
    pub full_chain_ns: f64,
}

/// Per-run cost of each path through the chain under BPF_PROG_TEST_RUN, with
/// the same tables loaded, against the bare drop program.
pub fn test_run_costs(
    pins: &PinGuard,
    deny: &[Cidr],
    args: &BenchXdpArgs,
) -> anyhow::Result<TestRunCosts> {
    let loader = Loader::new(&pins.0);
    let mut ebpf = loader.load()?;
    named_program(&mut ebpf, BARE_DROP_NAME)?.load()?;
    let mut maps = FilterMaps::open(&pins.0)?;
    maps.init_config()?;
    maps.set_ports(&[PORT])?;
    if maps.rules()?.deny.len() < deny.len() {
        maps.bulk_deny(deny)?;
    }
    maps.set_rate(
        None,
        RateLimit {
            pps: 1_000_000_000,
            burst_packets: 1_000_000_000,
            bps: 0,
            burst_bytes: 0,
        },
    )?;
    if maps.tracked_sources() < args.buckets {
        populate_buckets(&mut maps, args.buckets)?;
    }
    let denied = frame([10, 0, 0, 0], PORT, &vec![0u8; args.payload], deny);
    let unprotected = frame([198, 51, 100, 1], PORT + 1, &vec![0u8; args.payload], &[]);
    let mut initial = vec![0u8; 1200];
    initial[0] = 0xc0;
    initial[1..5].copy_from_slice(&1u32.to_be_bytes());
    initial[5] = 8;
    initial[14] = 8;
    let full = frame([198, 51, 100, 1], PORT, &initial, &[]);
    let junk_quic = frame([198, 51, 100, 1], PORT, &vec![0u8; args.payload], &[]);
    let mut not_ip = unprotected.clone();
    not_ip[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let mut time = |name: &'static str, data: &[u8]| -> anyhow::Result<f64> {
        let program = named_program(&mut ebpf, name)?;
        let result = program.test_run(TestRunOptions {
            data_in: Some(data),
            repeat: args.test_run_repeat,
            ..Default::default()
        })?;
        Ok(result.duration.as_nanos() as f64)
    };
    Ok(TestRunCosts {
        bare_drop_ns: time(BARE_DROP_NAME, &denied)?,
        not_ip_ns: time(PROGRAM_NAME, &not_ip)?,
        unprotected_ns: time(PROGRAM_NAME, &unprotected)?,
        deny_ns: time(PROGRAM_NAME, &denied)?,
        quic_drop_ns: time(PROGRAM_NAME, &junk_quic)?,
        full_chain_ns: time(PROGRAM_NAME, &full)?,
    })
}

/// An Ethernet/IPv4/UDP frame. With `deny` given, the source is the first
/// denied /32 (so the frame takes the deny path); otherwise `source`.
fn frame(source: [u8; 4], port: u16, payload: &[u8], deny: &[Cidr]) -> Vec<u8> {
    let source = deny
        .iter()
        .find_map(|c| match c {
            Cidr::V4 { addr, len: 32 } => Some(*addr),
            _ => None,
        })
        .unwrap_or(source);
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut f = vec![0u8; 14 + ip_len];
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&source);
    ip[16..20].copy_from_slice(&[10, 99, 0, 1]);
    let udp = &mut ip[20..];
    udp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    udp[2..4].copy_from_slice(&port.to_be_bytes());
    udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
    udp[8..].copy_from_slice(payload);
    f
}
