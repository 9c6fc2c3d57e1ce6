//! The lab: the tools the command line runs beside the appliance, and what
//! the tests share — benchmark drivers, the conformance checker, load
//! generators, and private namespace-and-veth networks. Nothing in the
//! appliance depends on it.
//!
//! - [`loadgen`]: realistic signed transactions, a TPU client and a TPU-style sink.
//! - [`netlab`]: namespace-and-veth networks for tests and benchmarks.
//! - [`bench_sigverify`], [`bench_pipeline`], [`bench_xdp`]: the throughput benchmarks.
//! - [`bench_attack`]: the appliance under attack, honest goodput per scenario.
//! - [`conformance`]: `rampart verify`, verdicts for published vector sets.
//! - [`der`]: hand-built DER for the test certificates no library would write.
//! - [`pool_driver`]: how the benchmarks keep a verify pool busy without deadlock.
//! - [`raw_rate`]: the raw verify rate of a set of workers, the benchmarks' yardstick.

pub mod bench_attack;
pub mod bench_pipeline;
pub mod bench_sigverify;
pub mod bench_xdp;
pub mod conformance;
pub mod der;
pub mod loadgen;
pub mod netlab;
pub mod pool_driver;
pub mod raw_rate;
