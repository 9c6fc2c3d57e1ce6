//! `rules_file`: the filter rules file parser
//! (`rampart::filter::rules_file::parse`) on arbitrary text.
//!
//! - Never panics, on any UTF-8 text (the file is read as a string).
//! - A rejected file names a line inside the file.
//! - An accepted rule set is one the loader can apply as it stands: no
//!   overlapping blocks within a list, every rate limit valid, at most
//!   `MAX_PORTS` ports and no port 0, and every deny TTL representable as the
//!   kernel's expiry (monotonic nanoseconds, u64) for a machine up a century.
//! - `rampart rules list` can print it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::filter::{maps::validate_rate, rules_file, Cidr};
use rampart_common::maps::MAX_PORTS;

/// A century of uptime, in nanoseconds: the clock the expiry is added to.
const CENTURY_NS: u128 = 100 * 365 * 24 * 3600 * 1_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match rules_file::parse(text) {
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(&error.line),
                "line {} of a {lines}-line file: {error}",
                error.line
            );
        }
        Ok(rules) => {
            let deny: Vec<Cidr> = rules.deny.iter().map(|(block, _)| *block).collect();
            let rate: Vec<Cidr> = rules.rate.iter().map(|(block, _)| *block).collect();
            for list in [&rules.allow, &deny, &rate] {
                for (i, block) in list.iter().enumerate() {
                    assert!(
                        !list[..i].iter().any(|other| other.overlaps(*block)),
                        "{block} overlaps an earlier block"
                    );
                }
            }
            for (_, limit) in &rules.rate {
                assert!(validate_rate(limit).is_ok());
            }
            assert!(validate_rate(&rules.global_rate).is_ok());
            assert!(rules.ports.len() <= MAX_PORTS as usize && !rules.ports.contains(&0));
            for (block, ttl) in &rules.deny {
                if let Some(ttl) = ttl {
                    assert!(!ttl.is_zero(), "{block}: zero TTL");
                    assert!(
                        ttl.as_nanos() + CENTURY_NS <= u128::from(u64::MAX),
                        "{block}: TTL {ttl:?} overflows the kernel's expiry clock"
                    );
                }
            }
            let _ = rules.to_string();
        }
    }
});
