//! `rampart bench xdp`: what a junk packet to the protected port costs the
//! machine under each way of dropping it, measured in one run on a private
//! veth pair between two namespaces.
//!
//! Each mode floods the same junk (count- and time-bounded) from the sending
//! namespace; CPU time is machine-wide busy time from /proc/stat, divided by
//! the packets the mode judged, as its own counters report them (XDP
//! per-verdict counters, nftables rule counters, datagrams delivered to
//! sockets; see `setup.rs`). `sender_only` drops the flood at the sender's own
//! egress, so subtracting it leaves the receiving side's cost.
//!
//! `rampart` drops the flood by its source on the deny list (10,000 CIDRs
//! loaded); `rampart_rate_limit` leaves the source off that list and sends
//! QUIC-shaped datagrams, so the flood passes every check up to the token
//! bucket (with `--buckets` other sources in the table) and dies there.
//!
//! On veth the socket buffer exists before either XDP or nftables' netdev
//! hook runs, so XDP cannot beat nftables here; on a NIC with native XDP the
//! program runs before that allocation, which is where its advantage comes from.

mod setup;
mod test_run;

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use anyhow::{bail, Context};
use aya::programs::XdpMode;
use clap::{Args, ValueEnum};
use serde::Serialize;

use self::{
    setup::{Judged, Setup},
    test_run::test_run_costs,
};
use super::netlab::{cpu, traffic, Lab};
use crate::filter::{is_root, Cidr};

/// The protected port the flood targets.
pub(super) const PORT: u16 = 8009;

/// Ways of receiving the flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The flood dropped at the sender's own egress (nftables netdev egress).
    SenderOnly,
    /// A bare XDP_DROP program on the receiving veth.
    BareDrop,
    /// Rampart's filter dropping by deny rule, with the rule tables loaded.
    Rampart,
    /// Rampart's filter dropping QUIC-shaped datagrams at the token bucket.
    RampartRateLimit,
    /// The same deny rule in nftables at the netdev ingress hook.
    Nftables,
    /// No filter: a plain UDP socket reading and discarding.
    Socket,
    /// No filter: the junk reaching Rampart's own QUIC ingress.
    QuicUserspace,
}

