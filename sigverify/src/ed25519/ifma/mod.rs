//! Rampart's own ed25519 engine: four strict verifications at once, one per
//! 64-bit lane, on AVX-512 IFMA (52-bit multiply-accumulate) at 256-bit width.
//!
//! Why IFMA and not AVX2's `vpmuludq`: measured on this machine (AMD Zen 4),
//! `vpmadd52luq ymm` sustains one instruction per 0.18 TSC ticks against 0.58
//! for `vpmuludq ymm`, and a field product needs 50 of the former (5 × 5 limbs
//! of 51 bits, low and high halves) against ~100 of the latter (10 × 10 limbs of
//! 25.5 bits): about 6× less multiplier time per lane. docs/sigverify-engine.md
//! has the measurements. Machines without IFMA keep the scalar path.
//!
//! Layout: [`limbs`] (one lane's bytes, limbs and digits, plain Rust), `field`
//! (four field elements per vector), `point` (four points per vector),
//! `sha512` (four messages hashed at once), `kernel` (the four-lane kernels:
//! strict, cofactored, point checks), [`batch`] (slices of signatures to
//! kernels and kernel outcomes to verdicts). Every vector function carries
//! `#[target_feature]`; this module is the only place that calls into them, and
//! the only `unsafe` of the engine.

pub(crate) mod batch;
mod field;
mod kernel;
mod limbs;
mod point;
mod sha512;

use kernel::{CofactoredOutcome, LaneInput, LaneOutcome, PointCheck};

/// Fewest signatures worth a kernel run: below this the scalar path is faster
/// than four lanes of which most would be padding.
pub const MIN_INPUTS: usize = 2;

/// Proof that the CPU has the instructions the engine uses. Only
/// [`Engine::detect`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Engine(());

impl Engine {
    /// The engine, if this CPU has AVX-512 IFMA, VL, DQ and AVX2.
    pub fn detect() -> Option<Engine> {
        let ok = std::arch::is_x86_feature_detected!("avx512ifma")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2");
        ok.then_some(Engine(()))
    }

    /// Runs the strict kernel on four signatures.
    fn verify4(self, lanes: &[LaneInput; 4]) -> [LaneOutcome; 4] {
        // Safety: an `Engine` exists only after `detect` found every target
        // feature `kernel::verify4` is compiled for.
        unsafe { kernel::verify4(lanes) }
    }

    /// Runs the cofactored kernel on four signatures with commitments `r`.
    fn verify_cofactored4(
        self,
        lanes: &[LaneInput; 4],
        r: &[[u8; 32]; 4],
    ) -> [CofactoredOutcome; 4] {
        // Safety: as in `verify4`, the features were detected before `self` was made.
        unsafe { kernel::verify_cofactored4(lanes, r) }
    }

    /// SHA-512 of four padded messages.
    fn digest4(self, lanes: [&sha512::Padded; 4]) -> [[u8; 64]; 4] {
        // Safety: as in `verify4`, the features were detected before `self` was made.
        unsafe { sha512::digest4(lanes) }
    }

    /// Decodes four point encodings and tests their order.
    fn check_points4(self, encodings: &[[u8; 32]; 4]) -> [PointCheck; 4] {
        // Safety: as in `verify4`, the features were detected before `self` was made.
        unsafe { kernel::check_points4(encodings) }
    }
}
