//! Visible, counted skips for the parts of a test this CPU cannot run: one
//! line `skipping <test>/<engine>: needs <cpu feature>` per test and engine
//! backend, straight to stderr (past the test harness's output capture, as
//! the root-only skips in userspace/tests/common do), which `.ci/run` counts.
#![allow(dead_code)]

use std::{io::Write, sync::Mutex};

use rampart_sigverify::{
    backend::EngineChoice,
    ed25519::engine::{Engine, EngineKind},
};

/// The CPU feature a skip line names for an engine backend (IFMA also needs
/// AVX-512 F, VL and DQ, and AVX2; all of them come together on every CPU with
/// IFMA so far).
pub fn feature(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Ifma | EngineKind::Ifma512 => "avx512ifma",
        EngineKind::Avx2 => "avx2",
    }
}

/// Prints the skip line for `test` and `kind`, once per test and backend.
pub fn skip_engine(test: &str, kind: EngineKind) {
    static SAID: Mutex<Vec<(String, EngineKind)>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if said.iter().any(|(t, k)| t == test && *k == kind) {
        return;
    }
    said.push((test.to_owned(), kind));
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}/{kind}: needs {}",
        feature(kind)
    );
}

/// The engine backends this CPU runs, fastest first; says which `test` skips.
pub fn engines(test: &str) -> Vec<Engine> {
    EngineKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let engine = Engine::with(kind);
            if engine.is_none() {
                skip_engine(test, kind);
            }
            engine
        })
        .collect()
}

/// The CPU backend's engine choices this CPU runs (`auto` and `off` always
/// do); says which `test` skips.
pub fn engine_choices(test: &str) -> Vec<EngineChoice> {
    EngineChoice::ALL
        .into_iter()
        .filter(|choice| {
            if choice.resolve().is_some() {
                return true;
            }
            let kind = match choice {
                EngineChoice::Ifma512 => EngineKind::Ifma512,
                EngineChoice::Ifma => EngineKind::Ifma,
                EngineChoice::Avx2 => EngineKind::Avx2,
                // Never unresolved; named in case that changes.
                EngineChoice::Auto | EngineChoice::Off => {
                    panic!("engine choice {choice} does not run on this CPU")
                }
            };
            skip_engine(test, kind);
            false
        })
        .collect()
}
