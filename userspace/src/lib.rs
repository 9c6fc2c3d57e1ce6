//! Rampart's userspace: the appliance's stages, the wiring that builds them,
//! and the command-line tool on top.
//!
//! Dependencies point one way, top to bottom:
//!
//! - [`cli`] parses the command line and calls the library; nothing imports it.
//! - [`lab`] benchmarks, load generators and namespace test networks (what
//!   `rampart bench` runs and the tests share).
//! - [`appliance`] is the one wiring point: it reads [`appliance::Config`] and
//!   builds and owns the stages.
//! - The stages: [`ingress`] (the QUIC server), [`pipeline`] (batch and
//!   dedup, verify, forward), [`filter`] (the XDP filter's loader and maps).
//! - Shared types the stages exchange: [`packet`] (the transaction handle),
//!   [`fair`] (the per-source fair queue from ingress to the batch stage),
//!   [`quic`] (identity, TLS and endpoint helpers), [`metrics`] (the counters,
//!   their schema and the Prometheus endpoint).

pub mod appliance;
pub mod cli;
pub mod fair;
pub mod filter;
pub mod ingress;
pub mod lab;
pub mod metrics;
pub mod packet;
pub mod pipeline;
pub mod quic;
