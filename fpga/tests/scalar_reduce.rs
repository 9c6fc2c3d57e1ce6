//! The mod-L reduction and S < L check (`rtl/scalar_reduce.v`) against
//! curve25519-dalek's `Scalar::from_bytes_mod_order_wide` and
//! `Scalar::from_canonical_bytes`.
#![cfg(feature = "verilator")]

use curve25519_dalek::scalar::Scalar;
use rampart_fpga::scalar::L;
use rampart_fpga::sim::ReduceSim;
use rampart_testkit::{add_le, Rng};

#[test]
fn reduction_matches_dalek() {
    let mut sim = ReduceSim::new();
    let mut rng = Rng(10);
    let mut edge = vec![[0u8; 64], [0xff; 64]];
    let mut l_wide = [0u8; 64];
    l_wide[..32].copy_from_slice(&L);
    edge.push(l_wide);
    for n in 0..300 {
        let x = match edge.pop() {
            Some(x) => x,
            None => {
                let mut x = [0u8; 64];
                rng.fill(&mut x);
                if n % 10 == 0 {
                    x[32..].fill(0); // small values, below and around L
                }
                x
            }
        };
        let (got, cycles) = sim.reduce(&x);
        assert_eq!(
            got,
            Scalar::from_bytes_mod_order_wide(&x).to_bytes(),
            "{x:02x?}"
        );
        assert_eq!(cycles, 513);
    }
}

#[test]
fn s_check_matches_canonical_scalars() {
    let mut sim = ReduceSim::new();
    let mut rng = Rng(11);
    let one = {
        let mut v = [0u8; 32];
        v[0] = 1;
        v
    };
    let l_minus_1 = {
        let mut v = L;
        v[0] -= 1;
        v
    };
    let mut cases = vec![[0u8; 32], L, l_minus_1, add_le(&L, &one), [0xff; 32]];
    for _ in 0..300 {
        let mut s = [0u8; 32];
        rng.fill(&mut s);
        match rng.next_u64() % 3 {
            0 => s[31] &= 0x0f,
            1 => s[31] &= 0x1f,
            _ => {}
        }
        cases.push(s);
        let reduced = Scalar::from_bytes_mod_order(s).to_bytes();
        cases.push(add_le(&reduced, &L));
    }
    for s in cases {
        let want = bool::from(Scalar::from_canonical_bytes(s).is_some());
        assert_eq!(sim.s_below_l(&s), want, "{s:02x?}");
    }
}
