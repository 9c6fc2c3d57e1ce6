//! The appliance's identity: a Solana keypair file (a JSON array of 64 bytes,
//! secret seed then public key), created on first start if absent. Its key
//! signs the TLS certificates of both the ingress server and the forwarder.
//!
//! The file is handled as ssh handles a private key, and written so that no
//! crash or full disk can leave a half-written one behind:
//! - an existing file that group or others may read or write is refused,
//!   naming the path, the mode and the fix;
//! - a new file is written to a temporary file in the same directory (mode
//!   0600 from its creation), synced, linked into place (never over an
//!   existing identity), and the directory synced; temporary files that an
//!   interrupted start left behind are removed, never read;
//! - an empty file is refused: no write of ours leaves one, so it was made
//!   elsewhere (a failed copy or restore, an older Rampart interrupted), and a
//!   staked key may have been lost there: replacing it silently would turn a
//!   staked node into an unstaked one;
//! - the directory is never created: a wrong path is an error, and a new
//!   identity is logged (base58) at warn level so that it is noticed.

use std::{
    fs::{self, File},
    io::{Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use ed25519_dalek::SigningKey;

/// Largest identity file read: a keypair is about 250 bytes of JSON, and a
/// wrong path must not make the appliance read a large file whole.
const MAX_FILE_BYTES: u64 = 4096;

/// Permission bits of group and others; any of them set is too open.
const GROUP_OTHER_BITS: u32 = 0o077;

/// Errors reading or creating the identity file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The file cannot be read.
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
    /// The file is empty.
    #[error(
        "identity file {path} is empty: it holds no key (Rampart never leaves an empty one; a \
         copy, a restore or an older Rampart was interrupted). Restore the keypair into it, or \
         remove it (`rm {path}`) to create a new, unstaked identity"
    )]
    Empty {
        /// The file.
        path: String,
    },
    /// Group or others may read or write the file, as ssh refuses for a
    /// private key.
    #[error(
        "identity file {path} has mode {mode:04o}: group or others may read or write its secret \
         key. Run `chmod 600 {path}`, and treat the key as exposed if others could read it"
    )]
    LoosePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The directory the file should be in does not exist.
    #[error(
        "identity file {path}: directory {dir} does not exist (a wrong ingress.identity path?); \
         create it (`install -d -m 700 {dir}`) or correct the path"
    )]
    MissingDirectory {
        /// The file.
        path: String,
        /// Its directory.
        dir: String,
    },
    /// Writing a new identity failed at `step`; nothing was left at `path`.
    #[error("identity file {path}: creating a new identity failed {step}: {source}")]
    Create {
        /// The file.
        path: String,
        /// What was being done.
        step: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
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

    /// Reads the keypair at `path`, or creates it if it is absent (see the
    /// module documentation for how it is written and what is refused). A
    /// created identity is logged at warn level with its base58 public key.
    ///
    /// # Errors
    /// The file exists but is empty, not a keypair, or readable or writable
    /// by group or others; its directory does not exist; or it cannot be
    /// read or written.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityError> {
        let name = path.display().to_string();
        let dir = directory_of(path);
        if dir.is_dir() {
            remove_leftovers(&dir, path);
        }
        match File::open(path) {
            Ok(file) => Identity::read(&name, file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Identity::create(path, &dir),
            Err(source) => Err(IdentityError::Io { path: name, source }),
        }
    }

    /// Reads an opened identity file; its permissions are those of the file
    /// read (`fstat`), not of whatever the path names a moment later.
    fn read(name: &str, file: File) -> Result<Self, IdentityError> {
        let io = |source| IdentityError::Io {
            path: name.to_owned(),
            source,
        };
        let metadata = file.metadata().map_err(io)?;
        if !metadata.is_file() {
            return Err(IdentityError::Format {
                path: name.to_owned(),
                reason: "not a regular file".into(),
            });
        }
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & GROUP_OTHER_BITS != 0 {
            return Err(IdentityError::LoosePermissions {
                path: name.to_owned(),
                mode,
            });
        }
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.is_empty() {
            return Err(IdentityError::Empty {
                path: name.to_owned(),
            });
        }
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(IdentityError::Format {
                path: name.to_owned(),
                reason: format!("larger than {MAX_FILE_BYTES} bytes"),
            });
        }
        Identity::from_json(&text).map_err(|reason| IdentityError::Format {
            path: name.to_owned(),
            reason,
        })
    }

    /// Creates a new identity at `path` in the existing directory `dir`:
    /// temporary file, write, sync, link into place, sync the directory.
    fn create(path: &Path, dir: &Path) -> Result<Self, IdentityError> {
        let name = path.display().to_string();
        match fs::metadata(dir) {
            // Not a directory: creating the temporary file says so.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IdentityError::MissingDirectory {
                    path: name,
                    dir: dir.display().to_string(),
                })
            }
            Err(source) => return Err(IdentityError::Io { path: name, source }),
        }
        let identity = Identity::generate()?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| IdentityError::Random(e.to_string()))?;
        let temp = dir.join(format!("{}{}", leftover_prefix(path), hex::encode(suffix)));
        let written = write_durably(&temp, path, dir, identity.to_json().as_bytes());
        // Whatever happened, the temporary file is not the identity.
        let _ = fs::remove_file(&temp);
        match written {
            Ok(()) => {}
            Err((LINK_STEP, source)) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another start created it meanwhile: that one is the identity.
                return File::open(path)
                    .map_err(|source| IdentityError::Io {
                        path: name.clone(),
                        source,
                    })
                    .and_then(|file| Identity::read(&name, file));
            }
            Err((step, source)) => {
                return Err(IdentityError::Create {
                    path: name,
                    step,
                    source,
                })
            }
        }
        tracing::warn!(
            path = %name,
            identity = %identity.pubkey_base58(),
            "created a new identity: it is unstaked unless the stake file lists it; if this \
             node has an identity already, ingress.identity names the wrong file"
        );
        Ok(identity)
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

    /// The public key in base58, as Solana prints identities.
    pub fn pubkey_base58(&self) -> String {
        bs58::encode(self.pubkey()).into_string()
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

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How the temporary files of `path` are named: hidden, in its directory,
/// followed by a random suffix.
fn leftover_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "identity".into(), |n| n.to_string_lossy());
    format!(".{name}.tmp-")
}

