//! What a metric is, apart from its value: kind, name, help, labels. The
//! counters declare theirs once ([`Counters::SCHEMA`](super::Counters::SCHEMA));
//! the XDP filter's families are declared here; [`super::render`] turns both
//! into Prometheus text.

/// How a metric behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; exported with `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A gauge held in microseconds and exported in seconds.
    Micros,
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Name without the `rampart_` prefix and the `_total` suffix:
    /// `<stage>_<subject>_<action>[_<unit>]`.
    pub name: &'static str,
    /// Counter, gauge, or microsecond gauge.
    pub kind: Kind,
    /// One line for `# HELP`.
    pub help: &'static str,
    /// The label name and every value it takes, for a labelled family.
    pub labels: Option<(&'static str, &'static [&'static str])>,
}

/// One series: its label value (for a labelled family) and value.
pub type Sample = (Option<&'static str>, u64);

/// The XDP filter's packets per verdict and port (labels `verdict`, `port`;
/// `port="unprotected"` for traffic to no protected port).
pub const XDP_PACKETS: Metric = Metric {
    name: "xdp_frame_judged",
    kind: Kind::Counter,
    help: "Frames the XDP filter judged, by verdict and protected port.",
    labels: None,
};

/// The same in bytes.
pub const XDP_BYTES: Metric = Metric {
    name: "xdp_frame_judged_bytes",
    kind: Kind::Counter,
    help: "Bytes of the frames the XDP filter judged, by verdict and protected port.",
    labels: None,
};
