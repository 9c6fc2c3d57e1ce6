//! Borrowed view of a message's compiled instructions, for both encodings.

use super::reader::Reader;
use super::ParseError;

/// One compiled instruction, borrowed from the wire bytes.
///
/// Indexes refer to the message's account list (static keys, then for v0 the
/// lookup-table accounts, writable before readonly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction<'a> {
    /// Index of the program's key among the static account keys.
    pub program_id_index: u8,
    /// Indexes of the accounts passed to the program.
    pub accounts: &'a [u8],
    /// Opaque instruction data.
    pub data: &'a [u8],
}

/// Where the instructions live, per wire encoding.
#[derive(Debug, Clone)]
enum Layout<'a> {
    /// legacy / v0: each instruction is `u8, compact-u16 len, accounts,
    /// compact-u16 len, data`.
    Compact(Reader<'a>),
    /// v1: fixed 4-byte headers `(program u8, num_accounts u8, data_len u16 LE)`
    /// followed by the concatenated `accounts ++ data` payloads.
    V1 {
        headers: &'a [[u8; 4]],
        payload: Reader<'a>,
    },
}

/// Iterator over the instructions of a parsed [`Transaction`](super::Transaction).
///
/// Created by [`Transaction::instructions`](super::Transaction::instructions);
/// the bytes were validated by the parser, so it yields exactly
/// `num_instructions()` items.
#[derive(Debug, Clone)]
pub struct Instructions<'a> {
    layout: Layout<'a>,
    remaining: u16,
}

impl<'a> Instructions<'a> {
    /// Instructions in the legacy/v0 encoding, starting at `bytes[0]`.
    pub(crate) fn compact(bytes: &'a [u8], count: u16) -> Self {
        Self {
            layout: Layout::Compact(Reader::new(bytes, 0)),
            remaining: count,
        }
    }

    /// Instructions in the v1 encoding: one header per instruction, payloads
    /// starting at `payload[0]`.
    pub(crate) fn v1(headers: &'a [[u8; 4]], payload: &'a [u8]) -> Self {
        // At most 255 headers (the count is a u8 on the wire).
        let remaining = u16::try_from(headers.len()).unwrap_or(u16::MAX);
        Self {
            layout: Layout::V1 {
                headers,
                payload: Reader::new(payload, 0),
            },
            remaining,
        }
    }

    /// Bytes of the payload region consumed so far.
    pub(crate) fn consumed(&self) -> usize {
        match &self.layout {
            Layout::Compact(reader) => reader.pos(),
            Layout::V1 { payload, .. } => payload.pos(),
        }
    }

    /// Decodes the next instruction, reporting why the bytes are malformed.
    pub(crate) fn try_next(&mut self) -> Result<Option<Instruction<'a>>, ParseError> {
        let Some(remaining) = self.remaining.checked_sub(1) else {
            return Ok(None);
        };
        self.remaining = remaining;
        let ix = match &mut self.layout {
            Layout::Compact(reader) => Instruction {
                program_id_index: reader.u8("instruction program id index")?,
                accounts: reader.compact_bytes("instruction accounts")?,
                data: reader.compact_bytes("instruction data")?,
            },
            Layout::V1 { headers, payload } => {
                let Some((&[program_id_index, num_accounts, lo, hi], rest)) = headers.split_first()
                else {
                    return Err(ParseError::Truncated {
                        what: "instruction headers",
                    });
                };
                *headers = rest;
                Instruction {
                    program_id_index,
                    accounts: payload.take(usize::from(num_accounts), "instruction accounts")?,
                    data: payload.take(
                        usize::from(u16::from_le_bytes([lo, hi])),
                        "instruction data",
                    )?,
                }
            }
        };
        Ok(Some(ix))
    }
}

impl<'a> Iterator for Instructions<'a> {
    type Item = Instruction<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.try_next() {
            Ok(ix) => ix,
            Err(_) => {
                // Unreachable for parsed transactions; stop rather than resync.
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}
