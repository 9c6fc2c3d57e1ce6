//! The verify engine's micro-instruction set and its 72-bit encoding, shared
//! by the assembler, the Rust model and (through the generated `.hex`) the RTL.
//!
//! One instruction does up to three things at once, so additions never take
//! a multiplier slot of their own:
//!
//! * two pre-adders: `pa = Ra op Rb`, `pb = Rc op Rd` with op ∈ {pass, +, −}
//!   mod p; `pa` may be written to bank P, `pb` to bank Q;
//! * the multiplier: `M[md] = pa · pb`;
//! * a flag update (from `pa`, or the job's rule and encoding flags) and a
//!   control op (jump, branch on the flag, digit dispatch, loop, finish with
//!   a result code), evaluated on the flag as it was before this
//!   instruction.

/// Registers per bank and context.
pub const BANK_REGS: u8 = 32;

/// Register banks. M is written only by the multiplier, P only by pre-adder
/// A, Q only by pre-adder B (one write port each); C is read-only: shared
/// constants at 0..=29, this context's input y coordinates at 30 (A) and 31 (R).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bank {
    /// Multiplier results.
    M = 0,
    /// Pre-adder A results.
    P = 1,
    /// Pre-adder B results.
    Q = 2,
    /// Constants and inputs.
    C = 3,
}

/// A register operand: bank and index (7 bits encoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg {
    /// Which bank.
    pub bank: Bank,
    /// Index within the bank (below [`BANK_REGS`]).
    pub index: u8,
}

impl Reg {
    /// A register in bank `bank`.
    pub const fn new(bank: Bank, index: u8) -> Reg {
        Reg { bank, index }
    }

    /// The 7-bit operand encoding.
    pub fn code(self) -> u8 {
        ((self.bank as u8) << 5) | (self.index & 0x1f)
    }

    /// Decodes a 7-bit operand.
    pub fn from_code(code: u8) -> Reg {
        let bank = match (code >> 5) & 3 {
            0 => Bank::M,
            1 => Bank::P,
            2 => Bank::Q,
            _ => Bank::C,
        };
        Reg::new(bank, code & 0x1f)
    }
}

/// A pre-adder operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pre {
    /// The first register's value.
    Pass(Reg),
    /// Sum mod p.
    Add(Reg, Reg),
    /// Difference mod p.
    Sub(Reg, Reg),
}

impl Pre {
    fn fields(self) -> (u8, Reg, Reg) {
        match self {
            Pre::Pass(a) => (0, a, a),
            Pre::Add(a, b) => (1, a, b),
            Pre::Sub(a, b) => (2, a, b),
        }
    }

    fn from_fields(op: u8, a: Reg, b: Reg) -> Pre {
        match op {
            1 => Pre::Add(a, b),
            2 => Pre::Sub(a, b),
            _ => Pre::Pass(a),
        }
    }
}

/// Which flag update the instruction makes (from pre-adder A's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Flag unchanged.
    Keep = 0,
    /// f ← (pa = 0).
    Zero = 1,
    /// f ← f ∨ (pa = 0).
    ZeroOr = 2,
    /// f ← parity(pa) ⊕ sign bit of A.
    ParityA = 3,
    /// f ← f ∧ parity(pa) = sign bit of R ∧ R's y was canonical.
    MatchR = 4,
    /// f ← S ≥ L (from the front end).
    SBad = 5,
    /// f ← the job is under a cofactored rule (zip215 or amended).
    Cofactored = 6,
    /// f ← the job is under plain zip215 (any A order allowed).
    Zip215 = 7,
    /// f ← amended rule ∧ A's y was ≥ p.
    AmendedBadA = 8,
    /// f ← amended rule ∧ R's y was ≥ p.
    AmendedBadR = 9,
    /// f ← parity(pa) ⊕ sign bit of R.
    ParityR = 10,
    /// f ← the job is under the amended rule.
    Amended = 11,
}

/// Whether the instruction's writes happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// Always.
    Always = 0,
    /// Only if the flag is set.
    IfF = 1,
    /// Only if the flag is clear.
    IfNotF = 2,
}

/// Control operation, decided at issue on the flag before this instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctrl {
    /// Fall through.
    Next,
    /// Jump.
    Jmp(u16),
    /// Jump to `base + 16 · (4 · s_digit + k_digit)` for the current window.
    Dispatch(u16),
    /// If the window counter is not zero: decrement it and jump; else fall through.
    Loop(u16),
    /// Finish with a result code (the instruction's writes are dropped).
    Done(u8),
    /// Finish with a result code if the flag is set.
    DoneIfF(u8),
    /// Finish with a result code if the flag is clear.
    DoneIfNotF(u8),
    /// Jump if the flag is set.
    BrIfF(u16),
    /// Jump if the flag is clear.
    BrIfNotF(u16),
}

impl Ctrl {
    fn fields(self) -> (u8, u16) {
        match self {
            Ctrl::Next => (0, 0),
            Ctrl::Jmp(t) => (1, t),
            Ctrl::Dispatch(t) => (2, t),
            Ctrl::Loop(t) => (3, t),
            Ctrl::Done(c) => (4, c.into()),
            Ctrl::DoneIfF(c) => (5, c.into()),
            Ctrl::DoneIfNotF(c) => (6, c.into()),
            Ctrl::BrIfF(t) => (7, t),
            Ctrl::BrIfNotF(t) => (8, t),
        }
    }

