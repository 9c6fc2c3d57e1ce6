//! [`VerifySim`]: `rtl/verify_top.v`, the whole streaming verifier, at the
//! level of its pins: the caller sets inputs, reads outputs and clocks it.
//! The protocol (header, message words, responses) lives in
//! [`crate::driver`].

use std::ffi::c_void;
use std::ptr::NonNull;

extern "C" {
    fn rampart_verify_top_new() -> *mut c_void;
    fn rampart_verify_top_free(m: *mut c_void);
    fn rampart_verify_top_set_rst(m: *mut c_void, v: u8);
    fn rampart_verify_top_set_req(m: *mut c_void, valid: u8, tag: u16, len: u16, rule: u8);
    fn rampart_verify_top_set_pubkey_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_verify_top_set_sig_word(m: *mut c_void, i: u32, v: u64);
    fn rampart_verify_top_set_msg(m: *mut c_void, valid: u8, data: u64);
    fn rampart_verify_top_set_resp_ready(m: *mut c_void, v: u8);
    fn rampart_verify_top_req_ready(m: *mut c_void) -> u8;
    fn rampart_verify_top_msg_ready(m: *mut c_void) -> u8;
    fn rampart_verify_top_resp_valid(m: *mut c_void) -> u8;
    fn rampart_verify_top_resp_tag(m: *mut c_void) -> u16;
    fn rampart_verify_top_resp_code(m: *mut c_void) -> u8;
    fn rampart_verify_top_mul_busy(m: *mut c_void) -> u8;
    fn rampart_verify_top_eval(m: *mut c_void);
    fn rampart_verify_top_tick(m: *mut c_void);
}

/// The ROM images the model reads with `$readmemh` when it is created, at
/// their path in this source tree (baked into the model by `build.rs`).
pub const ROM_FILES: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/rtl/microcode.hex"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/rtl/consts.hex"),
];

/// Why a simulated verifier cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A ROM image is missing or unreadable (the model would abort).
    #[error("cannot read ROM image {path}: {reason}")]
    RomUnreadable {
        /// The file.
        path: &'static str,
        /// The I/O error.
        reason: String,
    },
    /// A ROM image differs from what the assembler produces now.
    #[error("ROM image {path} is stale: regenerate it (RAMPART_FPGA_REGEN=1 cargo test -p rampart-fpga --test microcode)")]
    RomStale {
        /// The file.
        path: &'static str,
    },
}

/// Checks that the ROM images exist and hold the current program and
/// constants.
///
/// # Errors
///
/// [`SimError`] naming the file.
pub fn check_rom_files() -> Result<(), SimError> {
    let expected = [crate::microcode::rom_hex(), crate::microcode::consts_hex()];
    for (path, want) in ROM_FILES.into_iter().zip(expected) {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::RomUnreadable {
            path,
            reason: e.to_string(),
        })?;
        if text != want {
            return Err(SimError::RomStale { path });
        }
    }
    Ok(())
}

/// The header beat of a request as it sits on the pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireRequest {
    /// Tag echoed in the response.
    pub tag: u16,
    /// Public key bytes.
    pub pubkey: [u8; 32],
    /// Signature bytes (R ‖ S).
    pub signature: [u8; 64],
    /// Message length in bytes (at most 4096).
    pub len: u16,
    /// Rule code: 0 strict, 1 zip215, 2 zip215 amended.
    pub rule: u8,
}

/// A simulated `verify_top`: owns one model, reset on creation, counts
/// cycles and cycles in which the multiplier accepted an operand pair.
pub struct VerifySim {
    model: NonNull<c_void>,
    cycles: u64,
    mul_cycles: u64,
}

// Safety: the model is exclusively owned by this value and only touched
// through `&mut self`; Verilator models hold no thread-affine state.
unsafe impl Send for VerifySim {}

fn le_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

