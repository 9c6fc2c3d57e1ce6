//! The appliance's counters: every transaction that enters ends in exactly one
//! terminal counter, and the totals must add up.
//!
//! Each counter is declared once, below, with its kind, exported name, help
//! and labels; the struct, the schema ([`Counters::SCHEMA`]) and the
//! read-out for the renderer all come from that one declaration. Stages add
//! to these atomics (relaxed; each counter has one writer stage); the
//! metrics endpoint and tests read them.

use std::sync::atomic::{AtomicU64, Ordering};

use rampart_sigverify::txn::ParseError;

use super::schema::{Kind, Metric, Sample};

/// One counter or gauge.
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

/// Why ingress refused a connection, as the `reason` label of
/// `rampart_ingress_connection_refused_total`; indexed by
/// `ingress::admission::Refusal as usize`, whose `label()` reads this table.
pub const REFUSAL_LABELS: [&str; 3] = ["new_connection_rate", "peer_connections", "table_full"];

/// Why the handshake gate refused an Initial, as the `reason` label of
/// `rampart_ingress_handshake_refused_total`; indexed by
/// `ingress::gate::GateRefusal as usize`, whose `label()` reads this table.
pub const GATE_REFUSAL_LABELS: [&str; 3] = ["handshakes_in_flight", "source_rate", "global_rate"];

/// The quantiles of the added-latency gauges (stream complete → forwarded).
pub const LATENCY_QUANTILES: [&str; 3] = ["0.5", "0.99", "0.999"];

/// The quantiles of the verify-latency gauges (stream complete → verdict).
pub const VERIFY_QUANTILES: [&str; 2] = ["0.5", "0.99"];

/// The field type of a declared counter: one [`Counter`], or one per label value.
macro_rules! field_type {
    () => {
        Counter
    };
    ($label:literal $values:expr) => {
        [Counter; $values.len()]
    };
}

/// The schema entry's label name and values.
macro_rules! field_labels {
    () => {
        None
    };
    ($label:literal $values:expr) => {
        Some(($label, &$values))
    };
}

/// Reads a declared counter's samples: `(label value, value)` per series.
macro_rules! field_samples {
    ($self:ident $field:ident) => {
        vec![(None, $self.$field.get())]
    };
    ($self:ident $field:ident $label:literal $values:expr) => {
        $values
            .iter()
            .zip(&$self.$field)
            .map(|(label, counter)| (Some(*label), counter.get()))
            .collect()
    };
}

/// Declares [`Counters`]: each line is a field, its kind, its exported name
/// (without `rampart_` and `_total`), help, and optionally a label name and
/// the label values.
macro_rules! declare_counters {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $kind:ident $name:literal $help:literal $([$label:literal $values:expr])?;
    )*) => {
        /// Every counter of the ingress and pipeline.
        #[derive(Debug, Default)]
        pub struct Counters {
            $(
                $(#[doc = $doc])*
                pub $field: field_type!($($label $values)?),
            )*
        }

        impl Counters {
            /// Every metric, once, in declaration order.
            pub const SCHEMA: &'static [Metric] = &[
                $(Metric {
                    name: $name,
                    kind: Kind::$kind,
                    help: $help,
                    labels: field_labels!($($label $values)?),
                },)*
            ];

            /// The current value of every series, schema entry by schema entry.
            pub fn samples(&self) -> Vec<(&'static Metric, Vec<Sample>)> {
                Self::SCHEMA
                    .iter()
                    .zip([$(field_samples!(self $field $($label $values)?),)*])
                    .collect()
            }
        }
    };
}

