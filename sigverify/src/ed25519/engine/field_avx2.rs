//! Four field elements mod p = 2^255 − 19 on plain AVX2, one per 64-bit lane,
//! in radix 2^25.5: ten limbs alternating 26 and 25 bits (limb i starts at bit
//! ⌈25.5·i⌉), so that every limb product fits `vpmuludq` (32 × 32 → 64 bits).
//!
//! Same interface as `field_ifma`; the CPUs this serves (AVX2 without IFMA,
//! e.g. AMD Zen 3, Intel before Ice Lake) get the same engine at a lower rate.
//! Products come out with limbs within their widths (limb 1 up to 2^25 +
//! 2^17); sums and differences are carried once so their limbs stay within
//! 2^width + 2^8. Then every `vpmuludq` operand (f, 2f, 4f, 19f, 19g) is below
//! 2^32, every product term below 2^57 and every column below 2^60. Even at
//! limbs of 2^27 a column stays below 2^63.

use core::arch::x86_64::*;

/// Four field elements, lane j of vector i holding limb i of element j.
#[derive(Clone, Copy)]
pub(super) struct Fe4(pub(super) [__m256i; 10]);

/// Field elements per `Fe4`.
pub(super) const LANES: usize = 4;

super::field_common::define_field_common!("avx2");
super::field_common::define_gathers!("avx2");

/// Width in bits of limb i.
const fn width(i: usize) -> u32 {
    if i.is_multiple_of(2) {
        26
    } else {
        25
    }
}

/// 4p in radix 2^25.5, added before a subtraction so that no limb goes negative.
const FOUR_P: [u64; 10] = {
    let mut l = [0u64; 10];
    let mut i = 0;
    while i < 10 {
        l[i] = 4 * ((1 << width(i)) - 1);
        i += 1;
    }
    l[0] = 4 * ((1 << 26) - 19);
    l
};

/// 19·x for lanes below 2^59 (shifts and adds: `vpmuludq` only takes 32 bits).
#[target_feature(enable = "avx2")]
fn times19(x: __m256i) -> __m256i {
    let x16 = _mm256_slli_epi64::<4>(x);
    let x2 = _mm256_slli_epi64::<1>(x);
    _mm256_add_epi64(_mm256_add_epi64(x16, x2), x)
}

