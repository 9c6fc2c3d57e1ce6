//! Rampart's own ed25519 engine: four signatures at once, one per 64-bit lane
//! of a 256-bit vector, each judged on its own under the selected rule.
//!
//! Two field backends share every line above the field:
//! - [`EngineKind::Ifma`] — radix 2^51 on AVX-512 IFMA 52-bit
//!   multiply-accumulates (`vpmadd52luq`/`vpmadd52huq`) at 256-bit width;
//! - [`EngineKind::Avx2`] — radix 2^25.5 on AVX2 `vpmuludq`, for CPUs without
//!   AVX-512 (AMD Zen 3, older Intel).
//!
//! Which is faster was decided by measuring (docs/sigverify-engine.md): on
//! AMD Zen 4, `vpmadd52luq ymm` retires one per 0.18 TSC ticks against 0.58 for
//! `vpmuludq ymm`, and a field product needs 50 of the former against 100 of
//! the latter; a whole strict verification takes ~41 K cycles on IFMA, ~90–105 K
//! on AVX2 and ~166 K on the scalar path. So IFMA where it exists, else AVX2.
//!
//! Layout: `limbs` (one lane's bytes, limbs and digits, plain Rust),
//! `field_ifma` / `field_avx2` (four field elements per vector) and
//! `field_common` (what both share), `point` (four points per vector), `sha512`
//! (four messages hashed at once), `kernel` (the four-lane kernels: strict,
//! cofactored, point checks), `ifma` / `avx2` (the shared code instantiated for
//! each backend's target features), `batch` (slices of signatures to kernels,
//! outcomes to verdicts). Every vector function carries `#[target_feature]`;
//! this module is the only place that calls into them, and holds the engine's
//! only `unsafe`.

mod avx2;
pub(crate) mod batch;
mod field_avx2;
mod field_common;
mod field_ifma;
mod ifma;
mod kernel;
mod limbs;
mod point;
mod sha512;

use std::{fmt, str::FromStr};

use kernel::{CofactoredOutcome, LaneInput, LaneOutcome, PointCheck};

use crate::{ed25519::SignatureInput, rule::Rule, SigVerdict};

/// Fewest signatures worth a kernel run: below this the scalar path is faster
/// than four lanes of which most would be padding.
pub const MIN_INPUTS: usize = 2;

/// The engine's field backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// AVX-512 IFMA (with VL and DQ), radix 2^51.
    Ifma,
    /// AVX2, radix 2^25.5.
    Avx2,
}

impl EngineKind {
    /// Every backend, fastest first.
    pub const ALL: [EngineKind; 2] = [EngineKind::Ifma, EngineKind::Avx2];

    /// The backend's name (`ifma`, `avx2`).
    pub fn label(self) -> &'static str {
        match self {
            EngineKind::Ifma => "ifma",
            EngineKind::Avx2 => "avx2",
        }
    }

    /// Whether this CPU has the instructions the backend uses.
    fn supported(self) -> bool {
        match self {
            EngineKind::Ifma => {
                std::arch::is_x86_feature_detected!("avx512ifma")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            EngineKind::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The name given is not an engine backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {given:?}: expected ifma or avx2")]
pub struct UnknownEngine {
    /// What was given.
    pub given: String,
}

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .into_iter()
            .find(|kind| kind.label() == s)
            .ok_or_else(|| UnknownEngine {
                given: s.to_owned(),
            })
    }
}

/// A backend this CPU was found to support. Only [`Engine::detect`] and
/// [`Engine::with`] make one, and only after checking the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine(EngineKind);

impl Engine {
    /// The fastest backend this CPU supports, if any: IFMA, else AVX2.
    ///
    /// Measured on AMD Zen 4 (docs/sigverify-engine.md), strict, one core:
    /// IFMA ~41 K cycles per signature, AVX2 ~90–105 K, the scalar path
    /// ~166 K.
    pub fn detect() -> Option<Engine> {
        EngineKind::ALL.into_iter().find_map(Engine::with)
    }

    /// Backend `kind`, if this CPU supports it.
    pub fn with(kind: EngineKind) -> Option<Engine> {
        kind.supported().then_some(Engine(kind))
    }

    /// Every backend this CPU supports, fastest first (for tests and benches).
    pub fn all_available() -> Vec<Engine> {
        EngineKind::ALL
            .into_iter()
            .filter_map(Engine::with)
            .collect()
    }

    /// Which backend this is.
    pub fn kind(self) -> EngineKind {
        self.0
    }

    /// Verifies every input under the strict rule, writing `out[i]` for
    /// `inputs[i]`; equal, reason for reason, to the scalar path.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn verify_strict(self, inputs: &[SignatureInput<'_>], out: &mut [SigVerdict]) {
        assert_eq!(inputs.len(), out.len(), "one verdict slot per input");
        batch::verify_strict(self, inputs, out);
    }

    /// Verifies every input on its own under a cofactored rule, writing
    /// `out[i]` for `inputs[i]`; equal, reason for reason, to the scalar path.
    ///
    /// # Panics
    /// If `rule` is strict or the lengths differ.
    pub fn verify_cofactored(
        self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) {
        assert!(rule.is_cofactored(), "{rule} is not a cofactored rule");
        assert_eq!(inputs.len(), out.len(), "one verdict slot per input");
        batch::verify_cofactored(self, rule, inputs, out);
    }

    /// Runs the strict kernel on four signatures.
    fn verify4(self, lanes: &[LaneInput; 4]) -> [LaneOutcome; 4] {
        match self.0 {
            // Safety: an `Engine` of this kind exists only after
            // `EngineKind::supported` found every target feature the function
            // is compiled for.
            EngineKind::Ifma => unsafe { ifma::verify4(lanes) },
            // Safety: as above, AVX2 was detected.
            EngineKind::Avx2 => unsafe { avx2::verify4(lanes) },
        }
    }

    /// Runs the cofactored kernel on four signatures with commitments `r`.
    fn verify_cofactored4(
        self,
        lanes: &[LaneInput; 4],
        r: &[[u8; 32]; 4],
    ) -> [CofactoredOutcome; 4] {
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma => unsafe { ifma::verify_cofactored4(lanes, r) },
            // Safety: as above.
            EngineKind::Avx2 => unsafe { avx2::verify_cofactored4(lanes, r) },
        }
    }

    /// SHA-512 of four padded messages.
    fn digest4(self, lanes: [&sha512::Padded; 4]) -> [[u8; 64]; 4] {
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma => unsafe { ifma::digest4(lanes) },
            // Safety: as above.
            EngineKind::Avx2 => unsafe { avx2::digest4(lanes) },
        }
    }

    /// Decodes four point encodings and tests their order.
    fn check_points4(self, encodings: &[[u8; 32]; 4]) -> [PointCheck; 4] {
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma => unsafe { ifma::check_points4(encodings) },
            // Safety: as above.
            EngineKind::Avx2 => unsafe { avx2::check_points4(encodings) },
        }
    }
}
