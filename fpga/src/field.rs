//! Arithmetic mod p = 2^255 − 19 on plain 256-bit integers: the reference the
//! microcode model ([`crate::model`]) computes with and the tests compare the
//! RTL against. Written for clarity, not speed or constant time.

/// A field element, fully reduced (below p), as four little-endian u64 limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fe(pub [u64; 4]);

/// p = 2^255 − 19.
pub const P: Fe = Fe([
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
]);

impl Fe {
    /// Zero.
    pub const ZERO: Fe = Fe([0; 4]);
    /// One.
    pub const ONE: Fe = Fe([1, 0, 0, 0]);

    /// The element a small integer stands for.
    pub fn from_u64(v: u64) -> Fe {
        Fe([v, 0, 0, 0])
    }

    /// The 255-bit little-endian value of `bytes` (bit 255 ignored), and
    /// whether it was at least p before being reduced.
    pub fn from_bytes_reduce(bytes: &[u8; 32]) -> (Fe, bool) {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(word);
        }
        limbs[3] &= (1 << 63) - 1;
        let raw = Fe(limbs);
        let (diff, borrow) = sub_raw(&raw, &P);
        if borrow {
            (raw, false)
        } else {
            (diff, true)
        }
    }

    /// Little-endian bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// Whether the element is zero.
    pub fn is_zero(self) -> bool {
        self.0 == [0; 4]
    }

    /// The lowest bit (the "sign" of an x coordinate).
    pub fn parity(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// (self + rhs) mod p.
    pub fn plus(self, rhs: Fe) -> Fe {
        let (sum, _) = add_raw(&self, &rhs);
        let (diff, borrow) = sub_raw(&sum, &P);
        if borrow {
            sum
        } else {
            diff
        }
    }

    /// (self − rhs) mod p.
    pub fn minus(self, rhs: Fe) -> Fe {
        let (diff, borrow) = sub_raw(&self, &rhs);
        if borrow {
            add_raw(&diff, &P).0
        } else {
            diff
        }
    }

    /// (self · rhs) mod p.
    pub fn times(self, rhs: Fe) -> Fe {
        let mut wide = [0u128; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let t = wide[i + j] + u128::from(self.0[i]) * u128::from(rhs.0[j]) + carry;
                wide[i + j] = t & u128::from(u64::MAX);
                carry = t >> 64;
            }
            wide[i + 4] = carry;
        }
        // 2^256 ≡ 38 (mod p): fold the high half once, then the small carry.
        let mut acc = [0u64; 5];
        let mut carry = 0u128;
        for i in 0..4 {
            let t = wide[i] + 38 * wide[i + 4] + carry;
            acc[i] = t as u64;
            carry = t >> 64;
        }
        acc[4] = carry as u64;
        let mut out = [0u64; 4];
        let mut carry = u128::from(acc[4]) * 38;
        for i in 0..4 {
            let t = u128::from(acc[i]) + carry;
            out[i] = t as u64;
            carry = t >> 64;
        }
        let mut v = Fe(out);
        if carry != 0 {
            v = add_raw(&v, &Fe::from_u64(38)).0;
        }
        // v < 2^256 < 3p: at most two subtractions.
        for _ in 0..2 {
            let (diff, borrow) = sub_raw(&v, &P);
            if !borrow {
                v = diff;
            }
        }
        v
    }

    /// 1/self (self^(p − 2)); zero maps to zero.
    pub fn invert(self) -> Fe {
        let mut e = P;
        e.0[0] -= 2;
        let mut acc = Fe::ONE;
        for i in (0..255).rev() {
            acc = acc.times(acc);
            if (e.0[i / 64] >> (i % 64)) & 1 == 1 {
                acc = acc.times(self);
            }
        }
        acc
    }

    /// self^(2^n) by repeated squaring.
    pub fn square_n(self, n: u32) -> Fe {
        (0..n).fold(self, |acc, _| acc.times(acc))
    }
}

fn add_raw(a: &Fe, b: &Fe) -> (Fe, bool) {
    let mut out = [0u64; 4];
    let mut carry = false;
    for (i, limb) in out.iter_mut().enumerate() {
        let (s1, c1) = a.0[i].overflowing_add(b.0[i]);
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *limb = s2;
        carry = c1 || c2;
    }
    (Fe(out), carry)
}

fn sub_raw(a: &Fe, b: &Fe) -> (Fe, bool) {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for (i, limb) in out.iter_mut().enumerate() {
        let (d1, b1) = a.0[i].overflowing_sub(b.0[i]);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *limb = d2;
        borrow = b1 || b2;
    }
    (Fe(out), borrow)
}

/// Parses a 64-digit big-endian hex constant (compile-time tables only).
pub(crate) const fn fe_hex(s: &str) -> Fe {
    let b = s.as_bytes();
    let mut limbs = [0u64; 4];
    let mut i = 0;
    while i < 64 {
        let c = b[i];
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit"),
        } as u64;
        let bit = (63 - i) * 4;
        limbs[bit / 64] |= v << (bit % 64);
        i += 1;
    }
    Fe(limbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_by_fermat_round_trips() {
        let x = Fe([0x1234_5678, 99, 0xdead_beef, 0x0123_4567]);
        // x^(p-2) = x^(2^255 - 21)
        let mut acc = Fe::ONE;
        let mut base = x;
        let mut e = P;
        e.0[0] -= 2;
        for i in 0..255 {
            if (e.0[i / 64] >> (i % 64)) & 1 == 1 {
                acc = acc.times(base);
            }
            base = base.times(base);
        }
        assert_eq!(acc.times(x), Fe::ONE);
        assert_eq!(x.minus(x), Fe::ZERO);
        assert_eq!(Fe::ZERO.minus(Fe::ONE).plus(Fe::ONE), Fe::ZERO);
    }
}
