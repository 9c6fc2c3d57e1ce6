//! Writes the seed corpora the fuzz targets start from, into
//! `fuzz/corpus/<target>/seed-*` (run from `fuzz/`):
//!
//! ```text
//! cargo run --release --example make_seeds
//! ```
//!
//! Everything is built from fixed seeds, so a rerun writes the same files.
//! The text targets (`rules_file`, `config_file`) are seeded by copying the
//! shipped `deploy/` files.

use std::{fs, path::Path};

use ed25519_dalek::{Signer, SigningKey};
use rampart::quic::{identity::Identity, tls::certificate};
use rampart_txgen::{generate, KeyMode, TxSpec, MAX_LEGACY_MESSAGE, MAX_V1_MESSAGE, MIN_MESSAGE};
use rcgen::{CertificateParams, DnType, DnValue, KeyPair, SerialNumber};
use rustls::pki_types::PrivatePkcs8KeyDer;
use solana_message::{
    v0, v1, AccountMeta, Address, AddressLookupTableAccount, Hash, Instruction, VersionedMessage,
};

/// Must match `CLIENT_SEED` in fuzz_targets/cert_identity.rs.
const CLIENT_SEED: [u8; 32] = [0xc1; 32];

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed file");
}

fn address(seed: u8) -> Address {
    Address::new_from_array([seed; 32])
}

/// Signs `message` with `signers` (in its signer order) into wire bytes.
fn wire(message: VersionedMessage, signers: &[SigningKey]) -> Vec<u8> {
    let bytes = message.serialize();
    let signatures: Vec<[u8; 64]> = signers.iter().map(|k| k.sign(&bytes).to_bytes()).collect();
    match message {
        VersionedMessage::V1(_) => {
            let mut out = bytes;
            signatures.iter().for_each(|s| out.extend_from_slice(s));
            out
        }
        _ => {
            let mut out = vec![signatures.len() as u8];
            signatures.iter().for_each(|s| out.extend_from_slice(s));
            out.extend_from_slice(&bytes);
            out
        }
    }
}

fn transactions() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, size) in [
        MIN_MESSAGE,
        180,
        700,
        MAX_LEGACY_MESSAGE,
        1500,
        MAX_V1_MESSAGE,
    ]
    .into_iter()
    .enumerate()
    {
        let spec = TxSpec {
            count: 1,
            message_size: size,
            invalid_fraction: 0.0,
            keys: KeyMode::Distinct,
            seed: 40 + i as u64,
        };
        for tx in generate(&spec).expect("txgen spec") {
            out.push((format!("txgen-{size}"), tx.bytes));
        }
    }
    let keys: Vec<SigningKey> = (1..=3).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let payer = Address::new_from_array(keys[0].verifying_key().to_bytes());
    let second = Address::new_from_array(keys[1].verifying_key().to_bytes());
    let ixs = vec![
        Instruction::new_with_bytes(
            address(100),
            &[1, 2, 3, 4],
            vec![
                AccountMeta::new(payer, true),
                AccountMeta::new(address(50), false),
                AccountMeta::new_readonly(address(80), false),
            ],
        ),
        Instruction::new_with_bytes(
            address(101),
            &[9; 40],
            vec![
                AccountMeta::new_readonly(second, true),
                AccountMeta::new(address(51), false),
            ],
        ),
    ];
    let tables = [AddressLookupTableAccount {
        key: address(200),
        addresses: vec![address(50), address(51), address(80)],
    }];
    let v0 = v0::Message::try_compile(&payer, &ixs, &tables, Hash::new_from_array([7; 32]))
        .expect("v0 message");
    out.push((
        "v0-lookups".into(),
        wire(VersionedMessage::V0(v0), &keys[..2]),
    ));
    let config = v1::TransactionConfig::empty()
        .with_priority_fee(7)
        .with_compute_unit_limit(300_000)
        .with_loaded_accounts_data_size_limit(32 * 1024)
        .with_heap_size(128 * 1024);
    let v1 =
        v1::Message::try_compile_with_config(&payer, &ixs, Hash::new_from_array([9; 32]), config)
            .expect("v1 message");
    out.push((
        "v1-config".into(),
        wire(VersionedMessage::V1(v1), &keys[..2]),
    ));
    out
}

