//! What the appliance counts and how it is shown: the counters every stage
//! adds to, the latency histograms, and the Prometheus endpoint.
//!
//! - [`counters`]: the terminal and gauge counters (every transaction ends in
//!   one), each declared once with its name, kind, help and labels.
//! - [`schema`]: what a metric is apart from its value.
//! - [`render`]: the one renderer (prometheus-client), XDP counters included.
//! - [`latency`]: a latency histogram published as quantile gauges.
//! - [`health`]: health and readiness judged from the counters.
//! - [`server`]: `GET /metrics`, `/health` and `/ready` on a thread of its own.

pub mod counters;
pub mod health;
pub mod latency;
pub mod render;
pub mod schema;
pub mod server;

pub use counters::{Counter, Counters};
pub use render::{Exposition, XdpRow, XdpSource};
pub use server::MetricsServer;
