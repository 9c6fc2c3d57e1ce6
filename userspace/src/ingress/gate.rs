//! The handshake gate: admission before any cryptography.
//!
//! Every QUIC Initial that reaches the endpoint would otherwise cost a key
//! exchange, a signature and seconds of connection state, whoever sent it.
//! [`HandshakeGate`] decides at the `Incoming` stage, from the source address
//! and the handshakes already in flight, whether to start a handshake, ask for
//! address validation with a stateless Retry, or refuse. Pure: every call takes
//! `now`; the server only carries out the verdict.
//!
//! Spoofed sources must not be able to spend an honest source's budget, so
//! each source has two budgets: one for Initials from unvalidated addresses
//! (spent, it only costs the source a Retry round trip) and one for validated
//! addresses (spent, the source is refused). A spoofer can only exhaust the
//! first; the owner of the address then proves it and uses the second.
//! Under pressure (handshakes in flight past `retry_above`) every
//! unvalidated Initial is answered with a Retry, which holds no state, so a
//! spoofed flood never fills the handshake table.
//!
//! Sources are IPv4 addresses and IPv6 /64 prefixes (one host owns a /64),
//! hashed with a random key into a fixed table of budgets: memory is bounded
//! whatever the number of sources, and an attacker cannot aim a collision at
//! a chosen victim without the key.

use std::{
    hash::Hasher,
    net::IpAddr,
    time::{Duration, Instant},
};

use siphasher::sip::SipHasher13;

use crate::metrics::counters::GATE_REFUSAL_LABELS;

/// Handshake limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateLimits {
    /// Handshakes in flight at most; Initials beyond it are refused.
    pub max_handshakes: usize,
    /// Handshakes in flight past which unvalidated Initials get a Retry.
    pub retry_above: usize,
    /// New connections per second from validated addresses, all sources.
    pub new_connections_per_second: u32,
    /// New connections per source per minute (Agave: 8 per IP), each of the
    /// validated and unvalidated budgets.
    pub per_source_per_minute: u32,
    /// Budget slots in the source table (a power of two is not needed).
    pub source_slots: usize,
    /// Milliseconds a handshake may take (Agave: 2000).
    pub handshake_timeout_ms: u64,
}

impl Default for GateLimits {
    fn default() -> Self {
        GateLimits {
            max_handshakes: 1024,
            retry_above: 128,
            new_connections_per_second: 2000,
            per_source_per_minute: 8,
            source_slots: 1 << 16,
            handshake_timeout_ms: 2000,
        }
    }
}

/// What to do with an Initial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    /// Start the handshake.
    Accept,
    /// Answer with a stateless Retry: the client must prove its address.
    Retry,
    /// Refuse the connection.
    Refuse(GateRefusal),
}

/// Why an Initial was refused. Variants are in the order of
/// [`GATE_REFUSAL_LABELS`], which `as usize` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// The handshake table is full.
    #[error("too many handshakes in flight")]
    HandshakesInFlight,
    /// The validated source opened too many connections in the last minute.
    #[error("too many new connections from this source")]
    SourceRate,
    /// Every source together opened too many connections this second.
    #[error("too many new connections")]
    GlobalRate,
}

impl GateRefusal {
    /// Stable label for metrics.
    pub fn label(self) -> &'static str {
        GATE_REFUSAL_LABELS[self as usize]
    }
}

/// A token bucket: `rate` tokens per `per`, holding at most `burst`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Option<Instant>,
}

impl Bucket {
    const EMPTY: Bucket = Bucket {
        tokens: 0.0,
        at: None,
    };

    /// Takes one token if there is one (a never-used bucket starts full).
    fn take(&mut self, burst: f64, per_second: f64, now: Instant) -> bool {
        let tokens = match self.at {
            None => burst,
            Some(at) => (self.tokens
                + now.saturating_duration_since(at).as_secs_f64() * per_second)
                .min(burst),
        };
        self.at = Some(now);
        if tokens >= 1.0 {
            self.tokens = tokens - 1.0;
            true
        } else {
            self.tokens = tokens;
            false
        }
    }
}

/// One source's two budgets.
#[derive(Debug, Clone, Copy)]
struct Slot {
    unvalidated: Bucket,
    validated: Bucket,
}

/// The source an address belongs to: the IPv4 address, or the IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Prefix([u8; 8]),
}

impl From<IpAddr> for SourceKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => SourceKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(v4.octets()),
                None => {
                    let octets = v6.octets();
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&octets[..8]);
                    SourceKey::V6Prefix(prefix)
                }
            },
        }
    }
}

/// The gate's state: the source table and the global budget.
#[derive(Debug)]
pub struct HandshakeGate {
    limits: GateLimits,
    keys: (u64, u64),
    slots: Vec<Slot>,
    global: Bucket,
}

impl HandshakeGate {
    /// A gate with `limits`, hashing sources with the secret `keys`.
    pub fn new(limits: GateLimits, keys: (u64, u64)) -> Self {
        HandshakeGate {
            limits,
            keys,
            slots: vec![
                Slot {
                    unvalidated: Bucket::EMPTY,
                    validated: Bucket::EMPTY,
                };
                limits.source_slots.max(1)
            ],
            global: Bucket::EMPTY,
        }
    }

