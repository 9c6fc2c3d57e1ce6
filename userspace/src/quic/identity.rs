//! The appliance's identity: a Solana keypair file (a JSON array of 64 bytes,
//! secret seed then public key), created on first start if absent. Its key
//! signs the TLS certificates of both the ingress server and the forwarder.

use std::{fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

use ed25519_dalek::SigningKey;

/// Errors reading or creating the identity file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The file cannot be read or written.
    #[error("identity file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a Solana keypair.
    #[error("identity file {path} is not a Solana keypair (a JSON array of 64 bytes): {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No OS randomness to make a new key.
    #[error("cannot draw randomness for a new identity: {0}")]
    Random(String),
}

/// An Ed25519 identity.
#[derive(Clone)]
pub struct Identity {
    signing: SigningKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.pubkey_hex())
    }
}

impl Identity {
    /// An identity from a 32-byte secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Identity {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// A fresh random identity.
    ///
    /// # Errors
    /// No OS randomness.
    pub fn generate() -> Result<Self, IdentityError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| IdentityError::Random(e.to_string()))?;
        Ok(Identity::from_seed(seed))
    }

    /// Reads the keypair at `path`, or creates it (mode 0600) if it is absent.
    ///
    /// # Errors
    /// The file exists but is not a keypair, or cannot be read or written.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        let name = path.display().to_string();
        match fs::read_to_string(path) {
            Ok(text) => Identity::from_json(&text)
                .map_err(|reason| IdentityError::Format { path: name, reason }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = Identity::generate()?;
                let io = |source| IdentityError::Io {
                    path: name.clone(),
                    source,
                };
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(io)?;
                }
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(identity.to_json().as_bytes()).map_err(io)?;
                Ok(identity)
            }
            Err(source) => Err(IdentityError::Io { path: name, source }),
        }
    }

    fn from_json(text: &str) -> Result<Self, String> {
        let bytes: Vec<u8> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|v: Vec<u8>| format!("{} bytes, expected 64", v.len()))?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[..32]);
        let identity = Identity::from_seed(seed);
        if identity.pubkey() != bytes[32..] {
            return Err("the public key does not match the secret key".into());
        }
        Ok(identity)
    }

    /// The keypair as Solana writes it: a JSON array of 64 bytes.
    pub fn to_json(&self) -> String {
        let mut bytes = self.signing.to_bytes().to_vec();
        bytes.extend_from_slice(&self.pubkey());
        serde_json::to_string(&bytes).unwrap_or_default()
    }

    /// The public key.
    pub fn pubkey(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key in hex (for logs).
    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey())
    }

    /// The secret seed as a PKCS#8 v1 document (RFC 8410), for TLS libraries.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(&self.signing.to_bytes());
        der
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_files_round_trip_and_are_created_once() {
        let dir = std::env::temp_dir().join(format!("rampart-identity-{}", std::process::id()));
        let path = dir.join("id.json");
        let _ = fs::remove_dir_all(&dir);
        let first = Identity::load_or_create(&path).unwrap();
        let again = Identity::load_or_create(&path).unwrap();
        assert_eq!(first.pubkey(), again.pubkey());
        fs::write(&path, "[1,2,3]").unwrap();
        assert!(Identity::load_or_create(&path)
            .unwrap_err()
            .to_string()
            .contains("64"));
        let _ = fs::remove_dir_all(&dir);
    }
}
