//! Types and decisions shared by the XDP program (`kernel/`) and userspace:
//! map names, the `#[repr(C)]` keys and values stored in them, the verdicts
//! the filter gives, and the verdict chain itself ([`packet`]), which the
//! kernel runs on every frame and the host tests run without root.
//!
//! `#![no_std]` so the eBPF program can use it; the `user` feature adds aya's
//! `Pod` impls for userspace. Both sides compile the same definitions, so a
//! layout change or a chain change cannot reach only one of them.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod maps;
pub mod packet;
pub mod verdict;

pub use verdict::Verdict;
