//! The CPU backend. Strict: Rampart's vector engine
//! ([`crate::ed25519::engine`]), four signatures at a time, where the CPU has
//! AVX-512 IFMA or AVX2, one signature at a time on the scalar path elsewhere.
//! Cofactored rules: the engine on IFMA CPUs; elsewhere adaptive random-linear-
//! combination batches, whose one-by-one runs use the AVX2 engine if present.

use std::{fmt, str::FromStr};

use super::{Backend, BatchSizer};
#[cfg(target_arch = "x86_64")]
use crate::ed25519::engine::{Engine, EngineKind, MIN_INPUTS};
use crate::{
    ed25519::{self, verify_batch_cofactored, SigVerdict, SignatureInput},
    rule::Rule,
};

/// Which path the CPU backend verifies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// Rampart's vector engine on its fastest backend the CPU has (AVX-512
    /// IFMA at the width the core runs best, else AVX2), the scalar and batch
    /// paths on CPUs with neither.
    #[default]
    Auto,
    /// The IFMA backend of the engine at 512-bit width, eight lanes.
    Ifma512,
    /// The IFMA backend of the engine at 256-bit width, four lanes.
    Ifma,
    /// The AVX2 backend of the engine (what `auto` picks without IFMA).
    Avx2,
    /// No engine: scalar singles for strict, batch equations for the
    /// cofactored rules.
    Off,
}

impl EngineChoice {
    /// Every choice, by command-line name.
    pub const ALL: [EngineChoice; 5] = [
        EngineChoice::Auto,
        EngineChoice::Ifma512,
        EngineChoice::Ifma,
        EngineChoice::Avx2,
        EngineChoice::Off,
    ];

    /// The command-line name.
    pub fn label(self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Ifma512 => "ifma512",
            EngineChoice::Ifma => "ifma",
            EngineChoice::Avx2 => "avx2",
            EngineChoice::Off => "off",
        }
    }

    /// What this choice runs on this CPU: `ifma512`, `ifma`, `avx2` or `scalar`; `None`
    /// when a named backend is not supported here.
    pub fn resolve(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            self.engine().map_or(
                if matches!(self, EngineChoice::Auto | EngineChoice::Off) {
                    Some("scalar")
                } else {
                    None
                },
                |engine| Some(engine.kind().label()),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            matches!(self, EngineChoice::Auto | EngineChoice::Off).then_some("scalar")
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn engine(self) -> Option<Engine> {
        match self {
            EngineChoice::Auto => Engine::detect(),
            EngineChoice::Ifma512 => Engine::with(EngineKind::Ifma512),
            EngineChoice::Ifma => Engine::with(EngineKind::Ifma),
            EngineChoice::Avx2 => Engine::with(EngineKind::Avx2),
            EngineChoice::Off => None,
        }
    }
}

impl fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The name given is not an engine choice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {given:?}: expected auto, ifma512, ifma, avx2 or off")]
pub struct UnknownEngineChoice {
    /// What was given.
    pub given: String,
}

impl FromStr for EngineChoice {
    type Err = UnknownEngineChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineChoice::ALL
            .into_iter()
            .find(|choice| choice.label() == s)
            .ok_or_else(|| UnknownEngineChoice {
                given: s.to_owned(),
            })
    }
}

/// Settings of the CPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuConfig {
    /// Largest random-linear-combination batch (cofactored rules only). Bigger
    /// batches amortize the multiscalar multiplication better; the adaptive
    /// sizer shrinks them when signatures fail. Default 256.
    pub max_batch: usize,
    /// Whether to adapt the batch size to the observed failure rate. Default on.
    pub adaptive: bool,
    /// Whether to use Rampart's vector engine, and which backend. The engine
    /// checks every signature on its own under every rule: on IFMA CPUs that
    /// is faster than the batch equation even on clean traffic, and leaves no
    /// slow path for bad signatures to trigger; the AVX2 backend serves
    /// strict and the batches' one-by-one runs. Default `auto`. A named
    /// backend the CPU lacks falls back to the scalar paths
    /// ([`EngineChoice::resolve`] tells beforehand).
    pub engine: EngineChoice,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            max_batch: 256,
            adaptive: true,
            engine: EngineChoice::Auto,
        }
    }
}

