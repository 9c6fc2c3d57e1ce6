//! The engine on plain AVX2: the field in radix 2^25.5 on `vpmuludq`
//! ([`super::field_avx2`]), the shared point, kernel and SHA-512 code
//! instantiated for AVX2 alone, so that it runs on CPUs without AVX-512.

use core::arch::x86_64::*;

use super::field_avx2::{Fe4, LaneRows, Limbs, LANES};

super::point::define_points!("avx2");
super::kernel::define_kernels!("avx2");
super::sha512::define_sha512!("avx2", __m256i);

/// x rotated right by n bits (two shifts and an or).
#[target_feature(enable = "avx2")]
fn rotr(x: __m256i, n: u32) -> __m256i {
    let right = _mm256_set1_epi64x(i64::from(n));
    let left = _mm256_set1_epi64x(64 - i64::from(n));
    _mm256_or_si256(_mm256_srlv_epi64(x, right), _mm256_sllv_epi64(x, left))
}

/// x shifted right by n bits.
#[target_feature(enable = "avx2")]
fn shr(x: __m256i, n: u32) -> __m256i {
    _mm256_srlv_epi64(x, _mm256_set1_epi64x(i64::from(n)))
}

/// a ⊕ b ⊕ c.
#[target_feature(enable = "avx2")]
fn xor3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_xor_si256(_mm256_xor_si256(a, b), c)
}

/// SHA-2's Ch: (e ∧ f) ⊕ (¬e ∧ g).
#[target_feature(enable = "avx2")]
fn choose(e: __m256i, f: __m256i, g: __m256i) -> __m256i {
    _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g))
}

/// SHA-2's Maj: ((a ∨ b) ∧ c) ∨ (a ∧ b).
#[target_feature(enable = "avx2")]
fn majority(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    _mm256_or_si256(
        _mm256_and_si256(_mm256_or_si256(a, b), c),
        _mm256_and_si256(a, b),
    )
}

/// `new` in the lanes where `live[j]`, `old` elsewhere.
#[target_feature(enable = "avx2")]
fn keep_where(live: [bool; LANES], old: __m256i, new: __m256i) -> __m256i {
    let mask = _mm256_set_epi64x(
        -i64::from(live[3]),
        -i64::from(live[2]),
        -i64::from(live[1]),
        -i64::from(live[0]),
    );
    _mm256_blendv_epi8(old, new, mask)
}

/// `x`, through an empty assembly block the compiler cannot see into, so
/// that it cannot regroup a sum around it (no instruction is emitted).
#[target_feature(enable = "avx2")]
fn settled(x: __m256i) -> __m256i {
    let mut x = x;
    // SAFETY: an empty template that reads and writes one register.
    unsafe {
        core::arch::asm!("/* {x} */", x = inout(ymm_reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    x
}

/// Lane-wise wrapping sum.
#[target_feature(enable = "avx2")]
fn add(a: __m256i, b: __m256i) -> __m256i {
    _mm256_add_epi64(a, b)
}

/// The same word in every lane.
#[target_feature(enable = "avx2")]
fn splat(word: u64) -> __m256i {
    _mm256_set1_epi64x(word as i64)
}

/// The sixteen big-endian message words of block `b` of each lane's message.
#[target_feature(enable = "avx2")]
fn block_words(lanes: [&Padded; LANES], b: usize) -> [__m256i; 16] {
    core::array::from_fn(|t| from_words(lanes.map(|lane| lane.word(b, t))))
}

/// `words[j]` in lane j.
#[target_feature(enable = "avx2")]
fn from_words(words: [u64; LANES]) -> __m256i {
    let w = words.map(|word| word as i64);
    _mm256_set_epi64x(w[3], w[2], w[1], w[0])
}

/// Lane j's word at j.
#[target_feature(enable = "avx2")]
fn to_words(v: __m256i) -> [u64; LANES] {
    [
        _mm256_extract_epi64::<0>(v) as u64,
        _mm256_extract_epi64::<1>(v) as u64,
        _mm256_extract_epi64::<2>(v) as u64,
        _mm256_extract_epi64::<3>(v) as u64,
    ]
}
