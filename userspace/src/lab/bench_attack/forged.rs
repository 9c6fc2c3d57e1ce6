//! The forger's certificate: its subject's common name holds the staked
//! node's Ed25519 SubjectPublicKeyInfo, byte for byte, while its own
//! SubjectPublicKeyInfo holds the forger's key, which its TLS handshake
//! proves. An appliance that takes the identity from anywhere but the
//! certificate's own key treats the forger as the staked node.
//!
//! Built by hand in DER ([`crate::lab::der`], as `tests/identity.rs` does): no certificate library
//! would put raw key bytes in a name.

use ed25519_dalek::{Signer, SigningKey};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::{
    lab::der::{der, ed25519_spki, name, seq, ED25519_ALG},
    quic::{identity::Identity, tls::client_config_presenting},
};

/// The forger's key seed.
pub(super) const FORGER_SEED: [u8; 32] = [0xf0; 32];

/// A self-signed X.509 v3 certificate of `signer`'s key whose subject names
/// `embedded`'s SubjectPublicKeyInfo.
pub(super) fn forged_certificate(signer: &SigningKey, embedded: &[u8; 32]) -> Vec<u8> {
    let version = der(0xa0, &der(0x02, &[0x02]));
    let validity = seq(&[&der(0x17, b"260101000000Z"), &der(0x17, b"360101000000Z")]);
    let tbs = seq(&[
        &version,
        &der(0x02, &[0x01, 0x02, 0x03]),
        &ED25519_ALG,
        &name(b"Solana node"),
        &validity,
        &name(&ed25519_spki(embedded)),
        &ed25519_spki(&signer.verifying_key().to_bytes()),
    ]);
    let signature = signer.sign(&tbs).to_bytes();
    seq(&[
        &tbs,
        &ED25519_ALG,
        &der(0x03, &[&[0u8][..], &signature].concat()),
    ])
}

/// The forger's TLS client configuration: the forged certificate, and its
/// own key to sign the handshake.
///
/// # Errors
/// rustls refuses the key.
pub(super) fn forged_tls(
    seed: [u8; 32],
    embedded: &[u8; 32],
) -> anyhow::Result<rustls::ClientConfig> {
    let cert = forged_certificate(&SigningKey::from_bytes(&seed), embedded);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        Identity::from_seed(seed).pkcs8_der(),
    ));
    Ok(client_config_presenting(CertificateDer::from(cert), key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quic::tls::certificate_key;

    #[test]
    fn the_forged_certificate_is_the_forger_s_and_carries_the_staked_key() {
        let staked = Identity::from_seed([0x51; 32]).pubkey();
        let cert = forged_certificate(&SigningKey::from_bytes(&FORGER_SEED), &staked);
        let spki = ed25519_spki(&staked);
        assert!(cert.windows(spki.len()).any(|w| w == spki));
        assert_eq!(
            certificate_key(&cert).ok(),
            Some(Identity::from_seed(FORGER_SEED).pubkey())
        );
    }
}
