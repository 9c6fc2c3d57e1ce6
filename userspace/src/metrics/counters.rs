//! The appliance's counters: every transaction that enters ends in exactly one
//! terminal counter, and the totals must add up.
//!
//! Stages add to these atomics (relaxed; each counter has one writer stage);
//! the metrics endpoint and tests read them.

use std::sync::atomic::{AtomicU64, Ordering};

use rampart_sigverify::txn::ParseError;

/// One counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Takes `n` from a gauge, stopping at zero.
    pub fn sub(&self, n: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// Sets a gauge.
    pub fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// Every counter of the ingress and pipeline.
#[derive(Debug, Default)]
pub struct Counters {
    // Entry.
    /// Streams that delivered a transaction or were rejected as one: the sum
    /// of the terminal counters below once the pipeline is idle.
    pub entered: Counter,

    // Terminal: ingress.
    /// Stream empty (closed with nothing in it).
    pub empty: Counter,
    /// Stream longer than the largest transaction.
    pub oversize: Counter,
    /// Stream not finished within the chunk timeout.
    pub unfinished: Counter,
    /// Over the connection's transaction rate.
    pub rate_limited: Counter,
    /// The pipeline's input queue was full.
    pub shed_ingress: Counter,
    // Terminal: parse, dedup, verify.
    /// Not a well-formed transaction, per [`ParseError::LABELS`] entry.
    pub malformed: [Counter; ParseError::LABELS.len()],
    /// Already seen (first signature) within the dedup window.
    pub duplicate: Counter,
    /// The verify queue was full.
    pub shed_verify: Counter,
    /// A signature did not verify.
    pub bad_signature: Counter,
    // Terminal: forward.
    /// The forward queue was full.
    pub shed_forward: Counter,
    /// The forwarder could not deliver it (connection failed).
    pub forward_failed: Counter,
    /// Delivered to the validator.
    pub forwarded: Counter,

    // Not per transaction.
    /// Connections admitted.
    pub connections_accepted: Counter,
    /// Connections refused, by reason: rate, per-peer, table full.
    pub connections_refused: [Counter; 3],
    /// Connections closed to make room for a newcomer (full table).
    pub connections_evicted: Counter,
    /// Handshakes that failed.
    pub handshakes_failed: Counter,
    /// Live connections (gauge).
    pub connections_open: Counter,
    /// Forwarder connections made.
    pub forward_connects: Counter,
    /// Batches handed to verify workers.
    pub batches: Counter,
    /// Ingress queue depth (gauge).
    pub ingress_queue_depth: Counter,
    /// Forward queue depth (gauge).
    pub forward_queue_depth: Counter,
    /// Transactions being verified whose identical copies are dropped as
    /// duplicates on arrival (gauge).
    pub dedup_in_flight: Counter,
    /// Stream complete → verdict (batch stage and verify), p50 microseconds.
    pub verify_latency_p50_us: Counter,
    /// p99 of the same.
    pub verify_latency_p99_us: Counter,
    /// Added latency, stream complete → forwarded, microseconds (gauges).
    pub latency_p50_us: Counter,
    /// p99 of the same.
    pub latency_p99_us: Counter,
    /// p99.9 of the same.
    pub latency_p999_us: Counter,
}

impl Counters {
    /// Malformed transactions in all.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().map(Counter::get).sum()
    }

    /// Adds one to the malformed counter of `error`.
    pub fn add_malformed(&self, error: &ParseError) {
        let label = error.label();
        if let Some(index) = ParseError::LABELS.iter().position(|l| *l == label) {
            self.malformed[index].inc();
        }
    }

    /// Sum of the terminal counters: equals `entered` when nothing is in flight.
    pub fn terminal_total(&self) -> u64 {
        [
            &self.empty,
            &self.oversize,
            &self.unfinished,
            &self.rate_limited,
            &self.shed_ingress,
            &self.duplicate,
            &self.shed_verify,
            &self.bad_signature,
            &self.shed_forward,
            &self.forward_failed,
            &self.forwarded,
        ]
        .iter()
        .map(|c| c.get())
        .sum::<u64>()
            + self.malformed_total()
    }

    /// The counters in Prometheus text format, names
    /// `rampart_<stage>_<subject>_<action>`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            ));
        };
        counter(
            "rampart_ingress_stream_entered_total",
            "Streams that carried or claimed a transaction.",
            self.entered.get(),
        );
        counter(
            "rampart_ingress_stream_empty_total",
            "Empty streams.",
            self.empty.get(),
        );
        counter(
            "rampart_ingress_stream_oversize_total",
            "Streams longer than a transaction may be.",
            self.oversize.get(),
        );
        counter(
            "rampart_ingress_stream_unfinished_total",
            "Streams not finished in time.",
            self.unfinished.get(),
        );
        counter(
            "rampart_ingress_transaction_rate_limited_total",
            "Transactions over the connection's rate.",
            self.rate_limited.get(),
        );
        counter(
            "rampart_ingress_transaction_shed_total",
            "Transactions shed: pipeline queue full.",
            self.shed_ingress.get(),
        );
        counter(
            "rampart_dedup_transaction_duplicate_total",
            "Duplicate transactions.",
            self.duplicate.get(),
        );
        counter(
            "rampart_verify_transaction_shed_total",
            "Transactions shed: verify queue full.",
            self.shed_verify.get(),
        );
        counter(
            "rampart_verify_transaction_bad_signature_total",
            "Transactions with a bad signature.",
            self.bad_signature.get(),
        );
        counter(
            "rampart_forward_transaction_shed_total",
            "Transactions shed: forward queue full.",
            self.shed_forward.get(),
        );
        counter(
            "rampart_forward_transaction_failed_total",
            "Transactions the forwarder could not deliver.",
            self.forward_failed.get(),
        );
        counter(
            "rampart_forward_transaction_forwarded_total",
            "Transactions delivered to the validator.",
            self.forwarded.get(),
        );
        counter(
            "rampart_ingress_connection_accepted_total",
            "Connections admitted.",
            self.connections_accepted.get(),
        );
        counter(
            "rampart_ingress_handshake_failed_total",
            "Failed handshakes.",
            self.handshakes_failed.get(),
        );
        counter(
            "rampart_forward_connection_opened_total",
            "Connections the forwarder opened.",
            self.forward_connects.get(),
        );
        counter(
            "rampart_verify_batch_total",
            "Batches handed to verify workers.",
            self.batches.get(),
        );
        out.push_str("# HELP rampart_parse_transaction_malformed_total Malformed transactions by reason.\n# TYPE rampart_parse_transaction_malformed_total counter\n");
        for (label, value) in ParseError::LABELS.iter().zip(&self.malformed) {
            out.push_str(&format!(
                "rampart_parse_transaction_malformed_total{{reason=\"{label}\"}} {}\n",
                value.get()
            ));
        }
        out.push_str("# HELP rampart_ingress_connection_refused_total Connections refused by reason.\n# TYPE rampart_ingress_connection_refused_total counter\n");
        for (label, value) in ["new_connection_rate", "peer_connections", "table_full"]
            .iter()
            .zip(&self.connections_refused)
        {
            out.push_str(&format!(
                "rampart_ingress_connection_refused_total{{reason=\"{label}\"}} {}\n",
                value.get()
            ));
        }
        let mut gauge = |name: &str, help: &str, value: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
            ));
        };
        gauge(
            "rampart_ingress_connection_open",
            "Live connections.",
            self.connections_open.get(),
        );
        gauge(
            "rampart_ingress_queue_depth",
            "Transactions waiting for the batcher.",
            self.ingress_queue_depth.get(),
        );
        gauge(
            "rampart_forward_queue_depth",
            "Transactions waiting for the forwarder.",
            self.forward_queue_depth.get(),
        );
        out.push_str("# HELP rampart_verify_latency_seconds Stream complete to verdict.\n# TYPE rampart_verify_latency_seconds summary\n");
        for (quantile, value) in [
            ("0.5", &self.verify_latency_p50_us),
            ("0.99", &self.verify_latency_p99_us),
        ] {
            out.push_str(&format!(
                "rampart_verify_latency_seconds{{quantile=\"{quantile}\"}} {:.6}\n",
                value.get() as f64 / 1e6
            ));
        }
        out.push_str("# HELP rampart_pipeline_latency_seconds Added latency, stream complete to forwarded.\n# TYPE rampart_pipeline_latency_seconds summary\n");
        for (quantile, value) in [
            ("0.5", &self.latency_p50_us),
            ("0.99", &self.latency_p99_us),
            ("0.999", &self.latency_p999_us),
        ] {
            out.push_str(&format!(
                "rampart_pipeline_latency_seconds{{quantile=\"{quantile}\"}} {:.6}\n",
                value.get() as f64 / 1e6
            ));
        }
        out
    }
}
