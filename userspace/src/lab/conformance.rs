//! `rampart verify`: verdicts for signatures given as JSON lines, so an operator
//! can check a rule against any published vector set.
//!
//! Input: one JSON object per line with hex fields `pubkey` (or `pub_key`),
//! `signature` and `message`; other fields are ignored. Output: one line per input
//! line, in order: `ok`, `fail<TAB>reason`, or `error<TAB>reason` for a line that
//! is not a valid case (it does not stop the run). Blank lines are skipped. A
//! document that is one JSON array of such objects (as published vector sets
//! often are) is accepted too, with one output line per element.

use std::io::{self, BufRead, Write};

use anyhow::Context;
use rampart_sigverify::{backend::Backend, Rule, SigVerdict, SignatureInput};

/// Signatures handed to the backend at once.
pub const BATCH: usize = 256;

/// One parsed input line.
#[derive(Debug)]
enum Line {
    Case {
        pubkey: [u8; 32],
        signature: [u8; 64],
        message: Vec<u8>,
    },
    Invalid(String),
}

/// Verifies every case of `reader` under `rule` with `backend`, writing one
/// verdict line per case to `out`.
///
/// # Errors
/// When the input cannot be read or the output cannot be written.
pub fn run(
    backend: &mut dyn Backend,
    rule: Rule,
    mut reader: impl BufRead,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut pending = Vec::with_capacity(BATCH);
    if starts_with_array(&mut reader).context("cannot read input")? {
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .context("cannot read input")?;
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&text).context("input starts with '[' but is not a JSON array")?;
        for row in &rows {
            pending.push(parse_value(row));
            if pending.len() == BATCH {
                flush(backend, rule, &mut pending, out)?;
            }
        }
    } else {
        for line in reader.lines() {
            let line = line.context("cannot read input")?;
            if line.trim().is_empty() {
                continue;
            }
            pending.push(parse_line(&line));
            if pending.len() == BATCH {
                flush(backend, rule, &mut pending, out)?;
            }
        }
    }
    flush(backend, rule, &mut pending, out)?;
    out.flush().context("cannot write output")?;
    Ok(())
}

fn flush(
    backend: &mut dyn Backend,
    rule: Rule,
    pending: &mut Vec<Line>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let inputs: Vec<SignatureInput<'_>> = pending
        .iter()
        .filter_map(|line| match line {
            Line::Case {
                pubkey,
                signature,
                message,
            } => Some(SignatureInput {
                pubkey,
                signature,
                message,
            }),
            Line::Invalid(_) => None,
        })
        .collect();
    let mut verdicts: Vec<SigVerdict> = vec![Ok(()); inputs.len()];
    backend.verify_signatures(rule, &inputs, &mut verdicts);
    let mut verdicts = verdicts.into_iter();
    for line in pending.drain(..) {
        let written = match line {
            Line::Invalid(reason) => writeln!(out, "error\t{reason}"),
            Line::Case { .. } => match verdicts.next() {
                Some(Ok(())) => writeln!(out, "ok"),
                Some(Err(reason)) => writeln!(out, "fail\t{reason}"),
                None => writeln!(out, "error\tbackend returned too few verdicts"),
            },
        };
        written.context("cannot write output")?;
    }
    Ok(())
}

/// Whether the first non-blank byte of the input is `[`, without consuming it.
fn starts_with_array(reader: &mut impl BufRead) -> io::Result<bool> {
    loop {
        let buffer = reader.fill_buf()?;
        let Some(&first) = buffer.first() else {
            return Ok(false);
        };
        if first.is_ascii_whitespace() {
            reader.consume(1);
            continue;
        }
        return Ok(first == b'[');
    }
}

fn parse_line(line: &str) -> Line {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(value) => parse_value(&value),
        Err(e) => Line::Invalid(format!("not JSON: {e}")),
    }
}

fn parse_value(value: &serde_json::Value) -> Line {
    parse_case(value).unwrap_or_else(Line::Invalid)
}

fn parse_case(value: &serde_json::Value) -> Result<Line, String> {
    let object = value.as_object().ok_or("not a JSON object")?;
    let field = |names: &[&str]| -> Result<Vec<u8>, String> {
        let (name, text) = names
            .iter()
            .find_map(|name| object.get(*name).map(|v| (*name, v)))
            .ok_or_else(|| format!("missing field {:?}", names[0]))?;
        let text = text
            .as_str()
            .ok_or_else(|| format!("field {name:?} is not a string"))?;
        hex::decode(text).map_err(|e| format!("field {name:?} is not hex: {e}"))
    };
    let pubkey = field(&["pubkey", "pub_key"])?;
    let signature = field(&["signature"])?;
    let message = field(&["message", "msg"])?;
    let pubkey: [u8; 32] = pubkey
        .try_into()
        .map_err(|v: Vec<u8>| format!("pubkey is {} bytes, expected 32", v.len()))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|v: Vec<u8>| format!("signature is {} bytes, expected 64", v.len()))?;
    Ok(Line::Case {
        pubkey,
        signature,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_get_a_reason() {
        for (line, reason) in [
            ("{", "not JSON"),
            ("[]", "not a JSON object"),
            (
                r#"{"signature":"00","message":""}"#,
                "missing field \"pubkey\"",
            ),
            (
                r#"{"pubkey":"zz","signature":"00","message":""}"#,
                "not hex",
            ),
            (
                r#"{"pubkey":"00","signature":"00","message":""}"#,
                "pubkey is 1 bytes",
            ),
        ] {
            match parse_line(line) {
                Line::Invalid(got) => assert!(got.contains(reason), "{line}: {got}"),
                Line::Case { .. } => panic!("{line} parsed"),
            }
        }
    }
}
