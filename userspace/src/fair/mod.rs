//! The fair queue between ingress and the batch stage: one queue per source
//! (a staked identity, or an unstaked IPv4 address or IPv6 /64), served in
//! proportion to stake with a reserved floor for unstaked sources, under one
//! bound. When verification cannot keep up, the backlog that waits is the
//! backlog of the sources sending beyond their share, and when the bound is
//! reached it is theirs that is shed; a source within its share is slowed
//! through stream credit, never dropped.
//!
//! - [`schedule`]: the decisions (pure).
//! - [`queue`]: the thread-safe ends, for ingress tasks and the batch thread.

pub mod queue;
pub mod schedule;

pub use queue::{fair_queue, FairReceiver, FairSender, Offered};
pub use schedule::{Class, FairLimits, Push};
