//! Rampart's userspace: the command-line tool and, as later layers land, the
//! daemon (XDP loader, QUIC ingress, verify pipeline, forwarder).
//!
//! - [`cli`] parses the command line and runs one subcommand per module.
//! - [`filter`] loads the XDP filter and edits its rules and counters.
//! - [`ingress`] is the Solana-TPU-compatible QUIC server.
//! - [`pipeline`] batches, deduplicates, verifies and forwards transactions.
//! - [`config`] and [`metrics`] serve `rampart run`.
//! - [`loadgen`] builds realistic signed transactions for benchmarks and tests.
//! - [`netlab`] makes private namespace-and-veth networks for tests and benchmarks.

pub mod cli;
pub mod config;
pub mod filter;
pub mod ingress;
pub mod loadgen;
pub mod metrics;
pub mod netlab;
pub mod pipeline;
