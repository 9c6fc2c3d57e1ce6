//! [`MsgHashSim`]: `rtl/sha512_msg.v`, SHA-512 of a 64-byte prefix and a
//! message with the padding done in RTL.

use std::ffi::c_void;
use std::ptr::NonNull;

use crate::driver::MAX_MESSAGE;

extern "C" {
    fn rampart_sha512_msg_new() -> *mut c_void;
    fn rampart_sha512_msg_free(m: *mut c_void);
    fn rampart_sha512_msg_set_rst(m: *mut c_void, v: u8);
    fn rampart_sha512_msg_set_start(m: *mut c_void, v: u8);
    fn rampart_sha512_msg_set_prefix_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_sha512_msg_set_len(m: *mut c_void, v: u16);
    fn rampart_sha512_msg_set_msg(m: *mut c_void, valid: u8, data: u64);
    fn rampart_sha512_msg_msg_ready(m: *mut c_void) -> u8;
    fn rampart_sha512_msg_busy(m: *mut c_void) -> u8;
    fn rampart_sha512_msg_done(m: *mut c_void) -> u8;
    fn rampart_sha512_msg_digest_word(m: *mut c_void, i: u32) -> u64;
    fn rampart_sha512_msg_eval(m: *mut c_void);
    fn rampart_sha512_msg_tick(m: *mut c_void);
}

/// A simulated `sha512_msg` block: owns one model, reset on creation.
pub struct MsgHashSim {
    model: NonNull<c_void>,
    cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for MsgHashSim {}

impl MsgHashSim {
    /// Creates a model and holds it in reset for two cycles.
    pub fn new() -> Self {
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_sha512_msg_new() };
        let model = NonNull::new(raw).expect("rampart_sha512_msg_new returned null");
        let mut sim = MsgHashSim { model, cycles: 0 };
        // Safety: `model` is live and owned by `sim`.
        unsafe {
            rampart_sha512_msg_set_rst(model.as_ptr(), 1);
            rampart_sha512_msg_set_start(model.as_ptr(), 0);
            rampart_sha512_msg_set_msg(model.as_ptr(), 0, 0);
        }
        sim.tick();
        sim.tick();
        // Safety: as above.
        unsafe { rampart_sha512_msg_set_rst(model.as_ptr(), 0) };
        sim
    }

    /// Clock cycles driven so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// SHA-512(prefix ‖ message), the RTL padding the stream. `stall_every`
    /// (if above 1) withholds a message word every that many cycles, to
    /// exercise back-pressure. Returns the digest and the cycles it took.
    ///
    /// # Panics
    ///
    /// If `message` is longer than [`MAX_MESSAGE`] or the block hangs.
    pub fn digest(
        &mut self,
        prefix: &[u8; 64],
        message: &[u8],
        stall_every: u64,
    ) -> ([u8; 64], u64) {
        assert!(message.len() <= MAX_MESSAGE, "message too long");
        let start = self.cycles;
        let m = self.model.as_ptr();
        // Safety (all blocks below): `m` is the live model owned by `self`.
        unsafe {
            for (i, chunk) in prefix.chunks_exact(8).enumerate() {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                rampart_sha512_msg_set_prefix_word(m, i as u32, u64::from_le_bytes(w));
            }
            rampart_sha512_msg_set_len(m, message.len() as u16);
            rampart_sha512_msg_set_start(m, 1);
        }
        self.tick();
        // Safety: as above.
        unsafe { rampart_sha512_msg_set_start(m, 0) };
        let words: Vec<u64> = message
            .chunks(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let mut next = 0usize;
        loop {
            let stall = stall_every > 1 && self.cycles.is_multiple_of(stall_every);
            let offer = words.get(next).filter(|_| !stall);
            // Safety: as above.
            unsafe {
                rampart_sha512_msg_set_msg(
                    m,
                    u8::from(offer.is_some()),
                    offer.copied().unwrap_or(0),
                );
                rampart_sha512_msg_eval(m);
            }
            // Safety: as above.
            let taken = offer.is_some() && unsafe { rampart_sha512_msg_msg_ready(m) } != 0;
            self.tick();
            if taken {
                next += 1;
            }
            // Safety: as above.
            if unsafe { rampart_sha512_msg_done(m) } != 0 {
                break;
            }
            assert!(self.cycles - start < 100_000, "sha512_msg hung");
        }
        assert_eq!(
            next,
            words.len(),
            "sha512_msg did not take every message word"
        );
        // Safety: as above.
        unsafe {
            rampart_sha512_msg_set_msg(m, 0, 0);
            assert_eq!(rampart_sha512_msg_busy(m), 0, "sha512_msg busy after done");
        }
        let mut out = [0u8; 64];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            // Port word 7 holds H0.
            // Safety: as above.
            let word = unsafe { rampart_sha512_msg_digest_word(m, 7 - i as u32) };
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        (out, self.cycles - start)
    }

    fn tick(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_sha512_msg_tick(self.model.as_ptr()) }
        self.cycles += 1;
    }
}

impl Default for MsgHashSim {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for MsgHashSim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_sha512_msg_new`, is freed exactly
        // once here, and is not used afterwards.
        unsafe { rampart_sha512_msg_free(self.model.as_ptr()) }
    }
}
