//! Four field elements mod p = 2^255 − 19, one per 64-bit lane of a 256-bit
//! vector, in radix 2^51 (five limbs, limb i in vector i).
//!
//! Products use AVX-512 IFMA (`vpmadd52luq`/`vpmadd52huq`), which multiply the
//! low 52 bits of each lane and add the low or high half of the 104-bit product
//! to an accumulator. IFMA ignores bits 52 and up of its inputs, so every
//! element handed to [`Fe4::mul`] or [`Fe4::square`] must have all limbs below
//! 2^52. The operations keep that invariant: products come out with limbs
//! below 2^51 + 2^15 (one carry pass, all limbs at once), and sums and
//! differences are carried once ("weakly reduced") so that their limbs are
//! below 2^51 + 2^13.
//!
//! Every function carries `#[target_feature]`; they can only be reached from
//! the entry points in `super`, after the CPU was checked. The interface
//! (`splat`, `from_lanes`, `to_lanes`, `add`, `sub`, `blend`, `mul`, `square`)
//! is what `field_common` and the point code expect of a field backend;
//! `field_avx2` has the same.

use core::arch::x86_64::*;

use super::limbs::MASK51;

/// Four field elements, lane j of vector i holding limb i of element j.
#[derive(Clone, Copy)]
pub(super) struct Fe4(pub(super) [__m256i; 5]);

/// Field elements per `Fe4`.
pub(super) const LANES: usize = 4;

super::field_common::define_field_common!("avx512ifma,avx512vl,avx512dq,avx2");

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

