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

/// The Ed25519 public key in a certificate, found through its
/// SubjectPublicKeyInfo (OID 1.3.101.112, 32-byte key).
pub fn ed25519_pubkey(cert: &[u8]) -> Option<[u8; 32]> {
    const SPKI_PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let at = cert
        .windows(SPKI_PREFIX.len())
        .position(|w| w == SPKI_PREFIX)?;
    let key = cert.get(at + SPKI_PREFIX.len()..at + SPKI_PREFIX.len() + 32)?;
    key.try_into().ok()
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
        if !intermediates.is_empty() || ed25519_pubkey(end_entity).is_none() {
            return Err(rustls::Error::General(
                "expected one self-signed Ed25519 certificate".into(),
            ));
        }
        Ok(ClientCertVerified::assertion())
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
    let provider = provider();
    let (cert, key) = certificate(identity)?;
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

/// The identity key of a connection's peer, from its client certificate.
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
    use super::*;

    #[test]
    fn the_certificate_carries_the_identity_key() {
        let identity = Identity::from_seed([7; 32]);
        let (cert, _) = certificate(&identity).unwrap();
        assert_eq!(ed25519_pubkey(&cert), Some(identity.pubkey()));
    }
}
