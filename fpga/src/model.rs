//! An instruction-level model of one verify-engine context: runs the
//! microcode sequentially on [`Fe`] values. It is the reference the RTL's
//! verdicts and instruction counts are checked against, and where the program
//! itself is debugged.

use crate::field::Fe;
use crate::microcode::consts::{self, CONST_SLOTS};
use crate::microcode::isa::{Bank, Cond, Ctrl, Flag, Instr, Pre, Reg};
use crate::microcode::ResultCode;
use rampart_sigverify::rule::Rule;

/// What the front end hands a context: everything derived from the request
/// bytes and the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// y of A, reduced mod p.
    pub y_a: Fe,
    /// Sign bit of A.
    pub sign_a: bool,
    /// y of R, reduced mod p.
    pub y_r: Fe,
    /// Sign bit of R.
    pub sign_r: bool,
    /// R's y was ≥ p (so no recomputed encoding can equal it).
    pub r_bad: bool,
    /// S ≥ L.
    pub s_bad: bool,
    /// S, little-endian.
    pub s: [u8; 32],
    /// k = SHA-512(R ‖ A ‖ M) mod L, little-endian.
    pub k: [u8; 32],
    /// Under a cofactored rule (zip215 or amended) rather than strict.
    pub cofactored: bool,
    /// Under the amended zip215 rule.
    pub amended: bool,
    /// A's y was ≥ p.
    pub a_bad: bool,
}

impl Job {
    /// The strict-rule job for a signature, given k (the hash reduced mod L).
    pub fn new(pubkey: &[u8; 32], signature: &[u8; 64], k: [u8; 32]) -> Job {
        Job::with_rule(Rule::Strict, pubkey, signature, k)
    }

    /// The job for a signature under `rule`, given k.
    pub fn with_rule(rule: Rule, pubkey: &[u8; 32], signature: &[u8; 64], k: [u8; 32]) -> Job {
        let mut r = [0u8; 32];
        r.copy_from_slice(&signature[..32]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&signature[32..]);
        let (y_a, a_bad) = Fe::from_bytes_reduce(pubkey);
        let (y_r, r_bad) = Fe::from_bytes_reduce(&r);
        Job {
            y_a,
            sign_a: pubkey[31] >> 7 == 1,
            y_r,
            sign_r: r[31] >> 7 == 1,
            r_bad,
            s_bad: !crate::scalar::is_below_l(&s),
            s,
            k,
            cofactored: rule != Rule::Strict,
            amended: rule == Rule::Zip215Amended,
            a_bad,
        }
    }
}

/// How a context run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The result code.
    pub code: ResultCode,
    /// Instructions issued (one issue slot each).
    pub issued: u64,
}

/// Runs `program` for `job` until a `Done`. Gives up (as `Internal`) after
/// `limit` instructions.
pub fn run(program: &[Instr], job: &Job, limit: u64) -> Outcome {
    let consts = consts::values();
    let mut banks = [[Fe::ZERO; 32]; 3];
    let mut pc = 0usize;
    let mut window = 126u32;
    let mut f = false;
    let mut issued = 0u64;
    let read = |banks: &[[Fe; 32]; 3], r: Reg| -> Fe {
        let i = usize::from(r.index);
        match r.bank {
            Bank::M => banks[0][i],
            Bank::P => banks[1][i],
            Bank::Q => banks[2][i],
            Bank::C => match i {
                30 => job.y_a,
                31 => job.y_r,
                _ if i < CONST_SLOTS => consts[i],
                _ => Fe::ZERO,
            },
        }
    };
    let pre = |banks: &[[Fe; 32]; 3], op: Pre| -> Fe {
        match op {
            Pre::Pass(a) => read(banks, a),
            Pre::Add(a, b) => read(banks, a).plus(read(banks, b)),
            Pre::Sub(a, b) => read(banks, a).minus(read(banks, b)),
        }
    };
    while issued < limit {
        let Some(ins) = program.get(pc) else {
            break;
        };
        issued += 1;
        let mut next = pc + 1;
        match ins.ctrl {
            Ctrl::Next => {}
            Ctrl::Jmp(t) => next = usize::from(t),
            Ctrl::Dispatch(base) => {
                let digit = |v: &[u8; 32]| (v[(2 * window / 8) as usize] >> (2 * window % 8)) & 3;
                let idx = 4 * digit(&job.s) + digit(&job.k);
                next = usize::from(base) + 16 * usize::from(idx);
            }
            Ctrl::Loop(t) => {
                if window != 0 {
                    window -= 1;
                    next = usize::from(t);
                }
            }
            Ctrl::Done(code) => return finish(code, issued),
            Ctrl::DoneIfF(code) if f => return finish(code, issued),
            Ctrl::DoneIfNotF(code) if !f => return finish(code, issued),
            Ctrl::DoneIfF(_) | Ctrl::DoneIfNotF(_) => {}
            Ctrl::BrIfF(t) if f => next = usize::from(t),
            Ctrl::BrIfNotF(t) if !f => next = usize::from(t),
            Ctrl::BrIfF(_) | Ctrl::BrIfNotF(_) => {}
        }
        let pa = pre(&banks, ins.pa);
        let pb = pre(&banks, ins.pb);
        let write = match ins.cond {
            Cond::Always => true,
            Cond::IfF => f,
            Cond::IfNotF => !f,
        };
        if write {
            if let Some(i) = ins.wa {
                banks[1][usize::from(i)] = pa;
            }
            if let Some(i) = ins.wb {
                banks[2][usize::from(i)] = pb;
            }
            if let Some(i) = ins.md {
                banks[0][usize::from(i)] = pa.times(pb);
            }
        }
        f = match ins.flag {
            Flag::Keep => f,
            Flag::Zero => pa.is_zero(),
            Flag::ZeroOr => f || pa.is_zero(),
            Flag::ParityA => pa.parity() ^ job.sign_a,
            Flag::MatchR => f && pa.parity() == job.sign_r && !job.r_bad,
            Flag::SBad => job.s_bad,
            Flag::Cofactored => job.cofactored,
            Flag::Zip215 => job.cofactored && !job.amended,
            Flag::AmendedBadA => job.amended && job.a_bad,
            Flag::AmendedBadR => job.amended && job.r_bad,
            Flag::ParityR => pa.parity() ^ job.sign_r,
            Flag::Amended => job.amended,
        };
        pc = next;
    }
    finish(ResultCode::Internal as u8, issued)
}

fn finish(code: u8, issued: u64) -> Outcome {
    Outcome {
        code: ResultCode::from_bits(code),
        issued,
    }
}
