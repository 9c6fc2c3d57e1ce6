//! `rampart bench attack` end to end, through the built binary: honest
//! bursts arrive whole (a correctness bar: nothing lost, however slowly it
//! arrives), and an attack scenario's report has its shape and balances
//! (every stream that entered ended in one counter, the sink got what was
//! forwarded). No speed is asserted: the machine may be small and loaded.

use std::{
    io::Read,
    process::{Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;

/// One benchmark at a time: two appliances and their loads at once on a
/// small machine would only measure each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `rampart bench attack ARGS --json` and parses its report, killing
/// it past `limit`.
fn bench_attack(args: &[&str], limit: Duration) -> Value {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["bench", "attack", "--json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning rampart bench attack");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rampart bench attack {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(status.success(), "{status}:\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {value}"))
}

/// Every stream that entered ended in one counter, and the sink holds
/// exactly what the appliance forwarded.
fn assert_balanced(scenario: &Value) {
    let balance = &scenario["balance"];
    assert_eq!(
        number(balance, "entered"),
        number(balance, "terminal"),
        "{balance}"
    );
    assert_eq!(
        number(balance, "forwarded"),
        number(balance, "sink_received"),
        "{balance}"
    );
    assert_eq!(balance["balanced"], Value::Bool(true), "{balance}");
}

#[test]
fn honest_bursts_arrive_whole() {
    let report = bench_attack(&["--scenario", "burst"], Duration::from_secs(50));
    let burst = &report["scenarios"]["burst"];
    assert_eq!(number(burst, "honest_staked_offered"), 100_000.0);
    assert_eq!(number(burst, "honest_unstaked_offered"), 2_000.0);
    assert_eq!(
        number(burst, "honest_staked_goodput"),
        1.0,
        "the staked burst lost transactions: {}",
        burst["died"]
    );
    assert_eq!(
        number(burst, "honest_unstaked_goodput"),
        1.0,
        "the unstaked burst lost transactions: {}",
        burst["died"]
    );
    assert_eq!(number(burst, "honest_duplicates_at_sink"), 0.0);
    assert_balanced(burst);
}

#[test]
fn an_attack_report_has_its_shape_and_balances() {
    let report = bench_attack(
        &["--scenario", "forged-identity", "--seconds", "2"],
        Duration::from_secs(40),
    );
    assert!(report["machine"]["cpu_model"].is_string());
    assert!(number(&report["machine"], "cores") >= 1.0);
    assert_eq!(report["engine"], "auto");
    let forged = &report["scenarios"]["forged-identity"];
    for key in [
        "honest_staked_goodput",
        "honest_unstaked_goodput",
        "attack_offered",
        "attack_accepted",
        "attack_forwarded",
        "memory_high_water_bytes",
        "cpu_per_honest_tx_us",
    ] {
        let value = number(forged, key);
        assert!(value >= 0.0, "{key} = {value}");
    }
    for key in [
        "handshake_refused_in_flight",
        "handshake_retried",
        "admission_refused_table_full",
        "budget_waits",
        "queue_shed",
        "malformed",
        "duplicate",
        "bad_signature",
        "oversize",
        "empty",
        "unfinished",
    ] {
        assert!(
            forged["died"][key].is_u64(),
            "died.{key} in {}",
            forged["died"]
        );
    }
    assert!(number(forged, "memory_high_water_bytes") > 0.0);
    assert_eq!(number(forged, "panics"), 0.0);
    // The forger proved its own key: it got an unstaked source's budget,
    // not the staked node's.
    assert_eq!(
        forged["bars"]["forger_treated_as_unstaked"], "met",
        "{}",
        forged["notes"]
    );
    assert_balanced(forged);
}
