//! The CPU backend. Where the CPU has AVX-512 IFMA, every rule runs on
//! Rampart's vector engine, four signatures at a time, each judged on its own.
//! Elsewhere: one signature at a time for `strict`, adaptive random-linear-
//! combination batches for the cofactored rules.

use super::{Backend, BatchSizer};
use crate::{
    ed25519::{self, verify_batch_cofactored, SigVerdict, SignatureInput},
    rule::Rule,
};

/// Settings of the CPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuConfig {
    /// Largest random-linear-combination batch (cofactored rules only). Bigger
    /// batches amortize the multiscalar multiplication better; the adaptive
    /// sizer shrinks them when signatures fail. Default 256.
    pub max_batch: usize,
    /// Whether to adapt the batch size to the observed failure rate. Default on.
    pub adaptive: bool,
    /// Whether to use Rampart's vector engine where the CPU has it (AVX-512
    /// IFMA). It checks every signature on its own under every rule, faster on
    /// such CPUs than the batch equation even on clean traffic, and with no
    /// slow path that bad signatures can trigger. Default on; off forces the
    /// scalar and batch paths (for comparisons).
    pub engine: bool,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            max_batch: 256,
            adaptive: true,
            engine: true,
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
}

impl CpuBackend {
    /// A backend with `config`.
    pub fn new(config: CpuConfig) -> Self {
        CpuBackend {
            config,
            sizer: BatchSizer::new(config.max_batch),
        }
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
        let engine = self.config.engine && ed25519::engine_available();
        if !rule.is_cofactored() {
            if engine {
                ed25519::verify_strict_many(inputs, out);
            } else {
                for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
                    *verdict = ed25519::verify(rule, input);
                }
            }
            return;
        }
        if engine {
            ed25519::verify_cofactored_many(rule, inputs, out);
            return;
        }
        let mut start = 0;
        while start < inputs.len() {
            let size = self.next_batch_size();
            let len = if size == 1 { SINGLES_RUN } else { size };
            let end = (start + len).min(inputs.len());
            let (chunk, verdicts) = (&inputs[start..end], &mut out[start..end]);
            let failed = if size == 1 {
                let mut failed = 0;
                for (input, verdict) in chunk.iter().zip(verdicts.iter_mut()) {
                    *verdict = ed25519::verify(rule, input);
                    failed += usize::from(*verdict == Err(ed25519::SigError::Equation));
                }
                failed
            } else {
                verify_batch_cofactored(rule, chunk, verdicts).equation_rejected
            };
            self.sizer.observe(chunk.len(), failed);
            start = end;
        }
    }
}
