//! The kernels: the core (R' = [k](−A) + [S]B, compressed, for up to eight
//! groups with one shared inversion), the cofactored rules' check of R
//! against the R' the core kept, and the point check that names why an R was
//! refused.
//!
//! The types shared by every backend live here; the kernels themselves are
//! [`define_kernels!`], instantiated by each field backend after its points.

/// What the kernel needs of one signature: A's encoding as sent, k in signed
/// radix 16 and S in signed radix 256.
#[derive(Clone, Copy)]
pub(super) struct LaneInput {
    /// The public key encoding A.
    pub pubkey: [u8; 32],
    /// k = H(R ‖ A ‖ M) mod L.
    pub k_digits: [i8; 64],
    /// S as signed radix-256 digits (already known to be below L, or zero
    /// when it is not).
    pub s_digits: [i8; 32],
}

/// What the kernel found for one signature.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LaneOutcome {
    /// A decodes to a curve point.
    pub pubkey_valid: bool,
    /// A is of small order (meaningful only when valid).
    pub pubkey_small_order: bool,
    /// The canonical encoding of [k](−A) + [S]B.
    pub recomputed: [u8; 32],
    /// That point is of small order.
    pub recomputed_small_order: bool,
}

/// The outcome of decoding one point encoding with the strict checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct PointCheck {
    /// It decodes to a curve point.
    pub valid: bool,
    /// That point is of small order.
    pub small_order: bool,
}

/// Groups whose compressions share one field inversion (Montgomery's trick):
/// a 64-signature batch on eight lanes inverts once instead of eight times.
pub(super) const SHARED_GROUPS: usize = 8;

/// Entries per table of multiples: −8..=8 times a point, entry 8 + m
/// holding [m]P. Both signs are stored so that a negative digit costs a
/// different index, not a negation.
pub(super) const MULTIPLES: usize = 17;

/// Entries of the base-point table: multiples 0..=128 of B, for S in signed
/// radix 256 (one addition per 8 bits of S instead of per 4).
pub(super) const BASE_TABLE_LEN: usize = 129;

/// The standard base point's encoding (y = 4/5, x positive).
pub(super) const BASE_POINT: [u8; 32] = {
    let mut b = [0x66u8; 32];
    b[0] = 0x58;
    b
};

/// One lane's point in extended coordinates (X, Y, Z, T) as raw limbs: the
/// strict core hands R' on to the cofactored check of R.
pub(super) type LanePoint = [[u64; 5]; 4];

