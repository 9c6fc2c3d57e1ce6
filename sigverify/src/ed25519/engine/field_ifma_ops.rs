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

/// Defines carrying, `add`, `add_unreduced`, `sub`, `blend`, `mul`, `square`
/// and the canonical form with its tests (`canonical_lanes`, `is_zero_lanes`,
/// `is_negative_lanes`) on `$fe` (five vectors of `$vector`, limb i in vector
/// i), compiled for `$features`, from the width's intrinsics. `blend` takes the
/// caller's `LANES` and `lane_mask`; `cmpeq` gives a lane mask.
macro_rules! define_ifma_arithmetic {
    (
        $fe:ident, $vector:ty, $features:literal,
        set1: $set1:ident, zero: $zero:ident, add: $add:ident, sub: $sub:ident,
        and: $and:ident, or: $or:ident, srli: $srli:ident, slli: $slli:ident,
        mullo: $mullo:ident, madd52lo: $madd52lo:ident, madd52hi: $madd52hi:ident,
        blend: $blend:ident, cmpeq: $cmpeq:ident $(,)?
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

            /// Each lane reduced to its unique representative in [0, p), all lanes at
            /// once: one carry pass brings every limb below 2^51 + 2^13 and the value
            /// below 2p; q = ⌊(v + 19)/2^255⌋, carried through the limbs, is 1 exactly
            /// where v ≥ p; then v + 19q, carried limb to limb, with bit 255 dropped,
            /// is v − q·p.
            #[target_feature(enable = $features)]
            fn canonical(self) -> Self {
                let mask = $set1($crate::ed25519::engine::limbs::MASK51 as i64);
                let nineteen = $set1(19);
                let mut l = self.weak_reduce().0;
                let mut q = $srli::<51>($add(l[0], nineteen));
                for limb in &l[1..] {
                    q = $srli::<51>($add(*limb, q));
                }
                l[0] = $madd52lo(l[0], q, nineteen);
                for i in 0..4 {
                    let carry = $srli::<51>(l[i]);
                    l[i] = $and(l[i], mask);
                    l[i + 1] = $add(l[i + 1], carry);
                }
                l[4] = $and(l[4], mask);
                Self(l)
            }

            /// Each lane's canonical value in radix-2^51 limbs.
            #[target_feature(enable = $features)]
            pub(super) fn canonical_lanes(self) -> [[u64; 5]; LANES] {
                self.canonical().to_lanes()
            }

            /// Lanes whose value is 0 mod p.
            #[target_feature(enable = $features)]
            pub(super) fn is_zero_lanes(self) -> [bool; LANES] {
                let l = self.canonical().0;
                let any = $or($or($or(l[0], l[1]), $or(l[2], l[3])), l[4]);
                let zero = $cmpeq(any, $zero());
                core::array::from_fn(|j| zero >> j & 1 == 1)
            }

            /// Lanes whose canonical value is odd ("negative" in the ed25519 sense).
            #[target_feature(enable = $features)]
            pub(super) fn is_negative_lanes(self) -> [bool; LANES] {
                let one = $set1(1);
                let odd = $cmpeq($and(self.canonical().0[0], one), one);
                core::array::from_fn(|j| odd >> j & 1 == 1)
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

#[cfg(test)]
mod tests {
    use crate::ed25519::engine::{
        field_ifma::Fe4, field_ifma512::Fe8, limbs, limbs::MASK51, EngineKind,
    };

    /// Limb vectors whose values sit at p, its multiples and neighbours, at the
    /// largest limbs a multiplicand may have, and at random points.
    fn cases() -> Vec<[u64; 5]> {
        let p = [MASK51 - 18, MASK51, MASK51, MASK51, MASK51];
        let two_p = p.map(|l| 2 * l);
        let mut cases = vec![[0; 5], p, two_p, [MASK51; 5], [(1 << 52) - 1; 5]];
        for delta in [1u64, 18, 19, 20] {
            let mut above = p;
            above[0] += delta;
            cases.push(above);
            let mut below = p;
            below[0] -= delta;
            cases.push(below);
            let mut below_2p = two_p;
            below_2p[0] -= delta;
            cases.push(below_2p);
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            cases.push(core::array::from_fn(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % (1 << 52)
            }));
        }
        cases
    }

    /// Compares a backend's canonical limbs, zero test and sign for `lanes`
    /// with the scalar reduction.
    fn compare(lanes: &[[u64; 5]], canonical: &[[u64; 5]], zero: &[bool], negative: &[bool]) {
        for (j, lane) in lanes.iter().enumerate() {
            let expected = limbs::canonical(*lane);
            let width = lanes.len();
            assert_eq!(canonical[j], expected, "{width} lanes, {lane:?}");
            assert_eq!(zero[j], expected == [0; 5], "{width} lanes, {lane:?}");
            assert_eq!(negative[j], expected[0] & 1 == 1, "{width} lanes, {lane:?}");
        }
    }

    #[target_feature(enable = "avx512ifma,avx512f,avx512bw,avx512dq,avx512vl,avx2")]
    fn check_eight(lanes: &[[u64; 5]; 8]) {
        let fe = Fe8::from_lanes(lanes);
        let (canonical, zero) = (fe.canonical_lanes(), fe.is_zero_lanes());
        compare(lanes, &canonical, &zero, &fe.is_negative_lanes());
    }

    #[target_feature(enable = "avx512ifma,avx512vl,avx512dq,avx2")]
    fn check_four(lanes: &[[u64; 5]; 4]) {
        let fe = Fe4::from_lanes(lanes);
        let (canonical, zero) = (fe.canonical_lanes(), fe.is_zero_lanes());
        compare(lanes, &canonical, &zero, &fe.is_negative_lanes());
    }

    /// The vector canonical form, zero test and sign agree with the scalar
    /// reduction on every case, in every lane position.
    #[test]
    fn canonical_form_matches_the_scalar_reduction() {
        if !EngineKind::Ifma.supported() {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipping canonical_form_matches_the_scalar_reduction/ifma: needs avx512ifma"
            );
            return;
        }
        let cases = cases();
        for shift in 0..8 {
            for chunk in cases.chunks(8) {
                let lanes: [[u64; 5]; 8] =
                    core::array::from_fn(|j| chunk[(j + shift) % chunk.len()]);
                // Safety: IFMA with VL and DQ (and AVX-512F) was detected above.
                unsafe {
                    check_eight(&lanes);
                    check_four(lanes[..4].try_into().expect("4 of 8"));
                }
            }
        }
    }
}
