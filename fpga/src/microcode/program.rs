//! The verify program (strict, zip215 and amended zip215), written with a
//! tiny assembler.
//!
//! Per signature (one context): decompress A with the (u/v)^((p+3)/8) trick,
//! reject small-order A (\[8\]A = identity; not under zip215) and S ≥ L, build
//! the 15-entry joint table i·B + j·(−A) (entries with j = 0 are constants),
//! run 127 two-bit joint windows of \[S\]B + \[k\](−A) (double, double, add one
//! table entry). Strict rule: convert to affine with one inversion, compare
//! with R's encoding, and reject a small-order result. Cofactored rules:
//! decompress R before the loop (amended: reduced y, not of small order),
//! add −R at the end and test \[8\](…) for the identity.

use super::isa::{Bank, Cond, Ctrl, Flag, Instr, Pre, Reg};
use super::{consts::*, ResultCode, ROM_DEPTH};

const fn m(i: u8) -> Reg {
    Reg::new(Bank::M, i)
}
const fn p(i: u8) -> Reg {
    Reg::new(Bank::P, i)
}
const fn q(i: u8) -> Reg {
    Reg::new(Bank::Q, i)
}

// Bank M: current point, products, table 2dT, temporaries.
const X: Reg = m(0);
const Y: Reg = m(1);
const Z: Reg = m(2);
const T: Reg = m(3);
const MA: Reg = m(4);
const MB: Reg = m(5);
const MC: Reg = m(6);
const MD: Reg = m(7);
/// First of the 12 table entries' 2d·T.
const M_T2D: u8 = 8;
// Temporaries (decompression, table building, final conversion).
const M_Y2: Reg = m(20);
const M_DY2: Reg = m(21);
const M_V2: Reg = m(22);
const M_V3: Reg = m(23);
const M_V6: Reg = m(24);
const M_V7: Reg = m(25);
const M_UV3: Reg = m(26);
const M_UV7: Reg = m(27);
const M_X: Reg = m(28);
const M_X2: Reg = m(29);
const M_VX2: Reg = m(30);
const M_POW: Reg = m(31);
/// Extended point being built into the table (X, Y, Z, T).
const EXT: [Reg; 4] = [m(20), m(21), m(22), m(23)];
const M_ZINV: Reg = m(24);
const M_AX: Reg = m(25);
const M_AY: Reg = m(26);
const M_NXY: Reg = m(27);

/// −R in cached form (cofactored rules), built before the scalar loop, which
/// leaves these registers alone.
const MINUS_R: Cached = Cached {
    ypx: p(22),
    ymx: q(22),
    t2d: m(31),
    z2: C_TWO,
};

// Banks P and Q: table Y+X, Y−X and 2Z, then temporaries.
const P_U: Reg = p(24);
const Q_V: Reg = q(24);
const P_NX: Reg = p(25);
const DBL_H: Reg = p(18);
const DBL_G: Reg = q(18);
const DBL_E: Reg = p(19);
const DBL_F: Reg = q(19);
const ADD_E: Reg = p(20);
const ADD_F: Reg = q(20);
const ADD_G: Reg = p(21);
const ADD_H: Reg = q(21);

/// A table entry in cached form: (Y+X, Y−X, 2d·T, 2Z).
#[derive(Clone, Copy)]
struct Cached {
    ypx: Reg,
    ymx: Reg,
    t2d: Reg,
    z2: Reg,
}

/// Table entry for i·B + j·(−A), j ≥ 1, i in 0..=3.
fn entry(i: u8, j: u8) -> Cached {
    let e = i * 3 + (j - 1);
    Cached {
        ypx: p(e),
        ymx: q(e),
        t2d: m(M_T2D + e),
        // −A itself has Z = 1.
        z2: if e == 0 {
            C_TWO
        } else if e < 6 {
            p(12 + e)
        } else {
            q(12 + (e - 6))
        },
    }
}

/// Table entry for i·B + j·(−A) for any (i, j) ≠ (0, 0).
fn table(i: u8, j: u8) -> Cached {
    if j == 0 {
        let (ypx, ymx, t2d) = C_B_CACHED[usize::from(i - 1)];
        Cached {
            ypx,
            ymx,
            t2d,
            z2: C_TWO,
        }
    } else {
        entry(i, j)
    }
}

/// Collects instructions and resolves forward jumps.
struct Asm {
    code: Vec<Instr>,
}

