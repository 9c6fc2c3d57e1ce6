//! Differential tests of `rampart_sigverify::txn` against the Solana crates.
//!
//! The oracle is `solana-message`/`solana-transaction` 5.1: transactions are
//! built and signed with them, serialized (bincode for legacy/v0, the wire
//! layout `message ++ signatures` for v1), and parsed back with our zero-copy
//! parser. For malformed inputs the oracle is the crates' deserializer
//! (bincode/serde for legacy/v0, `v1::deserialize` for v1) followed by
//! `VersionedTransaction::sanitize`, an exact-length check (no trailing bytes)
//! and the format's size limit.
//!
//! Deliberate difference: we reject more than 64 instructions in legacy/v0
//! (SIMD-0160, enforced by Agave's transaction view); `sanitize` does not.
//!
//! A counting global allocator (the only `unsafe` here, delegating to
//! `System`) checks that parsing never allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeSet;

use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use rampart_sigverify::txn::{
    decode_compact_u16, ParseError, Transaction, Version, MAX_LEGACY_SIZE, MAX_V1_SIZE,
    VOTE_PROGRAM_ID,
};
use solana_keypair::Keypair;
use solana_message::{
    v0, v1, AccountMeta, Address, AddressLookupTableAccount, Hash, Instruction,
    Message as LegacyMessage, VersionedMessage,
};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::{
    simple_vote_transaction_checker::is_simple_vote_transaction_impl,
    versioned::VersionedTransaction,
};

// ---------------------------------------------------------------------------
// Allocation counting (per thread, so parallel tests do not interfere).
// ---------------------------------------------------------------------------

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct CountingAllocator;

