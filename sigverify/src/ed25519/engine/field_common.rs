//! Field operations that are the same on every backend, written once on top of
//! each backend's primitives (`splat`, `sub`, `blend`, `mul`, `square`,
//! `is_zero_lanes`): comparison, negation, and the exponentiation chains for
//! inversion and square roots; and, for the backends that read their tables
//! with hardware gathers (a one-limb `gather_u64`), the table lookups.

/// Defines the shared `impl Fe4` block for the `Fe4` in scope (a type alias
/// for the 8-lane `Fe8`), compiled for
/// `$features`.
macro_rules! define_field_common {
    ($features:literal) => {
        impl Fe4 {
            /// Lanes where `self` and `other` are the same element mod p.
            #[target_feature(enable = $features)]
            pub(super) fn eq_lanes(self, other: Self) -> [bool; LANES] {
                self.sub(other).is_zero_lanes()
            }

            /// −self, weakly reduced.
            #[target_feature(enable = $features)]
            pub(super) fn neg(self) -> Self {
                Self::splat([0; 5]).sub(self)
            }

            /// −self in the lanes of `mask`, self elsewhere.
            #[target_feature(enable = $features)]
            pub(super) fn negate_where(self, mask: [bool; LANES]) -> Self {
                self.blend(self.neg(), mask)
            }

            /// self^(2^n).
            #[target_feature(enable = $features)]
            pub(super) fn square_n(self, n: u32) -> Self {
                let mut x = self;
                for _ in 0..n {
                    x = x.square();
                }
                x
            }

            /// Every element squared `n` times, the elements' chains interleaved.
            #[target_feature(enable = $features)]
            fn square_n_each<const N: usize>(x: [Self; N], n: u32) -> [Self; N] {
                let mut x = x;
                for _ in 0..n {
                    for e in x.iter_mut() {
                        *e = e.square();
                    }
                }
                x
            }

            /// Element by element, a · b.
            #[target_feature(enable = $features)]
            fn mul_each<const N: usize>(a: [Self; N], b: [Self; N]) -> [Self; N] {
                let mut a = a;
                for (x, y) in a.iter_mut().zip(b) {
                    *x = x.mul(y);
                }
                a
            }

            /// (x^(2^250 − 1), x^11) for every element: the common head of
            /// inversion and the square-root exponent. The chain is one long
            /// dependency, so running several elements' chains side by side gives
            /// the core independent work to overlap.
            #[target_feature(enable = $features)]
            fn pow_2_250_minus_1_each<const N: usize>(x: [Self; N]) -> ([Self; N], [Self; N]) {
                let z2 = Self::square_n_each(x, 1);
                let z9 = Self::mul_each(Self::square_n_each(z2, 2), x);
                let z11 = Self::mul_each(z9, z2);
                let z_5 = Self::mul_each(Self::square_n_each(z11, 1), z9); // 2^5 − 1
                let z_10 = Self::mul_each(Self::square_n_each(z_5, 5), z_5);
                let z_20 = Self::mul_each(Self::square_n_each(z_10, 10), z_10);
                let z_40 = Self::mul_each(Self::square_n_each(z_20, 20), z_20);
                let z_50 = Self::mul_each(Self::square_n_each(z_40, 10), z_10);
                let z_100 = Self::mul_each(Self::square_n_each(z_50, 50), z_50);
                let z_200 = Self::mul_each(Self::square_n_each(z_100, 100), z_100);
                let z_250 = Self::mul_each(Self::square_n_each(z_200, 50), z_50);
                (z_250, z11)
            }

            /// self^(p − 2): the inverse (0 maps to 0).
            #[target_feature(enable = $features)]
            pub(super) fn invert(self) -> Self {
                let ([z_250], [z11]) = Self::pow_2_250_minus_1_each([self]);
                z_250.square_n(5).mul(z11)
            }

            /// x^((p − 5)/8) = x^(2^252 − 3), the exponent of the square root, for
            /// every element (their chains interleaved).
            #[target_feature(enable = $features)]
            pub(super) fn pow_p58_each<const N: usize>(x: [Self; N]) -> [Self; N] {
                let (z_250, _) = Self::pow_2_250_minus_1_each(x);
                Self::mul_each(Self::square_n_each(z_250, 2), x)
            }
        }
    };
}
pub(super) use define_field_common;

