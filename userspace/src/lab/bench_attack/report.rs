//! The report: per scenario what the honest clients got, what the attack
//! offered and where it died, the appliance's memory and CPU, and each bar
//! judged (printed, never a failure: this is a benchmark that reports).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    appliance::Usage,
    honest::Sent,
    scrape::{self, Balance, Scrape, ACCEPTED},
    Outcome, ScenarioName,
};

/// A scenario's honest staked goodput must reach this.
pub(super) const STAKED_BAR: f64 = 0.95;
/// A scenario's honest unstaked goodput must reach this (except in the
/// unstaked floods, which share the unstaked budget with it).
pub(super) const UNSTAKED_BAR: f64 = 0.8;
/// The appliance's memory high-water mark must stay below this.
pub(super) const MEMORY_BAR: u64 = 1 << 30;
/// An unstaked source's transactions per second (`AdmissionLimits`'s
/// default `unstaked_tps_per_ip`), with a one-second burst.
const UNSTAKED_BUDGET: f64 = 400.0;

/// The whole run.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub machine: Machine,
    pub engine: String,
    pub engine_resolved: String,
    pub verify_threads: usize,
    pub seconds: f64,
    pub staked_tps: u32,
    pub unstaked_tps: u32,
    pub scenarios: BTreeMap<String, ScenarioReport>,
}

/// The machine the run was on.
#[derive(Debug, Serialize)]
pub(super) struct Machine {
    pub cpu_model: String,
    pub cores: usize,
}

impl Machine {
    /// From `/proc/cpuinfo`.
    pub(super) fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { cpu_model, cores }
    }
}

/// One scenario's figures (see docs/attack.md for each field).
#[derive(Debug, Serialize)]
pub(super) struct ScenarioReport {
    pub seconds: f64,
    pub honest_staked_offered: u64,
    pub honest_staked_delivered: u64,
    pub honest_staked_goodput: f64,
    pub honest_unstaked_offered: u64,
    pub honest_unstaked_delivered: u64,
    pub honest_unstaked_goodput: f64,
    pub honest_streams_unsent: u64,
    pub honest_duplicates_at_sink: u64,
    pub attack_unit: &'static str,
    pub attack_offered: u64,
    pub attack_offered_per_second: f64,
    pub attack_connections: u64,
    pub attack_accepted: u64,
    pub attack_accepted_means: &'static str,
    pub attack_forwarded: u64,
    pub died: BTreeMap<String, u64>,
    pub halfway: BTreeMap<String, u64>,
    pub memory_high_water_bytes: u64,
    pub appliance_cpu_seconds: f64,
    pub cpu_per_honest_tx_us: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_capacity_tps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_multiple_offered: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_multiple_accepted: Option<f64>,
    pub notes: BTreeMap<String, f64>,
    pub balance: Balance,
    pub panics: u64,
    pub missing_metrics: Vec<String>,
    pub bars: BTreeMap<&'static str, String>,
}

/// What [`ScenarioReport::build`] is made from.
pub(super) struct Inputs<'a> {
    pub name: ScenarioName,
    pub honest_seconds: f64,
    /// (offered, distinct delivered, what the client sent).
    pub staked: (u64, u64, Sent),
    pub unstaked: (u64, u64, Sent),
    pub honest_duplicates: u64,
    pub attack: Outcome,
    pub attack_forwarded: u64,
    pub halfway: &'a Scrape,
    pub scrape: &'a Scrape,
    pub sink_received: u64,
    pub usage: (Usage, Usage),
    pub capacity: Option<f64>,
    pub panics: u64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn verdict(met: bool) -> String {
    if met { "met" } else { "missed" }.to_owned()
}

