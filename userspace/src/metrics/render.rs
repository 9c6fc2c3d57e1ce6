//! The one renderer: every metric in [`Counters::SCHEMA`] and, when the XDP
//! filter is attached, its per-verdict and per-port counters, as Prometheus
//! text (format 0.0.4) through `prometheus-client`.
//!
//! The stages keep counting in their own relaxed atomics; this reads them
//! only when scraped, so rendering costs the hot path nothing.

use std::sync::Arc;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge, MetricType},
    registry::Registry,
};

use super::{
    schema::{Kind, Metric, Sample, XDP_BYTES, XDP_PACKETS},
    Counters,
};

/// One row of the XDP filter's counters: a verdict on one protected port (or
/// on traffic to no protected port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdpRow {
    /// The protected port, or `None` for unprotected traffic.
    pub port: Option<u16>,
    /// The verdict's stable label (`rampart_common::Verdict::label`).
    pub verdict: &'static str,
    /// Frames.
    pub packets: u64,
    /// Bytes of those frames.
    pub bytes: u64,
}

/// Where the XDP filter's counters come from (the pinned maps, in the
/// appliance); `None` while no filter is attached.
pub trait XdpSource: std::fmt::Debug + Send + Sync + 'static {
    /// Every row, or `None` when the filter is not there.
    fn rows(&self) -> Option<Vec<XdpRow>>;
}

/// The Prometheus exposition of the appliance.
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    /// Renders `counters`, and `xdp` when given and attached.
    pub fn new(counters: Arc<Counters>, xdp: Option<Arc<dyn XdpSource>>) -> Self {
        let mut registry = Registry::with_prefix("rampart");
        registry.register_collector(Box::new(Scrape { counters, xdp }));
        Exposition { registry }
    }

    /// The Prometheus text now.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail, and every name and label here is
        // a valid one, so an error would be a bug in this module.
        if prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# rendering failed\n");
        }
        out
    }
}

#[derive(Debug)]
struct Scrape {
    counters: Arc<Counters>,
    xdp: Option<Arc<dyn XdpSource>>,
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (metric, samples) in self.counters.samples() {
            encode_family(&mut encoder, metric, &samples)?;
        }
        if let Some(rows) = self.xdp.as_ref().and_then(|xdp| xdp.rows()) {
            encode_xdp(&mut encoder, &rows)?;
        }
        Ok(())
    }
}

fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge | Kind::Micros => MetricType::Gauge,
    }
}

fn encode_family(
    encoder: &mut DescriptorEncoder,
    metric: &Metric,
    samples: &[Sample],
) -> Result<(), std::fmt::Error> {
    let mut family =
        encoder.encode_descriptor(metric.name, metric.help, None, metric_type(metric.kind))?;
    for &(label, value) in samples {
        match (metric.labels, label) {
            (Some((name, _)), Some(label)) => {
                let labels = [(name, label)];
                encode_value(metric.kind, value, family.encode_family(&labels)?)?;
            }
            _ => encode_value(metric.kind, value, family.encode_family(&NO_LABELS)?)?,
        }
    }
    Ok(())
}

/// An empty label set.
const NO_LABELS: [(&str, &str); 0] = [];

fn encode_value(
    kind: Kind,
    value: u64,
    encoder: prometheus_client::encoding::MetricEncoder,
) -> Result<(), std::fmt::Error> {
    match kind {
        Kind::Counter => ConstCounter::new(value).encode(encoder),
        Kind::Gauge => ConstGauge::new(value as i64).encode(encoder),
        Kind::Micros => ConstGauge::new(value as f64 / 1e6).encode(encoder),
    }
}

fn encode_xdp(encoder: &mut DescriptorEncoder, rows: &[XdpRow]) -> Result<(), std::fmt::Error> {
    for (metric, value) in [
        (
            &XDP_PACKETS,
            (|row: &XdpRow| row.packets) as fn(&XdpRow) -> u64,
        ),
        (&XDP_BYTES, |row: &XdpRow| row.bytes),
    ] {
        let mut family =
            encoder.encode_descriptor(metric.name, metric.help, None, metric_type(metric.kind))?;
        for row in rows {
            let port = row
                .port
                .map_or_else(|| "unprotected".to_owned(), |p| p.to_string());
            let labels = [("verdict", row.verdict.to_owned()), ("port", port)];
            ConstCounter::new(value(row)).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerate with `RAMPART_BLESS=1 cargo test -p rampart --lib metrics::render`.
    const GOLDEN: &str = "src/metrics/golden/metrics.txt";

    #[derive(Debug)]
    struct FakeXdp;

    impl XdpSource for FakeXdp {
        fn rows(&self) -> Option<Vec<XdpRow>> {
            Some(vec![
                XdpRow {
                    port: Some(8009),
                    verdict: "pass",
                    packets: 5,
                    bytes: 6000,
                },
                XdpRow {
                    port: None,
                    verdict: "pass_unprotected",
                    packets: 7,
                    bytes: 700,
                },
            ])
        }
    }

    /// Every counter set to a distinct value, so a swapped series shows.
    fn counters() -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        let mut next = 1u64;
        let mut set = |counter: &crate::metrics::Counter| {
            counter.set(next);
            next += 1;
        };
        // Through the public fields, as the stages write them.
        for counter in [
            &counters.entered,
            &counters.empty,
            &counters.oversize,
            &counters.forwarded,
            &counters.connections_open,
        ] {
            set(counter);
        }
        for counter in counters
            .malformed
            .iter()
            .chain(&counters.connections_refused)
        {
            set(counter);
        }
        counters.latency_us[1].set(1_500);
        counters
    }

    #[test]
    fn the_metrics_text_keeps_its_shape() {
        let text = Exposition::new(counters(), Some(Arc::new(FakeXdp))).text();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
        if std::env::var_os("RAMPART_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write the golden file");
        }
        let golden = std::fs::read_to_string(&path).expect("the golden file");
        assert_eq!(
            text, golden,
            "the /metrics text changed; if on purpose, rerun with RAMPART_BLESS=1 and review the diff"
        );
    }

    #[test]
    fn every_schema_entry_is_rendered_once_and_xdp_only_when_attached() {
        let text = Exposition::new(counters(), None).text();
        for metric in Counters::SCHEMA {
            let full = match metric.kind {
                Kind::Counter => format!("rampart_{}_total", metric.name),
                Kind::Gauge | Kind::Micros => format!("rampart_{}", metric.name),
            };
            assert_eq!(
                text.matches(&format!("# TYPE {full} ")).count(),
                1,
                "{full}\n{text}"
            );
        }
        assert!(!text.contains("xdp"), "no filter, no XDP families");
    }

    #[test]
    fn microsecond_gauges_are_exported_in_seconds() {
        let text = Exposition::new(counters(), None).text();
        assert!(
            text.contains("rampart_pipeline_latency_seconds{quantile=\"0.99\"} 0.0015\n"),
            "{text}"
        );
    }
}