impl Fe4 {
    /// The same element in every lane.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn splat(l: [u64; 5]) -> Fe4 {
        let mut v = [_mm256_setzero_si256(); 5];
        for (vector, limb) in v.iter_mut().zip(l) {
            *vector = _mm256_set1_epi64x(limb as i64);
        }
        Fe4(v)
    }

    /// Element j from `lanes[j]`.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn from_lanes(lanes: &[[u64; 5]; LANES]) -> Fe4 {
        // IFMA would silently drop bits 52 and up of a multiplicand.
        debug_assert!(lanes.iter().flatten().all(|&l| l < 1 << 52));
        let mut v = [_mm256_setzero_si256(); 5];
        for (i, limb) in v.iter_mut().enumerate() {
            *limb = _mm256_set_epi64x(
                lanes[3][i] as i64,
                lanes[2][i] as i64,
                lanes[1][i] as i64,
                lanes[0][i] as i64,
            );
        }
        Fe4(v)
    }

    /// The limbs of each lane, as they are (not reduced).
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn to_lanes(self) -> [[u64; 5]; LANES] {
        let mut out = [[0u64; 5]; 4];
        for (i, v) in self.0.iter().enumerate() {
            out[0][i] = _mm256_extract_epi64::<0>(*v) as u64;
            out[1][i] = _mm256_extract_epi64::<1>(*v) as u64;
            out[2][i] = _mm256_extract_epi64::<2>(*v) as u64;
            out[3][i] = _mm256_extract_epi64::<3>(*v) as u64;
        }
        out
    }

    /// One carry pass over all limbs at once: limb i keeps its low 51 bits and
    /// gains limb i−1's carry; the top carry wraps to limb 0 times 19. Inputs
    /// below 2^59 per limb give limbs below 2^51 + 2^13.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    fn weak_reduce(self) -> Fe4 {
        let mask = _mm256_set1_epi64x(MASK51 as i64);
        let v = self.0;
        let mut c = v;
        for (carry, limb) in c.iter_mut().zip(v) {
            *carry = _mm256_srli_epi64::<51>(limb);
        }
        // c[4] < 2^8: 19·c[4] is exact in the low 52 bits of one IFMA product
        // (one uop where `vpmullq` takes three).
        Fe4([
            _mm256_madd52lo_epu64(_mm256_and_si256(v[0], mask), c[4], _mm256_set1_epi64x(19)),
            _mm256_add_epi64(_mm256_and_si256(v[1], mask), c[0]),
            _mm256_add_epi64(_mm256_and_si256(v[2], mask), c[1]),
            _mm256_add_epi64(_mm256_and_si256(v[3], mask), c[2]),
            _mm256_add_epi64(_mm256_and_si256(v[4], mask), c[3]),
        ])
    }

    /// self + other, weakly reduced.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
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
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn add_unreduced(self, other: Fe4) -> Fe4 {
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm256_add_epi64(*a, b);
        }
        Fe4(v)
    }

    /// self − other (computed as self + 4p − other), weakly reduced. `other`
    /// must have limbs below 2^53 − 76, which every value here has.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn sub(self, other: Fe4) -> Fe4 {
        let mut v = self.0;
        for ((a, b), p4) in v.iter_mut().zip(other.0).zip(FOUR_P) {
            *a = _mm256_sub_epi64(_mm256_add_epi64(*a, _mm256_set1_epi64x(p4 as i64)), b);
        }
        Fe4(v).weak_reduce()
    }

    /// Every limb of every lane is below 2^52, the bound IFMA multiplicands need
    /// (for debug assertions).
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    fn below_2_52(self) -> bool {
        self.to_lanes().iter().flatten().all(|&l| l < 1 << 52)
    }

    /// Per lane: `other` where `mask[j]`, `self` elsewhere.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn blend(self, other: Fe4, mask: [bool; LANES]) -> Fe4 {
        let mask = lane_mask(mask);
        let mut v = self.0;
        for (a, b) in v.iter_mut().zip(other.0) {
            *a = _mm256_mask_blend_epi64(mask, *a, b);
        }
        Fe4(v)
    }

    /// Folds the ten product columns (`z[k]` at weight 2^(51k)) back to five
    /// limbs with 2^255 ≡ 19, then one carry pass over all five limbs at once
    /// (no chain from limb to limb): every limb comes out below 2^51 + 2^15,
    /// inside IFMA's 52-bit multiplicand and `sub`'s bound on `other`.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    fn reduce_columns(z: [__m256i; 10]) -> Fe4 {
        let nineteen = _mm256_set1_epi64x(19);
        let mask = _mm256_set1_epi64x(MASK51 as i64);
        let mut r = [_mm256_setzero_si256(); 5];
        for (k, limb) in r.iter_mut().enumerate() {
            *limb = _mm256_add_epi64(z[k], _mm256_mullo_epi64(z[k + 5], nineteen));
        }
        // Every column is below 2^61, so each carry is below 2^10 and 19 times
        // the top one is exact in one IFMA product's low 52 bits.
        let mut c = r;
        for (carry, limb) in c.iter_mut().zip(r) {
            *carry = _mm256_srli_epi64::<51>(limb);
        }
        Fe4([
            _mm256_madd52lo_epu64(_mm256_and_si256(r[0], mask), c[4], nineteen),
            _mm256_add_epi64(_mm256_and_si256(r[1], mask), c[0]),
            _mm256_add_epi64(_mm256_and_si256(r[2], mask), c[1]),
            _mm256_add_epi64(_mm256_and_si256(r[3], mask), c[2]),
            _mm256_add_epi64(_mm256_and_si256(r[4], mask), c[3]),
        ])
    }

    /// self · other.
    ///
    /// Limb product aᵢbⱼ (< 2^104) sits at weight 2^(51(i+j)); its low 52 bits
    /// add to column i+j and its high part, at 2^(51(i+j)) · 2^52, adds twice to
    /// column i+j+1.
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn mul(self, other: Fe4) -> Fe4 {
        debug_assert!(self.below_2_52() && other.below_2_52());
        let (a, b) = (self.0, other.0);
        let zero = _mm256_setzero_si256();
        let mut lo = [zero; 10];
        let mut hi = [zero; 10];
        for i in 0..5 {
            for j in 0..5 {
                lo[i + j] = _mm256_madd52lo_epu64(lo[i + j], a[i], b[j]);
                hi[i + j + 1] = _mm256_madd52hi_epu64(hi[i + j + 1], a[i], b[j]);
            }
        }
        let mut z = [zero; 10];
        for k in 0..10 {
            z[k] = _mm256_add_epi64(lo[k], _mm256_slli_epi64::<1>(hi[k]));
        }
        Fe4::reduce_columns(z)
    }

    /// self².
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn square(self) -> Fe4 {
        debug_assert!(self.below_2_52());
        let a = self.0;
        let zero = _mm256_setzero_si256();
        // Diagonal terms once, cross terms once and then doubled.
        let (mut lo, mut hi) = ([zero; 10], [zero; 10]);
        let (mut xlo, mut xhi) = ([zero; 10], [zero; 10]);
        for i in 0..5 {
            lo[2 * i] = _mm256_madd52lo_epu64(lo[2 * i], a[i], a[i]);
            hi[2 * i + 1] = _mm256_madd52hi_epu64(hi[2 * i + 1], a[i], a[i]);
            for j in i + 1..5 {
                xlo[i + j] = _mm256_madd52lo_epu64(xlo[i + j], a[i], a[j]);
                xhi[i + j + 1] = _mm256_madd52hi_epu64(xhi[i + j + 1], a[i], a[j]);
            }
        }
        let mut z = [zero; 10];
        for k in 0..10 {
            // lo + 2·hi + 2·xlo + 4·xhi
            let twice = _mm256_add_epi64(hi[k], xlo[k]);
            let twice = _mm256_add_epi64(twice, _mm256_slli_epi64::<1>(xhi[k]));
            z[k] = _mm256_add_epi64(lo[k], _mm256_slli_epi64::<1>(twice));
        }
        Fe4::reduce_columns(z)
    }
}