impl ScenarioReport {
    /// The figures and bars of one scenario.
    pub(super) fn build(i: Inputs<'_>) -> Self {
        let (died, missing_metrics) = scrape::died(i.scrape);
        let balance = scrape::balance(i.scrape, i.sink_received);
        let honest_delivered = i.staked.1 + i.unstaked.1;
        let (accepted, means) = match i.name {
            ScenarioName::All | ScenarioName::Burst => (0, "no attack"),
            ScenarioName::Handshakes => (
                died["handshake_failed"]
                    + i.scrape
                        .sum("rampart_ingress_handshake_in_flight")
                        .unwrap_or(0),
                "Initials that started a handshake (failed or still in flight)",
            ),
            ScenarioName::Churn => (
                i.scrape.sum(ACCEPTED).unwrap_or(0).saturating_sub(2),
                "connections admitted, the two honest ones aside",
            ),
            _ => (
                balance.entered.saturating_sub(honest_delivered),
                "streams the ingress read, less the honest transactions delivered",
            ),
        };
        let cpu_seconds = i.usage.1.cpu_seconds - i.usage.0.cpu_seconds;
        let offered_rate = i.attack.offered as f64 / i.attack.seconds.max(1e-3);
        let staked_goodput = ratio(i.staked.1, i.staked.0);
        let unstaked_goodput = ratio(i.unstaked.1, i.unstaked.0);
        let mut bars = BTreeMap::new();
        bars.insert(
            "honest_staked_goodput",
            verdict(staked_goodput >= STAKED_BAR),
        );
        let shares_budget = matches!(
            i.name,
            ScenarioName::InvalidUnstaked | ScenarioName::Handshakes
        );
        bars.insert(
            "honest_unstaked_goodput",
            if shares_budget {
                format!("exempt (shares the unstaked budget): {unstaked_goodput:.3}")
            } else {
                verdict(unstaked_goodput >= UNSTAKED_BAR)
            },
        );
        bars.insert(
            "memory_high_water_bytes",
            verdict(i.usage.1.memory_high_water_bytes < MEMORY_BAR),
        );
        bars.insert("no_panic", verdict(i.panics == 0));
        if i.name == ScenarioName::Burst {
            bars.insert(
                "bursts_arrive_whole",
                verdict(honest_delivered == i.staked.0 + i.unstaked.0),
            );
        }
        let mut notes = i.attack.notes.clone();
        if i.name == ScenarioName::ForgedIdentity {
            // As unstaked, the forger gets its source's budget: a second's
            // burst, the rate for the run, and the streams it had open.
            let allowed = UNSTAKED_BUDGET * (i.attack.seconds + 1.0) + 128.0;
            notes.insert("forger_forwarded".into(), i.attack_forwarded as f64);
            notes.insert("forger_allowed_as_unstaked".into(), allowed);
            notes.insert(
                "forger_forwarded_per_second".into(),
                i.attack_forwarded as f64 / i.attack.seconds.max(1e-3),
            );
            bars.insert(
                "forger_treated_as_unstaked",
                verdict(
                    (i.attack_forwarded as f64) <= allowed
                        && i.attack.offered as f64 > 1.5 * allowed,
                ),
            );
        }
        ScenarioReport {
            seconds: i.honest_seconds,
            honest_staked_offered: i.staked.0,
            honest_staked_delivered: i.staked.1,
            honest_staked_goodput: staked_goodput,
            honest_unstaked_offered: i.unstaked.0,
            honest_unstaked_delivered: i.unstaked.1,
            honest_unstaked_goodput: unstaked_goodput,
            honest_streams_unsent: (i.staked.0 + i.unstaked.0)
                .saturating_sub(i.staked.2.streams + i.unstaked.2.streams),
            honest_duplicates_at_sink: i.honest_duplicates,
            attack_unit: i.attack.unit,
            attack_offered: i.attack.offered,
            attack_offered_per_second: offered_rate,
            attack_connections: i.attack.connections,
            attack_accepted: accepted,
            attack_accepted_means: means,
            attack_forwarded: i.attack_forwarded,
            halfway: scrape::gauges(i.halfway),
            memory_high_water_bytes: i.usage.1.memory_high_water_bytes,
            appliance_cpu_seconds: cpu_seconds,
            cpu_per_honest_tx_us: cpu_seconds * 1e6 / honest_delivered.max(1) as f64,
            verify_capacity_tps: i.capacity,
            capacity_multiple_offered: i.capacity.map(|c| offered_rate / c.max(1.0)),
            capacity_multiple_accepted: i
                .capacity
                .map(|c| accepted as f64 / i.attack.seconds.max(1e-3) / c.max(1.0)),
            notes,
            died,
            balance,
            panics: i.panics,
            missing_metrics,
            bars,
        }
    }
}

