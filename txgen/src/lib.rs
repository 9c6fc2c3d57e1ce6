//! Realistic signed transactions for benchmarks and load tests.
//!
//! Transactions look like a transfer: a fee payer, a program, one instruction
//! whose data is padded to reach the requested message size. Messages up to
//! [`MAX_LEGACY_MESSAGE`] bytes become legacy transactions; larger ones become
//! v1 (SIMD-0385) transactions, up to the 4096-byte v1 limit.

use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Largest message that fits a legacy transaction with one signature
/// (1232 − 1 byte of count − 64 bytes of signature).
pub const MAX_LEGACY_MESSAGE: usize = 1232 - 1 - 64;
/// Largest message that fits a v1 transaction with one signature.
pub const MAX_V1_MESSAGE: usize = 4096 - 64;
/// Smallest message this generator builds (two keys, empty instruction data).
pub const MIN_MESSAGE: usize = LEGACY_FIXED + 1;
/// Bytes of a legacy message before its instruction-data length.
const LEGACY_FIXED: usize = 4 + 64 + 32 + 4;
/// Bytes of a v1 message besides its instruction data.
const V1_FIXED: usize = 8 + 32 + 2 + 64 + 5;

/// Which signing keys the transactions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// A fresh key per transaction (the realistic worst case for verification).
    Distinct,
    /// This many keys, reused round-robin (lets batch verification merge terms).
    Shared(usize),
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct TxSpec {
    /// How many transactions.
    pub count: usize,
    /// Size of the signed message in bytes ([`MIN_MESSAGE`]..=[`MAX_V1_MESSAGE`]).
    pub message_size: usize,
    /// Share of transactions whose signature is made invalid (0.0..=1.0).
    pub invalid_fraction: f64,
    /// Key reuse.
    pub keys: KeyMode,
    /// PRNG seed, so runs are reproducible.
    pub seed: u64,
}

/// One generated transaction.
#[derive(Debug, Clone)]
pub struct GeneratedTx {
    /// Wire bytes, as a client would send them.
    pub bytes: Vec<u8>,
    /// Whether its signature is valid under every rule.
    pub valid: bool,
}

/// Errors in a [`TxSpec`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// The message size is outside what the generator can build.
    #[error("message size {0} out of range {MIN_MESSAGE}..={MAX_V1_MESSAGE}")]
    MessageSize(usize),
    /// The invalid fraction is not within 0..=1.
    #[error("invalid fraction {0} out of range 0..=1")]
    InvalidFraction(f64),
    /// Shared key mode with zero keys.
    #[error("shared key mode needs at least one key")]
    NoKeys,
}

