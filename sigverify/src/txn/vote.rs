//! Simple-vote classification, as Agave's `is_simple_vote_transaction`.

use super::{Transaction, Version};

/// The vote program id, `Vote111111111111111111111111111111111111111`, as raw
/// bytes (base58-decoded).
pub const VOTE_PROGRAM_ID: [u8; 32] = [
    7, 97, 72, 29, 53, 116, 116, 187, 124, 77, 118, 36, 235, 211, 189, 179, 216, 53, 94, 115, 209,
    16, 67, 252, 13, 163, 83, 128, 0, 0, 0, 0,
];

/// Agave's rule: a legacy message, 1 or 2 signatures, exactly one
/// instruction, and that instruction's program is the vote program.
pub(super) fn is_simple_vote(tx: &Transaction<'_>) -> bool {
    tx.version() == Version::Legacy
        && tx.signatures().len() <= 2
        && tx.num_instructions() == 1
        && tx
            .instructions()
            .next()
            .and_then(|ix| tx.account_keys().get(usize::from(ix.program_id_index)))
            == Some(&VOTE_PROGRAM_ID)
}
