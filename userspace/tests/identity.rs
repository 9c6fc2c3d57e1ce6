//! A client's identity is the key of its certificate's own
//! SubjectPublicKeyInfo, the key its TLS handshake signature was checked
//! against, never key bytes found elsewhere in the certificate (issue 11,
//! item 1). Certificates are built here byte by byte in DER, so that another
//! key's SubjectPublicKeyInfo can sit in the subject, the issuer, the serial
//! or an extension, and a real QUIC client presents one to the real ingress
//! server.

use std::{
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use ed25519_dalek::{Signer, SigningKey};
use quinn::crypto::rustls::QuicClientConfig;
use rampart::{
    ingress::{
        admission::{AdmissionLimits, Refusal, StakeTable},
        server::{close_code, Ingress, IngressConfig},
    },
    metrics::Counters,
    packet::Packet,
    quic::{
        endpoint::bind,
        identity::Identity,
        tls::{client_config_presenting, ed25519_pubkey},
    },
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

// ---------------------------------------------------------------------------
// Certificates in DER, by hand.

/// One DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// AlgorithmIdentifier { id-Ed25519 } (RFC 8410), for keys and signatures.
const ED25519_ALG: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// The SubjectPublicKeyInfo of an Ed25519 key: the 44 bytes the old byte
/// search looked for.
fn ed25519_spki(key: &[u8]) -> Vec<u8> {
    seq(&[&ED25519_ALG, &der(0x03, &[&[0u8][..], key].concat())])
}

/// A P-256 SubjectPublicKeyInfo (the point need not be on the curve: the
/// identity is refused for its algorithm before anything reads the point).
fn p256_spki() -> Vec<u8> {
    let ec_public_key = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    let prime256v1 = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    let mut point = vec![0u8, 0x04];
    point.extend([0x11; 64]);
    seq(&[&seq(&[&ec_public_key, &prime256v1]), &der(0x03, &point)])
}

/// A Name of one common name whose value is `value`, raw.
fn name(value: &[u8]) -> Vec<u8> {
    let common_name = der(0x06, &[0x55, 0x04, 0x03]);
    seq(&[&der(0x31, &seq(&[&common_name, &der(0x0c, value)]))])
}

/// A non-critical extension of a private OID carrying `value`.
fn extension(value: &[u8]) -> Vec<u8> {
    let oid = der(
        0x06,
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xd4, 0x4f, 0x01],
    );
    seq(&[&oid, &der(0x04, value)])
}

/// The fields of a certificate a test varies.
struct Fields {
    serial: Vec<u8>,
    issuer: Vec<u8>,
    subject: Vec<u8>,
    spki: Vec<u8>,
    extensions: Vec<Vec<u8>>,
}

impl Fields {
    /// An ordinary certificate of `key`.
    fn of(key: &[u8; 32]) -> Self {
        Fields {
            serial: vec![0x01, 0x02, 0x03],
            issuer: name(b"Solana node"),
            subject: name(b"Solana node"),
            spki: ed25519_spki(key),
            extensions: Vec::new(),
        }
    }

    /// The X.509 v3 certificate, signed by `signer` (nothing checks that
    /// signature; Agave's own are invalid on purpose).
    fn build(&self, signer: &SigningKey) -> Vec<u8> {
        let version = der(0xa0, &der(0x02, &[0x02]));
        let validity = seq(&[&der(0x17, b"260101000000Z"), &der(0x17, b"360101000000Z")]);
        let mut tbs_parts = vec![
            version,
            der(0x02, &self.serial),
            ED25519_ALG.to_vec(),
            self.issuer.clone(),
            validity,
            self.subject.clone(),
            self.spki.clone(),
        ];
        if !self.extensions.is_empty() {
            let extensions: Vec<&[u8]> = self.extensions.iter().map(Vec::as_slice).collect();
            tbs_parts.push(der(0xa3, &seq(&extensions)));
        }
        let tbs_refs: Vec<&[u8]> = tbs_parts.iter().map(Vec::as_slice).collect();
        let tbs = seq(&tbs_refs);
        let signature = signer.sign(&tbs).to_bytes();
        seq(&[
            &tbs,
            &ED25519_ALG,
            &der(0x03, &[&[0u8][..], &signature].concat()),
        ])
    }
}

/// A staked node, whose key forgers copy.
const STAKED_SEED: [u8; 32] = [0x5a; 32];
/// A forger, who signs with its own key.
const FORGER_SEED: [u8; 32] = [0xf0; 32];

fn key_of(seed: [u8; 32]) -> [u8; 32] {
    Identity::from_seed(seed).pubkey()
}

/// A forger's certificate: its own key in the SubjectPublicKeyInfo, the
/// staked node's SubjectPublicKeyInfo wherever `embed` puts it.
fn forged(embed: impl FnOnce(&mut Fields, Vec<u8>)) -> Vec<u8> {
    let mut fields = Fields::of(&key_of(FORGER_SEED));
    embed(&mut fields, ed25519_spki(&key_of(STAKED_SEED)));
    fields.build(&SigningKey::from_bytes(&FORGER_SEED))
}

/// Where the staked node's SubjectPublicKeyInfo bytes sit in `cert`, and
/// where the forger's real one does.
fn positions(cert: &[u8]) -> (Option<usize>, Option<usize>) {
    let find = |needle: Vec<u8>| cert.windows(needle.len()).position(|w| w == needle);
    (
        find(ed25519_spki(&key_of(STAKED_SEED))),
        find(ed25519_spki(&key_of(FORGER_SEED))),
    )
}

#[test]
fn a_hand_built_certificate_yields_its_own_key() {
    let cert = Fields::of(&key_of(FORGER_SEED)).build(&SigningKey::from_bytes(&FORGER_SEED));
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_staked_key_in_the_subject_is_not_the_identity() {
    let cert = forged(|fields, spki| fields.subject = name(&spki));
    let (embedded, real) = positions(&cert);
    assert!(embedded < real, "the staked key must come first");
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_staked_key_in_the_issuer_is_not_the_identity() {
    let cert = forged(|fields, spki| fields.issuer = name(&spki));
    let (embedded, real) = positions(&cert);
    assert!(embedded < real, "the staked key must come first");
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_staked_key_as_the_serial_is_not_the_identity() {
    let cert = forged(|fields, spki| fields.serial = spki);
    let (embedded, real) = positions(&cert);
    assert!(embedded < real, "the staked key must come first");
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_staked_key_in_an_extension_is_not_the_identity() {
    let cert = forged(|fields, spki| fields.extensions.push(extension(&spki)));
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_staked_key_everywhere_at_once_is_not_the_identity() {
    let cert = forged(|fields, spki| {
        fields.serial = spki.clone();
        fields.issuer = name(&spki);
        fields.subject = name(&spki);
        fields.extensions.push(extension(&spki));
    });
    assert_eq!(ed25519_pubkey(&cert), Some(key_of(FORGER_SEED)));
}

#[test]
fn a_certificate_whose_own_key_is_not_ed25519_has_no_identity() {
    // P-256: its holder could sign the handshake with it.
    let cert = forged(|fields, spki| {
        fields.subject = name(&spki);
        fields.spki = p256_spki();
    });
    assert_eq!(ed25519_pubkey(&cert), None);
    // Ed25519 with parameters (RFC 8410 forbids them), and a 33-byte key.
    let key = key_of(FORGER_SEED);
    let with_null = seq(&[
        &seq(&[&der(0x06, &[0x2b, 0x65, 0x70]), &der(0x05, &[])]),
        &der(0x03, &[&[0u8][..], &key].concat()),
    ]);
    let long_key = seq(&[&ED25519_ALG, &der(0x03, &[&[0u8][..], &key, &[0]].concat())]);
    for spki in [with_null, long_key] {
        let cert = forged(|fields, staked| {
            fields.subject = name(&staked);
            fields.spki = spki;
        });
        assert_eq!(ed25519_pubkey(&cert), None);
    }
}

// ---------------------------------------------------------------------------
// The real ingress server.

/// An ingress server whose one staked node is `STAKED_SEED`'s key and which
/// has no room for unstaked connections: a connection is admitted if and
/// only if the server takes its peer for the staked node.
struct Server {
    ingress: Ingress,
    addr: SocketAddr,
    counters: Arc<Counters>,
    _packets: crossbeam_channel::Receiver<Packet>,
}

impl Server {
    fn start() -> Self {
        let stakes = StakeTable::new([(key_of(STAKED_SEED), 1_000_000)]);
        let config = IngressConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admission: AdmissionLimits {
                max_unstaked_connections: 0,
                max_new_connections_per_ip_per_minute: 100,
                ..AdmissionLimits::default()
            },
            ..IngressConfig::default()
        };
        let (out, packets) = crossbeam_channel::bounded(16);
        let counters = Arc::new(Counters::default());
        let ingress = Ingress::start(
            config,
            &Identity::from_seed([0x01; 32]),
            Arc::new(RwLock::new(Arc::new(stakes))),
            out,
            counters.clone(),
        )
        .expect("ingress");
        let addr = ingress.local_addr().expect("ingress address");
        Server {
            ingress,
            addr,
            counters,
            _packets: packets,
        }
    }

    /// Waits until `done` holds of the counters, or 5 s.
    async fn wait_for(&self, what: &str, done: impl Fn(&Counters) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(&self.counters) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A QUIC client presenting `cert` and signing its handshake with `key`.
/// The endpoint is returned too, to outlive the connection.
async fn connect(
    server: SocketAddr,
    cert: Vec<u8>,
    key: PrivateKeyDer<'static>,
) -> (
    quinn::Endpoint,
    Result<quinn::Connection, quinn::ConnectionError>,
) {
    let tls = client_config_presenting(CertificateDer::from(cert), key).expect("client TLS");
    let crypto = QuicClientConfig::try_from(tls).expect("QUIC TLS");
    let endpoint = bind(SocketAddr::from(([127, 0, 0, 1], 0)), None).expect("client endpoint");
    let connecting = endpoint
        .connect_with(
            quinn::ClientConfig::new(Arc::new(crypto)),
            server,
            "solana-tpu",
        )
        .expect("connect");
    let connection = tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .expect("handshake within 5 s");
    (endpoint, connection)
}

fn ed25519_key(seed: [u8; 32]) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        Identity::from_seed(seed).pkcs8_der(),
    ))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_client_naming_a_staked_node_in_its_certificate_is_the_key_it_proved() {
    runtime().block_on(async {
        let server = Server::start();
        // The staked node itself is admitted: the stake table works.
        let own = Fields::of(&key_of(STAKED_SEED)).build(&SigningKey::from_bytes(&STAKED_SEED));
        let (_staked_endpoint, staked) = connect(server.addr, own, ed25519_key(STAKED_SEED)).await;
        let staked = staked.expect("the staked node connects");
        server
            .wait_for("the staked node's admission", |c| {
                c.connections_accepted.get() == 1
            })
            .await;

        // The forger names the staked node in its subject and proves only
        // its own key: unstaked, so refused (no unstaked slots here).
        let cert = forged(|fields, spki| fields.subject = name(&spki));
        let (_forger_endpoint, forger) = connect(server.addr, cert, ed25519_key(FORGER_SEED)).await;
        let forger = forger.expect("the forger's handshake completes");
        let closed = tokio::time::timeout(Duration::from_secs(5), forger.closed())
            .await
            .expect("the forger's connection is closed, not admitted as the staked node");
        match closed {
            quinn::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(
                    close.error_code,
                    quinn::VarInt::from_u32(close_code::DISALLOWED)
                );
            }
            other => panic!("closed by {other:?}, expected the admission refusal"),
        }
        let refused = &server.counters.connections_refused[Refusal::TableFull as usize];
        assert_eq!(
            refused.get(),
            1,
            "refused as unstaked: the unstaked table is full"
        );
        assert_eq!(server.counters.connections_accepted.get(), 1);
        assert!(
            staked.close_reason().is_none(),
            "the staked node keeps its slot"
        );
        server.ingress.shutdown().await;
    });
}

#[test]
fn a_p256_client_naming_a_staked_node_fails_the_handshake() {
    runtime().block_on(async {
        let server = Server::start();
        let holder = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&ed25519_spki(&key_of(
            STAKED_SEED,
        ))));
        let cert = params
            .self_signed(&holder)
            .expect("certificate")
            .der()
            .to_vec();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(holder.serialize_der()));
        let (_endpoint, connection) = connect(server.addr, cert, key).await;
        // The client may finish its side of the handshake before the server
        // has checked its certificate; either way it must not stay connected.
        if let Ok(connection) = connection {
            let closed = tokio::time::timeout(Duration::from_secs(5), connection.closed())
                .await
                .expect("the P-256 client is disconnected");
            assert!(
                !matches!(closed, quinn::ConnectionError::ApplicationClosed(_)),
                "refused in the handshake, not admitted and then closed: {closed:?}"
            );
        }
        server
            .wait_for("the failed handshake", |c| c.handshakes_failed.get() == 1)
            .await;
        assert_eq!(server.counters.connections_accepted.get(), 0);
        server.ingress.shutdown().await;
    });
}
