//! Bounds-checked cursor over the input and Solana's compact-u16 (`short_vec`)
//! length encoding.
//!
//! Every read returns a sub-slice of the input or an error; nothing here can
//! index out of bounds or overflow.

use super::ParseError;

/// Decodes a compact-u16 at the start of `bytes`, returning the value and the
/// number of bytes it used (1 to 3).
///
/// The encoding stores 7 bits per byte, least significant first, with the top
/// bit meaning "another byte follows". Like `solana-short-vec`, only the
/// canonical form is accepted: a continuation byte of zero is an alias, the
/// third byte may not continue, and the value may not exceed `u16::MAX`
/// (third byte at most 3). `what` names the field for error messages.
///
/// # Errors
///
/// [`ParseError::Truncated`] if `bytes` ends inside the encoding,
/// [`ParseError::BadCompactU16`] if the encoding is not canonical.
pub fn decode_compact_u16(bytes: &[u8], what: &'static str) -> Result<(u16, usize), ParseError> {
    let truncated = ParseError::Truncated { what };
    let bad = ParseError::BadCompactU16 { what };

    let b0 = *bytes.first().ok_or(truncated)?;
    if b0 < 0x80 {
        return Ok((u16::from(b0), 1));
    }
    let low = u16::from(b0 & 0x7f);

    let b1 = *bytes.get(1).ok_or(truncated)?;
    if b1 == 0 {
        return Err(bad);
    }
    if b1 < 0x80 {
        return Ok((low | (u16::from(b1) << 7), 2));
    }
    let mid = u16::from(b1 & 0x7f) << 7;

    let b2 = *bytes.get(2).ok_or(truncated)?;
    // 0 is an alias of a shorter encoding; anything above 3 either continues
    // past the third byte or overflows u16.
    if b2 == 0 || b2 > 3 {
        return Err(bad);
    }
    Ok((low | mid | (u16::from(b2) << 14), 3))
}

/// Forward-only cursor over a borrowed byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes` at `pos`.
    pub fn new(bytes: &'a [u8], pos: usize) -> Self {
        Self { bytes, pos }
    }

    /// Offset of the next unread byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    /// Takes the next `len` bytes.
    pub fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let out = self
            .remaining()
            .get(..len)
            .ok_or(ParseError::Truncated { what })?;
        self.pos = self.pos.saturating_add(len);
        Ok(out)
    }

    /// Takes the next `N` bytes as an array reference.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<&'a [u8; N], ParseError> {
        let out = self
            .remaining()
            .first_chunk::<N>()
            .ok_or(ParseError::Truncated { what })?;
        self.pos = self.pos.saturating_add(N);
        Ok(out)
    }

    /// Takes `count` consecutive `N`-byte items (keys, signatures, ...).
    pub fn chunks<const N: usize>(
        &mut self,
        count: usize,
        what: &'static str,
    ) -> Result<&'a [[u8; N]], ParseError> {
        let len = count.checked_mul(N).ok_or(ParseError::Truncated { what })?;
        let (chunks, _) = self.take(len, what)?.as_chunks::<N>();
        Ok(chunks)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        let [b] = *self.array::<1>(what)?;
        Ok(b)
    }

    /// Reads a little-endian `u32`.
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_le_bytes(*self.array::<4>(what)?))
    }

    /// Reads a compact-u16 (see [`decode_compact_u16`]).
    pub fn compact_u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let (value, used) = decode_compact_u16(self.remaining(), what)?;
        self.pos = self.pos.saturating_add(used);
        Ok(value)
    }

    /// Reads a compact-u16 length `n`, then takes `n` bytes.
    pub fn compact_bytes(&mut self, what: &'static str) -> Result<&'a [u8], ParseError> {
        let len = self.compact_u16(what)?;
        self.take(usize::from(len), what)
    }
}
