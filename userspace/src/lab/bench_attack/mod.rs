//! `rampart bench attack`: the appliance under attack, on loopback. For each
//! scenario a fresh appliance runs as a child process (`rampart run`), with a
//! TPU sink in this process as its validator, one honest staked client and
//! one honest unstaked client sending valid unique transactions at fixed
//! rates, and one attack, all bounded in time. What is measured: the share
//! of each honest client's transactions that reached the validator
//! (goodput), what the attack offered and what got in, where it died (the
//! appliance's own counters), the appliance's memory high-water mark and its
//! CPU time per honest transaction. See `docs/attack.md`.
//!
//! - `scenario.rs`: one scenario from start to report.
//! - `appliance.rs`: the child process, `/metrics`, `/proc`.
//! - `scrape.rs`: the counters read as deaths per stage and a balance.
//! - `client.rs`, `honest.rs`: clients on chosen loopback sources; the honest ones.
//! - `floods.rs`, `connections.rs`, `handshakes.rs`, `forged.rs`: the attacks.
//! - `report.rs`: the report, its bars, and how it prints.

mod appliance;
mod client;
mod connections;
mod floods;
mod forged;
mod handshakes;
mod honest;
mod report;
mod scenario;
mod scrape;

use std::{collections::BTreeMap, time::Instant};

use clap::{Args, ValueEnum};
use rampart_sigverify::backend::EngineChoice;

use self::report::{Machine, Report};

/// The scenarios, in the order `all` runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// Every scenario below, in turn.
    All,
    /// No attacker: the honest clients send bursts that must arrive whole.
    Burst,
    /// A staked peer floods invalid signatures.
    InvalidStaked,
    /// Invalid signatures over 1,000 unstaked connections from 250 sources.
    InvalidUnstaked,
    /// A staked peer floods copies of a few valid transactions.
    Duplicates,
    /// Genuine QUIC Initials that never complete, 12,000 a second.
    Handshakes,
    /// Connections opened and closed as fast as the client can.
    Churn,
    /// Every allowed stream held open on many connections, a byte a second.
    Slowloris,
    /// Oversize and empty streams.
    Oversize,
    /// A client whose certificate names the staked node's key.
    ForgedIdentity,
}

impl ScenarioName {
    /// Every scenario `all` runs.
    pub const EVERY: [ScenarioName; 9] = [
        ScenarioName::Burst,
        ScenarioName::InvalidStaked,
        ScenarioName::InvalidUnstaked,
        ScenarioName::Duplicates,
        ScenarioName::Handshakes,
        ScenarioName::Churn,
        ScenarioName::Slowloris,
        ScenarioName::Oversize,
        ScenarioName::ForgedIdentity,
    ];

    /// The name on the command line and in the JSON.
    pub fn label(self) -> &'static str {
        match self {
            ScenarioName::All => "all",
            ScenarioName::Burst => "burst",
            ScenarioName::InvalidStaked => "invalid-staked",
            ScenarioName::InvalidUnstaked => "invalid-unstaked",
            ScenarioName::Duplicates => "duplicates",
            ScenarioName::Handshakes => "handshakes",
            ScenarioName::Churn => "churn",
            ScenarioName::Slowloris => "slowloris",
            ScenarioName::Oversize => "oversize",
            ScenarioName::ForgedIdentity => "forged-identity",
        }
    }
}

/// Arguments of `rampart bench attack`.
#[derive(Debug, Args)]
pub struct BenchAttackArgs {
    /// The scenario to run, or all of them.
    #[arg(long, value_enum, default_value = "all")]
    scenario: ScenarioName,
    /// Seconds each attack lasts (the honest clients send for as long);
    /// a drain of a few seconds follows.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The appliance's CPU verify path (auto, ifma512, ifma, avx2, off); `off` with
    /// `--verify-threads 1` is the scalar one-worker case where a local
    /// flood can reach 10x the verify capacity.
    #[arg(long, default_value = "auto")]
    engine: EngineChoice,
    /// The appliance's verify workers (default: every core but one, as in production).
    #[arg(long)]
    verify_threads: Option<usize>,
    /// The honest staked client's rate, transactions per second.
    #[arg(long, default_value_t = 1000)]
    staked_tps: u32,
    /// The honest unstaked client's rate, below the unstaked per-source
    /// budget (400 tx/s).
    #[arg(long, default_value_t = 300)]
    unstaked_tps: u32,
    /// `burst`: transactions the staked client sends at once.
    #[arg(long, default_value_t = 100_000)]
    staked_burst: usize,
    /// `burst`: transactions the unstaked client sends at once.
    #[arg(long, default_value_t = 2_000)]
    unstaked_burst: usize,
}

/// What an attack did, as its own client saw it.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// What it counts: transactions, streams, connections, Initials.
    unit: &'static str,
    /// How many it sent.
    offered: u64,
    /// For how long.
    seconds: f64,
    /// Connections it made.
    connections: u64,
    /// Attack-specific figures.
    notes: BTreeMap<String, f64>,
}

impl Outcome {
    fn new(unit: &'static str, offered: u64, started: Instant) -> Self {
        Outcome {
            unit,
            offered,
            seconds: started.elapsed().as_secs_f64(),
            connections: 0,
            notes: BTreeMap::new(),
        }
    }

    fn connections(mut self, connections: u64) -> Self {
        self.connections = connections;
        self
    }

    fn note(mut self, key: &str, value: f64) -> Self {
        self.notes.insert(key.to_owned(), value);
        self
    }
}

/// Runs `rampart bench attack`.
///
/// # Errors
/// Set-up failures (the appliance does not start, a socket cannot be
/// bound). A missed bar is reported, not an error.
pub fn run(args: &BenchAttackArgs) -> anyhow::Result<()> {
    let chosen: Vec<ScenarioName> = match args.scenario {
        ScenarioName::All => ScenarioName::EVERY.to_vec(),
        one => vec![one],
    };
    let lab = scenario::Lab::new(args)?;
    let mut report = Report {
        machine: Machine::read(),
        engine: args.engine.label().to_owned(),
        engine_resolved: args.engine.resolve().unwrap_or("unsupported").to_owned(),
        verify_threads: lab.verify_threads(),
        seconds: args.seconds,
        staked_tps: args.staked_tps,
        unstaked_tps: args.unstaked_tps,
        scenarios: BTreeMap::new(),
    };
    for name in chosen {
        eprintln!("[bench attack] {} ...", name.label());
        let scenario = lab.run(name)?;
        if !args.json {
            report::print_scenario(name.label(), &scenario);
        }
        report.scenarios.insert(name.label().to_owned(), scenario);
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        report::print_summary(&report);
    }
    Ok(())
}