/// Defines table lookups by hardware gather (one per limb) for the `Fe4` in
/// scope, compiled for `$features`: the AVX2 and 4-lane IFMA backends, with
/// the interface the kernels use (`LaneRows`, `empty_lane_rows`,
/// `store_lane_rows`, `select_lane_rows`, `rows_of_three`). The 8-lane
/// backend has the same interface over rows read whole and transposed in
/// registers instead (`field_ifma512`): on AMD Zen 5 one `vpgatherdq zmm`
/// occupies ~15 cycles.
macro_rules! define_gathers {
    ($features:literal) => {
        /// A table entry of four elements, kept as vectors (read with gathers).
        pub(super) type LaneRows = [Fe4; 4];

        impl Fe4 {
            /// A table entry to be written by [`store_lane_rows`](Self::store_lane_rows).
            #[target_feature(enable = $features)]
            pub(super) fn empty_lane_rows() -> LaneRows {
                [Fe4::splat([0; 5]); 4]
            }

            /// Stores four elements (a table entry) as
            /// [`select_lane_rows`](Self::select_lane_rows) reads them.
            #[target_feature(enable = $features)]
            pub(super) fn store_lane_rows(elements: [Fe4; 4], rows: &mut LaneRows) {
                *rows = elements;
            }

            /// Lane j's entry `entries[j]`: one gather per limb.
            #[target_feature(enable = $features)]
            pub(super) fn select_lane_rows(
                table: &[LaneRows],
                entries: [usize; LANES],
            ) -> [Fe4; 4] {
                [0, 1, 2, 3].map(|k| Fe4::gather_lanes(table, |row| &row[k], entries))
            }

            /// Entry `entries[j]` of a table of three-element rows, in lane j: one
            /// gather per limb.
            #[target_feature(enable = $features)]
            pub(super) fn rows_of_three(table: &[[Limbs; 3]], entries: [usize; LANES]) -> [Fe4; 3] {
                [0, 1, 2].map(|k| Fe4::gather_rows(table, |row| &row[k], entries))
            }

            /// Lane j of `field(&table[entries[j]])` in lane j: a per-lane lookup in a
            /// table of whole elements, one hardware gather per limb and no
            /// transposition.
            #[target_feature(enable = $features)]
            pub(super) fn gather_lanes<T>(
                table: &[T],
                field: impl Fn(&T) -> &Self,
                entries: [usize; LANES],
            ) -> Self {
                Self::gather(
                    table,
                    |entry| (field(entry) as *const Self).cast::<u64>(),
                    entries,
                    LANES,
                    1,
                )
            }

            /// The element whose limbs are `row(&table[entries[j]])` in lane j: a
            /// lookup in a table of single elements (in the backend's own limbs)
            /// that every lane shares.
            #[target_feature(enable = $features)]
            pub(super) fn gather_rows<T>(
                table: &[T],
                row: impl Fn(&T) -> &Limbs,
                entries: [usize; LANES],
            ) -> Self {
                Self::gather(table, |entry| row(entry).as_ptr(), entries, 1, 0)
            }

            /// Lane j from entry `entries[j]` of `table`: its limb i is the u64
            /// `i·limb_step + j·lane_step` places past where `part` points in that
            /// entry. Every address is checked to lie inside the entry before the
            /// gathers run.
            #[target_feature(enable = $features)]
            fn gather<T>(
                table: &[T],
                part: impl Fn(&T) -> *const u64,
                entries: [usize; LANES],
                limb_step: usize,
                lane_step: usize,
            ) -> Self {
                let mut out = Self::splat([0; 5]);
                let entry_size = core::mem::size_of::<T>();
                let start = table.as_ptr().cast::<u8>();
                let part_offset = (part(&table[0]) as usize)
                    .checked_sub(start as usize)
                    .expect("the part lies inside the entry");
                let last =
                    part_offset + 8 * ((out.0.len() - 1) * limb_step + (LANES - 1) * lane_step);
                assert!(core::mem::align_of::<T>() >= 8 && part_offset % 8 == 0);
                assert!(last + 8 <= entry_size);
                assert!(table.len() * entry_size / 8 <= i32::MAX as usize);
                assert!(entries.iter().all(|&e| e < table.len()));
                let offsets: [i32; LANES] =
                    core::array::from_fn(|j| (entries[j] * entry_size / 8 + j * lane_step) as i32);
                for (i, limb) in out.0.iter_mut().enumerate() {
                    // SAFETY: lane j reads the u64 at byte
                    // entries[j]·entry_size + part_offset + 8·(i·limb_step + j·lane_step)
                    // of the slice: inside entry entries[j] (< table.len()) by the
                    // assertions above, 8-aligned (T is, so its size is a multiple of 8,
                    // and so is part_offset), and `start`
                    // carries the whole slice's provenance.
                    *limb = unsafe {
                        gather_u64(
                            start.add(part_offset + 8 * i * limb_step).cast::<u64>(),
                            offsets,
                        )
                    };
                }
                out
            }
        }
    };
}
pub(super) use define_gathers;
