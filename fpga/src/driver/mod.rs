//! The host side of the verifier: a submission ring of tagged descriptors, a
//! completion ring of tagged results, and a [`Device`] that moves work from
//! one to the other. The shape is what a PCIe card would use (descriptor
//! rings, tags, out-of-order completion); [`SimDevice`] puts the Verilator
//! model of `rtl/verify_top.v` behind it.

mod ring;
#[cfg(feature = "verilator")]
mod sim_device;

pub use ring::Ring;
#[cfg(feature = "verilator")]
pub use sim_device::{SimDevice, SimStats};

use crate::microcode::ResultCode;
use rampart_sigverify::rule::Rule;

/// Largest message the core hashes, in bytes.
pub const MAX_MESSAGE: usize = 4096;

/// One signature to verify, as handed to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Chosen by the driver; echoed in the completion.
    pub tag: u16,
    /// The rule to verify under.
    pub rule: Rule,
    /// Public key bytes.
    pub pubkey: [u8; 32],
    /// Signature bytes (R ‖ S).
    pub signature: [u8; 64],
    /// Signed bytes (at most [`MAX_MESSAGE`]).
    pub message: Vec<u8>,
}

/// A finished verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// The descriptor's tag.
    pub tag: u16,
    /// The hardware's verdict.
    pub code: ResultCode,
}

/// Why the driver refused or gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The message is longer than the core hashes.
    #[error("message of {len} bytes exceeds the core's {MAX_MESSAGE}-byte limit")]
    MessageTooLong {
        /// The message length.
        len: usize,
    },
    /// The submission ring has no free slot.
    #[error("submission ring full ({capacity} descriptors)")]
    RingFull {
        /// The ring's capacity.
        capacity: usize,
    },
    /// The device made no progress within its cycle budget.
    #[error("device completed nothing in {cycles} cycles with {outstanding} outstanding")]
    Stalled {
        /// Cycles waited.
        cycles: u64,
        /// Descriptors submitted and not completed.
        outstanding: usize,
    },
    /// The device completed a tag that was not outstanding.
    #[error("device completed unknown tag {tag}")]
    UnknownTag {
        /// The tag.
        tag: u16,
    },
}

/// Something that consumes descriptors and produces completions: the
/// simulator here, a card behind DMA rings elsewhere.
pub trait Device {
    /// Lets the device run for at most `max_cycles` of its clock, taking
    /// descriptors from `submissions` and pushing completions onto
    /// `completions` (never past its capacity). Returns the cycles used.
    fn advance(
        &mut self,
        submissions: &mut Ring<Descriptor>,
        completions: &mut Ring<Completion>,
        max_cycles: u64,
    ) -> u64;
}

/// Cycles a device may go without completing anything while work is
/// outstanding before the driver reports it stalled (one verification takes
/// about 60,000 cycles alone).
const STALL_CYCLES: u64 = 2_000_000;

/// Submits signatures, tags them, and collects completions by tag.
pub struct Driver<D> {
    device: D,
    submissions: Ring<Descriptor>,
    completions: Ring<Completion>,
    /// Which tags are outstanding (tags index this).
    outstanding: Vec<bool>,
    in_flight: usize,
    next_tag: usize,
}

impl<D: Device> Driver<D> {
    /// A driver with rings of `depth` entries: the number of verifications
    /// that may be outstanding at once (1 ..= 65,536).
    pub fn new(device: D, depth: usize) -> Self {
        let depth = depth.clamp(1, 1 << 16);
        Driver {
            device,
            submissions: Ring::new(depth),
            completions: Ring::new(depth),
            outstanding: vec![false; depth],
            in_flight: 0,
            next_tag: 0,
        }
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// Descriptors submitted and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Queues one signature, to be verified under `rule`, and returns its
    /// tag.
    ///
    /// # Errors
    ///
    /// [`DriverError::MessageTooLong`], or [`DriverError::RingFull`] when
    /// as many verifications as the rings hold are outstanding.
    pub fn submit(
        &mut self,
        rule: Rule,
        pubkey: &[u8; 32],
        signature: &[u8; 64],
        message: &[u8],
    ) -> Result<u16, DriverError> {
        if message.len() > MAX_MESSAGE {
            return Err(DriverError::MessageTooLong { len: message.len() });
        }
        let depth = self.outstanding.len();
        if self.in_flight == depth {
            return Err(DriverError::RingFull { capacity: depth });
        }
        let mut tag = self.next_tag % depth;
        while self.outstanding[tag] {
            tag = (tag + 1) % depth;
        }
        let descriptor = Descriptor {
            tag: tag as u16,
            rule,
            pubkey: *pubkey,
            signature: *signature,
            message: message.to_vec(),
        };
        if self.submissions.push(descriptor).is_err() {
            return Err(DriverError::RingFull { capacity: depth });
        }
        self.outstanding[tag] = true;
        self.in_flight += 1;
        self.next_tag = (tag + 1) % depth;
        Ok(tag as u16)
    }

    /// Runs the device until a completion is available and returns it, or
    /// `None` when nothing is outstanding.
    ///
    /// # Errors
    ///
    /// [`DriverError::Stalled`] if the device completes nothing for a long
    /// time, [`DriverError::UnknownTag`] if it completes a tag not submitted.
    pub fn wait(&mut self) -> Result<Option<Completion>, DriverError> {
        let mut waited = 0u64;
        loop {
            if let Some(done) = self.completions.pop() {
                return match self.outstanding.get_mut(usize::from(done.tag)) {
                    Some(flag) if *flag => {
                        *flag = false;
                        self.in_flight -= 1;
                        Ok(Some(done))
                    }
                    _ => Err(DriverError::UnknownTag { tag: done.tag }),
                };
            }
            if self.in_flight == 0 {
                return Ok(None);
            }
            if waited >= STALL_CYCLES {
                return Err(DriverError::Stalled {
                    cycles: waited,
                    outstanding: self.in_flight,
                });
            }
            waited += self
                .device
                .advance(&mut self.submissions, &mut self.completions, 4096)
                .max(1);
        }
    }

    /// Verifies every input `(pubkey, signature, message)` under `rule`,
    /// keeping the rings as full as they go, and returns the codes in input
    /// order.
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit) (a too-long message) and
    /// [`wait`](Self::wait).
    pub fn verify_all(
        &mut self,
        rule: Rule,
        inputs: &[(&[u8; 32], &[u8; 64], &[u8])],
    ) -> Result<Vec<ResultCode>, DriverError> {
        if let Some((_, _, msg)) = inputs.iter().find(|(_, _, m)| m.len() > MAX_MESSAGE) {
            return Err(DriverError::MessageTooLong { len: msg.len() });
        }
        let mut codes = vec![ResultCode::Internal; inputs.len()];
        let mut owner = vec![usize::MAX; self.outstanding.len()];
        let mut next = 0usize;
        let mut done = 0usize;
        while done < inputs.len() {
            while next < inputs.len() && self.in_flight < self.outstanding.len() {
                let (pk, sig, msg) = inputs[next];
                let tag = self.submit(rule, pk, sig, msg)?;
                owner[usize::from(tag)] = next;
                next += 1;
            }
            match self.wait()? {
                Some(c) => {
                    if let Some(&index) = owner.get(usize::from(c.tag)) {
                        if let Some(slot) = codes.get_mut(index) {
                            *slot = c.code;
                        }
                    }
                    done += 1;
                }
                None => break,
            }
        }
        Ok(codes)
    }
}
