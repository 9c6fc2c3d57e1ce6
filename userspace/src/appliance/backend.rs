//! The one factory for verification backends, used by `rampart run`,
//! `rampart verify` and `rampart bench sigverify` alike.

use rampart_sigverify::backend::{Backend, BackendKind, CpuBackend, CpuConfig, EngineChoice};

/// Which backend to build and how.
#[derive(Debug, Clone, Copy)]
pub struct BackendSpec {
    /// `cpu` or `fpga-sim`.
    pub kind: BackendKind,
    /// The CPU backend's path (ignored by `fpga-sim`).
    pub engine: EngineChoice,
    /// Largest random-linear-combination batch (cofactored rules without the engine).
    pub max_rlc_batch: usize,
    /// Let the CPU backend size its batches from the failure rate it sees.
    pub adaptive: bool,
    /// Name every rejected signature's exact reason, even where that costs a
    /// CPU verification behind a card (`rampart verify`); otherwise a card's
    /// own result class stands.
    pub exact_reasons: bool,
}

/// A backend that cannot be built here.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The chosen CPU engine needs features this CPU lacks.
    #[error("engine {engine} needs CPU features this machine does not have (try --engine auto)")]
    EngineUnavailable {
        /// The engine asked for.
        engine: EngineChoice,
    },
    /// This build has no simulated card.
    #[error(
        "backend fpga-sim is not part of this build: rebuild rampart with the `fpga-sim` \
         feature (needs Verilator, see deploy/setup.sh); use --backend cpu"
    )]
    FpgaSimNotBuilt,
    /// The simulated card failed to start.
    #[cfg(feature = "fpga-sim")]
    #[error("starting the simulated FPGA card: {0}")]
    FpgaSim(#[from] rampart_fpga::sim::SimError),
}

/// Builds one backend (one per verify worker).
///
/// # Errors
/// The engine is unavailable on this CPU, or the simulated card is not built
/// or does not start.
pub fn make_backend(spec: &BackendSpec) -> Result<Box<dyn Backend>, BackendError> {
    match spec.kind {
        BackendKind::Cpu => {
            if spec.engine.resolve().is_none() {
                return Err(BackendError::EngineUnavailable {
                    engine: spec.engine,
                });
            }
            Ok(Box::new(CpuBackend::new(CpuConfig {
                max_batch: spec.max_rlc_batch,
                adaptive: spec.adaptive,
                engine: spec.engine,
            })))
        }
        BackendKind::FpgaSim => fpga_sim(spec.exact_reasons),
    }
}

#[cfg(feature = "fpga-sim")]
fn fpga_sim(exact_reasons: bool) -> Result<Box<dyn Backend>, BackendError> {
    use rampart_fpga::backend::{FpgaSimBackend, Reasons};
    let reasons = if exact_reasons {
        Reasons::Exact
    } else {
        Reasons::Hardware
    };
    Ok(Box::new(FpgaSimBackend::try_new()?.with_reasons(reasons)))
}

#[cfg(not(feature = "fpga-sim"))]
fn fpga_sim(_exact_reasons: bool) -> Result<Box<dyn Backend>, BackendError> {
    Err(BackendError::FpgaSimNotBuilt)
}

/// The verify path a backend spec takes on this machine, for logs and
/// benchmark reports: `ifma`, `avx2`, `scalar` or `fpga-sim`.
pub fn verify_path(spec: &BackendSpec) -> &'static str {
    match spec.kind {
        BackendKind::Cpu => spec.engine.resolve().unwrap_or("scalar"),
        BackendKind::FpgaSim => "fpga-sim",
    }
}
