//! Microcode for the verify engine: the instruction set ([`isa`]), the
//! program ([`program::assemble`]), the constant bank ([`consts`]), and the
//! `$readmemh` files the RTL loads (`rtl/microcode.hex`, `rtl/consts.hex`),
//! generated here so Verilator and Yosys see the same ROM.

pub mod consts;
pub mod isa;
pub mod program;

/// Instruction ROM depth (11-bit program counter).
pub const ROM_DEPTH: usize = 2048;

/// Why a context finished, as the engine reports it (3 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultCode {
    /// The signature verifies.
    Pass = 0,
    /// A does not decompress.
    PubkeyInvalid = 1,
    /// A is of small order.
    PubkeySmallOrder = 2,
    /// S ≥ L.
    SNonCanonical = 3,
    /// compress(\[S\]B − \[k\]A) differs from R's bytes (strict), or
    /// \[8\](\[S\]B − \[k\]A − R) is not the identity (cofactored rules).
    Equation = 4,
    /// The recomputed R (strict) or R itself (amended) is of small order.
    RSmallOrder = 5,
    /// R does not decompress, or (amended) its y is not reduced.
    RInvalid = 6,
    /// The engine reached a ROM word that is never meant to run.
    Internal = 7,
}

impl ResultCode {
    /// Decodes a 3-bit code; unknown codes read as [`ResultCode::Internal`].
    pub fn from_bits(bits: u8) -> ResultCode {
        match bits {
            0 => ResultCode::Pass,
            1 => ResultCode::PubkeyInvalid,
            2 => ResultCode::PubkeySmallOrder,
            3 => ResultCode::SNonCanonical,
            4 => ResultCode::Equation,
            5 => ResultCode::RSmallOrder,
            6 => ResultCode::RInvalid,
            _ => ResultCode::Internal,
        }
    }
}

/// The ROM image: one 72-bit word (18 hex digits) per line, padded to
/// [`ROM_DEPTH`] with a `Done(Internal)` word.
pub fn rom_hex() -> String {
    let code = program::assemble();
    let pad = isa::Instr {
        ctrl: isa::Ctrl::Done(ResultCode::Internal as u8),
        ..isa::Instr::default()
    };
    let mut out = String::with_capacity(ROM_DEPTH * 19);
    for i in 0..ROM_DEPTH {
        let word = code.get(i).unwrap_or(&pad).encode();
        out.push_str(&format!("{word:018x}\n"));
    }
    out
}

/// The constant bank image: [`consts::CONST_SLOTS`] 255-bit values, 64 hex
/// digits per line, big-endian digits.
pub fn consts_hex() -> String {
    let mut out = String::new();
    for fe in consts::values() {
        for limb in fe.0.iter().rev() {
            out.push_str(&format!("{limb:016x}"));
        }
        out.push('\n');
    }
    out
}