/// Builds Ethernet frames: `eth(ethertype-led tags, payload)`.
fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (i, &tpid) in tags.iter().enumerate() {
        frame.extend(tpid.to_be_bytes());
        frame.extend((100 + i as u16).to_be_bytes());
    }
    frame.extend(ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

fn udp(dest: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(40_000u16.to_be_bytes());
    out.extend(dest.to_be_bytes());
    out.extend(((8 + payload.len()) as u16).to_be_bytes());
    out.extend([0, 0]);
    out.extend_from_slice(payload);
    out
}

fn ipv4(protocol: u8, fragment: u16, source: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x45, 0];
    out.extend(((20 + payload.len()) as u16).to_be_bytes());
    out.extend([0, 1]);
    out.extend(fragment.to_be_bytes());
    out.extend([64, protocol, 0, 0]);
    out.extend(source);
    out.extend([198, 51, 100, 1]);
    out.extend_from_slice(payload);
    out
}

/// IPv6 with extension headers `exts` (kind, length in 8-byte units - 1).
fn ipv6(exts: &[(u8, u8)], last: u8, payload: &[u8]) -> Vec<u8> {
    let mut chain = Vec::new();
    for (i, &(_, units)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(last, |(kind, _)| *kind);
        let mut header = vec![0u8; (usize::from(units) + 1) * 8];
        header[0] = next;
        header[1] = units;
        chain.extend(header);
    }
    let first = exts.first().map_or(last, |(kind, _)| *kind);
    let mut out = vec![0x60, 0, 0, 0];
    out.extend(((chain.len() + payload.len()) as u16).to_be_bytes());
    out.extend([first, 64]);
    out.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain(&[0u8; 11])
            .chain(&[7]),
    );
    out.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain(&[0u8; 11])
            .chain(&[1]),
    );
    out.extend(chain);
    out.extend_from_slice(payload);
    out
}

fn quic_initial(len: usize) -> Vec<u8> {
    let mut out = vec![0xc3, 0, 0, 0, 1, 8];
    out.extend([0xab; 8]);
    out.push(8);
    out.extend([0xcd; 8]);
    out.resize(len, 0x42);
    out
}

fn quic_short(cid_len: usize) -> Vec<u8> {
    let mut out = vec![0x43];
    out.extend(vec![0xab; cid_len]);
    out.resize(1 + cid_len + 40, 0x17);
    out
}

/// The xdp_chain prefix: CID length 8, lists off, extra port 9000, a real
/// rate limit and stored bucket, a clock.
fn xdp_prefix(flags: u8) -> Vec<u8> {
    let mut out = vec![8, flags];
    out.extend(9000u16.to_le_bytes());
    for value in [
        1000u64,
        2000,
        10_000_000,
        2_000_000,
        5_000_000_000,
        1_000_000_000_000,
        1_000,
    ] {
        out.extend(value.to_le_bytes());
    }
    out.extend(2_000_000_000u64.to_le_bytes());
    out
}

fn frames() -> Vec<(String, Vec<u8>)> {
    let v4 = |dest: u16, payload: &[u8]| {
        eth(
            &[],
            0x0800,
            &ipv4(17, 0, [203, 0, 113, 9], &udp(dest, payload)),
        )
    };
    let v6 =
        |exts: &[(u8, u8)], payload: &[u8]| eth(&[], 0x86dd, &ipv6(exts, 17, &udp(8009, payload)));
    vec![
        ("v4-initial".into(), v4(8009, &quic_initial(1200))),
        ("v4-short-initial".into(), v4(8009, &quic_initial(300))),
        ("v4-short-header".into(), v4(8009, &quic_short(8))),
        ("v4-unprotected".into(), v4(53, b"dns")),
        (
            "v4-fragment".into(),
            eth(
                &[],
                0x0800,
                &ipv4(17, 0x2000, [203, 0, 113, 9], &udp(8009, &quic_short(8))),
            ),
        ),
        ("v4-options".into(), {
            let mut ip = ipv4(17, 0, [203, 0, 113, 9], &udp(8009, &quic_short(8)));
            ip[0] = 0x46;
            ip.splice(20..20, [1, 1, 1, 0]);
            let len = ip.len() as u16;
            ip[2..4].copy_from_slice(&len.to_be_bytes());
            eth(&[], 0x0800, &ip)
        }),
        (
            "v4-tcp".into(),
            eth(&[], 0x0800, &ipv4(6, 0, [203, 0, 113, 9], &[0; 20])),
        ),
        (
            "vlan".into(),
            eth(
                &[0x8100],
                0x0800,
                &ipv4(17, 0, [10, 0, 0, 1], &udp(8009, &quic_initial(1200))),
            ),
        ),
        (
            "qinq".into(),
            eth(
                &[0x88a8, 0x8100],
                0x0800,
                &ipv4(17, 0, [10, 0, 0, 1], &udp(8009, &quic_short(8))),
            ),
        ),
        ("v6-initial".into(), v6(&[], &quic_initial(1200))),
        ("v6-hop-by-hop".into(), v6(&[(0, 0)], &quic_short(8))),
        (
            "v6-routing-dest".into(),
            v6(&[(43, 0), (60, 1)], &quic_short(8)),
        ),
        ("v6-fragment".into(), v6(&[(44, 0)], &quic_short(8))),
        ("arp".into(), eth(&[], 0x0806, &[0; 28])),
    ]
}