/// The step of [`write_durably`] that finds an identity made meanwhile.
const LINK_STEP: &str = "linking it into place";

/// Writes `bytes` to the new file `temp` (mode 0600), syncs it, links it as
/// `path` (failing with `AlreadyExists` rather than replacing a file there)
/// and syncs `dir`, so that `path` is either absent or whole, after a crash
/// at any point too. The caller removes `temp`.
fn write_durably(
    temp: &Path,
    path: &Path,
    dir: &Path,
    bytes: &[u8],
) -> Result<(), (&'static str, std::io::Error)> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .map_err(|e| ("creating the temporary file", e))?;
    file.write_all(bytes)
        .map_err(|e| ("writing the temporary file", e))?;
    file.sync_all()
        .map_err(|e| ("syncing the temporary file", e))?;
    drop(file);
    fs::hard_link(temp, path).map_err(|e| (LINK_STEP, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ("syncing the directory", e))
}

/// Removes the temporary files an interrupted creation of `path` left in
/// `dir`: none of them is ever the identity.
fn remove_leftovers(dir: &Path, path: &Path) {
    let prefix = leftover_prefix(path);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let leftover = entry.path();
        match fs::remove_file(&leftover) {
            Ok(()) => tracing::warn!(
                file = %leftover.display(),
                "removed a temporary identity file left by an interrupted start"
            ),
            Err(e) => tracing::warn!(
                file = %leftover.display(),
                error = %e,
                "cannot remove a temporary identity file left by an interrupted start"
            ),
        }
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
        fs::create_dir_all(&dir).unwrap();
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
