//! Connection admission and stream quotas, as Agave's TPU server does them:
//! a global cap split into staked and unstaked tables, at most 8 new
//! connections per IP per minute, at most 8 connections per unstaked peer and
//! 16 per staked one, and a stream budget scaled by stake.
//!
//! Pure: every decision takes `now` and returns a verdict; nothing here does I/O.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use super::gate::SourceKey;
use crate::metrics::counters::REFUSAL_LABELS;

/// Admission limits (defaults are Agave 4.4's, but for
/// [`AdmissionLimits::unstaked_tps_total`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionLimits {
    /// Connection slots for staked peers.
    pub max_staked_connections: usize,
    /// Connection slots for unstaked peers.
    pub max_unstaked_connections: usize,
    /// New connections one IP may open per minute; more are refused.
    pub max_new_connections_per_ip_per_minute: usize,
    /// Concurrent connections per unstaked peer.
    pub max_connections_per_unstaked_peer: usize,
    /// Concurrent connections per staked peer.
    pub max_connections_per_staked_peer: usize,
    /// Concurrent uni streams an unstaked connection may open.
    pub unstaked_streams: u32,
    /// Fewest concurrent uni streams of a staked connection.
    pub min_staked_streams: u32,
    /// Most concurrent uni streams of a staked connection.
    pub max_staked_streams: u32,
    /// Transactions per second an unstaked IP may send.
    pub unstaked_tps_per_ip: u32,
    /// Total transactions per second shared by staked peers by stake.
    pub staked_tps_total: u32,
    /// Total transactions per second of all unstaked peers together, on top
    /// of each one's `unstaked_tps_per_ip`, so many addresses cannot add up
    /// to more than that.
    ///
    /// Not Agave's fifth of `staked_tps_total` (100,000), which assumes a
    /// validator-sized host: admitted unstaked load beyond what the network
    /// edge can read overflows the UDP socket, and the kernel's drops fall
    /// on staked peers too. Measured with `rampart bench attack --scenario
    /// invalid-unstaked` on 2 vCPUs: at 100,000 to 30,000 the honest staked
    /// client lost 0.4-5.3 % of its transactions (streams left unfinished
    /// after their data was dropped), at 20,000 none in six runs
    /// (docs/attack.md). Raise it on a bigger host while
    /// `rampart_ingress_socket_datagram_dropped_total` stays flat.
    pub unstaked_tps_total: u32,
    /// Stake share below 1/this counts as unstaked (Agave: 50,000).
    pub min_stake_share_inverse: u64,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        AdmissionLimits {
            max_staked_connections: 2000,
            max_unstaked_connections: 3000,
            max_new_connections_per_ip_per_minute: 8,
            max_connections_per_unstaked_peer: 8,
            max_connections_per_staked_peer: 16,
            unstaked_streams: 128,
            min_staked_streams: 128,
            max_staked_streams: 512,
            unstaked_tps_per_ip: 400,
            staked_tps_total: 500_000,
            unstaked_tps_total: 20_000,
            min_stake_share_inverse: 50_000,
        }
    }
}

/// Stake per identity (lamports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StakeTable {
    stakes: HashMap<[u8; 32], u64>,
    total: u64,
}

impl StakeTable {
    /// A table from (identity, lamports) pairs.
    pub fn new(entries: impl IntoIterator<Item = ([u8; 32], u64)>) -> Self {
        let stakes: HashMap<[u8; 32], u64> = entries.into_iter().collect();
        let total = stakes.values().copied().fold(0u64, u64::saturating_add);
        StakeTable { stakes, total }
    }

    /// Parses a stake file: a JSON object from base58 identity to lamports.
    ///
    /// # Errors
    /// Not JSON, a key that is not a 32-byte base58 key, or a value that is
    /// not a whole number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let object: HashMap<String, u64> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::with_capacity(object.len());
        for (key, lamports) in object {
            let bytes = bs58::decode(&key)
                .into_vec()
                .map_err(|e| format!("{key:?}: {e}"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("{key:?} is not a 32-byte public key"))?;
            entries.push((key, lamports));
        }
        Ok(StakeTable::new(entries))
    }

