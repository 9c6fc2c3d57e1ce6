//! Four Edwards points at once (one per lane) on −x² + y² = 1 + d·x²·y²:
//! decompression exactly as the dalek decoder does it, doubling, additions with
//! per-lane table entries, compression, and the small-order test.
//!
//! The code is written once, as [`define_points!`], and instantiated by each
//! field backend (`ifma`, `avx2`) with its own `Fe4` and target features.
//!
//! The formulas are the extended-coordinate ones of Hisil–Wong–Carter–Dawson
//! (2008), going through the "completed" (P¹ × P¹) form as curve25519-dalek's
//! serial backend does, so that every intermediate is a plain product.

use super::limbs;

/// d = −121665/121666 mod p, little-endian.
const D_BYTES: [u8; 32] =
    hex32("a3785913ca4deb75abd84141 4d0a700098e879777940c78c73fe6f2bee6c0352");
/// √−1 mod p (the positive one, 2^((p−1)/4)), little-endian.
const SQRT_M1_BYTES: [u8; 32] =
    hex32("b0a00e4a271beec478e42fad0618432fa7d7fb3d99004d2b0bdfc14f8024832b");

/// Parses 64 hex digits (spaces ignored) at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    let s = s.as_bytes();
    let mut out = [0u8; 32];
    let (mut i, mut n) = (0, 0);
    while i < s.len() {
        let c = s[i];
        i += 1;
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => continue,
        };
        out[n / 2] |= if n % 2 == 0 { v << 4 } else { v };
        n += 1;
    }
    assert!(n == 64, "32-byte hex constant");
    out
}

/// A field constant in limbs.
fn constant(bytes: &[u8; 32]) -> [u64; 5] {
    limbs::from_bytes(bytes)
}

/// d in limbs.
pub(super) fn d_limbs() -> [u64; 5] {
    constant(&D_BYTES)
}

/// 2d in limbs.
pub(super) fn d2_limbs() -> [u64; 5] {
    let d = d_limbs();
    limbs::canonical(d.map(|l| l * 2))
}

/// √−1 in limbs.
pub(super) fn sqrt_m1() -> [u64; 5] {
    constant(&SQRT_M1_BYTES)
}

