//! QUIC header sanity for a UDP payload to a protected port: what no real
//! client sends to a server (RFC 9000 17, RFC 9001 5.4.2).

use super::cursor::Cursor;
use crate::Verdict;

/// RFC 9000 14.1: a client's Initial travels in a datagram of at least 1200 bytes.
pub const MIN_INITIAL_PAYLOAD: usize = 1200;
/// Largest QUIC connection ID (RFC 9000 17.2).
pub const MAX_CID_LEN: u8 = 20;
/// Packet-number bytes plus the header-protection sample (RFC 9001 5.4.2).
pub const SHORT_HEADER_TAIL: usize = 20;

/// The QUIC verdict for a UDP payload at `offset` of `len` bytes:
/// [`Verdict::Pass`] or one of the `DropQuic*` verdicts. `cid_len` is the
/// length of the connection IDs the server issues.
#[inline(always)]
pub fn quic_verdict<F: Cursor + ?Sized>(
    frame: &F,
    offset: usize,
    len: usize,
    cid_len: usize,
) -> Verdict {
    let Some(first) = frame.byte(offset) else {
        return Verdict::DropQuicHeader;
    };
    if first & 0x80 != 0 {
        let Some(version) = frame.be32(offset + 1) else {
            return Verdict::DropQuicHeader;
        };
        if version == 0 {
            return Verdict::DropQuicVersionNegotiation;
        }
        if version != 1 || first & 0x40 == 0 {
            return Verdict::DropQuicHeader;
        }
        let Some(dcid_len) = frame.byte(offset + 5) else {
            return Verdict::DropQuicHeader;
        };
        if dcid_len > MAX_CID_LEN {
            return Verdict::DropQuicHeader;
        }
        let Some(scid_len) = frame.byte(offset + 6 + dcid_len as usize) else {
            return Verdict::DropQuicHeader;
        };
        if scid_len > MAX_CID_LEN {
            return Verdict::DropQuicHeader;
        }
        // Long-header type 0 is Initial.
        if (first >> 4) & 0x03 == 0 && len < MIN_INITIAL_PAYLOAD {
            return Verdict::DropQuicShortInitial;
        }
        Verdict::Pass
    } else {
        if first & 0x40 == 0 {
            return Verdict::DropQuicHeader;
        }
        if len < 1 + cid_len + SHORT_HEADER_TAIL {
            return Verdict::DropQuicShortPacket;
        }
        Verdict::Pass
    }
}
