//! The engine on AVX-512 IFMA: the field in radix 2^51 on 52-bit
//! multiply-accumulates ([`super::field_ifma`]), the shared point, kernel and
//! SHA-512 code instantiated for these target features.

use core::arch::x86_64::*;

use super::field_ifma::{lane_mask, Fe4};

super::point::define_points!("avx512ifma,avx512vl,avx512dq,avx2");
super::kernel::define_kernels!("avx512ifma,avx512vl,avx512dq,avx2");
super::sha512::define_sha512!("avx512ifma,avx512vl,avx512dq,avx2");

/// x rotated right by n bits (`vprorvq`).
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn rotr(x: __m256i, n: u32) -> __m256i {
    _mm256_rorv_epi64(x, _mm256_set1_epi64x(i64::from(n)))
}

/// x shifted right by n bits.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn shr(x: __m256i, n: u32) -> __m256i {
    _mm256_srlv_epi64(x, _mm256_set1_epi64x(i64::from(n)))
}

/// a ⊕ b ⊕ c in one `vpternlogq`.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn xor3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_ternarylogic_epi64::<0x96>(a, b, c)
}

/// SHA-2's Ch: e ? f : g, bit by bit.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn choose(e: __m256i, f: __m256i, g: __m256i) -> __m256i {
    _mm256_ternarylogic_epi64::<0xca>(e, f, g)
}

/// SHA-2's Maj: the bitwise majority of a, b, c.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn majority(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_ternarylogic_epi64::<0xe8>(a, b, c)
}

/// `new` in the lanes where `live[j]`, `old` elsewhere.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn keep_where(live: [bool; 4], old: __m256i, new: __m256i) -> __m256i {
    _mm256_mask_blend_epi64(lane_mask(live), old, new)
}
