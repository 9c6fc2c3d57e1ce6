//! The engine on AVX-512 IFMA at 512-bit width: eight signatures at once, the
//! field in radix 2^51 on `vpmadd52luq zmm` ([`super::field_ifma512`]), the
//! shared point, kernel and SHA-512 code instantiated for eight lanes.

use core::arch::x86_64::*;

use super::field_ifma512::{lane_mask, transpose8, Fe8 as Fe4, LaneRows, Limbs, LANES};

super::point::define_points!("avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2");
super::kernel::define_kernels!("avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2");
super::sha512::define_sha512!(
    "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2",
    __m512i
);

/// x rotated right by n bits (`vprorvq`).
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn rotr(x: __m512i, n: u32) -> __m512i {
    _mm512_rorv_epi64(x, _mm512_set1_epi64(i64::from(n)))
}

/// x shifted right by n bits.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn shr(x: __m512i, n: u32) -> __m512i {
    _mm512_srlv_epi64(x, _mm512_set1_epi64(i64::from(n)))
}

/// a ⊕ b ⊕ c in one `vpternlogq`.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    _mm512_ternarylogic_epi64::<0x96>(a, b, c)
}

/// SHA-2's Ch: e ? f : g, bit by bit.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn choose(e: __m512i, f: __m512i, g: __m512i) -> __m512i {
    _mm512_ternarylogic_epi64::<0xca>(e, f, g)
}

/// SHA-2's Maj: the bitwise majority of a, b, c.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn majority(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    _mm512_ternarylogic_epi64::<0xe8>(a, b, c)
}

/// `new` in the lanes where `live[j]`, `old` elsewhere.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn keep_where(live: [bool; LANES], old: __m512i, new: __m512i) -> __m512i {
    _mm512_mask_blend_epi64(lane_mask(live), old, new)
}

/// `x`, through an empty assembly block the compiler cannot see into, so
/// that it cannot regroup a sum around it (no instruction is emitted).
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn settled(x: __m512i) -> __m512i {
    let mut x = x;
    // SAFETY: an empty template that reads and writes one register.
    unsafe {
        core::arch::asm!("/* {x} */", x = inout(zmm_reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    x
}

/// Lane-wise wrapping sum.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn add(a: __m512i, b: __m512i) -> __m512i {
    _mm512_add_epi64(a, b)
}

/// The same word in every lane.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn splat(word: u64) -> __m512i {
    _mm512_set1_epi64(word as i64)
}

/// The sixteen big-endian message words of block `b` of each lane's message:
/// each lane's block read with two loads, the 8×8 words transposed in
/// registers and their bytes reversed (a word at a time per lane costs ~40
/// instructions per word vector).
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn block_words(lanes: [&Padded; LANES], b: usize) -> [__m512i; 16] {
    // Within each 16-byte lane: the bytes of each 8-byte word reversed.
    let reverse = _mm512_set_epi64(
        0x0809_0a0b_0c0d_0e0f,
        0x0001_0203_0405_0607,
        0x0809_0a0b_0c0d_0e0f,
        0x0001_0203_0405_0607,
        0x0809_0a0b_0c0d_0e0f,
        0x0001_0203_0405_0607,
        0x0809_0a0b_0c0d_0e0f,
        0x0001_0203_0405_0607,
    );
    let blocks = lanes.map(|lane| lane.block(b));
    let mut words = [_mm512_setzero_si512(); 16];
    for (half, words) in words.chunks_exact_mut(8).enumerate() {
        let columns = transpose8(blocks.map(|block| {
            // SAFETY: bytes 64·half..64·half + 64 of a 128-byte block.
            unsafe { _mm512_loadu_si512(block[64 * half..].as_ptr().cast()) }
        }));
        for (word, column) in words.iter_mut().zip(columns) {
            *word = _mm512_shuffle_epi8(column, reverse);
        }
    }
    words
}

/// Lane j's word at j.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn to_words(v: __m512i) -> [u64; LANES] {
    let (low, high) = (
        _mm512_extracti64x4_epi64::<0>(v),
        _mm512_extracti64x4_epi64::<1>(v),
    );
    [
        _mm256_extract_epi64::<0>(low) as u64,
        _mm256_extract_epi64::<1>(low) as u64,
        _mm256_extract_epi64::<2>(low) as u64,
        _mm256_extract_epi64::<3>(low) as u64,
        _mm256_extract_epi64::<0>(high) as u64,
        _mm256_extract_epi64::<1>(high) as u64,
        _mm256_extract_epi64::<2>(high) as u64,
        _mm256_extract_epi64::<3>(high) as u64,
    ]
}