impl Asm {
    fn here(&self) -> u16 {
        self.code.len() as u16
    }

    fn emit(&mut self, instr: Instr) {
        self.code.push(instr);
    }

    /// M[dst] = a · b.
    fn mul(&mut self, dst: Reg, a: Pre, b: Pre) {
        self.emit(Instr {
            pa: a,
            pb: b,
            md: Some(dst.index),
            ..Instr::default()
        });
    }

    fn sq(&mut self, dst: Reg, src: Reg) {
        self.mul(dst, Pre::Pass(src), Pre::Pass(src));
    }

    /// dst = src^(2^n).
    fn sqn(&mut self, dst: Reg, src: Reg, n: u32) {
        self.sq(dst, src);
        for _ in 1..n {
            self.sq(dst, dst);
        }
    }

    fn mulr(&mut self, dst: Reg, a: Reg, b: Reg) {
        self.mul(dst, Pre::Pass(a), Pre::Pass(b));
    }

    /// Sets the control op of the last instruction emitted.
    fn ctrl_last(&mut self, ctrl: Ctrl) {
        if let Some(last) = self.code.last_mut() {
            last.ctrl = ctrl;
        }
    }

    /// Leaves z^(2^250 − 1) in t1 and z^11 in t0; t2, t3 are scratch.
    fn pow_2_250_1(&mut self, z: Reg, t: [Reg; 4]) {
        let [t0, t1, t2, t3] = t;
        self.sq(t0, z); // z^2
        self.sqn(t1, t0, 2); // z^8
        self.mulr(t1, z, t1); // z^9
        self.mulr(t0, t0, t1); // z^11
        self.sq(t2, t0); // z^22
        self.mulr(t1, t1, t2); // 2^5 - 1
        self.sqn(t2, t1, 5);
        self.mulr(t1, t2, t1); // 2^10 - 1
        self.sqn(t2, t1, 10);
        self.mulr(t2, t2, t1); // 2^20 - 1
        self.sqn(t3, t2, 20);
        self.mulr(t2, t3, t2); // 2^40 - 1
        self.sqn(t2, t2, 10);
        self.mulr(t1, t2, t1); // 2^50 - 1
        self.sqn(t2, t1, 50);
        self.mulr(t2, t2, t1); // 2^100 - 1
        self.sqn(t3, t2, 100);
        self.mulr(t2, t3, t2); // 2^200 - 1
        self.sqn(t2, t2, 50);
        self.mulr(t1, t2, t1); // 2^250 - 1
    }

    /// out = z^(2^252 − 3).
    fn pow22523(&mut self, out: Reg, z: Reg, t: [Reg; 4]) {
        self.pow_2_250_1(z, t);
        self.sqn(t[1], t[1], 2);
        self.mulr(out, t[1], z);
    }

    /// out = z^(p − 2) = 1/z.
    fn invert(&mut self, out: Reg, z: Reg, t: [Reg; 4]) {
        self.pow_2_250_1(z, t);
        self.sqn(t[1], t[1], 5);
        self.mulr(out, t[1], t[0]);
    }

    /// Projective doubling (a = −1): 7 instructions, 8 with T out.
    fn dbl(&mut self, input: [Reg; 3], out: [Reg; 3], t_out: Option<Reg>) {
        let [x, y, z] = input;
        self.sq(MA, x);
        self.sq(MB, y);
        self.mul(MC, Pre::Add(z, z), Pre::Pass(z)); // 2Z^2
        self.mul(MD, Pre::Add(x, y), Pre::Add(x, y));
        // H' = A + B, G' = A − B; Y3 = H'·G'.
        self.emit(Instr {
            pa: Pre::Add(MA, MB),
            pb: Pre::Sub(MA, MB),
            wa: Some(DBL_H.index),
            wb: Some(DBL_G.index),
            md: Some(out[1].index),
            ..Instr::default()
        });
        // E' = H' − (X+Y)^2, F' = 2Z^2 + G'; X3 = E'·F'.
        self.emit(Instr {
            pa: Pre::Sub(DBL_H, MD),
            pb: Pre::Add(MC, DBL_G),
            wa: Some(DBL_E.index),
            wb: Some(DBL_F.index),
            md: Some(out[0].index),
            ..Instr::default()
        });
        self.mulr(out[2], DBL_F, DBL_G);
        if let Some(t) = t_out {
            self.mulr(t, DBL_E, DBL_H);
        }
    }

