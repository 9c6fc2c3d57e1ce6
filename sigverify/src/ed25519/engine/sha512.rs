//! SHA-512 of four or eight messages at once, one per 64-bit lane (FIPS 180-4), for the
//! challenge k = H(R ‖ A ‖ M). Lanes whose message has fewer blocks keep their
//! state while the longer ones finish.
//!
//! The compression is [`define_sha512!`], instantiated by each backend with its
//! own primitives: `rotr`, `shr`, `xor3`, `choose` (Ch), `majority` (Maj) and
//! `keep_where` (per-lane select). On IFMA machines those are single AVX-512
//! instructions (`vprorvq`, `vpternlogq`), on 256-bit vectors for `ifma` and
//! 512-bit ones for `ifma512`; on AVX2 two or three each.

/// Bytes per block.
const BLOCK: usize = 128;

/// The round constants: the first 64 bits of the fractional parts of the cube
/// roots of the first 80 primes.
pub(super) const K: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

/// The initial hash value: fractional parts of the square roots of the first
/// eight primes.
pub(super) const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// One lane's message laid out as padded blocks in a reusable buffer.
pub(super) struct Padded {
    bytes: Vec<u8>,
}

impl Padded {
    /// An empty buffer.
    pub(super) fn new() -> Padded {
        Padded { bytes: Vec::new() }
    }

    /// Lays out `parts` concatenated, then the padding: 0x80, zeros, and the
    /// 128-bit big-endian bit length, to a whole number of blocks.
    pub(super) fn fill(&mut self, parts: &[&[u8]]) {
        self.bytes.clear();
        let len: usize = parts.iter().map(|p| p.len()).sum();
        for part in parts {
            self.bytes.extend_from_slice(part);
        }
        self.bytes.push(0x80);
        let padded = (len + 1 + 16).div_ceil(BLOCK) * BLOCK;
        self.bytes.resize(padded - 16, 0);
        self.bytes
            .extend_from_slice(&((len as u128) * 8).to_be_bytes());
    }

    pub(super) fn blocks(&self) -> usize {
        self.bytes.len() / BLOCK
    }

    /// Block `b` (the last block again past the end).
    pub(super) fn block(&self, b: usize) -> &[u8; BLOCK] {
        let b = b.min(self.blocks() - 1);
        self.bytes[b * BLOCK..(b + 1) * BLOCK]
            .try_into()
            .expect("a whole block")
    }

    /// Big-endian word `w` of block `b` (the last block again past the end).
    pub(super) fn word(&self, b: usize, w: usize) -> u64 {
        let block = self.block(b);
        let mut word = [0u8; 8];
        word.copy_from_slice(&block[w * 8..w * 8 + 8]);
        u64::from_be_bytes(word)
    }
}

