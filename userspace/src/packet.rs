//! The transaction handle that flows from ingress to the forwarder: the bytes
//! as they arrived ([`Packet`]), and once the batch stage has parsed them, the
//! same bytes with the offsets of their verification inputs ([`ParsedTx`]),
//! so neither the verify workers nor the verdict sorting parse again.

use std::{net::SocketAddr, time::Instant};

use rampart_sigverify::txn::{ParseError, Transaction, TxOffsets, TxView, Verifiable};

/// A transaction as it arrived: its bytes, when its stream finished, and from whom.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The stream's bytes.
    pub bytes: Vec<u8>,
    /// When the stream finished.
    pub received: Instant,
    /// The sender.
    pub peer: SocketAddr,
}

/// A packet that parsed and sanitized as a transaction, with the offsets of
/// its signatures, signer keys and message. Only [`ParsedTx::parse`] makes
/// one, so the offsets always describe the bytes.
#[derive(Debug)]
pub struct ParsedTx {
    packet: Packet,
    offsets: TxOffsets,
    content: u64,
}

impl ParsedTx {
    /// Parses `packet` once; `content` computes its identity for in-flight
    /// dedup from the whole bytes (the batch stage passes its dedup table's
    /// keyed hash).
    ///
    /// # Errors
    /// The packet back, with why it is not a transaction.
    pub fn parse(
        packet: Packet,
        content: impl FnOnce(&[u8]) -> u64,
    ) -> Result<ParsedTx, (Packet, ParseError)> {
        let offsets = match Transaction::parse(&packet.bytes) {
            Ok(tx) => tx.offsets(),
            Err(error) => return Err((packet, error)),
        };
        let content = content(&packet.bytes);
        Ok(ParsedTx {
            packet,
            offsets,
            content,
        })
    }

    /// The first signature, which identifies the transaction.
    pub fn first_signature(&self) -> &[u8; 64] {
        // The offsets were taken from these bytes by `parse`, which
        // guarantees a first signature; the fallback is never used.
        const NONE: &[u8; 64] = &[0; 64];
        self.offsets
            .first_signature(&self.packet.bytes)
            .unwrap_or(NONE)
    }

    /// The keyed hash of the whole bytes given at parse time.
    pub fn content(&self) -> u64 {
        self.content
    }

    /// The packet as it arrived.
    pub fn packet(&self) -> &Packet {
        &self.packet
    }

    /// Gives the packet back (to forward it).
    pub fn into_packet(self) -> Packet {
        self.packet
    }
}

impl Verifiable for ParsedTx {
    fn view(&self) -> Result<TxView<'_>, ParseError> {
        self.offsets.view(&self.packet.bytes)
    }
}
