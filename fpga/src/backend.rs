//! [`FpgaSimBackend`]: the simulated verifier as a `rampart-sigverify`
//! backend; [`FpgaBackend`] is the same over any [`Device`].
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
//!
//! A device that stalls or misbehaves is a device error, not a verdict: the
//! batch it held is verified on the CPU instead, the error is reported through
//! [`Backend::take_errors`] (the appliance counts it), and a fresh device takes
//! the failed one's place. A broken card must never look like an attack.

use rampart_sigverify::backend::{Backend, CpuBackend, CpuConfig};
use rampart_sigverify::ed25519::{self, SigError, SigVerdict, SignatureInput};
use rampart_sigverify::rule::Rule;

use crate::driver::{Device, Driver, DriverError, SimDevice, SimStats, MAX_MESSAGE};
use crate::microcode::ResultCode;
use crate::sim::SimError;

/// Verifications the backend keeps outstanding on the simulated card (the
/// engine has 16 contexts; a few more keep the front end busy meanwhile).
pub const DEFAULT_DEPTH: usize = 32;

/// Makes a replacement for a device that failed; `None` keeps the old one.
pub type DeviceFactory<D> = Box<dyn FnMut() -> Option<D> + Send>;

/// A card behind the [`Driver`] as a verification backend, with the CPU
/// backend standing by for when the card fails.
pub struct FpgaBackend<D> {
    driver: Driver<D>,
    replace: DeviceFactory<D>,
    cpu: CpuBackend,
    /// Signatures the hardware verified (not delegated).
    hardware_verdicts: u64,
    /// Times the card failed and was replaced.
    device_failures: u64,
    /// Failures not yet handed out by [`Backend::take_errors`].
    unreported: u64,
}

/// The `fpga-sim` backend: one simulated card per backend (per worker).
pub type FpgaSimBackend = FpgaBackend<SimDevice>;

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

impl FpgaBackend<SimDevice> {
    /// A backend with a freshly reset simulated card (and another after each
    /// failure).
    ///
    /// # Errors
    ///
    /// [`SimError`] if the model's ROM files are missing or stale.
    pub fn try_new() -> Result<Self, SimError> {
        Ok(Self::with_device(
            SimDevice::new()?,
            // The ROM files were there when this backend was built; if they
            // vanished since, the old card stays (and fails again, on the CPU).
            Box::new(|| SimDevice::new().ok()),
        ))
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
}

impl<D: Device> FpgaBackend<D> {
    /// A backend over `device`, with `replace` making the card that takes a
    /// failed one's place.
    pub fn with_device(device: D, replace: DeviceFactory<D>) -> Self {
        FpgaBackend {
            driver: Driver::new(device, DEFAULT_DEPTH),
            replace,
            cpu: CpuBackend::new(CpuConfig::default()),
            hardware_verdicts: 0,
            device_failures: 0,
            unreported: 0,
        }
    }

    /// Signatures whose verdict came from the hardware.
    pub fn hardware_verdicts(&self) -> u64 {
        self.hardware_verdicts
    }

    /// Times the card stalled or misbehaved; its batch was verified on the
    /// CPU and a fresh card took its place.
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

    /// Takes a failed card out: counts it and puts a fresh one in its place.
    fn replace_device(&mut self) {
        self.device_failures += 1;
        self.unreported += 1;
        if let Some(device) = (self.replace)() {
            self.driver = Driver::new(device, DEFAULT_DEPTH);
        }
    }
}

impl Default for FpgaSimBackend {
    /// As [`FpgaSimBackend::new`] (panics if the ROM files are unusable).
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Device + Send> Backend for FpgaBackend<D> {
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
                // The card failed, not the signatures: the CPU judges the
                // batch, and the failure is counted as a device error.
                self.replace_device();
                let mut verdicts = vec![Ok(()); hw_inputs.len()];
                self.cpu.verify_signatures(rule, &hw_inputs, &mut verdicts);
                for (&i, verdict) in fits.iter().zip(verdicts) {
                    out[i] = verdict;
                }
            }
        }
    }

    fn take_errors(&mut self) -> u64 {
        std::mem::take(&mut self.unreported)
    }
}
