//! A latency histogram that a stage records into and publishes, a few times a
//! second, as quantile gauges in [`Counters`](super::Counters). One type for
//! every stage that measures latency, so they all bucket and publish alike.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::Counter;

/// How often quantiles are copied out to their gauges.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(500);

/// Microsecond latencies from 1 µs to 60 s at three significant digits.
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
    published: Instant,
}

impl LatencyHistogram {
    /// An empty histogram, last published at `now`.
    pub fn new(now: Instant) -> Self {
        LatencyHistogram {
            // Invariant: constant bounds that hdrhistogram accepts (low ≥ 1,
            // high ≥ 2·low, 3 significant figures); nothing a peer sends.
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("constant histogram bounds are valid"),
            published: now,
        }
    }

    /// Records one latency (values past 60 s are clamped).
    pub fn record(&mut self, elapsed: Duration) {
        let micros = (elapsed.as_micros().max(1) as u64).min(60_000_000);
        let _ = self.histogram.record(micros);
    }

    /// The `quantile` (0..=1) in microseconds.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        self.histogram.value_at_quantile(quantile)
    }

    /// Copies quantile `quantiles[i]` (a label such as `"0.99"`) into
    /// `gauges[i]` if [`PUBLISH_EVERY`] has passed since the last time (or
    /// always, with `force`).
    pub fn publish(&mut self, now: Instant, force: bool, quantiles: &[&str], gauges: &[Counter]) {
        if !force && now.duration_since(self.published) < PUBLISH_EVERY {
            return;
        }
        for (quantile, gauge) in quantiles.iter().zip(gauges) {
            if let Ok(quantile) = quantile.parse::<f64>() {
                gauge.set(self.quantile_us(quantile));
            }
        }
        self.published = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_at_most_twice_a_second_unless_forced() {
        let start = Instant::now();
        let gauges = [Counter::default()];
        let mut latency = LatencyHistogram::new(start);
        latency.record(Duration::from_micros(700));
        latency.publish(start + Duration::from_millis(100), false, &["0.5"], &gauges);
        assert_eq!(gauges[0].get(), 0);
        latency.publish(start + Duration::from_millis(600), false, &["0.5"], &gauges);
        assert!(
            (699..=701).contains(&gauges[0].get()),
            "{}",
            gauges[0].get()
        );
        latency.record(Duration::from_secs(120));
        latency.publish(start + Duration::from_millis(601), true, &["1"], &gauges);
        assert!(
            gauges[0].get() >= 59_000_000,
            "clamped to 60 s: {}",
            gauges[0].get()
        );
    }
}
