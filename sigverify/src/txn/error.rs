//! Why a wire transaction was rejected before any signature was checked.

use thiserror::Error;

/// A reason to reject a wire transaction without verifying its signatures.
///
/// Each variant is one rule, so a rejected packet can be counted by cause
/// (see [`ParseError::label`]). Structural errors (the bytes do not decode)
/// are reported before semantic ones (the bytes decode but break a sanitize
/// rule); within each group the first violated rule in wire order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The input ended inside the named field.
    #[error("transaction truncated while reading {what}")]
    Truncated {
        /// Name of the field that could not be read in full.
        what: &'static str,
    },

    /// The transaction is longer than its format allows (1232 bytes for
    /// legacy/v0, 4096 bytes for v1).
    #[error("transaction is {len} bytes, the limit for its format is {max}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// Size limit of the detected format.
        max: usize,
    },

    /// Bytes follow the last field of a well-formed transaction.
    #[error("{extra} trailing bytes after the transaction")]
    TrailingBytes {
        /// Number of bytes left over.
        extra: usize,
    },

    /// A compact-u16 length is not in canonical form: an alias (a zero
    /// continuation byte), a third byte with its continuation bit set, or a
    /// value above `u16::MAX`. Mirrors `solana-short-vec`.
    #[error("invalid compact-u16 encoding of {what}")]
    BadCompactU16 {
        /// Name of the field whose length prefix is invalid.
        what: &'static str,
    },

    /// The version byte (first byte of a v1 transaction, or the prefix of a
    /// versioned message) names a version this parser does not know. Holds the
    /// raw byte, e.g. `0x82` for version 2 or `0xff` for off-chain messages.
    #[error("unknown transaction version byte {0:#04x}")]
    UnknownVersion(u8),

    /// A v1 message (prefix `0x81`) behind a compact-u16 signature count. v1
    /// transactions start with the message and carry no signature count.
    #[error("v1 message framed like a legacy/v0 transaction")]
    V1MessageInLegacyFrame,

    /// A v1 config mask sets an unknown bit, or only one of the two priority
    /// fee bits (0 and 1 must be set together).
    #[error("invalid v1 config mask {0:#010x}")]
    InvalidConfigMask(u32),

    /// A v1 requested heap size is not a multiple of 1024 within
    /// 32 KiB..=256 KiB (solana-message v1 `validate`).
    #[error("invalid v1 heap size {0}")]
    InvalidHeapSize(u32),

    /// The transaction carries no signature (or its header requires none).
    #[error("transaction has no signatures")]
    NoSignatures,

    /// The number of signatures differs from the header's
    /// `num_required_signatures`.
    #[error("{signatures} signatures but the header requires {required}")]
    SignatureCountMismatch {
        /// Signatures present on the wire.
        signatures: usize,
        /// `num_required_signatures` from the message header.
        required: usize,
    },

    /// A v1 transaction requires more than 12 signatures.
    #[error("{count} signatures exceed the v1 limit of {max}")]
    TooManySignatures {
        /// `num_required_signatures` from the message header.
        count: usize,
        /// Limit of the format.
        max: usize,
    },

    /// Fewer static account keys than signatures: every signer must be a
    /// static key because signatures are checked before lookups are loaded.
    #[error("{keys} static account keys for {signatures} signatures")]
    NotEnoughAccountKeys {
        /// Signatures present on the wire.
        signatures: usize,
        /// Static account keys in the message.
        keys: usize,
    },

    /// `num_required_signatures + num_readonly_unsigned_accounts` exceeds the
    /// static account keys: the signer area and the readonly unsigned area
    /// overlap.
    #[error("readonly unsigned accounts overlap the signers")]
    ReadonlyOverlapsSigners,

    /// `num_readonly_signed_accounts >= num_required_signatures`: there is no
    /// writable signer to pay the fee.
    #[error("fee payer is not writable")]
    FeePayerNotWritable,

    /// Too many account keys: more than 64 static addresses in v1, or more
    /// than 256 static plus lookup-table accounts (indexes are `u8`).
    #[error("{count} account keys exceed the limit of {max}")]
    TooManyAccountKeys {
        /// Number of account keys.
        count: usize,
        /// Limit that applies.
        max: usize,
    },

    /// More than 64 top-level instructions.
    #[error("{count} instructions exceed the limit of {max}")]
    TooManyInstructions {
        /// Number of instructions.
        count: usize,
        /// Limit (64).
        max: usize,
    },

    /// The same address appears twice in a v1 message (v1 `validate`).
    #[error("duplicate account key in a v1 message")]
    DuplicateAccountKey,

    /// An instruction's program id index is not a static account key
    /// (programs may not come from lookup tables).
    #[error("program id index {index} is not one of the {num_static_keys} static keys")]
    ProgramIndexOutOfRange {
        /// The offending index.
        index: u8,
        /// Static account keys in the message.
        num_static_keys: usize,
    },

    /// An instruction's program id index is 0, the fee payer.
    #[error("program id index points at the fee payer")]
    ProgramIsFeePayer,

    /// An instruction account index is past the static keys plus the
    /// lookup-table accounts.
    #[error("account index {index} is out of range for {num_accounts} accounts")]
    AccountIndexOutOfRange {
        /// The offending index.
        index: u8,
        /// Static plus lookup-table accounts.
        num_accounts: usize,
    },

    /// A v0 address-table lookup loads no account (both index lists empty).
    #[error("address table lookup loads no accounts")]
    EmptyAddressTableLookup,
}

