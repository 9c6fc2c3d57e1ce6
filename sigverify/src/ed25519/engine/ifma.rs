//! The engine on AVX-512 IFMA: the field in radix 2^51 on 52-bit
//! multiply-accumulates ([`super::field_ifma`]), the shared point, kernel and
//! SHA-512 code instantiated for these target features.

use core::arch::x86_64::*;

use super::field_ifma::{lane_mask, Fe4, LaneRows, Limbs, LANES};

super::point::define_points!("avx512ifma,avx512vl,avx512dq,avx2");
super::kernel::define_kernels!("avx512ifma,avx512vl,avx512dq,avx2");
super::sha512::define_sha512!("avx512ifma,avx512vl,avx512dq,avx2", __m256i);

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
fn keep_where(live: [bool; LANES], old: __m256i, new: __m256i) -> __m256i {
    _mm256_mask_blend_epi64(lane_mask(live), old, new)
}

/// `x`, through an empty assembly block the compiler cannot see into, so
/// that it cannot regroup a sum around it (no instruction is emitted).
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn settled(x: __m256i) -> __m256i {
    let mut x = x;
    // SAFETY: an empty template that reads and writes one register.
    unsafe {
        core::arch::asm!("/* {x} */", x = inout(ymm_reg) x, options(pure, nomem, nostack, preserves_flags))
    };
    x
}

/// Lane-wise wrapping sum.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn add(a: __m256i, b: __m256i) -> __m256i {
    _mm256_add_epi64(a, b)
}

/// The same word in every lane.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn splat(word: u64) -> __m256i {
    _mm256_set1_epi64x(word as i64)
}

/// The sixteen big-endian message words of block `b` of each lane's message.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn block_words(lanes: [&Padded; LANES], b: usize) -> [__m256i; 16] {
    core::array::from_fn(|t| from_words(lanes.map(|lane| lane.word(b, t))))
}

/// `words[j]` in lane j.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn from_words(words: [u64; LANES]) -> __m256i {
    let w = words.map(|word| word as i64);
    _mm256_set_epi64x(w[3], w[2], w[1], w[0])
}

/// Lane j's word at j.
#[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
fn to_words(v: __m256i) -> [u64; LANES] {
    [
        _mm256_extract_epi64::<0>(v) as u64,
        _mm256_extract_epi64::<1>(v) as u64,
        _mm256_extract_epi64::<2>(v) as u64,
        _mm256_extract_epi64::<3>(v) as u64,
    ]
}

/// Where the strict kernel's time goes, phase by phase, on this backend:
/// `cargo test --release -p rampart-sigverify engine::ifma::profile -- --ignored --nocapture`.
/// Each phase runs alone in a loop on four lanes; figures are per signature.
#[cfg(test)]
mod profile {
    use std::{hint::black_box, time::Instant};

    use super::*;
    use crate::ed25519::engine::{limbs, sha512::Padded};

    const ITERS: u32 = 2000;

    fn ns_per_sig(start: Instant, iters: u32) -> f64 {
        start.elapsed().as_nanos() as f64 / f64::from(iters) / 4.0
    }

    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    fn phases(lanes: &[LaneInput; 4], msg_len: usize) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let msg = vec![0x5au8; msg_len];
        let mut padded = [Padded::new(), Padded::new(), Padded::new(), Padded::new()];
        for p in &mut padded {
            p.fill(&[&[1u8; 32], &lanes[0].pubkey, &msg]);
        }
        let t = Instant::now();
        for _ in 0..ITERS {
            let [p0, p1, p2, p3] = &padded;
            black_box(digest(black_box([p0, p1, p2, p3])));
        }
        out.push(("sha512 (R‖A‖M)", ns_per_sig(t, ITERS)));

        let wide = [7u8; 64];
        let t = Instant::now();
        for _ in 0..ITERS * 4 {
            let k = solana_ed25519::scalar::Scalar::from_bytes_mod_order_wide(black_box(&wide));
            black_box(limbs::signed_radix16(&k.to_bytes()));
            black_box(limbs::signed_radix256(black_box(&[3u8; 32])));
        }
        out.push(("k mod L, digits of k and S", ns_per_sig(t, ITERS)));

        let keys = lanes.map(|l| l.pubkey);
        let t = Instant::now();
        for _ in 0..ITERS {
            black_box(Extended4::decompress(black_box(&keys)));
        }
        out.push(("decompress A", ns_per_sig(t, ITERS)));
        let (a, _) = Extended4::decompress(&keys);

