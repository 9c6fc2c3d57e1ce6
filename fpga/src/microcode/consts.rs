//! The constant half of register bank C: field and curve constants shared by
//! every context, and where each context's input y coordinates sit.

use super::isa::{Bank, Reg};
use crate::field::{fe_hex, Fe};

const fn c(i: u8) -> Reg {
    Reg::new(Bank::C, i)
}

/// 0.
pub const C_ZERO: Reg = c(0);
/// 1.
pub const C_ONE: Reg = c(1);
/// 2 (the 2Z of an entry with Z = 1).
pub const C_TWO: Reg = c(2);
/// The curve constant d = −121665/121666.
pub const C_D: Reg = c(3);
/// 2d.
pub const C_D2: Reg = c(4);
/// sqrt(−1) = 2^((p−1)/4).
pub const C_SQRTM1: Reg = c(5);
/// i·B for i = 1, 2, 3 in cached form (Y+X, Y−X, 2d·T), Z = 1.
pub const C_B_CACHED: [(Reg, Reg, Reg); 3] = [
    (c(6), c(7), c(8)),
    (c(9), c(10), c(11)),
    (c(12), c(13), c(14)),
];
/// i·B for i = 1, 2, 3 in extended form (X, Y, T), Z = 1.
pub const C_B_EXT: [(Reg, Reg, Reg); 3] = [
    (c(15), c(16), c(17)),
    (c(18), c(19), c(20)),
    (c(21), c(22), c(23)),
];
/// This context's y of A (reduced mod p), written by the front end.
pub const C_YA: Reg = c(30);
/// This context's y of R (reduced mod p), written by the front end.
pub const C_YR: Reg = c(31);

/// Number of constant slots (indices 0..CONST_SLOTS of bank C).
pub const CONST_SLOTS: usize = 30;

/// d.
pub const D: Fe = fe_hex("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3");
/// sqrt(−1).
pub const SQRT_M1: Fe = fe_hex("2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0");
/// The base point's affine x.
pub const BASE_X: Fe = fe_hex("216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a");
/// The base point's affine y (4/5).
pub const BASE_Y: Fe = fe_hex("6666666666666666666666666666666666666666666666666666666666666658");

/// Affine Edwards addition (a = −1), for building the constant table.
fn affine_add(p1: (Fe, Fe), p2: (Fe, Fe)) -> (Fe, Fe) {
    let (x1, y1) = p1;
    let (x2, y2) = p2;
    let dxy = D.times(x1).times(x2).times(y1).times(y2);
    let x3 = x1
        .times(y2)
        .plus(y1.times(x2))
        .times(Fe::ONE.plus(dxy).invert());
    let y3 = y1
        .times(y2)
        .plus(x1.times(x2))
        .times(Fe::ONE.minus(dxy).invert());
    (x3, y3)
}

/// The values of bank C's constant slots, by index.
pub fn values() -> [Fe; CONST_SLOTS] {
    let mut v = [Fe::ZERO; CONST_SLOTS];
    v[usize::from(C_ONE.index)] = Fe::ONE;
    v[usize::from(C_TWO.index)] = Fe::from_u64(2);
    v[usize::from(C_D.index)] = D;
    v[usize::from(C_D2.index)] = D.plus(D);
    v[usize::from(C_SQRTM1.index)] = SQRT_M1;
    let b = (BASE_X, BASE_Y);
    let mut point = b;
    for i in 0..3 {
        let (x, y) = point;
        let t = x.times(y);
        let (ypx, ymx, t2d) = C_B_CACHED[i];
        v[usize::from(ypx.index)] = y.plus(x);
        v[usize::from(ymx.index)] = y.minus(x);
        v[usize::from(t2d.index)] = t.times(D.plus(D));
        let (ex, ey, et) = C_B_EXT[i];
        v[usize::from(ex.index)] = x;
        v[usize::from(ey.index)] = y;
        v[usize::from(et.index)] = t;
        point = affine_add(point, b);
    }
    v
}