impl ParseError {
    /// A stable `snake_case` name for the variant, for metrics counters.
    ///
    /// Labels never carry the variant's data, so their set is fixed.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "truncated",
            Self::TooLarge { .. } => "too_large",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::BadCompactU16 { .. } => "bad_compact_u16",
            Self::UnknownVersion(_) => "unknown_version",
            Self::V1MessageInLegacyFrame => "v1_message_in_legacy_frame",
            Self::InvalidConfigMask(_) => "invalid_config_mask",
            Self::InvalidHeapSize(_) => "invalid_heap_size",
            Self::NoSignatures => "no_signatures",
            Self::SignatureCountMismatch { .. } => "signature_count_mismatch",
            Self::TooManySignatures { .. } => "too_many_signatures",
            Self::NotEnoughAccountKeys { .. } => "not_enough_account_keys",
            Self::ReadonlyOverlapsSigners => "readonly_overlaps_signers",
            Self::FeePayerNotWritable => "fee_payer_not_writable",
            Self::TooManyAccountKeys { .. } => "too_many_account_keys",
            Self::TooManyInstructions { .. } => "too_many_instructions",
            Self::DuplicateAccountKey => "duplicate_account_key",
            Self::ProgramIndexOutOfRange { .. } => "program_index_out_of_range",
            Self::ProgramIsFeePayer => "program_is_fee_payer",
            Self::AccountIndexOutOfRange { .. } => "account_index_out_of_range",
            Self::EmptyAddressTableLookup => "empty_address_table_lookup",
        }
    }

    /// Every label [`ParseError::label`] can return, e.g. to pre-register
    /// metrics counters at zero.
    pub const LABELS: &'static [&'static str] = &[
        "truncated",
        "too_large",
        "trailing_bytes",
        "bad_compact_u16",
        "unknown_version",
        "v1_message_in_legacy_frame",
        "invalid_config_mask",
        "invalid_heap_size",
        "no_signatures",
        "signature_count_mismatch",
        "too_many_signatures",
        "not_enough_account_keys",
        "readonly_overlaps_signers",
        "fee_payer_not_writable",
        "too_many_account_keys",
        "too_many_instructions",
        "duplicate_account_key",
        "program_index_out_of_range",
        "program_is_fee_payer",
        "account_index_out_of_range",
        "empty_address_table_lookup",
    ];
}
