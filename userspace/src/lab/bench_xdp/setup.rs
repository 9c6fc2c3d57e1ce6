//! What each mode of `rampart bench xdp` sets up, and the counters that
//! confirm what it did with the flood.
//!
//! Every mode gets the same nftables tables: on the sender's egress a rule
//! counting the flood's datagrams as they leave, on the receiver's ingress a
//! rule counting those that got that far (past XDP, if any). Only the
//! `sender_only` and `nftables` modes add a drop rule to them. So the hooks'
//! own cost is the same in every mode, and every mode's drops are read from
//! counters rather than assumed from what was sent.

use std::{
    net::{SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{bail, Context};
use aya::programs::XdpMode;
use rampart_common::{
    maps::{Bucket, RateLimit, SourceKey},
    Verdict,
};

use super::{BenchXdpArgs, Mode, PinGuard, PORT};
use crate::{
    appliance::{Appliance, Config},
    filter::{
        loader::named_program, maps::Counters, Cidr, FilterMaps, Loader, RuleSet, BARE_DROP_NAME,
        PROGRAM_NAME,
    },
    lab::netlab::{self, Lab},
};

const TX_TABLE: &str = "rampart_bench_tx";
const RX_TABLE: &str = "rampart_bench_rx";

/// What one mode did with the flood, from its own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Judged {
    /// Datagrams that left the sender (its egress counter).
    pub left_sender: u64,
    /// Datagrams the mode judged: reached its drop point or its socket.
    pub judged: u64,
    /// Of those, dropped by the mode's own rule or program.
    pub dropped: u64,
}

/// What a mode leaves running while the flood is measured.
pub struct Setup {
    mode: Mode,
    tx_netns: String,
    rx_netns: String,
    running: Running,
}

enum Running {
    /// Only the nftables tables (sender_only, nftables).
    Nft,
    /// An XDP program attached (kept alive by its object), and for Rampart's
    /// chain its maps with the counters before the flood.
    Xdp {
        _ebpf: Box<aya::Ebpf>,
        maps: Option<Box<(FilterMaps, Counters)>>,
    },
    /// Rampart's appliance (QUIC ingress and pipeline) in the receiving namespace.
    Quic {
        appliance: Box<Appliance>,
        dir: std::path::PathBuf,
        before: UdpStats,
    },
    /// A socket reader thread.
    Socket {
        stop: Arc<AtomicBool>,
        received: Arc<AtomicU64>,
        thread: std::thread::JoinHandle<Result<(), netlab::NetlabError>>,
    },
}

impl Setup {
    /// Installs the common tables and the mode's own part.
    ///
    /// # Errors
    /// nftables, the XDP loader, a socket or the appliance failing to start.
    pub fn start(
        mode: Mode,
        lab: &Lab,
        pins: &PinGuard,
        deny: &[Cidr],
        args: &BenchXdpArgs,
        xdp_mode: XdpMode,
    ) -> anyhow::Result<Self> {
        install_tables(lab, deny, mode)?;
        let running = match mode {
            Mode::SenderOnly | Mode::Nftables => Running::Nft,
            Mode::BareDrop => {
                let mut ebpf = Loader::new(&pins.0).load_object()?;
                named_program(&mut ebpf, BARE_DROP_NAME)?.load()?;
                Running::Xdp {
                    _ebpf: Box::new(attach(lab, ebpf, BARE_DROP_NAME, xdp_mode)?),
                    maps: None,
                }
            }
            Mode::Rampart | Mode::RampartRateLimit => {
                let ebpf = Loader::new(&pins.0).load()?;
                let mut maps = FilterMaps::open(&pins.0)?;
                maps.init_config()?;
                maps.set_ports(&[PORT])?;
                // The deny mode drops the flood by its source; the rate-limit
                // mode leaves the source off the deny list and lets the token
                // bucket (with `--buckets` others loaded) drop all but a trickle.
                let global_rate = match mode {
                    Mode::Rampart => RateLimit {
                        pps: 1_000_000,
                        burst_packets: 1_000_000,
                        bps: 0,
                        burst_bytes: 0,
                    },
                    _ => RateLimit {
                        pps: 100,
                        burst_packets: 100,
                        bps: 0,
                        burst_bytes: 0,
                    },
                };
                maps.replace_rules(&RuleSet {
                    global_rate,
                    ports: vec![PORT],
                    ..Default::default()
                })?;
                let flood_source: Cidr = format!("{}/32", lab.tx_v4).parse()?;
                let rules: Vec<Cidr> = match mode {
                    Mode::Rampart => deny.to_vec(),
                    _ => deny
                        .iter()
                        .copied()
                        .filter(|c| *c != flood_source)
                        .collect(),
                };
                maps.bulk_deny(&rules)?;
                populate_buckets(&mut maps, args.buckets)?;
                let before = maps.counters()?;
                Running::Xdp {
                    _ebpf: Box::new(attach(lab, ebpf, PROGRAM_NAME, xdp_mode)?),
                    maps: Some(Box::new((maps, before))),
                }
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
                Running::Socket {
                    stop,
                    received,
                    thread,
                }
            }
            Mode::QuicUserspace => {
                let dir = std::env::temp_dir()
                    .join(format!("rampart-bench-xdp-quic-{}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                let mut config = Config::default();
                config.ingress.listen = format!("{}:{PORT}", lab.rx_v4).parse()?;
                config.ingress.identity = dir.join("identity.json");
                config.forward.target = SocketAddr::from(([127, 0, 0, 1], 9));
                config.metrics.listen = None;
                config.pipeline.verify_threads = Some(1);
                let appliance = lab.rx.run(move || Appliance::start(config))??;
                let before = UdpStats::read(lab)?;
                Running::Quic {
                    appliance: Box::new(appliance),
                    dir,
                    before,
                }
            }
        };
        Ok(Setup {
            mode,
            tx_netns: lab.tx.name().into(),
            rx_netns: lab.rx.name().into(),
            running,
        })
    }

    /// Tears the mode down and reads what it did with the flood.
    ///
    /// # Errors
    /// A counter that cannot be read, or a mode that dropped what it should
    /// not have (the flood must die where the mode says it does).
    pub fn finish(self, lab: &Lab) -> anyhow::Result<Judged> {
        let left_sender = nft_counter(&self.tx_netns, TX_TABLE, "flood")?;
        let arrived = nft_counter(&self.rx_netns, RX_TABLE, "arrived")?;
        let mut judged = match self.running {
            Running::Nft => match self.mode {
                Mode::SenderOnly => Judged {
                    judged: left_sender,
                    dropped: nft_counter(&self.tx_netns, TX_TABLE, "dropped")?,
                    ..Judged::default()
                },
                _ => Judged {
                    judged: arrived,
                    dropped: nft_counter(&self.rx_netns, RX_TABLE, "dropped")?,
                    ..Judged::default()
                },
            },
            Running::Xdp { maps: None, .. } => Judged {
                // The bare program drops everything it sees: whatever left
                // the sender and did not reach the ingress hook.
                judged: left_sender,
                dropped: left_sender.saturating_sub(arrived),
                ..Judged::default()
            },
            Running::Xdp {
                maps: Some(maps), ..
            } => {
                let (maps, before) = *maps;
                let after = maps.counters()?;
                let (judged, dropped) = port_delta(&before, &after);
                Judged {
                    judged,
                    dropped,
                    ..Judged::default()
                }
            }
            Running::Quic {
                appliance,
                dir,
                before,
            } => {
                let after = UdpStats::read(lab)?;
                appliance.shutdown();
                let _ = std::fs::remove_dir_all(dir);
                Judged {
                    judged: after.in_datagrams.saturating_sub(before.in_datagrams),
                    ..Judged::default()
                }
            }
            Running::Socket {
                stop,
                received,
                thread,
            } => {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, Ordering::Relaxed);
                thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("socket reader panicked"))??;
                Judged {
                    judged: received.load(Ordering::Relaxed),
                    ..Judged::default()
                }
            }
        };
        judged.left_sender = left_sender;
        nft(&self.tx_netns, &format!("delete table netdev {TX_TABLE}"))?;
        nft(&self.rx_netns, &format!("delete table netdev {RX_TABLE}"))?;
        Ok(judged)
    }
}

fn attach(
    lab: &Lab,
    mut ebpf: aya::Ebpf,
    name: &'static str,
    mode: XdpMode,
) -> anyhow::Result<aya::Ebpf> {
    let iface = lab.rx_iface.clone();
    lab.rx.run(move || -> anyhow::Result<aya::Ebpf> {
        named_program(&mut ebpf, name)?.attach(&iface, mode)?;
        Ok(ebpf)
    })?
}

/// Frames judged on the protected port's row, and how many of them dropped.
fn port_delta(before: &Counters, after: &Counters) -> (u64, u64) {
    let row = |c: &Counters| c.ports.get(&PORT).cloned().unwrap_or_default();
    let (was, now) = (row(before), row(after));
    let mut judged = 0;
    let mut dropped = 0;
    for verdict in Verdict::ALL {
        let v = verdict as usize;
        let delta = now.verdicts[v]
            .packets
            .saturating_sub(was.verdicts[v].packets);
        judged += delta;
        if verdict.is_drop() {
            dropped += delta;
        }
    }
    (judged, dropped)
}

/// The tables every mode gets; `mode` decides which of them drop.
fn install_tables(lab: &Lab, deny: &[Cidr], mode: Mode) -> anyhow::Result<()> {
    let sender_drop = if mode == Mode::SenderOnly {
        format!("  udp dport {PORT} counter name \"dropped\" drop\n")
    } else {
        String::new()
    };
    nft(
        lab.tx.name(),
        &format!(
            "table netdev {TX_TABLE} {{\n counter flood {{}}\n counter dropped {{}}\n chain egress {{\n  type filter hook egress device \"{}\" priority 0; policy accept;\n  udp dport {PORT} counter name \"flood\"\n{sender_drop} }}\n}}\n",
            lab.tx_iface
        ),
    )?;
    let elements: Vec<String> = deny
        .iter()
        .filter(|c| matches!(c, Cidr::V4 { .. }))
        .map(Cidr::to_string)
        .collect();
    let receiver_drop = if mode == Mode::Nftables {
        format!("  ip saddr @deny udp dport {PORT} counter name \"dropped\" drop\n")
    } else {
        String::new()
    };
    nft(
        lab.rx.name(),
        &format!(
            "table netdev {RX_TABLE} {{\n counter arrived {{}}\n counter dropped {{}}\n set deny {{\n  type ipv4_addr; flags interval\n  elements = {{ {} }}\n }}\n chain ingress {{\n  type filter hook ingress device \"{}\" priority 0; policy accept;\n  udp dport {PORT} counter name \"arrived\"\n{receiver_drop} }}\n}}\n",
            elements.join(", "),
            lab.rx_iface
        ),
    )
}

/// A named counter's packets, from `nft -j`.
fn nft_counter(netns: &str, table: &str, name: &str) -> anyhow::Result<u64> {
    let output = std::process::Command::new("ip")
        .args([
            "netns", "exec", netns, "nft", "-j", "list", "counter", "netdev", table, name,
        ])
        .output()
        .context("running nft (install nftables)")?;
    if !output.status.success() {
        bail!(
            "nft list counter {table} {name}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    json["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|item| item["counter"]["packets"].as_u64())
        .with_context(|| format!("no packets in nft's answer for counter {table} {name}"))
}

/// UDP datagrams delivered to sockets in the receiving namespace
/// (`/proc/net/snmp`, read from a thread inside it).
#[derive(Debug, Clone, Copy)]
struct UdpStats {
    in_datagrams: u64,
}

impl UdpStats {
    fn read(lab: &Lab) -> anyhow::Result<Self> {
        let text = lab
            .rx
            .run(|| std::fs::read_to_string("/proc/thread-self/net/snmp"))??;
        let mut udp = text.lines().filter(|line| line.starts_with("Udp:"));
        let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
            bail!("no Udp lines in /proc/net/snmp");
        };
        let in_datagrams = names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(name, _)| *name == "InDatagrams")
            .and_then(|(_, value)| value.parse().ok())
            .context("no Udp InDatagrams in /proc/net/snmp")?;
        Ok(UdpStats { in_datagrams })
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
pub fn populate_buckets(maps: &mut FilterMaps, count: usize) -> anyhow::Result<()> {
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
