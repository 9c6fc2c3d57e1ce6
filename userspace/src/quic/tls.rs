//! TLS for Solana's TPU QUIC: self-signed Ed25519 certificates of the node
//! identity, ALPN `solana-tpu`, TLS 1.3 only.
//!
//! Agave's clients present self-signed certificates whose own signature is
//! deliberately invalid, so certificate chains are never validated. What is
//! checked is the TLS 1.3 CertificateVerify signature, which proves the peer
//! holds the key in its certificate; that key is its identity.

use std::sync::Arc;

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{
        ring::default_provider, verify_tls12_signature, verify_tls13_signature, CryptoProvider,
    },
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime},
    server::danger::{ClientCertVerified, ClientCertVerifier},
    DigitallySignedStruct, DistinguishedName, SignatureScheme,
};
use spki::{der::Decode, ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::identity::Identity;

/// The ALPN Agave's TPU requires; without it every handshake fails.
pub const ALPN_SOLANA_TPU: &[u8] = b"solana-tpu";

/// Errors building TLS configurations.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate could not be made.
    #[error("making the identity certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// quinn refused the TLS configuration.
    #[error("QUIC TLS configuration: {0}")]
    Quic(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(default_provider())
}

/// A self-signed certificate of `identity` and its private key.
///
/// # Errors
/// The key cannot be used for signing.
pub fn certificate(
    identity: &Identity,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let pkcs8 = PrivatePkcs8KeyDer::from(identity.pkcs8_der());
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)?;
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    let cert = params.self_signed(&key_pair)?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(pkcs8)))
}

/// Ed25519's algorithm identifier in a SubjectPublicKeyInfo (RFC 8410 §3;
/// its parameters must be absent).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a certificate yields no Ed25519 identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateKeyError {
    /// Not an X.509 v3 certificate rustls would check a signature against.
    #[error("not a certificate rustls accepts: {0}")]
    Certificate(#[source] webpki::Error),
    /// Its SubjectPublicKeyInfo does not decode.
    #[error("malformed subject public key info: {0}")]
    PublicKeyInfo(#[source] spki::der::Error),
    /// Its key is of another algorithm.
    #[error("subject public key is not Ed25519 (algorithm {oid})")]
    Algorithm {
        /// The certificate's key algorithm.
        oid: ObjectIdentifier,
    },
    /// Ed25519 with parameters, which RFC 8410 forbids.
    #[error("Ed25519 subject public key with algorithm parameters")]
    Parameters,
    /// The key is not 32 whole bytes.
    #[error("Ed25519 subject public key is not 32 bytes")]
    KeyLength,
}

/// The Ed25519 public key of a certificate: the key of its own
/// SubjectPublicKeyInfo, as the certificate parser rustls uses
/// (`rustls-webpki`) finds it, which is the key the TLS 1.3
/// CertificateVerify signature is checked against. Key bytes elsewhere in
/// the certificate (subject, issuer, serial, extensions) are never read.
///
/// # Errors
/// The certificate does not parse, or its key is not a 32-byte Ed25519 key
/// without parameters.
pub fn certificate_key(cert: &[u8]) -> Result<[u8; 32], CertificateKeyError> {
    let der = CertificateDer::from(cert);
    let parsed = webpki::EndEntityCert::try_from(&der).map_err(CertificateKeyError::Certificate)?;
    let spki_der = parsed.subject_public_key_info();
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der.as_ref())
        .map_err(CertificateKeyError::PublicKeyInfo)?;
    if spki.algorithm.oid != ED25519_OID {
        return Err(CertificateKeyError::Algorithm {
            oid: spki.algorithm.oid,
        });
    }
    if spki.algorithm.parameters.is_some() {
        return Err(CertificateKeyError::Parameters);
    }
    spki.subject_public_key
        .as_bytes()
        .and_then(|key| key.try_into().ok())
        .ok_or(CertificateKeyError::KeyLength)
}

/// The Ed25519 identity of a certificate, if it has one: [`certificate_key`]
/// without the reason.
pub fn ed25519_pubkey(cert: &[u8]) -> Option<[u8; 32]> {
    certificate_key(cert).ok()
}

/// Checks the TLS handshake signature against the key in the peer's
/// certificate: the one check both verifiers below make.
#[derive(Debug)]
struct HandshakeSignatures(Arc<CryptoProvider>);

