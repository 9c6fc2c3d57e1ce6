//! Zero-copy parser of Solana wire transactions (legacy, v0 and v1).
//!
//! [`Transaction::parse`] decodes a transaction as it arrives in a packet,
//! borrowing every field from the input, and applies the checks Agave's
//! sigverify stage makes before any cryptography, so that only well-formed
//! transactions reach signature verification. It never allocates, never
//! panics and uses no `unsafe`.
//!
//! # Formats
//!
//! The first byte decides the framing:
//! - top bit clear: legacy or v0. A compact-u16 signature count, the
//!   signatures, then the message; a message starting with `0x80` is v0.
//!   At most [`MAX_LEGACY_SIZE`] bytes.
//! - `0x81`: v1 (SIMD-0385). The message comes first and starts with the
//!   version byte, followed by `num_required_signatures` signatures with no
//!   count. At most [`MAX_V1_SIZE`] bytes.
//! - any other byte with the top bit set: [`ParseError::UnknownVersion`].
//!
//! # Checks
//!
//! Besides decoding (truncation, canonical compact-u16, size limit, no trailing
//! bytes, known versions, valid v1 config mask) the parser applies, for every
//! format, the sanitize rules of `solana-message`/`agave-transaction-view`:
//! at least one signature and exactly `num_required_signatures` of them;
//! signers are static keys; the readonly unsigned area does not overlap the
//! signers; the fee payer is writable; at most 256 accounts in total; at most
//! 64 instructions (SIMD-0160); each program id index is a static key other
//! than the fee payer (programs cannot come from lookup tables); each account
//! index is below static + lookup-table accounts; every v0 lookup loads at
//! least one account. For v1 it also applies the rest of `v1::Message::validate`:
//! at most 12 signatures and 64 addresses, no duplicate address, and a heap
//! size that is a multiple of 1024 in 32 KiB..=256 KiB.
//!
//! Deliberately not checked here (Agave does it later, after sigverify):
//! duplicate keys in legacy/v0 messages (account locking), the blockhash or
//! lifetime, lookup-table resolution, and v1 config values other than heap
//! size.

mod error;
mod instructions;
mod legacy;
mod reader;
mod v1;
mod view;
mod vote;

pub use error::ParseError;
pub use instructions::{Instruction, Instructions};
pub use reader::decode_compact_u16;
pub use v1::V1_VERSION_BYTE;
pub use view::{TxOffsets, TxView, Verifiable};
pub use vote::VOTE_PROGRAM_ID;

/// Largest legacy/v0 transaction: `PACKET_DATA_SIZE` (1280-byte IPv6 MTU
/// minus 48 bytes of headers).
pub const MAX_LEGACY_SIZE: usize = 1232;

/// Largest v1 transaction (SIMD-0385).
pub const MAX_V1_SIZE: usize = 4096;

/// Most top-level instructions a transaction may carry (SIMD-0160, and the v1
/// format limit).
pub const MAX_INSTRUCTIONS: usize = 64;

/// Most signatures a v1 transaction may carry.
pub const MAX_V1_SIGNATURES: usize = 12;

/// Most static addresses a v1 message may list.
pub const MAX_V1_ADDRESSES: usize = 64;

/// Most accounts (static plus lookup-table) a message may reference, since
/// account indexes are `u8`.
pub const MAX_ACCOUNTS: usize = 256;

/// Smallest v1 requested heap size (32 KiB).
pub const MIN_V1_HEAP_SIZE: u32 = 32 * 1024;

/// Largest v1 requested heap size (256 KiB).
pub const MAX_V1_HEAP_SIZE: u32 = 256 * 1024;

/// Top bit of a versioned message's first byte; the low 7 bits are the version.
const MESSAGE_VERSION_PREFIX: u8 = 0x80;

/// Wire format of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Original format: unprefixed message, no address lookup tables.
    Legacy,
    /// Versioned message 0 (prefix `0x80`): adds address lookup tables.
    V0,
    /// SIMD-0385 (first byte `0x81`): up to 4 KiB, inline compute budget,
    /// signatures after the message.
    V1,
}

/// The three counts at the start of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Signatures required; the first this many static keys are the signers.
    pub num_required_signatures: u8,
    /// The last this many signers are readonly.
    pub num_readonly_signed_accounts: u8,
    /// The last this many static non-signer keys are readonly.
    pub num_readonly_unsigned_accounts: u8,
}

