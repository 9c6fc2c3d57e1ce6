//! `tx_parse`: Rampart's zero-copy transaction parser and sanitizer
//! (`rampart_sigverify::txn::Transaction::parse`) against Agave's
//! deserializer + `sanitize` (`rampart_fuzz::oracle`).
//!
//! - Never panics, on any bytes.
//! - Where both accept: same version, signatures, signer keys, static keys,
//!   header, blockhash, instructions and lookup counts, and the signed
//!   message bytes equal the oracle's re-serialized message.
//! - Rampart accepts only what the oracle accepts.
//! - Rampart rejects what the oracle accepts in exactly one documented case:
//!   more than 64 top-level instructions in a legacy/v0 transaction
//!   (SIMD-0160; Agave's `agave-transaction-view` enforces it on the
//!   sigverify path, `VersionedTransaction::sanitize` does not).
//! - The stored offsets (`TxOffsets`) give back the same view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_sigverify::txn::{ParseError, Transaction, Version};
use solana_message::VersionedMessage;
use solana_transaction::versioned::VersionedTransaction;

fuzz_target!(|data: &[u8]| {
    let ours = Transaction::parse(data);
    let theirs = rampart_fuzz::oracle::decode(data);
    match (&ours, &theirs) {
        (Ok(tx), Some(reference)) => agree(tx, reference),
        (Ok(tx), None) => panic!("Rampart accepts what Agave rejects: {tx:?}"),
        (Err(ParseError::TooManyInstructions { .. }), Some(reference))
            if !matches!(reference.message, VersionedMessage::V1(_))
                && reference.message.instructions().len() > 64 => {}
        (Err(error), Some(_)) => panic!("Rampart rejects ({error}) what Agave accepts"),
        (Err(error), None) => {
            // Every error names a label the metrics know.
            assert!(rampart_sigverify::txn::ParseError::LABELS.contains(&error.label()));
        }
    }
    if let Ok(tx) = ours {
        let offsets = tx.offsets();
        assert_eq!(offsets.view(data), Ok(tx.view()));
        assert_eq!(offsets.first_signature(data), Some(tx.first_signature()));
    }
});

fn agree(ours: &Transaction<'_>, theirs: &VersionedTransaction) {
    let version = match theirs.message {
        VersionedMessage::Legacy(_) => Version::Legacy,
        VersionedMessage::V0(_) => Version::V0,
        VersionedMessage::V1(_) => Version::V1,
    };
    assert_eq!(ours.version(), version);

    let signatures: Vec<[u8; 64]> = theirs.signatures.iter().map(|s| *s.as_array()).collect();
    assert_eq!(ours.signatures(), &signatures[..], "signatures");
    assert_eq!(ours.first_signature(), &signatures[0]);

    let keys: Vec<[u8; 32]> = theirs
        .message
        .static_account_keys()
        .iter()
        .map(|key| key.to_bytes())
        .collect();
    assert_eq!(ours.account_keys(), &keys[..], "static keys");
    let signers = usize::from(theirs.message.header().num_required_signatures);
    assert_eq!(ours.signer_keys(), &keys[..signers], "signer keys");
    assert_eq!(ours.signer_keys().len(), ours.signatures().len());

    assert_eq!(
        ours.message(),
        &theirs.message.serialize()[..],
        "signed message bytes"
    );

    let header = theirs.message.header();
    let mine = ours.header();
    assert_eq!(
        (
            mine.num_required_signatures,
            mine.num_readonly_signed_accounts,
            mine.num_readonly_unsigned_accounts
        ),
        (
            header.num_required_signatures,
            header.num_readonly_signed_accounts,
            header.num_readonly_unsigned_accounts
        )
    );
    assert_eq!(
        ours.recent_blockhash(),
        &theirs.message.recent_blockhash().to_bytes()
    );

    let instructions = theirs.message.instructions();
    assert_eq!(ours.num_instructions(), instructions.len());
    assert_eq!(ours.instructions().count(), instructions.len());
    for (mine, reference) in ours.instructions().zip(instructions) {
        assert_eq!(mine.program_id_index, reference.program_id_index);
        assert_eq!(mine.accounts, &reference.accounts[..]);
        assert_eq!(mine.data, &reference.data[..]);
    }

    let lookups = theirs.message.address_table_lookups().unwrap_or(&[]);
    assert_eq!(ours.num_address_table_lookups(), lookups.len());
    let loaded: usize = lookups
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    assert_eq!(ours.num_lookup_accounts(), loaded);
}
