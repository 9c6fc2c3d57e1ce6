//! Bounds-checked big-endian reads from a frame.
//!
//! The verifier accepts a packet read only after the program has compared
//! `data + offset + size` with `data_end`, so every read through a [`Cursor`]
//! re-checks that, and a read past the end is `None`, never a panic.

/// A frame the verdict chain reads from: offsets count from the first byte of
/// the Ethernet header.
pub trait Cursor {
    /// Length of the frame in bytes.
    fn frame_len(&self) -> usize;

    /// The `N` bytes at `offset`, or `None` if any of them lies past the end.
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]>;

    /// One byte at `offset`.
    #[inline(always)]
    fn byte(&self, offset: usize) -> Option<u8> {
        self.bytes::<1>(offset).map(|[byte]| byte)
    }

    /// A big-endian `u16` at `offset`.
    #[inline(always)]
    fn be16(&self, offset: usize) -> Option<u16> {
        self.bytes::<2>(offset).map(u16::from_be_bytes)
    }

    /// A big-endian `u32` at `offset`.
    #[inline(always)]
    fn be32(&self, offset: usize) -> Option<u32> {
        self.bytes::<4>(offset).map(u32::from_be_bytes)
    }
}

/// The host's cursor: a frame held in memory.
impl Cursor for [u8] {
    #[inline(always)]
    fn frame_len(&self) -> usize {
        self.len()
    }

    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        let slice = self.get(offset..end)?;
        <[u8; N]>::try_from(slice).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn reads_are_big_endian_and_stop_at_the_end() {
        let frame: &[u8] = &[1, 2, 3, 4, 5];
        assert_eq!(frame.byte(4), Some(5));
        assert_eq!(frame.be16(0), Some(0x0102));
        assert_eq!(frame.be32(1), Some(0x0203_0405));
        assert_eq!(frame.be32(2), None);
        assert_eq!(frame.byte(5), None);
        assert_eq!(frame.be16(usize::MAX), None);
        assert_eq!(frame.bytes::<0>(5), Some([]));
    }
}
