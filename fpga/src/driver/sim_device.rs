//! [`SimDevice`]: the Verilator model of `rtl/verify_top.v` behind the
//! [`Device`] interface, feeding its pins from the submission ring one clock
//! at a time and recording cycle counts.

use super::{Completion, Descriptor, Device, Ring};
use crate::microcode::ResultCode;
use crate::sim::{SimError, VerifySim, WireRequest};
use rampart_sigverify::rule::Rule;

/// The rule's code on the `req_rule` pins.
fn rule_code(rule: Rule) -> u8 {
    match rule {
        Rule::Strict => 0,
        Rule::Zip215 => 1,
        Rule::Zip215Amended => 2,
    }
}

/// Cycle accounting of a simulated device since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Clock cycles simulated.
    pub cycles: u64,
    /// Cycles in which the field multiplier took an operand pair.
    pub mul_cycles: u64,
    /// Verifications completed.
    pub completed: u64,
    /// Sum over completions of cycles from header accepted to response.
    pub latency_cycles: u64,
    /// Largest such latency.
    pub max_latency: u64,
}

/// The simulated card.
pub struct SimDevice {
    sim: VerifySim,
    /// Request being streamed in: descriptor, header taken, words sent.
    current: Option<(Descriptor, bool, usize)>,
    /// Cycle at which each tag's header was accepted.
    started: Vec<u64>,
    /// Cycle of each completion, in completion order.
    finished: Vec<u64>,
    stats: SimStats,
}

fn message_word(message: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    let chunk = message
        .get(8 * i..message.len().min(8 * i + 8))
        .unwrap_or(&[]);
    w[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

impl SimDevice {
    /// A freshly reset simulated verifier.
    ///
    /// # Errors
    ///
    /// [`SimError`] if the model's ROM files are missing or stale.
    pub fn new() -> Result<Self, SimError> {
        Ok(SimDevice {
            sim: VerifySim::new()?,
            current: None,
            started: vec![0; 1 << 16],
            finished: Vec::new(),
            stats: SimStats::default(),
        })
    }

    /// The cycle at which each completion so far left the card, in order.
    pub fn completion_cycles(&self) -> &[u64] {
        &self.finished
    }

    /// Cycle accounting so far.
    pub fn stats(&self) -> SimStats {
        SimStats {
            cycles: self.sim.cycles(),
            mul_cycles: self.sim.mul_cycles(),
            ..self.stats
        }
    }
}

impl Device for SimDevice {
    fn advance(
        &mut self,
        submissions: &mut Ring<Descriptor>,
        completions: &mut Ring<Completion>,
        max_cycles: u64,
    ) -> u64 {
        let start = self.sim.cycles();
        while self.sim.cycles() - start < max_cycles {
            if self.current.is_none() {
                self.current = submissions.pop().map(|d| (d, false, 0));
            }
            // Drive the pins for this clock.
            let mut offered_header = false;
            let mut offered_word = false;
            match &self.current {
                Some((d, false, _)) => {
                    self.sim.set_request(Some(&WireRequest {
                        tag: d.tag,
                        pubkey: d.pubkey,
                        signature: d.signature,
                        len: d.message.len() as u16,
                        rule: rule_code(d.rule),
                    }));
                    self.sim.set_msg(None);
                    offered_header = true;
                }
                Some((d, true, sent)) if 8 * sent < d.message.len() => {
                    self.sim.set_request(None);
                    self.sim.set_msg(Some(message_word(&d.message, *sent)));
                    offered_word = true;
                }
                _ => {
                    self.sim.set_request(None);
                    self.sim.set_msg(None);
                }
            }
            let room = !completions.is_full();
            self.sim.set_resp_ready(room);
            self.sim.eval();
            let header_taken = offered_header && self.sim.req_ready();
            let word_taken = offered_word && self.sim.msg_ready();
            let response = self.sim.response().filter(|_| room);
            let now = self.sim.cycles();
            self.sim.tick();

            if let Some((d, header, sent)) = &mut self.current {
                if header_taken {
                    *header = true;
                    self.started[usize::from(d.tag)] = now;
                }
                if word_taken {
                    *sent += 1;
                }
                if *header && 8 * *sent >= d.message.len() {
                    self.current = None;
                }
            }
            if let Some((tag, code)) = response {
                let latency = now + 1 - self.started[usize::from(tag)];
                self.stats.completed += 1;
                self.finished.push(now + 1);
                self.stats.latency_cycles += latency;
                self.stats.max_latency = self.stats.max_latency.max(latency);
                // Cannot be refused: `room` was checked before the handshake.
                let _ = completions.push(Completion {
                    tag,
                    code: ResultCode::from_bits(code),
                });
                // Hand completions back promptly so the host can refill.
                break;
            }
        }
        self.sim.cycles() - start
    }
}