/// Defines `Extended4`, `Cached4`, `Affine4` and their operations over the
/// `Fe4` in scope, compiled for `$features`.
macro_rules! define_points {
    ($features:literal) => {
        use $crate::ed25519::engine::{
            limbs,
            point::{d2_limbs, d_limbs, sqrt_m1},
        };

        /// Points in extended coordinates: x = X/Z, y = Y/Z, x·y = T/Z.
        #[derive(Clone, Copy)]
        pub(super) struct Extended4 {
            pub x: Fe4,
            pub y: Fe4,
            pub z: Fe4,
            pub t: Fe4,
        }

        /// The "completed" result of a doubling or addition, (X : Z) × (Y : T) with
        /// x = X/Z and y = Y/T, before the four products that return to extended form.
        #[derive(Clone, Copy)]
        pub(super) struct Completed4 {
            x: Fe4,
            y: Fe4,
            z: Fe4,
            t: Fe4,
        }

        /// Projective coordinates (X : Y : Z), enough between two doublings.
        #[derive(Clone, Copy)]
        pub(super) struct Projective4 {
            x: Fe4,
            y: Fe4,
            z: Fe4,
        }

        /// A point prepared for additions: (Y + X, Y − X, Z, 2d·T).
        #[derive(Clone, Copy)]
        pub(super) struct Cached4 {
            pub y_plus_x: Fe4,
            pub y_minus_x: Fe4,
            pub z: Fe4,
            pub t2d: Fe4,
        }

        /// An affine point prepared for additions: (y + x, y − x, 2d·x·y), Z = 1.
        #[derive(Clone, Copy)]
        pub(super) struct Affine4 {
            pub y_plus_x: Fe4,
            pub y_minus_x: Fe4,
            pub xy2d: Fe4,
        }

        impl Completed4 {
            #[target_feature(enable = $features)]
            fn to_extended(self) -> Extended4 {
                Extended4 {
                    x: self.x.mul(self.t),
                    y: self.y.mul(self.z),
                    z: self.z.mul(self.t),
                    t: self.x.mul(self.y),
                }
            }

            /// [2^n]self, without the product for T that a doubling would not read
            /// (three products instead of four going back from completed form).
            #[target_feature(enable = $features)]
            pub(super) fn double_n(self, n: u32) -> Extended4 {
                self.to_projective().double_n(n)
            }

            /// Back to extended form, for an addition.
            #[target_feature(enable = $features)]
            pub(super) fn into_extended(self) -> Extended4 {
                self.to_extended()
            }

            #[target_feature(enable = $features)]
            fn to_projective(self) -> Projective4 {
                Projective4 {
                    x: self.x.mul(self.t),
                    y: self.y.mul(self.z),
                    z: self.z.mul(self.t),
                }
            }
        }

        impl Projective4 {
            /// [2^n]self in extended form: T only after the last doubling, the only
            /// one whose result feeds an addition.
            #[target_feature(enable = $features)]
            pub(super) fn double_n(self, n: u32) -> Extended4 {
                debug_assert!(n >= 1);
                let mut p = self;
                for _ in 1..n {
                    p = p.double().to_projective();
                }
                p.double().to_extended()
            }

            #[target_feature(enable = $features)]
            fn double(self) -> Completed4 {
                let xx = self.x.square();
                let yy = self.y.square();
                let zz = self.z.square();
                // Only the minuend of the subtraction below: no carry needed.
                let zz2 = zz.add_unreduced(zz);
                let x_plus_y_sq = self.x.add(self.y).square();
                let yy_plus_xx = yy.add(xx);
                let yy_minus_xx = yy.sub(xx);
                Completed4 {
                    x: x_plus_y_sq.sub(yy_plus_xx),
                    y: yy_plus_xx,
                    z: yy_minus_xx,
                    t: zz2.sub(yy_minus_xx),
                }
            }
        }

        impl Extended4 {
            /// The neutral element (0, 1) in every lane.
            #[target_feature(enable = $features)]
            pub(super) fn identity() -> Extended4 {
                let (zero, one) = (Fe4::splat([0; 5]), Fe4::splat([1, 0, 0, 0, 0]));
                Extended4 {
                    x: zero,
                    y: one,
                    z: one,
                    t: zero,
                }
            }

            #[target_feature(enable = $features)]
            fn to_projective(self) -> Projective4 {
                Projective4 {
                    x: self.x,
                    y: self.y,
                    z: self.z,
                }
            }

            /// [2]self.
            #[target_feature(enable = $features)]
            pub(super) fn double(self) -> Extended4 {
                self.to_projective().double().to_extended()
            }

            /// [2^n]self, skipping T where the next step is another doubling.
            #[target_feature(enable = $features)]
            pub(super) fn double_n(self, n: u32) -> Extended4 {
                self.to_projective().double_n(n)
            }

            /// −self.
            #[target_feature(enable = $features)]
            pub(super) fn neg(self) -> Extended4 {
                Extended4 {
                    x: self.x.neg(),
                    y: self.y,
                    z: self.z,
                    t: self.t.neg(),
                }
            }

            /// The form [`Extended4::add_cached`] takes.
            #[target_feature(enable = $features)]
            pub(super) fn to_cached(self) -> Cached4 {
                Cached4 {
                    y_plus_x: self.y.add(self.x),
                    y_minus_x: self.y.sub(self.x),
                    z: self.z,
                    t2d: self.t.mul(Fe4::splat(d2_limbs())),
                }
            }

            /// self + other.
            #[target_feature(enable = $features)]
            pub(super) fn add_cached(self, other: &Cached4) -> Extended4 {
                self.add_cached_completed(other).to_extended()
            }

            /// self + other in completed form, for a caller that doubles next.
            #[target_feature(enable = $features)]
            pub(super) fn add_cached_completed(self, other: &Cached4) -> Completed4 {
                let pp = self.y.add(self.x).mul(other.y_plus_x);
                let mm = self.y.sub(self.x).mul(other.y_minus_x);
                let tt2d = self.t.mul(other.t2d);
                let zz = self.z.mul(other.z);
                // Only an addend and a minuend below, which carry: no carry here.
                let zz2 = zz.add_unreduced(zz);
                Completed4 {
                    x: pp.sub(mm),
                    y: pp.add(mm),
                    z: zz2.add(tt2d),
                    t: zz2.sub(tt2d),
                }
            }

            /// self + other for an affine `other`, in completed form.
            #[target_feature(enable = $features)]
            pub(super) fn add_affine_completed(self, other: &Affine4) -> Completed4 {
                let pp = self.y.add(self.x).mul(other.y_plus_x);
                let mm = self.y.sub(self.x).mul(other.y_minus_x);
                let txy2d = self.t.mul(other.xy2d);
                let z2 = self.z.add_unreduced(self.z);
                Completed4 {
                    x: pp.sub(mm),
                    y: pp.add(mm),
                    z: z2.add(txy2d),
                    t: z2.sub(txy2d),
                }
            }

            /// Lanes holding the neutral element (X = 0 and Y = Z).
            #[target_feature(enable = $features)]
            pub(super) fn is_identity_lanes(self) -> [bool; LANES] {
                let x_zero = self.x.eq_lanes(Fe4::splat([0; 5]));
                let y_is_z = self.y.eq_lanes(self.z);
                core::array::from_fn(|j| x_zero[j] && y_is_z[j])
            }

            /// Lanes holding a point of order dividing 8: [8]P is the neutral element.
            #[target_feature(enable = $features)]
            pub(super) fn is_small_order_lanes(self) -> [bool; LANES] {
                self.double_n(3).is_identity_lanes()
            }

            /// Each lane's canonical 32-byte encoding (y with the sign of x in bit
            /// 255), given `z_inv` = 1/Z: the kernels share one inversion among
            /// several groups.
            #[target_feature(enable = $features)]
            pub(super) fn compress_lanes_with(self, z_inv: Fe4) -> [[u8; 32]; LANES] {
                let x = self.x.mul(z_inv).canonical_lanes();
                let y = self.y.mul(z_inv).canonical_lanes();
                core::array::from_fn(|j| {
                    let mut bytes = limbs::to_bytes(&y[j]);
                    bytes[31] |= ((x[j][0] & 1) as u8) << 7;
                    bytes
                })
            }

            /// Decodes four encodings as curve25519-dalek's `decompress` does: y is the
            /// low 255 bits taken as they are (so y ≥ p is reduced, not refused), x the
            /// non-negative root of (y² − 1)/(d·y² + 1), negated when bit 255 is set
            /// (also when x = 0). Lanes where no root exists come back `false`, with an
            /// unspecified point.
            #[target_feature(enable = $features)]
            pub(super) fn decompress(encodings: &[[u8; 32]; LANES]) -> (Extended4, [bool; LANES]) {
                let [decoded] = Extended4::decompress_each([encodings]);
                decoded
            }

            /// [`decompress`](Self::decompress) for `N` groups of lanes at once, their
            /// square roots interleaved.
            #[target_feature(enable = $features)]
            pub(super) fn decompress_each<const N: usize>(
                encodings: [&[[u8; 32]; LANES]; N],
            ) -> [(Extended4, [bool; LANES]); N] {
                let one = Fe4::splat([1, 0, 0, 0, 0]);
                let d = Fe4::splat(d_limbs());
                let mut y = [one; N];
                let mut u = [one; N];
                let mut v = [one; N];
                for n in 0..N {
                    y[n] = Fe4::from_lanes(&encodings[n].map(|e| limbs::from_bytes(&e)));
                    let yy = y[n].square();
                    u[n] = yy.sub(one);
                    v[n] = yy.mul(d).add(one);
                }
                let roots = sqrt_ratio_each(u, v);
                let mut out = [(Extended4::identity(), [false; LANES]); N];
                for n in 0..N {
                    let (x, valid) = roots[n];
                    let x = x.negate_where(encodings[n].map(|e| e[31] >> 7 == 1));
                    let point = Extended4 {
                        x,
                        y: y[n],
                        z: one,
                        t: x.mul(y[n]),
                    };
                    out[n] = (point, valid);
                }
                out
            }
        }

        impl Cached4 {
            /// The neutral element in cached form: (1, 1, 1, 0).
            #[target_feature(enable = $features)]
            pub(super) fn identity() -> Cached4 {
                let one = Fe4::splat([1, 0, 0, 0, 0]);
                Cached4 {
                    y_plus_x: one,
                    y_minus_x: one,
                    z: one,
                    t2d: Fe4::splat([0; 5]),
                }
            }

            /// The same point in projective form, without a product: (Y + X) −
            /// (Y − X) = 2X and (Y + X) + (Y − X) = 2Y, with 2Z, name the same point.
            #[target_feature(enable = $features)]
            pub(super) fn to_projective(self) -> Projective4 {
                Projective4 {
                    x: self.y_plus_x.sub(self.y_minus_x),
                    y: self.y_plus_x.add(self.y_minus_x),
                    z: self.z.add(self.z),
                }
            }

            /// −self: swap Y + X with Y − X, negate 2d·T.
            #[target_feature(enable = $features)]
            pub(super) fn neg(self) -> Cached4 {
                Cached4 {
                    y_plus_x: self.y_minus_x,
                    y_minus_x: self.y_plus_x,
                    z: self.z,
                    t2d: self.t2d.neg(),
                }
            }
        }

        impl Affine4 {
            /// −self in the lanes of `mask`.
            #[target_feature(enable = $features)]
            pub(super) fn negate_where(self, mask: [bool; LANES]) -> Affine4 {
                Affine4 {
                    y_plus_x: self.y_plus_x.blend(self.y_minus_x, mask),
                    y_minus_x: self.y_minus_x.blend(self.y_plus_x, mask),
                    xy2d: self.xy2d.negate_where(mask),
                }
            }
        }

        /// The non-negative square root of u/v where it exists, as curve25519-dalek's
        /// `sqrt_ratio_i` computes it: r = u·v³·(u·v⁷)^((p−5)/8), fixed up by √−1;
        /// `true` in the lanes where u/v is a square (u = 0 included). For `N`
        /// pairs at once, their exponentiations interleaved.
        #[target_feature(enable = $features)]
        fn sqrt_ratio_each<const N: usize>(u: [Fe4; N], v: [Fe4; N]) -> [(Fe4, [bool; LANES]); N] {
            let i = Fe4::splat(sqrt_m1());
            let mut v3 = v;
            let mut uv7 = v;
            for n in 0..N {
                v3[n] = v[n].square().mul(v[n]);
                uv7[n] = u[n].mul(v3[n].square().mul(v[n]));
            }
            let powers = Fe4::pow_p58_each(uv7);
            let mut out = [(Fe4::splat([0; 5]), [false; LANES]); N];
            for n in 0..N {
                let (u, v) = (u[n], v[n]);
                let r = u.mul(v3[n]).mul(powers[n]);
                let check = v.mul(r.square());
                let minus_u = u.neg();
                let correct = check.eq_lanes(u);
                let flipped = check.eq_lanes(minus_u);
                let flipped_i = check.eq_lanes(minus_u.mul(i));
                let r = r.blend(
                    r.mul(i),
                    core::array::from_fn(|j| flipped[j] || flipped_i[j]),
                );
                let r = r.negate_where(r.is_negative_lanes());
                out[n] = (r, core::array::from_fn(|j| correct[j] || flipped[j]));
            }
            out
        }
    };
}
pub(super) use define_points;
