//! Types shared by the XDP program (`kernel/`) and userspace: map names, the
//! `#[repr(C)]` keys and values stored in them, and the verdicts the filter gives.
//!
//! `#![no_std]` so the eBPF program can use it; the `user` feature adds aya's
//! `Pod` impls for userspace. Both sides compile the same definitions, so a
//! layout change cannot reach only one of them.
#![no_std]

pub mod maps;
pub mod verdict;

pub use verdict::Verdict;