declare_counters! {
    // Entry.
    /// Streams that delivered a transaction or were rejected as one: the sum
    /// of the terminal counters below once the pipeline is idle.
    entered: Counter "ingress_stream_entered" "Streams that carried or claimed a transaction.";

    // Terminal: ingress.
    /// Stream empty (closed with nothing in it).
    empty: Counter "ingress_stream_empty" "Empty streams.";
    /// Stream longer than the largest transaction.
    oversize: Counter "ingress_stream_oversize" "Streams longer than a transaction may be.";
    /// Stream reset by the client before it finished.
    reset: Counter "ingress_stream_reset" "Streams the client reset before finishing.";
    /// Stream not finished within the chunk timeout.
    unfinished: Counter "ingress_stream_unfinished" "Streams not finished in time.";
    /// The pipeline's input queue was full and the stream's source was the
    /// one furthest over its share: no room came before the stream deadline.
    shed_ingress: Counter "ingress_transaction_shed" "Transactions shed: no room in the pipeline queue before the deadline.";
    /// Dropped from the full pipeline queue, newest first, from the source
    /// furthest over its share, to make room for a source within its share.
    shed_heaviest: Counter "queue_transaction_shed_heaviest" "Transactions shed from the source furthest over its share of the full pipeline queue.";
    // Terminal: parse, dedup, verify.
    /// Not a well-formed transaction, per [`ParseError::LABELS`] entry.
    malformed: Counter "parse_transaction_malformed" "Malformed transactions by reason."
        ["reason" ParseError::LABELS];
    /// Already forwarded (first signature) within the dedup window, or an
    /// identical copy was being verified.
    duplicate: Counter "dedup_transaction_duplicate" "Duplicate transactions.";
    /// The verify queue was full.
    shed_verify: Counter "verify_transaction_shed" "Transactions shed: verify queue full.";
    /// A signature did not verify.
    bad_signature: Counter "verify_transaction_bad_signature" "Transactions with a bad signature.";
    /// The verify backend panicked on it, alone, with a fresh backend: no
    /// verdict, not forwarded.
    unverified: Counter "verify_transaction_unverified" "Transactions whose verification panicked.";
    // Terminal: forward.
    /// The forward queue was full.
    shed_forward: Counter "forward_transaction_shed" "Transactions shed: forward queue full.";
    /// The forwarder could not deliver it: it was on a connection that was
    /// lost, refused the stream, or missed a deadline (and was replaced).
    forward_failed: Counter "forward_transaction_failed" "Transactions the forwarder could not deliver.";
    /// Older than `forward.max_age_ms` when its turn came (waited out an
    /// outage or a backlog; likely resent by its client meanwhile).
    forward_expired: Counter "forward_transaction_expired" "Transactions too old to forward when their turn came.";
    /// Dropped from the forwarder's full backlog to make room for a newer one.
    forward_evicted: Counter "forward_transaction_evicted" "Transactions dropped from the forwarder's full backlog for newer ones.";
    /// Delivered to the validator.
    forwarded: Counter "forward_transaction_forwarded" "Transactions delivered to the validator.";

    // Not per transaction.
    /// Connections admitted.
    connections_accepted: Counter "ingress_connection_accepted" "Connections admitted.";
    /// Connections refused, by [`REFUSAL_LABELS`] reason.
    connections_refused: Counter "ingress_connection_refused" "Connections refused by reason."
        ["reason" REFUSAL_LABELS];
    /// Connections closed to make room for a newcomer (full table).
    connections_evicted: Counter "ingress_connection_evicted" "Connections closed to make room for a newcomer.";
    /// Handshakes that failed.
    handshakes_failed: Counter "ingress_handshake_failed" "Failed handshakes.";
    /// Initials refused before any cryptography, by
    /// [`GATE_REFUSAL_LABELS`] reason.
    handshakes_refused: Counter "ingress_handshake_refused" "Initials refused before the handshake by reason."
        ["reason" GATE_REFUSAL_LABELS];
    /// Initials answered with a stateless Retry (address validation).
    handshakes_retried: Counter "ingress_handshake_retried" "Initials answered with a stateless Retry.";
    /// Times a peer's next stream waited for its transaction budget (the
    /// peer is slowed through stream credit, nothing is dropped).
    budget_waits: Counter "ingress_stream_budget_wait" "Streams that waited for their peer's transaction budget.";
    /// Streams whose transaction waited for room in the full pipeline queue
    /// (its source was furthest over its share; slowed, not dropped).
    queue_waits: Counter "ingress_stream_queue_wait" "Streams that waited for room in the pipeline queue.";
    /// Peers with a live transaction budget (gauge).
    peer_budgets: Gauge "ingress_peer_budgets" "Peers with a live transaction budget.";
    /// Handshakes in flight (gauge).
    handshakes_in_flight: Gauge "ingress_handshake_in_flight" "Handshakes in flight.";
    /// Forwarder connections made.
    forward_connects: Counter "forward_connection_opened" "Connections the forwarder opened.";
    /// Forwarder connections closed and replaced for missing an open, write
    /// or acknowledgement deadline.
    forward_stalled: Counter "forward_connection_stalled" "Forward connections closed for missing a deadline.";
    /// Batches handed to verify workers.
    batches: Counter "verify_batch" "Batches handed to verify workers.";
    /// Panics caught in verify backends (each batch that panicked is
    /// verified again one transaction at a time, with a fresh backend).
    verify_panics: Counter "verify_backend_panic" "Panics caught in verify backends.";
    /// Device errors a backend recovered from by verifying on the CPU (a
    /// failing card), never counted as bad signatures.
    backend_errors: Counter "verify_backend_error" "Device errors recovered by verifying on the CPU.";
    /// Live connections (gauge).
    connections_open: Gauge "ingress_connection_open" "Live connections.";
    /// Ingress queue depth (gauge).
    ingress_queue_depth: Gauge "ingress_queue_depth" "Transactions waiting for the batcher.";
    /// Datagrams the kernel dropped at the ingress socket, its receive
    /// buffer full: lost before Rampart could read them, from every peer
    /// alike (read from `/proc/net/udp*`; see `ingress::socket`).
    socket_dropped: Counter "ingress_socket_datagram_dropped" "Datagrams the kernel dropped at the ingress socket (receive buffer full).";
    /// Bytes waiting in the ingress socket's receive buffer (gauge).
    socket_queue_bytes: Gauge "ingress_socket_queue_bytes" "Bytes waiting in the ingress socket's receive buffer.";
    /// Sources with transactions in the pipeline queue (gauge).
    queue_sources: Gauge "ingress_queue_sources" "Sources with transactions waiting for the batcher.";
    /// Forward queue depth (gauge).
    forward_queue_depth: Gauge "forward_queue_depth" "Transactions waiting for the forwarder.";
    /// The forwarder's own backlog: transactions it holds, waiting for a
    /// connection or a stream (gauge; at most `forward.queue`).
    forward_backlog: Gauge "forward_backlog_depth" "Transactions the forwarder holds, waiting for a connection or stream.";
    /// Transactions being verified whose identical copies are dropped as
    /// duplicates on arrival (gauge).
    dedup_in_flight: Gauge "dedup_in_flight" "Transactions being verified (identical copies are duplicates).";
    /// Stream complete → verdict (batch stage and verify), microseconds, per
    /// [`VERIFY_QUANTILES`] entry (gauges).
    verify_latency_us: Micros "verify_latency_seconds" "Stream complete to verdict."
        ["quantile" VERIFY_QUANTILES];
    /// Added latency, stream complete → forwarded, microseconds, per
    /// [`LATENCY_QUANTILES`] entry (gauges).
    latency_us: Micros "pipeline_latency_seconds" "Added latency, stream complete to forwarded."
        ["quantile" LATENCY_QUANTILES];
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
            &self.reset,
            &self.shed_ingress,
            &self.shed_heaviest,
            &self.duplicate,
            &self.shed_verify,
            &self.bad_signature,
            &self.unverified,
            &self.shed_forward,
            &self.forward_failed,
            &self.forward_expired,
            &self.forward_evicted,
            &self.forwarded,
        ]
        .iter()
        .map(|c| c.get())
        .sum::<u64>()
            + self.malformed_total()
    }

    /// The added-latency gauge for `quantile` (one of [`LATENCY_QUANTILES`]), in µs.
    pub fn latency_quantile_us(&self, quantile: &str) -> Option<u64> {
        let index = LATENCY_QUANTILES.iter().position(|q| *q == quantile)?;
        Some(self.latency_us[index].get())
    }

    /// The verify-latency gauge for `quantile` (one of [`VERIFY_QUANTILES`]), in µs.
    pub fn verify_latency_quantile_us(&self, quantile: &str) -> Option<u64> {
        let index = VERIFY_QUANTILES.iter().position(|q| *q == quantile)?;
        Some(self.verify_latency_us[index].get())
    }
}