fn certificates() -> Vec<(String, Vec<u8>)> {
    let identity = Identity::from_seed(CLIENT_SEED);
    let (real, _) = certificate(&identity).expect("certificate");
    let mut out = vec![("rampart".to_owned(), real.as_ref().to_vec())];
    // The same key, with Ed25519 SubjectPublicKeyInfo bytes of another key
    // where a byte search would find them first: in the serial number and in
    // the subject's common name.
    let mut decoy = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    decoy.extend([b'A'; 32]);
    let pkcs8 = PrivatePkcs8KeyDer::from(identity.pkcs8_der());
    let key = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519).expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.distinguished_name.push(
        DnType::CommonName,
        DnValue::Utf8String(String::from_utf8(decoy.clone()).expect("ASCII")),
    );
    out.push((
        "decoy-subject".into(),
        params.self_signed(&key).expect("cert").der().to_vec(),
    ));
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let mut serial = vec![0x01];
    serial.extend(&decoy[..19]);
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    out.push((
        "decoy-serial".into(),
        params.self_signed(&key).expect("cert").der().to_vec(),
    ));
    out
}

/// engine_diff programs: a rule, a count, then recipes (kind, key index,
/// message length class and bytes, recipe parameters).
fn engine_programs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for rule in 0..3u8 {
        let mut program = vec![rule, 8];
        for kind in 0..9u8 {
            program.push(kind);
            program.push(kind.wrapping_mul(7).wrapping_add(rule));
            program.extend([kind % 4, 50]);
            program.extend((0..50u8).map(|b| b ^ kind));
            program.extend([kind.wrapping_mul(11); 34]);
        }
        out.push((format!("rule{rule}-mixed"), program));
    }
    out
}

/// ingress_stream programs: a transaction, a burst, an unfinished stream,
/// a reset, pieces.
fn ingress_programs(txs: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let legacy = &txs[1].1;
    let mut send = vec![0u8];
    send.extend(((legacy.len() % 400) as u8).to_le_bytes());
    send.extend(legacy);
    vec![
        ("send".into(), send),
        (
            "burst".into(),
            vec![
                6, 70, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
            ],
        ),
        (
            "unfinished-reset".into(),
            vec![4, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 5, 3, 9, 9, 9],
        ),
        ("pieces".into(), vec![7, 0x10, 0x08, 100, 0]),
        ("oversize".into(), vec![2, 1, 12]),
        ("empty".into(), vec![3]),
    ]
}

fn main() {
    let txs = transactions();
    for (name, bytes) in &txs {
        write("tx_parse", name, bytes);
    }
    for (name, frame) in frames() {
        let mut input = xdp_prefix(0);
        input.extend(&frame);
        write("xdp_chain", &name, &input);
        let mut input = xdp_prefix(7);
        input.extend(&frame);
        write("xdp_chain", &format!("{name}-lists"), &input);
    }
    for (name, cert) in certificates() {
        write("cert_identity", &name, &cert);
    }
    for (name, program) in engine_programs() {
        write("engine_diff", &name, &program);
    }
    for (name, program) in ingress_programs(&txs) {
        write("ingress_stream", &name, &program);
    }
    for (target, file) in [
        ("rules_file", "../deploy/rules.example.toml"),
        ("config_file", "../deploy/rampart.toml"),
    ] {
        let text = fs::read(file).expect("deploy file");
        write(target, "deploy", &text);
    }
}
