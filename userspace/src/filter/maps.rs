//! Typed access to the filter's pinned maps: rules in, counters out.
//!
//! Every rule change is a map write that the running XDP program sees on its
//! next packet; nothing is re-attached.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::Path,
    time::Duration,
};

use aya::{
    maps::{lpm_trie::Key, Array, HashMap, LpmTrie, Map, MapData, MapError, PerCpuArray},
    Ebpf,
};
use rampart_common::{
    maps::{
        self as names, counter_index, Bucket, Config, Counter, DenyEntry, RateLimit, SourceKey,
        DEFAULT_QUIC_CID_LEN, DEFAULT_TALKER_SAMPLE_SHIFT, MAX_BURST, MAX_PORTS, MAX_RATE,
        UNPROTECTED_ROW,
    },
    Verdict,
};

use super::{cidr::Cidr, FilterError};

/// The filter's maps, opened from bpffs or taken from a freshly loaded object.
pub struct FilterMaps {
    config: Array<MapData, Config>,
    ports: Array<MapData, u32>,
    allow4: LpmTrie<MapData, [u8; 4], u8>,
    allow6: LpmTrie<MapData, [u8; 16], u8>,
    deny4: LpmTrie<MapData, [u8; 4], DenyEntry>,
    deny6: LpmTrie<MapData, [u8; 16], DenyEntry>,
    rate4: LpmTrie<MapData, [u8; 4], RateLimit>,
    rate6: LpmTrie<MapData, [u8; 16], RateLimit>,
    buckets: HashMap<MapData, SourceKey, Bucket>,
    counters: PerCpuArray<MapData, Counter>,
    talkers: HashMap<MapData, SourceKey, u64>,
}

/// Which list a CIDR rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListKind {
    /// Pass without further checks.
    Allow,
    /// Drop.
    Deny,
    /// Per-CIDR rate limit.
    Rate,
}

impl ListKind {
    /// The list's name on the command line and in rules files.
    pub fn label(self) -> &'static str {
        match self {
            ListKind::Allow => "allow",
            ListKind::Deny => "deny",
            ListKind::Rate => "ratelimit",
        }
    }
}

/// Every rule in the maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// Allow-list.
    pub allow: Vec<Cidr>,
    /// Deny-list with the time left, `None` for permanent entries.
    pub deny: Vec<(Cidr, Option<Duration>)>,
    /// Per-CIDR rate limits.
    pub rate: Vec<(Cidr, RateLimit)>,
    /// Limit for sources no per-CIDR rule covers.
    pub global_rate: RateLimit,
    /// Protected ports.
    pub ports: Vec<u16>,
}

impl std::fmt::Display for RuleSet {
    /// One line per rule, as `rampart rules list` prints them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "protected ports: {:?}", self.ports)?;
        writeln!(
            f,
            "global rate limit: {}",
            super::describe_rate(&self.global_rate)
        )?;
        for cidr in &self.allow {
            writeln!(f, "allow     {cidr}")?;
        }
        for (cidr, left) in &self.deny {
            match left {
                Some(left) => writeln!(f, "deny      {cidr}  (expires in {}s)", left.as_secs())?,
                None => writeln!(f, "deny      {cidr}")?,
            }
        }
        for (cidr, limit) in &self.rate {
            writeln!(f, "ratelimit {cidr}  {}", super::describe_rate(limit))?;
        }
        Ok(())
    }
}

/// Packets and bytes per verdict, for one port or for unprotected traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterRow {
    /// Counts indexed by `Verdict as usize`.
    pub verdicts: [Counter; Verdict::ALL.len()],
}

impl CounterRow {
    /// Total packets in this row.
    pub fn packets(&self) -> u64 {
        self.verdicts.iter().map(|c| c.packets).sum()
    }
}

/// All counters: per protected port, and one row for everything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Per protected port.
    pub ports: BTreeMap<u16, CounterRow>,
    /// Traffic not addressed to a protected port.
    pub unprotected: CounterRow,
}

