//! Identities, both ways round.
//!
//! A client's identity is the key of its certificate's own
//! SubjectPublicKeyInfo, the key its TLS handshake signature was checked
//! against, never key bytes found elsewhere in the certificate (issue 11,
//! item 1). Certificates are built here byte by byte in DER, so that another
//! key's SubjectPublicKeyInfo can sit in the subject, the issuer, the serial
//! or an extension, and a real QUIC client presents one to the real ingress
//! server.
//!
//! The appliance's own identity file survives a crash or a full disk on first
//! start, refuses loose permissions, an empty file and a missing directory,
//! and announces a new key (issue 12). The full-disk test mounts a small tmpfs:
//! root only, it prints `skipping <test>: needs root` otherwise.

use std::{
    fs,
    io::Write,
    net::SocketAddr,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc, Mutex, RwLock,
    },
    time::{Duration, Instant},
};

use ed25519_dalek::{Signer, SigningKey};
use quinn::crypto::rustls::QuicClientConfig;
use rampart::{
    fair::{fair_queue, FairLimits, FairReceiver},
    filter::is_root,
    ingress::{
        admission::{AdmissionLimits, PeerKey, Refusal, StakeTable},
        server::{close_code, Ingress, IngressConfig},
    },
    lab::der::{der, ed25519_spki, name, seq, ED25519_ALG},
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

/// A P-256 SubjectPublicKeyInfo (the point need not be on the curve: the
/// identity is refused for its algorithm before anything reads the point).
fn p256_spki() -> Vec<u8> {
    let ec_public_key = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    let prime256v1 = der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    let mut point = vec![0u8, 0x04];
    point.extend([0x11; 64]);
    seq(&[&seq(&[&ec_public_key, &prime256v1]), &der(0x03, &point)])
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
    _packets: FairReceiver<PeerKey, Packet>,
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
        let (out, packets) = fair_queue(FairLimits {
            capacity: 16,
            unstaked_floor: 0.2,
        });
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

// ---------------------------------------------------------------------------
// The identity file.

/// A directory of the test's own under the system's temporary directory,
/// removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "rampart-identity-{}-{test}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the test directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes `text` to `path` with permission bits `mode`.
fn write_file(path: &Path, text: &str, mode: u32) {
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create the file");
    file.write_all(text.as_bytes()).expect("write the file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The names in `dir` that look like an identity file's temporary files.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read the directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains(".tmp"))
        .collect()
}

#[test]
fn a_missing_directory_is_an_error_and_is_not_created() {
    let dir = TempDir::new("missing-dir");
    let absent = dir.0.join("absent");
    let path = absent.join("identity.json");
    let error = Identity::load_or_create(&path)
        .expect_err("a wrong path must not create a new identity")
        .to_string();
    assert!(error.contains(&absent.display().to_string()), "{error}");
    assert!(error.contains("does not exist"), "{error}");
    assert!(!absent.exists(), "the directory must not be created");
}

#[test]
fn only_owner_only_permissions_are_accepted() {
    let dir = TempDir::new("permissions");
    let path = dir.0.join("identity.json");
    let identity = Identity::from_seed([0x33; 32]);
    for mode in [0o600, 0o400] {
        write_file(&path, &identity.to_json(), mode);
        let loaded = Identity::load_or_create(&path)
            .unwrap_or_else(|e| panic!("mode {mode:04o} must be accepted: {e}"));
        assert_eq!(loaded.pubkey(), identity.pubkey());
    }
    for mode in [
        0o640, 0o604, 0o644, 0o660, 0o606, 0o620, 0o602, 0o666, 0o610,
    ] {
        write_file(&path, &identity.to_json(), mode);
        let error = Identity::load_or_create(&path)
            .expect_err("group or others can reach the secret key")
            .to_string();
        for part in [
            path.display().to_string(),
            format!("{mode:04o}"),
            format!("chmod 600 {}", path.display()),
        ] {
            assert!(
                error.contains(&part),
                "mode {mode:04o}: {error:?} lacks {part:?}"
            );
        }
        assert_eq!(
            fs::read_to_string(&path).expect("the file is left alone"),
            identity.to_json()
        );
    }
}

#[test]
fn an_empty_identity_file_is_refused_and_left_alone() {
    // What an interrupted in-place write (Rampart before issue 12, or a copy
    // or restore) leaves. It holds no key, and Rampart cannot tell a first
    // start's leftover from a staked key lost in a failed restore: refused,
    // naming the fix, never silently replaced by a new unstaked key.
    let dir = TempDir::new("empty");
    let path = dir.0.join("identity.json");
    write_file(&path, "", 0o600);
    let error = Identity::load_or_create(&path)
        .expect_err("an empty file is not an identity")
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("empty"), "{error}");
    assert!(error.contains(&format!("rm {}", path.display())), "{error}");
    assert_eq!(fs::metadata(&path).expect("still there").len(), 0);
    // The fix it names works.
    fs::remove_file(&path).expect("rm");
    let created = Identity::load_or_create(&path).expect("a new identity");
    let again = Identity::load_or_create(&path).expect("the same identity");
    assert_eq!(created.pubkey(), again.pubkey());
}

#[test]
fn a_leftover_temporary_file_is_never_the_identity() {
    // What a start killed before its rename leaves: a whole key and a partial
    // one in temporary files, no identity file.
    let dir = TempDir::new("leftover");
    let path = dir.0.join("identity.json");
    let unused = Identity::from_seed([0x44; 32]);
    write_file(
        &dir.0.join(".identity.json.tmp-0011223344556677"),
        &unused.to_json(),
        0o600,
    );
    write_file(
        &dir.0.join(".identity.json.tmp-8899aabbccddeeff"),
        "[12,34,",
        0o600,
    );
    let created = Identity::load_or_create(&path).expect("a new identity");
    assert_ne!(created.pubkey(), unused.pubkey());
    assert_eq!(leftovers(&dir.0), Vec::<String>::new(), "leftovers removed");
    // One killed after its link, before removing its temporary file.
    write_file(
        &dir.0.join(".identity.json.tmp-0123456789abcdef"),
        &unused.to_json(),
        0o600,
    );
    let again = Identity::load_or_create(&path).expect("the same identity");
    assert_eq!(again.pubkey(), created.pubkey());
    assert_eq!(leftovers(&dir.0), Vec::<String>::new(), "leftovers removed");
}

/// Log lines captured from `tracing`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `load_or_create(path)` and returns its result and what it logged.
fn load_logging(path: &Path) -> (Identity, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let identity = tracing::subscriber::with_default(subscriber, || {
        Identity::load_or_create(path).expect("identity")
    });
    let log = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("UTF-8");
    (identity, log)
}

#[test]
fn a_new_identity_is_announced_once_and_kept_across_restarts() {
    let dir = TempDir::new("restarts");
    let path = dir.0.join("identity.json");
    let (first, log) = load_logging(&path);
    let base58 = bs58::encode(first.pubkey()).into_string();
    let line = log
        .lines()
        .find(|line| line.contains(&base58))
        .unwrap_or_else(|| panic!("the new key {base58} is not logged: {log:?}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&path.display().to_string()), "{line}");
    let metadata = fs::metadata(&path).expect("the identity file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::read_to_string(&path).expect("read"), first.to_json());
    for _ in 0..3 {
        let (again, log) = load_logging(&path);
        assert_eq!(again.pubkey(), first.pubkey());
        assert!(
            !log.contains(&base58),
            "a loaded identity is not new: {log:?}"
        );
    }
}

/// True (and says so) when the test cannot run: not root. Under CI (`CI`
/// set and not empty) that is a failure instead, as in `tests/common`.
fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    if std::env::var_os("CI").is_some_and(|value| !value.is_empty()) {
        panic!("{test} needs root (it mounts a tmpfs) and CI is set, so it must run, not skip");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: needs root (it mounts a tmpfs)"
    );
    true
}

/// A small tmpfs mounted on a directory of its own, unmounted on drop.
struct SmallTmpfs {
    mount: PathBuf,
    _dir: TempDir,
}

impl SmallTmpfs {
    fn mount(test: &str, size: &str) -> Self {
        let dir = TempDir::new(test);
        let mount = dir.0.join("mnt");
        fs::create_dir(&mount).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0700"))
            .arg("rampart-identity-test")
            .arg(&mount)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mount -t tmpfs on {}: {status}",
            mount.display()
        );
        SmallTmpfs { mount, _dir: dir }
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

#[test]
fn a_full_disk_on_first_start_leaves_no_identity_and_a_later_start_succeeds() {
    let test = "a_full_disk_on_first_start_leaves_no_identity_and_a_later_start_succeeds";
    if skip_unless_root(test) {
        return;
    }
    let disk = SmallTmpfs::mount("full-disk", "64k");
    let filler = disk.mount.join("filler");
    let mut file = fs::File::create(&filler).expect("filler");
    let block = [0u8; 4096];
    let full = loop {
        if let Err(e) = file.write_all(&block) {
            break e;
        }
    };
    assert_eq!(full.raw_os_error(), Some(libc::ENOSPC), "filled: {full}");
    drop(file);

    let path = disk.mount.join("identity.json");
    let error = Identity::load_or_create(&path)
        .expect_err("no room for the identity")
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(
        !path.exists(),
        "a failed first start leaves no identity file"
    );
    assert_eq!(leftovers(&disk.mount), Vec::<String>::new());

    // Room again: the next start creates the identity, and keeps it.
    fs::remove_file(&filler).expect("free the disk");
    let created = Identity::load_or_create(&path).expect("a new identity");
    let again = Identity::load_or_create(&path).expect("the same identity");
    assert_eq!(created.pubkey(), again.pubkey());
}
