//! Solana-TPU-compatible QUIC ingress: the network edge where transactions enter.
//!
//! - [`gate`]: admission before cryptography: handshakes in flight, Retry,
//!   per-source and global new-connection rates (pure).
//! - [`admission`]: connection caps, per-IP rate, stake-weighted quotas (pure).
//! - [`server`]: the quinn endpoint, one transaction per unidirectional stream.
//! - [`socket`]: the kernel's count of datagrams dropped at the endpoint's socket.
//!
//! Identity and TLS live in [`crate::quic`], shared with the forwarder.

pub mod admission;
pub mod gate;
pub mod server;
pub mod socket;