/// 19·x in the low 32 bits of each lane, for a limb x below 2^27 that is
/// only ever an [`m`] operand (which reads nothing else): one `vpmuludq`.
/// Written as the intrinsic, LLVM drops its implied 32-bit mask on x (only
/// the product's low half is read), can then no longer prove x's high half
/// zero, and in `mul` emitted a full 64-bit product instead: two multiplies,
/// two shifts and an add per limb, about 40 extra operations per product.
#[target_feature(enable = "avx2")]
fn times19_low(x: __m256i) -> __m256i {
    let product: __m256i;
    // SAFETY: one AVX2 instruction on registers, no memory or flags touched;
    // the caller's target feature guarantees AVX2.
    unsafe {
        core::arch::asm!(
            "vpmuludq {product}, {x}, {nineteen}",
            product = lateout(ymm_reg) product,
            x = in(ymm_reg) x,
            nineteen = in(ymm_reg) _mm256_set1_epi64x(19),
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    product
}

/// Low `width(i)` bits of each lane of `v`, and the bits above.
#[target_feature(enable = "avx2")]
fn split(v: __m256i, i: usize) -> (__m256i, __m256i) {
    if width(i) == 26 {
        (
            _mm256_and_si256(v, _mm256_set1_epi64x((1 << 26) - 1)),
            _mm256_srli_epi64::<26>(v),
        )
    } else {
        (
            _mm256_and_si256(v, _mm256_set1_epi64x((1 << 25) - 1)),
            _mm256_srli_epi64::<25>(v),
        )
    }
}

/// 32 × 32 → 64-bit products of each lane's low halves.
#[target_feature(enable = "avx2")]
fn m(a: __m256i, b: __m256i) -> __m256i {
    _mm256_mul_epu32(a, b)
}

/// The lane-wise sum of `terms`.
#[target_feature(enable = "avx2")]
fn sum<const N: usize>(terms: &[__m256i; N]) -> __m256i {
    let mut total = terms[0];
    for term in &terms[1..] {
        total = _mm256_add_epi64(total, *term);
    }
    total
}

/// One element's limbs as the backend keeps them (ten, radix 2^25.5): the table rows
/// `Fe4::rows_of_three` reads.
pub(super) type Limbs = [u64; 10];

/// Lane j of the result is the u64 at `base + offsets[j]`: one `vpgatherdq`.
///
/// # Safety
/// Every `base + offsets[j]` must be an 8-aligned readable u64 of one
/// allocation (`field_common`'s `gather` checks that before it calls).
#[target_feature(enable = "avx2")]
unsafe fn gather_u64(base: *const u64, offsets: [i32; LANES]) -> __m256i {
    let o = offsets;
    // SAFETY: the caller's contract.
    unsafe { _mm256_i32gather_epi64::<8>(base.cast(), _mm_set_epi32(o[3], o[2], o[1], o[0])) }
}

impl Fe4 {
    /// The same element in every lane, from radix-2^51 limbs.
    #[target_feature(enable = "avx2")]
    pub(super) fn splat(l: [u64; 5]) -> Fe4 {
        Fe4::from_lanes(&[l; 4])
    }

    /// Element j from `lanes[j]`, given in radix-2^51 limbs below 2^52: each
    /// 51-bit limb splits into a 26-bit and a 25-bit one (the latter may hold
    /// the 52nd bit, which the arithmetic tolerates).
    #[target_feature(enable = "avx2")]
    pub(super) fn from_lanes(lanes: &[[u64; 5]; LANES]) -> Fe4 {
        debug_assert!(lanes.iter().flatten().all(|&l| l < 1 << 52));
        let mut v = [_mm256_setzero_si256(); 10];
        for k in 0..5 {
            let wide = _mm256_set_epi64x(
                lanes[3][k] as i64,
                lanes[2][k] as i64,
                lanes[1][k] as i64,
                lanes[0][k] as i64,
            );
            let (low, high) = split(wide, 2 * k);
            v[2 * k] = low;
            v[2 * k + 1] = high;
        }
        Fe4(v)
    }

    /// Each lane reduced to its unique representative in [0, p), in radix-2^51
    /// limbs (one lane at a time, in scalar code).
    #[target_feature(enable = "avx2")]
    pub(super) fn canonical_lanes(self) -> [[u64; 5]; LANES] {
        self.to_lanes().map(super::limbs::canonical)
    }

    /// Lanes whose value is 0 mod p.
    #[target_feature(enable = "avx2")]
    pub(super) fn is_zero_lanes(self) -> [bool; LANES] {
        self.canonical_lanes().map(|l| l == [0; 5])
    }

    /// Lanes whose canonical value is odd ("negative" in the ed25519 sense).
    #[target_feature(enable = "avx2")]
    pub(super) fn is_negative_lanes(self) -> [bool; LANES] {
        self.canonical_lanes().map(|l| l[0] & 1 == 1)
    }

    /// The ten limbs of each lane as the backend keeps them.
    #[target_feature(enable = "avx2")]
    pub(super) fn native_lanes(self) -> [Limbs; LANES] {
        let mut out = [[0u64; 10]; LANES];
        for (i, v) in self.0.iter().enumerate() {
            out[0][i] = _mm256_extract_epi64::<0>(*v) as u64;
            out[1][i] = _mm256_extract_epi64::<1>(*v) as u64;
            out[2][i] = _mm256_extract_epi64::<2>(*v) as u64;
            out[3][i] = _mm256_extract_epi64::<3>(*v) as u64;
        }
        out
    }

    /// The element of each lane in radix-2^51 limbs (below 2^52, not reduced).
    #[target_feature(enable = "avx2")]
    pub(super) fn to_lanes(self) -> [[u64; 5]; LANES] {
        let mut out = [[0u64; 5]; 4];
        for (k, pair) in self.0.chunks_exact(2).enumerate() {
            let wide = _mm256_add_epi64(pair[0], _mm256_slli_epi64::<26>(pair[1]));
            out[0][k] = _mm256_extract_epi64::<0>(wide) as u64;
            out[1][k] = _mm256_extract_epi64::<1>(wide) as u64;
            out[2][k] = _mm256_extract_epi64::<2>(wide) as u64;
            out[3][k] = _mm256_extract_epi64::<3>(wide) as u64;
        }
        out
    }

    /// One carry pass over all limbs at once; the top carry wraps to limb 0
    /// times 19. Inputs below 2^40 per limb give limbs below 2^26 + 2^20.
    #[target_feature(enable = "avx2")]
    fn weak_reduce(self) -> Fe4 {
        let mut low = [_mm256_setzero_si256(); 10];
        let mut carry = [_mm256_setzero_si256(); 10];
        for i in 0..10 {
            (low[i], carry[i]) = split(self.0[i], i);
        }
        let mut v = low;
        v[0] = _mm256_add_epi64(v[0], times19(carry[9]));
        for i in 1..10 {
            v[i] = _mm256_add_epi64(v[i], carry[i - 1]);
        }
        Fe4(v)
    }

    /// self + other, weakly reduced.
    #[target_feature(enable = "avx2")]
    pub(super) fn add(self, other: Fe4) -> Fe4 {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm256_add_epi64(*a, b);
        }
        Fe4(v).weak_reduce()
    }

    /// self + other without the carry pass, for a sum that is only ever an
    /// operand of [`Fe4::add`] or the minuend of [`Fe4::sub`], both of which carry
    /// (never a multiplicand, never a subtrahend).
    #[target_feature(enable = "avx2")]
    pub(super) fn add_unreduced(self, other: Fe4) -> Fe4 {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm256_add_epi64(*a, b);
        }
        Fe4(v)
    }

    /// self − other (as self + 4p − other), weakly reduced.
    #[target_feature(enable = "avx2")]
    pub(super) fn sub(self, other: Fe4) -> Fe4 {
        let mut v = self.0;
        for ((a, b), p4) in v.iter_mut().zip(other.0).zip(FOUR_P) {
            *a = _mm256_sub_epi64(_mm256_add_epi64(*a, _mm256_set1_epi64x(p4 as i64)), b);
        }
        Fe4(v).weak_reduce()
    }

    /// Per lane: `other` where `mask[j]`, `self` elsewhere.
    #[target_feature(enable = "avx2")]
    pub(super) fn blend(self, other: Fe4, mask: [bool; LANES]) -> Fe4 {
        let mask = _mm256_set_epi64x(
            -i64::from(mask[3]),
            -i64::from(mask[2]),
            -i64::from(mask[1]),
            -i64::from(mask[0]),
        );
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm256_blendv_epi8(*a, b, mask);
        }
        Fe4(v)
    }

    /// Carries ten product columns (column k at the weight of limb k, the
    /// wrap-around by 19 already applied) down to limbs of their widths.
    #[target_feature(enable = "avx2")]
    fn carry_columns(mut h: [__m256i; 10]) -> Fe4 {
        for i in 0..9 {
            let (low, carry) = split(h[i], i);
            h[i] = low;
            h[i + 1] = _mm256_add_epi64(h[i + 1], carry);
        }
        let (low, carry) = split(h[9], 9);
        h[9] = low;
        h[0] = _mm256_add_epi64(h[0], times19(carry));
        let (low, carry) = split(h[0], 0);
        h[0] = low;
        h[1] = _mm256_add_epi64(h[1], carry);
        Fe4(h)
    }

    /// self · other.
    ///
    /// fᵢgⱼ sits at bit ⌈25.5i⌉ + ⌈25.5j⌉, which is limb (i + j)'s position
    /// plus one when i and j are both odd (hence the doubled odd limbs of f),
    /// and wraps past limb 9 with a factor 19 (hence 19·g).
    ///
    /// Never inlined: the copies LLVM inlined into the kernel's loop, with
    /// the loop's own values also live on 16 registers, spilled far more
    /// than this one does out of line (the loop held about 30 of them and
    /// 2,700 stack stores; this function has about 40).
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    pub(super) fn mul(self, other: Fe4) -> Fe4 {
        let (f, g) = (self.0, other.0);
        // Plain loops, not closures: a closure would not inherit the target
        // feature and its intrinsic would not be inlined.
        let (mut g19, mut f2) = (g, f);
        for i in 0..10 {
            g19[i] = times19_low(g[i]);
            f2[i] = _mm256_add_epi64(f[i], f[i]);
        }
        // Written out term by term (generated): as loops with conditions,
        // LLVM neither unrolls nor keeps the columns in registers.
        let h = [
            sum(&[
                m(f[0], g[0]),
                m(f2[1], g19[9]),
                m(f[2], g19[8]),
                m(f2[3], g19[7]),
                m(f[4], g19[6]),
                m(f2[5], g19[5]),
                m(f[6], g19[4]),
                m(f2[7], g19[3]),
                m(f[8], g19[2]),
                m(f2[9], g19[1]),
            ]),
            sum(&[
                m(f[0], g[1]),
                m(f[1], g[0]),
                m(f[2], g19[9]),
                m(f[3], g19[8]),
                m(f[4], g19[7]),
                m(f[5], g19[6]),
                m(f[6], g19[5]),
                m(f[7], g19[4]),
                m(f[8], g19[3]),
                m(f[9], g19[2]),
            ]),
            sum(&[
                m(f[0], g[2]),
                m(f2[1], g[1]),
                m(f[2], g[0]),
                m(f2[3], g19[9]),
                m(f[4], g19[8]),
                m(f2[5], g19[7]),
                m(f[6], g19[6]),
                m(f2[7], g19[5]),
                m(f[8], g19[4]),
                m(f2[9], g19[3]),
            ]),
            sum(&[
                m(f[0], g[3]),
                m(f[1], g[2]),
                m(f[2], g[1]),
                m(f[3], g[0]),
                m(f[4], g19[9]),
                m(f[5], g19[8]),
                m(f[6], g19[7]),
                m(f[7], g19[6]),
                m(f[8], g19[5]),
                m(f[9], g19[4]),
            ]),
            sum(&[
                m(f[0], g[4]),
                m(f2[1], g[3]),
                m(f[2], g[2]),
                m(f2[3], g[1]),
                m(f[4], g[0]),
                m(f2[5], g19[9]),
                m(f[6], g19[8]),
                m(f2[7], g19[7]),
                m(f[8], g19[6]),
                m(f2[9], g19[5]),
            ]),
            sum(&[
                m(f[0], g[5]),
                m(f[1], g[4]),
                m(f[2], g[3]),
                m(f[3], g[2]),
                m(f[4], g[1]),
                m(f[5], g[0]),
                m(f[6], g19[9]),
                m(f[7], g19[8]),
                m(f[8], g19[7]),
                m(f[9], g19[6]),
            ]),
            sum(&[
                m(f[0], g[6]),
                m(f2[1], g[5]),
                m(f[2], g[4]),
                m(f2[3], g[3]),
                m(f[4], g[2]),
                m(f2[5], g[1]),
                m(f[6], g[0]),
                m(f2[7], g19[9]),
                m(f[8], g19[8]),
                m(f2[9], g19[7]),
            ]),
            sum(&[
                m(f[0], g[7]),
                m(f[1], g[6]),
                m(f[2], g[5]),
                m(f[3], g[4]),
                m(f[4], g[3]),
                m(f[5], g[2]),
                m(f[6], g[1]),
                m(f[7], g[0]),
                m(f[8], g19[9]),
                m(f[9], g19[8]),
            ]),
            sum(&[
                m(f[0], g[8]),
                m(f2[1], g[7]),
                m(f[2], g[6]),
                m(f2[3], g[5]),
                m(f[4], g[4]),
                m(f2[5], g[3]),
                m(f[6], g[2]),
                m(f2[7], g[1]),
                m(f[8], g[0]),
                m(f2[9], g19[9]),
            ]),
            sum(&[
                m(f[0], g[9]),
                m(f[1], g[8]),
                m(f[2], g[7]),
                m(f[3], g[6]),
                m(f[4], g[5]),
                m(f[5], g[4]),
                m(f[6], g[3]),
                m(f[7], g[2]),
                m(f[8], g[1]),
                m(f[9], g[0]),
            ]),
        ];
        Fe4::carry_columns(h)
    }

    /// self², with each cross product computed once and doubled (four times
    /// when both limbs are odd, for the same half-bit as in `mul`).
    /// Never inlined, as [`Fe4::mul`].
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    pub(super) fn square(self) -> Fe4 {
        let f = self.0;
        let (mut f2, mut f4, mut f19) = (f, f, f);
        for i in 0..10 {
            f2[i] = _mm256_add_epi64(f[i], f[i]);
            f4[i] = _mm256_add_epi64(f2[i], f2[i]);
            f19[i] = times19_low(f[i]);
        }
        let h = [
            sum(&[
                m(f[0], f[0]),
                m(f4[1], f19[9]),
                m(f2[2], f19[8]),
                m(f4[3], f19[7]),
                m(f2[4], f19[6]),
                m(f2[5], f19[5]),
            ]),
            sum(&[
                m(f2[0], f[1]),
                m(f2[2], f19[9]),
                m(f2[3], f19[8]),
                m(f2[4], f19[7]),
                m(f2[5], f19[6]),
            ]),
            sum(&[
                m(f2[0], f[2]),
                m(f2[1], f[1]),
                m(f4[3], f19[9]),
                m(f2[4], f19[8]),
                m(f4[5], f19[7]),
                m(f[6], f19[6]),
            ]),
            sum(&[
                m(f2[0], f[3]),
                m(f2[1], f[2]),
                m(f2[4], f19[9]),
                m(f2[5], f19[8]),
                m(f2[6], f19[7]),
            ]),
            sum(&[
                m(f2[0], f[4]),
                m(f4[1], f[3]),
                m(f[2], f[2]),
                m(f4[5], f19[9]),
                m(f2[6], f19[8]),
                m(f2[7], f19[7]),
            ]),
            sum(&[
                m(f2[0], f[5]),
                m(f2[1], f[4]),
                m(f2[2], f[3]),
                m(f2[6], f19[9]),
                m(f2[7], f19[8]),
            ]),
            sum(&[
                m(f2[0], f[6]),
                m(f4[1], f[5]),
                m(f2[2], f[4]),
                m(f2[3], f[3]),
                m(f4[7], f19[9]),
                m(f[8], f19[8]),
            ]),
            sum(&[
                m(f2[0], f[7]),
                m(f2[1], f[6]),
                m(f2[2], f[5]),
                m(f2[3], f[4]),
                m(f2[8], f19[9]),
            ]),
            sum(&[
                m(f2[0], f[8]),
                m(f4[1], f[7]),
                m(f2[2], f[6]),
                m(f4[3], f[5]),
                m(f[4], f[4]),
                m(f2[9], f19[9]),
            ]),
            sum(&[
                m(f2[0], f[9]),
                m(f2[1], f[8]),
                m(f2[2], f[7]),
                m(f2[3], f[6]),
                m(f2[4], f[5]),
            ]),
        ];
        Fe4::carry_columns(h)
    }
}