    /// `identity`'s share of the total stake, 0.0 if unknown.
    pub fn share(&self, identity: &[u8; 32]) -> f64 {
        match (self.stakes.get(identity), self.total) {
            (Some(&stake), total) if total > 0 => stake as f64 / total as f64,
            _ => 0.0,
        }
    }
}

/// Why a connection was refused. Variants are in the order of
/// [`REFUSAL_LABELS`], which `as usize` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The IP opened too many connections in the last minute.
    #[error("too many new connections from this IP")]
    NewConnectionRate,
    /// The peer already has its maximum of connections.
    #[error("too many connections from this peer")]
    PeerConnections,
    /// Every slot of the peer's table (staked or unstaked) is taken.
    #[error("connection table full")]
    TableFull,
}

impl Refusal {
    /// Stable label for metrics, from the counters' own table
    /// ([`REFUSAL_LABELS`], indexed by `self as usize`).
    pub fn label(self) -> &'static str {
        REFUSAL_LABELS[self as usize]
    }
}

/// What an admitted connection may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Identifies the connection to [`Admission::release`].
    pub id: u64,
    /// Who (identity from the client certificate, else the IP).
    pub peer: PeerKey,
    /// Whether the peer's stake share counts as staked.
    pub staked: bool,
    /// The peer's share of the total stake (0 when unstaked or below the
    /// staked threshold).
    pub share: f64,
    /// Concurrent uni streams granted.
    pub max_streams: u32,
    /// Sustained transactions per second granted to this connection.
    pub tps: u32,
}

/// How peers are told apart: staked ones by identity, others by source
/// (IPv4 address or IPv6 /64, as the XDP filter and the handshake gate key
/// them: one host owns a /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKey {
    /// A staked identity.
    Identity([u8; 32]),
    /// An unstaked peer's source.
    Source(SourceKey),
}

/// An admitted connection, and the one it displaced if a table was full.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The new connection's terms.
    pub ticket: Ticket,
    /// A live connection evicted to make room (already released); the caller
    /// closes it.
    pub evicted: Option<u64>,
}

/// A live connection as admission sees it.
#[derive(Debug, Clone, Copy)]
struct Live {
    peer: PeerKey,
    staked: bool,
    share: f64,
    admitted: Instant,
}

/// The admission state of one ingress endpoint.
#[derive(Debug)]
pub struct Admission {
    limits: AdmissionLimits,
    stakes: Arc<StakeTable>,
    /// Connection times per source in the last minute; pruned of idle
    /// sources whenever it outgrows [`Admission::recent_cap`].
    recent: HashMap<SourceKey, VecDeque<Instant>>,
    /// When `recent` was last pruned.
    pruned_at: Option<Instant>,
    per_peer: HashMap<PeerKey, usize>,
    live: HashMap<u64, Live>,
    next_id: u64,
    staked: usize,
    unstaked: usize,
}

impl Admission {
    /// Admission with `limits` and a stake table.
    pub fn new(limits: AdmissionLimits, stakes: Arc<StakeTable>) -> Self {
        Admission {
            limits,
            stakes,
            recent: HashMap::new(),
            pruned_at: None,
            per_peer: HashMap::new(),
            live: HashMap::new(),
            next_id: 0,
            staked: 0,
            unstaked: 0,
        }
    }

    /// Replaces the stake table (reloaded file); admitted connections keep
    /// their tickets.
    pub fn set_stakes(&mut self, stakes: Arc<StakeTable>) {
        self.stakes = stakes;
    }

    /// Live connections (staked, unstaked).
    pub fn connections(&self) -> (usize, usize) {
        (self.staked, self.unstaked)
    }

