//! Eight field elements mod p = 2^255 − 19, one per 64-bit lane of a 512-bit
//! vector, in radix 2^51: `field_ifma` at twice the width (`vpmadd52luq zmm`),
//! with the same limb bounds and the same interface, so that the point and
//! kernel code run unchanged on eight lanes. Whether 512-bit wins depends on
//! the core (docs/sigverify-engine.md).

use core::arch::x86_64::*;

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

/// One element's limbs as the backend keeps them: the table rows `Fe8::gather_rows` reads.
pub(super) type Limbs = [u64; 5];

/// Lane j of the result is the u64 at `base + offsets[j]`: one `vpgatherdq`.
///
/// # Safety
/// Every `base + offsets[j]` must be an 8-aligned readable u64 of one
/// allocation (`field_common`'s `gather` checks that before it calls).
#[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
unsafe fn gather_u64(base: *const u64, offsets: [i32; LANES]) -> __m512i {
    let o = offsets;
    let offsets = _mm256_set_epi32(o[7], o[6], o[5], o[4], o[3], o[2], o[1], o[0]);
    // SAFETY: the caller's contract.
    unsafe { _mm512_i32gather_epi64::<8>(offsets, base.cast()) }
}

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

    /// The limbs of each lane as the backend keeps them (here: `to_lanes`).
    #[target_feature(enable = "avx512ifma,avx512f,avx512dq,avx512vl,avx2")]
    pub(super) fn native_lanes(self) -> [Limbs; LANES] {
        self.to_lanes()
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
}

super::field_ifma_ops::define_ifma_arithmetic!(
    Fe8, __m512i, "avx512ifma,avx512f,avx512dq,avx512vl,avx2",
    set1: _mm512_set1_epi64, zero: _mm512_setzero_si512, add: _mm512_add_epi64,
    sub: _mm512_sub_epi64, and: _mm512_and_si512, or: _mm512_or_si512,
    srli: _mm512_srli_epi64, slli: _mm512_slli_epi64, mullo: _mm512_mullo_epi64,
    madd52lo: _mm512_madd52lo_epu64, madd52hi: _mm512_madd52hi_epu64,
    blend: _mm512_mask_blend_epi64, cmpeq: _mm512_cmpeq_epi64_mask,
);
