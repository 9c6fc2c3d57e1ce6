//! Rampart's XDP program lives in `main.rs` (the `rampart-xdp` binary); this
//! empty library lets userspace name the crate as a build dependency so cargo
//! rebuilds the program when it changes.
#![no_std]