/// Arguments of `rampart bench xdp`.
#[derive(Debug, Args)]
pub struct BenchXdpArgs {
    /// Seconds to flood per mode, split across the rounds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds in which the modes take turns.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Packets to send per mode at most.
    #[arg(long, default_value_t = 3_000_000)]
    max_packets: u64,
    /// Deny CIDRs loaded for the `rampart` and `nftables` modes.
    #[arg(long, default_value_t = 10_000)]
    deny_cidrs: usize,
    /// Token buckets pre-populated for the `rampart` mode.
    #[arg(long, default_value_t = 100_000)]
    buckets: usize,
    /// UDP payload bytes of each junk datagram.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// BPF_PROG_TEST_RUN repeats for the chain-versus-bare comparison.
    #[arg(long, default_value_t = 1_000_000)]
    test_run_repeat: u32,
    /// Modes to run (comma-separated); default all.
    #[arg(long, value_delimiter = ',')]
    modes: Vec<Mode>,
    /// XDP attach mode for the XDP modes: native or skb.
    #[arg(long, default_value = "native")]
    xdp_mode: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// One mode's sums over rounds.
#[derive(Debug, Default)]
struct Totals {
    packets: u64,
    elapsed: Duration,
    cpu_ns: u64,
    judged: Judged,
}

/// One mode's figures.
#[derive(Debug, Clone, Serialize)]
struct ModeResult {
    /// Datagrams sent per second.
    pps: f64,
    /// Machine-wide CPU per datagram the mode judged.
    cpu_ns_per_packet: f64,
    /// The same less `sender_only`'s: the receiving side's cost.
    rx_ns_per_packet: Option<f64>,
    /// Datagrams the flood tool handed to the kernel.
    packets: u64,
    /// Datagrams that left the sender (its egress counter).
    left_sender: u64,
    /// Datagrams the mode judged, from its own counters.
    judged: u64,
    /// Of those, dropped by the mode (0 for the socket modes).
    dropped: u64,
    /// Datagrams the plain socket read (the `socket` mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<u64>,
}

/// Runs `rampart bench xdp`.
///
/// # Errors
/// Not root, tools missing, or a step of the set-up failing.
pub fn run(args: &BenchXdpArgs) -> anyhow::Result<()> {
    if !is_root() {
        bail!("rampart bench xdp needs root (namespaces, XDP, nftables)");
    }
    let xdp_mode = match args.xdp_mode.as_str() {
        "native" => XdpMode::Driver,
        "skb" => XdpMode::Skb,
        other => bail!("--xdp-mode {other:?}: expected native or skb"),
    };
    let mut modes = if args.modes.is_empty() {
        vec![
            Mode::SenderOnly,
            Mode::BareDrop,
            Mode::Rampart,
            Mode::RampartRateLimit,
            Mode::Nftables,
            Mode::Socket,
            Mode::QuicUserspace,
        ]
    } else {
        args.modes.clone()
    };
    if !modes.contains(&Mode::SenderOnly) {
        modes.insert(0, Mode::SenderOnly);
    }
    let lab = Lab::create("bench").context("building the namespace pair")?;
    let pins = PinGuard::new()?;
    let deny = deny_list(args.deny_cidrs, &lab.tx_v4)?;
    let junk = vec![0u8; args.payload];
    // A short-header QUIC datagram: fixed bit set, long enough for a CID and
    // the header-protection sample, so only the token bucket can stop it.
    let mut quic_shaped = vec![0u8; args.payload.max(64)];
    quic_shaped[0] = 0x40;
    let window = Duration::from_secs_f64(args.seconds);
    let dest: SocketAddr = format!("{}:{PORT}", lab.rx_v4).parse()?;
    let source: SocketAddr = format!("{}:40000", lab.tx_v4).parse()?;

    // Modes take turns over several rounds so that load from the rest of the
    // machine falls on all of them alike; totals are summed over rounds.
    let rounds = args.rounds.max(1);
    let window = window / rounds as u32;
    let mut totals: BTreeMap<Mode, Totals> = BTreeMap::new();
    for round in 1..=rounds {
        for &mode in &modes {
            let setup = Setup::start(mode, &lab, &pins, &deny, args, xdp_mode)
                .with_context(|| format!("setting up {mode:?}"))?;
            // Let ARP/NDP settle before measuring.
            std::thread::sleep(Duration::from_millis(100));
            let before = cpu::busy_ns()?;
            let payload_copy = if mode == Mode::RampartRateLimit {
                quic_shaped.clone()
            } else {
                junk.clone()
            };
            let max_packets = args.max_packets / rounds as u64;
            let sent = lab
                .tx
                .run(move || traffic::flood(source, dest, &payload_copy, max_packets, window))??;
            // Let queued packets be processed before reading the CPU again.
            std::thread::sleep(Duration::from_millis(50));
            let after = cpu::busy_ns()?;
            let judged = setup.finish(&lab)?;
            check_judged(mode, &judged, sent.packets)?;
            let total = totals.entry(mode).or_default();
            total.packets += sent.packets;
            total.elapsed += sent.elapsed;
            total.cpu_ns += after.saturating_sub(before);
            total.judged.left_sender += judged.left_sender;
            total.judged.judged += judged.judged;
            total.judged.dropped += judged.dropped;
            progress(&format!(
                "round {round}/{rounds} {mode:?}: {:.0} packets/s, {} judged, {} dropped, {:.0} ns CPU per judged packet",
                sent.packets as f64 / sent.elapsed.as_secs_f64(),
                judged.judged,
                judged.dropped,
                after.saturating_sub(before) as f64 / judged.judged.max(1) as f64
            ));
        }
    }
    let mut results: BTreeMap<Mode, ModeResult> = totals
        .into_iter()
        .map(|(mode, t)| {
            (
                mode,
                ModeResult {
                    pps: t.packets as f64 / t.elapsed.as_secs_f64().max(1e-9),
                    cpu_ns_per_packet: t.cpu_ns as f64 / t.judged.judged.max(1) as f64,
                    rx_ns_per_packet: None,
                    packets: t.packets,
                    left_sender: t.judged.left_sender,
                    judged: t.judged.judged,
                    dropped: t.judged.dropped,
                    received: (mode == Mode::Socket).then_some(t.judged.judged),
                },
            )
        })
        .collect();
    let sender = results.get(&Mode::SenderOnly).map(|r| r.cpu_ns_per_packet);
    for result in results.values_mut() {
        result.rx_ns_per_packet = sender.map(|s| result.cpu_ns_per_packet - s);
    }

    progress("BPF_PROG_TEST_RUN: chain against bare drop");
    let costs = test_run_costs(&pins, &deny, args)?;
    drop(lab);

    let rx = |mode| results.get(&mode).and_then(|r| r.rx_ns_per_packet);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let ratios = [
        (
            "rampart_vs_socket",
            ratio(rx(Mode::Rampart), rx(Mode::Socket)),
        ),
        (
            "rampart_vs_nftables",
            ratio(rx(Mode::Rampart), rx(Mode::Nftables)),
        ),
        (
            "rampart_vs_quic_userspace",
            ratio(rx(Mode::Rampart), rx(Mode::QuicUserspace)),
        ),
        (
            "rampart_vs_bare_drop",
            ratio(rx(Mode::Rampart), rx(Mode::BareDrop)),
        ),
        (
            "rampart_rate_limit_vs_nftables",
            ratio(rx(Mode::RampartRateLimit), rx(Mode::Nftables)),
        ),
    ];
    let chain_vs_bare = costs.full_chain_ns / costs.bare_drop_ns.max(1e-9);

    if args.json {
        let mut object = serde_json::Map::new();
        for (mode, result) in &results {
            object.insert(
                serde_json::to_value(mode)?
                    .as_str()
                    .unwrap_or("mode")
                    .to_owned(),
                serde_json::to_value(result)?,
            );
        }
        for (name, value) in ratios {
            object.insert(name.into(), serde_json::to_value(value)?);
        }
        object.insert("chain_vs_bare_test_run".into(), chain_vs_bare.into());
        object.insert(
            "deny_vs_bare_test_run".into(),
            (costs.deny_ns / costs.bare_drop_ns.max(1e-9)).into(),
        );
        object.insert("test_run".into(), serde_json::to_value(&costs)?);
        println!("{}", serde_json::Value::Object(object));
        return Ok(());
    }
    println!(
        "rampart bench xdp ({} B junk to UDP {PORT}, {:.1} s per mode, {} deny CIDRs, {} buckets)",
        args.payload, args.seconds, args.deny_cidrs, args.buckets
    );
    println!(
        "  {:<20}{:>12}{:>12}{:>12}{:>16}{:>16}",
        "mode", "packets/s", "judged", "dropped", "CPU ns/packet", "rx ns/packet"
    );
    for (mode, r) in &results {
        println!(
            "  {:<20}{:>12.0}{:>12}{:>12}{:>16.0}{:>16}",
            serde_json::to_value(mode)?.as_str().unwrap_or(""),
            r.pps,
            r.judged,
            r.dropped,
            r.cpu_ns_per_packet,
            r.rx_ns_per_packet.map_or("-".into(), |v| format!("{v:.0}"))
        );
    }
    println!("  (CPU per packet the mode judged, from its own counters)");
    for (name, value) in ratios {
        if let Some(value) = value {
            println!("  {name:<32}{value:.2}");
        }
    }
    println!(
        "  BPF_PROG_TEST_RUN ns/run: bare drop {:.0}, not IP {:.0}, unprotected {:.0}, deny {:.0}, QUIC junk {:.0}, full chain {:.0}; full chain / bare {:.2}",
        costs.bare_drop_ns, costs.not_ip_ns, costs.unprotected_ns, costs.deny_ns, costs.quic_drop_ns, costs.full_chain_ns, chain_vs_bare
    );
    Ok(())
}

/// Fails the run when a mode's counters disagree with what it is for: the
/// flood must leave the sender, and die where the mode says it does.
fn check_judged(mode: Mode, judged: &Judged, sent: u64) -> anyhow::Result<()> {
    // The sender's own kernel may drop a few under ENOBUFS; the egress counter
    // is what left, and never more than was handed over.
    if judged.left_sender > sent || judged.left_sender == 0 {
        bail!(
            "{mode:?}: {} left the sender of {sent} sent",
            judged.left_sender
        );
    }
    let all_dropped = judged.dropped == judged.judged;
    let ok = match mode {
        Mode::SenderOnly | Mode::BareDrop | Mode::Rampart | Mode::Nftables => {
            all_dropped && judged.judged > 0
        }
        // The bucket lets its burst through, then nothing at this rate.
        Mode::RampartRateLimit => {
            judged.judged > 0 && judged.judged - judged.dropped <= judged.judged / 10 + 1_000
        }
        Mode::Socket | Mode::QuicUserspace => judged.judged > 0,
    };
    if !ok {
        bail!(
            "{mode:?}: its counters say {} judged and {} dropped of {} that left the sender",
            judged.judged,
            judged.dropped,
            judged.left_sender
        );
    }
    Ok(())
}

fn progress(line: &str) {
    eprintln!("[bench xdp] {line}");
}

/// A private pin directory, removed on drop.
struct PinGuard(pub(super) std::path::PathBuf);

impl PinGuard {
    fn new() -> anyhow::Result<Self> {
        let path =
            std::path::PathBuf::from(format!("/sys/fs/bpf/rampart-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Ok(PinGuard(path))
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` disjoint blocks: the flood's source as a /32, the rest /24s in
/// 100.64.0.0/10, which the flood never uses.
fn deny_list(count: usize, flood_source: &str) -> anyhow::Result<Vec<Cidr>> {
    let mut list = vec![format!("{flood_source}/32").parse::<Cidr>()?];
    for i in 0..count.saturating_sub(1) {
        let i = i as u32;
        list.push(Cidr::V4 {
            addr: [100, 64 + ((i >> 8) & 0x3f) as u8, (i & 0xff) as u8, 0],
            len: 24,
        });
    }
    list.sort();
    list.dedup();
    Ok(list)
}
