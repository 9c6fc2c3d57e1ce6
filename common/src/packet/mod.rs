//! The XDP verdict chain as pure code: what the filter decides for a frame,
//! written once and compiled both into the eBPF program (`kernel/`) and on the
//! host, where the unit tests run it without root.
//!
//! No I/O, no clock, no maps: frame bytes come through a [`Cursor`] (a
//! bounds-checked reader over a slice on the host, over the XDP context in
//! the kernel), and the map lookups through [`Tables`]. The entry point is
//! [`judge`]. Everything the kernel calls is `#[inline(always)]`, because
//! the program is one function to the verifier.

pub mod bucket;
pub mod chain;
pub mod cursor;
pub mod headers;
pub mod quic;

#[cfg(test)]
mod tests;

pub use chain::{judge, Judgement, Tables};
pub use cursor::Cursor;
pub use headers::{Datagram, Headers, Source};
