//! [`ReduceSim`]: `rtl/scalar_reduce.v`, a 512-bit integer mod L and the
//! S < L check.

use std::ffi::c_void;
use std::ptr::NonNull;

extern "C" {
    fn rampart_scalar_reduce_new() -> *mut c_void;
    fn rampart_scalar_reduce_free(m: *mut c_void);
    fn rampart_scalar_reduce_set_rst(m: *mut c_void, v: u8);
    fn rampart_scalar_reduce_set_start(m: *mut c_void, v: u8);
    fn rampart_scalar_reduce_set_x_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_scalar_reduce_set_s_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_scalar_reduce_busy(m: *mut c_void) -> u8;
    fn rampart_scalar_reduce_done(m: *mut c_void) -> u8;
    fn rampart_scalar_reduce_s_ok(m: *mut c_void) -> u8;
    fn rampart_scalar_reduce_r_word(m: *mut c_void, i: u32) -> u64;
    fn rampart_scalar_reduce_eval(m: *mut c_void);
    fn rampart_scalar_reduce_tick(m: *mut c_void);
}

/// A simulated `scalar_reduce` block: owns one model, reset on creation.
pub struct ReduceSim {
    model: NonNull<c_void>,
    cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for ReduceSim {}

fn le_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

impl ReduceSim {
    /// Creates a model and holds it in reset for two cycles.
    pub fn new() -> Self {
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_scalar_reduce_new() };
        let model = NonNull::new(raw).expect("rampart_scalar_reduce_new returned null");
        let mut sim = ReduceSim { model, cycles: 0 };
        // Safety: `model` is live and owned by `sim`.
        unsafe {
            rampart_scalar_reduce_set_rst(model.as_ptr(), 1);
            rampart_scalar_reduce_set_start(model.as_ptr(), 0);
        }
        sim.tick();
        sim.tick();
        // Safety: as above.
        unsafe { rampart_scalar_reduce_set_rst(model.as_ptr(), 0) };
        sim
    }

    /// `x mod L` for the 512-bit little-endian `x`, and the cycles it took.
    ///
    /// # Panics
    ///
    /// If the block does not finish.
    pub fn reduce(&mut self, x: &[u8; 64]) -> ([u8; 32], u64) {
        let m = self.model.as_ptr();
        let start = self.cycles;
        // Safety (all blocks below): `m` is the live model owned by `self`.
        unsafe {
            for (i, chunk) in x.chunks_exact(8).enumerate() {
                rampart_scalar_reduce_set_x_word(m, i as u32, le_word(chunk));
            }
            rampart_scalar_reduce_set_start(m, 1);
        }
        self.tick();
        // Safety: as above.
        unsafe { rampart_scalar_reduce_set_start(m, 0) };
        // Safety: as above.
        while unsafe { rampart_scalar_reduce_done(m) } == 0 {
            self.tick();
            assert!(self.cycles - start < 2000, "scalar_reduce hung");
        }
        // Safety: as above.
        assert_eq!(unsafe { rampart_scalar_reduce_busy(m) }, 0);
        let mut out = [0u8; 32];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            // Safety: as above.
            let word = unsafe { rampart_scalar_reduce_r_word(m, i as u32) };
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        (out, self.cycles - start)
    }

    /// Whether the block says the 256-bit little-endian `s` is below L.
    pub fn s_below_l(&mut self, s: &[u8; 32]) -> bool {
        let m = self.model.as_ptr();
        // Safety: `m` is the live model owned by `self`.
        unsafe {
            for (i, chunk) in s.chunks_exact(8).enumerate() {
                rampart_scalar_reduce_set_s_word(m, i as u32, le_word(chunk));
            }
            rampart_scalar_reduce_eval(m);
            rampart_scalar_reduce_s_ok(m) != 0
        }
    }

    fn tick(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_scalar_reduce_tick(self.model.as_ptr()) }
        self.cycles += 1;
    }
}

impl Default for ReduceSim {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ReduceSim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_scalar_reduce_new`, is freed
        // exactly once here, and is not used afterwards.
        unsafe { rampart_scalar_reduce_free(self.model.as_ptr()) }
    }
}
