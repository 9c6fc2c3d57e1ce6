//! The simulated field multiplier (`rtl/fe_mul.v`) against a big-integer
//! model of arithmetic mod p = 2^255 - 19 written here: edge values (all
//! pairs), known answers, and 10,000 seeded random pairs streamed back to back
//! through the pipeline, one per clock.
#![cfg(feature = "verilator")]

use rampart_fpga::sim::FeMulSim;
use rampart_fpga::FE_MUL_LATENCY;
use rampart_testkit::Rng;

/// A uniformly random value below 2^255.
fn element(rng: &mut Rng) -> U256 {
    let mut v = [0u64; 4];
    for limb in &mut v {
        *limb = rng.next_u64();
    }
    v[3] &= MASK63;
    v
}

/// A 256-bit value as four little-endian u64 limbs.
type U256 = [u64; 4];

const MASK63: u64 = (1 << 63) - 1;
/// p = 2^255 - 19.
const P: U256 = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

fn from_u64(x: u64) -> U256 {
    [x, 0, 0, 0]
}

/// 2^k for k < 256.
fn pow2(k: u32) -> U256 {
    let mut v = [0u64; 4];
    v[(k / 64) as usize] = 1 << (k % 64);
    v
}

/// a + b (mod 2^256) and the carry out.
fn add(a: &U256, b: &U256) -> (U256, bool) {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let s = a[i] as u128 + b[i] as u128 + carry;
        out[i] = s as u64;
        carry = s >> 64;
    }
    (out, carry != 0)
}

/// a - b (mod 2^256) and the borrow out.
fn sub(a: &U256, b: &U256) -> (U256, bool) {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        out[i] = d2;
        borrow = b1 || b2;
    }
    (out, borrow)
}

fn ge(a: &U256, b: &U256) -> bool {
    !sub(a, b).1
}

/// Reduces any value below 2^256 to [0, p).
fn reduce(a: &U256) -> U256 {
    let mut v = *a;
    while ge(&v, &P) {
        v = sub(&v, &P).0;
    }
    v
}

/// Model 1: schoolbook 512-bit product, then long reduction by folding the
/// bits above 2^255 with 2^255 = 19 (mod p) until the value fits, then
/// subtracting p.
fn mul_model(a: &U256, b: &U256) -> U256 {
    let mut wide = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let t = a[i] as u128 * b[j] as u128 + wide[i + j] as u128 + carry;
            wide[i + j] = t as u64;
            carry = t >> 64;
        }
        wide[i + 4] = carry as u64;
    }
    loop {
        // hi = wide >> 255, lo = wide mod 2^255.
        let mut hi = [0u64; 8];
        for i in 0..5 {
            let lo_part = wide[i + 3] >> 63;
            let hi_part = if i + 4 < 8 { wide[i + 4] << 1 } else { 0 };
            hi[i] = lo_part | hi_part;
        }
        if hi.iter().all(|&x| x == 0) {
            break;
        }
        let mut next = [0u64; 8];
        next[..4].copy_from_slice(&wide[..4]);
        next[3] &= MASK63;
        let mut carry = 0u128;
        for i in 0..8 {
            let t = next[i] as u128 + 19 * hi[i] as u128 + carry;
            next[i] = t as u64;
            carry = t >> 64;
        }
        assert_eq!(carry, 0);
        wide = next;
    }
    reduce(&[wide[0], wide[1], wide[2], wide[3]])
}

/// Model 2, independent of the 19-folding: double-and-add with modular
/// additions only. Used to cross-check model 1.
fn mul_double_add(a: &U256, b: &U256) -> U256 {
    let a = reduce(a);
    let mut acc = [0u64; 4];
    for bit in (0..255).rev() {
        acc = reduce(&add(&acc, &acc).0);
        if (b[bit / 64] >> (bit % 64)) & 1 == 1 {
            acc = reduce(&add(&acc, &a).0);
        }
    }
    acc
}

fn to_bytes(v: &U256) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, limb) in out.chunks_exact_mut(8).zip(v) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    out
}

fn from_bytes(b: &[u8; 32]) -> U256 {
    let mut v = [0u64; 4];
    for (limb, chunk) in v.iter_mut().zip(b.chunks_exact(8)) {
        *limb = u64::from_le_bytes(chunk.try_into().unwrap());
    }
    v
}

fn edge_values() -> Vec<U256> {
    let p_minus = |k: u64| sub(&P, &from_u64(k)).0;
    let p_plus = |k: u64| add(&P, &from_u64(k)).0;
    let mut rng = Rng(0xfe00_0001);
    let mut values = vec![
        from_u64(0),
        from_u64(1),
        from_u64(2),
        from_u64(19),
        from_u64(38),
        from_u64(u64::MAX),
        p_minus(1),
        p_minus(2),
        P,
        p_plus(1),
        p_plus(18), // 2^255 - 1
        pow2(254),
        sub(&pow2(254), &from_u64(1)).0,
        pow2(17), // one limb boundary
        sub(&pow2(17), &from_u64(1)).0,
        pow2(238), // the top limb's lowest bit
        [u64::MAX, u64::MAX, u64::MAX, 0],
        [0x1_ffff, 0, 0, 0x7fff_c000_0000_0000],
    ];
    for _ in 0..6 {
        values.push(element(&mut rng));
    }
    values
}

