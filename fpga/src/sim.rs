//! Cycle-accurate simulation of the RTL through its Verilator models:
//! `rtl/sha512.v` ([`Sha512Sim`]), `rtl/fe_mul.v` ([`FeMulSim`]),
//! `rtl/sha512_msg.v` ([`MsgHashSim`]), `rtl/scalar_reduce.v`
//! ([`ReduceSim`]), the engine alone `rtl/engine.v` ([`EngineSim`]) and the
//! whole verifier `rtl/verify_top.v` ([`VerifySim`]).
//!
//! All `unsafe` of the crate lives here and in the submodules: each model is
//! a C++ object behind a C-ABI shim in `csrc/`.

mod engine;
mod msg_hash;
mod reduce;
mod verify;

pub use engine::{EngineResponse, EngineSim};
pub use msg_hash::MsgHashSim;
pub use reduce::ReduceSim;
pub use verify::{check_rom_files, SimError, VerifySim, WireRequest, ROM_FILES};

use std::ffi::c_void;
use std::ptr::NonNull;

use crate::{pad_message, FE_MUL_LATENCY};

extern "C" {
    fn rampart_sha512_new() -> *mut c_void;
    fn rampart_sha512_free(m: *mut c_void);
    fn rampart_sha512_set_rst(m: *mut c_void, v: u8);
    fn rampart_sha512_set_in_valid(m: *mut c_void, v: u8);
    fn rampart_sha512_set_first(m: *mut c_void, v: u8);
    fn rampart_sha512_set_block_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_sha512_in_ready(m: *mut c_void) -> u8;
    fn rampart_sha512_digest_valid(m: *mut c_void) -> u8;
    fn rampart_sha512_digest_word(m: *mut c_void, i: u32) -> u64;
    fn rampart_sha512_eval(m: *mut c_void);
    fn rampart_sha512_tick(m: *mut c_void);

    fn rampart_fe_mul_new() -> *mut c_void;
    fn rampart_fe_mul_free(m: *mut c_void);
    fn rampart_fe_mul_set_rst(m: *mut c_void, v: u8);
    fn rampart_fe_mul_set_in_valid(m: *mut c_void, v: u8);
    fn rampart_fe_mul_set_a_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_fe_mul_set_b_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_fe_mul_out_valid(m: *mut c_void) -> u8;
    fn rampart_fe_mul_r_word(m: *mut c_void, i: u32) -> u64;
    fn rampart_fe_mul_eval(m: *mut c_void);
    fn rampart_fe_mul_tick(m: *mut c_void);
}

/// Give up on a block if the core has not finished it after this many cycles
/// (a hung design must fail the test, not hang it).
const MAX_CYCLES_PER_BLOCK: u64 = 1000;

/// A simulated SHA-512 core: owns one Verilator model instance, reset on
/// creation, and counts every clock cycle it is driven through.
pub struct Sha512Sim {
    model: NonNull<c_void>,
    cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for Sha512Sim {}

impl Sha512Sim {
    /// Creates a model and holds it in reset for two cycles.
    pub fn new() -> Self {
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_sha512_new() };
        let model = NonNull::new(raw).expect("rampart_sha512_new returned null");
        let mut sim = Sha512Sim { model, cycles: 0 };
        sim.set_rst(true);
        sim.set_in_valid(false);
        sim.set_first(false);
        sim.tick();
        sim.tick();
        sim.set_rst(false);
        sim.eval();
        sim
    }

    /// Clock cycles driven so far (reset cycles included).
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Hashes `message`: pads it on the host, feeds the blocks (the first
    /// with `first` set), clocks the core until each block's digest is valid,
    /// and returns the final digest.
    pub fn digest(&mut self, message: &[u8]) -> [u8; 64] {
        for (n, block) in pad_message(message).iter().enumerate() {
            self.hash_block(block, n == 0);
        }
        let mut out = [0u8; 64];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.digest_word(i).to_be_bytes());
        }
        out
    }

    /// Feeds one padded block (`W0..W15`) and clocks until the core reports
    /// its digest valid. Returns the cycles this block took.
    pub fn hash_block(&mut self, words: &[u64; 16], first: bool) -> u64 {
        let start = self.cycles;
        // W0 sits in the port's most significant word (port word 15).
        for (j, &w) in words.iter().enumerate() {
            self.set_block_word(15 - j as u32, w);
        }
        self.set_first(first);
        self.set_in_valid(true);
        self.eval();
        while !self.in_ready() {
            self.tick();
            assert!(
                self.cycles - start < MAX_CYCLES_PER_BLOCK,
                "sha512 core never ready"
            );
        }
        self.tick(); // accept edge
        self.set_in_valid(false);
        self.set_first(false);
        self.eval();
        while !self.digest_valid() {
            self.tick();
            assert!(
                self.cycles - start < MAX_CYCLES_PER_BLOCK,
                "sha512 core never finished"
            );
        }
        self.cycles - start
    }

    /// Digest word `i` (0 = H0) as currently shown on the `digest` port.
    fn digest_word(&mut self, i: usize) -> u64 {
        // Port word 7 holds H0.
        let port_word = 7 - i as u32;
        // Safety: `model` is a live model owned by `self`; the shim ignores
        // out-of-range indices.
        unsafe { rampart_sha512_digest_word(self.model.as_ptr(), port_word) }
    }

    fn set_block_word(&mut self, i: u32, v: u64) {
        // Safety: `model` is a live model owned by `self`; the shim ignores
        // out-of-range indices.
        unsafe { rampart_sha512_set_block_word(self.model.as_ptr(), i, v) }
    }

    fn set_rst(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_set_rst(self.model.as_ptr(), v.into()) }
    }

    fn set_in_valid(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_set_in_valid(self.model.as_ptr(), v.into()) }
    }

    fn set_first(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_set_first(self.model.as_ptr(), v.into()) }
    }

    fn in_ready(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_in_ready(self.model.as_ptr()) != 0 }
    }

    fn digest_valid(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_digest_valid(self.model.as_ptr()) != 0 }
    }

    fn eval(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_eval(self.model.as_ptr()) }
    }

    fn tick(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_tick(self.model.as_ptr()) }
        self.cycles += 1;
    }
}

