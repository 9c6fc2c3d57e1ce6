//! Load generation for benchmarks and end-to-end tests.
//!
//! - [`transactions`]: realistic signed transactions (legacy, v1).
//! - [`tpu`]: a TPU-protocol QUIC client that sends them, and a TPU-style sink
//!   that receives what the appliance forwards.

pub mod tpu;

/// Realistic signed transactions: the `rampart-txgen` crate, which the
/// criterion benchmarks use without this one.
pub use rampart_txgen as transactions;
pub use rampart_txgen::*;