/// Everything a format decoder extracts, before the sanitize checks.
#[derive(Debug)]
struct Raw<'a> {
    version: Version,
    message: &'a [u8],
    signatures: &'a [[u8; 64]],
    header: MessageHeader,
    account_keys: &'a [[u8; 32]],
    recent_blockhash: &'a [u8; 32],
    /// legacy/v0: the encoded instructions; v1: the instruction payloads.
    instructions: &'a [u8],
    /// v1 only: the fixed-size instruction headers.
    instruction_headers: &'a [[u8; 4]],
    num_instructions: u16,
    num_lookup_tables: u16,
    num_lookup_accounts: usize,
    has_empty_lookup: bool,
    heap_size: Option<u32>,
}

/// A parsed and sanitized wire transaction, borrowing from the packet bytes.
///
/// Only [`Transaction::parse`] creates one, so every value satisfies the
/// checks listed in the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transaction<'a> {
    bytes: &'a [u8],
    version: Version,
    message: &'a [u8],
    signatures: &'a [[u8; 64]],
    first_signature: &'a [u8; 64],
    header: MessageHeader,
    account_keys: &'a [[u8; 32]],
    recent_blockhash: &'a [u8; 32],
    instructions: &'a [u8],
    instruction_headers: &'a [[u8; 4]],
    num_instructions: u16,
    num_lookup_tables: u16,
    num_lookup_accounts: usize,
}

impl<'a> Transaction<'a> {
    /// Parses and sanitizes one wire transaction (the whole of `bytes`).
    ///
    /// # Errors
    ///
    /// The [`ParseError`] of the first rule the input breaks; see the
    /// [module documentation](self) for the rules.
    pub fn parse(bytes: &'a [u8]) -> Result<Transaction<'a>, ParseError> {
        let first = *bytes.first().ok_or(ParseError::Truncated {
            what: "signature count or version",
        })?;
        let raw = if first & MESSAGE_VERSION_PREFIX == 0 {
            check_size(bytes, MAX_LEGACY_SIZE)?;
            legacy::parse(bytes)?
        } else if first == V1_VERSION_BYTE {
            check_size(bytes, MAX_V1_SIZE)?;
            v1::parse(bytes)?
        } else {
            return Err(ParseError::UnknownVersion(first));
        };
        sanitize(bytes, raw)
    }

    /// Wire format of the transaction.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The whole wire transaction.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Exactly the bytes the signers signed: the serialized message, with its
    /// version prefix (`0x80` for v0, `0x81` for v1).
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// The signatures, in signer order.
    pub fn signatures(&self) -> &'a [[u8; 64]] {
        self.signatures
    }

    /// The public key for each signature: the first `num_required_signatures`
    /// static account keys (same length as [`signatures`](Self::signatures)).
    pub fn signer_keys(&self) -> &'a [[u8; 32]] {
        // `sanitize` checked `signatures.len() <= account_keys.len()`.
        self.account_keys
            .get(..self.signatures.len())
            .unwrap_or_default()
    }

    /// The static account keys listed in the message (lookup-table accounts
    /// are not resolved here).
    pub fn account_keys(&self) -> &'a [[u8; 32]] {
        self.account_keys
    }

    /// The message header counts.
    pub fn header(&self) -> MessageHeader {
        self.header
    }

    /// The recent blockhash (legacy/v0) or lifetime specifier (v1).
    pub fn recent_blockhash(&self) -> &'a [u8; 32] {
        self.recent_blockhash
    }

    /// Number of top-level instructions (at most [`MAX_INSTRUCTIONS`]).
    pub fn num_instructions(&self) -> usize {
        usize::from(self.num_instructions)
    }

    /// The top-level instructions, borrowed from the wire bytes.
    pub fn instructions(&self) -> Instructions<'a> {
        match self.version {
            Version::V1 => Instructions::v1(self.instruction_headers, self.instructions),
            Version::Legacy | Version::V0 => {
                Instructions::compact(self.instructions, self.num_instructions)
            }
        }
    }

    /// Number of address-table lookups (always 0 outside v0).
    pub fn num_address_table_lookups(&self) -> usize {
        usize::from(self.num_lookup_tables)
    }

    /// Number of accounts loaded through address-table lookups (always 0
    /// outside v0).
    pub fn num_lookup_accounts(&self) -> usize {
        self.num_lookup_accounts
    }

    /// Whether Agave treats this as a simple vote transaction (legacy, 1 or 2
    /// signatures, a single instruction calling the vote program), which it
    /// routes to the vote path.
    pub fn is_simple_vote(&self) -> bool {
        vote::is_simple_vote(self)
    }

    /// The first signature, which identifies the transaction (`parse`
    /// guarantees there is at least one).
    pub fn first_signature(&self) -> &'a [u8; 64] {
        self.first_signature
    }
}

