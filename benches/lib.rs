//! Criterion benchmarks for Rampart. The benchmarks live beside this file
//! (`sigverify.rs`); run them with `cargo bench -p rampart-benches`.
//!
//! For whole-system figures with same-run baselines use `rampart bench …`.
