//! Rampart's own ed25519 engine: four signatures at once, one per 64-bit lane
//! of a 256-bit vector, each judged on its own under the selected rule.
//!
//! Three field backends share every line above the field:
//! - [`EngineKind::Ifma512`] — radix 2^51 on AVX-512 IFMA at 512-bit width,
//!   eight signatures per run (`field_ifma512`, instantiated in `ifma512`);
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
//! `field_ifma512` / `field_ifma` / `field_avx2` (eight or four field elements
//! per vector) and `field_common` (what all share, including the table
//! lookups by hardware gather), `point` (a point per lane), `sha512` (a message
//! per lane, all hashed at once), `kernel` (the kernels: the core shared by
//! every rule, the cofactored check of R, point checks), `ifma512` / `ifma` /
//! `avx2` (the shared code instantiated for each backend's target features),
//! `batch` (slices of signatures to kernels, outcomes to verdicts). Every
//! vector function carries `#[target_feature]`; this module is the only place
//! that calls into them. The engine's `unsafe` is those calls and the one
//! gather per backend, which `field_common`'s lookups reach only after checking
//! every address lies in the table.

mod avx2;
pub(crate) mod batch;
mod field_avx2;
mod field_common;
mod field_ifma;
mod field_ifma512;
mod field_ifma_ops;
mod ifma;
mod ifma512;
mod kernel;
mod limbs;
mod point;
mod sha512;

use std::{fmt, str::FromStr};

use kernel::{LaneInput, LaneOutcome, LanePoint, PointCheck};

use crate::{ed25519::SignatureInput, rule::Rule, SigVerdict};

/// Fewest signatures worth a kernel run: below this the scalar path is faster
/// than four lanes of which most would be padding.
pub const MIN_INPUTS: usize = 2;

/// The most signatures any backend runs at once.
const MAX_LANES: usize = 8;

/// The engine's field backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// AVX-512 IFMA at 512-bit width, eight signatures per run, radix 2^51.
    Ifma512,
    /// AVX-512 IFMA (with VL and DQ) at 256-bit width, four signatures per
    /// run, radix 2^51.
    Ifma,
    /// AVX2, radix 2^25.5.
    Avx2,
}

impl EngineKind {
    /// Every backend, widest first.
    pub const ALL: [EngineKind; 3] = [EngineKind::Ifma512, EngineKind::Ifma, EngineKind::Avx2];

