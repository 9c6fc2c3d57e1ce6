//! The `rampart` command line: one module per subcommand.

mod bench_pipeline;
mod bench_sigverify;
mod bench_xdp;
mod filter;
mod rules;
mod run;
mod stats;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Rampart: a validator networking appliance.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the appliance: QUIC ingress, verify pipeline, forwarder, metrics.
    Run(run::RunArgs),
    /// Check signatures from JSON lines against a rule (conformance tool).
    Verify(verify::VerifyArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Attach, detach and inspect the XDP filter.
    #[command(subcommand)]
    Filter(filter::FilterCommand),
    /// Edit the XDP filter's rules while it runs.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// The XDP filter's counters and top talkers.
    Stats(stats::StatsArgs),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Signature verification throughput against same-run dalek baselines.
    Sigverify(bench_sigverify::BenchArgs),
    /// The whole appliance on loopback against the raw verify rate.
    Pipeline(bench_pipeline::BenchPipelineArgs),
    /// CPU per junk packet: Rampart's XDP filter against nftables, a socket,
    /// and a bare XDP drop, on a private veth pair.
    Xdp(bench_xdp::BenchXdpArgs),
}

/// Parses the command line, runs the subcommand, and turns errors into a
/// message on stderr and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Bench(BenchCommand::Sigverify(args)) => bench_sigverify::run(&args),
        Command::Bench(BenchCommand::Xdp(args)) => bench_xdp::run(&args),
        Command::Bench(BenchCommand::Pipeline(args)) => bench_pipeline::run(&args),
        Command::Filter(command) => filter::run(&command),
        Command::Rules(command) => rules::run(&command),
        Command::Stats(args) => stats::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rampart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the backend named on the command line.
fn make_backend(
    kind: rampart_sigverify::backend::BackendKind,
    max_batch: usize,
    adaptive: bool,
    engine: rampart_sigverify::backend::EngineChoice,
) -> anyhow::Result<Box<dyn rampart_sigverify::backend::Backend>> {
    use rampart_sigverify::backend::{BackendKind, CpuBackend, CpuConfig};
    match kind {
        BackendKind::Cpu => {
            if engine.resolve().is_none() {
                anyhow::bail!("engine {engine} needs CPU features this machine does not have");
            }
            Ok(Box::new(CpuBackend::new(CpuConfig {
                max_batch,
                adaptive,
                engine,
            })))
        }
        BackendKind::FpgaSim => Ok(fpga_sim_backend()?),
    }
}

/// The simulated FPGA verifier: every rule's verdicts from the simulated
/// card (see `rampart_fpga::backend`).
#[cfg(feature = "fpga-sim")]
pub(crate) fn fpga_sim_backend() -> anyhow::Result<Box<dyn rampart_sigverify::backend::Backend>> {
    Ok(Box::new(rampart_fpga::backend::FpgaSimBackend::try_new()?))
}

/// Without the `fpga-sim` feature the simulated card is not built.
#[cfg(not(feature = "fpga-sim"))]
pub(crate) fn fpga_sim_backend() -> anyhow::Result<Box<dyn rampart_sigverify::backend::Backend>> {
    anyhow::bail!(
        "backend fpga-sim is not part of this build: rebuild rampart with the `fpga-sim` \
         feature (needs Verilator, see deploy/setup.sh); use --backend cpu"
    )
}