/// Prints one scenario as it finishes.
pub(super) fn print_scenario(name: &str, s: &ScenarioReport) {
    println!("== {name} ({:.1} s)", s.seconds);
    println!(
        "  honest staked    {:>7} of {:>7} delivered  goodput {:.3}",
        s.honest_staked_delivered, s.honest_staked_offered, s.honest_staked_goodput
    );
    println!(
        "  honest unstaked  {:>7} of {:>7} delivered  goodput {:.3}",
        s.honest_unstaked_delivered, s.honest_unstaked_offered, s.honest_unstaked_goodput
    );
    if s.attack_unit != "none" {
        println!(
            "  attack           {} {} offered ({:.0}/s, {} connections), {} accepted, {} forwarded",
            s.attack_offered,
            s.attack_unit,
            s.attack_offered_per_second,
            s.attack_connections,
            s.attack_accepted,
            s.attack_forwarded
        );
        println!("                   accepted = {}", s.attack_accepted_means);
    }
    if let (Some(capacity), Some(offered), Some(accepted)) = (
        s.verify_capacity_tps,
        s.capacity_multiple_offered,
        s.capacity_multiple_accepted,
    ) {
        println!(
            "  verify capacity  {capacity:.0} tx/s: flood offered {offered:.1}x, entered {accepted:.1}x"
        );
    }
    let died: Vec<String> = s
        .died
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("  died             {}", died.join(", "));
    println!(
        "  appliance        memory high water {:.1} MiB, CPU {:.2} s, {:.1} us per honest tx",
        s.memory_high_water_bytes as f64 / (1 << 20) as f64,
        s.appliance_cpu_seconds,
        s.cpu_per_honest_tx_us
    );
    if !s.notes.is_empty() {
        let notes: Vec<String> = s.notes.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
        println!("  notes            {}", notes.join(", "));
    }
    let b = &s.balance;
    println!(
        "  balance          entered {} = terminal {}; forwarded {} = sink {}: {}{}",
        b.entered,
        b.terminal,
        b.forwarded,
        b.sink_received,
        if b.balanced {
            "balanced"
        } else {
            "NOT balanced"
        },
        if b.in_flight.is_empty() {
            String::new()
        } else {
            format!(" (queue gauges not at zero: {:?})", b.in_flight)
        }
    );
    println!(
        "  honest streams   {} never opened (no credit before the hard stop), {} duplicated at the sink",
        s.honest_streams_unsent, s.honest_duplicates_at_sink
    );
    let bars: Vec<String> = s.bars.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!("  bars             {}", bars.join("; "));
}

/// Prints the table of every scenario.
pub(super) fn print_summary(report: &Report) {
    println!(
        "\nrampart bench attack: {} ({} cores), engine {} ({}), {} verify worker(s), {} s per attack",
        report.machine.cpu_model,
        report.machine.cores,
        report.engine,
        report.engine_resolved,
        report.verify_threads,
        report.seconds
    );
    println!(
        "{:<17} {:>8} {:>8} {:>12} {:>10} {:>9} {:>8} {:>9}  bars",
        "scenario", "staked", "unstaked", "attack/s", "accepted", "fwd", "MiB", "us/tx"
    );
    for (name, s) in &report.scenarios {
        let missed: Vec<&str> = s
            .bars
            .iter()
            .filter(|(_, v)| v.as_str() == "missed")
            .map(|(k, _)| *k)
            .collect();
        println!(
            "{:<17} {:>8.3} {:>8.3} {:>12.0} {:>10} {:>9} {:>8.1} {:>9.1}  {}",
            name,
            s.honest_staked_goodput,
            s.honest_unstaked_goodput,
            s.attack_offered_per_second,
            s.attack_accepted,
            s.attack_forwarded,
            s.memory_high_water_bytes as f64 / (1 << 20) as f64,
            s.cpu_per_honest_tx_us,
            if missed.is_empty() {
                "all met".to_owned()
            } else {
                format!("missed: {}", missed.join(", "))
            }
        );
    }
}