impl Counters {
    /// Packets with `verdict` over every row.
    pub fn packets(&self, verdict: Verdict) -> u64 {
        self.ports
            .values()
            .chain(std::iter::once(&self.unprotected))
            .map(|row| row.verdicts[verdict as usize].packets)
            .sum()
    }

    /// Every packet counted.
    pub fn total_packets(&self) -> u64 {
        Verdict::ALL.iter().map(|&v| self.packets(v)).sum()
    }
}

fn open_map<T>(dir: &Path, name: &'static str) -> Result<T, FilterError>
where
    T: TryFrom<Map, Error = MapError>,
{
    let path = dir.join(name);
    let data = MapData::from_pin(&path).map_err(|source| match source {
        // The pin is there but its mode (or a directory's) is not for us:
        // say so, rather than suggest attaching.
        MapError::SyscallError(ref error)
            if error.io_error.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            FilterError::PinPermission {
                path: path.clone(),
                uid: super::access::Caller::current().uid,
            }
        }
        source => FilterError::OpenMap {
            name,
            path: path.clone(),
            source,
        },
    })?;
    let map = Map::from_map_data(data).map_err(|source| FilterError::Map { name, source })?;
    T::try_from(map).map_err(|source| FilterError::Map { name, source })
}

fn take_map<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, FilterError>
where
    T: TryFrom<Map, Error = MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or(FilterError::MissingMap { name })?;
    T::try_from(map).map_err(|source| FilterError::Map { name, source })
}

fn map_err(name: &'static str) -> impl Fn(MapError) -> FilterError {
    move |source| FilterError::Map { name, source }
}

/// Nanoseconds of CLOCK_MONOTONIC, the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: clock_gettime writes one timespec into the pointer we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Checks a rate limit is within what the kernel's arithmetic allows.
///
/// # Errors
/// [`FilterError::BadRateLimit`] naming the field.
pub fn validate_rate(limit: &RateLimit) -> Result<(), FilterError> {
    let checks = [
        ("pps", limit.pps, MAX_RATE),
        ("bps", limit.bps, MAX_RATE),
        ("burst", limit.burst_packets, MAX_BURST),
        ("burst-bytes", limit.burst_bytes, MAX_BURST),
    ];
    for (field, value, max) in checks {
        if value > max {
            return Err(FilterError::BadRateLimit {
                reason: format!("{field} {value} above the maximum {max}"),
            });
        }
    }
    if limit.pps != 0 && limit.burst_packets == 0 {
        return Err(FilterError::BadRateLimit {
            reason: "a packet rate needs a burst of at least 1".into(),
        });
    }
    if limit.bps != 0 && limit.burst_bytes < 1500 {
        return Err(FilterError::BadRateLimit {
            reason: "a byte rate needs a burst of at least 1500 bytes (one frame)".into(),
        });
    }
    Ok(())
}

impl FilterMaps {
    /// Opens the maps pinned under `dir`.
    ///
    /// # Errors
    /// [`FilterError::OpenMap`] when a map is not pinned there (filter never
    /// attached, or bpffs not mounted).
    pub fn open(dir: &Path) -> Result<Self, FilterError> {
        Ok(FilterMaps {
            config: open_map(dir, names::CONFIG)?,
            ports: open_map(dir, names::PORTS)?,
            allow4: open_map(dir, names::ALLOW_V4)?,
            allow6: open_map(dir, names::ALLOW_V6)?,
            deny4: open_map(dir, names::DENY_V4)?,
            deny6: open_map(dir, names::DENY_V6)?,
            rate4: open_map(dir, names::RATE_V4)?,
            rate6: open_map(dir, names::RATE_V6)?,
            buckets: open_map(dir, names::BUCKETS)?,
            counters: open_map(dir, names::COUNTERS)?,
            talkers: open_map(dir, names::TALKERS)?,
        })
    }

