//! The `rampart` command line: one module per subcommand.

mod bench;
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
    Bench(bench::BenchCommand),
    /// Attach, detach and inspect the XDP filter.
    #[command(subcommand)]
    Filter(filter::FilterCommand),
    /// Edit the XDP filter's rules while it runs.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// The XDP filter's counters and top talkers.
    Stats(stats::StatsArgs),
}

/// Parses the command line, runs the subcommand, and turns errors into a
/// message on stderr and a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Bench(command) => bench::run(&command),
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
