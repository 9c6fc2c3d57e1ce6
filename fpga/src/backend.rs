//! [`FpgaSimBackend`]: the simulated verifier as a `rampart-sigverify`
//! backend.
//!
//! Under every rule (strict, zip215, zip215 amended) each signature's
//! pass/fail comes from the hardware (the Verilator model of
//! `rtl/verify_top.v`, driven through the [`Driver`]). The hardware's reason
//! codes are coarser than [`SigError`] (for instance it tells no
//! non-canonical R from a mismatched one under the strict rule), so for a
//! signature the hardware rejects, the reason is taken from the CPU reference
//! ([`rampart_sigverify::ed25519::verify`]); should the reference accept it,
//! the hardware's verdict stands with its own coarse reason. Messages longer
//! than the core's 4,096 bytes (never the case for a Solana transaction) are
//! verified on the CPU.

use rampart_sigverify::backend::Backend;
use rampart_sigverify::ed25519::{self, SigError, SigVerdict, SignatureInput};
use rampart_sigverify::rule::Rule;

use crate::driver::{Driver, DriverError, SimDevice, SimStats, MAX_MESSAGE};
use crate::microcode::ResultCode;
use crate::sim::SimError;

/// Verifications the backend keeps outstanding on the simulated card (the
/// engine has 16 contexts; a few more keep the front end busy meanwhile).
pub const DEFAULT_DEPTH: usize = 32;

/// The `fpga-sim` backend: one simulated card per backend (per worker).
pub struct FpgaSimBackend {
    driver: Driver<SimDevice>,
    /// Signatures the hardware verified (not delegated).
    hardware_verdicts: u64,
    /// Times the simulated card failed and was replaced.
    device_failures: u64,
}

/// The hardware's reason for a code, where the CPU reference does not give
/// one.
fn coarse_reason(code: ResultCode) -> SigError {
    match code {
        ResultCode::PubkeyInvalid => SigError::PubkeyInvalid,
        ResultCode::PubkeySmallOrder => SigError::PubkeySmallOrder,
        ResultCode::SNonCanonical => SigError::SNonCanonical,
        ResultCode::RSmallOrder => SigError::RSmallOrder,
        ResultCode::RInvalid => SigError::RInvalid,
        ResultCode::Pass | ResultCode::Equation | ResultCode::Internal => SigError::Equation,
    }
}

impl FpgaSimBackend {
    /// A backend with a freshly reset simulated card.
    ///
    /// # Errors
    ///
    /// [`SimError`] if the model's ROM files are missing or stale.
    pub fn try_new() -> Result<Self, SimError> {
        Ok(FpgaSimBackend {
            driver: Driver::new(SimDevice::new()?, DEFAULT_DEPTH),
            hardware_verdicts: 0,
            device_failures: 0,
        })
    }

    /// As [`try_new`](Self::try_new).
    ///
    /// # Panics
    ///
    /// If the model's ROM files (`rtl/*.hex` in the source tree this crate
    /// was built from) are missing or stale.
    pub fn new() -> Self {
        match Self::try_new() {
            Ok(backend) => backend,
            Err(error) => panic!("fpga-sim backend: {error}"),
        }
    }

    /// Cycle accounting of the simulated card.
    pub fn stats(&self) -> SimStats {
        self.driver.device().stats()
    }

    /// Signatures whose verdict came from the simulated hardware.
    pub fn hardware_verdicts(&self) -> u64 {
        self.hardware_verdicts
    }

    /// Times the simulated card stalled or misbehaved; its batch was
    /// rejected and a fresh card took its place.
    pub fn device_failures(&self) -> u64 {
        self.device_failures
    }

    /// Verdicts from the hardware for `inputs` under `rule` (all with
    /// messages of at most [`MAX_MESSAGE`] bytes).
    ///
    /// # Errors
    ///
    /// A stalled or misbehaving device.
    pub fn hardware_codes(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
    ) -> Result<Vec<ResultCode>, DriverError> {
        let wire: Vec<(&[u8; 32], &[u8; 64], &[u8])> = inputs
            .iter()
            .map(|i| (i.pubkey, i.signature, i.message))
            .collect();
        let codes = self.driver.verify_all(rule, &wire)?;
        self.hardware_verdicts += codes.len() as u64;
        Ok(codes)
    }
}

impl Default for FpgaSimBackend {
    /// As [`FpgaSimBackend::new`] (panics if the ROM files are unusable).
    fn default() -> Self {
        Self::new()
    }
}

impl Backend for FpgaSimBackend {
    fn name(&self) -> &'static str {
        "fpga-sim"
    }

    fn verify_signatures(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) {
        let (fits, too_long): (Vec<usize>, Vec<usize>) =
            (0..inputs.len()).partition(|&i| inputs[i].message.len() <= MAX_MESSAGE);
        for i in too_long {
            out[i] = ed25519::verify(rule, &inputs[i]);
        }
        let hw_inputs: Vec<SignatureInput<'_>> = fits.iter().map(|&i| inputs[i]).collect();
        match self.hardware_codes(rule, &hw_inputs) {
            Ok(codes) => {
                for (&i, code) in fits.iter().zip(codes) {
                    out[i] = if code == ResultCode::Pass {
                        Ok(())
                    } else {
                        match ed25519::verify(rule, &inputs[i]) {
                            Err(reason) => Err(reason),
                            Ok(()) => Err(coarse_reason(code)),
                        }
                    };
                }
            }
            Err(_) => {
                // A broken simulator must not pass anything: fail the batch,
                // and start over with a fresh card.
                self.device_failures += 1;
                for &i in &fits {
                    out[i] = Err(SigError::Equation);
                }
                // The ROM files were there when this backend was built; if
                // they vanished since, keep the old card (it fails again).
                if let Ok(device) = SimDevice::new() {
                    self.driver = Driver::new(device, DEFAULT_DEPTH);
                }
            }
        }
    }
}
