//! Solana-TPU-compatible QUIC ingress: the network edge where transactions enter.
//!
//! - [`admission`]: connection caps, per-IP rate, stake-weighted quotas (pure).
//! - [`server`]: the quinn endpoint, one transaction per unidirectional stream.
//!
//! Identity and TLS live in [`crate::quic`], shared with the forwarder.

pub mod admission;
pub mod server;