    /// Decides whether a new connection from `ip` with identity `identity`
    /// may stay, and on what terms. When its table is full, Agave's policy
    /// makes room: an unstaked newcomer displaces the oldest unstaked
    /// connection; a staked one displaces the lowest-staked connection if that
    /// has less stake, else it is refused.
    ///
    /// # Errors
    /// The [`Refusal`] reason.
    pub fn admit(
        &mut self,
        ip: IpAddr,
        identity: Option<[u8; 32]>,
        now: Instant,
    ) -> Result<Admitted, Refusal> {
        let window = Duration::from_secs(60);
        let source = SourceKey::from(ip);
        let full = self.recent.len() >= self.recent_cap();
        // Pruning walks the table: at most once a second, so a full table
        // costs a flood nothing per connection.
        if full
            && !self.recent.contains_key(&source)
            && self
                .pruned_at
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.pruned_at = Some(now);
            self.forget_idle(now);
        }
        // With every remembered source active within the minute, a new one is
        // not tracked here rather than refused (refusing would let many
        // sources lock out the rest); the handshake gate has held it to the
        // same per-source rate before the handshake.
        let recent = if self.recent.len() < self.recent_cap() {
            Some(self.recent.entry(source).or_default())
        } else {
            self.recent.get_mut(&source)
        };
        if let Some(recent) = recent {
            while recent
                .front()
                .is_some_and(|&at| now.duration_since(at) >= window)
            {
                recent.pop_front();
            }
            if recent.len() >= self.limits.max_new_connections_per_ip_per_minute {
                return Err(Refusal::NewConnectionRate);
            }
            recent.push_back(now);
        }

        let share = identity.map_or(0.0, |id| self.stakes.share(&id));
        let staked =
            share > 0.0 && share >= 1.0 / self.limits.min_stake_share_inverse.max(1) as f64;
        let peer = match (staked, identity) {
            (true, Some(id)) => PeerKey::Identity(id),
            _ => PeerKey::Source(source),
        };
        let (per_peer_cap, table_cap, in_table) = if staked {
            (
                self.limits.max_connections_per_staked_peer,
                self.limits.max_staked_connections,
                self.staked,
            )
        } else {
            (
                self.limits.max_connections_per_unstaked_peer,
                self.limits.max_unstaked_connections,
                self.unstaked,
            )
        };
        let count = self.per_peer.get(&peer).copied().unwrap_or(0);
        if count >= per_peer_cap {
            return Err(Refusal::PeerConnections);
        }
        let mut evicted = None;
        if in_table >= table_cap {
            let victim = if staked {
                self.live
                    .iter()
                    .filter(|(_, live)| live.staked && live.share < share)
                    .min_by(|a, b| a.1.share.total_cmp(&b.1.share))
                    .map(|(id, _)| *id)
            } else {
                self.live
                    .iter()
                    .filter(|(_, live)| !live.staked)
                    .min_by_key(|(_, live)| live.admitted)
                    .map(|(id, _)| *id)
            };
            let Some(victim) = victim else {
                return Err(Refusal::TableFull);
            };
            self.release(victim);
            evicted = Some(victim);
        }
        *self.per_peer.entry(peer).or_default() += 1;
        if staked {
            self.staked += 1;
        } else {
            self.unstaked += 1;
        }
        let (max_streams, tps) = if staked {
            let span = f64::from(self.limits.max_staked_streams - self.limits.min_staked_streams);
            let streams = self.limits.min_staked_streams + (span * (share * 50.0).min(1.0)) as u32;
            let tps = ((f64::from(self.limits.staked_tps_total) * share) as u32)
                .max(self.limits.unstaked_tps_per_ip);
            (streams, tps)
        } else {
            (
                self.limits.unstaked_streams,
                self.limits.unstaked_tps_per_ip,
            )
        };
        let id = self.next_id;
        self.next_id += 1;
        self.live.insert(
            id,
            Live {
                peer,
                staked,
                share,
                admitted: now,
            },
        );
        Ok(Admitted {
            ticket: Ticket {
                id,
                peer,
                staked,
                share: if staked { share } else { 0.0 },
                max_streams,
                tps,
            },
            evicted,
        })
    }

    /// Returns a connection's slot; releasing twice (an evicted connection
    /// that then closes) does nothing the second time.
    pub fn release(&mut self, id: u64) {
        let Some(live) = self.live.remove(&id) else {
            return;
        };
        if let Some(count) = self.per_peer.get_mut(&live.peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&live.peer);
            }
        }
        if live.staked {
            self.staked = self.staked.saturating_sub(1);
        } else {
            self.unstaked = self.unstaked.saturating_sub(1);
        }
    }

    /// Sources the rate window remembers at most: each holds at most
    /// `max_new_connections_per_ip_per_minute` times, and a source whose
    /// connections all closed a minute ago is forgotten when room is needed.
    pub fn recent_cap(&self) -> usize {
        (self.limits.max_staked_connections + self.limits.max_unstaked_connections)
            .saturating_mul(4)
            .max(1024)
    }

    /// Sources in the rate window (the table's gauge).
    pub fn recent_sources(&self) -> usize {
        self.recent.len()
    }

    /// Drops rate-window entries of sources idle for a minute (housekeeping).
    pub fn forget_idle(&mut self, now: Instant) {
        let window = Duration::from_secs(60);
        self.recent.retain(|_, times| {
            times
                .back()
                .is_some_and(|&at| now.duration_since(at) < window)
        });
    }
}