    /// The backend's name (`ifma512`, `ifma`, `avx2`).
    pub fn label(self) -> &'static str {
        match self {
            EngineKind::Ifma512 => "ifma512",
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
            // Byte shuffles (BW) for the message words of SHA-512; every CPU
            // with IFMA so far has BW.
            EngineKind::Ifma512 => {
                EngineKind::Ifma.supported() && std::arch::is_x86_feature_detected!("avx512bw")
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
#[error("unknown engine {given:?}: expected ifma512, ifma or avx2")]
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

/// Whether the CPU executes 512-bit vector operations as two 256-bit halves:
/// AMD family 19h (Zen 3, Zen 4; Zen 3 has no AVX-512 at all). Zen 5 (family
/// 1Ah) and Intel cores with AVX-512 IFMA run them at full width.
fn splits_512_bit() -> bool {
    use std::arch::x86_64::__cpuid;
    let vendor = __cpuid(0);
    let amd = [vendor.ebx, vendor.edx, vendor.ecx] == [0x6874_7541, 0x6974_6e65, 0x444d_4163];
    let signature = __cpuid(1).eax;
    let family = ((signature >> 8) & 0xf) + ((signature >> 20) & 0xff);
    amd && family == 0x19
}

/// A backend this CPU was found to support. Only [`Engine::detect`] and
/// [`Engine::with`] make one, and only after checking the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine(EngineKind);

impl Engine {
    /// The fastest backend this CPU supports, if any: IFMA at 512-bit width
    /// where the core runs 512-bit IFMA at full rate, IFMA at 256-bit where it
    /// splits 512-bit operations in two (AMD Zen 4), else AVX2.
    ///
    /// Measured (docs/sigverify-engine.md), strict, one core: on an Intel Xeon
    /// of the Sapphire Rapids generation 8 lanes at 512-bit beat 4 at 256-bit
    /// by 1.4–1.6×; on AMD Zen 5 by 1.8× (250 against 140 K signatures/s);
    /// on AMD Zen 4, where `vpmadd52luq zmm` issues at half the rate of
    /// `ymm`, 256-bit IFMA ~41 K cycles per signature, AVX2 ~90–105 K, the
    /// scalar path ~166 K.
    pub fn detect() -> Option<Engine> {
        EngineKind::ALL
            .into_iter()
            .filter(|&kind| kind != EngineKind::Ifma512 || !splits_512_bit())
            .find_map(Engine::with)
    }

    /// Backend `kind`, if this CPU supports it.
    pub fn with(kind: EngineKind) -> Option<Engine> {
        kind.supported().then_some(Engine(kind))
    }

    /// Every backend this CPU supports, widest first (for tests and benches).
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
        self.by_width(inputs, out, batch::verify_strict);
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
        self.by_width(inputs, out, |engine, inputs, out| {
            batch::verify_cofactored(engine, rule, inputs, out)
        });
    }

    /// Runs `verify` on the inputs with this engine, except a small tail
    /// that [`Engine::split_tail`] gives to a narrower one.
    fn by_width(
        self,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
        verify: impl Fn(Engine, &[SignatureInput<'_>], &mut [SigVerdict]),
    ) {
        assert_eq!(inputs.len(), out.len(), "one verdict slot per input");
        let (head, tail) = self.split_tail(inputs.len());
        let (inputs, tail_inputs) = inputs.split_at(head);
        let (out, tail_out) = out.split_at_mut(head);
        verify(self, inputs, out);
        if let Some(narrow) = tail {
            verify(narrow, tail_inputs, tail_out);
        }
    }

    /// Where `len` signatures would leave their last 8-lane run at most half
    /// full (a batch's tail, or a small batch at light load), that tail goes
    /// to the 4-lane IFMA kernel on the same CPU: a 4-lane run costs about
    /// 0.7 of an 8-lane one on the Intel core measured (docs/sigverify-engine.md).
    /// Returns how many signatures this engine takes, and the engine for the
    /// rest if any.
    fn split_tail(self, len: usize) -> (usize, Option<Engine>) {
        let tail = len % 8;
        if self.0 == EngineKind::Ifma512 && (1..=4).contains(&tail) {
            // Both IFMA kinds need the same CPU features.
            (len - tail, Some(Engine(EngineKind::Ifma)))
        } else {
            (len, None)
        }
    }

    /// Signatures per kernel run: 8 for `ifma512`, 4 otherwise.
    pub fn lanes(self) -> usize {
        match self.0 {
            EngineKind::Ifma512 => 8,
            EngineKind::Ifma | EngineKind::Avx2 => 4,
        }
    }

    /// Runs the strict kernel on up to [`kernel::SHARED_GROUPS`] groups (the
    /// first [`Engine::lanes`] signatures of each), sharing one inversion.
    /// With `keep`, each lane's recomputed R' is written there too.
    fn verify_groups(
        self,
        groups: &[[LaneInput; MAX_LANES]],
        out: &mut [[LaneOutcome; MAX_LANES]],
        keep: Option<&mut [[LanePoint; MAX_LANES]]>,
    ) {
        // Safety: an `Engine` exists only for a kind its CPU supports.
        match self.0 {
            EngineKind::Ifma512 => unsafe { ifma512::verify_groups(groups, out, keep) },
            EngineKind::Ifma => unsafe { ifma::verify_groups(groups, out, keep) },
            EngineKind::Avx2 => unsafe { avx2::verify_groups(groups, out, keep) },
        }
    }

    /// Checks R against the strict core's R' in the first [`Engine::lanes`]
    /// lanes, for the cofactored rules: R's point check and whether
    /// [8](R' − R) = 0.
    fn check_r_cofactored_group(
        self,
        recomputed: &[LanePoint; MAX_LANES],
        r: &[[u8; 32]; MAX_LANES],
    ) -> [(PointCheck, bool); MAX_LANES] {
        let mut out = [(PointCheck::default(), false); MAX_LANES];
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma512 => {
                out = unsafe { ifma512::check_r_cofactored_lanes(recomputed, r) }
            }
            // Safety: as above.
            EngineKind::Ifma => out[..4].copy_from_slice(&unsafe {
                ifma::check_r_cofactored_lanes(first4(recomputed), first4(r))
            }),
            // Safety: as above.
            EngineKind::Avx2 => out[..4].copy_from_slice(&unsafe {
                avx2::check_r_cofactored_lanes(first4(recomputed), first4(r))
            }),
        }
        out
    }

    /// SHA-512 of the first [`Engine::lanes`] padded messages, all at once.
    fn digests(self, padded: &[sha512::Padded; MAX_LANES]) -> [[u8; 64]; MAX_LANES] {
        let mut out = [[0u8; 64]; MAX_LANES];
        let lanes: [&sha512::Padded; MAX_LANES] = core::array::from_fn(|j| &padded[j]);
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma512 => out = unsafe { ifma512::digest(lanes) },
            // Safety: as above.
            EngineKind::Ifma => out[..4].copy_from_slice(&unsafe { ifma::digest(*first4(&lanes)) }),
            // Safety: as above.
            EngineKind::Avx2 => out[..4].copy_from_slice(&unsafe { avx2::digest(*first4(&lanes)) }),
        }
        out
    }

    /// Decodes every encoding and tests its order: two groups of
    /// [`Engine::lanes`] at a time, their square roots interleaved (a square
    /// root is one long chain of dependent products; two overlap).
    fn check_points(self, encodings: &[[u8; 32]]) -> Vec<PointCheck> {
        let lanes = self.lanes();
        let mut out = Vec::with_capacity(encodings.len());
        for pair in encodings.chunks(2 * lanes) {
            let group = |k: usize| -> [[u8; 32]; MAX_LANES] {
                core::array::from_fn(|j| *pair.get(k * lanes + j).unwrap_or(&pair[0]))
            };
            if pair.len() > lanes {
                let [first, second] = self.check_points_groups([&group(0), &group(1)]);
                out.extend_from_slice(&first[..lanes]);
                out.extend_from_slice(&second[..pair.len() - lanes]);
            } else {
                let [first] = self.check_points_groups([&group(0)]);
                out.extend_from_slice(&first[..pair.len()]);
            }
        }
        out
    }

    /// Decodes the first [`Engine::lanes`] point encodings of each of `N`
    /// groups and tests their order.
    fn check_points_groups<const N: usize>(
        self,
        encodings: [&[[u8; 32]; MAX_LANES]; N],
    ) -> [[PointCheck; MAX_LANES]; N] {
        let widen = |four: [[PointCheck; 4]; N]| {
            let mut wide = [[PointCheck::default(); MAX_LANES]; N];
            for (wide, four) in wide.iter_mut().zip(four) {
                wide[..4].copy_from_slice(&four);
            }
            wide
        };
        match self.0 {
            // Safety: the backend's features were detected before `self` was made.
            EngineKind::Ifma512 => unsafe { ifma512::check_points_lanes(encodings) },
            // Safety: as above.
            EngineKind::Ifma => widen(unsafe { ifma::check_points_lanes(encodings.map(first4)) }),
            // Safety: as above.
            EngineKind::Avx2 => widen(unsafe { avx2::check_points_lanes(encodings.map(first4)) }),
        }
    }
}

/// The first four of eight.
fn first4<T>(group: &[T; MAX_LANES]) -> &[T; 4] {
    group[..4].try_into().expect("4 of 8")
}
