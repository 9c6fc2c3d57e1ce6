//! Cycle measurements of the simulated verifier, for `rampart bench
//! sigverify --backend fpga-sim` and the documentation: latency of one
//! verification alone, amortized cycles per verification with the engine
//! full, and the verdicts checked against the CPU reference on the way.

use std::time::{Duration, Instant};

use rampart_sigverify::ed25519::{self, SignatureInput};
use rampart_sigverify::rule::Rule;

use crate::driver::{Driver, DriverError, SimDevice, MAX_MESSAGE};
use crate::microcode::ResultCode;
use crate::sim::SimError;

/// The clock the projections assume, in Hz (a conservative UltraScale+
/// target for this design; see docs/fpga.md).
pub const CLOCK_HZ: f64 = 250e6;

/// Contexts in the engine (one verification each).
pub const ENGINE_CONTEXTS: usize = 16;

/// What one measurement found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimMeasurement {
    /// Verifications simulated in the throughput run.
    pub verifications: u64,
    /// Cycles from request accepted to response for one verification with
    /// nothing else in flight.
    pub latency_cycles: u64,
    /// Cycles per verification at steady state, engine full.
    pub amortized_cycles: f64,
    /// Share of cycles in which the field multiplier took an operand pair
    /// (throughput run, ramp-up and drain included).
    pub multiplier_busy: f64,
    /// Simulated cycles in both runs.
    pub simulated_cycles: u64,
    /// Wall time the simulation took.
    pub wall: Duration,
    /// Hardware pass/fail verdicts that differ from the CPU reference.
    pub mismatches: u64,
}

impl SimMeasurement {
    /// Projected verifications per second of one engine at `clock_hz`.
    pub fn verifies_per_sec(&self, clock_hz: f64) -> f64 {
        clock_hz / self.amortized_cycles
    }

    /// Simulated cycles per wall-clock second.
    pub fn simulated_hz(&self) -> f64 {
        self.simulated_cycles as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Why a measurement could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeasureError {
    /// No input fits the core (messages of at most 4,096 bytes).
    #[error("no signature with a message of at most {MAX_MESSAGE} bytes to simulate")]
    NoInput,
    /// The simulated card failed.
    #[error("simulated card: {0}")]
    Device(#[from] DriverError),
    /// The simulated card could not be created.
    #[error("simulated card: {0}")]
    Sim(#[from] SimError),
}

/// Simulates `inputs` (those with messages the core takes) under `rule`:
/// the first alone for latency, then all of them with 32 outstanding for
/// throughput; checks each verdict against the CPU reference.
///
/// # Errors
///
/// [`MeasureError::NoInput`] when nothing fits, or a device failure.
pub fn measure(rule: Rule, inputs: &[SignatureInput<'_>]) -> Result<SimMeasurement, MeasureError> {
    let wire: Vec<(&[u8; 32], &[u8; 64], &[u8])> = inputs
        .iter()
        .filter(|i| i.message.len() <= MAX_MESSAGE)
        .map(|i| (i.pubkey, i.signature, i.message))
        .collect();
    let first = *wire.first().ok_or(MeasureError::NoInput)?;
    let started = Instant::now();

    let mut alone = Driver::new(SimDevice::new()?, 1);
    alone.verify_all(rule, &[first])?;
    let latency_cycles = alone.device().stats().max_latency;

    let mut full = Driver::new(SimDevice::new()?, 2 * ENGINE_CONTEXTS);
    let codes = full.verify_all(rule, &wire)?;
    let wall = started.elapsed();
    let stats = full.device().stats();
    let done = full.device().completion_cycles();
    // Every context finishes once per round of 16 completions: measure whole
    // rounds after the first (the front end fills the engine one job at a
    // time); with too few completions, fall back to the plain average.
    let rounds = done.len().saturating_sub(ENGINE_CONTEXTS + 1) / ENGINE_CONTEXTS;
    let amortized_cycles = if rounds > 0 {
        let (a, b) = (
            done[ENGINE_CONTEXTS],
            done[ENGINE_CONTEXTS + ENGINE_CONTEXTS * rounds],
        );
        (b - a) as f64 / (ENGINE_CONTEXTS * rounds) as f64
    } else {
        stats.cycles as f64 / stats.completed.max(1) as f64
    };
    let mismatches = inputs
        .iter()
        .filter(|i| i.message.len() <= MAX_MESSAGE)
        .zip(&codes)
        .filter(|(input, code)| {
            (**code == ResultCode::Pass) != ed25519::verify(rule, input).is_ok()
        })
        .count() as u64;
    Ok(SimMeasurement {
        verifications: codes.len() as u64,
        latency_cycles,
        amortized_cycles,
        multiplier_busy: stats.mul_cycles as f64 / stats.cycles.max(1) as f64,
        simulated_cycles: stats.cycles + alone.device().stats().cycles,
        wall,
        mismatches,
    })
}
