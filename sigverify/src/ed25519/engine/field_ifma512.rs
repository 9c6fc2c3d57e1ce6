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
super::field_common::define_field_common!("avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2");

/// An AVX-512 lane mask: bit j set where `lanes[j]`.
pub(super) fn lane_mask(lanes: [bool; LANES]) -> __mmask8 {
    lanes
        .iter()
        .enumerate()
        .fold(0, |m, (j, &on)| m | (u8::from(on) << j))
}

/// A table entry of four elements kept lane by lane: row j is lane j's
/// twenty limbs ([`Fe8::store_lane_rows`]).
pub(super) type LaneRows = [[u64; 20]; LANES];

/// One element's limbs as the backend keeps them: the table rows `Fe8::rows_of_three` reads.
pub(super) type Limbs = [u64; 5];

/// The 8×8 transpose of 64-bit words: word i of `rows[j]` becomes word j of
/// vector i. Three rounds of eight shuffles.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
pub(super) fn transpose8(rows: [__m512i; 8]) -> [__m512i; 8] {
    let r = rows;
    // Pairs of rows interleaved: even words, then odd words.
    let t: [__m512i; 8] = core::array::from_fn(|k| {
        let (a, b) = (r[2 * (k % 4)], r[2 * (k % 4) + 1]);
        if k < 4 {
            _mm512_unpacklo_epi64(a, b)
        } else {
            _mm512_unpackhi_epi64(a, b)
        }
    });
    // t[0..4] hold words 0, 2, 4, 6 of row pairs (0,1), (2,3), (4,5), (6,7);
    // t[4..8] the odd words. Gather the 128-bit blocks of equal position.
    let mut out = [_mm512_setzero_si512(); 8];
    for (parity, t) in [&t[..4], &t[4..]].into_iter().enumerate() {
        let low01 = _mm512_shuffle_i64x2::<0b01_00_01_00>(t[0], t[1]);
        let high01 = _mm512_shuffle_i64x2::<0b11_10_11_10>(t[0], t[1]);
        let low23 = _mm512_shuffle_i64x2::<0b01_00_01_00>(t[2], t[3]);
        let high23 = _mm512_shuffle_i64x2::<0b11_10_11_10>(t[2], t[3]);
        out[parity] = _mm512_shuffle_i64x2::<0b10_00_10_00>(low01, low23);
        out[2 + parity] = _mm512_shuffle_i64x2::<0b11_01_11_01>(low01, low23);
        out[4 + parity] = _mm512_shuffle_i64x2::<0b10_00_10_00>(high01, high23);
        out[6 + parity] = _mm512_shuffle_i64x2::<0b11_01_11_01>(high01, high23);
    }
    out
}

/// Word i of `rows[j]` in lane j of vector i, for every word of the rows
/// (all of one length, at most 24): each lane's row read with masked loads
/// of eight words and transposed in registers, where one gather per word
/// costs far more on AMD Zen 5. Vectors past the rows' length are zero.
#[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
fn lane_columns(rows: [&[u64]; LANES]) -> [__m512i; 24] {
    let len = rows[0].len();
    assert!(len <= 24 && rows.iter().all(|row| row.len() == len));
    let mut words = [_mm512_setzero_si512(); 24];
    for start in (0..len).step_by(8) {
        let mask = ((1u16 << (len - start).min(8)) - 1) as u8;
        let columns = transpose8(rows.map(|row| {
            // SAFETY: the mask reads words start.. of `row` only up to its
            // length; masked-off words are never read.
            unsafe { _mm512_maskz_loadu_epi64(mask, row[start..].as_ptr().cast()) }
        }));
        words[start..start + 8].copy_from_slice(&columns);
    }
    words
}

impl Fe8 {
    /// Entry `entries[j]` of a table of three-element rows, in lane j (see
    /// [`lane_columns`]).
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    pub(super) fn rows_of_three(table: &[[Limbs; 3]], entries: [usize; LANES]) -> [Fe8; 3] {
        let words = lane_columns(entries.map(|e| table[e].as_flattened()));
        core::array::from_fn(|k| Fe8(core::array::from_fn(|i| words[5 * k + i])))
    }

    /// A table entry to be written by [`store_lane_rows`](Self::store_lane_rows).
    pub(super) fn empty_lane_rows() -> LaneRows {
        [[0; 20]; LANES]
    }