        let t = Instant::now();
        for _ in 0..ITERS {
            black_box(black_box(a).is_small_order_lanes());
        }
        out.push((
            "small-order test (R'; A's is read from the table)",
            ns_per_sig(t, ITERS),
        ));

        let mut table = [Fe4::empty_lane_rows(); MULTIPLES];
        let t = Instant::now();
        for _ in 0..ITERS {
            black_box(fill_multiples(black_box(a).neg(), &mut table));
        }
        out.push(("table 0..8·(−A)", ns_per_sig(t, ITERS)));
        fill_multiples(a.neg(), &mut table);
        let base = base_table();

        let iters = ITERS / 10;
        let t = Instant::now();
        for _ in 0..iters {
            let mut acc = black_box(a);
            for _ in 0..63 {
                acc = acc.double_n(4);
            }
            black_box(acc);
        }
        out.push(("252 doublings", ns_per_sig(t, iters)));

        let t = Instant::now();
        for _ in 0..iters {
            let mut acc = black_box(a);
            for w in 0..64 {
                acc = acc.add_cached(&select_cached(&table, lanes.map(|l| l.k_digits[w])));
            }
            black_box(acc);
        }
        out.push(("64 additions of k·(−A) incl. select", ns_per_sig(t, iters)));

        let t = Instant::now();
        for _ in 0..iters {
            for w in 0..64 {
                black_box(select_cached(
                    black_box(&table),
                    lanes.map(|l| l.k_digits[w]),
                ));
            }
        }
        out.push(("  of which select (gathers)", ns_per_sig(t, iters)));

        let t = Instant::now();
        for _ in 0..iters {
            let mut acc = black_box(a);
            for w in 0..32 {
                acc = acc
                    .add_affine_completed(&select_base(base, lanes.map(|l| l.s_digits[w])))
                    .into_extended();
            }
            black_box(acc);
        }
        out.push(("32 additions of S·B incl. select", ns_per_sig(t, iters)));

        let t = Instant::now();
        for _ in 0..iters {
            for w in 0..32 {
                black_box(select_base(black_box(base), lanes.map(|l| l.s_digits[w])));
            }
        }
        out.push(("  of which select (gathers)", ns_per_sig(t, iters)));

        let t = Instant::now();
        for _ in 0..ITERS {
            let a = black_box(a);
            black_box(a.compress_lanes_with(a.z.invert()));
        }
        out.push(("compress R' (inversion)", ns_per_sig(t, ITERS)));

        let t = Instant::now();
        for _ in 0..ITERS {
            black_box(Fe4::from_lanes(black_box(&[[1, 2, 3, 4, 5]; 4])).mul(black_box(a.x)));
        }
        out.push(("one field product (for scale)", ns_per_sig(t, ITERS)));

        let mut group = [[lanes[0]; crate::ed25519::engine::MAX_LANES]];
        group[0][..4].copy_from_slice(lanes);
        let mut outcomes = [[LaneOutcome::default(); crate::ed25519::engine::MAX_LANES]];
        let t = Instant::now();
        for _ in 0..iters {
            verify_groups(black_box(&group), &mut outcomes, None);
            black_box(&outcomes);
        }
        out.push(("whole verify4 (no sha512, no prep)", ns_per_sig(t, iters)));
        out
    }

    #[test]
    #[ignore = "a measurement, not a check"]
    fn strict_phases() {
        if !EngineKind::Ifma.supported() {
            eprintln!("no IFMA on this CPU");
            return;
        }
        use crate::ed25519::engine::EngineKind;
        let mut lanes = [LaneInput {
            pubkey: [0; 32],
            k_digits: [0; 64],
            s_digits: [0; 32],
        }; 4];
        for (j, lane) in lanes.iter_mut().enumerate() {
            let key = ed25519_dalek::SigningKey::from_bytes(&[j as u8 + 1; 32]);
            lane.pubkey = key.verifying_key().to_bytes();
            for (i, d) in lane.k_digits.iter_mut().enumerate() {
                *d = ((i * 7 + j * 3) % 17) as i8 - 8;
            }
            for (i, d) in lane.s_digits.iter_mut().enumerate() {
                *d = ((i * 71 + j * 13) % 256) as i8;
            }
        }
        for msg_len in [128, 1232] {
            // Safety: IFMA was detected above.
            let phases = unsafe { phases(&lanes, msg_len) };
            println!("IFMA 4-lane strict, {msg_len} B messages, ns per signature:");
            for (name, ns) in phases {
                println!("  {name:<42} {ns:8.0}");
            }
        }
    }
}