    /// Takes the maps out of a loaded object.
    ///
    /// # Errors
    /// [`FilterError::MissingMap`] if the object lacks one.
    pub fn take(ebpf: &mut Ebpf) -> Result<Self, FilterError> {
        Ok(FilterMaps {
            config: take_map(ebpf, names::CONFIG)?,
            ports: take_map(ebpf, names::PORTS)?,
            allow4: take_map(ebpf, names::ALLOW_V4)?,
            allow6: take_map(ebpf, names::ALLOW_V6)?,
            deny4: take_map(ebpf, names::DENY_V4)?,
            deny6: take_map(ebpf, names::DENY_V6)?,
            rate4: take_map(ebpf, names::RATE_V4)?,
            rate6: take_map(ebpf, names::RATE_V6)?,
            buckets: take_map(ebpf, names::BUCKETS)?,
            counters: take_map(ebpf, names::COUNTERS)?,
            talkers: take_map(ebpf, names::TALKERS)?,
        })
    }

    /// The global settings.
    ///
    /// # Errors
    /// A failed map read.
    pub fn config(&self) -> Result<Config, FilterError> {
        self.config.get(&0, 0).map_err(map_err(names::CONFIG))
    }

    /// Replaces the global settings.
    ///
    /// # Errors
    /// A rate out of range, or a failed map write.
    pub fn set_config(&mut self, config: Config) -> Result<(), FilterError> {
        validate_rate(&config.rate)?;
        self.config
            .set(0, config, 0)
            .map_err(map_err(names::CONFIG))
    }

    /// Sets defaults the program needs if the config was never written.
    ///
    /// # Errors
    /// A failed map access.
    pub fn init_config(&mut self) -> Result<(), FilterError> {
        let mut config = self.config()?;
        if config.quic_cid_len == 0 {
            config.quic_cid_len = DEFAULT_QUIC_CID_LEN;
            config.talker_sample_shift = DEFAULT_TALKER_SAMPLE_SHIFT;
            self.set_config(config)?;
        }
        Ok(())
    }

    /// Records one drop in 2^`shift` in the top-talker table (0: every drop).
    ///
    /// # Errors
    /// `shift` above 16, or a failed map write.
    pub fn set_talker_sampling(&mut self, shift: u32) -> Result<(), FilterError> {
        if shift > 16 {
            return Err(FilterError::BadSetting {
                reason: format!("talker sampling shift {shift} above 16"),
            });
        }
        let mut config = self.config()?;
        config.talker_sample_shift = shift;
        self.set_config(config)
    }

    /// Replaces the protected ports; each gets its own counter row.
    ///
    /// # Errors
    /// More than [`MAX_PORTS`] ports, port 0, or a failed map write.
    pub fn set_ports(&mut self, ports: &[u16]) -> Result<(), FilterError> {
        let mut wanted = ports.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.contains(&0) {
            return Err(FilterError::PortZero);
        }
        if wanted.len() > MAX_PORTS as usize {
            return Err(FilterError::TooManyPorts {
                count: wanted.len(),
                max: MAX_PORTS as usize,
            });
        }
        let mut config = self.config()?;
        let current = self.ports()?;
        // Clear ports no longer wanted first, then set rows, then the list.
        for port in current.iter().filter(|port| !wanted.contains(port)) {
            self.ports
                .set(u32::from(*port), 0, 0)
                .map_err(map_err(names::PORTS))?;
        }
        for (row, port) in wanted.iter().enumerate() {
            self.ports
                .set(u32::from(*port), row as u32 + 1, 0)
                .map_err(map_err(names::PORTS))?;
        }
        config.ports = [0; MAX_PORTS as usize];
        config.ports[..wanted.len()].copy_from_slice(&wanted);
        config.port_count = wanted.len() as u32;
        self.config
            .set(0, config, 0)
            .map_err(map_err(names::CONFIG))
    }

    /// The protected ports, in counter-row order.
    ///
    /// # Errors
    /// A failed map read.
    pub fn ports(&self) -> Result<Vec<u16>, FilterError> {
        let config = self.config()?;
        let count = (config.port_count as usize).min(MAX_PORTS as usize);
        Ok(config.ports[..count].to_vec())
    }