impl Default for Sha512Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sha512Sim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_sha512_new`, is freed exactly
        // once here, and is not used afterwards.
        unsafe { rampart_sha512_free(self.model.as_ptr()) }
    }
}

/// A simulated field multiplier mod 2^255 - 19 (`rtl/fe_mul.v`): owns one
/// Verilator model instance, reset on creation, and counts every clock cycle
/// it is driven through.
///
/// Field elements are 32-byte little-endian values below 2^255 (bit 255, the
/// top bit of byte 31, must be clear); they need not be reduced below p.
/// Results are fully reduced (below p).
pub struct FeMulSim {
    model: NonNull<c_void>,
    cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for FeMulSim {}

impl FeMulSim {
    /// Creates a model and holds it in reset for two cycles.
    pub fn new() -> Self {
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_fe_mul_new() };
        let model = NonNull::new(raw).expect("rampart_fe_mul_new returned null");
        let mut sim = FeMulSim { model, cycles: 0 };
        sim.set_rst(true);
        sim.set_in_valid(false);
        sim.tick();
        sim.tick();
        sim.set_rst(false);
        sim.eval();
        sim
    }

    /// Clock edges from accepting an operand pair to showing its product
    /// ([`FE_MUL_LATENCY`]).
    pub fn latency(&self) -> u64 {
        FE_MUL_LATENCY
    }

    /// Clock cycles driven so far (reset cycles included).
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// `a * b mod p`, fully reduced. Takes [`latency`](Self::latency) clocks.
    ///
    /// # Panics
    ///
    /// If bit 255 of `a` or `b` is set.
    pub fn mul(&mut self, a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        self.mul_batch(&[(*a, *b)])[0]
    }

    /// Streams `pairs` into the pipeline back to back, one pair per clock,
    /// and collects the products in order. N pairs take
    /// N + [`latency`](Self::latency) - 1 clocks.
    ///
    /// # Panics
    ///
    /// If bit 255 of any operand is set, or the pipeline's `out_valid`
    /// stream does not match the input stream.
    pub fn mul_batch(&mut self, pairs: &[([u8; 32], [u8; 32])]) -> Vec<[u8; 32]> {
        let n = pairs.len() as u64;
        let mut results = Vec::with_capacity(pairs.len());
        if n == 0 {
            return results;
        }
        for edge in 1..=n + FE_MUL_LATENCY - 1 {
            // Before edge `edge`, pair `edge - 1` (if any) is offered.
            match pairs.get((edge - 1) as usize) {
                Some((a, b)) => {
                    self.set_operand(a, true);
                    self.set_operand(b, false);
                    self.set_in_valid(true);
                }
                None => self.set_in_valid(false),
            }
            self.tick();
            // After edge `edge`, the product of pair `edge - latency` shows.
            let expected = edge >= FE_MUL_LATENCY && edge - FE_MUL_LATENCY < n;
            assert_eq!(
                self.out_valid(),
                expected,
                "fe_mul out_valid out of step after edge {edge}"
            );
            if expected {
                results.push(self.result());
            }
        }
        self.set_in_valid(false);
        self.eval();
        results
    }

    fn set_operand(&mut self, v: &[u8; 32], is_a: bool) {
        assert!(v[31] & 0x80 == 0, "fe_mul operand has bit 255 set");
        for (i, chunk) in v.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
            // Safety: `model` is a live model owned by `self`; `i` < 4.
            unsafe {
                if is_a {
                    rampart_fe_mul_set_a_word(self.model.as_ptr(), i as u32, word)
                } else {
                    rampart_fe_mul_set_b_word(self.model.as_ptr(), i as u32, word)
                }
            }
        }
    }

    fn result(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            // Safety: `model` is a live model owned by `self`; `i` < 4.
            let word = unsafe { rampart_fe_mul_r_word(self.model.as_ptr(), i as u32) };
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    fn set_rst(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_fe_mul_set_rst(self.model.as_ptr(), v.into()) }
    }

    fn set_in_valid(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_fe_mul_set_in_valid(self.model.as_ptr(), v.into()) }
    }

    fn out_valid(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_fe_mul_out_valid(self.model.as_ptr()) != 0 }
    }

    fn eval(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_fe_mul_eval(self.model.as_ptr()) }
    }

    fn tick(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_fe_mul_tick(self.model.as_ptr()) }
        self.cycles += 1;
    }
}

impl Default for FeMulSim {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FeMulSim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_fe_mul_new`, is freed exactly
        // once here, and is not used afterwards.
        unsafe { rampart_fe_mul_free(self.model.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SHA512_CYCLES_PER_BLOCK;

    #[test]
    fn cycles_per_block_match_design() {
        let mut sim = Sha512Sim::new();
        for blocks in [1usize, 2, 5] {
            // 111 bytes pad to one block; each further 128 adds one.
            let len = 111 + 128 * (blocks - 1);
            let before = sim.cycles();
            sim.digest(&vec![0x5a; len]);
            assert_eq!(
                sim.cycles() - before,
                blocks as u64 * SHA512_CYCLES_PER_BLOCK
            );
        }
        let block = [0u64; 16];
        assert_eq!(sim.hash_block(&block, true), SHA512_CYCLES_PER_BLOCK);
        assert_eq!(sim.hash_block(&block, false), SHA512_CYCLES_PER_BLOCK);
    }
}
