//! CIDR blocks as operators write them, and their encoding as LPM-trie keys.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// An IPv4 or IPv6 network: address with host bits clear, and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cidr {
    /// IPv4 network, prefix 0..=32.
    V4 {
        /// Network address bytes.
        addr: [u8; 4],
        /// Prefix length.
        len: u8,
    },
    /// IPv6 network, prefix 0..=128.
    V6 {
        /// Network address bytes.
        addr: [u8; 16],
        /// Prefix length.
        len: u8,
    },
}

/// Why a string is not a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The address part is not an IP address.
    #[error("{given:?} is not an IP address or CIDR block")]
    Address {
        /// What was given.
        given: String,
    },
    /// The prefix length is not a number in range for the family.
    #[error("prefix length {given:?} out of range 0..={max}")]
    PrefixLength {
        /// What was given.
        given: String,
        /// Longest prefix for the family.
        max: u8,
    },
    /// Bits beyond the prefix are set.
    #[error("{given} has host bits set; the network is {network}")]
    HostBits {
        /// What was given.
        given: String,
        /// The network it probably meant.
        network: Cidr,
    },
}

impl Cidr {
    /// Prefix length.
    pub fn len(self) -> u8 {
        match self {
            Cidr::V4 { len, .. } | Cidr::V6 { len, .. } => len,
        }
    }

    /// Whether the prefix is zero (the whole address family).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Whether `self` and `other` share any address (one contains the other).
    pub fn overlaps(self, other: Cidr) -> bool {
        match (self, other) {
            (Cidr::V4 { addr: a, len: la }, Cidr::V4 { addr: b, len: lb }) => {
                prefix_eq(&a, &b, la.min(lb))
            }
            (Cidr::V6 { addr: a, len: la }, Cidr::V6 { addr: b, len: lb }) => {
                prefix_eq(&a, &b, la.min(lb))
            }
            _ => false,
        }
    }

    /// Whether the block contains `ip`.
    pub fn contains(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Cidr::V4 { addr, len }, IpAddr::V4(ip)) => prefix_eq(&addr, &ip.octets(), len),
            (Cidr::V6 { addr, len }, IpAddr::V6(ip)) => prefix_eq(&addr, &ip.octets(), len),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = bits as usize;
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

fn clear_host_bits(addr: &mut [u8], len: u8) {
    let bits = len as usize;
    for (i, byte) in addr.iter_mut().enumerate() {
        let keep = bits.saturating_sub(i * 8).min(8);
        *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let ip: IpAddr = address.parse().map_err(|_| CidrError::Address {
            given: s.to_owned(),
        })?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|&len| len <= max)
                .ok_or_else(|| CidrError::PrefixLength {
                    given: prefix.to_owned(),
                    max,
                })?,
        };
        let cidr = match ip {
            IpAddr::V4(ip) => Cidr::V4 {
                addr: ip.octets(),
                len,
            },
            IpAddr::V6(ip) => Cidr::V6 {
                addr: ip.octets(),
                len,
            },
        };
        let network = cidr.network();
        if network != cidr {
            return Err(CidrError::HostBits {
                given: s.to_owned(),
                network,
            });
        }
        Ok(cidr)
    }
}

impl Cidr {
    /// The same prefix with the host bits cleared.
    pub fn network(self) -> Cidr {
        match self {
            Cidr::V4 { mut addr, len } => {
                clear_host_bits(&mut addr, len);
                Cidr::V4 { addr, len }
            }
            Cidr::V6 { mut addr, len } => {
                clear_host_bits(&mut addr, len);
                Cidr::V6 { addr, len }
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Cidr::V4 { addr, len } => write!(f, "{}/{len}", Ipv4Addr::from(addr)),
            Cidr::V6 { addr, len } => write!(f, "{}/{len}", Ipv6Addr::from(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_networks_and_hosts() {
        assert_eq!(
            "203.0.113.0/24".parse::<Cidr>(),
            Ok(Cidr::V4 {
                addr: [203, 0, 113, 0],
                len: 24
            })
        );
        assert_eq!("10.1.2.3".parse::<Cidr>().map(Cidr::len), Ok(32));
        assert_eq!(
            "2001:db8::/32".parse::<Cidr>().map(|c| c.to_string()),
            Ok("2001:db8::/32".into())
        );
    }

    #[test]
    fn rejects_malformed_blocks_with_a_reason() {
        assert!(matches!(
            "10.0.0.1/24".parse::<Cidr>(),
            Err(CidrError::HostBits { .. })
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixLength { .. })
        ));
        assert!(matches!(
            "10.0.0/8".parse::<Cidr>(),
            Err(CidrError::Address { .. })
        ));
        assert!(matches!(
            "2001:db8::1/32".parse::<Cidr>(),
            Err(CidrError::HostBits { .. })
        ));
        let err = "10.0.0.1/24".parse::<Cidr>().unwrap_err().to_string();
        assert!(err.contains("10.0.0.0/24"), "{err}");
    }

    #[test]
    fn overlap_is_containment_within_a_family() {
        let a: Cidr = "10.0.0.0/8".parse().unwrap();
        let b: Cidr = "10.1.0.0/16".parse().unwrap();
        let c: Cidr = "11.0.0.0/8".parse().unwrap();
        let d: Cidr = "::/0".parse().unwrap();
        assert!(a.overlaps(b) && b.overlaps(a));
        assert!(!a.overlaps(c));
        assert!(!a.overlaps(d));
        assert!(a.contains("10.200.1.1".parse().unwrap()));
    }
}