/// A token bucket for one peer's transactions per second, shared by all its
/// connections.
#[derive(Debug, Clone)]
pub struct TxBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TxBucket {
    /// A full bucket allowing `tps` per second with a one-second burst.
    pub fn new(tps: u32, now: Instant) -> Self {
        let rate = f64::from(tps.max(1));
        TxBucket {
            rate,
            burst: rate,
            tokens: rate,
            last: now,
        }
    }

    /// Reserves the next token and says how long to wait for it (zero when
    /// one is there). The bucket goes into debt by the reservation, so
    /// callers waiting at once are served one after another at the rate,
    /// each with its own wait: this is how a peer is slowed, not dropped.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn eight_new_connections_per_ip_per_minute() {
        let mut admission = Admission::new(AdmissionLimits::default(), Arc::default());
        let start = Instant::now();
        let mut tickets = Vec::new();
        for _ in 0..8 {
            tickets.push(admission.admit(ip(1), None, start).unwrap().ticket);
        }
        for ticket in &tickets {
            admission.release(ticket.id);
        }
        assert_eq!(
            admission.admit(ip(1), None, start).unwrap_err(),
            Refusal::NewConnectionRate
        );
        assert!(admission.admit(ip(2), None, start).is_ok());
        assert!(admission
            .admit(ip(1), None, start + Duration::from_secs(61))
            .is_ok());
    }

    #[test]
    fn per_peer_caps_and_staked_terms() {
        let limits = AdmissionLimits {
            max_new_connections_per_ip_per_minute: 100,
            ..AdmissionLimits::default()
        };
        let whale = [1u8; 32];
        let stakes = Arc::new(StakeTable::new([(whale, 900), ([2u8; 32], 100)]));
        let mut admission = Admission::new(limits, stakes);
        let now = Instant::now();
        for _ in 0..8 {
            admission.admit(ip(1), None, now).unwrap();
        }
        assert_eq!(
            admission.admit(ip(1), None, now).unwrap_err(),
            Refusal::PeerConnections
        );
        let ticket = admission.admit(ip(1), Some(whale), now).unwrap().ticket;
        assert!(ticket.staked);
        assert_eq!(ticket.max_streams, 512);
        assert!(ticket.tps > 400);
        for _ in 1..16 {
            admission.admit(ip(1), Some(whale), now).unwrap();
        }
        assert_eq!(
            admission.admit(ip(1), Some(whale), now).unwrap_err(),
            Refusal::PeerConnections
        );
        assert_eq!(admission.connections(), (16, 8));
    }

    #[test]
    fn full_tables_evict_the_oldest_unstaked_and_the_lowest_staked() {
        let limits = AdmissionLimits {
            max_new_connections_per_ip_per_minute: 100,
            max_unstaked_connections: 2,
            max_staked_connections: 1,
            ..AdmissionLimits::default()
        };
        let (small, big) = ([1u8; 32], [2u8; 32]);
        let stakes = Arc::new(StakeTable::new([(small, 100), (big, 900)]));
        let mut admission = Admission::new(limits, stakes);
        let t0 = Instant::now();
        let first = admission.admit(ip(1), None, t0).unwrap().ticket;
        admission
            .admit(ip(2), None, t0 + Duration::from_millis(1))
            .unwrap();
        let third = admission
            .admit(ip(3), None, t0 + Duration::from_millis(2))
            .unwrap();
        assert_eq!(third.evicted, Some(first.id));
        // The evicted connection closing later releases nothing twice.
        admission.release(first.id);
        assert_eq!(admission.connections(), (0, 2));

        let low = admission.admit(ip(4), Some(small), t0).unwrap().ticket;
        let high = admission.admit(ip(5), Some(big), t0).unwrap();
        assert_eq!(high.evicted, Some(low.id));
        assert_eq!(
            admission.admit(ip(6), Some(small), t0).unwrap_err(),
            Refusal::TableFull
        );
        assert_eq!(admission.connections(), (1, 2));
    }

    #[test]
    fn stake_files_use_base58_keys() {
        let key = bs58::encode([9u8; 32]).into_string();
        let table = StakeTable::parse(&format!("{{\"{key}\": 42}}")).unwrap();
        assert_eq!(table.share(&[9u8; 32]), 1.0);
        assert!(StakeTable::parse("{\"abc\": 1}").is_err());
    }

    #[test]
    fn the_rate_window_forgets_idle_sources_and_keys_ipv6_by_64() {
        let limits = AdmissionLimits {
            max_staked_connections: 100,
            max_unstaked_connections: 100,
            ..AdmissionLimits::default()
        };
        let mut admission = Admission::new(limits, Arc::default());
        let cap = admission.recent_cap();
        let t0 = Instant::now();
        for i in 0..cap as u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            if let Ok(admitted) = admission.admit(ip, None, t0) {
                admission.release(admitted.ticket.id);
            }
        }
        assert_eq!(admission.recent_sources(), cap);
        // Within the minute the table is full: a newcomer is admitted, not
        // tracked (the handshake gate held it to its rate already).
        let admitted = admission.admit(ip(200), None, t0).unwrap();
        admission.release(admitted.ticket.id);
        assert_eq!(admission.recent_sources(), cap, "the table does not grow");
        // A minute on, room is made by forgetting the idle ones.
        assert!(admission
            .admit(ip(200), None, t0 + Duration::from_secs(61))
            .is_ok());
        assert_eq!(admission.recent_sources(), 1);

        // Eight addresses of one /64 are one source.
        for host in 0..8u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, host));
            let admitted = admission
                .admit(ip, None, t0 + Duration::from_secs(62))
                .unwrap();
            admission.release(admitted.ticket.id);
        }
        let ninth = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 7, 7, 7, 7));
        assert_eq!(
            admission
                .admit(ninth, None, t0 + Duration::from_secs(62))
                .unwrap_err(),
            Refusal::NewConnectionRate
        );
    }

    #[test]
    fn reservations_queue_at_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TxBucket::new(10, t0);
        // A second's burst at once, then one every 100 ms, each told its wait.
        for _ in 0..10 {
            assert_eq!(bucket.reserve(t0), Duration::ZERO);
        }
        let waits: Vec<u128> = (0..3).map(|_| bucket.reserve(t0).as_millis()).collect();
        assert_eq!(waits, [100, 200, 300]);
        // After the waits have passed, the debt is paid and the rate holds.
        let later = t0 + Duration::from_millis(300);
        assert_eq!(bucket.reserve(later).as_millis(), 100);
    }
}
