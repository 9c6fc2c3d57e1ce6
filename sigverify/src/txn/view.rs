//! A parsed transaction's verification inputs as offsets into its bytes, so
//! the parse result can travel with the owned bytes (through queues, to a
//! verify worker and back) and nobody downstream parses again.

use super::{ParseError, Transaction};

/// Where a parsed transaction's signatures, signer keys and signed message
/// sit in its wire bytes. Made by [`Transaction::offsets`]; read back with
/// [`TxOffsets::view`] over the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOffsets {
    signatures: u16,
    num_signatures: u16,
    signer_keys: u16,
    message: u16,
    message_len: u16,
    len: u16,
}

/// The borrowed inputs of one transaction's signature checks: signature `i`
/// is checked with `signer_keys[i]` over `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxView<'a> {
    /// The signatures, in signer order (at least one).
    pub signatures: &'a [[u8; 64]],
    /// The key for each signature (same length as `signatures`).
    pub signer_keys: &'a [[u8; 32]],
    /// Exactly the bytes the signers signed.
    pub message: &'a [u8],
}

impl TxView<'_> {
    /// The first signature, which identifies the transaction.
    pub fn first_signature(&self) -> Option<&[u8; 64]> {
        self.signatures.first()
    }
}

/// What [`TxOffsets::view`] reports for bytes the offsets were not taken from.
pub(crate) const MISMATCH: ParseError = ParseError::Truncated {
    what: "transaction (stored offsets do not fit these bytes)",
};

/// Offset of `part` inside `whole`, which must contain it.
fn offset_in(whole: &[u8], part: *const u8) -> u16 {
    // Both pointers come from the same allocation (`part` is a sub-slice of
    // `whole`), and transactions are at most 4096 bytes, so this fits.
    (part as usize).wrapping_sub(whole.as_ptr() as usize) as u16
}

impl<'a> Transaction<'a> {
    /// The verification inputs, borrowed from the wire bytes.
    pub fn view(&self) -> TxView<'a> {
        TxView {
            signatures: self.signatures(),
            signer_keys: self.signer_keys(),
            message: self.message(),
        }
    }

    /// The offsets of this transaction's verification inputs in its bytes.
    pub fn offsets(&self) -> TxOffsets {
        let bytes = self.bytes();
        TxOffsets {
            signatures: offset_in(bytes, self.signatures().as_ptr().cast()),
            num_signatures: self.signatures().len() as u16,
            signer_keys: offset_in(bytes, self.signer_keys().as_ptr().cast()),
            message: offset_in(bytes, self.message().as_ptr()),
            message_len: self.message().len() as u16,
            len: bytes.len() as u16,
        }
    }
}

impl TxOffsets {
    /// The verification inputs in `bytes`, which must be the bytes these
    /// offsets were taken from.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] (of `MISMATCH`) when `bytes` is not that
    /// transaction (a different length, or ranges that do not fit); never for
    /// the bytes the offsets came from.
    pub fn view<'a>(&self, bytes: &'a [u8]) -> Result<TxView<'a>, ParseError> {
        if bytes.len() != usize::from(self.len) {
            return Err(MISMATCH);
        }
        let n = usize::from(self.num_signatures);
        let signatures = bytes
            .get(usize::from(self.signatures)..)
            .and_then(|rest| rest.get(..n * 64))
            .ok_or(MISMATCH)?;
        let signer_keys = bytes
            .get(usize::from(self.signer_keys)..)
            .and_then(|rest| rest.get(..n * 32))
            .ok_or(MISMATCH)?;
        let message = bytes
            .get(usize::from(self.message)..)
            .and_then(|rest| rest.get(..usize::from(self.message_len)))
            .ok_or(MISMATCH)?;
        let (signatures, []) = signatures.as_chunks::<64>() else {
            return Err(MISMATCH);
        };
        let (signer_keys, []) = signer_keys.as_chunks::<32>() else {
            return Err(MISMATCH);
        };
        if signatures.is_empty() {
            return Err(MISMATCH);
        }
        Ok(TxView {
            signatures,
            signer_keys,
            message,
        })
    }

    /// The first signature in `bytes` (see [`view`](Self::view)).
    pub fn first_signature<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8; 64]> {
        let start = usize::from(self.signatures);
        bytes.get(start..start.checked_add(64)?)?.try_into().ok()
    }
}

/// Something a verify worker can check: it presents its transaction's
/// verification inputs, parsing only if it was not parsed before.
pub trait Verifiable {
    /// The verification inputs, or why the bytes are not a transaction.
    ///
    /// # Errors
    /// The parse error (raw bytes), or a mismatch between stored offsets and bytes.
    fn view(&self) -> Result<TxView<'_>, ParseError>;
}

impl Verifiable for Vec<u8> {
    fn view(&self) -> Result<TxView<'_>, ParseError> {
        Transaction::parse(self).map(|tx| tx.view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy transaction: 2 signatures, 3 keys, a blockhash, no instructions.
    fn legacy() -> Vec<u8> {
        let mut tx = vec![2u8];
        tx.extend((0..128).map(|i| i as u8));
        tx.extend([2u8, 0, 1, 3]);
        tx.extend((0..96).map(|i| 200u8.wrapping_add(i as u8)));
        tx.extend([9u8; 32]);
        tx.push(0);
        tx
    }

    /// A v1 transaction: one signer, no instructions; its signature comes
    /// after the message.
    fn v1() -> Vec<u8> {
        let mut tx = vec![0x81u8, 1, 0, 0];
        tx.extend(0u32.to_le_bytes());
        tx.extend([9u8; 32]);
        tx.extend([0u8, 1]);
        tx.extend([7u8; 32]);
        tx.extend([5u8; 64]);
        tx
    }

    #[test]
    fn offsets_give_back_what_the_parser_saw() {
        for bytes in [legacy(), v1()] {
            let tx = Transaction::parse(&bytes).expect("parses");
            let offsets = tx.offsets();
            assert_eq!(offsets.view(&bytes), Ok(tx.view()));
            assert_eq!(offsets.first_signature(&bytes), Some(tx.first_signature()));
        }
        let bytes = v1();
        let view = Transaction::parse(&bytes)
            .expect("parses")
            .offsets()
            .view(&bytes);
        assert_eq!(view.map(|v| v.message.len()), Ok(bytes.len() - 64));
    }

    #[test]
    fn offsets_over_other_bytes_are_refused_not_misread() {
        let bytes = legacy();
        let offsets = Transaction::parse(&bytes).expect("parses").offsets();
        assert_eq!(offsets.view(&bytes[..100]), Err(MISMATCH));
        assert_eq!(offsets.view(&[]), Err(MISMATCH));
        assert_eq!(offsets.first_signature(&bytes[..10]), None);
    }
}