    /// Stores four elements (a table entry) lane by lane, for
    /// [`select_lane_rows`](Self::select_lane_rows): row j holds lane j's twenty limbs.
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    pub(super) fn store_lane_rows(elements: [Fe8; 4], rows: &mut LaneRows) {
        let word = |w: usize| elements[w / 5].0[w % 5];
        for (start, len) in [(0, 8), (8, 8), (16, 4)] {
            let columns = transpose8(core::array::from_fn(|i| {
                if i < len {
                    word(start + i)
                } else {
                    _mm512_setzero_si512()
                }
            }));
            for (row, column) in rows.iter_mut().zip(columns) {
                let mask = ((1u16 << len) - 1) as u8;
                // SAFETY: `len` words from `start` of a 20-word row (the mask
                // leaves the others unwritten).
                unsafe { _mm512_mask_storeu_epi64(row[start..].as_mut_ptr().cast(), mask, column) };
            }
        }
    }

    /// Lane j's entry `entries[j]` of its own rows (see [`lane_columns`]).
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    pub(super) fn select_lane_rows(table: &[LaneRows], entries: [usize; LANES]) -> [Fe8; 4] {
        let words = lane_columns(core::array::from_fn(|j| &table[entries[j]][j][..]));
        core::array::from_fn(|k| Fe8(core::array::from_fn(|i| words[5 * k + i])))
    }

    /// The same element in every lane.
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    pub(super) fn splat(l: [u64; 5]) -> Fe8 {
        let mut v = [_mm512_setzero_si512(); 5];
        for (vector, limb) in v.iter_mut().zip(l) {
            *vector = _mm512_set1_epi64(limb as i64);
        }
        Fe8(v)
    }

    /// Element j from `lanes[j]`.
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
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
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    pub(super) fn native_lanes(self) -> [Limbs; LANES] {
        self.to_lanes()
    }

    /// The limbs of each lane, as they are (not reduced).
    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
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
    Fe8, __m512i, "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2",
    set1: _mm512_set1_epi64, zero: _mm512_setzero_si512, add: _mm512_add_epi64,
    sub: _mm512_sub_epi64, and: _mm512_and_si512, or: _mm512_or_si512,
    srli: _mm512_srli_epi64, slli: _mm512_slli_epi64, mullo: _mm512_mullo_epi64,
    madd52lo: _mm512_madd52lo_epu64, madd52hi: _mm512_madd52hi_epu64,
    blend: _mm512_mask_blend_epi64, cmpeq: _mm512_cmpeq_epi64_mask,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ed25519::engine::EngineKind;

    /// A distinct limb for every (entry, lane, word).
    fn limb(entry: usize, lane: usize, word: usize) -> u64 {
        (entry as u64) << 20 | (lane as u64) << 10 | word as u64
    }

    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    fn check_lookups() {
        // Per-lane rows: entry e holds, in lane j, the limbs limb(e, j, w).
        let table: Vec<LaneRows> = (0..17)
            .map(|e| {
                let elements: [Fe8; 4] = core::array::from_fn(|k| {
                    Fe8::from_lanes(&core::array::from_fn(|j| {
                        core::array::from_fn(|i| limb(e, j, 5 * k + i))
                    }))
                });
                let mut rows = Fe8::empty_lane_rows();
                Fe8::store_lane_rows(elements, &mut rows);
                rows
            })
            .collect();
        for shift in 0..17 {
            let entries: [usize; LANES] = core::array::from_fn(|j| (5 * j + shift) % 17);
            let got = Fe8::select_lane_rows(&table, entries).map(|e| e.to_lanes());
            for (k, element) in got.iter().enumerate() {
                for (j, lane) in element.iter().enumerate() {
                    let want: [u64; 5] = core::array::from_fn(|i| limb(entries[j], j, 5 * k + i));
                    assert_eq!(*lane, want, "entry {}, lane {j}, element {k}", entries[j]);
                }
            }
        }
        // Shared rows of three elements: row r holds limb(r, 0, w).
        let rows: Vec<[Limbs; 3]> = (0..129)
            .map(|r| core::array::from_fn(|k| core::array::from_fn(|i| limb(r, 0, 5 * k + i))))
            .collect();
        for shift in 0..129 {
            let entries: [usize; LANES] = core::array::from_fn(|j| (37 * j + shift) % 129);
            let got = Fe8::rows_of_three(&rows, entries).map(|e| e.to_lanes());
            for (k, element) in got.iter().enumerate() {
                for (j, lane) in element.iter().enumerate() {
                    assert_eq!(*lane, rows[entries[j]][k], "row {}, lane {j}", entries[j]);
                }
            }
        }
    }

    /// Each lane reads its own entry, every word in place, from both kinds
    /// of table (the loads and the in-register transposes).
    #[test]
    fn table_lookups_read_each_lanes_own_entry() {
        if !EngineKind::Ifma512.supported() {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping table_lookups_read_each_lanes_own_entry/ifma512: needs avx512ifma"
            );
            return;
        }
        // Safety: the backend's features were detected above.
        unsafe { check_lookups() }
    }
}
