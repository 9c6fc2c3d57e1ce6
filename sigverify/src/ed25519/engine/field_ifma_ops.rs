//! The arithmetic both IFMA field backends share, written once over the
//! vector width: `field_ifma` (four lanes, 256-bit) and `field_ifma512`
//! (eight lanes, 512-bit) instantiate it with their own vector type and
//! intrinsics, so the limb bounds argued here hold for both.

/// 4p in radix 2^51, added before a subtraction so that no limb goes negative.
pub(super) const FOUR_P: [u64; 5] = [
    4 * ((1 << 51) - 19),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
    4 * ((1 << 51) - 1),
];

/// Defines carrying, `add`, `add_unreduced`, `sub`, `blend`, `mul` and
/// `square` on `$fe` (five vectors of `$vector`, limb i in vector i), compiled
/// for `$features`, from the width's intrinsics. `blend` takes the caller's
/// `LANES` and `lane_mask`.
macro_rules! define_ifma_arithmetic {
    (
        $fe:ident, $vector:ty, $features:literal,
        set1: $set1:ident, zero: $zero:ident, add: $add:ident, sub: $sub:ident,
        and: $and:ident, srli: $srli:ident, slli: $slli:ident, mullo: $mullo:ident,
        madd52lo: $madd52lo:ident, madd52hi: $madd52hi:ident, blend: $blend:ident $(,)?
    ) => {
        impl $fe {
            /// One carry pass over all limbs at once: limb i keeps its low 51 bits and
            /// gains limb i−1's carry; the top carry wraps to limb 0 times 19. Inputs
            /// below 2^59 per limb give limbs below 2^51 + 2^13; below 2^61 (a
            /// product's folded columns), below 2^51 + 2^15.
            #[target_feature(enable = $features)]
            fn weak_reduce(self) -> Self {
                let mask = $set1($crate::ed25519::engine::limbs::MASK51 as i64);
                let v = self.0;
                let mut c = v;
                for (carry, limb) in c.iter_mut().zip(v) {
                    *carry = $srli::<51>(limb);
                }
                // c[4] < 2^10: 19·c[4] is exact in the low 52 bits of one IFMA product
                // (one uop where `vpmullq` takes three).
                Self([
                    $madd52lo($and(v[0], mask), c[4], $set1(19)),
                    $add($and(v[1], mask), c[0]),
                    $add($and(v[2], mask), c[1]),
                    $add($and(v[3], mask), c[2]),
                    $add($and(v[4], mask), c[3]),
                ])
            }

            /// self + other, weakly reduced.
            #[target_feature(enable = $features)]
            pub(super) fn add(self, other: Self) -> Self {
                let mut v = self.0;
                for (a, b) in v.iter_mut().zip(other.0) {
                    *a = $add(*a, b);
                }
                Self(v).weak_reduce()
            }

            /// self + other without the carry pass, for a sum that is only ever an
            /// operand of [`add`](Self::add) or the minuend of [`sub`](Self::sub), both of which carry
            /// (never a multiplicand, never a subtrahend).
            #[target_feature(enable = $features)]
            pub(super) fn add_unreduced(self, other: Self) -> Self {
                let mut v = self.0;
                for (a, b) in v.iter_mut().zip(other.0) {
                    *a = $add(*a, b);
                }
                Self(v)
            }

            /// self − other (computed as self + 4p − other), weakly reduced. `other`
            /// must have limbs below 2^53 − 76, which every value here has.
            #[target_feature(enable = $features)]
            pub(super) fn sub(self, other: Self) -> Self {
                let mut v = self.0;
                for ((a, b), p4) in v
                    .iter_mut()
                    .zip(other.0)
                    .zip($crate::ed25519::engine::field_ifma_ops::FOUR_P)
                {
                    *a = $sub($add(*a, $set1(p4 as i64)), b);
                }
                Self(v).weak_reduce()
            }

            /// Every limb of every lane is below 2^52, the bound IFMA multiplicands need
            /// (for debug assertions).
            #[target_feature(enable = $features)]
            fn below_2_52(self) -> bool {
                self.to_lanes().iter().flatten().all(|&l| l < 1 << 52)
            }

            /// Per lane: `other` where `mask[j]`, `self` elsewhere.
            #[target_feature(enable = $features)]
            pub(super) fn blend(self, other: Self, mask: [bool; LANES]) -> Self {
                let mask = lane_mask(mask);
                let mut v = self.0;
                for (a, b) in v.iter_mut().zip(other.0) {
                    *a = $blend(mask, *a, b);
                }
                Self(v)
            }

            /// Folds the ten product columns (`z[k]` at weight 2^(51k)) back to five
            /// limbs with 2^255 ≡ 19, then one carry pass over all five limbs at once
            /// (no chain from limb to limb): every limb comes out below 2^51 + 2^15,
            /// inside IFMA's 52-bit multiplicand and `sub`'s bound on `other`.
            #[target_feature(enable = $features)]
            fn reduce_columns(z: [$vector; 10]) -> Self {
                let nineteen = $set1(19);
                let mut r = [$zero(); 5];
                for (k, limb) in r.iter_mut().enumerate() {
                    *limb = $add(z[k], $mullo(z[k + 5], nineteen));
                }
                // Every folded column is below 2^61.
                Self(r).weak_reduce()
            }

            /// self · other.
            ///
            /// Limb product aᵢbⱼ (< 2^104) sits at weight 2^(51(i+j)); its low 52 bits
            /// add to column i+j and its high part, at 2^(51(i+j)) · 2^52, adds twice to
            /// column i+j+1.
            #[target_feature(enable = $features)]
            pub(super) fn mul(self, other: Self) -> Self {
                debug_assert!(self.below_2_52() && other.below_2_52());
                let (a, b) = (self.0, other.0);
                let zero = $zero();
                let mut lo = [zero; 10];
                let mut hi = [zero; 10];
                for i in 0..5 {
                    for j in 0..5 {
                        lo[i + j] = $madd52lo(lo[i + j], a[i], b[j]);
                        hi[i + j + 1] = $madd52hi(hi[i + j + 1], a[i], b[j]);
                    }
                }
                let mut z = [zero; 10];
                for k in 0..10 {
                    z[k] = $add(lo[k], $slli::<1>(hi[k]));
                }
                Self::reduce_columns(z)
            }

            /// self².
            ///
            /// The ten cross products aᵢaⱼ (i < j) are accumulated once and the
            /// columns holding them doubled, and the five squares aᵢ² accumulated on
            /// top, so that each column is combined once (lo + 2·hi) as in
            /// [`mul`](Self::mul): 15 of its 25 products and a third fewer additions
            /// than summing the diagonal and the doubled cross terms apart. A
            /// column's low halves stay below 2·2·2^52 + 2^52 and its high halves
            /// likewise, so the combined columns stay below 2^56 and the folded ones
            /// below 2^61, as `reduce_columns` needs.
            #[target_feature(enable = $features)]
            pub(super) fn square(self) -> Self {
                debug_assert!(self.below_2_52());
                let a = self.0;
                let zero = $zero();
                let (mut lo, mut hi) = ([zero; 10], [zero; 10]);
                for i in 0..5 {
                    for j in i + 1..5 {
                        lo[i + j] = $madd52lo(lo[i + j], a[i], a[j]);
                        hi[i + j + 1] = $madd52hi(hi[i + j + 1], a[i], a[j]);
                    }
                }
                // Cross products land in low halves of columns 1..=7 and high halves
                // of columns 2..=8.
                for column in &mut lo[1..8] {
                    *column = $add(*column, *column);
                }
                for column in &mut hi[2..9] {
                    *column = $add(*column, *column);
                }
                for i in 0..5 {
                    lo[2 * i] = $madd52lo(lo[2 * i], a[i], a[i]);
                    hi[2 * i + 1] = $madd52hi(hi[2 * i + 1], a[i], a[i]);
                }
                let mut z = [zero; 10];
                for k in 0..10 {
                    z[k] = $add(lo[k], $slli::<1>(hi[k]));
                }
                Self::reduce_columns(z)
            }
        }
    };
}
pub(super) use define_ifma_arithmetic;
