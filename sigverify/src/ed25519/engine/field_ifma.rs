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

/// Four field elements, lane j of vector i holding limb i of element j.
#[derive(Clone, Copy)]
pub(super) struct Fe4(pub(super) [__m256i; 5]);

/// Field elements per `Fe4`.
pub(super) const LANES: usize = 4;

super::field_common::define_field_common!("avx512ifma,avx512vl,avx512dq,avx2");
super::field_common::define_gathers!("avx512ifma,avx512vl,avx512dq,avx2");

/// An AVX-512 lane mask: bit j set where `lanes[j]`.
pub(super) fn lane_mask(lanes: [bool; LANES]) -> __mmask8 {
    lanes
        .iter()
        .enumerate()
        .fold(0, |m, (j, &on)| m | (u8::from(on) << j))
}

/// One element's limbs as the backend keeps them: the table rows `Fe4::rows_of_three` reads.
pub(super) type Limbs = [u64; 5];

/// Lane j of the result is the u64 at `base + offsets[j]`: one `vpgatherdq`.
///
/// # Safety
/// Every `base + offsets[j]` must be an 8-aligned readable u64 of one
/// allocation (`field_common`'s `gather` checks that before it calls).
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
unsafe fn gather_u64(base: *const u64, offsets: [i32; LANES]) -> __m256i {
    let o = offsets;
    // SAFETY: the caller's contract.
    unsafe { _mm256_i32gather_epi64::<8>(base.cast(), _mm_set_epi32(o[3], o[2], o[1], o[0])) }
}

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
    /// The limbs of each lane as the backend keeps them (here: `to_lanes`).
    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    pub(super) fn native_lanes(self) -> [Limbs; LANES] {
        self.to_lanes()
    }

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
}

super::field_ifma_ops::define_ifma_arithmetic!(
    Fe4, __m256i, "avx512ifma,avx512vl,avx512dq,avx2",
    set1: _mm256_set1_epi64x, zero: _mm256_setzero_si256, add: _mm256_add_epi64,
    sub: _mm256_sub_epi64, and: _mm256_and_si256, or: _mm256_or_si256,
    srli: _mm256_srli_epi64, slli: _mm256_slli_epi64, mullo: _mm256_mullo_epi64,
    madd52lo: _mm256_madd52lo_epu64, madd52hi: _mm256_madd52hi_epu64,
    blend: _mm256_mask_blend_epi64, cmpeq: _mm256_cmpeq_epi64_mask,
);
