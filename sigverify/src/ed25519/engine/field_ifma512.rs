//! Eight field elements mod p = 2^255 − 19, one per 64-bit lane of a 512-bit
//! vector, in radix 2^51: `field_ifma` at twice the width (`vpmadd52luq zmm`),
//! with the same limb bounds and the same interface, so that the point and
//! kernel code run unchanged on eight lanes. Whether 512-bit wins depends on
//! the core (docs/sigverify-engine.md).

use core::arch::x86_64::*;

use super::limbs::MASK51;

/// Eight field elements, lane j of vector i holding limb i of element j.
#[derive(Clone, Copy)]
pub(super) struct Fe8(pub(super) [__m512i; 5]);

/// Field elements per `Fe8`.
pub(super) const LANES: usize = 8;

/// The name the shared field, point and kernel code use.
type Fe4 = Fe8;
super::field_common::define_field_common!("avx512ifma,avx512f,avx512dq,avx512vl,avx2");

/// An AVX-512 lane mask: bit j set where `lanes[j]`.
pub(super) fn lane_mask(lanes: [bool; LANES]) -> __mmask8 {
    lanes
        .iter()
        .enumerate()
        .fold(0, |m, (j, &on)| m | (u8::from(on) << j))
}

/// 4p in radix 2^51, added before a subtraction so that no limb goes negative.
const FOUR_P: [u64; 5] = [
    4 * ((1 << 51) - 19),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
];

