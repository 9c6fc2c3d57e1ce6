//! Shared pieces of Rampart's fuzz targets: a reader that turns fuzz bytes
//! into choices, and the transaction oracle (Agave's deserializer and
//! sanitize, as `sigverify/tests/txn_parse.rs` uses it).
//!
//! Each target lives in `fuzz_targets/`; docs/fuzzing.md says what each one
//! checks and how to run it.

pub mod oracle;

/// Draws choices from the fuzz input, front to back; an exhausted input
/// answers zeros, so every input is a valid (if short) program of choices.
#[derive(Debug, Clone)]
pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    /// Choices drawn from `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes }
    }

    /// Whether every byte was drawn.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next byte (0 once exhausted).
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    /// A little-endian `u16` (zero-padded once exhausted).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A value below `n` (`n` > 0), from one byte for small `n`.
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n
        } else {
            usize::from(self.u16()) % n
        }
    }

    /// The next `len` bytes, fewer if the input runs out.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.bytes.split_at(len.min(self.bytes.len()));
        self.bytes = rest;
        head
    }

    /// Everything not drawn yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// `N` bytes, zero-padded once exhausted.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let got = self.take(N);
        out[..got.len()].copy_from_slice(got);
        out
    }
}