/// Defines `verify_groups`, `check_r_cofactored_lanes` and
/// `check_points_lanes` (and their tables) over the `Fe4` and points in
/// scope, compiled for `$features`.
macro_rules! define_kernels {
    ($features:literal) => {
        use $crate::ed25519::engine::kernel::{
            LaneInput, LaneOutcome, LanePoint, PointCheck, BASE_POINT, BASE_TABLE_LEN, MULTIPLES,
            SHARED_GROUPS,
        };
        use $crate::ed25519::engine::MAX_LANES;

        /// The affine multiples 0..=128 of the base point B as (y + x, y − x,
        /// 2d·x·y), in this backend's own limbs, for [`Fe4::rows_of_three`].
        type BaseTable = [[Limbs; 3]; BASE_TABLE_LEN];

        /// Every lane's multiples −8..=8 of its own point ([`MULTIPLES`]), in the
        /// backend's own layout, for [`Fe4::select_lane_rows`].
        type MultiplesTable = [LaneRows; MULTIPLES];

        static BASE_TABLE: std::sync::OnceLock<BaseTable> = std::sync::OnceLock::new();

        /// Computes the base table with this engine's own arithmetic (B decoded from its
        /// encoding, multiples by additions, then made affine).
        #[target_feature(enable = $features)]
        fn build_base_table() -> BaseTable {
            let (b, _) = Extended4::decompress(&[BASE_POINT; LANES]);
            let b_cached = b.to_cached();
            let mut table = [[Limbs::default(); 3]; BASE_TABLE_LEN];
            let d2 = Fe4::splat(d2_limbs());
            let mut multiple = Extended4::identity();
            for entry in table.iter_mut() {
                let z_inv = multiple.z.invert();
                let x = multiple.x.mul(z_inv);
                let y = multiple.y.mul(z_inv);
                *entry = [
                    y.add(x).canonical_lanes()[0],
                    y.sub(x).canonical_lanes()[0],
                    x.mul(y).mul(d2).canonical_lanes()[0],
                ]
                .map(|limbs| Fe4::splat(limbs).native_lanes()[0]);
                multiple = multiple.add_cached(&b_cached);
            }
            table
        }

        #[target_feature(enable = $features)]
        fn base_table() -> &'static BaseTable {
            match BASE_TABLE.get() {
                Some(table) => table,
                None => {
                    let table = build_base_table();
                    BASE_TABLE.get_or_init(|| table)
                }
            }
        }

        /// Writes every lane's cached multiples −8..=8 of its `p` into `table`
        /// (in place: the table is ~22 KB), and returns the lanes where [8]p is
        /// the neutral element: `p` is of small order there, known without three
        /// more doublings.
        #[target_feature(enable = $features)]
        fn fill_multiples(p: Extended4, table: &mut MultiplesTable) -> [bool; LANES] {
            let p_cached = p.to_cached();
            let p2 = p.double();
            let p3 = p2.add_cached(&p_cached);
            let p4 = p2.double();
            let p5 = p4.add_cached(&p_cached);
            let p6 = p3.double();
            let p7 = p6.add_cached(&p_cached);
            let p8 = p4.double();
            let small_order = p8.is_identity_lanes();
            let store = |c: Cached4, rows: &mut LaneRows| {
                Fe4::store_lane_rows([c.y_plus_x, c.y_minus_x, c.z, c.t2d], rows)
            };
            store(Cached4::identity(), &mut table[8]);
            for (m, point) in [p, p2, p3, p4, p5, p6, p7, p8].into_iter().enumerate() {
                let cached = point.to_cached();
                store(cached, &mut table[9 + m]);
                store(cached.neg(), &mut table[7 - m]);
            }
            small_order
        }

        /// Lane j's entry `digits[j]` (−8..=8) of its own multiples.
        #[target_feature(enable = $features)]
        fn select_cached(table: &MultiplesTable, digits: [i8; LANES]) -> Cached4 {
            let e = digits.map(|d| usize::from(d.wrapping_add(8) as u8));
            let [y_plus_x, y_minus_x, z, t2d] = Fe4::select_lane_rows(table, e);
            Cached4 {
                y_plus_x,
                y_minus_x,
                z,
                t2d,
            }
        }

        /// Entry |digits[j]| of the base table in lane j, negated where the digit is < 0.
        #[target_feature(enable = $features)]
        fn select_base(table: &BaseTable, digits: [i8; LANES]) -> Affine4 {
            let e = digits.map(|d| usize::from(d.unsigned_abs()));
            let [y_plus_x, y_minus_x, xy2d] = Fe4::rows_of_three(table, e);
            Affine4 {
                y_plus_x,
                y_minus_x,
                xy2d,
            }
            .negate_where(digits.map(|d| d < 0))
        }

        /// [k](−A) + [S]B for four signatures: 252 shared doublings; k in 4-bit
        /// windows, one addition per window from each lane's own table of −A
        /// multiples; S in 8-bit windows, one addition from the base-point table
        /// on every other window.
        /// Also returns the lanes where A is of small order ([8](−A) = 0, read
        /// from the table).
        #[target_feature(enable = $features)]
        fn recompute_r(
            a: Extended4,
            lanes: &[LaneInput; LANES],
            table: &mut MultiplesTable,
        ) -> (Extended4, [bool; LANES]) {
            let base = base_table();
            let a_small = fill_multiples(a.neg(), table);
            let table = &*table;
            // Each lane's digit, read through the reference (`lanes.map` would
            // copy all of `lanes`, 1 KiB, for every window).
            let k_digits =
                |i: usize| -> [i8; LANES] { core::array::from_fn(|j| lanes[j].k_digits[i]) };
            let s_digits =
                |i: usize| -> [i8; LANES] { core::array::from_fn(|j| lanes[j].s_digits[i]) };
            // The top window starts the sum: its entry, doubled four times (k < 2^253,
            // so S has no digit there).
            let top = select_cached(table, k_digits(63));
            let mut acc = top.to_projective().double_n(4);
            for window in (0..63).rev() {
                let mut sum = acc.add_cached_completed(&select_cached(table, k_digits(window)));
                // S's radix-256 digit i weighs 256^i = 16^(2i): every other window.
                if window % 2 == 0 {
                    sum = sum
                        .into_extended()
                        .add_affine_completed(&select_base(base, s_digits(window / 2)));
                }
                // The doublings read no T: the last addition of a window skips it.
                acc = if window == 0 {
                    sum.into_extended()
                } else {
                    sum.double_n(4)
                };
            }
            (acc, a_small)
        }

        /// Runs the strict core on up to [`SHARED_GROUPS`] groups of signatures (the
        /// first `LANES` of each group): decode A and test its order, recompute R,
        /// compress it and test its order. The compressions share one inversion:
        /// the product of every group's Z, lane by lane, is inverted once and each
        /// 1/Z recovered with three products. With `keep`, each lane's R' is
        /// also written there, for the cofactored rules' check of R.
        #[target_feature(enable = $features)]
        pub(super) fn verify_groups(
            groups: &[[LaneInput; MAX_LANES]],
            out: &mut [[LaneOutcome; MAX_LANES]],
            mut keep: Option<&mut [[LanePoint; MAX_LANES]]>,
        ) {
            assert!(groups.len() <= SHARED_GROUPS && groups.len() == out.len());
            let one = Fe4::splat([1, 0, 0, 0, 0]);
            let zero = Fe4::splat([0; 5]);
            let mut points = [Extended4::identity(); SHARED_GROUPS];
            let mut a_checks = [([false; LANES], [false; LANES]); SHARED_GROUPS];
            // Z is never zero for a point on the curve; a lane whose A did not
            // decode may hold anything, so a zero there is taken as one in the
            // product (leaving the other groups' lanes exact) and gets 1/Z = 0,
            // as an inversion of its own would give.
            let mut z_zero = [[false; LANES]; SHARED_GROUPS];
            // Every group's table of −A multiples in turn, in one place.
            let mut multiples = [Fe4::empty_lane_rows(); MULTIPLES];
            // prefix[g] = Z_0 · … · Z_g
            let mut prefix = [one; SHARED_GROUPS];
            let mut product = one;
            // The public keys first, two groups at a time: a square root is one
            // long chain of dependent products, and two side by side overlap.
            let mut decoded = [(Extended4::identity(), [false; LANES]); SHARED_GROUPS];
            let keys =
                |g: usize| -> [[u8; 32]; LANES] { core::array::from_fn(|j| groups[g][j].pubkey) };
            for g in (0..groups.len()).step_by(2) {
                if g + 1 < groups.len() {
                    let (first, second) = (keys(g), keys(g + 1));
                    [decoded[g], decoded[g + 1]] = Extended4::decompress_each([&first, &second]);
                } else {
                    decoded[g] = Extended4::decompress(&keys(g));
                }
            }
            for (g, group) in groups.iter().enumerate() {
                let lanes: &[LaneInput; LANES] = group[..LANES]
                    .try_into()
                    .expect("an engine has at most MAX_LANES lanes");
                let (a, a_valid) = decoded[g];
                let (acc, a_small) = recompute_r(a, lanes, &mut multiples);
                z_zero[g] = acc.z.eq_lanes(zero);
                product = product.mul(acc.z.blend(one, z_zero[g]));
                prefix[g] = product;
                points[g] = acc;
                a_checks[g] = (a_valid, a_small);
            }
            // inverse = 1/(Z_0 · … · Z_g) at the top of each step.
            let mut inverse = product.invert();
            for g in (0..groups.len()).rev() {
                let acc = points[g];
                let z_inv = if g == 0 {
                    inverse
                } else {
                    let z_inv = inverse.mul(prefix[g - 1]);
                    inverse = inverse.mul(acc.z.blend(one, z_zero[g]));
                    z_inv
                };
                let recomputed = acc.compress_lanes_with(z_inv.blend(zero, z_zero[g]));
                let recomputed_small = acc.is_small_order_lanes();
                if let Some(keep) = keep.as_deref_mut() {
                    let coords = [acc.x, acc.y, acc.z, acc.t].map(|c| c.to_lanes());
                    for (j, point) in keep[g][..LANES].iter_mut().enumerate() {
                        *point = coords.map(|c| c[j]);
                    }
                }
                let (a_valid, a_small) = a_checks[g];
                for (j, outcome) in out[g][..LANES].iter_mut().enumerate() {
                    *outcome = LaneOutcome {
                        pubkey_valid: a_valid[j],
                        pubkey_small_order: a_small[j],
                        recomputed: recomputed[j],
                        recomputed_small_order: recomputed_small[j],
                    };
                }
            }
        }

        /// The cofactored rules' check of R against the R' the strict core
        /// computed: decode R and test its order, and test whether R' − R is of
        /// small order, which is exactly [8](R' − R) = 0.
        #[target_feature(enable = $features)]
        pub(super) fn check_r_cofactored_lanes(
            recomputed: &[LanePoint; LANES],
            r: &[[u8; 32]; LANES],
        ) -> [(PointCheck, bool); LANES] {
            let coord = |c: usize| Fe4::from_lanes(&core::array::from_fn(|j| recomputed[j][c]));
            let recomputed = Extended4 {
                x: coord(0),
                y: coord(1),
                z: coord(2),
                t: coord(3),
            };
            let (r_point, r_valid) = Extended4::decompress(r);
            let r_small = r_point.is_small_order_lanes();
            let difference = recomputed.add_cached(&r_point.neg().to_cached());
            let holds = difference.is_small_order_lanes();
            core::array::from_fn(|j| {
                let r = PointCheck {
                    valid: r_valid[j],
                    small_order: r_valid[j] && r_small[j],
                };
                (r, holds[j])
            })
        }

        /// Decodes point encodings and tests their order, `N` groups of lanes at
        /// once (their square roots interleaved).
        #[target_feature(enable = $features)]
        pub(super) fn check_points_lanes<const N: usize>(
            encodings: [&[[u8; 32]; LANES]; N],
        ) -> [[PointCheck; LANES]; N] {
            let decoded = Extended4::decompress_each(encodings);
            let mut out = [[PointCheck::default(); LANES]; N];
            for (out, (point, valid)) in out.iter_mut().zip(decoded) {
                let small = point.is_small_order_lanes();
                for (j, check) in out.iter_mut().enumerate() {
                    *check = PointCheck {
                        valid: valid[j],
                        small_order: valid[j] && small[j],
                    };
                }
            }
            out
        }
    };
}
pub(super) use define_kernels;