    fn from_fields(op: u8, t: u16) -> Ctrl {
        match op {
            1 => Ctrl::Jmp(t),
            2 => Ctrl::Dispatch(t),
            3 => Ctrl::Loop(t),
            4 => Ctrl::Done(t as u8),
            5 => Ctrl::DoneIfF(t as u8),
            6 => Ctrl::DoneIfNotF(t as u8),
            7 => Ctrl::BrIfF(t),
            8 => Ctrl::BrIfNotF(t),
            _ => Ctrl::Next,
        }
    }
}

/// One micro-instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instr {
    /// Pre-adder A (multiplier operand a, flag source).
    pub pa: Pre,
    /// Pre-adder B (multiplier operand b).
    pub pb: Pre,
    /// Write `pa` to `P[index]`.
    pub wa: Option<u8>,
    /// Write `pb` to `Q[index]`.
    pub wb: Option<u8>,
    /// Write `pa · pb` to `M[index]`.
    pub md: Option<u8>,
    /// Gate on all three writes.
    pub cond: Cond,
    /// Flag update.
    pub flag: Flag,
    /// Control operation.
    pub ctrl: Ctrl,
}

/// The constant-zero register C[0], the default operand.
const C0: Reg = Reg::new(Bank::C, 0);

impl Default for Instr {
    fn default() -> Self {
        Instr {
            pa: Pre::Pass(C0),
            pb: Pre::Pass(C0),
            wa: None,
            wb: None,
            md: None,
            cond: Cond::Always,
            flag: Flag::Keep,
            ctrl: Ctrl::Next,
        }
    }
}

/// Width of an encoded instruction in bits (as stored in the ROM).
pub const INSTR_BITS: u32 = 72;

impl Instr {
    /// The instruction word. Bit layout (LSB first): `pa op [1:0]`,
    /// `ra [8:2]`, `rb [15:9]`, `pb op [17:16]`, `rc [24:18]`, `rd [31:25]`,
    /// `wa_en [32]`, `wa [37:33]`, `wb_en [38]`, `wb [43:39]`, `m_en [44]`,
    /// `md [49:45]`, `cond [51:50]`, `flag bits 2:0 [54:52]`,
    /// `ctrl bits 2:0 [57:55]`, `target [68:58]`, `flag bit 3 [69]`,
    /// `ctrl bit 3 [70]`.
    pub fn encode(&self) -> u128 {
        let (pa_op, ra, rb) = self.pa.fields();
        let (pb_op, rc, rd) = self.pb.fields();
        let (ctrl, target) = self.ctrl.fields();
        let opt = |o: Option<u8>| -> u128 {
            match o {
                Some(i) => 1 | (u128::from(i & 0x1f) << 1),
                None => 0,
            }
        };
        u128::from(pa_op)
            | u128::from(ra.code()) << 2
            | u128::from(rb.code()) << 9
            | u128::from(pb_op) << 16
            | u128::from(rc.code()) << 18
            | u128::from(rd.code()) << 25
            | opt(self.wa) << 32
            | opt(self.wb) << 38
            | opt(self.md) << 44
            | (self.cond as u128) << 50
            | ((self.flag as u128) & 7) << 52
            | u128::from(ctrl & 7) << 55
            | u128::from(target & 0x7ff) << 58
            | ((self.flag as u128) >> 3) << 69
            | u128::from(ctrl >> 3) << 70
    }

    /// Decodes an instruction word (inverse of [`encode`](Self::encode)).
    pub fn decode(w: u128) -> Instr {
        let bits = |lo: u32, n: u32| ((w >> lo) & ((1u128 << n) - 1)) as u16;
        let reg = |lo: u32| Reg::from_code(bits(lo, 7) as u8);
        let opt = |lo: u32| (bits(lo, 1) == 1).then(|| bits(lo + 1, 5) as u8);
        Instr {
            pa: Pre::from_fields(bits(0, 2) as u8, reg(2), reg(9)),
            pb: Pre::from_fields(bits(16, 2) as u8, reg(18), reg(25)),
            wa: opt(32),
            wb: opt(38),
            md: opt(44),
            cond: match bits(50, 2) {
                1 => Cond::IfF,
                2 => Cond::IfNotF,
                _ => Cond::Always,
            },
            flag: match bits(52, 3) | bits(69, 1) << 3 {
                1 => Flag::Zero,
                2 => Flag::ZeroOr,
                3 => Flag::ParityA,
                4 => Flag::MatchR,
                5 => Flag::SBad,
                6 => Flag::Cofactored,
                7 => Flag::Zip215,
                8 => Flag::AmendedBadA,
                9 => Flag::AmendedBadR,
                10 => Flag::ParityR,
                11 => Flag::Amended,
                _ => Flag::Keep,
            },
            ctrl: Ctrl::from_fields((bits(55, 3) | bits(70, 1) << 3) as u8, bits(58, 11)),
        }
    }
}