/// Rejects inputs longer than the format's limit.
fn check_size(bytes: &[u8], max: usize) -> Result<(), ParseError> {
    if bytes.len() > max {
        return Err(ParseError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    Ok(())
}

/// The pre-crypto sanitize rules, applied to a structurally valid transaction.
fn sanitize<'a>(bytes: &'a [u8], raw: Raw<'a>) -> Result<Transaction<'a>, ParseError> {
    let Some(first_signature) = raw.signatures.first() else {
        return Err(ParseError::NoSignatures);
    };
    let is_v1 = raw.version == Version::V1;
    let header = raw.header;
    let num_signatures = raw.signatures.len();
    let required = usize::from(header.num_required_signatures);
    let num_keys = raw.account_keys.len();

    if num_signatures != required {
        return Err(ParseError::SignatureCountMismatch {
            signatures: num_signatures,
            required,
        });
    }
    if is_v1 && required > MAX_V1_SIGNATURES {
        return Err(ParseError::TooManySignatures {
            count: required,
            max: MAX_V1_SIGNATURES,
        });
    }
    // Signatures are verified before lookups are loaded, so every signer must
    // be a static key.
    if num_keys < num_signatures {
        return Err(ParseError::NotEnoughAccountKeys {
            signatures: num_signatures,
            keys: num_keys,
        });
    }
    if required.saturating_add(usize::from(header.num_readonly_unsigned_accounts)) > num_keys {
        return Err(ParseError::ReadonlyOverlapsSigners);
    }
    if header.num_readonly_signed_accounts >= header.num_required_signatures {
        return Err(ParseError::FeePayerNotWritable);
    }
    if is_v1 && num_keys > MAX_V1_ADDRESSES {
        return Err(ParseError::TooManyAccountKeys {
            count: num_keys,
            max: MAX_V1_ADDRESSES,
        });
    }
    let num_accounts = num_keys.saturating_add(raw.num_lookup_accounts);
    if num_accounts > MAX_ACCOUNTS {
        return Err(ParseError::TooManyAccountKeys {
            count: num_accounts,
            max: MAX_ACCOUNTS,
        });
    }
    let num_instructions = usize::from(raw.num_instructions);
    if num_instructions > MAX_INSTRUCTIONS {
        return Err(ParseError::TooManyInstructions {
            count: num_instructions,
            max: MAX_INSTRUCTIONS,
        });
    }
    if is_v1 {
        // At most 64 keys: a quadratic scan (<= 2016 compares) beats
        // sorting a stack copy and needs no allocation.
        let mut rest = raw.account_keys;
        while let Some((key, tail)) = rest.split_first() {
            if tail.contains(key) {
                return Err(ParseError::DuplicateAccountKey);
            }
            rest = tail;
        }
    }
    if let Some(heap) = raw.heap_size {
        if !heap.is_multiple_of(1024) || !(MIN_V1_HEAP_SIZE..=MAX_V1_HEAP_SIZE).contains(&heap) {
            return Err(ParseError::InvalidHeapSize(heap));
        }
    }

    let tx = Transaction {
        bytes,
        version: raw.version,
        message: raw.message,
        signatures: raw.signatures,
        first_signature,
        header,
        account_keys: raw.account_keys,
        recent_blockhash: raw.recent_blockhash,
        instructions: raw.instructions,
        instruction_headers: raw.instruction_headers,
        num_instructions: raw.num_instructions,
        num_lookup_tables: raw.num_lookup_tables,
        num_lookup_accounts: raw.num_lookup_accounts,
    };

    for ix in tx.instructions() {
        // Programs must be static keys so instructions can be analysed
        // without loading lookup tables.
        if usize::from(ix.program_id_index) >= num_keys {
            return Err(ParseError::ProgramIndexOutOfRange {
                index: ix.program_id_index,
                num_static_keys: num_keys,
            });
        }
        if ix.program_id_index == 0 {
            return Err(ParseError::ProgramIsFeePayer);
        }
        if let Some(&index) = ix
            .accounts
            .iter()
            .find(|&&index| usize::from(index) >= num_accounts)
        {
            return Err(ParseError::AccountIndexOutOfRange {
                index,
                num_accounts,
            });
        }
    }

    if raw.has_empty_lookup {
        return Err(ParseError::EmptyAddressTableLookup);
    }

    Ok(tx)
}