impl HandshakeSignatures {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Accepts any one-certificate client chain whose TLS signature verifies.
#[derive(Debug)]
struct IdentityClientVerifier {
    signatures: HandshakeSignatures,
    mandatory: bool,
}

impl ClientCertVerifier for IdentityClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if !intermediates.is_empty() {
            return Err(rustls::Error::General(
                "expected one self-signed Ed25519 certificate, got a chain".into(),
            ));
        }
        certificate_key(end_entity)
            .map(|_| ClientCertVerified::assertion())
            .map_err(|e| rustls::Error::General(format!("client certificate: {e}")))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// Accepts any server certificate (Agave's are self-signed with an invalid
/// signature), still checking the TLS 1.3 handshake signature.
#[derive(Debug)]
struct AnyServerCert {
    signatures: HandshakeSignatures,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// The rustls server configuration of a TPU endpoint for `identity`.
/// With `require_client_cert`, clients without a certificate are refused
/// (Agave's server does this; its clients always send one).
///
/// # Errors
/// Certificate or configuration failure.
pub fn server_config(
    identity: &Identity,
    require_client_cert: bool,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let (cert, key) = certificate(identity)?;
    let verifier = Arc::new(IdentityClientVerifier {
        signatures: HandshakeSignatures(provider.clone()),
        mandatory: require_client_cert,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)?;
    config.alpn_protocols = vec![ALPN_SOLANA_TPU.to_vec()];
    Ok(config)
}

/// The rustls client configuration of a TPU client for `identity`: its
/// certificate alone in the chain, any server certificate accepted.
///
/// # Errors
/// Certificate or configuration failure.
pub fn client_config(identity: &Identity) -> Result<rustls::ClientConfig, TlsError> {
    let (cert, key) = certificate(identity)?;
    client_config_presenting(cert, key)
}

/// The rustls client configuration of a TPU client presenting `cert`, whose
/// handshake `key` signs: a certificate made elsewhere, such as the forged
/// ones of identity tests and attack benchmarks.
///
/// # Errors
/// rustls refuses the key.
pub fn client_config_presenting(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCert {
            signatures: HandshakeSignatures(provider),
        }))
        .with_client_auth_cert(vec![cert], key)?;
    config.alpn_protocols = vec![ALPN_SOLANA_TPU.to_vec()];
    Ok(config)
}

/// The identity key of a connection's peer: the key of its client
/// certificate's SubjectPublicKeyInfo (see [`certificate_key`]), which its
/// TLS handshake signature was checked against.
pub fn peer_pubkey(connection: &quinn::Connection) -> Option<[u8; 32]> {
    let identity = connection.peer_identity()?;
    let certs = identity.downcast_ref::<Vec<CertificateDer<'static>>>()?;
    match certs.as_slice() {
        [only] => ed25519_pubkey(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, CustomExtension, KeyPair, SerialNumber};

    use super::*;

    /// The DER SubjectPublicKeyInfo of Ed25519 key `key` (RFC 8410).
    fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(key);
        spki
    }

    /// A staked node whose key a forger copies into its own certificate.
    fn staked() -> [u8; 32] {
        Identity::from_seed([0x5a; 32]).pubkey()
    }

    /// A certificate of `holder`'s key, signed by it, with `params` as given.
    fn self_signed(holder: &KeyPair, params: CertificateParams) -> Vec<u8> {
        params.self_signed(holder).unwrap().der().to_vec()
    }

    fn ed25519_key(identity: &Identity) -> KeyPair {
        let pkcs8 = PrivatePkcs8KeyDer::from(identity.pkcs8_der());
        KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519).unwrap()
    }

    #[test]
    fn the_certificate_carries_the_identity_key() {
        let identity = Identity::from_seed([7; 32]);
        let (cert, _) = certificate(&identity).unwrap();
        assert_eq!(ed25519_pubkey(&cert), Some(identity.pubkey()));
    }

    #[test]
    fn a_staked_key_in_the_serial_is_not_the_identity() {
        let forger = Identity::from_seed([0xf0; 32]);
        let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.serial_number = Some(SerialNumber::from_slice(&ed25519_spki(&staked())));
        let cert = self_signed(&ed25519_key(&forger), params);
        // The serial comes before the real key: a byte search finds it first.
        let embedded = cert
            .windows(44)
            .position(|w| w == ed25519_spki(&staked()).as_slice());
        let real = cert
            .windows(44)
            .position(|w| w == ed25519_spki(&forger.pubkey()).as_slice());
        assert!(embedded < real, "the forged key must come first");
        assert_eq!(ed25519_pubkey(&cert), Some(forger.pubkey()));
    }

    #[test]
    fn a_staked_key_in_an_extension_is_not_the_identity() {
        let forger = Identity::from_seed([0xf1; 32]);
        let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 59_999, 1],
                ed25519_spki(&staked()),
            ));
        let cert = self_signed(&ed25519_key(&forger), params);
        assert_eq!(ed25519_pubkey(&cert), Some(forger.pubkey()));
    }

    #[test]
    fn a_p256_certificate_carrying_a_staked_ed25519_key_has_no_identity() {
        // Its holder can sign the handshake with P-256 (rustls accepts
        // ECDSA): the certificate must yield no Ed25519 identity at all.
        let holder = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.serial_number = Some(SerialNumber::from_slice(&ed25519_spki(&staked())));
        let cert = self_signed(&holder, params);
        assert_eq!(ed25519_pubkey(&cert), None);
        assert!(matches!(
            certificate_key(&cert),
            Err(CertificateKeyError::Algorithm { .. })
        ));
    }

    #[test]
    fn bytes_that_are_not_a_certificate_have_no_identity() {
        let identity = Identity::from_seed([9; 32]);
        let (cert, _) = certificate(&identity).unwrap();
        // A bare SPKI, every truncation, and trailing bytes.
        assert_eq!(ed25519_pubkey(&ed25519_spki(&staked())), None);
        for len in 0..cert.len() {
            assert_eq!(ed25519_pubkey(&cert[..len]), None, "truncated to {len}");
        }
        let mut trailing = cert.to_vec();
        trailing.extend_from_slice(&ed25519_spki(&staked()));
        assert_eq!(ed25519_pubkey(&trailing), None);
    }
}