    /// Extended + cached addition (add-2008-hwcd-3, k = 2d): 7 instructions,
    /// 8 with T out.
    fn add(&mut self, input: [Reg; 4], c: Cached, out: [Reg; 3], t_out: Option<Reg>) {
        let [x, y, z, t] = input;
        self.mul(MA, Pre::Sub(y, x), Pre::Pass(c.ymx));
        self.mul(MB, Pre::Add(y, x), Pre::Pass(c.ypx));
        self.mulr(MC, t, c.t2d);
        self.mulr(MD, z, c.z2);
        self.emit(Instr {
            pa: Pre::Sub(MB, MA),
            pb: Pre::Sub(MD, MC),
            wa: Some(ADD_E.index),
            wb: Some(ADD_F.index),
            md: Some(out[0].index),
            ..Instr::default()
        });
        self.emit(Instr {
            pa: Pre::Add(MD, MC),
            pb: Pre::Add(MB, MA),
            wa: Some(ADD_G.index),
            wb: Some(ADD_H.index),
            md: Some(out[1].index),
            ..Instr::default()
        });
        self.mulr(out[2], ADD_F, ADD_G);
        if let Some(t_reg) = t_out {
            self.mulr(t_reg, ADD_E, ADD_H);
        }
    }

    /// Stores the extended point `ext` as table entry `c`.
    fn store_cached(&mut self, ext: [Reg; 4], c: Cached) {
        let [x, y, z, t] = ext;
        self.emit(Instr {
            pa: Pre::Add(y, x),
            pb: Pre::Sub(y, x),
            wa: Some(c.ypx.index),
            wb: Some(c.ymx.index),
            ..Instr::default()
        });
        self.mulr(c.t2d, t, C_D2);
        let mut z2 = Instr::default();
        if c.z2.bank == Bank::P {
            z2.pa = Pre::Add(z, z);
            z2.wa = Some(c.z2.index);
        } else {
            z2.pb = Pre::Add(z, z);
            z2.wb = Some(c.z2.index);
        }
        self.emit(z2);
    }

    /// Decompresses the point with y in `y` (reduced) and the sign bit the
    /// `parity` flag op compares with, leaving −x in `P_NX`; finishes with
    /// `code` if y is not on the curve.
    fn decompress(&mut self, y: Reg, parity: Flag, code: ResultCode) {
        // u = y^2 − 1, v = d·y^2 + 1, x = u·v^3·(u·v^7)^((p−5)/8).
        self.sq(M_Y2, y);
        self.mulr(M_DY2, M_Y2, C_D);
        self.emit(Instr {
            pa: Pre::Sub(M_Y2, C_ONE),
            pb: Pre::Add(M_DY2, C_ONE),
            wa: Some(P_U.index),
            wb: Some(Q_V.index),
            ..Instr::default()
        });
        self.sq(M_V2, Q_V);
        self.mulr(M_V3, M_V2, Q_V);
        self.sq(M_V6, M_V3);
        self.mulr(M_V7, M_V6, Q_V);
        self.mulr(M_UV3, P_U, M_V3);
        self.mulr(M_UV7, P_U, M_V7);
        self.pow22523(M_POW, M_UV7, [MA, MB, MC, MD]);
        self.mulr(M_X, M_UV3, M_POW);
        self.sq(M_X2, M_X);
        self.mulr(M_VX2, Q_V, M_X2);
        // v·x^2 = −u: multiply x by sqrt(−1). Neither ±u: not a point.
        self.flag(Pre::Add(M_VX2, P_U), Flag::Zero);
        self.emit(Instr {
            pa: Pre::Pass(M_X),
            pb: Pre::Pass(C_SQRTM1),
            md: Some(M_X.index),
            cond: Cond::IfF,
            ..Instr::default()
        });
        self.flag(Pre::Sub(M_VX2, P_U), Flag::ZeroOr);
        self.emit(Instr {
            pa: Pre::Pass(M_X),
            flag: parity,
            ctrl: Ctrl::DoneIfNotF(code as u8),
            ..Instr::default()
        });
        // nx = −x when x already has the sign bit's parity, else x.
        self.emit(Instr {
            pa: Pre::Sub(C_ZERO, M_X),
            wa: Some(P_NX.index),
            ..Instr::default()
        });
        self.emit(Instr {
            pa: Pre::Add(M_X, C_ZERO),
            wa: Some(P_NX.index),
            cond: Cond::IfF,
            ..Instr::default()
        });
    }