    fn keys(&self, kind: ListKind) -> Result<Vec<Cidr>, FilterError> {
        fn v4<V: aya::Pod>(
            trie: &LpmTrie<MapData, [u8; 4], V>,
            name: &'static str,
        ) -> Result<Vec<Cidr>, FilterError> {
            trie.keys()
                .map(|key| {
                    key.map(|key| Cidr::V4 {
                        addr: key.data(),
                        len: key.prefix_len() as u8,
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(map_err(name))
        }
        fn v6<V: aya::Pod>(
            trie: &LpmTrie<MapData, [u8; 16], V>,
            name: &'static str,
        ) -> Result<Vec<Cidr>, FilterError> {
            trie.keys()
                .map(|key| {
                    key.map(|key| Cidr::V6 {
                        addr: key.data(),
                        len: key.prefix_len() as u8,
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(map_err(name))
        }
        let mut keys = match kind {
            ListKind::Allow => [
                v4(&self.allow4, names::ALLOW_V4)?,
                v6(&self.allow6, names::ALLOW_V6)?,
            ],
            ListKind::Deny => [
                v4(&self.deny4, names::DENY_V4)?,
                v6(&self.deny6, names::DENY_V6)?,
            ],
            ListKind::Rate => [
                v4(&self.rate4, names::RATE_V4)?,
                v6(&self.rate6, names::RATE_V6)?,
            ],
        }
        .concat();
        keys.sort();
        Ok(keys)
    }

    fn refuse_overlap(&self, kind: ListKind, cidr: Cidr) -> Result<(), FilterError> {
        if let Some(existing) = self
            .keys(kind)?
            .into_iter()
            .find(|existing| *existing != cidr && existing.overlaps(cidr))
        {
            return Err(FilterError::Overlap {
                list: kind.label(),
                new: cidr,
                existing,
            });
        }
        Ok(())
    }

    /// Adds `cidr` to the allow-list.
    ///
    /// # Errors
    /// [`FilterError::Overlap`] if it overlaps another allow entry.
    pub fn add_allow(&mut self, cidr: Cidr) -> Result<(), FilterError> {
        self.refuse_overlap(ListKind::Allow, cidr)?;
        self.insert_allow(cidr)
    }

    /// Adds `cidr` to the deny-list, for `ttl` or for good.
    ///
    /// # Errors
    /// [`FilterError::Overlap`] if it overlaps another deny entry.
    pub fn add_deny(&mut self, cidr: Cidr, ttl: Option<Duration>) -> Result<(), FilterError> {
        self.refuse_overlap(ListKind::Deny, cidr)?;
        self.insert_deny(cidr, ttl)
    }

    /// Sets the rate limit of `cidr`, or the global one for `None`.
    ///
    /// # Errors
    /// A rate out of range, or an overlap with another per-CIDR limit.
    pub fn set_rate(&mut self, cidr: Option<Cidr>, limit: RateLimit) -> Result<(), FilterError> {
        validate_rate(&limit)?;
        match cidr {
            None => {
                let mut config = self.config()?;
                config.rate = limit;
                self.set_config(config)
            }
            Some(cidr) => {
                self.refuse_overlap(ListKind::Rate, cidr)?;
                self.insert_rate(cidr, limit)
            }
        }
    }

    fn insert_allow(&mut self, cidr: Cidr) -> Result<(), FilterError> {
        match cidr {
            Cidr::V4 { addr, len } => self
                .allow4
                .insert(&Key::new(len.into(), addr), 1, 0)
                .map_err(map_err(names::ALLOW_V4)),
            Cidr::V6 { addr, len } => self
                .allow6
                .insert(&Key::new(len.into(), addr), 1, 0)
                .map_err(map_err(names::ALLOW_V6)),
        }
    }

    fn insert_deny(&mut self, cidr: Cidr, ttl: Option<Duration>) -> Result<(), FilterError> {
        let entry = DenyEntry {
            expires_at_ns: ttl.map_or(0, |ttl| monotonic_ns() + ttl.as_nanos() as u64),
        };
        match cidr {
            Cidr::V4 { addr, len } => self
                .deny4
                .insert(&Key::new(len.into(), addr), entry, 0)
                .map_err(map_err(names::DENY_V4)),
            Cidr::V6 { addr, len } => self
                .deny6
                .insert(&Key::new(len.into(), addr), entry, 0)
                .map_err(map_err(names::DENY_V6)),
        }
    }

    fn insert_rate(&mut self, cidr: Cidr, limit: RateLimit) -> Result<(), FilterError> {
        match cidr {
            Cidr::V4 { addr, len } => self
                .rate4
                .insert(&Key::new(len.into(), addr), limit, 0)
                .map_err(map_err(names::RATE_V4)),
            Cidr::V6 { addr, len } => self
                .rate6
                .insert(&Key::new(len.into(), addr), limit, 0)
                .map_err(map_err(names::RATE_V6)),
        }
    }

    /// Removes `cidr` from a list.
    ///
    /// # Errors
    /// [`FilterError::NoSuchRule`] if it is not there.
    pub fn remove(&mut self, kind: ListKind, cidr: Cidr) -> Result<(), FilterError> {
        let result = match (kind, cidr) {
            (ListKind::Allow, Cidr::V4 { addr, len }) => {
                self.allow4.remove(&Key::new(len.into(), addr))
            }
            (ListKind::Allow, Cidr::V6 { addr, len }) => {
                self.allow6.remove(&Key::new(len.into(), addr))
            }
            (ListKind::Deny, Cidr::V4 { addr, len }) => {
                self.deny4.remove(&Key::new(len.into(), addr))
            }
            (ListKind::Deny, Cidr::V6 { addr, len }) => {
                self.deny6.remove(&Key::new(len.into(), addr))
            }
            (ListKind::Rate, Cidr::V4 { addr, len }) => {
                self.rate4.remove(&Key::new(len.into(), addr))
            }
            (ListKind::Rate, Cidr::V6 { addr, len }) => {
                self.rate6.remove(&Key::new(len.into(), addr))
            }
        };
        result.map_err(|_| FilterError::NoSuchRule {
            list: kind.label(),
            cidr,
        })
    }

    /// Every rule, with expired deny entries removed first.
    ///
    /// # Errors
    /// A failed map access.
    pub fn rules(&mut self) -> Result<RuleSet, FilterError> {
        let now = monotonic_ns();
        let mut deny = Vec::new();
        for cidr in self.keys(ListKind::Deny)? {
            let entry = match cidr {
                Cidr::V4 { addr, len } => self.deny4.get(&Key::new(len.into(), addr), 0),
                Cidr::V6 { addr, len } => self.deny6.get(&Key::new(len.into(), addr), 0),
            }
            .map_err(map_err(names::DENY_V4))?;
            match entry.expires_at_ns {
                0 => deny.push((cidr, None)),
                at if at > now => deny.push((cidr, Some(Duration::from_nanos(at - now)))),
                _ => self.remove(ListKind::Deny, cidr)?,
            }
        }
        let mut rate = Vec::new();
        for cidr in self.keys(ListKind::Rate)? {
            let limit = match cidr {
                Cidr::V4 { addr, len } => self.rate4.get(&Key::new(len.into(), addr), 0),
                Cidr::V6 { addr, len } => self.rate6.get(&Key::new(len.into(), addr), 0),
            }
            .map_err(map_err(names::RATE_V4))?;
            rate.push((cidr, limit));
        }
        Ok(RuleSet {
            allow: self.keys(ListKind::Allow)?,
            deny,
            rate,
            global_rate: self.config()?.rate,
            ports: self.ports()?,
        })
    }

    /// Replaces every rule with `rules` (ports included). The caller validates
    /// first (see `rules_file`), so this only writes.
    ///
    /// # Errors
    /// A failed map write; earlier writes stay.
    pub fn replace_rules(&mut self, rules: &RuleSet) -> Result<(), FilterError> {
        for kind in [ListKind::Allow, ListKind::Deny, ListKind::Rate] {
            for cidr in self.keys(kind)? {
                self.remove(kind, cidr)?;
            }
        }
        for &cidr in &rules.allow {
            self.insert_allow(cidr)?;
        }
        for &(cidr, ttl) in &rules.deny {
            self.insert_deny(cidr, ttl)?;
        }
        for &(cidr, limit) in &rules.rate {
            validate_rate(&limit)?;
            self.insert_rate(cidr, limit)?;
        }
        let mut config = self.config()?;
        config.rate = rules.global_rate;
        self.set_config(config)?;
        if !rules.ports.is_empty() {
            self.set_ports(&rules.ports)?;
        }
        Ok(())
    }

    /// Adds many deny entries without the per-entry overlap check (callers
    /// that generate disjoint blocks, such as benchmarks).
    ///
    /// # Errors
    /// A failed map write.
    pub fn bulk_deny(&mut self, cidrs: &[Cidr]) -> Result<(), FilterError> {
        for &cidr in cidrs {
            self.insert_deny(cidr, None)?;
        }
        Ok(())
    }

    /// Every counter, summed over CPUs.
    ///
    /// # Errors
    /// A failed map read.
    pub fn counters(&self) -> Result<Counters, FilterError> {
        let mut out = Counters::default();
        let mut rows: Vec<(Option<u16>, u32)> = self
            .ports()?
            .into_iter()
            .enumerate()
            .map(|(row, port)| (Some(port), row as u32))
            .collect();
        rows.push((None, UNPROTECTED_ROW));
        for (port, row) in rows {
            let mut counts = CounterRow::default();
            for verdict in Verdict::ALL {
                let per_cpu = self
                    .counters
                    .get(&counter_index(row, verdict as u32), 0)
                    .map_err(map_err(names::COUNTERS))?;
                let slot = &mut counts.verdicts[verdict as usize];
                for value in per_cpu.iter() {
                    slot.packets += value.packets;
                    slot.bytes += value.bytes;
                }
            }
            match port {
                Some(port) => {
                    out.ports.insert(port, counts);
                }
                None => out.unprotected = counts,
            }
        }
        Ok(out)
    }

    /// The `n` sources with the most drops.
    ///
    /// # Errors
    /// A failed map read.
    pub fn top_talkers(&self, n: usize) -> Result<Vec<(IpAddr, u64)>, FilterError> {
        let mut all: Vec<(SourceKey, u64)> = self
            .talkers
            .iter()
            .collect::<Result<_, _>>()
            .map_err(map_err(names::TALKERS))?;
        all.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        Ok(all
            .into_iter()
            .take(n)
            .map(|(key, drops)| (source_ip(&key), drops))
            .collect())
    }

    /// Sources with a live token bucket.
    pub fn tracked_sources(&self) -> usize {
        self.buckets.keys().filter(Result::is_ok).count()
    }

    /// Inserts a token bucket directly (benchmarks populate the table).
    ///
    /// # Errors
    /// A failed map write.
    pub fn insert_bucket(&mut self, source: SourceKey, bucket: Bucket) -> Result<(), FilterError> {
        self.buckets
            .insert(source, bucket, 0)
            .map_err(map_err(names::BUCKETS))
    }
}

/// The address a source key stands for (an IPv4 address, or an IPv6 /64).
pub fn source_ip(key: &SourceKey) -> IpAddr {
    let addr = key.addr;
    if addr[..10] == [0; 10] && addr[10] == 0xff && addr[11] == 0xff {
        IpAddr::V4(Ipv4Addr::new(addr[12], addr[13], addr[14], addr[15]))
    } else {
        IpAddr::V6(Ipv6Addr::from(addr))
    }
}