/// Defines `digest` (the digests of `LANES` padded messages at once) over
/// the backend primitives in scope, on vectors of type `$vector` with one
/// message per 64-bit lane, compiled for `$features`. Besides the functions
/// named in the module comment, the backend provides `add` (lane-wise
/// wrapping sum), `splat`, `block_words` (the sixteen message words of block
/// b, one lane per message) and `to_words` (one word per lane), and `settled`
/// (its argument unchanged, opaque to the optimizer).
macro_rules! define_sha512 {
    ($features:literal, $vector:ty) => {
        use $crate::ed25519::engine::sha512::{Padded, IV, K};

        /// x ROTR a ⊕ x ROTR b ⊕ x ROTR c.
        #[target_feature(enable = $features)]
        fn big_sigma(x: $vector, a: u32, b: u32, c: u32) -> $vector {
            xor3(rotr(x, a), rotr(x, b), rotr(x, c))
        }

        /// x ROTR a ⊕ x ROTR b ⊕ x SHR c.
        #[target_feature(enable = $features)]
        fn small_sigma(x: $vector, a: u32, b: u32, c: u32) -> $vector {
            xor3(rotr(x, a), rotr(x, b), shr(x, c))
        }

        /// One round on the state `v` with `wk` = w[t] + K[t]. The sums are
        /// grouped so that what waits on e or a is added last: the chains
        /// from e to the next e and from a to the next a are then three
        /// dependent operations each, where the plain order takes five
        /// (`settled` keeps the compiler from regrouping them). On AMD Zen 5,
        /// where each of those operations takes two cycles, the rounds are
        /// bound by these chains, not by issue.
        #[target_feature(enable = $features)]
        fn round(v: [$vector; 8], wk: $vector) -> [$vector; 8] {
            let [a, b, c, d, e, f, g, h] = v;
            let hwk = add(h, wk);
            let choice = choose(e, f, g);
            let sigma1 = big_sigma(e, 14, 18, 41);
            let t1 = add(settled(add(hwk, choice)), sigma1);
            let e_next = add(settled(add(settled(add(hwk, d)), choice)), sigma1);
            let a_next = add(
                settled(add(t1, majority(a, b, c))),
                big_sigma(a, 28, 34, 39),
            );
            [a_next, a, b, c, e_next, e, f, g]
        }

        /// The digests of `LANES` padded messages.
        #[target_feature(enable = $features)]
        pub(super) fn digest(lanes: [&Padded; LANES]) -> [[u8; 64]; LANES] {
            let mut state = [splat(0); 8];
            for (s, h) in state.iter_mut().zip(IV) {
                *s = splat(h);
            }
            let blocks = lanes.map(Padded::blocks);
            let most = blocks.iter().copied().max().unwrap_or(0);
            for b in 0..most {
                // The schedule is computed as the rounds go, sixteen words at a
                // time in place, so that it overlaps the rounds' chains.
                let mut w = block_words(lanes, b);
                let mut v = state;
                for (i, w) in w.iter().enumerate() {
                    v = round(v, add(*w, splat(K[i])));
                }
                for sixteen in 1..5 {
                    for i in 0..16 {
                        let s1 = small_sigma(w[(i + 14) % 16], 19, 61, 6);
                        let s0 = small_sigma(w[(i + 1) % 16], 1, 8, 7);
                        w[i] = add(add(s1, w[(i + 9) % 16]), add(s0, w[i]));
                        v = round(v, add(w[i], splat(K[16 * sixteen + i])));
                    }
                }
                // Lanes whose message ended before this block keep their state.
                let live = blocks.map(|n| b < n);
                for (s, v) in state.iter_mut().zip(v) {
                    *s = keep_where(live, *s, add(*s, v));
                }
            }
            let mut out = [[0u8; 64]; LANES];
            for (i, s) in state.iter().enumerate() {
                for (lane, word) in out.iter_mut().zip(to_words(*s)) {
                    lane[i * 8..i * 8 + 8].copy_from_slice(&word.to_be_bytes());
                }
            }
            out
        }
    };
}
pub(super) use define_sha512;

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha512};

    use super::{Padded, BLOCK};
    use crate::ed25519::engine::{Engine, EngineKind, MAX_LANES};

    /// The engine backends this CPU runs. For each it lacks, a line `skipping
    /// <test>/<backend>: needs <cpu feature>` straight to stderr (past the
    /// harness's capture), which `.ci/run` counts; the same format as
    /// sigverify/tests/skip.
    fn engines(test: &str) -> Vec<Engine> {
        use std::io::Write;
        EngineKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let engine = Engine::with(kind);
                if engine.is_none() {
                    let feature = match kind {
                        EngineKind::Ifma | EngineKind::Ifma512 => "avx512ifma",
                        EngineKind::Avx2 => "avx2",
                    };
                    let _ = writeln!(std::io::stderr(), "skipping {test}/{kind}: needs {feature}");
                }
                engine
            })
            .collect()
    }

    /// Lengths around every padding boundary and random ones up to 4096 bytes,
    /// a different length in each lane of a call, each split into three parts.
    #[test]
    fn every_lane_equals_the_sha2_crate() {
        let engines = engines("every_lane_equals_the_sha2_crate");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut lengths: Vec<usize> = (0..=3 * BLOCK).collect();
        lengths.extend((0..200).map(|_| (next() % 4097) as usize));
        for group in lengths.chunks(MAX_LANES) {
            let messages: Vec<Vec<u8>> = (0..MAX_LANES)
                .map(|j| {
                    let len = group.get(j).copied().unwrap_or(7);
                    (0..len).map(|_| next() as u8).collect()
                })
                .collect();
            let mut padded: [Padded; MAX_LANES] = core::array::from_fn(|_| Padded::new());
            for (p, m) in padded.iter_mut().zip(&messages) {
                let (head, rest) = m.split_at(m.len().min(32));
                let (mid, tail) = rest.split_at(rest.len().min(32));
                p.fill(&[head, mid, tail]);
            }
            for engine in &engines {
                let digests = engine.digests(&padded);
                for (digest, m) in digests.iter().zip(&messages).take(engine.lanes()) {
                    assert_eq!(
                        digest[..],
                        Sha512::digest(m)[..],
                        "{engine:?}, length {}",
                        m.len()
                    );
                }
            }
        }
    }
}
