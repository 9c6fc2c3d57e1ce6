//! `rampart bench …`: the benchmarks, each a driver in [`crate::lab`].

use clap::Subcommand;

use crate::lab::{bench_attack, bench_pipeline, bench_sigverify, bench_xdp};

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Signature verification throughput against same-run dalek baselines.
    Sigverify(bench_sigverify::BenchArgs),
    /// The whole appliance on loopback against the raw verify rate.
    Pipeline(bench_pipeline::BenchPipelineArgs),
    /// CPU per junk packet: Rampart's XDP filter against nftables, a socket,
    /// and a bare XDP drop, on a private veth pair.
    Xdp(bench_xdp::BenchXdpArgs),
    /// The appliance under attack: honest goodput, where each attack died,
    /// memory and CPU, scenario by scenario.
    Attack(bench_attack::BenchAttackArgs),
}

/// Runs one benchmark.
///
/// # Errors
/// The benchmark's own errors (bad arguments, not root for `xdp`, a stage
/// that cannot start).
pub fn run(command: &BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Sigverify(args) => bench_sigverify::run(args),
        BenchCommand::Pipeline(args) => bench_pipeline::run(args),
        BenchCommand::Xdp(args) => bench_xdp::run(args),
        BenchCommand::Attack(args) => bench_attack::run(args),
    }
}
