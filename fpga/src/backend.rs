//! [`FpgaSimBackend`]: the simulated verifier as a `rampart-sigverify`
//! backend; [`FpgaBackend`] is the same over any [`Device`].
//!
//! Under every rule (strict, zip215, zip215 amended) each signature's
//! pass/fail comes from the hardware (the Verilator model of
//! `rtl/verify_top.v`, driven through the [`Driver`]), and so does its
//! reason, as the hardware's result class ([`Reasons::Hardware`], the
//! default). The hardware's classes are coarser than [`SigError`] (it tells
//! no non-canonical R from a mismatched one under the strict rule), and
//! naming the exact reason takes a full CPU verification: a flood of invalid
//! signatures would then cost the CPU as much as verifying them itself and
//! cancel the offload. So the exact reason is computed only for a caller that
//! asks for it ([`Reasons::Exact`]: `rampart verify`'s conformance output),
//! from the CPU reference ([`rampart_sigverify::ed25519::verify`]); should the
//! reference accept what the hardware rejected, the hardware's verdict stands
//! with its own class. Messages longer than the core's 4,096 bytes (never the
//! case for a Solana transaction) are verified on the CPU.
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

/// Where a rejected signature's reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reasons {
    /// The hardware's result class: no CPU work per signature.
    #[default]
    Hardware,
    /// The exact [`SigError`] the CPU reference names (one CPU verification
    /// per rejected signature): for conformance output.
    Exact,
}

/// A card behind the [`Driver`] as a verification backend, with the CPU
/// backend standing by for when the card fails.
pub struct FpgaBackend<D> {
    driver: Driver<D>,
    replace: DeviceFactory<D>,
    cpu: CpuBackend,
    reasons: Reasons,
    /// Signatures verified on the CPU (too long for the card, exact reasons,
    /// a failed card's batch, an internal fault of the card).
    cpu_verifications: u64,
    /// Signatures the hardware verified (not delegated).
    hardware_verdicts: u64,
    /// Times the card failed and was replaced.
    device_failures: u64,
    /// Failures not yet handed out by [`Backend::take_errors`].
    unreported: u64,
}

/// The `fpga-sim` backend: one simulated card per backend (per worker).
pub type FpgaSimBackend = FpgaBackend<SimDevice>;

/// The reason the hardware's result class names; `None` for a pass, and for
/// the card's internal fault, which is no verdict at all.
pub fn hardware_reason(code: ResultCode) -> Option<SigError> {
    match code {
        ResultCode::PubkeyInvalid => Some(SigError::PubkeyInvalid),
        ResultCode::PubkeySmallOrder => Some(SigError::PubkeySmallOrder),
        ResultCode::SNonCanonical => Some(SigError::SNonCanonical),
        ResultCode::RSmallOrder => Some(SigError::RSmallOrder),
        ResultCode::RInvalid => Some(SigError::RInvalid),
        ResultCode::Equation => Some(SigError::Equation),
        ResultCode::Pass | ResultCode::Internal => None,
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
            reasons: Reasons::Hardware,
            cpu_verifications: 0,
            hardware_verdicts: 0,
            device_failures: 0,
            unreported: 0,
        }
    }

    /// The same backend naming rejected signatures' reasons as `reasons` says.
    pub fn with_reasons(mut self, reasons: Reasons) -> Self {
        self.reasons = reasons;
        self
    }

    /// Signatures verified on the CPU: with [`Reasons::Hardware`] only those
    /// too long for the card, and the batches of a card that failed.
    pub fn cpu_verifications(&self) -> u64 {
        self.cpu_verifications
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
            self.cpu_verifications += 1;
            out[i] = ed25519::verify(rule, &inputs[i]);
        }
        let hw_inputs: Vec<SignatureInput<'_>> = fits.iter().map(|&i| inputs[i]).collect();
        match self.hardware_codes(rule, &hw_inputs) {
            Ok(codes) => {
                for (&i, code) in fits.iter().zip(codes) {
                    out[i] = match (code, hardware_reason(code), self.reasons) {
                        (ResultCode::Pass, _, _) => Ok(()),
                        (_, Some(class), Reasons::Hardware) => Err(class),
                        (_, Some(class), Reasons::Exact) => {
                            self.cpu_verifications += 1;
                            match ed25519::verify(rule, &inputs[i]) {
                                Err(reason) => Err(reason),
                                Ok(()) => Err(class),
                            }
                        }
                        // The card faulted on this one: no verdict from it.
                        // The CPU judges it, and the fault is a device error.
                        (_, None, _) => {
                            self.unreported += 1;
                            self.cpu_verifications += 1;
                            ed25519::verify(rule, &inputs[i])
                        }
                    };
                }
            }
            Err(_) => {
                // The card failed, not the signatures: the CPU judges the
                // batch, and the failure is counted as a device error.
                self.replace_device();
                self.cpu_verifications += hw_inputs.len() as u64;
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