    /// Bytes the source table holds (fixed at creation).
    pub fn table_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
    }

    /// Decides on an Initial from `source`, whose address is `validated`
    /// (it came back with a Retry token) or not, with `in_flight`
    /// handshakes already running.
    pub fn decide(
        &mut self,
        source: IpAddr,
        validated: bool,
        in_flight: usize,
        now: Instant,
    ) -> GateVerdict {
        let limits = self.limits;
        if in_flight >= limits.max_handshakes {
            return GateVerdict::Refuse(GateRefusal::HandshakesInFlight);
        }
        let burst = f64::from(limits.per_source_per_minute.max(1));
        let per_second = burst / 60.0;
        let slot = self.slot(SourceKey::from(source));
        if !validated {
            if in_flight >= limits.retry_above {
                return GateVerdict::Retry;
            }
            return if slot.unvalidated.take(burst, per_second, now) {
                GateVerdict::Accept
            } else {
                GateVerdict::Retry
            };
        }
        if !slot.validated.take(burst, per_second, now) {
            return GateVerdict::Refuse(GateRefusal::SourceRate);
        }
        let global = f64::from(limits.new_connections_per_second.max(1));
        if !self.global.take(global, global, now) {
            return GateVerdict::Refuse(GateRefusal::GlobalRate);
        }
        GateVerdict::Accept
    }

    fn slot(&mut self, key: SourceKey) -> &mut Slot {
        let mut hasher = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        std::hash::Hash::hash(&key, &mut hasher);
        let index = (hasher.finish() % self.slots.len() as u64) as usize;
        &mut self.slots[index]
    }

    /// The handshake deadline.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.handshake_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn gate() -> HandshakeGate {
        HandshakeGate::new(
            GateLimits {
                max_handshakes: 100,
                retry_above: 10,
                new_connections_per_second: 50,
                per_source_per_minute: 8,
                source_slots: 4096,
                handshake_timeout_ms: 2000,
            },
            (7, 11),
        )
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn a_spoofer_cannot_spend_an_honest_source_s_budget() {
        let t0 = Instant::now();
        let mut gate = gate();
        let victim = v4(1);
        // Spoofed Initials in the victim's name: eight start handshakes, the
        // rest are sent a Retry (which a spoofer cannot answer).
        let verdicts: Vec<_> = (0..20).map(|_| gate.decide(victim, false, 0, t0)).collect();
        assert_eq!(
            verdicts
                .iter()
                .filter(|v| **v == GateVerdict::Accept)
                .count(),
            8
        );
        assert!(verdicts[8..].iter().all(|v| *v == GateVerdict::Retry));
        // The real owner answers the Retry and is admitted.
        assert_eq!(gate.decide(victim, true, 0, t0), GateVerdict::Accept);
    }

    #[test]
    fn a_validated_source_is_held_to_its_rate() {
        let t0 = Instant::now();
        let mut gate = gate();
        for _ in 0..8 {
            assert_eq!(gate.decide(v4(2), true, 0, t0), GateVerdict::Accept);
        }
        assert_eq!(
            gate.decide(v4(2), true, 0, t0),
            GateVerdict::Refuse(GateRefusal::SourceRate)
        );
        assert_eq!(
            gate.decide(v4(3), true, 0, t0),
            GateVerdict::Accept,
            "others unaffected"
        );
        // 8 per minute: one more after 7.5 s.
        assert_eq!(
            gate.decide(v4(2), true, 0, t0 + Duration::from_millis(7600)),
            GateVerdict::Accept
        );
    }

    #[test]
    fn under_pressure_every_unvalidated_initial_gets_a_retry_and_the_table_has_a_cap() {
        let t0 = Instant::now();
        let mut gate = gate();
        assert_eq!(gate.decide(v4(4), false, 10, t0), GateVerdict::Retry);
        assert_eq!(gate.decide(v4(4), true, 10, t0), GateVerdict::Accept);
        assert_eq!(
            gate.decide(v4(5), true, 100, t0),
            GateVerdict::Refuse(GateRefusal::HandshakesInFlight)
        );
    }

    #[test]
    fn the_global_rate_binds_validated_sources_together() {
        let t0 = Instant::now();
        let mut gate = gate();
        let accepted = (0..=255u8)
            .filter(|&i| gate.decide(v4(i), true, 0, t0) == GateVerdict::Accept)
            .count();
        assert_eq!(accepted, 50);
        assert_eq!(
            gate.decide(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), true, 0, t0),
            GateVerdict::Refuse(GateRefusal::GlobalRate)
        );
        assert_eq!(
            gate.decide(
                IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
                true,
                0,
                t0 + Duration::from_secs(1)
            ),
            GateVerdict::Accept,
            "refilled after a second"
        );
    }

    #[test]
    fn ipv6_sources_are_their_64_prefix_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(SourceKey::from(a), SourceKey::from(b));
        assert_ne!(SourceKey::from(a), SourceKey::from(c));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 9).to_ipv6_mapped());
        assert_eq!(SourceKey::from(mapped), SourceKey::from(v4(9)));
        assert_ne!(
            SourceKey::from(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            SourceKey::from(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );

        // One /64 shares one budget, however many addresses it uses.
        let t0 = Instant::now();
        let mut gate = gate();
        for host in 0..8u16 {
            let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, host));
            assert_eq!(gate.decide(ip, true, 0, t0), GateVerdict::Accept);
        }
        let ninth = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        assert_eq!(
            gate.decide(ninth, true, 0, t0),
            GateVerdict::Refuse(GateRefusal::SourceRate)
        );
    }

    #[test]
    fn the_table_is_the_same_size_after_a_million_sources() {
        let t0 = Instant::now();
        let mut gate = gate();
        let before = gate.table_bytes();
        for i in 0..1_000_000u32 {
            gate.decide(IpAddr::V4(Ipv4Addr::from(i)), false, 0, t0);
        }
        assert_eq!(gate.table_bytes(), before);
    }
}
