//! `cert_identity`: the peer identity a client certificate yields
//! (`rampart::quic::tls::ed25519_pubkey`), alone and through the whole
//! server-side client-certificate verification.
//!
//! The input is a certificate (DER). A client holding the fixed key
//! [`CLIENT_SEED`] presents it, alone in its chain, in an in-memory TLS 1.3
//! handshake with Rampart's server configuration
//! (`rampart::quic::tls::server_config`, client certificate required), and
//! signs the handshake with that key.
//!
//! - Nothing panics.
//! - `ed25519_pubkey` names a key exactly when webpki (what rustls checks the
//!   handshake signature with) reads an RFC 8410 Ed25519 key from the
//!   certificate, and it is that same key: the identity that stake is looked
//!   up by is the key the handshake proved.
//! - When the server completes the handshake, it saw exactly this one
//!   certificate and its identity is the client's real key: a certificate
//!   cannot claim someone else's identity.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rampart::quic::{
    identity::Identity,
    tls::{client_config, ed25519_pubkey, server_config},
};
use rustls::{
    client::ResolvesClientCert,
    crypto::ring::sign::any_eddsa_type,
    pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName},
    sign::CertifiedKey,
    ClientConnection, ServerConnection, SignatureScheme,
};

/// The client's key seed (examples/make_seeds.rs writes certificates of it).
const CLIENT_SEED: [u8; 32] = [0xc1; 32];
/// The server's key seed.
const SERVER_SEED: [u8; 32] = [0x5e; 32];
/// Ed25519 SubjectPublicKeyInfo up to the key (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

struct Fixture {
    server: Arc<rustls::ServerConfig>,
    client_identity: Identity,
    client: rustls::ClientConfig,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let server_identity = Identity::from_seed(SERVER_SEED);
        let client_identity = Identity::from_seed(CLIENT_SEED);
        Fixture {
            server: Arc::new(server_config(&server_identity, true).expect("server config")),
            client: client_config(&client_identity).expect("client config"),
            client_identity,
        }
    })
}

/// Presents a fixed chain with the client's key, whatever the chain says.
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl ResolvesClientCert for Present {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The Ed25519 key webpki reads from `cert`, if it parses and has one in
/// the only encoding RFC 8410 allows (no parameters, 32-byte key).
fn webpki_ed25519_key(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let spki = parsed.subject_public_key_info();
    let spki: &[u8] = spki.as_ref();
    let key = spki.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
    key.try_into().ok()
}

/// Runs the handshake; true if the server completed it.
fn handshake(fixture: &Fixture, cert: CertificateDer<'static>) -> Option<ServerConnection> {
    let key = any_eddsa_type(&PrivatePkcs8KeyDer::from(
        fixture.client_identity.pkcs8_der(),
    ))
    .expect("client key");
    let mut config = fixture.client.clone();
    config.client_auth_cert_resolver =
        Arc::new(Present(Arc::new(CertifiedKey::new(vec![cert], key))));
    let name = ServerName::try_from("localhost").expect("server name");
    let mut client = ClientConnection::new(Arc::new(config), name).expect("client connection");
    let mut server = ServerConnection::new(fixture.server.clone()).expect("server connection");
    for _ in 0..32 {
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).expect("client write");
        }
        let mut incoming = &wire[..];
        while !incoming.is_empty() {
            server.read_tls(&mut incoming).ok()?;
            server.process_new_packets().ok()?;
        }
        if !server.is_handshaking() {
            return Some(server);
        }
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).expect("server write");
        }
        let mut incoming = &wire[..];
        while !incoming.is_empty() {
            client.read_tls(&mut incoming).ok()?;
            client.process_new_packets().ok()?;
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let named = ed25519_pubkey(data);
    let cert = CertificateDer::from(data.to_vec());
    let checked = webpki_ed25519_key(&cert);
    if checked.is_some() || named.is_some() {
        assert_eq!(
            named, checked,
            "the identity differs from the key the handshake is checked against"
        );
    }

    // A handshake costs ~10 ms under the sanitizer: run it for every
    // certificate that could pass (either parser finds a key) and for one
    // input in eight of the rest, which the server must refuse.
    if checked.is_none() && named.is_none() && data.len() % 8 != 0 {
        return;
    }
    let fixture = fixture();
    if let Some(server) = handshake(fixture, cert) {
        let seen = server.peer_certificates().expect("a client certificate");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].as_ref(), data);
        assert_eq!(
            ed25519_pubkey(seen[0].as_ref()),
            Some(fixture.client_identity.pubkey()),
            "the server accepted a certificate naming another identity"
        );
    }
});
