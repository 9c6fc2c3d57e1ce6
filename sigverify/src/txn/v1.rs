//! v1 wire format (SIMD-0385).
//!
//! ```text
//! message (the signed bytes):
//!   0x81                       version byte
//!   header                     (3 x u8)
//!   u32 LE                     config mask
//!   [u8; 32]                   lifetime specifier (blockhash)
//!   u8 num_instructions, u8 num_addresses
//!   [u8; 32] x num_addresses
//!   config values              (8 bytes priority fee, then 4 bytes each for
//!                               CU limit, loaded accounts data size, heap size;
//!                               only those whose mask bits are set)
//!   [u8; 4] x num_instructions (program u8, num_accounts u8, data_len u16 LE)
//!   per instruction: accounts ++ data
//! [u8; 64] x num_required_signatures   (no count prefix)
//! ```

use super::instructions::Instructions;
use super::reader::Reader;
use super::{MessageHeader, ParseError, Raw, Version};

/// Version byte of a v1 transaction (and of its message): prefix bit | 1.
pub const V1_VERSION_BYTE: u8 = 0x81;

/// Mask bits 0-1: priority fee (u64 LE); both bits or neither.
const PRIORITY_FEE: u32 = 0b11;
/// Mask bit 2: compute unit limit (u32 LE).
const COMPUTE_UNIT_LIMIT: u32 = 0b100;
/// Mask bit 3: loaded accounts data size limit (u32 LE).
const LOADED_ACCOUNTS_DATA_SIZE: u32 = 0b1000;
/// Mask bit 4: requested heap size (u32 LE).
const HEAP_SIZE: u32 = 0b1_0000;
/// Every bit this parser knows.
const KNOWN_BITS: u32 = PRIORITY_FEE | COMPUTE_UNIT_LIMIT | LOADED_ACCOUNTS_DATA_SIZE | HEAP_SIZE;

/// Decodes a v1 transaction. The caller has checked the first byte is
/// [`V1_VERSION_BYTE`] and that the size is within the v1 limit.
pub(super) fn parse(bytes: &[u8]) -> Result<Raw<'_>, ParseError> {
    let mut r = Reader::new(bytes, 0);
    r.u8("version")?;
    let header = MessageHeader {
        num_required_signatures: r.u8("message header")?,
        num_readonly_signed_accounts: r.u8("message header")?,
        num_readonly_unsigned_accounts: r.u8("message header")?,
    };

    // An unknown bit cannot be skipped (its value size is unknown), and the
    // solana-message deserializer rejects it too: re-serializing would drop
    // it and break the signature.
    let mask = r.u32_le("config mask")?;
    let fee_bits = mask & PRIORITY_FEE;
    if mask & !KNOWN_BITS != 0 || (fee_bits != 0 && fee_bits != PRIORITY_FEE) {
        return Err(ParseError::InvalidConfigMask(mask));
    }

    let recent_blockhash = r.array::<32>("lifetime specifier")?;
    let num_instructions = r.u8("instruction count")?;
    let num_addresses = r.u8("address count")?;
    let account_keys = r.chunks::<32>(usize::from(num_addresses), "addresses")?;

    if fee_bits != 0 {
        r.array::<8>("priority fee")?;
    }
    if mask & COMPUTE_UNIT_LIMIT != 0 {
        r.array::<4>("compute unit limit")?;
    }
    if mask & LOADED_ACCOUNTS_DATA_SIZE != 0 {
        r.array::<4>("loaded accounts data size limit")?;
    }
    let heap_size = if mask & HEAP_SIZE != 0 {
        Some(r.u32_le("heap size")?)
    } else {
        None
    };

    let instruction_headers =
        r.chunks::<4>(usize::from(num_instructions), "instruction headers")?;
    let mut ixs = Instructions::v1(instruction_headers, r.remaining());
    while ixs.try_next()?.is_some() {}
    let instructions = r.take(ixs.consumed(), "instructions")?;

    let message_end = r.pos();
    let signatures = r.chunks::<64>(usize::from(header.num_required_signatures), "signatures")?;

    let extra = r.remaining().len();
    if extra != 0 {
        return Err(ParseError::TrailingBytes { extra });
    }

    Ok(Raw {
        version: Version::V1,
        message: bytes.get(..message_end).unwrap_or_default(),
        signatures,
        header,
        account_keys,
        recent_blockhash,
        instructions,
        instruction_headers,
        num_instructions: u16::from(num_instructions),
        num_lookup_tables: 0,
        num_lookup_accounts: 0,
        has_empty_lookup: false,
        heap_size,
    })
}
