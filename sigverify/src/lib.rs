//! Solana transaction parsing and ed25519 signature verification for Rampart.
//!
//! This crate is the "transaction → verdict" part of the pipeline. It does no I/O
//! and owns no sockets: bytes go in, typed verdicts come out.
//!
//! - [`txn`] parses wire transactions (legacy, v0, v1) zero-copy and applies the
//!   pre-crypto sanitize checks of Agave's sigverify stage.
//! - [`rule`] names the signature rules (`strict`, `zip215`, `zip215-amended`).
//! - [`ed25519`] holds the per-signature and batch verification under each rule.
//! - [`backend`] is the pluggable batch-verify interface and its CPU implementation.

pub mod ed25519;
pub mod rule;
pub mod txn;

pub use ed25519::{SigError, SigVerdict, SignatureInput};
pub use rule::Rule;
pub mod backend;
pub mod pool;