#[test]
fn model_cross_check() {
    let mut rng = Rng(0xfe00_0002);
    let mut values = edge_values();
    for _ in 0..200 {
        values.push(element(&mut rng));
    }
    for (i, a) in values.iter().enumerate() {
        let b = &values[(i * 7 + 3) % values.len()];
        assert_eq!(mul_model(a, b), mul_double_add(a, b), "{a:x?} * {b:x?}");
    }
    assert_eq!(mul_model(&P, &from_u64(5)), from_u64(0));
    let p1 = sub(&P, &from_u64(1)).0;
    assert_eq!(mul_model(&p1, &p1), from_u64(1));
}

#[test]
fn known_answers() {
    let mut sim = FeMulSim::new();
    let p1 = sub(&P, &from_u64(1)).0;
    let cases: [(U256, U256, U256); 6] = [
        (from_u64(0), p1, from_u64(0)),
        (from_u64(1), P, from_u64(0)),
        (p1, p1, from_u64(1)),
        (pow2(254), from_u64(2), from_u64(19)),
        (add(&P, &from_u64(18)).0, from_u64(1), from_u64(18)),
        (from_u64(7), from_u64(6), from_u64(42)),
    ];
    for (a, b, r) in cases {
        let before = sim.cycles();
        let got = sim.mul(&to_bytes(&a), &to_bytes(&b));
        assert_eq!(from_bytes(&got), r, "{a:x?} * {b:x?}");
        assert_eq!(sim.cycles() - before, FE_MUL_LATENCY);
    }
    assert_eq!(sim.latency(), FE_MUL_LATENCY);
}

#[test]
fn edge_values_all_pairs() {
    let values = edge_values();
    let pairs: Vec<([u8; 32], [u8; 32])> = values
        .iter()
        .flat_map(|a| values.iter().map(move |b| (to_bytes(a), to_bytes(b))))
        .collect();
    let mut sim = FeMulSim::new();
    let got = sim.mul_batch(&pairs);
    assert_eq!(got.len(), pairs.len());
    for ((a, b), r) in pairs.iter().zip(&got) {
        let (a, b, r) = (from_bytes(a), from_bytes(b), from_bytes(r));
        assert_eq!(r, mul_model(&a, &b), "{a:x?} * {b:x?}");
        assert!(!ge(&r, &P), "result not fully reduced");
    }
    // One at a time, with the pipeline draining in between, gives the same.
    for (pair, expected) in pairs.iter().zip(&got).step_by(17) {
        assert_eq!(&sim.mul(&pair.0, &pair.1), expected);
    }
}

#[test]
fn ten_thousand_random_pairs_back_to_back() {
    const N: usize = 10_000;
    let mut rng = Rng(0xfe00_0003);
    let values: Vec<(U256, U256)> = (0..N)
        .map(|_| (element(&mut rng), element(&mut rng)))
        .collect();
    let pairs: Vec<([u8; 32], [u8; 32])> = values
        .iter()
        .map(|(a, b)| (to_bytes(a), to_bytes(b)))
        .collect();
    let mut sim = FeMulSim::new();
    let before = sim.cycles();
    let got = sim.mul_batch(&pairs);
    // One pair accepted per clock: N pairs take N + latency - 1 clocks.
    assert_eq!(sim.cycles() - before, N as u64 + FE_MUL_LATENCY - 1);
    assert_eq!(got.len(), N);
    for (i, ((a, b), r)) in values.iter().zip(&got).enumerate() {
        assert_eq!(from_bytes(r), mul_model(a, b), "pair {i}: {a:x?} * {b:x?}");
    }
    // A second batch right after the first keeps working.
    let again = sim.mul_batch(&pairs[..100]);
    assert_eq!(again, got[..100]);
}

#[test]
#[should_panic(expected = "bit 255")]
fn rejects_bit_255() {
    let mut sim = FeMulSim::new();
    let mut a = [0u8; 32];
    a[31] = 0x80;
    sim.mul(&a, &[1; 32]);
}

#[test]
fn rtl_lints_clean() {
    let rtl = concat!(env!("CARGO_MANIFEST_DIR"), "/rtl/fe_mul.v");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rtl");
    let out = std::process::Command::new("verilator")
        .args(["--lint-only", "-Wall", "-y", dir, rtl])
        .output()
        .expect("run verilator (deploy/setup.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "verilator -Wall: {stderr}"
    );
}
