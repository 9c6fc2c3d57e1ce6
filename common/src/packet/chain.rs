//! The verdict chain: headers, then for UDP to a protected port the
//! allow-list, deny-list, fragments, lengths, QUIC sanity and rate limit, in
//! that order ([`Verdict`] lists them in the same order).

use super::{
    cursor::Cursor,
    headers::{headers, Datagram, Headers, Source, UDP_HEADER},
    quic::quic_verdict,
};
use crate::{maps::UNPROTECTED_ROW, Verdict};

/// The map lookups the chain needs. The kernel answers from its BPF maps;
/// tests answer from memory.
pub trait Tables {
    /// The counter row of `port` if it is protected, else `None`.
    fn port_row(&self, port: u16) -> Option<u32>;
    /// Whether `source` is in the allow-list.
    fn allowed(&self, source: Source) -> bool;
    /// Whether `source` is in the deny-list under an entry not yet expired.
    fn denied(&self, source: Source) -> bool;
    /// Takes one packet of `bytes` (the whole frame) from `source`'s token
    /// bucket; true if the bucket was short.
    fn rate_limited(&mut self, source: Source, bytes: u64) -> bool;
    /// Length of the connection IDs the QUIC server issues.
    fn quic_cid_len(&self) -> usize;
}

/// The chain's decision for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The counter row: the port's, or [`UNPROTECTED_ROW`].
    pub row: u32,
    /// The source, when the IP header was read (for top talkers).
    pub source: Option<Source>,
}

/// Decides the verdict for a frame.
///
/// Frames that are not UDP pass unprotected; frames whose headers cannot be
/// walked to the UDP header are dropped with [`Verdict::DropHeaderChain`]
/// (their port is unknown, so they count in the unprotected row); UDP to a
/// port [`Tables::port_row`] does not know passes unprotected; the rest goes
/// through the chain.
#[inline(always)]
pub fn judge<F, T>(frame: &F, tables: &mut T) -> Judgement
where
    F: Cursor + ?Sized,
    T: Tables + ?Sized,
{
    let datagram = match headers(frame) {
        Headers::NotUdp => {
            return Judgement {
                verdict: Verdict::PassUnprotected,
                row: UNPROTECTED_ROW,
                source: None,
            }
        }
        Headers::Unwalkable(source) => {
            return Judgement {
                verdict: Verdict::DropHeaderChain,
                row: UNPROTECTED_ROW,
                source,
            }
        }
        Headers::Udp(datagram) => datagram,
    };
    let (verdict, row) = match tables.port_row(datagram.dest_port) {
        Some(row) => (protected(frame, tables, &datagram), row),
        None => (Verdict::PassUnprotected, UNPROTECTED_ROW),
    };
    Judgement {
        verdict,
        row,
        source: Some(datagram.source),
    }
}

/// The chain for a datagram to a protected port.
#[inline(always)]
fn protected<F, T>(frame: &F, tables: &mut T, d: &Datagram) -> Verdict
where
    F: Cursor + ?Sized,
    T: Tables + ?Sized,
{
    if tables.allowed(d.source) {
        return Verdict::PassAllowed;
    }
    if tables.denied(d.source) {
        return Verdict::DropDenied;
    }
    if d.fragment {
        return Verdict::DropFragment;
    }
    let Some(udp_len) = frame.be16(d.udp + 4) else {
        return Verdict::DropMalformed;
    };
    let udp_len = udp_len as usize;
    let frame_len = frame.frame_len();
    // The IP payload must fit the frame (trailing Ethernet padding is fine),
    // and the UDP length must be exactly the IP payload.
    if udp_len < UDP_HEADER || d.udp + d.ip_payload_len > frame_len || udp_len != d.ip_payload_len {
        return Verdict::DropMalformed;
    }
    let quic = quic_verdict(
        frame,
        d.udp + UDP_HEADER,
        udp_len - UDP_HEADER,
        tables.quic_cid_len(),
    );
    if quic != Verdict::Pass {
        return quic;
    }
    if tables.rate_limited(d.source, frame_len as u64) {
        return Verdict::DropRateLimited;
    }
    Verdict::Pass
}