fn count_allocation() {
    // `try_with`: the slot may be gone while a thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

// ---------------------------------------------------------------------------
// Oracle side: building, signing, serializing, deserializing.
// ---------------------------------------------------------------------------

fn keypair(seed: u8) -> Keypair {
    Keypair::new_from_array([seed; 32])
}

fn address(seed: u8) -> Address {
    let mut bytes = [0xA5; 32];
    bytes[0] = seed;
    Address::new_from_array(bytes)
}

fn blockhash(seed: u8) -> Hash {
    Hash::new_from_array([seed; 32])
}

/// Signs `message` with the keypairs matching its signer keys, in order.
fn sign(message: VersionedMessage, signers: &[&Keypair]) -> VersionedTransaction {
    let bytes = message.serialize();
    let n = usize::from(message.header().num_required_signatures);
    let signatures = message.static_account_keys()[..n]
        .iter()
        .map(|key| {
            signers
                .iter()
                .find(|kp| kp.pubkey() == *key)
                .expect("no keypair for signer key")
                .sign_message(&bytes)
        })
        .collect();
    VersionedTransaction {
        signatures,
        message,
    }
}

/// Wire bytes of a transaction, as Agave receives them.
fn wire(tx: &VersionedTransaction) -> Vec<u8> {
    match &tx.message {
        VersionedMessage::V1(_) => {
            // SIMD-0385: message (with its 0x81 prefix), then the signatures
            // with no count; this is what the wincode `SchemaWrite` produces.
            let mut out = tx.message.serialize();
            for sig in &tx.signatures {
                out.extend_from_slice(sig.as_ref());
            }
            out
        }
        VersionedMessage::Legacy(_) | VersionedMessage::V0(_) => {
            let out = bincode::serialize(tx).unwrap();
            // Cross-check the bincode framing: count, signatures, message.
            let mut manual = vec![u8::try_from(tx.signatures.len()).unwrap()];
            for sig in &tx.signatures {
                manual.extend_from_slice(sig.as_ref());
            }
            manual.extend_from_slice(&tx.message.serialize());
            assert_eq!(
                out, manual,
                "bincode framing differs from short_vec ++ message"
            );
            out
        }
    }
}

/// The oracle's verdict: `Some(tx)` if Agave's deserializer + sanitize would
/// accept `bytes` as one whole transaction within its size limit.
fn oracle_decode(bytes: &[u8]) -> Option<VersionedTransaction> {
    let first = *bytes.first()?;
    let tx = if first & 0x80 == 0 {
        if bytes.len() > MAX_LEGACY_SIZE {
            return None;
        }
        let tx: VersionedTransaction = bincode::deserialize(bytes).ok()?;
        // Agave's framing routes a v1 message to the 0x81 first-byte path
        // only; serde would decode a (non-wire) v1 layout here.
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
        let message = v1::deserialize(&bytes[1..]).ok()?;
        let message_len = 1 + message.size();
        let num_signatures = usize::from(message.header.num_required_signatures);
        if bytes.len() != message_len + num_signatures * 64 {
            return None;
        }
        let signatures = bytes[message_len..]
            .chunks_exact(64)
            .map(|c| Signature::from(<[u8; 64]>::try_from(c).unwrap()))
            .collect();
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

fn oracle_is_simple_vote(tx: &VersionedTransaction) -> bool {
    let keys = tx.message.static_account_keys();
    is_simple_vote_transaction_impl(
        &tx.signatures,
        matches!(tx.message, VersionedMessage::Legacy(_)),
        tx.message
            .instructions()
            .iter()
            .map(|ix| &keys[usize::from(ix.program_id_index)]),
    )
}

/// Asserts that our view of `bytes` equals the oracle's decoded `tx`, and when
/// `verify` is set that every signature verifies over `message()`.
fn assert_matches_oracle(parsed: &Transaction<'_>, tx: &VersionedTransaction, verify: bool) {
    let version = match tx.message {
        VersionedMessage::Legacy(_) => Version::Legacy,
        VersionedMessage::V0(_) => Version::V0,
        VersionedMessage::V1(_) => Version::V1,
    };
    assert_eq!(parsed.version(), version);

    let sigs: Vec<[u8; 64]> = tx.signatures.iter().map(|s| *s.as_array()).collect();
    assert_eq!(parsed.signatures(), &sigs[..]);
    assert_eq!(parsed.first_signature(), &sigs[0]);

    let keys: Vec<[u8; 32]> = tx
        .message
        .static_account_keys()
        .iter()
        .map(|k| k.to_bytes())
        .collect();
    assert_eq!(parsed.account_keys(), &keys[..]);
    let n = usize::from(tx.message.header().num_required_signatures);
    assert_eq!(parsed.signer_keys(), &keys[..n]);
    assert_eq!(parsed.signer_keys().len(), parsed.signatures().len());

    assert_eq!(parsed.message(), &tx.message.serialize()[..]);
    let header = tx.message.header();
    let ours = parsed.header();
    assert_eq!(ours.num_required_signatures, header.num_required_signatures);
    assert_eq!(
        ours.num_readonly_signed_accounts,
        header.num_readonly_signed_accounts
    );
    assert_eq!(
        ours.num_readonly_unsigned_accounts,
        header.num_readonly_unsigned_accounts
    );
    assert_eq!(
        parsed.recent_blockhash(),
        &tx.message.recent_blockhash().to_bytes()
    );

    let ixs = tx.message.instructions();
    assert_eq!(parsed.num_instructions(), ixs.len());
    assert_eq!(parsed.instructions().count(), ixs.len());
    for (ours, theirs) in parsed.instructions().zip(ixs) {
        assert_eq!(ours.program_id_index, theirs.program_id_index);
        assert_eq!(ours.accounts, &theirs.accounts[..]);
        assert_eq!(ours.data, &theirs.data[..]);
    }

    let lookups = tx.message.address_table_lookups().unwrap_or(&[]);
    assert_eq!(parsed.num_address_table_lookups(), lookups.len());
    let lookup_accounts: usize = lookups
        .iter()
        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
        .sum();
    assert_eq!(parsed.num_lookup_accounts(), lookup_accounts);

    assert_eq!(parsed.is_simple_vote(), oracle_is_simple_vote(tx));

    if verify {
        for (sig, key) in parsed.signatures().iter().zip(parsed.signer_keys()) {
            let vk = VerifyingKey::from_bytes(key).expect("signer key is a valid point");
            vk.verify_strict(parsed.message(), &DalekSignature::from_bytes(sig))
                .expect("signature verifies over message()");
        }
    }
}

/// Serializes a signed oracle transaction, parses it and checks everything.
fn roundtrip(tx: &VersionedTransaction) -> Vec<u8> {
    let bytes = wire(tx);
    let parsed = Transaction::parse(&bytes)
        .unwrap_or_else(|e| panic!("valid {:?} tx rejected: {e}", tx.version()));
    assert_eq!(parsed.bytes(), &bytes[..]);
    assert_matches_oracle(&parsed, tx, true);
    assert!(oracle_decode(&bytes).is_some(), "oracle rejects its own tx");
    bytes
}

fn transfer_like(program: Address, from: Address, to: Address, data: &[u8]) -> Instruction {
    Instruction::new_with_bytes(
        program,
        data,
        vec![AccountMeta::new(from, true), AccountMeta::new(to, false)],
    )
}

fn legacy_tx(signers: &[&Keypair], ixs: &[Instruction], hash: u8) -> VersionedTransaction {
    let payer = signers[0].pubkey();
    let msg = LegacyMessage::new_with_blockhash(ixs, Some(&payer), &blockhash(hash));
    sign(VersionedMessage::Legacy(msg), signers)
}

fn v0_tx(
    signers: &[&Keypair],
    ixs: &[Instruction],
    tables: &[AddressLookupTableAccount],
) -> VersionedTransaction {
    let payer = signers[0].pubkey();
    let msg = v0::Message::try_compile(&payer, ixs, tables, blockhash(7)).unwrap();
    sign(VersionedMessage::V0(msg), signers)
}

fn v1_tx(
    signers: &[&Keypair],
    ixs: &[Instruction],
    config: v1::TransactionConfig,
) -> VersionedTransaction {
    let payer = signers[0].pubkey();
    let msg = v1::Message::try_compile_with_config(&payer, ixs, blockhash(9), config).unwrap();
    sign(VersionedMessage::V1(msg), signers)
}

/// A mix of instructions: several programs, signer and readonly accounts;
/// the first carries `data_len` bytes of data.
fn mixed_instructions(signers: &[&Keypair], data_len: usize) -> Vec<Instruction> {
    let mut ixs = Vec::new();
    for (i, kp) in signers.iter().enumerate() {
        let i = u8::try_from(i).unwrap();
        ixs.push(Instruction::new_with_bytes(
            address(100 + i % 3),
            &vec![i; if i == 0 { data_len } else { 2 }],
            vec![
                AccountMeta::new(kp.pubkey(), true),
                AccountMeta::new(address(50 + i), false),
                AccountMeta::new_readonly(address(80), false),
            ],
        ));
    }
    if let Some(last) = signers.last() {
        // a readonly signer when there is more than one signer
        if signers.len() > 1 {
            ixs.push(Instruction::new_with_bytes(
                address(103),
                &[1, 2, 3],
                vec![AccountMeta::new_readonly(last.pubkey(), true)],
            ));
        }
    }
    ixs
}

/// Finds a `data_len` for which `build` yields exactly `target` bytes.
fn fit(target: usize, build: impl Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let base = build(0).len();
    let guess = target.checked_sub(base).expect("base already too big");
    for len in guess.saturating_sub(4)..=guess + 4 {
        let bytes = build(len);
        if bytes.len() == target {
            return bytes;
        }
    }
    panic!("no data length gives {target} bytes");
}

fn keypairs(n: u8) -> Vec<Keypair> {
    (1..=n).map(keypair).collect()
}

// ---------------------------------------------------------------------------
// Positive cases built by the oracle.
// ---------------------------------------------------------------------------

#[test]
fn legacy_transactions_match_oracle() {
    for n in 1..=5u8 {
        let kps = keypairs(n);
        let signers: Vec<&Keypair> = kps.iter().collect();
        let tx = legacy_tx(&signers, &mixed_instructions(&signers, 10), n);
        let bytes = roundtrip(&tx);
        assert_eq!(bytes[0], n);
        assert_eq!(
            Transaction::parse(&bytes).unwrap().version(),
            Version::Legacy
        );
    }
    // single signer, single instruction, no data
    let kp = keypair(42);
    let tx = legacy_tx(
        &[&kp],
        &[transfer_like(address(1), kp.pubkey(), address(2), &[])],
        1,
    );
    roundtrip(&tx);
    // no instructions at all
    let tx = legacy_tx(&[&kp], &[], 2);
    let bytes = roundtrip(&tx);
    assert_eq!(Transaction::parse(&bytes).unwrap().num_instructions(), 0);
}

#[test]
fn v0_transactions_match_oracle() {
    let kps = keypairs(3);
    let signers: Vec<&Keypair> = kps.iter().collect();
    let ixs = mixed_instructions(&signers, 20);

    // without lookup tables
    let tx = v0_tx(&signers[..1], &mixed_instructions(&signers[..1], 5), &[]);
    let bytes = roundtrip(&tx);
    assert_eq!(bytes[1 + 64], 0x80);

    // with lookup tables covering some of the non-signer accounts
    let tables = [
        AddressLookupTableAccount {
            key: address(200),
            addresses: vec![address(50), address(51), address(9)],
        },
        AddressLookupTableAccount {
            key: address(201),
            addresses: vec![address(80), address(52)],
        },
    ];
    let tx = v0_tx(&signers, &ixs, &tables);
    let lookups = tx.message.address_table_lookups().unwrap();
    assert_eq!(lookups.len(), 2, "both tables used");
    let bytes = roundtrip(&tx);
    let parsed = Transaction::parse(&bytes).unwrap();
    assert_eq!(parsed.version(), Version::V0);
    assert!(parsed.num_lookup_accounts() >= 3);
    // some instruction account index points into the lookup range
    let static_keys = parsed.account_keys().len();
    assert!(parsed
        .instructions()
        .any(|ix| ix.accounts.iter().any(|&a| usize::from(a) >= static_keys)));
}

#[test]
fn v1_transactions_match_oracle() {
    use v1::TransactionConfig as C;
    let configs = [
        C::empty(),
        C::empty().with_priority_fee(12_345),
        C::empty().with_compute_unit_limit(200_000),
        C::empty().with_loaded_accounts_data_size_limit(64 * 1024),
        C::empty().with_heap_size(64 * 1024),
        C::empty()
            .with_priority_fee(u64::MAX)
            .with_compute_unit_limit(1_400_000)
            .with_loaded_accounts_data_size_limit(1 << 20)
            .with_heap_size(256 * 1024),
        C::empty()
            .with_compute_unit_limit(1)
            .with_heap_size(32 * 1024),
    ];
    for (i, config) in configs.into_iter().enumerate() {
        let n = u8::try_from(i % 4 + 1).unwrap();
        let kps = keypairs(n);
        let signers: Vec<&Keypair> = kps.iter().collect();
        let tx = v1_tx(&signers, &mixed_instructions(&signers, 3 * i), config);
        let bytes = roundtrip(&tx);
        assert_eq!(bytes[0], 0x81);
        let parsed = Transaction::parse(&bytes).unwrap();
        assert_eq!(parsed.version(), Version::V1);
        assert_eq!(parsed.message().len() + 64 * usize::from(n), bytes.len());
    }

    // 12 signers is the v1 maximum
    let kps = keypairs(12);
    let signers: Vec<&Keypair> = kps.iter().collect();
    roundtrip(&v1_tx(
        &signers,
        &mixed_instructions(&signers, 1),
        C::empty(),
    ));
}

#[test]
fn max_size_transactions() {
    let kps = keypairs(2);
    let signers: Vec<&Keypair> = kps.iter().collect();
    let build_legacy =
        |len: usize| wire(&legacy_tx(&signers, &mixed_instructions(&signers, len), 3));
    let build_v0 = |len: usize| {
        let tables = [AddressLookupTableAccount {
            key: address(200),
            addresses: vec![address(50), address(51)],
        }];
        wire(&v0_tx(
            &signers,
            &mixed_instructions(&signers, len),
            &tables,
        ))
    };
    let build_v1 = |len: usize| {
        let config = v1::TransactionConfig::empty().with_compute_unit_limit(5);
        wire(&v1_tx(&signers, &mixed_instructions(&signers, len), config))
    };

    // legacy and v0: 1232 accepted, 1233 rejected
    for build in [&build_legacy as &dyn Fn(usize) -> Vec<u8>, &build_v0] {
        let max = fit(MAX_LEGACY_SIZE, build);
        let tx = oracle_decode(&max).expect("oracle accepts max-size tx");
        assert_matches_oracle(&Transaction::parse(&max).unwrap(), &tx, true);
        let over = fit(MAX_LEGACY_SIZE + 1, build);
        assert_eq!(
            Transaction::parse(&over),
            Err(ParseError::TooLarge {
                len: 1233,
                max: 1232
            })
        );
    }

    // v1: 4096 accepted, 4097 rejected
    let max = fit(MAX_V1_SIZE, build_v1);
    let tx = oracle_decode(&max).expect("oracle accepts 4096-byte v1 tx");
    assert_matches_oracle(&Transaction::parse(&max).unwrap(), &tx, true);
    let over = fit(MAX_V1_SIZE + 1, build_v1);
    assert_eq!(
        Transaction::parse(&over),
        Err(ParseError::TooLarge {
            len: 4097,
            max: 4096
        })
    );
    assert!(oracle_decode(&over).is_none());
}

// ---------------------------------------------------------------------------
// Simple vote classification.
// ---------------------------------------------------------------------------

#[test]
fn vote_program_id_constant() {
    let parsed: Address = "Vote111111111111111111111111111111111111111"
        .parse()
        .unwrap();
    assert_eq!(parsed.to_bytes(), VOTE_PROGRAM_ID);
}

#[test]
fn simple_vote_classifier() {
    let vote = Address::new_from_array(VOTE_PROGRAM_ID);
    let node = keypair(1);
    let authority = keypair(2);
    let third = keypair(3);
    let vote_ix = |signer: &Keypair| {
        Instruction::new_with_bytes(
            vote,
            &[2, 0, 0, 0, 1],
            vec![
                AccountMeta::new(address(60), false),
                AccountMeta::new_readonly(signer.pubkey(), true),
            ],
        )
    };
    let other_ix =
        |signer: &Keypair| transfer_like(address(61), signer.pubkey(), address(62), &[1]);

    let cases: Vec<(&str, VersionedTransaction, bool)> = vec![
        ("1 signer", legacy_tx(&[&node], &[vote_ix(&node)], 1), true),
        (
            "2 signers",
            legacy_tx(&[&node, &authority], &[vote_ix(&authority)], 1),
            true,
        ),
        (
            "3 signers",
            legacy_tx(
                &[&node, &authority, &third],
                &[Instruction::new_with_bytes(
                    vote,
                    &[2],
                    vec![
                        AccountMeta::new(address(60), false),
                        AccountMeta::new_readonly(authority.pubkey(), true),
                        AccountMeta::new_readonly(third.pubkey(), true),
                    ],
                )],
                1,
            ),
            false,
        ),
        (
            "two vote instructions",
            legacy_tx(&[&node], &[vote_ix(&node), vote_ix(&node)], 1),
            false,
        ),
        (
            "vote plus other",
            legacy_tx(&[&node], &[vote_ix(&node), other_ix(&node)], 1),
            false,
        ),
        (
            "not vote",
            legacy_tx(&[&node], &[other_ix(&node)], 1),
            false,
        ),
        ("no instructions", legacy_tx(&[&node], &[], 1), false),
        ("v0 vote", v0_tx(&[&node], &[vote_ix(&node)], &[]), false),
        (
            "v1 vote",
            v1_tx(&[&node], &[vote_ix(&node)], v1::TransactionConfig::empty()),
            false,
        ),
    ];
    for (name, tx, expected) in cases {
        assert_eq!(oracle_is_simple_vote(&tx), expected, "oracle: {name}");
        let bytes = roundtrip(&tx);
        assert_eq!(
            Transaction::parse(&bytes).unwrap().is_simple_vote(),
            expected,
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// Hand-built wire bytes, to reach every error variant.
// ---------------------------------------------------------------------------

fn cu16(mut value: usize, out: &mut Vec<u8>) {
    assert!(value <= 0xffff);
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

fn key(i: u8) -> [u8; 32] {
    let mut k = [0x33; 32];
    k[0] = i;
    k
}

#[derive(Clone)]
struct RawIx {
    program: u8,
    accounts: Vec<u8>,
    data: Vec<u8>,
}

fn ix(program: u8, accounts: &[u8], data: &[u8]) -> RawIx {
    RawIx {
        program,
        accounts: accounts.to_vec(),
        data: data.to_vec(),
    }
}

/// A legacy or v0 transaction with arbitrary (possibly inconsistent) fields.
#[derive(Clone)]
struct RawLegacy {
    num_signatures: usize,
    v0: bool,
    header: [u8; 3],
    keys: Vec<[u8; 32]>,
    ixs: Vec<RawIx>,
    lookups: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RawLegacy {
    /// Passes every check: payer, one other account, a readonly program.
    fn valid() -> Self {
        Self {
            num_signatures: 1,
            v0: false,
            header: [1, 0, 1],
            keys: vec![key(1), key(2), key(3)],
            ixs: vec![ix(2, &[0, 1], &[7, 7])],
            lookups: vec![],
        }
    }

    fn valid_v0() -> Self {
        Self {
            v0: true,
            lookups: vec![(vec![4], vec![0, 1])],
            ixs: vec![ix(2, &[0, 1, 3, 5], &[7])],
            ..Self::valid()
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        cu16(self.num_signatures, &mut out);
        for i in 0..self.num_signatures {
            out.extend_from_slice(&[0x5a ^ i as u8; 64]);
        }
        if self.v0 {
            out.push(0x80);
        }
        out.extend_from_slice(&self.header);
        cu16(self.keys.len(), &mut out);
        for k in &self.keys {
            out.extend_from_slice(k);
        }
        out.extend_from_slice(&[0xbb; 32]);
        cu16(self.ixs.len(), &mut out);
        for ix in &self.ixs {
            out.push(ix.program);
            cu16(ix.accounts.len(), &mut out);
            out.extend_from_slice(&ix.accounts);
            cu16(ix.data.len(), &mut out);
            out.extend_from_slice(&ix.data);
        }
        if self.v0 {
            cu16(self.lookups.len(), &mut out);
            for (i, (w, r)) in self.lookups.iter().enumerate() {
                out.extend_from_slice(&key(200 + i as u8));
                cu16(w.len(), &mut out);
                out.extend_from_slice(w);
                cu16(r.len(), &mut out);
                out.extend_from_slice(r);
            }
        }
        out
    }
}

/// A v1 transaction with arbitrary fields; `config` is the raw config values.
#[derive(Clone)]
struct RawV1 {
    header: [u8; 3],
    mask: u32,
    config: Vec<u8>,
    keys: Vec<[u8; 32]>,
    ixs: Vec<RawIx>,
    num_signatures: usize,
}

impl RawV1 {
    fn valid() -> Self {
        Self {
            header: [1, 0, 1],
            mask: 0b100,
            config: 200_000u32.to_le_bytes().to_vec(),
            keys: vec![key(1), key(2), key(3)],
            ixs: vec![ix(2, &[0, 1], &[7, 7])],
            num_signatures: 1,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![0x81];
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.mask.to_le_bytes());
        out.extend_from_slice(&[0xbb; 32]);
        out.push(u8::try_from(self.ixs.len()).unwrap());
        out.push(u8::try_from(self.keys.len()).unwrap());
        for k in &self.keys {
            out.extend_from_slice(k);
        }
        out.extend_from_slice(&self.config);
        for ix in &self.ixs {
            out.push(ix.program);
            out.push(u8::try_from(ix.accounts.len()).unwrap());
            out.extend_from_slice(&u16::try_from(ix.data.len()).unwrap().to_le_bytes());
        }
        for ix in &self.ixs {
            out.extend_from_slice(&ix.accounts);
            out.extend_from_slice(&ix.data);
        }
        for i in 0..self.num_signatures {
            out.extend_from_slice(&[0xa5 ^ i as u8; 64]);
        }
        out
    }
}

/// Replaces `remove` bytes at `at` with `insert`.
fn splice(bytes: &[u8], at: usize, remove: usize, insert: &[u8]) -> Vec<u8> {
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(insert);
    out.extend_from_slice(&bytes[at + remove..]);
    out
}

/// Offset of the account key count in a `RawLegacy` legacy encoding with one
/// signature.
const LEGACY_KEY_COUNT_AT: usize = 1 + 64 + 3;

#[test]
fn raw_builders_are_valid() {
    for bytes in [
        RawLegacy::valid().encode(),
        RawLegacy::valid_v0().encode(),
        RawV1::valid().encode(),
    ] {
        let tx = oracle_decode(&bytes).expect("oracle accepts the raw baseline");
        assert_matches_oracle(&Transaction::parse(&bytes).unwrap(), &tx, false);
    }
}

#[test]
fn every_error_variant_is_reachable() {
    use ParseError as E;
    let legacy = RawLegacy::valid();
    let legacy_v0 = RawLegacy::valid_v0();
    let v1 = RawV1::valid();
    let lb = legacy.encode();

    // (name, input, expected error, whether the oracle also rejects)
    let mut cases: Vec<(&str, Vec<u8>, ParseError, bool)> = Vec::new();
    let mut case =
        |name, bytes, err, oracle_rejects| cases.push((name, bytes, err, oracle_rejects));

    case(
        "empty input",
        vec![],
        E::Truncated {
            what: "signature count or version",
        },
        true,
    );
    case(
        "legacy cut inside signatures",
        lb[..40].to_vec(),
        E::Truncated { what: "signatures" },
        true,
    );
    case(
        "legacy cut inside account keys",
        lb[..LEGACY_KEY_COUNT_AT + 10].to_vec(),
        E::Truncated {
            what: "account keys",
        },
        true,
    );
    case(
        "v1 missing signature",
        v1.encode()[..v1.encode().len() - 1].to_vec(),
        E::Truncated { what: "signatures" },
        true,
    );
    case(
        "legacy 1233 bytes",
        fit(MAX_LEGACY_SIZE + 1, |n| {
            RawLegacy {
                ixs: vec![ix(2, &[0], &vec![1; n])],
                ..legacy.clone()
            }
            .encode()
        }),
        E::TooLarge {
            len: 1233,
            max: 1232,
        },
        true,
    );
    case(
        "v1 4097 bytes",
        fit(MAX_V1_SIZE + 1, |n| {
            RawV1 {
                ixs: vec![ix(2, &[0], &vec![1; n])],
                ..v1.clone()
            }
            .encode()
        }),
        E::TooLarge {
            len: 4097,
            max: 4096,
        },
        true,
    );
    case(
        "trailing byte",
        [lb.clone(), vec![0]].concat(),
        E::TrailingBytes { extra: 1 },
        true,
    );
    case(
        "v1 trailing bytes",
        [v1.encode(), vec![0; 3]].concat(),
        E::TrailingBytes { extra: 3 },
        true,
    );
    case(
        "compact-u16 alias",
        splice(&lb, LEGACY_KEY_COUNT_AT, 1, &[0x83, 0x00]),
        E::BadCompactU16 {
            what: "account key count",
        },
        true,
    );
    case(
        "compact-u16 overflow",
        splice(&lb, LEGACY_KEY_COUNT_AT, 1, &[0xff, 0xff, 0x04]),
        E::BadCompactU16 {
            what: "account key count",
        },
        true,
    );
    case(
        "compact-u16 third byte continues",
        splice(&lb, LEGACY_KEY_COUNT_AT, 1, &[0x80, 0x80, 0x81]),
        E::BadCompactU16 {
            what: "account key count",
        },
        true,
    );
    case(
        "unknown first byte",
        splice(&v1.encode(), 0, 1, &[0x82]),
        E::UnknownVersion(0x82),
        true,
    );
    case(
        "unknown message version",
        splice(&lb, 65, 0, &[0x82]),
        E::UnknownVersion(0x82),
        true,
    );
    case(
        "off-chain message prefix",
        splice(&lb, 65, 0, &[0xff]),
        E::UnknownVersion(0xff),
        true,
    );
    case(
        "v1 message behind a signature count",
        splice(&lb, 65, 0, &[0x81]),
        E::V1MessageInLegacyFrame,
        true,
    );
    for mask in [0b01, 0b10, 0b10_0000, 0x8000_0000] {
        case(
            "bad config mask",
            RawV1 {
                mask,
                config: vec![],
                ..v1.clone()
            }
            .encode(),
            E::InvalidConfigMask(mask),
            true,
        );
    }
    for heap in [1000u32, 16 * 1024, 512 * 1024, 33 * 1024 + 1] {
        case(
            "bad heap size",
            RawV1 {
                mask: 0b1_0000,
                config: heap.to_le_bytes().to_vec(),
                ..v1.clone()
            }
            .encode(),
            E::InvalidHeapSize(heap),
            true,
        );
    }
    case(
        "zero signatures",
        RawLegacy {
            num_signatures: 0,
            header: [0, 0, 1],
            ..legacy.clone()
        }
        .encode(),
        E::NoSignatures,
        true,
    );
    case(
        "zero signatures, one required",
        RawLegacy {
            num_signatures: 0,
            ..legacy.clone()
        }
        .encode(),
        E::NoSignatures,
        true,
    );
    case(
        "v1 zero signers",
        RawV1 {
            header: [0, 0, 1],
            num_signatures: 0,
            ..v1.clone()
        }
        .encode(),
        E::NoSignatures,
        true,
    );
    case(
        "one signature, two required",
        RawLegacy {
            header: [2, 0, 1],
            ..legacy.clone()
        }
        .encode(),
        E::SignatureCountMismatch {
            signatures: 1,
            required: 2,
        },
        true,
    );
    case(
        "two signatures, one required",
        RawLegacy {
            num_signatures: 2,
            ..legacy.clone()
        }
        .encode(),
        E::SignatureCountMismatch {
            signatures: 2,
            required: 1,
        },
        true,
    );
    case(
        "v1 13 signers",
        RawV1 {
            header: [13, 0, 0],
            keys: (1..=14).map(key).collect(),
            ixs: vec![ix(13, &[0], &[])],
            num_signatures: 13,
            ..v1.clone()
        }
        .encode(),
        E::TooManySignatures { count: 13, max: 12 },
        true,
    );
    case(
        "more signatures than keys",
        RawLegacy {
            num_signatures: 2,
            header: [2, 0, 0],
            keys: vec![key(1)],
            ixs: vec![],
            ..legacy.clone()
        }
        .encode(),
        E::NotEnoughAccountKeys {
            signatures: 2,
            keys: 1,
        },
        true,
    );
    case(
        "readonly unsigned overlaps signers",
        RawLegacy {
            header: [1, 0, 3],
            ..legacy.clone()
        }
        .encode(),
        E::ReadonlyOverlapsSigners,
        true,
    );
    case(
        "readonly fee payer",
        RawLegacy {
            header: [1, 1, 1],
            ..legacy.clone()
        }
        .encode(),
        E::FeePayerNotWritable,
        true,
    );
    case(
        "v1 readonly fee payer",
        RawV1 {
            header: [1, 1, 1],
            ..v1.clone()
        }
        .encode(),
        E::FeePayerNotWritable,
        true,
    );
    case(
        "v1 65 addresses",
        RawV1 {
            keys: (1..=65).map(key).collect(),
            ..v1.clone()
        }
        .encode(),
        E::TooManyAccountKeys { count: 65, max: 64 },
        true,
    );
    case(
        "v0 257 accounts",
        RawLegacy {
            lookups: vec![((0..=253).collect(), vec![])],
            ..legacy_v0.clone()
        }
        .encode(),
        E::TooManyAccountKeys {
            count: 257,
            max: 256,
        },
        true,
    );
    // legacy sanitize has no instruction limit: the oracle accepts this one
    case(
        "legacy 65 instructions",
        RawLegacy {
            ixs: vec![ix(2, &[], &[]); 65],
            ..legacy.clone()
        }
        .encode(),
        E::TooManyInstructions { count: 65, max: 64 },
        false,
    );
    case(
        "v1 65 instructions",
        RawV1 {
            ixs: vec![ix(2, &[], &[]); 65],
            ..v1.clone()
        }
        .encode(),
        E::TooManyInstructions { count: 65, max: 64 },
        true,
    );
    case(
        "v1 duplicate address",
        RawV1 {
            keys: vec![key(1), key(2), key(3), key(2)],
            ..v1.clone()
        }
        .encode(),
        E::DuplicateAccountKey,
        true,
    );
    case(
        "program index past keys",
        RawLegacy {
            ixs: vec![ix(3, &[0], &[])],
            ..legacy.clone()
        }
        .encode(),
        E::ProgramIndexOutOfRange {
            index: 3,
            num_static_keys: 3,
        },
        true,
    );
    case(
        "v0 program from a lookup table",
        RawLegacy {
            ixs: vec![ix(3, &[0], &[])],
            ..legacy_v0.clone()
        }
        .encode(),
        E::ProgramIndexOutOfRange {
            index: 3,
            num_static_keys: 3,
        },
        true,
    );
    case(
        "v1 program index past keys",
        RawV1 {
            ixs: vec![ix(200, &[0], &[])],
            ..v1.clone()
        }
        .encode(),
        E::ProgramIndexOutOfRange {
            index: 200,
            num_static_keys: 3,
        },
        true,
    );
    case(
        "program is fee payer",
        RawLegacy {
            ixs: vec![ix(0, &[1], &[])],
            ..legacy.clone()
        }
        .encode(),
        E::ProgramIsFeePayer,
        true,
    );
    case(
        "v1 program is fee payer",
        RawV1 {
            ixs: vec![ix(0, &[1], &[])],
            ..v1.clone()
        }
        .encode(),
        E::ProgramIsFeePayer,
        true,
    );
    case(
        "account index past keys",
        RawLegacy {
            ixs: vec![ix(2, &[0, 3], &[])],
            ..legacy.clone()
        }
        .encode(),
        E::AccountIndexOutOfRange {
            index: 3,
            num_accounts: 3,
        },
        true,
    );
    case(
        "v0 account index past lookups",
        RawLegacy {
            ixs: vec![ix(2, &[6], &[])],
            ..legacy_v0.clone()
        }
        .encode(),
        E::AccountIndexOutOfRange {
            index: 6,
            num_accounts: 6,
        },
        true,
    );
    case(
        "v1 account index past keys",
        RawV1 {
            ixs: vec![ix(2, &[0, 255], &[])],
            ..v1.clone()
        }
        .encode(),
        E::AccountIndexOutOfRange {
            index: 255,
            num_accounts: 3,
        },
        true,
    );
    case(
        "v0 empty lookup",
        RawLegacy {
            lookups: vec![(vec![4], vec![0, 1]), (vec![], vec![])],
            ..legacy_v0.clone()
        }
        .encode(),
        E::EmptyAddressTableLookup,
        true,
    );

    let mut seen = BTreeSet::new();
    for (name, bytes, expected, oracle_rejects) in &cases {
        assert_eq!(Transaction::parse(bytes).as_ref(), Err(expected), "{name}");
        assert_eq!(
            oracle_decode(bytes).is_none(),
            *oracle_rejects,
            "oracle on {name}"
        );
        seen.insert(expected.label());
    }
    let all: BTreeSet<&str> = ParseError::LABELS.iter().copied().collect();
    assert_eq!(seen, all, "every variant reached by a crafted input");
}

#[test]
fn boundaries_accepted() {
    let legacy = RawLegacy::valid();
    let v1 = RawV1::valid();
    let accepted = [
        (
            "legacy 64 instructions",
            RawLegacy {
                ixs: vec![ix(2, &[], &[]); 64],
                ..legacy.clone()
            }
            .encode(),
        ),
        (
            "v1 64 instructions",
            RawV1 {
                ixs: vec![ix(2, &[], &[]); 64],
                ..v1.clone()
            }
            .encode(),
        ),
        (
            "v1 64 addresses",
            RawV1 {
                keys: (1..=64).map(key).collect(),
                ..v1.clone()
            }
            .encode(),
        ),
        (
            "v0 256 accounts",
            RawLegacy {
                lookups: vec![((0..=252).collect(), vec![])],
                ..RawLegacy::valid_v0()
            }
            .encode(),
        ),
        (
            "v1 all config bits",
            RawV1 {
                mask: 0b1_1111,
                config: [
                    &5u64.to_le_bytes()[..],
                    &1u32.to_le_bytes(),
                    &2u32.to_le_bytes(),
                    &(256u32 * 1024).to_le_bytes(),
                ]
                .concat(),
                ..v1.clone()
            }
            .encode(),
        ),
        (
            "legacy duplicate keys (checked later by Agave)",
            RawLegacy {
                keys: vec![key(1), key(2), key(2)],
                ..legacy.clone()
            }
            .encode(),
        ),
    ];
    for (name, bytes) in accepted {
        let parsed = Transaction::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tx = oracle_decode(&bytes).unwrap_or_else(|| panic!("oracle rejects {name}"));
        assert_matches_oracle(&parsed, &tx, false);
    }
}

#[test]
fn labels_are_unique_snake_case() {
    let labels: BTreeSet<&str> = ParseError::LABELS.iter().copied().collect();
    assert_eq!(labels.len(), ParseError::LABELS.len());
    for label in labels {
        assert!(label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}

// ---------------------------------------------------------------------------
// compact-u16
// ---------------------------------------------------------------------------

/// solana-short-vec's decoding rules, restated from its source.
fn reference_compact_u16(bytes: [u8; 3]) -> Option<(u16, usize)> {
    let mut value: u32 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == 0 && i != 0 {
            return None;
        }
        if i == 2 && b & 0x80 != 0 {
            return None;
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if value > 0xffff {
            return None;
        }
        if b & 0x80 == 0 {
            return Some((value as u16, i + 1));
        }
    }
    None
}

#[test]
fn compact_u16_matches_short_vec() {
    use solana_message::compiled_instruction::CompiledInstruction;

    // Every 3-byte pattern against the restated rules.
    for b0 in 0..=255u8 {
        for b1 in 0..=255u8 {
            for b2 in [0u8, 1, 2, 3, 4, 0x7f, 0x80, 0x81, 0xff] {
                let input = [b0, b1, b2];
                let ours = decode_compact_u16(&input, "x").ok();
                assert_eq!(ours, reference_compact_u16(input), "{input:02x?}");
            }
        }
    }
    // Canonical encodings round-trip, and every shorter prefix is truncated.
    for value in 0..=u16::MAX {
        let mut enc = Vec::new();
        cu16(usize::from(value), &mut enc);
        assert_eq!(
            decode_compact_u16(&enc, "x"),
            Ok((value, enc.len())),
            "{value}"
        );
        for cut in 0..enc.len() {
            assert_eq!(
                decode_compact_u16(&enc[..cut], "x"),
                Err(ParseError::Truncated { what: "x" })
            );
        }
    }
    // The real short_vec deserializer (via a CompiledInstruction's account
    // list) agrees on a sample. Its cost grows with the decoded value (it
    // reads that many accounts), so large values are only sampled sparsely;
    // the exhaustive check above covers the rest.
    let mut buf = vec![0u8; 4 + 0x1_0001];
    let mut check = |enc: [u8; 3]| {
        buf[1..4].copy_from_slice(&enc);
        let theirs = bincode::deserialize::<CompiledInstruction>(&buf)
            .ok()
            .map(|ix| ix.accounts.len());
        let ours = decode_compact_u16(&buf[1..], "x")
            .ok()
            .map(|(v, _)| usize::from(v));
        assert_eq!(ours, theirs, "{enc:02x?}");
    };
    // (b0 < 0x80 is a one-byte value; the bytes after it would then be read
    // as the data length, so only multi-byte forms are sampled here.)
    for b0 in 0x80..=0xffu8 {
        // small two-byte values and aliases
        for b1 in [0x00u8, 0x01, 0x02, 0x03] {
            check([b0, b1, 0x01]);
        }
        // three-byte forms that must be rejected
        for b1 in [0x80u8, 0x81, 0xff] {
            for b2 in [0x00u8, 0x04, 0x05, 0x7f, 0x80, 0x83, 0xff] {
                check([b0, b1, b2]);
            }
        }
    }
    // large accepted values
    for b0 in [0x80u8, 0xff] {
        for b1 in [0x7fu8, 0x80, 0xff] {
            for b2 in [0x01u8, 0x02, 0x03] {
                check([b0, b1, b2]);
            }
        }
    }
    let mut rng = Rng(7);
    for _ in 0..100 {
        check([rng.byte() | 0x80, rng.byte(), rng.byte()]);
    }
    // and the encoder above matches bincode's
    for value in [0usize, 1, 127, 128, 255, 16_383, 16_384, 65_535] {
        let ix = CompiledInstruction {
            program_id_index: 0,
            accounts: vec![0; value],
            data: vec![],
        };
        let bytes = bincode::serialize(&ix).unwrap();
        let mut enc = Vec::new();
        cu16(value, &mut enc);
        assert_eq!(&bytes[1..1 + enc.len()], &enc[..]);
    }
}

// ---------------------------------------------------------------------------
// Truncation and fuzzing
// ---------------------------------------------------------------------------

/// A handful of valid transactions of every version.
fn seeds() -> Vec<Vec<u8>> {
    let kps = keypairs(3);
    let signers: Vec<&Keypair> = kps.iter().collect();
    let tables = [AddressLookupTableAccount {
        key: address(200),
        addresses: vec![address(50), address(51), address(80)],
    }];
    let all = v1::TransactionConfig::empty()
        .with_priority_fee(7)
        .with_compute_unit_limit(300_000)
        .with_loaded_accounts_data_size_limit(32 * 1024)
        .with_heap_size(128 * 1024);
    let vote = Instruction::new_with_bytes(
        Address::new_from_array(VOTE_PROGRAM_ID),
        &[2, 0, 0, 0],
        vec![
            AccountMeta::new(address(60), false),
            AccountMeta::new_readonly(kps[0].pubkey(), true),
        ],
    );
    vec![
        wire(&legacy_tx(
            &signers[..1],
            &mixed_instructions(&signers[..1], 4),
            1,
        )),
        wire(&legacy_tx(&signers, &mixed_instructions(&signers, 2), 2)),
        wire(&legacy_tx(&signers[..1], &[vote], 3)),
        RawLegacy::valid().encode(),
        wire(&v0_tx(
            &signers[..2],
            &mixed_instructions(&signers[..2], 3),
            &tables,
        )),
        RawLegacy::valid_v0().encode(),
        wire(&v1_tx(
            &signers[..1],
            &mixed_instructions(&signers[..1], 4),
            all,
        )),
        wire(&v1_tx(
            &signers,
            &mixed_instructions(&signers, 2),
            v1::TransactionConfig::empty(),
        )),
        RawV1::valid().encode(),
    ]
}

#[test]
fn every_truncation_is_rejected() {
    for seed in seeds() {
        assert!(Transaction::parse(&seed).is_ok());
        for len in 0..seed.len() {
            let cut = &seed[..len];
            match Transaction::parse(cut) {
                Err(ParseError::Truncated { .. }) => {}
                other => panic!("prefix {len}/{}: {other:?}", seed.len()),
            }
            assert!(oracle_decode(cut).is_none());
        }
    }
}

/// splitmix64: a tiny deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, hot: std::ops::Range<usize>) {
    const INTERESTING: [u8; 12] = [0, 1, 2, 3, 0x40, 0x41, 0x7f, 0x80, 0x81, 0x82, 0xff, 0xfe];
    // Half the time aim at the message body rather than at signatures/keys,
    // where most bytes are opaque.
    let pos = |rng: &mut Rng, len: usize| {
        if len == 0 {
            0
        } else if rng.below(2) == 0 && hot.end <= len && !hot.is_empty() {
            hot.start + rng.below(hot.len())
        } else {
            rng.below(len)
        }
    };
    match rng.below(7) {
        0 | 1 => {
            if !bytes.is_empty() {
                let p = pos(rng, bytes.len());
                bytes[p] = rng.byte();
            }
        }
        2 => {
            if !bytes.is_empty() {
                let p = pos(rng, bytes.len());
                bytes[p] = INTERESTING[rng.below(INTERESTING.len())];
            }
        }
        3 => {
            if !bytes.is_empty() {
                let p = pos(rng, bytes.len());
                bytes[p] ^= 1 << rng.below(8);
            }
        }
        4 => {
            let p = pos(rng, bytes.len() + 1).min(bytes.len());
            let b = rng.byte();
            bytes.insert(p, b);
        }
        5 => {
            if !bytes.is_empty() {
                let p = pos(rng, bytes.len());
                bytes.remove(p);
            }
        }
        _ => {
            if rng.below(2) == 0 {
                let n = rng.below(bytes.len() + 1);
                bytes.truncate(n);
            } else {
                for _ in 0..=rng.below(8) {
                    bytes.push(rng.byte());
                }
            }
        }
    }
}

#[test]
fn fuzz_against_oracle() {
    let mut rng = Rng(0x5eed_f00d);
    let seeds = seeds();
    let (mut accepted, mut rejected) = (0usize, 0usize);
    let mut labels = BTreeSet::new();
    for i in 0..20_000 {
        let seed = &seeds[i % seeds.len()];
        let parsed = Transaction::parse(seed).unwrap();
        let msg_start = parsed.message().as_ptr() as usize - seed.as_ptr() as usize;
        let hot = msg_start..msg_start + parsed.message().len();

        let mut bytes = seed.clone();
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut bytes, hot.clone());
        }

        let ours = Transaction::parse(&bytes);
        let oracle = oracle_decode(&bytes);
        match (&ours, &oracle) {
            (Ok(p), Some(tx)) => {
                accepted += 1;
                assert_matches_oracle(p, tx, false);
            }
            (Ok(p), None) => panic!("we accept what the oracle rejects: {p:?}\n{bytes:02x?}"),
            (Err(e), Some(_)) => {
                // Only deliberate exception: SIMD-0160's 64-instruction limit.
                assert!(
                    matches!(e, ParseError::TooManyInstructions { .. }),
                    "we reject ({e}) what the oracle accepts: {bytes:02x?}"
                );
                rejected += 1;
            }
            (Err(e), None) => {
                rejected += 1;
                labels.insert(e.label());
            }
        }
    }
    eprintln!("fuzz: {accepted} accepted, {rejected} rejected, labels {labels:?}");
    assert!(accepted > 500, "too few accepted mutants: {accepted}");
    assert!(rejected > 1500, "too few rejected mutants: {rejected}");
    assert!(labels.len() >= 10, "fuzzing reached only {labels:?}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // steer the first byte towards the interesting framings
        if let Some(first) = bytes.first_mut() {
            *first = [0, 1, 2, 0x81, *first][rng.below(5)];
        }
        let ours = Transaction::parse(&bytes);
        if oracle_decode(&bytes).is_none() {
            assert!(ours.is_err(), "{bytes:02x?}");
        }
    }
}

#[test]
fn parsing_never_allocates() {
    // Touch every accessor so lazily computed views are covered too.
    fn exercise(bytes: &[u8]) {
        match Transaction::parse(bytes) {
            Ok(tx) => {
                std::hint::black_box((
                    tx.version(),
                    tx.bytes(),
                    tx.message(),
                    tx.signatures(),
                    tx.signer_keys(),
                    tx.account_keys(),
                    tx.header(),
                    tx.recent_blockhash(),
                    tx.num_instructions(),
                    tx.num_address_table_lookups(),
                    tx.num_lookup_accounts(),
                    tx.is_simple_vote(),
                    tx.first_signature(),
                ));
                for ix in tx.instructions() {
                    std::hint::black_box(ix);
                }
            }
            Err(e) => {
                std::hint::black_box(e.label());
            }
        }
    }

    let mut rng = Rng(99);
    let seeds = seeds();
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for seed in &seeds {
        inputs.extend((0..=seed.len()).map(|len| seed[..len].to_vec()));
        for _ in 0..200 {
            let mut bytes = seed.clone();
            mutate(&mut rng, &mut bytes, 0..seed.len());
            inputs.push(bytes);
        }
    }
    let allocations = allocations_during(|| {
        for bytes in &inputs {
            exercise(bytes);
        }
    });
    assert_eq!(allocations, 0);
    // and the counter does work
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8]))) > 0);
}
