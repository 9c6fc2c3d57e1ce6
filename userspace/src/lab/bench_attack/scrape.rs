//! The appliance's `/metrics` as the benchmark reads it: Prometheus text
//! parsed into samples, then where the transactions and connections ended
//! (`died`) and whether every stream that entered ended in one counter
//! (`balance`). Counters the appliance does not export (yet) read as 0 and
//! are listed as missing, so the report's shape does not depend on them.

use std::collections::BTreeMap;

use serde::Serialize;

/// One scrape of `/metrics`.
#[derive(Debug, Clone, Default)]
pub(super) struct Scrape {
    /// (name, labels as written, value).
    samples: Vec<(String, String, f64)>,
}

impl Scrape {
    /// Parses Prometheus text; lines that are not samples are skipped.
    pub(super) fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                let value: f64 = value.trim().parse().ok()?;
                let (name, labels) = match key.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (key, ""),
                };
                Some((name.to_owned(), labels.to_owned(), value))
            })
            .collect();
        Scrape { samples }
    }

    /// The sum of every sample of `name` (all label values), if exported.
    pub(super) fn sum(&self, name: &str) -> Option<u64> {
        let mut found = None;
        for (n, _, v) in &self.samples {
            if n == name {
                *found.get_or_insert(0.0) += v;
            }
        }
        found.map(|v: f64| v.max(0.0) as u64)
    }

    /// The sample of `name` whose labels contain `label="value"`.
    pub(super) fn labeled(&self, name: &str, label: &str, value: &str) -> Option<u64> {
        let needle = format!("{label}=\"{value}\"");
        self.samples
            .iter()
            .find(|(n, labels, _)| n == name && labels.contains(&needle))
            .map(|(_, _, v)| v.max(0.0) as u64)
    }
}

/// One row of [`DIED`]: JSON key, metric, the label to pick (none: the sum
/// over labels), and whether it is a transaction's terminal counter.
type DiedRow = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    bool,
);

/// Where the attack (and anything else) died. Terminal counters of a
/// transaction are marked so the balance can add them.
const DIED: &[DiedRow] = &[
    (
        "handshake_refused_in_flight",
        "rampart_ingress_handshake_refused_total",
        Some(("reason", "handshakes_in_flight")),
        false,
    ),
    (
        "handshake_refused_source_rate",
        "rampart_ingress_handshake_refused_total",
        Some(("reason", "source_rate")),
        false,
    ),
    (
        "handshake_refused_global_rate",
        "rampart_ingress_handshake_refused_total",
        Some(("reason", "global_rate")),
        false,
    ),
    (
        "handshake_retried",
        "rampart_ingress_handshake_retried_total",
        None,
        false,
    ),
    (
        "handshake_failed",
        "rampart_ingress_handshake_failed_total",
        None,
        false,
    ),
    (
        "admission_refused_new_connection_rate",
        "rampart_ingress_connection_refused_total",
        Some(("reason", "new_connection_rate")),
        false,
    ),
    (
        "admission_refused_peer_connections",
        "rampart_ingress_connection_refused_total",
        Some(("reason", "peer_connections")),
        false,
    ),
    (
        "admission_refused_table_full",
        "rampart_ingress_connection_refused_total",
        Some(("reason", "table_full")),
        false,
    ),
    (
        "connection_evicted",
        "rampart_ingress_connection_evicted_total",
        None,
        false,
    ),
    (
        "socket_dropped",
        "rampart_ingress_socket_datagram_dropped_total",
        None,
        false,
    ),
    (
        "budget_waits",
        "rampart_ingress_stream_budget_wait_total",
        None,
        false,
    ),
    (
        "queue_waits",
        "rampart_ingress_stream_queue_wait_total",
        None,
        false,
    ),
    ("empty", "rampart_ingress_stream_empty_total", None, true),
    (
        "oversize",
        "rampart_ingress_stream_oversize_total",
        None,
        true,
    ),
    (
        "unfinished",
        "rampart_ingress_stream_unfinished_total",
        None,
        true,
    ),
    ("reset", "rampart_ingress_stream_reset_total", None, true),
    (
        "queue_shed",
        "rampart_ingress_transaction_shed_total",
        None,
        true,
    ),
    (
        "shed_heaviest",
        "rampart_queue_transaction_shed_heaviest_total",
        None,
        true,
    ),
    (
        "malformed",
        "rampart_parse_transaction_malformed_total",
        None,
        true,
    ),
    (
        "duplicate",
        "rampart_dedup_transaction_duplicate_total",
        None,
        true,
    ),
    (
        "verify_shed",
        "rampart_verify_transaction_shed_total",
        None,
        true,
    ),
    (
        "bad_signature",
        "rampart_verify_transaction_bad_signature_total",
        None,
        true,
    ),
    (
        "unverified",
        "rampart_verify_transaction_unverified_total",
        None,
        true,
    ),
    (
        "forward_shed",
        "rampart_forward_transaction_shed_total",
        None,
        true,
    ),
    (
        "forward_failed",
        "rampart_forward_transaction_failed_total",
        None,
        true,
    ),
    (
        "forward_expired",
        "rampart_forward_transaction_expired_total",
        None,
        true,
    ),
    (
        "forward_evicted",
        "rampart_forward_transaction_evicted_total",
        None,
        true,
    ),
];

