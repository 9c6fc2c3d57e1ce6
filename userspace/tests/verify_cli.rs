//! `rampart verify` end to end: the real binary on the speccheck vectors (in both
//! accepted input shapes) and on malformed lines.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use rampart_sigverify::{ed25519, Rule, SignatureInput};

const VECTORS: &str = include_str!("../../sigverify/tests/vectors/ed25519-speccheck-cases.json");

fn run(args: &[&str], stdin: &str) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rampart starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("rampart finishes");
    assert!(output.status.success(), "rampart {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("utf-8 output")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn expected(rule: Rule, rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let field = |name: &str| hex::decode(row[name].as_str().unwrap()).unwrap();
            let pubkey: [u8; 32] = field("pub_key").try_into().unwrap();
            let signature: [u8; 64] = field("signature").try_into().unwrap();
            let message = field("message");
            let input = SignatureInput {
                pubkey: &pubkey,
                signature: &signature,
                message: &message,
            };
            match ed25519::verify(rule, &input) {
                Ok(()) => "ok".to_owned(),
                Err(reason) => format!("fail\t{reason}"),
            }
        })
        .collect()
}

#[test]
fn speccheck_vectors_as_array_and_as_json_lines() {
    let rows: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
    let lines: String = rows.iter().map(|row| format!("{row}\n")).collect();
    for rule in Rule::ALL {
        let want = expected(rule, &rows);
        assert_eq!(
            run(&["verify", "--rule", rule.label()], VECTORS),
            want,
            "{rule} array"
        );
        assert_eq!(
            run(&["verify", "--rule", rule.label(), "-"], &lines),
            want,
            "{rule} lines"
        );
    }
    // Agave's rule accepts exactly case 3.
    let strict = run(&["verify", "--rule", "strict"], VECTORS);
    let accepted: Vec<usize> = (0..strict.len()).filter(|&i| strict[i] == "ok").collect();
    assert_eq!(accepted, vec![3]);
}

#[test]
fn malformed_lines_are_reported_in_place_and_do_not_stop_the_run() {
    let rows: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
    let good = rows[3].to_string();
    let input = format!("{good}\nnot json\n\n{{\"pubkey\":\"00\"}}\n{good}\n");
    let out = run(&["verify", "--rule", "strict"], &input);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0], "ok");
    assert!(out[1].starts_with("error\tnot JSON"), "{}", out[1]);
    assert!(out[2].starts_with("error\tmissing field"), "{}", out[2]);
    assert_eq!(out[3], "ok");
}

#[test]
fn unknown_rule_is_a_clear_error() {
    let status = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["verify", "--rule", "lenient"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("unknown rule"));
}

/// `--backend fpga-sim` (feature `fpga-sim`, on by default) verifies on the
/// simulated card and prints the CPU backend's lines under every rule, for the
/// speccheck vectors as an array and as JSON lines. The backend prints `ok`
/// only when the hardware passes a signature, and for one the hardware rejects
/// but the CPU would accept it prints a reason of its own, so equal lines mean
/// the hardware's pass/fail equals the CPU's on every case (every message here
/// fits the card, so none is handed to the CPU).
#[cfg(feature = "fpga-sim")]
#[test]
fn fpga_sim_backend_gives_the_cpu_verdicts() {
    let rows: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
    assert!(rows
        .iter()
        .all(|row| row["message"].as_str().unwrap().len() / 2 <= 4096));
    let lines: String = rows.iter().map(|row| format!("{row}\n")).collect();
    for rule in Rule::ALL {
        let rule = rule.label();
        let cpu = run(&["verify", "--rule", rule, "--backend", "cpu"], VECTORS);
        assert_eq!(cpu.len(), rows.len(), "{rule}");
        let fpga = run(
            &["verify", "--rule", rule, "--backend", "fpga-sim"],
            VECTORS,
        );
        assert_eq!(fpga, cpu, "{rule} array");
        let fpga = run(
            &["verify", "--rule", rule, "--backend", "fpga-sim", "-"],
            &lines,
        );
        assert_eq!(fpga, cpu, "{rule} lines");
        assert!(
            fpga.iter().any(|line| line == "ok"),
            "{rule}: nothing passed"
        );
        assert!(
            fpga.iter().any(|line| line.starts_with("fail\t")),
            "{rule}: nothing failed"
        );
    }
    // Agave's rule accepts exactly case 3 on the card too.
    let strict = run(
        &["verify", "--rule", "strict", "--backend", "fpga-sim"],
        VECTORS,
    );
    let accepted: Vec<usize> = (0..strict.len()).filter(|&i| strict[i] == "ok").collect();
    assert_eq!(accepted, vec![3]);
}

/// A backend no build knows is a clear error that names the ones there are.
#[test]
fn unknown_backend_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["verify", "--backend", "fpga"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown backend \"fpga\"")
            && stderr.contains("cpu")
            && stderr.contains("fpga-sim"),
        "{stderr}"
    );
}

/// Without the feature, choosing the simulated card is a clear error.
#[cfg(not(feature = "fpga-sim"))]
#[test]
fn unbuilt_fpga_sim_backend_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["verify", "--backend", "fpga-sim"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fpga-sim is not part of this build") && stderr.contains("--backend cpu"),
        "{stderr}"
    );
}
