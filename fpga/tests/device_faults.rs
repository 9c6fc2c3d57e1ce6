//! A failing card is a device error, never a verdict: when the simulated card
//! stalls, the `fpga-sim` backend verifies the batch on the CPU (verdicts,
//! reasons included, equal the CPU backend's), reports the failure through
//! `take_errors` for the appliance to count, and puts a fresh card in its
//! place.
#![cfg(feature = "verilator")]

use rampart_fpga::backend::{FpgaBackend, Reasons};
use rampart_fpga::driver::{Completion, Descriptor, Device, Ring, SimDevice};
use rampart_sigverify::backend::{Backend, CpuBackend, CpuConfig};
use rampart_sigverify::Rule;
use rampart_testkit::{self as cases, Case, MessageLengths, Rng};

/// A real simulated card that wedges after `healthy_for` clock cycles: from
/// then on it takes no descriptor and completes nothing, as a hung card or a
/// dead DMA engine would.
struct Wedging {
    card: SimDevice,
    healthy_for: u64,
    used: u64,
}

impl Wedging {
    fn new(healthy_for: u64) -> Self {
        Wedging {
            card: SimDevice::new().expect("simulated card"),
            healthy_for,
            used: 0,
        }
    }
}

impl Device for Wedging {
    fn advance(
        &mut self,
        submissions: &mut Ring<Descriptor>,
        completions: &mut Ring<Completion>,
        max_cycles: u64,
    ) -> u64 {
        let left = self.healthy_for.saturating_sub(self.used);
        if left == 0 {
            return max_cycles;
        }
        let used = self
            .card
            .advance(submissions, completions, max_cycles.min(left));
        self.used += used;
        used
    }
}

fn cpu_verdicts(rule: Rule, cases: &[Case]) -> Vec<rampart_sigverify::SigVerdict> {
    let inputs: Vec<_> = cases.iter().map(Case::input).collect();
    let mut want = vec![Ok(()); inputs.len()];
    CpuBackend::new(CpuConfig::default()).verify_signatures(rule, &inputs, &mut want);
    want
}

fn fpga_verdicts<D: Device + Send>(
    backend: &mut FpgaBackend<D>,
    rule: Rule,
    cases: &[Case],
) -> Vec<rampart_sigverify::SigVerdict> {
    let inputs: Vec<_> = cases.iter().map(Case::input).collect();
    let mut got = vec![Ok(()); inputs.len()];
    backend.verify_signatures(rule, &inputs, &mut got);
    got
}

#[test]
fn a_card_that_wedges_mid_batch_costs_no_verdict_and_is_counted() {
    let cases = cases::generate_with(&mut Rng(0xfa17), 64, MessageLengths::Long);
    assert!(
        cases.iter().any(|c| c.input().message.len() < 300) && cases.len() == 64,
        "a mixed batch"
    );
    // Healthy for about three verifications' worth of cycles, then wedged;
    // its replacement is healthy.
    // Exact reasons, so that the fresh card's verdicts equal the CPU's too.
    let mut backend = FpgaBackend::with_device(
        Wedging::new(200_000),
        Box::new(|| Some(Wedging::new(u64::MAX))),
    )
    .with_reasons(Reasons::Exact);
    for rule in Rule::ALL {
        let want = cpu_verdicts(rule, &cases);
        assert!(want.iter().any(Result::is_ok) && want.iter().any(Result::is_err));
        assert_eq!(
            fpga_verdicts(&mut backend, rule, &cases),
            want,
            "{rule}: the verdicts of the CPU, not bad signatures"
        );
    }
    assert_eq!(backend.device_failures(), 1, "the first card, once");
    assert_eq!(backend.take_errors(), 1, "reported to be counted");
    assert_eq!(backend.take_errors(), 0, "and reported once");
    assert_eq!(
        backend.hardware_verdicts(),
        2 * cases.len() as u64,
        "the fresh card judged the other two rules"
    );
}

#[test]
fn a_card_that_never_works_falls_back_on_every_batch() {
    let cases = cases::generate_with(&mut Rng(0xdead), 24, MessageLengths::Short);
    let mut backend = FpgaBackend::with_device(Wedging::new(0), Box::new(|| Some(Wedging::new(0))));
    for (batch, rule) in Rule::ALL.into_iter().enumerate() {
        assert_eq!(
            fpga_verdicts(&mut backend, rule, &cases),
            cpu_verdicts(rule, &cases)
        );
        assert_eq!(backend.device_failures(), batch as u64 + 1);
    }
    assert_eq!(backend.take_errors(), 3);
    assert_eq!(backend.hardware_verdicts(), 0);
}