    /// Finishes with `code` if (nx, y) is of small order: \[8\]P = identity
    /// iff its X is zero after three doublings. Uses X, Y, Z.
    fn small_order_check(&mut self, nx: Reg, y: Reg, code: ResultCode) {
        self.dbl([nx, y, C_ONE], [X, Y, Z], None);
        self.dbl([X, Y, Z], [X, Y, Z], None);
        self.dbl([X, Y, Z], [X, Y, Z], None);
        self.flag(Pre::Pass(X), Flag::Zero);
        self.ctrl(Ctrl::DoneIfF(code as u8));
    }

    /// A flag-only instruction on pre-adder A.
    fn flag(&mut self, pa: Pre, flag: Flag) {
        self.emit(Instr {
            pa,
            flag,
            ..Instr::default()
        });
    }

    fn ctrl(&mut self, ctrl: Ctrl) {
        self.emit(Instr {
            ctrl,
            ..Instr::default()
        });
    }
}

/// Entry point of the digit dispatch table: routine for index `idx` starts
/// at `DISPATCH_BASE + 16 · idx`.
const DISPATCH_STRIDE: u16 = 16;

/// Assembles the verify program.
///
/// # Panics
///
/// If the program outgrows the ROM (a bug in this file, caught by the tests).
pub fn assemble() -> Vec<Instr> {
    let mut a = Asm { code: Vec::new() };
    let pow_tmp = [MA, MB, MC, MD];

    // --- Decompress A; reject a small-order A unless the rule is zip215,
    // a non-reduced A under the amended rule, and S >= L.
    a.decompress(C_YA, Flag::ParityA, ResultCode::PubkeyInvalid);
    let skip_small_a = a.here();
    a.flag(Pre::Pass(C_ZERO), Flag::Zip215);
    a.ctrl(Ctrl::BrIfF(0)); // patched below
    a.small_order_check(P_NX, C_YA, ResultCode::PubkeySmallOrder);
    let after_small_a = a.here();
    a.code[usize::from(skip_small_a) + 1].ctrl = Ctrl::BrIfF(after_small_a);
    a.flag(Pre::Pass(C_ZERO), Flag::AmendedBadA);
    a.emit(Instr {
        flag: Flag::SBad,
        ctrl: Ctrl::DoneIfF(ResultCode::PubkeyInvalid as u8),
        ..Instr::default()
    });
    a.ctrl(Ctrl::DoneIfF(ResultCode::SNonCanonical as u8));

    // --- Table: −A, −2A, −3A, then i·B + j·(−A).
    let e01 = entry(0, 1);
    a.emit(Instr {
        pa: Pre::Add(C_YA, P_NX),
        pb: Pre::Sub(C_YA, P_NX),
        wa: Some(e01.ypx.index),
        wb: Some(e01.ymx.index),
        ..Instr::default()
    });
    a.mulr(M_NXY, P_NX, C_YA);
    a.mulr(e01.t2d, M_NXY, C_D2);
    a.dbl([P_NX, C_YA, C_ONE], [EXT[0], EXT[1], EXT[2]], Some(EXT[3]));
    a.store_cached(EXT, entry(0, 2));
    a.add(EXT, e01, [EXT[0], EXT[1], EXT[2]], Some(EXT[3]));
    a.store_cached(EXT, entry(0, 3));
    for i in 1..=3u8 {
        let (bx, by, bt) = C_B_EXT[usize::from(i - 1)];
        for j in 1..=3u8 {
            a.add(
                [bx, by, C_ONE, bt],
                entry(0, j),
                [EXT[0], EXT[1], EXT[2]],
                Some(EXT[3]),
            );
            a.store_cached(EXT, entry(i, j));
        }
    }

    // --- Cofactored rules: decompress R (amended: reduced y, not of small
    // order) and keep −R in cached form for the end.
    let to_loop = a.here();
    a.flag(Pre::Pass(C_ZERO), Flag::Cofactored);
    a.ctrl(Ctrl::BrIfNotF(0)); // patched below
    a.decompress(C_YR, Flag::ParityR, ResultCode::RInvalid);
    a.flag(Pre::Pass(C_ZERO), Flag::AmendedBadR);
    a.emit(Instr {
        flag: Flag::Amended,
        ctrl: Ctrl::DoneIfF(ResultCode::RInvalid as u8),
        ..Instr::default()
    });
    let skip_small_r = a.here();
    a.ctrl(Ctrl::BrIfNotF(0)); // patched below
    a.small_order_check(P_NX, C_YR, ResultCode::RSmallOrder);
    let cache_r = a.here();
    a.code[usize::from(skip_small_r)].ctrl = Ctrl::BrIfNotF(cache_r);
    a.emit(Instr {
        pa: Pre::Add(C_YR, P_NX),
        pb: Pre::Sub(C_YR, P_NX),
        wa: Some(MINUS_R.ypx.index),
        wb: Some(MINUS_R.ymx.index),
        ..Instr::default()
    });
    a.mulr(M_NXY, P_NX, C_YR);
    a.mulr(MINUS_R.t2d, M_NXY, C_D2);
    let loop_init = a.here();
    a.code[usize::from(to_loop) + 1].ctrl = Ctrl::BrIfNotF(loop_init);

    // --- [S]B + [k](−A), two bits of each scalar per window, from the top.
    a.mulr(X, C_ZERO, C_ONE);
    a.mulr(Y, C_ONE, C_ONE);
    a.mulr(Z, C_ONE, C_ONE);
    let top = a.here();
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.dbl([X, Y, Z], [X, Y, Z], Some(T));
    // The last doubling instruction dispatches on the window's digits.
    let dispatch_base = a.here();
    a.ctrl_last(Ctrl::Dispatch(dispatch_base));
    let mut exit_jumps = Vec::new();
    for idx in 0..16u8 {
        let start = dispatch_base + DISPATCH_STRIDE * u16::from(idx);
        while a.here() < start {
            a.ctrl(Ctrl::Done(ResultCode::Internal as u8));
        }
        exit_jumps.push(if idx == 0 {
            // The doubling before left T valid.
            a.ctrl(Ctrl::Loop(top));
            a.code.len()
        } else {
            a.add([X, Y, Z, T], table(idx / 4, idx % 4), [X, Y, Z], None);
            a.ctrl_last(Ctrl::Loop(top));
            // Leaving after an addition: complete its T on the way out.
            a.code.len()
        });
        if idx == 0 {
            a.ctrl(Ctrl::Jmp(0));
        } else {
            a.mulr(T, ADD_E, ADD_H);
        }
    }
    let exit = a.here();
    for at in exit_jumps {
        a.code[at].ctrl = Ctrl::Jmp(exit);
    }

    // --- Cofactored rules: [8]([S]B − [k]A − R) = identity.
    let to_strict = a.here();
    a.flag(Pre::Pass(C_ZERO), Flag::Cofactored);
    a.ctrl(Ctrl::BrIfNotF(0)); // patched below
    a.add([X, Y, Z, T], MINUS_R, [X, Y, Z], None);
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.flag(Pre::Pass(X), Flag::Zero);
    a.ctrl(Ctrl::DoneIfNotF(ResultCode::Equation as u8));
    a.ctrl(Ctrl::Done(ResultCode::Pass as u8));
    let strict = a.here();
    a.code[usize::from(to_strict) + 1].ctrl = Ctrl::BrIfNotF(strict);

    // --- Strict: affine y and x parity against R's encoding.
    a.invert(M_ZINV, Z, pow_tmp);
    a.mulr(M_AX, X, M_ZINV);
    a.mulr(M_AY, Y, M_ZINV);
    a.flag(Pre::Sub(M_AY, C_YR), Flag::Zero);
    a.flag(Pre::Pass(M_AX), Flag::MatchR);
    // --- Small-order R': [8]R' = identity iff its X is zero.
    // The first doubling's first instruction leaves if R does not match.
    let first_dbl = usize::from(a.here());
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.code[first_dbl].ctrl = Ctrl::DoneIfNotF(ResultCode::Equation as u8);
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.dbl([X, Y, Z], [X, Y, Z], None);
    a.flag(Pre::Pass(X), Flag::Zero);
    a.ctrl(Ctrl::DoneIfF(ResultCode::RSmallOrder as u8));
    a.ctrl(Ctrl::Done(ResultCode::Pass as u8));

    assert!(
        a.code.len() <= ROM_DEPTH,
        "microcode has {} instructions, ROM holds {ROM_DEPTH}",
        a.code.len()
    );
    a.code
}
