//! Legacy and v0 wire format.
//!
//! ```text
//! compact-u16 num_signatures, [u8; 64] x num_signatures,
//! message:
//!   [0x80]                  (v0 only: version prefix, version 0)
//!   header                  (3 x u8)
//!   compact-u16 n, [u8; 32] x n             static account keys
//!   [u8; 32]                                recent blockhash
//!   compact-u16 n, instruction x n          (u8 program, compact bytes accounts, compact bytes data)
//!   compact-u16 n, lookup x n               (v0 only: [u8; 32] table, compact bytes writable, compact bytes readonly)
//! ```

use super::instructions::Instructions;
use super::reader::Reader;
use super::{MessageHeader, ParseError, Raw, Version, MESSAGE_VERSION_PREFIX};

/// Decodes a legacy or v0 transaction. The caller has checked that the first
/// byte has its top bit clear and that the size is within the legacy limit.
pub(super) fn parse(bytes: &[u8]) -> Result<Raw<'_>, ParseError> {
    let mut r = Reader::new(bytes, 0);

    // The caller routes a first byte >= 0x80 to v1, so in practice this is a
    // single byte; decode it as the general compact-u16 all the same.
    let num_signatures = r.compact_u16("signature count")?;
    let signatures = r.chunks::<64>(usize::from(num_signatures), "signatures")?;

    let message_start = r.pos();
    let first = r.u8("message header")?;
    let (version, num_required_signatures) = if first & MESSAGE_VERSION_PREFIX == 0 {
        (Version::Legacy, first)
    } else {
        match first & !MESSAGE_VERSION_PREFIX {
            0 => (Version::V0, r.u8("message header")?),
            1 => return Err(ParseError::V1MessageInLegacyFrame),
            _ => return Err(ParseError::UnknownVersion(first)),
        }
    };
    let header = MessageHeader {
        num_required_signatures,
        num_readonly_signed_accounts: r.u8("message header")?,
        num_readonly_unsigned_accounts: r.u8("message header")?,
    };

    let num_keys = r.compact_u16("account key count")?;
    let account_keys = r.chunks::<32>(usize::from(num_keys), "account keys")?;
    let recent_blockhash = r.array::<32>("recent blockhash")?;

    let num_instructions = r.compact_u16("instruction count")?;
    let mut ixs = Instructions::compact(r.remaining(), num_instructions);
    while ixs.try_next()?.is_some() {}
    let instructions = r.take(ixs.consumed(), "instructions")?;

    let mut num_lookup_tables = 0;
    let mut num_lookup_accounts = 0usize;
    let mut has_empty_lookup = false;
    if version == Version::V0 {
        num_lookup_tables = r.compact_u16("address table lookup count")?;
        for _ in 0..num_lookup_tables {
            r.array::<32>("address table key")?;
            let writable = r.compact_bytes("writable lookup indexes")?;
            let readonly = r.compact_bytes("readonly lookup indexes")?;
            let loaded = writable.len().saturating_add(readonly.len());
            has_empty_lookup |= loaded == 0;
            num_lookup_accounts = num_lookup_accounts.saturating_add(loaded);
        }
    }

    let extra = r.remaining().len();
    if extra != 0 {
        return Err(ParseError::TrailingBytes { extra });
    }

    Ok(Raw {
        version,
        message: bytes.get(message_start..).unwrap_or_default(),
        signatures,
        header,
        account_keys,
        recent_blockhash,
        instructions,
        instruction_headers: &[],
        num_instructions,
        num_lookup_tables,
        num_lookup_accounts,
        has_empty_lookup,
        heap_size: None,
    })
}
