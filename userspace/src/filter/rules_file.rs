//! Rules files: TOML an operator edits, checked whole before anything changes.
//!
//! ```toml
//! ports = [8009]                 # protected UDP ports (optional)
//!
//! [global_rate]                  # for sources no [[rate]] entry covers
//! pps = 2000
//! burst = 4000
//! bps = 20_000_000               # optional, bytes per second
//! burst_bytes = 4_000_000
//!
//! [[allow]]
//! cidr = "10.0.0.0/8"
//!
//! [[deny]]
//! cidr = "203.0.113.0/24"
//! ttl = "10m"                    # optional: s, m, h, d
//!
//! [[rate]]
//! cidr = "198.51.100.0/24"
//! pps = 100
//! burst = 200
//! ```
//!
//! Pure: text in, a [`RuleSet`] or the first error with its line number out.

use std::time::Duration;

use rampart_common::maps::RateLimit;
use serde::Deserialize;
use toml::Spanned;

use super::{cidr::Cidr, maps::validate_rate, RuleSet};

/// The first problem found in a rules file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RulesFileError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    ports: Option<Spanned<Vec<u16>>>,
    #[serde(default)]
    global_rate: Option<Spanned<RateFields>>,
    #[serde(default)]
    allow: Vec<CidrEntry>,
    #[serde(default)]
    deny: Vec<DenyFields>,
    #[serde(default)]
    rate: Vec<RateEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CidrEntry {
    cidr: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DenyFields {
    cidr: Spanned<String>,
    #[serde(default)]
    ttl: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RateFields {
    #[serde(default)]
    pps: u64,
    #[serde(default)]
    burst: u64,
    #[serde(default)]
    bps: u64,
    #[serde(default)]
    burst_bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateEntry {
    cidr: Spanned<String>,
    #[serde(default)]
    pps: u64,
    #[serde(default)]
    burst: u64,
    #[serde(default)]
    bps: u64,
    #[serde(default)]
    burst_bytes: u64,
}

impl RateFields {
    fn limit(&self) -> RateLimit {
        RateLimit {
            pps: self.pps,
            burst_packets: self.burst,
            bps: self.bps,
            burst_bytes: self.burst_bytes,
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses and validates a rules file.
///
/// # Errors
/// The first problem, with its line: TOML syntax, unknown keys, a bad CIDR,
/// TTL or rate, blocks that overlap within a list, or too many ports.
pub fn parse(text: &str) -> Result<RuleSet, RulesFileError> {
    let at = |offset: usize, message: String| RulesFileError {
        line: line_of(text, offset),
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        at(offset, e.message().to_owned())
    })?;

    let cidr = |spanned: &Spanned<String>| {
        spanned
            .get_ref()
            .parse::<Cidr>()
            .map_err(|e| at(spanned.span().start, e.to_string()))
    };
    let mut rules = RuleSet::default();

    let mut allow: Vec<(Cidr, usize)> = Vec::new();
    for entry in &file.allow {
        allow.push((cidr(&entry.cidr)?, entry.cidr.span().start));
    }
    let mut deny: Vec<(Cidr, usize)> = Vec::new();
    for entry in &file.deny {
        let block = cidr(&entry.cidr)?;
        let ttl = match &entry.ttl {
            None => None,
            Some(ttl) => Some(parse_ttl(ttl.get_ref()).map_err(|e| at(ttl.span().start, e))?),
        };
        deny.push((block, entry.cidr.span().start));
        rules.deny.push((block, ttl));
    }
    let mut rate: Vec<(Cidr, usize)> = Vec::new();
    for entry in &file.rate {
        let block = cidr(&entry.cidr)?;
        let limit = RateLimit {
            pps: entry.pps,
            burst_packets: entry.burst,
            bps: entry.bps,
            burst_bytes: entry.burst_bytes,
        };
        validate_rate(&limit).map_err(|e| at(entry.cidr.span().start, e.to_string()))?;
        rate.push((block, entry.cidr.span().start));
        rules.rate.push((block, limit));
    }
    for (list, blocks) in [("allow", &allow), ("deny", &deny), ("rate", &rate)] {
        for (i, (block, offset)) in blocks.iter().enumerate() {
            if let Some((earlier, _)) = blocks[..i].iter().find(|(other, _)| other.overlaps(*block))
            {
                return Err(at(
                    *offset,
                    format!("{block} overlaps {earlier} earlier in the {list} list"),
                ));
            }
        }
    }
    rules.allow = allow.into_iter().map(|(block, _)| block).collect();

    if let Some(global) = &file.global_rate {
        let limit = global.get_ref().limit();
        validate_rate(&limit).map_err(|e| at(global.span().start, e.to_string()))?;
        rules.global_rate = limit;
    }
    if let Some(ports) = &file.ports {
        let list = ports.get_ref();
        if list.contains(&0) {
            return Err(at(ports.span().start, "port 0 cannot be protected".into()));
        }
        let max = rampart_common::maps::MAX_PORTS as usize;
        if list.len() > max {
            return Err(at(
                ports.span().start,
                format!("{} ports; at most {max}", list.len()),
            ));
        }
        rules.ports = list.clone();
    }
    Ok(rules)
}

/// Longest TTL: 100 years. The kernel stores a deny entry's expiry as u64
/// monotonic nanoseconds (about 584 years), so a longer TTL would wrap into
/// an expiry already past: the entry would deny nothing. Leave `ttl` out for
/// a permanent entry.
pub const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Parses a duration like `90s`, `10m`, `2h`, `1d` (a bare number is seconds),
/// at most [`MAX_TTL`].
///
/// # Errors
/// A message saying what was expected.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "bad duration {text:?}: expected a number with s, m, h or d"
            ))
        }
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}: expected a number with s, m, h or d"))?;
    if value == 0 {
        return Err("a TTL must be positive".into());
    }
    match value.checked_mul(seconds_per).map(Duration::from_secs) {
        Some(ttl) if ttl <= MAX_TTL => Ok(ttl),
        _ => Err(format!(
            "TTL {text:?} is longer than 100 years; leave ttl out for a permanent entry"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
ports = [8009, 8010]

[global_rate]
pps = 2000
burst = 4000

[[allow]]
cidr = "10.0.0.0/8"

[[deny]]
cidr = "203.0.113.0/24"
ttl = "10m"

[[deny]]
cidr = "2001:db8::/32"

[[rate]]
cidr = "198.51.100.0/24"
pps = 100
burst = 200
"#;

    #[test]
    fn a_good_file_parses_whole() {
        let rules = parse(GOOD).unwrap();
        assert_eq!(rules.ports, vec![8009, 8010]);
        assert_eq!(rules.allow.len(), 1);
        assert_eq!(rules.deny[0].1, Some(Duration::from_secs(600)));
        assert_eq!(rules.deny[1].1, None);
        assert_eq!(rules.rate[0].1.pps, 100);
        assert_eq!(rules.global_rate.burst_packets, 4000);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                GOOD.replace("203.0.113.0/24", "203.0.113.1/24"),
                12,
                "host bits",
            ),
            (
                GOOD.replace("\"10m\"", "\"10 minutes\""),
                13,
                "bad duration",
            ),
            (
                GOOD.replace("pps = 100", "pps = 100\ncolour = 1"),
                21,
                "unknown field",
            ),
            (
                GOOD.replace("2001:db8::/32", "203.0.0.0/16"),
                16,
                "overlaps",
            ),
            (GOOD.replace("burst = 200", "burst = 0"), 19, "burst"),
            (GOOD.replace("[8009, 8010]", "[8009, 0]"), 2, "port 0"),
            (GOOD.replace("[[allow]]", "[[allow]"), 8, ""),
        ];
        for (text, line, needle) in cases {
            let err = parse(&text).unwrap_err();
            assert_eq!(err.line, line, "{err}");
            assert!(err.message.contains(needle), "{err}");
        }
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_ttl("5w").is_err());
        assert!(parse_ttl("0s").is_err());
        assert_eq!(parse_ttl("36500d"), Ok(MAX_TTL));
    }

    /// A TTL past the kernel's u64 nanosecond clock was accepted and then
    /// truncated into an expiry already past (rules_file fuzz target).
    #[test]
    fn ttls_the_kernel_clock_cannot_hold_are_refused() {
        for ttl in ["36501d", "999999999999d", "18446744073709551615"] {
            let err = parse_ttl(ttl).unwrap_err();
            assert!(err.contains("longer than 100 years"), "{ttl}: {err}");
        }
        let text = "[[deny]]\ncidr = \"203.0.113.0/24\"\nttl = \"999999999999d\"\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }
}

#[cfg(test)]
mod example_file {
    #[test]
    fn the_shipped_example_is_valid() {
        let rules = super::parse(include_str!("../../../deploy/rules.example.toml")).unwrap();
        assert_eq!(rules.ports, vec![8009]);
        assert_eq!(rules.deny.len(), 2);
    }
}
