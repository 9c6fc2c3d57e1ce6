//! The transaction handle that flows from ingress to the forwarder.

use std::{net::SocketAddr, time::Instant};

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

impl AsRef<[u8]> for Packet {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}