/// How many signatures to check one by one before looking at the failure rate
/// again, while the sizer says batching does not pay.
const SINGLES_RUN: usize = 64;

/// Verifies on the calling thread. One instance per worker thread.
#[derive(Debug, Clone)]
pub struct CpuBackend {
    config: CpuConfig,
    sizer: BatchSizer,
    #[cfg(target_arch = "x86_64")]
    engine: Option<Engine>,
}

impl CpuBackend {
    /// A backend with `config`.
    pub fn new(config: CpuConfig) -> Self {
        CpuBackend {
            config,
            sizer: BatchSizer::new(config.max_batch),
            #[cfg(target_arch = "x86_64")]
            engine: config.engine.engine(),
        }
    }

    /// What this backend verifies on: `ifma512`, `ifma`, `avx2` or `scalar`.
    pub fn path(&self) -> &'static str {
        #[cfg(target_arch = "x86_64")]
        if let Some(engine) = self.engine {
            return engine.kind().label();
        }
        "scalar"
    }

    /// The engine, if this backend has one and `inputs` fill its lanes.
    #[cfg(target_arch = "x86_64")]
    fn engine_for(&self, inputs: &[SignatureInput<'_>]) -> Option<Engine> {
        self.engine.filter(|_| inputs.len() >= MIN_INPUTS)
    }

    /// Runs `inputs` whole on the vector engine where that is the faster path
    /// for `rule`; `false` if it did not. Strict: any backend. Cofactored:
    /// only IFMA, which beats the batch equation even on clean traffic
    /// (~73 K/s against ~51 K/s on Zen 4); the AVX2 backend (~30 K/s) does
    /// not, so there it only takes the runs the batch sizer checks one by one.
    fn try_engine(
        &self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(engine) = self.engine_for(inputs) {
            if !rule.is_cofactored() {
                engine.verify_strict(inputs, out);
                return true;
            }
            if matches!(engine.kind(), EngineKind::Ifma | EngineKind::Ifma512) {
                engine.verify_cofactored(rule, inputs, out);
                return true;
            }
        }
        let _ = (rule, inputs, out);
        false
    }

    /// Checks `inputs` one by one under a cofactored rule (on the engine when
    /// there is one) and returns how many failed the equation.
    fn check_singly(
        &self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(engine) = self.engine_for(inputs) {
            engine.verify_cofactored(rule, inputs, out);
            return out
                .iter()
                .filter(|v| **v == Err(ed25519::SigError::Equation))
                .count();
        }
        let mut failed = 0;
        for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
            *verdict = ed25519::verify(rule, input);
            failed += usize::from(*verdict == Err(ed25519::SigError::Equation));
        }
        failed
    }

    /// The batch size the next cofactored batch will use.
    pub fn next_batch_size(&self) -> usize {
        if self.config.adaptive {
            self.sizer.next_size()
        } else {
            self.config.max_batch.max(1)
        }
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        CpuBackend::new(CpuConfig::default())
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn verify_signatures(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) {
        if self.try_engine(rule, inputs, out) {
            return;
        }
        if !rule.is_cofactored() {
            for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
                *verdict = ed25519::verify(rule, input);
            }
            return;
        }
        let mut start = 0;
        while start < inputs.len() {
            let size = self.next_batch_size();
            let len = if size == 1 { SINGLES_RUN } else { size };
            let end = (start + len).min(inputs.len());
            let (chunk, verdicts) = (&inputs[start..end], &mut out[start..end]);
            let failed = if size == 1 {
                self.check_singly(rule, chunk, verdicts)
            } else {
                verify_batch_cofactored(rule, chunk, verdicts).equation_rejected
            };
            self.sizer.observe(chunk.len(), failed);
            start = end;
        }
    }
}