/// Streams that entered.
pub(super) const ENTERED: &str = "rampart_ingress_stream_entered_total";
/// Transactions delivered to the validator.
pub(super) const FORWARDED: &str = "rampart_forward_transaction_forwarded_total";
/// Connections admitted.
pub(super) const ACCEPTED: &str = "rampart_ingress_connection_accepted_total";

/// Gauges worth reading while the attack runs.
const GAUGES: &[(&str, &str)] = &[
    ("connection_open", "rampart_ingress_connection_open"),
    ("handshake_in_flight", "rampart_ingress_handshake_in_flight"),
    ("peer_budgets", "rampart_ingress_peer_budgets"),
    ("ingress_queue_depth", "rampart_ingress_queue_depth"),
    ("queue_sources", "rampart_ingress_queue_sources"),
    ("forward_backlog_depth", "rampart_forward_backlog_depth"),
];

/// Gauges that hold transactions between stages.
const IN_FLIGHT: &[&str] = &[
    "rampart_ingress_queue_depth",
    "rampart_forward_queue_depth",
    "rampart_forward_backlog_depth",
];

/// Whether every stream that entered ended in exactly one counter.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Balance {
    /// `rampart_ingress_stream_entered_total`.
    pub entered: u64,
    /// The sum of the terminal counters, `forwarded` included.
    pub terminal: u64,
    /// Queue gauges that were not zero when scraped (with entered equal to
    /// terminal nothing is in flight, so any listed here is stale).
    pub in_flight: BTreeMap<String, u64>,
    /// `rampart_forward_transaction_forwarded_total`.
    pub forwarded: u64,
    /// What the sink (the validator) received.
    pub sink_received: u64,
    /// entered == terminal and forwarded == sink_received.
    pub balanced: bool,
}

/// Counts per stage of everything that died, and the metrics this
/// appliance does not export.
pub(super) fn died(scrape: &Scrape) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut died = BTreeMap::new();
    let mut missing = Vec::new();
    for (key, metric, label, _) in DIED {
        let value = match label {
            Some((label, value)) => scrape.labeled(metric, label, value),
            None => scrape.sum(metric),
        };
        if value.is_none() {
            missing.push((*key).to_owned());
        }
        died.insert((*key).to_owned(), value.unwrap_or(0));
    }
    (died, missing)
}

/// The gauges of [`GAUGES`] as read now.
pub(super) fn gauges(scrape: &Scrape) -> BTreeMap<String, u64> {
    GAUGES
        .iter()
        .filter_map(|(key, metric)| Some(((*key).to_owned(), scrape.sum(metric)?)))
        .collect()
}

/// The balance of `scrape` against what the sink received.
pub(super) fn balance(scrape: &Scrape, sink_received: u64) -> Balance {
    let terminal = DIED
        .iter()
        .filter(|(_, _, _, terminal)| *terminal)
        .map(|(_, metric, _, _)| scrape.sum(metric).unwrap_or(0))
        .sum::<u64>()
        + scrape.sum(FORWARDED).unwrap_or(0);
    let in_flight = IN_FLIGHT
        .iter()
        .filter_map(|m| Some(((*m).to_owned(), scrape.sum(m)?)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let entered = scrape.sum(ENTERED).unwrap_or(0);
    let forwarded = scrape.sum(FORWARDED).unwrap_or(0);
    Balance {
        entered,
        terminal,
        in_flight,
        forwarded,
        sink_received,
        balanced: entered == terminal && forwarded == sink_received,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sum_over_labels_and_missing_counters_are_named() {
        let scrape = Scrape::parse(
            "# HELP x\nrampart_ingress_stream_entered_total 5\n\
             rampart_parse_transaction_malformed_total{reason=\"truncated\"} 2\n\
             rampart_parse_transaction_malformed_total{reason=\"too_large\"} 1\n\
             rampart_forward_transaction_forwarded_total 2\n",
        );
        assert_eq!(scrape.sum(ENTERED), Some(5));
        let (died, missing) = died(&scrape);
        assert_eq!(died["malformed"], 3);
        assert!(missing.contains(&"shed_heaviest".to_owned()));
        let balance = balance(&scrape, 2);
        assert_eq!((balance.entered, balance.terminal), (5, 5));
        assert!(balance.balanced);
    }
}
