//! The stages after ingress: batch and dedup, verification (through
//! `rampart_sigverify`'s worker pool), and the forwarder. Each stage owns its
//! state and talks to the next through a bounded queue; each keeps its
//! decisions in a pure core that takes `now`.
//!
//! - [`batch`]: batching, dedup, hand-off to the verify pool, routing verdicts.
//! - [`dedup`]: the keyed-hash, time-windowed duplicate filter (pure).
//! - [`forward`]: the QUIC (or UDP) client to the validator's TPU.
//! - [`pacing`]: the forwarder's connection budget (pure).

pub mod batch;
pub mod dedup;
pub mod forward;
pub mod pacing;
