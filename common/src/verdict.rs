//! What the XDP filter decides for a packet, in verdict-chain order.

/// The filter's decision for one packet. Every packet gets exactly one, and
/// each has its own counter. Listed in the order the chain checks them.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Not UDP to a protected port (or not IP at all): passed untouched.
    PassUnprotected = 0,
    /// Headers that cannot be walked to the UDP header, so the port is
    /// unknown: more than two VLAN tags, an IPv6 extension header the filter
    /// does not follow or more than six of them, an extension-header chain
    /// cut short, or a first fragment too short for a UDP header. Counted in
    /// the unprotected row.
    DropHeaderChain = 1,
    /// Source in the allow-list: passed, the rest of the chain skipped.
    PassAllowed = 2,
    /// Source in the deny-list (and the entry not expired).
    DropDenied = 3,
    /// A first IP fragment addressed to a protected port.
    DropFragment = 4,
    /// IP or UDP lengths truncated or inconsistent with each other.
    DropMalformed = 5,
    /// QUIC header impossible: fixed bit clear, unknown version, or a
    /// connection ID longer than 20 bytes.
    DropQuicHeader = 6,
    /// QUIC long header with version 0 (version negotiation), which a client
    /// never sends to a server.
    DropQuicVersionNegotiation = 7,
    /// QUIC Initial in a UDP payload shorter than 1200 bytes (RFC 9000 14.1).
    DropQuicShortInitial = 8,
    /// QUIC short-header packet shorter than the smallest possible one.
    DropQuicShortPacket = 9,
    /// The source's token bucket (packets or bytes) is empty.
    DropRateLimited = 10,
    /// Passed every check.
    Pass = 11,
}

/// Number of verdicts (size of one counter row).
pub const VERDICT_COUNT: u32 = 12;

impl Verdict {
    /// Every verdict, in chain order.
    pub const ALL: [Verdict; VERDICT_COUNT as usize] = [
        Verdict::PassUnprotected,
        Verdict::DropHeaderChain,
        Verdict::PassAllowed,
        Verdict::DropDenied,
        Verdict::DropFragment,
        Verdict::DropMalformed,
        Verdict::DropQuicHeader,
        Verdict::DropQuicVersionNegotiation,
        Verdict::DropQuicShortInitial,
        Verdict::DropQuicShortPacket,
        Verdict::DropRateLimited,
        Verdict::Pass,
    ];

    /// Stable snake_case label for metrics and the CLI.
    pub const fn label(self) -> &'static str {
        match self {
            Verdict::PassUnprotected => "pass_unprotected",
            Verdict::DropHeaderChain => "drop_header_chain",
            Verdict::PassAllowed => "pass_allowed",
            Verdict::DropDenied => "drop_denied",
            Verdict::DropFragment => "drop_fragment",
            Verdict::DropMalformed => "drop_malformed",
            Verdict::DropQuicHeader => "drop_quic_header",
            Verdict::DropQuicVersionNegotiation => "drop_quic_version_negotiation",
            Verdict::DropQuicShortInitial => "drop_quic_short_initial",
            Verdict::DropQuicShortPacket => "drop_quic_short_packet",
            Verdict::DropRateLimited => "drop_rate_limited",
            Verdict::Pass => "pass",
        }
    }

    /// Whether the packet is dropped.
    pub const fn is_drop(self) -> bool {
        !matches!(
            self,
            Verdict::PassUnprotected | Verdict::PassAllowed | Verdict::Pass
        )
    }
}
