//! What the appliance counts and how it is shown: the counters every stage
//! adds to, the latency histograms, and the Prometheus endpoint.
//!
//! - [`counters`]: the terminal and gauge counters (every transaction ends in one).
//! - [`latency`]: a latency histogram published as quantile gauges.
//! - [`server`]: `GET /metrics` on a thread of its own.

pub mod counters;
pub mod latency;
pub mod server;

pub use counters::{Counter, Counters};
pub use server::MetricsServer;
