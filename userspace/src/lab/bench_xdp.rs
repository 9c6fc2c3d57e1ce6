//! `rampart bench xdp`: what a junk packet to the protected port costs the
//! machine under each way of dropping it, measured in one run on a private
//! veth pair between two namespaces.
//!
//! Each mode floods the same junk (count- and time-bounded) from the sending
//! namespace; CPU time is machine-wide busy time from /proc/stat, divided by
//! packets sent. `sender_only` drops the flood at the sender's own egress, so
//! subtracting it leaves the receiving side's cost.
//!
//! On veth the socket buffer exists before either XDP or nftables' netdev
//! hook runs, so XDP cannot beat nftables here; on a NIC with native XDP the
//! program runs before that allocation, which is where its advantage comes from.

use std::{
    collections::BTreeMap,
    net::{SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use aya::programs::{TestRun, TestRunOptions, XdpMode};
use clap::{Args, ValueEnum};
use rampart_common::maps::{Bucket, RateLimit, SourceKey};
use serde::Serialize;

use super::netlab::{self, cpu, traffic, Lab};
use crate::{
    appliance::{Appliance, Config},
    filter::{
        is_root, loader::named_program, Cidr, FilterMaps, Loader, BARE_DROP_NAME, PROGRAM_NAME,
    },
};

/// The protected port the flood targets.
const PORT: u16 = 8009;

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
    received: Option<u64>,
}

/// One mode's figures.
#[derive(Debug, Clone, Serialize)]
struct ModeResult {
    pps: f64,
    cpu_ns_per_packet: f64,
    rx_ns_per_packet: Option<f64>,
    packets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    received: Option<u64>,
}

/// BPF_PROG_TEST_RUN nanoseconds per run for each path through the chain,
/// each path going one stage further than the one before.
#[derive(Debug, Clone, Serialize)]
struct TestRunCosts {
    /// The bare XDP_DROP program.
    bare_drop_ns: f64,
    /// Not IP: Ethernet parse and a counter.
    not_ip_ns: f64,
    /// UDP to an unprotected port: IP/UDP parse and the port lookup.
    unprotected_ns: f64,
    /// Protected, source in the deny-list: allow and deny lookups.
    deny_ns: f64,
    /// Protected, junk QUIC header: length and QUIC checks too.
    quic_drop_ns: f64,
    /// Protected, valid Initial: every stage including the token bucket.
    full_chain_ns: f64,
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
    let payload = vec![0u8; args.payload];
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
            let payload_copy = payload.clone();
            let max_packets = args.max_packets / rounds as u64;
            let sent = lab
                .tx
                .run(move || traffic::flood(source, dest, &payload_copy, max_packets, window))??;
            // Let queued packets be processed before reading the CPU again.
            std::thread::sleep(Duration::from_millis(50));
            let after = cpu::busy_ns()?;
            let received = setup.finish()?;
            let total = totals.entry(mode).or_default();
            total.packets += sent.packets;
            total.elapsed += sent.elapsed;
            total.cpu_ns += after.saturating_sub(before);
            total.received = received.map(|r| total.received.unwrap_or(0) + r);
            progress(&format!(
                "round {round}/{rounds} {mode:?}: {:.0} packets/s, {:.0} ns CPU per packet",
                sent.packets as f64 / sent.elapsed.as_secs_f64(),
                after.saturating_sub(before) as f64 / sent.packets.max(1) as f64
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
                    cpu_ns_per_packet: t.cpu_ns as f64 / t.packets.max(1) as f64,
                    rx_ns_per_packet: None,
                    packets: t.packets,
                    received: t.received,
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
        "  {:<16}{:>12}{:>16}{:>16}",
        "mode", "packets/s", "CPU ns/packet", "rx ns/packet"
    );
    for (mode, r) in &results {
        println!(
            "  {:<16}{:>12.0}{:>16.0}{:>16}",
            serde_json::to_value(mode)?.as_str().unwrap_or(""),
            r.pps,
            r.cpu_ns_per_packet,
            r.rx_ns_per_packet.map_or("-".into(), |v| format!("{v:.0}"))
        );
    }
    for (name, value) in ratios {
        if let Some(value) = value {
            println!("  {name:<28}{value:.2}");
        }
    }
    println!(
        "  BPF_PROG_TEST_RUN ns/run: bare drop {:.0}, not IP {:.0}, unprotected {:.0}, deny {:.0}, QUIC junk {:.0}, full chain {:.0}; full chain / bare {:.2}",
        costs.bare_drop_ns, costs.not_ip_ns, costs.unprotected_ns, costs.deny_ns, costs.quic_drop_ns, costs.full_chain_ns, chain_vs_bare
    );
    Ok(())
}

fn progress(line: &str) {
    eprintln!("[bench xdp] {line}");
}

/// A private pin directory, removed on drop.
struct PinGuard(std::path::PathBuf);

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

/// What a mode leaves running while the flood is measured.
enum Setup {
    /// An XDP program attached (kept alive by its object).
    Xdp(#[allow(dead_code)] aya::Ebpf),
    /// An nftables table in a namespace, deleted at the end.
    Nft { netns: String, family_table: String },
    /// Rampart's appliance (QUIC ingress and pipeline) in the receiving namespace.
    Quic(Box<Appliance>, std::path::PathBuf),
    /// A socket reader thread.
    Socket {
        stop: Arc<AtomicBool>,
        received: Arc<AtomicU64>,
        thread: std::thread::JoinHandle<Result<(), netlab::NetlabError>>,
    },
}

impl Setup {
    fn start(
        mode: Mode,
        lab: &Lab,
        pins: &PinGuard,
        deny: &[Cidr],
        args: &BenchXdpArgs,
        xdp_mode: XdpMode,
    ) -> anyhow::Result<Self> {
        match mode {
            Mode::SenderOnly => {
                let table = "netdev rampart_bench_tx";
                let rules = format!(
                    "table {table} {{\n chain egress {{\n  type filter hook egress device \"{}\" priority 0; policy accept;\n  ip protocol udp udp dport {PORT} drop\n }}\n}}\n",
                    lab.tx_iface
                );
                nft(lab.tx.name(), &rules)?;
                Ok(Setup::Nft {
                    netns: lab.tx.name().into(),
                    family_table: table.into(),
                })
            }
            Mode::Nftables => {
                let table = "netdev rampart_bench_rx";
                let elements: Vec<String> = deny
                    .iter()
                    .filter(|c| matches!(c, Cidr::V4 { .. }))
                    .map(Cidr::to_string)
                    .collect();
                let rules = format!(
                    "table {table} {{\n set deny {{\n  type ipv4_addr; flags interval\n  elements = {{ {} }}\n }}\n chain ingress {{\n  type filter hook ingress device \"{}\" priority 0; policy accept;\n  ip saddr @deny udp dport {PORT} drop\n }}\n}}\n",
                    elements.join(", "),
                    lab.rx_iface
                );
                nft(lab.rx.name(), &rules)?;
                Ok(Setup::Nft {
                    netns: lab.rx.name().into(),
                    family_table: table.into(),
                })
            }
            Mode::BareDrop | Mode::Rampart => {
                let loader = Loader::new(&pins.0);
                let mut ebpf = if mode == Mode::Rampart {
                    let ebpf = loader.load()?;
                    let mut maps = FilterMaps::open(&pins.0)?;
                    maps.init_config()?;
                    maps.set_ports(&[PORT])?;
                    maps.replace_rules(&crate::filter::RuleSet {
                        global_rate: RateLimit {
                            pps: 1_000_000,
                            burst_packets: 1_000_000,
                            bps: 0,
                            burst_bytes: 0,
                        },
                        ports: vec![PORT],
                        ..Default::default()
                    })?;
                    maps.bulk_deny(deny)?;
                    populate_buckets(&mut maps, args.buckets)?;
                    ebpf
                } else {
                    let mut ebpf = loader.load_object()?;
                    named_program(&mut ebpf, BARE_DROP_NAME)?.load()?;
                    ebpf
                };
                let name = if mode == Mode::Rampart {
                    PROGRAM_NAME
                } else {
                    BARE_DROP_NAME
                };
                let iface = lab.rx_iface.clone();
                ebpf = lab.rx.run(move || -> anyhow::Result<aya::Ebpf> {
                    named_program(&mut ebpf, name)?.attach(&iface, xdp_mode)?;
                    Ok(ebpf)
                })??;
                Ok(Setup::Xdp(ebpf))
            }
            Mode::Socket => {
                let stop = Arc::new(AtomicBool::new(false));
                let received = Arc::new(AtomicU64::new(0));
                let bind: SocketAddr = format!("{}:{PORT}", lab.rx_v4).parse()?;
                let socket = lab.rx.run(move || UdpSocket::bind(bind))??;
                socket.set_read_timeout(Some(Duration::from_millis(50)))?;
                let (stop2, received2) = (stop.clone(), received.clone());
                let thread = lab.rx.spawn(move || {
                    let mut buffer = [0u8; 2048];
                    while !stop2.load(Ordering::Relaxed) {
                        if socket.recv_from(&mut buffer).is_ok() {
                            received2.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                Ok(Setup::Socket {
                    stop,
                    received,
                    thread,
                })
            }
            Mode::QuicUserspace => {
                let dir = std::env::temp_dir()
                    .join(format!("rampart-bench-xdp-quic-{}", std::process::id()));
                let mut config = Config::default();
                config.ingress.listen = format!("{}:{PORT}", lab.rx_v4).parse()?;
                config.ingress.identity = dir.join("identity.json");
                config.forward.target = SocketAddr::from(([127, 0, 0, 1], 9));
                config.metrics.listen = None;
                config.pipeline.verify_threads = Some(1);
                let appliance = lab.rx.run(move || Appliance::start(config))??;
                Ok(Setup::Quic(Box::new(appliance), dir))
            }
        }
    }

    /// Tears the mode down; returns datagrams received where that applies.
    fn finish(self) -> anyhow::Result<Option<u64>> {
        match self {
            Setup::Xdp(ebpf) => {
                drop(ebpf);
                Ok(None)
            }
            Setup::Quic(appliance, dir) => {
                appliance.shutdown();
                let _ = std::fs::remove_dir_all(dir);
                Ok(None)
            }
            Setup::Nft {
                netns,
                family_table,
            } => {
                nft(&netns, &format!("delete table {family_table}"))?;
                Ok(None)
            }
            Setup::Socket {
                stop,
                received,
                thread,
            } => {
                let deadline = Instant::now() + Duration::from_millis(200);
                while Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                stop.store(true, Ordering::Relaxed);
                thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("socket reader panicked"))??;
                Ok(Some(received.load(Ordering::Relaxed)))
            }
        }
    }
}

/// Runs `nft -f -` with `script` inside namespace `netns`.
fn nft(netns: &str, script: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running nft (install nftables)")?;
    child
        .stdin
        .take()
        .context("nft stdin")?
        .write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "nft failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Fills the token-bucket table with `count` made-up sources.
fn populate_buckets(maps: &mut FilterMaps, count: usize) -> anyhow::Result<()> {
    let now = crate::filter::maps::monotonic_ns();
    for i in 0..count as u32 {
        let mut addr = [0u8; 16];
        addr[10] = 0xff;
        addr[11] = 0xff;
        addr[12..].copy_from_slice(&(0x6440_0000u32 + i).to_be_bytes());
        maps.insert_bucket(
            SourceKey { addr },
            Bucket {
                packet_tokens: 0,
                byte_tokens: 0,
                last_ns: now,
            },
        )?;
    }
    Ok(())
}

/// Per-run cost of each path through the chain under BPF_PROG_TEST_RUN, with
/// the same tables loaded, against the bare drop program.
fn test_run_costs(
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
