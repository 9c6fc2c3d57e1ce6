//! [`EngineSim`]: `rtl/engine.v` alone, loaded with prepared jobs (what the
//! front end would compute), for checking the engine against the
//! instruction-level model cycle for cycle.

use std::ffi::c_void;
use std::ptr::NonNull;

use super::verify::{check_rom_files, SimError};
use crate::model::Job;

extern "C" {
    fn rampart_engine_new() -> *mut c_void;
    fn rampart_engine_free(m: *mut c_void);
    fn rampart_engine_set_rst(m: *mut c_void, v: u8);
    fn rampart_engine_set_job_word(m: *mut c_void, which: u32, i: u32, v: u64);
    fn rampart_engine_set_load(m: *mut c_void, valid: u8, tag: u16, flags: u8);
    fn rampart_engine_ld_free(m: *mut c_void) -> u8;
    fn rampart_engine_rsp_valid(m: *mut c_void) -> u8;
    fn rampart_engine_rsp_tag(m: *mut c_void) -> u16;
    fn rampart_engine_rsp_code(m: *mut c_void) -> u8;
    fn rampart_engine_eval(m: *mut c_void);
    fn rampart_engine_tick(m: *mut c_void);
}

/// A simulated verify engine: owns one model, reset on creation.
pub struct EngineSim {
    model: NonNull<c_void>,
    cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for EngineSim {}

/// A finished job: tag, 3-bit result code, and the cycle it finished on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineResponse {
    /// The job's tag.
    pub tag: u16,
    /// The result code.
    pub code: u8,
    /// Cycle (since reset) on which `rsp_valid` was seen.
    pub cycle: u64,
}

impl EngineSim {
    /// Creates a model (loading the ROM files) and holds it in reset.
    ///
    /// # Errors
    ///
    /// [`SimError`] if the ROM files are missing or stale.
    pub fn new() -> Result<Self, SimError> {
        check_rom_files()?;
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_engine_new() };
        let model = NonNull::new(raw).expect("rampart_engine_new returned null");
        let mut sim = EngineSim { model, cycles: 0 };
        // Safety: `model` is live and owned by `sim`.
        unsafe {
            rampart_engine_set_rst(model.as_ptr(), 1);
            rampart_engine_set_load(model.as_ptr(), 0, 0, 0);
        }
        sim.tick();
        sim.tick();
        // Safety: as above.
        unsafe { rampart_engine_set_rst(model.as_ptr(), 0) };
        sim.cycles = 0;
        Ok(sim)
    }

    /// Cycles since reset.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Whether a context is free (a load on the next edge is taken).
    pub fn free(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe {
            rampart_engine_eval(self.model.as_ptr());
            rampart_engine_ld_free(self.model.as_ptr()) != 0
        }
    }

    /// Loads `job` under `tag` on the next edge (call only when
    /// [`free`](Self::free)) and clocks that edge; returns a response seen
    /// on the way, if any.
    pub fn load(&mut self, tag: u16, job: &Job) -> Option<EngineResponse> {
        let m = self.model.as_ptr();
        let words = |bytes: [u8; 32]| -> [u64; 4] {
            let mut w = [0u64; 4];
            for (limb, chunk) in w.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                *limb = u64::from_le_bytes(b);
            }
            w
        };
        let fields = [job.y_a.to_bytes(), job.y_r.to_bytes(), job.s, job.k];
        let flags = u8::from(job.sign_a)
            | u8::from(job.sign_r) << 1
            | u8::from(job.r_bad) << 2
            | u8::from(job.s_bad) << 3
            | u8::from(job.cofactored) << 4
            | u8::from(job.amended) << 5
            | u8::from(job.a_bad) << 6;
        // Safety: `m` is the live model owned by `self`.
        unsafe {
            for (which, value) in fields.into_iter().enumerate() {
                for (i, w) in words(value).into_iter().enumerate() {
                    rampart_engine_set_job_word(m, which as u32, i as u32, w);
                }
            }
            rampart_engine_set_load(m, 1, tag, flags);
        }
        let seen = self.step();
        // Safety: as above.
        unsafe { rampart_engine_set_load(m, 0, 0, 0) };
        seen
    }

    /// One clock; returns the response shown before the edge, if any.
    pub fn step(&mut self) -> Option<EngineResponse> {
        let m = self.model.as_ptr();
        // Safety: `m` is the live model owned by `self`.
        let seen = unsafe {
            rampart_engine_eval(m);
            (rampart_engine_rsp_valid(m) != 0).then(|| EngineResponse {
                tag: rampart_engine_rsp_tag(m),
                code: rampart_engine_rsp_code(m),
                cycle: self.cycles,
            })
        };
        self.tick();
        seen
    }

    fn tick(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_engine_tick(self.model.as_ptr()) }
        self.cycles += 1;
    }
}

impl Drop for EngineSim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_engine_new`, is freed exactly
        // once here, and is not used afterwards.
        unsafe { rampart_engine_free(self.model.as_ptr()) }
    }
}