impl VerifySim {
    /// Creates a model (loading the ROM files) and holds it in reset for two
    /// cycles.
    ///
    /// # Errors
    ///
    /// [`SimError`] if the ROM files are missing or stale.
    pub fn new() -> Result<Self, SimError> {
        check_rom_files()?;
        // Safety: the shim allocates a fresh model and returns an owned
        // pointer, released only in `Drop`.
        let raw = unsafe { rampart_verify_top_new() };
        let model = NonNull::new(raw).expect("rampart_verify_top_new returned null");
        let mut sim = VerifySim {
            model,
            cycles: 0,
            mul_cycles: 0,
        };
        sim.set_rst(true);
        sim.set_request(None);
        sim.set_msg(None);
        sim.set_resp_ready(false);
        sim.tick();
        sim.tick();
        sim.set_rst(false);
        sim.eval();
        sim.cycles = 0;
        sim.mul_cycles = 0;
        Ok(sim)
    }

    /// Clock cycles since reset.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Cycles in which the multiplier accepted an operand pair.
    pub fn mul_cycles(&self) -> u64 {
        self.mul_cycles
    }

    fn set_rst(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_verify_top_set_rst(self.model.as_ptr(), v.into()) }
    }

    /// Drives the request header pins (`None`: req_valid low).
    pub fn set_request(&mut self, req: Option<&WireRequest>) {
        let m = self.model.as_ptr();
        // Safety: `m` is the live model owned by `self`.
        unsafe {
            match req {
                None => rampart_verify_top_set_req(m, 0, 0, 0, 0),
                Some(r) => {
                    for (i, c) in r.pubkey.chunks_exact(8).enumerate() {
                        rampart_verify_top_set_pubkey_word(m, i as u32, le_word(c));
                    }
                    for (i, c) in r.signature.chunks_exact(8).enumerate() {
                        rampart_verify_top_set_sig_word(m, i as u32, le_word(c));
                    }
                    rampart_verify_top_set_req(m, 1, r.tag, r.len, r.rule);
                }
            }
        }
    }

    /// Drives the message word pins (`None`: msg_valid low).
    pub fn set_msg(&mut self, word: Option<u64>) {
        // Safety: `model` is a live model owned by `self`.
        unsafe {
            rampart_verify_top_set_msg(
                self.model.as_ptr(),
                u8::from(word.is_some()),
                word.unwrap_or(0),
            )
        }
    }

    /// Drives resp_ready.
    pub fn set_resp_ready(&mut self, v: bool) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_verify_top_set_resp_ready(self.model.as_ptr(), v.into()) }
    }

    /// req_ready (after [`eval`](Self::eval)).
    pub fn req_ready(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_verify_top_req_ready(self.model.as_ptr()) != 0 }
    }

    /// msg_ready (after [`eval`](Self::eval)).
    pub fn msg_ready(&mut self) -> bool {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_verify_top_msg_ready(self.model.as_ptr()) != 0 }
    }

    /// The response on the pins, if resp_valid: (tag, code).
    pub fn response(&mut self) -> Option<(u16, u8)> {
        let m = self.model.as_ptr();
        // Safety: `m` is the live model owned by `self`.
        unsafe {
            (rampart_verify_top_resp_valid(m) != 0).then(|| {
                (
                    rampart_verify_top_resp_tag(m),
                    rampart_verify_top_resp_code(m),
                )
            })
        }
    }

    /// Settles combinational outputs after input changes.
    pub fn eval(&mut self) {
        // Safety: `model` is a live model owned by `self`.
        unsafe { rampart_verify_top_eval(self.model.as_ptr()) }
    }

    /// One clock cycle.
    pub fn tick(&mut self) {
        let m = self.model.as_ptr();
        // Safety: `m` is the live model owned by `self`.
        unsafe {
            if rampart_verify_top_mul_busy(m) != 0 {
                self.mul_cycles += 1;
            }
            rampart_verify_top_tick(m);
        }
        self.cycles += 1;
    }
}

impl Drop for VerifySim {
    fn drop(&mut self) {
        // Safety: `model` came from `rampart_verify_top_new`, is freed exactly
        // once here, and is not used afterwards.
        unsafe { rampart_verify_top_free(self.model.as_ptr()) }
    }
}