/// Builds `spec.count` signed transactions.
///
/// # Errors
/// When the spec is out of range.
pub fn generate(spec: &TxSpec) -> Result<Vec<GeneratedTx>, SpecError> {
    if !(MIN_MESSAGE..=MAX_V1_MESSAGE).contains(&spec.message_size) {
        return Err(SpecError::MessageSize(spec.message_size));
    }
    if !(0.0..=1.0).contains(&spec.invalid_fraction) {
        return Err(SpecError::InvalidFraction(spec.invalid_fraction));
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let shared: Vec<SigningKey> = match spec.keys {
        KeyMode::Distinct => Vec::new(),
        KeyMode::Shared(0) => return Err(SpecError::NoKeys),
        KeyMode::Shared(n) => (0..n).map(|_| SigningKey::from_bytes(&rng.gen())).collect(),
    };
    // Spread invalid transactions evenly rather than by chance, so a short run
    // sees exactly the requested share.
    let invalid_every = |i: usize| {
        let before = (i as f64 * spec.invalid_fraction).floor();
        let after = ((i + 1) as f64 * spec.invalid_fraction).floor();
        after > before
    };
    let mut out = Vec::with_capacity(spec.count);
    for i in 0..spec.count {
        let key = match spec.keys {
            KeyMode::Distinct => SigningKey::from_bytes(&rng.gen()),
            KeyMode::Shared(_) => shared[i % shared.len()].clone(),
        };
        let valid = !invalid_every(i);
        out.push(build(&key, spec.message_size, valid, &mut rng));
    }
    Ok(out)
}

/// Builds one transaction whose message is exactly `message_size` bytes.
fn build(key: &SigningKey, message_size: usize, valid: bool, rng: &mut StdRng) -> GeneratedTx {
    let payer = key.verifying_key().to_bytes();
    let program: [u8; 32] = rng.gen();
    let blockhash: [u8; 32] = rng.gen();
    let legacy = message_size <= MAX_LEGACY_MESSAGE;
    let mut message = Vec::with_capacity(message_size);
    if legacy {
        // Header (1 signer, 1 read-only unsigned: the program), 2 keys,
        // blockhash, 1 instruction: program 1, accounts [0] (or [0, 0] when one
        // more byte is needed than a compact-u16 length can absorb), data.
        let room = message_size - LEGACY_FIXED;
        let (accounts, data_len): (&[u8], usize) = match room {
            0..=128 => (&[0], room.saturating_sub(1)),
            129 => (&[0, 0], 127),
            _ => (&[0], room - 2),
        };
        message.extend_from_slice(&[1, 0, 1, 2]);
        message.extend_from_slice(&payer);
        message.extend_from_slice(&program);
        message.extend_from_slice(&blockhash);
        message.extend_from_slice(&[1, 1, accounts.len() as u8]);
        message.extend_from_slice(accounts);
        push_compact_u16(&mut message, data_len);
    } else {
        // v1: version, header, empty config mask, lifetime, counts, keys, one
        // instruction header and its payload (account 0, then data).
        let data_len = message_size - V1_FIXED;
        let [lo, hi] = (data_len as u16).to_le_bytes();
        message.extend_from_slice(&[0x81, 1, 0, 1, 0, 0, 0, 0]);
        message.extend_from_slice(&blockhash);
        message.extend_from_slice(&[1, 2]);
        message.extend_from_slice(&payer);
        message.extend_from_slice(&program);
        message.extend_from_slice(&[1, 1, lo, hi, 0]);
    }
    message.resize(message_size, 0);
    let signature = key.sign(&message).to_bytes();
    if !valid {
        // Change a signed byte after signing: well-formed, fails the equation.
        let at = if legacy { 4 + 64 } else { 8 };
        message[at] ^= 0x01;
    }
    let mut bytes = Vec::with_capacity(message.len() + 65);
    if legacy {
        bytes.push(1);
        bytes.extend_from_slice(&signature);
        bytes.extend_from_slice(&message);
    } else {
        bytes.extend_from_slice(&message);
        bytes.extend_from_slice(&signature);
    }
    GeneratedTx { bytes, valid }
}

/// Appends `value` in Solana's compact-u16 (shortvec) encoding: seven bits a
/// byte, low first, the high bit set on every byte but the last.
pub fn push_compact_u16(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use rampart_sigverify::{
        backend::{verify_transactions, CpuBackend, TxVerdict},
        txn::{Transaction, Version},
        Rule,
    };

    use super::*;

    #[test]
    fn generated_transactions_parse_and_verify_as_labelled() {
        for message_size in [
            MIN_MESSAGE,
            128,
            200,
            233,
            234,
            235,
            1000,
            MAX_LEGACY_MESSAGE,
            1232,
            MAX_V1_MESSAGE,
        ] {
            let spec = TxSpec {
                count: 8,
                message_size,
                invalid_fraction: 0.25,
                keys: KeyMode::Shared(3),
                seed: message_size as u64,
            };
            let txs = generate(&spec).unwrap();
            assert_eq!(txs.iter().filter(|tx| !tx.valid).count(), 2);
            let parsed: Vec<Transaction<'_>> = txs
                .iter()
                .map(|tx| Transaction::parse(&tx.bytes).unwrap())
                .collect();
            for tx in &parsed {
                assert_eq!(tx.message().len(), message_size, "size {message_size}");
                let expected = if message_size <= MAX_LEGACY_MESSAGE {
                    Version::Legacy
                } else {
                    Version::V1
                };
                assert_eq!(tx.version(), expected);
            }
            for rule in Rule::ALL {
                let mut verdicts = Vec::new();
                verify_transactions(&mut CpuBackend::default(), rule, &parsed, &mut verdicts);
                for (tx, verdict) in txs.iter().zip(&verdicts) {
                    assert_eq!(
                        tx.valid,
                        *verdict == TxVerdict::Valid,
                        "{rule} size {message_size}"
                    );
                }
            }
        }
    }

    #[test]
    fn out_of_range_specs_are_refused() {
        let spec = TxSpec {
            count: 1,
            message_size: MIN_MESSAGE - 1,
            invalid_fraction: 0.0,
            keys: KeyMode::Distinct,
            seed: 0,
        };
        assert_eq!(
            generate(&spec).unwrap_err(),
            SpecError::MessageSize(MIN_MESSAGE - 1)
        );
    }
}
