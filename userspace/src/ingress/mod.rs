//! Solana-TPU-compatible QUIC ingress: the network edge where transactions enter.
//!
//! - [`identity`]: the appliance's keypair file.
//! - [`tls`]: certificates, ALPN `solana-tpu`, client identity from the TLS handshake.
//! - [`admission`]: connection caps, per-IP rate, stake-weighted quotas (pure).
//! - [`server`]: the quinn endpoint, one transaction per unidirectional stream.

pub mod admission;
pub mod identity;
pub mod server;
pub mod tls;

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
