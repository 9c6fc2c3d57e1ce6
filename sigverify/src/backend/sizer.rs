//! Adaptive batch size for the cofactored rules.
//!
//! A batch with one bad signature costs a bisection, so the best batch size falls
//! as the share of bad signatures rises. With a per-signature batch cost of
//! roughly `c + a/n` and a bisection cost of roughly `f·n·c` per signature at
//! failure rate `f`, the cost is lowest near `n = sqrt(a / (c·f))`; measured
//! here `a/c ≈ 2`. Below three, batching cannot win and signatures are checked
//! one by one, so a flood of bad signatures never costs more than no batching.

/// Tracks the observed equation-failure rate and picks the next batch size.
#[derive(Debug, Clone)]
pub struct BatchSizer {
    max: usize,
    failure_rate: f64,
}

/// Weight of the newest observation in the moving average.
const SMOOTHING: f64 = 0.2;
/// Fixed batch cost over per-signature batch cost, from `rampart bench sigverify`.
const FIXED_OVER_MARGINAL: f64 = 2.0;

impl BatchSizer {
    /// A sizer that never returns more than `max` (at least 1).
    pub fn new(max: usize) -> Self {
        BatchSizer {
            max: max.max(1),
            failure_rate: 0.0,
        }
    }

    /// The batch size to use next.
    pub fn next_size(&self) -> usize {
        if self.failure_rate <= 0.0 {
            return self.max;
        }
        let best = (FIXED_OVER_MARGINAL / self.failure_rate).sqrt();
        if best < 3.0 {
            1
        } else {
            (best as usize).min(self.max)
        }
    }

    /// Records that `failed` of `checked` signatures failed the equation.
    pub fn observe(&mut self, checked: usize, failed: usize) {
        if checked == 0 {
            return;
        }
        let rate = failed as f64 / checked as f64;
        self.failure_rate += SMOOTHING * (rate - self.failure_rate);
        if self.failure_rate < 1e-6 {
            self.failure_rate = 0.0;
        }
    }

    /// The smoothed failure rate (for metrics).
    pub fn failure_rate(&self) -> f64 {
        self.failure_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_traffic_uses_the_maximum() {
        let mut sizer = BatchSizer::new(256);
        sizer.observe(256, 0);
        assert_eq!(sizer.next_size(), 256);
    }

    #[test]
    fn failures_shrink_the_batch_down_to_singles() {
        let mut sizer = BatchSizer::new(256);
        for _ in 0..50 {
            sizer.observe(8, 2);
        }
        assert_eq!(sizer.next_size(), 1);
        for _ in 0..200 {
            sizer.observe(64, 0);
        }
        assert_eq!(sizer.next_size(), 256);
    }
}