impl Fe8 {
    /// The same element in every lane.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn splat(l: [u64; 5]) -> Fe8 {
        let mut v = [_mm512_setzero_si512(); 5];
        for (vector, limb) in v.iter_mut().zip(l) {
            *vector = _mm512_set1_epi64(limb as i64);
        }
        Fe8(v)
    }

    /// Element j from `lanes[j]`.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn from_lanes(lanes: &[[u64; 5]; LANES]) -> Fe8 {
        // IFMA would silently drop bits 52 and up of a multiplicand.
        debug_assert!(lanes.iter().flatten().all(|&l| l < 1 << 52));
        let mut v = [_mm512_setzero_si512(); 5];
        for (i, limb) in v.iter_mut().enumerate() {
            *limb = _mm512_set_epi64(
                lanes[7][i] as i64,
                lanes[6][i] as i64,
                lanes[5][i] as i64,
                lanes[4][i] as i64,
                lanes[3][i] as i64,
                lanes[2][i] as i64,
                lanes[1][i] as i64,
                lanes[0][i] as i64,
            );
        }
        Fe8(v)
    }

    /// The limbs of each lane, as they are (not reduced).
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn to_lanes(self) -> [[u64; 5]; LANES] {
        let mut out = [[0u64; 5]; LANES];
        for (i, v) in self.0.iter().enumerate() {
            let (low, high) = (
                _mm512_extracti64x4_epi64::<0>(*v),
                _mm512_extracti64x4_epi64::<1>(*v),
            );
            for (half, quarter) in [(0, low), (4, high)] {
                out[half][i] = _mm256_extract_epi64::<0>(quarter) as u64;
                out[half + 1][i] = _mm256_extract_epi64::<1>(quarter) as u64;
                out[half + 2][i] = _mm256_extract_epi64::<2>(quarter) as u64;
                out[half + 3][i] = _mm256_extract_epi64::<3>(quarter) as u64;
            }
        }
        out
    }

    /// One carry pass over all limbs at once: limb i keeps its low 51 bits and
    /// gains limb i−1's carry; the top carry wraps to limb 0 times 19. Inputs
    /// below 2^59 per limb give limbs below 2^51 + 2^13.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    fn weak_reduce(self) -> Fe8 {
        let mask = _mm512_set1_epi64(MASK51 as i64);
        let v = self.0;
        let mut c = v;
        for (carry, limb) in c.iter_mut().zip(v) {
            *carry = _mm512_srli_epi64::<51>(limb);
        }
        // c[4] < 2^8: 19·c[4] is exact in the low 52 bits of one IFMA product
        // (one uop where `vpmullq` takes three).
        Fe8([
            _mm512_madd52lo_epu64(_mm512_and_si512(v[0], mask), c[4], _mm512_set1_epi64(19)),
            _mm512_add_epi64(_mm512_and_si512(v[1], mask), c[0]),
            _mm512_add_epi64(_mm512_and_si512(v[2], mask), c[1]),
            _mm512_add_epi64(_mm512_and_si512(v[3], mask), c[2]),
            _mm512_add_epi64(_mm512_and_si512(v[4], mask), c[3]),
        ])
    }

    /// self + other, weakly reduced.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn add(self, other: Fe8) -> Fe8 {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm512_add_epi64(*a, b);
        }
        Fe8(v).weak_reduce()
    }

    /// self + other without the carry pass, for a sum that is only ever an
    /// operand of [`Fe8::add`] or the minuend of [`Fe8::sub`], both of which carry
    /// (never a multiplicand, never a subtrahend).
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn add_unreduced(self, other: Fe8) -> Fe8 {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm512_add_epi64(*a, b);
        }
        Fe8(v)
    }

    /// self − other (computed as self + 4p − other), weakly reduced. `other`
    /// must have limbs below 2^53 − 76, which every value here has.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn sub(self, other: Fe8) -> Fe8 {
        let mut v = self.0;
        for ((a, b), p4) in v.iter_mut().zip(other.0).zip(FOUR_P) {
            *a = _mm512_sub_epi64(_mm512_add_epi64(*a, _mm512_set1_epi64(p4 as i64)), b);
        }
        Fe8(v).weak_reduce()
    }

    /// Every limb of every lane is below 2^52, the bound IFMA multiplicands need
    /// (for debug assertions).
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    fn below_2_52(self) -> bool {
        self.to_lanes().iter().flatten().all(|&l| l < 1 << 52)
    }

    /// Per lane: `other` where `mask[j]`, `self` elsewhere.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn blend(self, other: Fe8, mask: [bool; LANES]) -> Fe8 {
        let mask = lane_mask(mask);
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm512_mask_blend_epi64(mask, *a, b);
        }
        Fe8(v)
    }

    /// Folds the ten product columns (`z[k]` at weight 2^(51k)) back to five
    /// limbs with 2^255 ≡ 19, then one carry pass over all five limbs at once
    /// (no chain from limb to limb): every limb comes out below 2^51 + 2^15,
    /// inside IFMA's 52-bit multiplicand and `sub`'s bound on `other`.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    fn reduce_columns(z: [__m512i; 10]) -> Fe8 {
        let nineteen = _mm512_set1_epi64(19);
        let mask = _mm512_set1_epi64(MASK51 as i64);
        let mut r = [_mm512_setzero_si512(); 5];
        for (k, limb) in r.iter_mut().enumerate() {
            *limb = _mm512_add_epi64(z[k], _mm512_mullo_epi64(z[k + 5], nineteen));
        }
        // Every column is below 2^61, so each carry is below 2^10 and 19 times
        // the top one is exact in one IFMA product's low 52 bits.
        let mut c = r;
        for (carry, limb) in c.iter_mut().zip(r) {
            *carry = _mm512_srli_epi64::<51>(limb);
        }
        Fe8([
            _mm512_madd52lo_epu64(_mm512_and_si512(r[0], mask), c[4], nineteen),
            _mm512_add_epi64(_mm512_and_si512(r[1], mask), c[0]),
            _mm512_add_epi64(_mm512_and_si512(r[2], mask), c[1]),
            _mm512_add_epi64(_mm512_and_si512(r[3], mask), c[2]),
            _mm512_add_epi64(_mm512_and_si512(r[4], mask), c[3]),
        ])
    }

    /// self · other.
    ///
    /// Limb product aᵢbⱼ (< 2^104) sits at weight 2^(51(i+j)); its low 52 bits
    /// add to column i+j and its high part, at 2^(51(i+j)) · 2^52, adds twice to
    /// column i+j+1.
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn mul(self, other: Fe8) -> Fe8 {
        debug_assert!(self.below_2_52() && other.below_2_52());
        let (a, b) = (self.0, other.0);
        let zero = _mm512_setzero_si512();
        let mut lo = [zero; 10];
        let mut hi = [zero; 10];
        for i in 0..5 {
            for j in 0..5 {
                lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], a[i], b[j]);
                hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], a[i], b[j]);
            }
        }
        let mut z = [zero; 10];
        for k in 0..10 {
            z[k] = _mm512_add_epi64(lo[k], _mm512_slli_epi64::<1>(hi[k]));
        }
        Fe8::reduce_columns(z)
    }

    /// self².
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn square(self) -> Fe8 {
        debug_assert!(self.below_2_52());
        let a = self.0;
        let zero = _mm512_setzero_si512();
        // Diagonal terms once, cross terms once and then doubled.
        let (mut lo, mut hi) = ([zero; 10], [zero; 10]);
        let (mut xlo, mut xhi) = ([zero; 10], [zero; 10]);
        for i in 0..5 {
            lo[2 * i] = _mm512_madd52lo_epu64(lo[2 * i], a[i], a[i]);
            hi[2 * i + 1] = _mm512_madd52hi_epu64(hi[2 * i + 1], a[i], a[i]);
            for j in i + 1..5 {
                xlo[i + j] = _mm512_madd52lo_epu64(xlo[i + j], a[i], a[j]);
                xhi[i + j + 1] = _mm512_madd52hi_epu64(xhi[i + j + 1], a[i], a[j]);
            }
        }
        let mut z = [zero; 10];
        for k in 0..10 {
            // lo + 2·hi + 2·xlo + 4·xhi
            let twice = _mm512_add_epi64(hi[k], xlo[k]);
            let twice = _mm512_add_epi64(twice, _mm512_slli_epi64::<1>(xhi[k]));
            z[k] = _mm512_add_epi64(lo[k], _mm512_slli_epi64::<1>(twice));
        }
        Fe8::reduce_columns(z)
    }
}
