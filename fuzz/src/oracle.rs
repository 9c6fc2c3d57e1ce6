//! The reference for `tx_parse`: what Agave's sigverify path accepts.
//!
//! legacy/v0 (first byte's top bit clear): at most 1232 bytes, bincode
//! (`short_vec` signatures ++ message) into `VersionedTransaction`, exactly
//! the whole input, not a v1 message. v1 (first byte 0x81): at most 4096
//! bytes, `solana_message::v1::deserialize` of the message, then exactly
//! `num_required_signatures` signatures and nothing after. Then
//! `VersionedTransaction::sanitize`.

use solana_message::{v1, VersionedMessage};
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;

/// Largest legacy/v0 transaction (PACKET_DATA_SIZE).
pub const MAX_LEGACY_SIZE: usize = 1232;
/// Largest v1 transaction (SIMD-0385).
pub const MAX_V1_SIZE: usize = 4096;

/// The oracle's verdict: the decoded transaction if Agave would accept
/// `bytes` as one whole transaction within its size limit.
pub fn decode(bytes: &[u8]) -> Option<VersionedTransaction> {
    let first = *bytes.first()?;
    let tx = if first & 0x80 == 0 {
        if bytes.len() > MAX_LEGACY_SIZE {
            return None;
        }
        let tx: VersionedTransaction = bincode::deserialize(bytes).ok()?;
        // Agave routes a v1 message to the 0x81 first-byte framing only;
        // serde would decode a (non-wire) v1 layout here.
        if matches!(tx.message, VersionedMessage::V1(_)) {
            return None;
        }
        // bincode tolerates trailing bytes; Agave does not.
        if bincode::serialized_size(&tx).ok()? != bytes.len() as u64 {
            return None;
        }
        tx
    } else if first == 0x81 {
        if bytes.len() > MAX_V1_SIZE {
            return None;
        }
        let message = v1::deserialize(bytes.get(1..)?).ok()?;
        let message_len = 1 + message.size();
        let num_signatures = usize::from(message.header.num_required_signatures);
        if bytes.len() != message_len.checked_add(num_signatures.checked_mul(64)?)? {
            return None;
        }
        let signatures = bytes
            .get(message_len..)?
            .chunks_exact(64)
            .map(|chunk| <[u8; 64]>::try_from(chunk).ok().map(Signature::from))
            .collect::<Option<Vec<Signature>>>()?;
        VersionedTransaction {
            signatures,
            message: VersionedMessage::V1(message),
        }
    } else {
        return None;
    };
    tx.sanitize().ok()?;
    Some(tx)
}
