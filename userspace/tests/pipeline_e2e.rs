//! The appliance end to end on loopback.
//!
//! TPU-style QUIC clients, each with its own identity certificate, send a mix
//! over many connections — valid legacy, v0 and v1 transactions, invalid
//! signatures, malformed bytes, duplicates, oversize, empty and unfinished
//! streams — through a real [`Appliance`] to a downstream sink: a TPU-style
//! QUIC server requiring a client certificate, or a plain UDP socket.
//!
//! What must hold: the downstream receives exactly the valid, unique
//! transactions, byte for byte, each once; and every stream sent ends in
//! exactly the terminal counter an independent oracle (the parser plus
//! per-signature verification under the configured rule) predicts. And a
//! graceful shutdown delivers everything it counted as forwarded, even with
//! the validator a round trip away.
//!
//! Every socket is on 127.0.0.1; every wait has a deadline.

use std::{
    collections::{BTreeMap, HashMap},
    net::{SocketAddr, UdpSocket},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use ed25519_dalek::{Signer, SigningKey};
use rampart::{
    appliance::{Appliance, Config, MetricsConfig, PipelineConfig},
    ingress::{
        admission::AdmissionLimits,
        server::{close_code, IngressConfig},
    },
    lab::loadgen::{
        tpu::{TpuClient, TpuSink},
        transactions::{
            generate, push_compact_u16, KeyMode, TxSpec, MAX_LEGACY_MESSAGE, MAX_V1_MESSAGE,
            MIN_MESSAGE,
        },
    },
    metrics::Counters,
    pipeline::forward::{ForwardConfig, ForwardMode},
    quic::identity::Identity,
};
use rampart_sigverify::{
    ed25519,
    txn::{ParseError, Transaction, Version, MAX_LEGACY_SIZE, MAX_V1_SIZE},
    Rule, SignatureInput,
};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};

/// Milliseconds the ingress gives a stream to finish. Long enough that a
/// valid stream is never cut short on a busy 2-core machine.
const STREAM_TIMEOUT_MS: u64 = 1000;
/// Longest any wait for the pipeline may take.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long the counters and the sink must stay still to count as idle.
const SETTLE: Duration = Duration::from_millis(300);

/// One appliance at a time: the machine has two cores, and the stream timeout
/// must never catch a valid stream.
static SERIAL: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------
// Transactions.

/// What the test means a stream to be (checked against the oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Valid,
    Invalid,
    /// Malformed, with the parse error label when the test knows it.
    Malformed(Option<&'static str>),
}

/// What the pipeline must do with one completed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Forward,
    BadSignature,
    Malformed(&'static str),
}

/// The oracle: the parser's verdict, then every signature checked one by one
/// with the single-signature verifier under `rule` (no batching).
fn fate(bytes: &[u8], rule: Rule) -> Fate {
    let tx = match Transaction::parse(bytes) {
        Ok(tx) => tx,
        Err(error) => return Fate::Malformed(error.label()),
    };
    let valid = tx
        .signatures()
        .iter()
        .zip(tx.signer_keys())
        .all(|(signature, pubkey)| {
            ed25519::verify(
                rule,
                &SignatureInput {
                    pubkey,
                    signature,
                    message: tx.message(),
                },
            )
            .is_ok()
        });
    if valid {
        Fate::Forward
    } else {
        Fate::BadSignature
    }
}

fn first_signature(bytes: &[u8]) -> [u8; 64] {
    *Transaction::parse(bytes)
        .expect("a well-formed transaction")
        .first_signature()
}

#[derive(Debug, Clone)]
struct Item {
    bytes: Vec<u8>,
    intent: Intent,
}

impl Item {
    fn new(bytes: Vec<u8>, intent: Intent, rule: Rule) -> Self {
        let item = Item { bytes, intent };
        item.check(rule);
        item
    }

    /// The oracle agrees with what the test meant to build.
    fn check(&self, rule: Rule) {
        let fate = fate(&self.bytes, rule);
        let agrees = match (self.intent, fate) {
            (Intent::Valid, Fate::Forward) | (Intent::Invalid, Fate::BadSignature) => true,
            (Intent::Malformed(None), Fate::Malformed(_)) => true,
            (Intent::Malformed(Some(want)), Fate::Malformed(got)) => want == got,
            _ => false,
        };
        assert!(
            agrees,
            "test data: meant {:?}, oracle says {fate:?} ({} bytes)",
            self.intent,
            self.bytes.len()
        );
    }
}

/// Legacy (≤ 1167-byte messages) and v1 (larger) transactions from the load
/// generator, `invalid_fraction` of them with a bad signature.
fn generated(sizes: &[(usize, usize)], invalid_fraction: f64, seed: u64, rule: Rule) -> Vec<Item> {
    let mut items = Vec::new();
    for (n, &(message_size, count)) in sizes.iter().enumerate() {
        let spec = TxSpec {
            count,
            message_size,
            invalid_fraction,
            keys: KeyMode::Shared(4),
            seed: seed * 1000 + n as u64,
        };
        for tx in generate(&spec).expect("a valid spec") {
            let intent = if tx.valid {
                Intent::Valid
            } else {
                Intent::Invalid
            };
            items.push(Item::new(tx.bytes, intent, rule));
        }
    }
    items
}

/// A legacy-style message (with the v0 prefix when `v0`): fee payer
/// `payer`, a program, one instruction with `data`; for v0 optionally one
/// address-table lookup loading one writable account the instruction uses.
fn build_message(
    rng: &mut StdRng,
    payer: [u8; 32],
    data_len: usize,
    v0: bool,
    lookup: bool,
) -> Vec<u8> {
    let mut message = Vec::new();
    if v0 {
        message.push(0x80);
    }
    message.extend_from_slice(&[1, 0, 1]);
    push_compact_u16(&mut message, 2);
    message.extend_from_slice(&payer);
    message.extend_from_slice(&rng.gen::<[u8; 32]>());
    message.extend_from_slice(&rng.gen::<[u8; 32]>());
    push_compact_u16(&mut message, 1);
    message.push(1);
    let accounts: &[u8] = if lookup { &[0, 2] } else { &[0] };
    push_compact_u16(&mut message, accounts.len());
    message.extend_from_slice(accounts);
    push_compact_u16(&mut message, data_len);
    message.extend((0..data_len).map(|_| rng.gen::<u8>()));
    if v0 {
        if lookup {
            push_compact_u16(&mut message, 1);
            message.extend_from_slice(&rng.gen::<[u8; 32]>());
            push_compact_u16(&mut message, 1);
            message.push(0);
            push_compact_u16(&mut message, 0);
        } else {
            push_compact_u16(&mut message, 0);
        }
    }
    message
}

/// One signature, then the message (legacy/v0 framing).
fn framed(signature: [u8; 64], message: &[u8]) -> Vec<u8> {
    let mut bytes = vec![1];
    bytes.extend_from_slice(&signature);
    bytes.extend_from_slice(message);
    bytes
}

/// A signed legacy or v0 transaction; `valid == false` changes a signed byte
/// (the blockhash) after signing.
fn signed(rng: &mut StdRng, data_len: usize, v0: bool, lookup: bool, valid: bool) -> Vec<u8> {
    let key = SigningKey::from_bytes(&rng.gen());
    let mut message = build_message(rng, key.verifying_key().to_bytes(), data_len, v0, lookup);
    let signature = key.sign(&message).to_bytes();
    if !valid {
        let blockhash = if v0 { 1 + 3 + 1 + 64 } else { 3 + 1 + 64 };
        message[blockhash] ^= 0x01;
    }
    framed(signature, &message)
}

/// Hand-built v0 transactions (the load generator makes none).
fn v0_transactions(count: usize, invalid: usize, seed: u64, rule: Rule) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count + invalid)
        .map(|i| {
            let valid = i < count;
            let data_len = rng.gen_range(0..=900);
            let bytes = signed(&mut rng, data_len, true, i % 2 == 0, valid);
            let tx = Transaction::parse(&bytes).expect("v0 parses");
            assert_eq!(tx.version(), Version::V0);
            assert_eq!(tx.num_address_table_lookups(), usize::from(i % 2 == 0));
            let intent = if valid {
                Intent::Valid
            } else {
                Intent::Invalid
            };
            Item::new(bytes, intent, rule)
        })
        .collect()
}

/// A legacy transaction whose fee payer is the identity point and whose
/// signature is (R = identity, S = 0): it satisfies the cofactored equation
/// for any message, so ZIP-215 accepts it and the strict rule (small-order
/// key) rejects it.
fn small_order(seed: u64, rule: Rule) -> Item {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    let message = build_message(&mut rng, identity_point, 8, false, false);
    let mut signature = [0u8; 64];
    signature[0] = 1;
    let intent = match rule {
        Rule::Strict | Rule::Zip215Amended => Intent::Invalid,
        Rule::Zip215 => Intent::Valid,
    };
    Item::new(framed(signature, &message), intent, rule)
}

/// Malformed streams: random junk, truncated transactions, a trailing byte,
/// wrong framings (no signature, a signature too many, v1 message in a legacy
/// frame, a non-canonical compact-u16), an unknown version, and correctly
/// signed legacy transactions over 1232 bytes.
fn malformed(sources: &[Item], junk: usize, truncated: usize, seed: u64, rule: Rule) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut items = Vec::new();
    while items.len() < junk {
        let len = rng.gen_range(1..=1500);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if Transaction::parse(&bytes).is_err() {
            items.push(Item::new(bytes, Intent::Malformed(None), rule));
        }
    }
    for i in 0..truncated {
        let source = &sources[i * 7 % sources.len()].bytes;
        let len = rng.gen_range(1..source.len());
        items.push(Item::new(
            source[..len].to_vec(),
            Intent::Malformed(None),
            rule,
        ));
    }
    for i in 0..2 {
        // A legacy transaction signed correctly but larger than a legacy
        // transaction may be (the stream itself is within 4096 bytes).
        let bytes = signed(&mut rng, 1200 + 700 * i, false, false, true);
        assert!(bytes.len() > MAX_LEGACY_SIZE && bytes.len() < MAX_V1_SIZE);
        items.push(Item::new(bytes, Intent::Malformed(Some("too_large")), rule));
    }
    // A valid transaction with a byte after its end.
    let mut trailing = sources[0].bytes.clone();
    trailing.push(0);
    items.push(Item::new(
        trailing,
        Intent::Malformed(Some("trailing_bytes")),
        rule,
    ));
    // A legacy transaction's signature and message, re-framed wrongly.
    let legacy = &sources[0].bytes;
    assert_eq!(legacy[0], 1, "a legacy transaction with one signature");
    let (signature, message) = (&legacy[1..65], &legacy[65..]);
    let reframed: [(&[&[u8]], &'static str); 4] = [
        (&[&[0], message], "no_signatures"),
        (
            &[&[2], signature, signature, message],
            "signature_count_mismatch",
        ),
        (
            &[&[1], signature, &[0x81], message],
            "v1_message_in_legacy_frame",
        ),
        (
            // The key count 2 as the non-canonical compact-u16 [0x82, 0x00].
            &[&[1], signature, &message[..3], &[0x82, 0x00], &message[4..]],
            "bad_compact_u16",
        ),
    ];
    for (parts, label) in reframed {
        items.push(Item::new(
            parts.concat(),
            Intent::Malformed(Some(label)),
            rule,
        ));
    }
    // A versioned transaction of an unknown version.
    let mut unknown = sources[1].bytes.clone();
    unknown[0] = 0x82;
    items.push(Item::new(
        unknown,
        Intent::Malformed(Some("unknown_version")),
        rule,
    ));
    items
}

/// A copy of a valid transaction with the same signatures but one changed
/// signed byte (its blockhash): well-formed, same first signature, and it
/// fails verification.
fn corrupted_copy(valid: &Item, rule: Rule) -> Item {
    let tx = Transaction::parse(&valid.bytes).expect("a well-formed transaction");
    let at = tx.recent_blockhash().as_ptr() as usize - valid.bytes.as_ptr() as usize;
    let mut bytes = valid.bytes.clone();
    bytes[at] ^= 0x80;
    assert_eq!(first_signature(&bytes), first_signature(&valid.bytes));
    Item::new(bytes, Intent::Invalid, rule)
}

// ---------------------------------------------------------------------------
// The plan of what is sent, and what must come of it.

/// Everything one scenario sends.
#[derive(Debug, Default)]
struct Plan {
    /// Corrupted copies of valid transactions, sent first on their own
    /// connection, and counted before anything else is sent.
    shadows: Vec<Vec<u8>>,
    /// The main traffic, one list of streams per connection, sent concurrently.
    connections: Vec<Vec<Vec<u8>>>,
    /// Sizes of oversize streams, each on its own connection.
    oversize: Vec<usize>,
    /// Empty streams, each on its own connection.
    empty: usize,
    /// Unfinished streams on their own connection each.
    unfinished_alone: usize,
    /// Unfinished streams on the first data connection, among valid traffic.
    unfinished_shared: usize,
}

impl Plan {
    /// Shuffles `items` over `connections` connections and adds extra copies
    /// of a quarter of the valid ones (two of a twentieth), each copy on
    /// another connection than its original; corrupted copies of the valid
    /// `items[i]` for `i` in `shadowed` go first.
    fn new(
        mut items: Vec<Item>,
        connections: usize,
        shadowed: &[usize],
        rule: Rule,
        seed: u64,
    ) -> Self {
        let shadows = shadowed
            .iter()
            .map(|&i| corrupted_copy(&items[i], rule).bytes)
            .collect();
        let mut rng = StdRng::seed_from_u64(seed);
        items.shuffle(&mut rng);
        let mut plan = Plan {
            shadows,
            connections: vec![Vec::new(); connections],
            ..Plan::default()
        };
        let mut valid_seen = 0usize;
        for (i, item) in items.iter().enumerate() {
            plan.connections[i % connections].push(item.bytes.clone());
            if item.intent == Intent::Valid {
                valid_seen += 1;
                // Every 4th valid transaction is sent twice, every 20th
                // three times, the copies on other connections.
                if valid_seen.is_multiple_of(4) {
                    plan.connections[(i + 1) % connections].push(item.bytes.clone());
                }
                if valid_seen.is_multiple_of(20) {
                    plan.connections[(i + 2) % connections].push(item.bytes.clone());
                }
            }
        }
        for streams in &mut plan.connections {
            streams.shuffle(&mut rng);
        }
        plan
    }

    fn streams(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.connections.iter().flatten()
    }

    /// Streams the ingress sees to an end (the `entered` counter).
    fn entered(&self) -> u64 {
        (self.shadows.len()
            + self.streams().count()
            + self.oversize.len()
            + self.empty
            + self.unfinished_alone
            + self.unfinished_shared) as u64
    }

    /// Client connections the plan opens.
    fn client_connections(&self) -> u64 {
        (1 + self.connections.len() + self.oversize.len() + self.empty + self.unfinished_alone)
            as u64
    }

    /// What the oracle predicts.
    fn expected(&self, rule: Rule) -> Expected {
        let mut malformed: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut bad_signature = 0u64;
        let mut forward_copies = 0u64;
        let mut forwarded: HashMap<[u8; 64], &Vec<u8>> = HashMap::new();
        let mut invalid_signatures = Vec::new();
        for bytes in &self.shadows {
            assert_eq!(fate(bytes, rule), Fate::BadSignature, "a shadow must fail");
            bad_signature += 1;
        }
        for bytes in self.streams() {
            match fate(bytes, rule) {
                Fate::Forward => {
                    forward_copies += 1;
                    let original = *forwarded.entry(first_signature(bytes)).or_insert(bytes);
                    // Otherwise which copy is forwarded would depend on order.
                    assert_eq!(original, bytes, "two valid transactions share a signature");
                }
                Fate::BadSignature => {
                    bad_signature += 1;
                    invalid_signatures.push(first_signature(bytes));
                }
                Fate::Malformed(label) => *malformed.entry(label).or_default() += 1,
            }
        }
        // An invalid transaction sharing its first signature with a valid one
        // would end as duplicate or bad signature depending on arrival order;
        // the only such copies are the shadows, which are sent first.
        for signature in &invalid_signatures {
            assert!(
                !forwarded.contains_key(signature),
                "order-dependent test data"
            );
        }
        for bytes in &self.shadows {
            assert!(
                forwarded.contains_key(&first_signature(bytes)),
                "each shadow copies a transaction that must be forwarded"
            );
        }
        let mut forwarded: Vec<Vec<u8>> = forwarded.into_values().cloned().collect();
        forwarded.sort();
        let mut terminal = BTreeMap::new();
        let mut set = |name: &str, value: u64| {
            terminal.insert(name.to_owned(), value);
        };
        set("entered", self.entered());
        set("empty", self.empty as u64);
        set("oversize", self.oversize.len() as u64);
        set(
            "unfinished",
            (self.unfinished_alone + self.unfinished_shared) as u64,
        );
        set("reset", 0);
        set("shed_ingress", 0);
        set("duplicate", forward_copies - forwarded.len() as u64);
        set("shed_verify", 0);
        set("bad_signature", bad_signature);
        set("shed_forward", 0);
        set("forward_failed", 0);
        set("forwarded", forwarded.len() as u64);
        for label in ParseError::LABELS {
            set(
                &format!("malformed.{label}"),
                malformed.get(label).copied().unwrap_or(0),
            );
        }
        Expected {
            terminal,
            forwarded,
        }
    }
}

/// The oracle's prediction.
#[derive(Debug)]
struct Expected {
    /// `entered`, every terminal counter, and malformed by label.
    terminal: BTreeMap<String, u64>,
    /// The transactions the sink must receive, sorted, each once.
    forwarded: Vec<Vec<u8>>,
}

/// `entered` and every terminal counter, malformed by label.
fn terminal_counters(counters: &Counters) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = [
        ("entered", &counters.entered),
        ("empty", &counters.empty),
        ("oversize", &counters.oversize),
        ("unfinished", &counters.unfinished),
        ("reset", &counters.reset),
        ("shed_ingress", &counters.shed_ingress),
        ("duplicate", &counters.duplicate),
        ("shed_verify", &counters.shed_verify),
        ("bad_signature", &counters.bad_signature),
        ("shed_forward", &counters.shed_forward),
        ("forward_failed", &counters.forward_failed),
        ("forwarded", &counters.forwarded),
    ]
    .into_iter()
    .map(|(name, counter)| (name.to_owned(), counter.get()))
    .collect();
    for (label, counter) in ParseError::LABELS.iter().zip(&counters.malformed) {
        out.insert(format!("malformed.{label}"), counter.get());
    }
    out
}

// ---------------------------------------------------------------------------
// Downstream sinks.

/// Datagrams and where they came from.
type Datagrams = Arc<Mutex<Vec<(Vec<u8>, SocketAddr)>>>;

/// A UDP "TPU": one socket on loopback and a thread keeping every datagram.
struct UdpSink {
    addr: SocketAddr,
    received: Datagrams,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl UdpSink {
    fn start() -> Self {
        let socket = UdpSocket::bind(("127.0.0.1", 0)).expect("bind the UDP sink");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let addr = socket.local_addr().expect("UDP sink address");
        let received = Datagrams::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (store, stopping) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut buffer = vec![0u8; 65_536];
            while !stopping.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120)
            {
                if let Ok((len, from)) = socket.recv_from(&mut buffer) {
                    let mut store = store.lock().expect("sink store");
                    if store.len() < 100_000 {
                        store.push((buffer[..len].to_vec(), from));
                    }
                }
            }
        });
        UdpSink {
            addr,
            received,
            stop,
            thread,
        }
    }
}

enum Sink {
    Quic(TpuSink),
    Udp(UdpSink),
}

impl Sink {
    fn addr(&self) -> SocketAddr {
        match self {
            Sink::Quic(sink) => sink.local_addr().expect("QUIC sink address"),
            Sink::Udp(sink) => sink.addr,
        }
    }

    fn count(&self) -> usize {
        match self {
            Sink::Quic(sink) => sink.count(),
            Sink::Udp(sink) => sink.received.lock().map(|r| r.len()).unwrap_or(0),
        }
    }

    /// Every transaction received, with the sender's certificate identity
    /// (QUIC) or nothing (UDP); for UDP also checks the source is loopback.
    fn received(&self) -> Vec<(Vec<u8>, Option<[u8; 32]>)> {
        match self {
            Sink::Quic(sink) => sink
                .received()
                .into_iter()
                .map(|r| (r.bytes, r.sender))
                .collect(),
            Sink::Udp(sink) => sink
                .received
                .lock()
                .expect("sink store")
                .iter()
                .map(|(bytes, from)| {
                    assert!(from.ip().is_loopback(), "datagram from {from}");
                    (bytes.clone(), None)
                })
                .collect(),
        }
    }

    fn stop(self, runtime: &tokio::runtime::Runtime) {
        match self {
            Sink::Quic(sink) => runtime.block_on(sink.stop()),
            Sink::Udp(sink) => {
                sink.stop.store(true, Ordering::Relaxed);
                sink.thread.join().expect("UDP sink thread");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Running a scenario.

/// A directory of the test's own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rampart-e2e-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path, target: SocketAddr, mode: ForwardMode, rule: Rule) -> Config {
    let defaults = Config::default();
    let config = Config {
        ingress: IngressConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            identity: dir.join("identity.json"),
            stream_timeout_ms: STREAM_TIMEOUT_MS,
            admission: AdmissionLimits {
                // Every test connection comes from 127.0.0.1.
                max_new_connections_per_ip_per_minute: 1000,
                max_connections_per_unstaked_peer: 1000,
                // A connection's token bucket must not decide the counts.
                unstaked_tps_per_ip: 1_000_000,
                ..defaults.ingress.admission
            },
            ..defaults.ingress
        },
        ingress_threads: 2,
        pipeline: PipelineConfig {
            rule,
            verify_threads: Some(2),
            // Longer than the test, so every copy counts as a duplicate.
            dedup_window_ms: 60_000,
            ..defaults.pipeline
        },
        forward: ForwardConfig {
            mode,
            target,
            ..defaults.forward
        },
        metrics: MetricsConfig {
            listen: None,
            xdp_pin_dir: None,
            ..defaults.metrics
        },
    };
    config.validate().expect("a valid configuration");
    config
}

/// Polls `done` every 20 ms until it holds, or panics with `what` after
/// [`DEADLINE`].
async fn wait_until(what: &str, counters: &Counters, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; counters: {:?}",
            terminal_counters(counters)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens a stream, writes part of a transaction, and leaves it unfinished.
async fn unfinished_stream(connection: &quinn::Connection) -> quinn::SendStream {
    let mut stream = connection.open_uni().await.expect("open a stream");
    stream
        .write_all(&[1u8; 100])
        .await
        .expect("write part of a stream");
    stream
}

/// Sends one stream the ingress must refuse, and returns the code the
/// ingress closed the connection with.
async fn rejected_stream(connection: quinn::Connection, bytes: Vec<u8>) -> Option<u64> {
    let mut stream = connection.open_uni().await.ok()?;
    // The ingress may close the connection mid-write.
    let _ = stream.write_all(&bytes).await;
    let _ = stream.finish();
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed()).await;
    drop(stream);
    match closed {
        Ok(quinn::ConnectionError::ApplicationClosed(close)) => Some(close.error_code.into_inner()),
        _ => None,
    }
}

/// The client side: sends the plan and waits until every stream is counted
/// and the sink has what it will get. Returns the terminal counters then.
async fn drive(
    ingress: SocketAddr,
    plan: &Plan,
    expected: &Expected,
    counters: &Counters,
    sink: &Sink,
) -> BTreeMap<String, u64> {
    let clients = [
        TpuClient::new(&Identity::from_seed([0x11; 32])).expect("client"),
        TpuClient::new(&Identity::from_seed([0x12; 32])).expect("client"),
    ];

    // Phase 1: corrupted copies of valid transactions, counted before their
    // valid originals are sent.
    let first = clients[0].connect(ingress).await.expect("connect");
    for bytes in &plan.shadows {
        TpuClient::send(&first, bytes).await.expect("send");
    }
    let shadows = plan.shadows.len() as u64;
    wait_until("the corrupted copies", counters, || {
        counters.bad_signature.get() == shadows
            && counters.entered.get() == shadows
            && counters.terminal_total() == shadows
    })
    .await;

    // Phase 2: everything else, concurrently.
    let mut connections = Vec::new();
    for i in 0..plan.connections.len() {
        connections.push(clients[i % 2].connect(ingress).await.expect("connect"));
    }
    let mut held = Vec::new();
    for _ in 0..plan.unfinished_shared {
        held.push(unfinished_stream(&connections[0]).await);
    }
    let mut alone = Vec::new();
    for i in 0..plan.unfinished_alone {
        let connection = clients[i % 2].connect(ingress).await.expect("connect");
        held.push(unfinished_stream(&connection).await);
        alone.push(connection);
    }
    let senders: Vec<_> = connections
        .iter()
        .zip(&plan.connections)
        .map(|(connection, streams)| {
            let (connection, streams) = (connection.clone(), streams.clone());
            tokio::spawn(async move {
                for bytes in &streams {
                    TpuClient::send(&connection, bytes).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let mut refused = Vec::new();
    let refused_streams = plan
        .oversize
        .iter()
        .map(|&size| vec![0xa5u8; size])
        .chain(std::iter::repeat_n(Vec::new(), plan.empty));
    for (i, bytes) in refused_streams.enumerate() {
        let connection = clients[i % 2].connect(ingress).await.expect("connect");
        refused.push(tokio::spawn(rejected_stream(connection, bytes)));
    }
    for sender in senders {
        tokio::time::timeout(DEADLINE, sender)
            .await
            .expect("sending in time")
            .expect("sender task")
            .expect("every stream sent");
    }
    for refusal in refused {
        let code = tokio::time::timeout(DEADLINE, refusal)
            .await
            .expect("refused in time")
            .expect("refusal task");
        assert_eq!(
            code,
            Some(u64::from(close_code::INVALID_STREAM)),
            "an empty or oversize stream closes its connection with code 5"
        );
    }

    // Every stream counted, nothing in flight, the sink has its share, and
    // all of it stays so for a while.
    let entered = plan.entered();
    let forwarded = expected.forwarded.len();
    let idle = || {
        counters.entered.get() == entered
            && counters.terminal_total() == entered
            && sink.count() >= forwarded
    };
    wait_until("the pipeline to go idle", counters, idle).await;
    let observed = terminal_counters(counters);
    let count = sink.count();
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        terminal_counters(counters),
        observed,
        "counters moved after idle"
    );
    assert_eq!(sink.count(), count, "the sink kept receiving after idle");

    drop(held);
    drop((first, connections, alone));
    for client in clients {
        client.close().await;
    }
    // Every connection, refused streams' included, is let go.
    wait_until("the connections to close", counters, || {
        counters.connections_open.get() == 0
    })
    .await;
    observed
}

/// Runs `plan` through an appliance forwarding in `mode` under `rule` and
/// checks the exact outcome.
fn run(name: &str, plan: Plan, mode: ForwardMode, rule: Rule) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let started = Instant::now();
    let expected = plan.expected(rule);
    let dir = TempDir::new(name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let sink = match mode {
        ForwardMode::Quic => {
            let _guard = runtime.enter();
            Sink::Quic(TpuSink::start(&Identity::from_seed([0x5e; 32])).expect("QUIC sink"))
        }
        ForwardMode::Udp => Sink::Udp(UdpSink::start()),
    };

    let appliance =
        Appliance::start(config(&dir.0, sink.addr(), mode, rule)).expect("appliance starts");
    assert!(
        dir.0.join("identity.json").is_file(),
        "the identity file is created on first start"
    );
    let appliance_key = appliance.identity().pubkey();
    let counters = appliance.counters().clone();
    assert!(appliance.ingress_addr().ip().is_loopback());

    let observed = runtime.block_on(drive(
        appliance.ingress_addr(),
        &plan,
        &expected,
        &counters,
        &sink,
    ));
    appliance.shutdown();
    assert_eq!(
        terminal_counters(&counters),
        observed,
        "counters moved during shutdown"
    );
    let received = sink.received();
    sink.stop(&runtime);
    drop(runtime);

    // Downstream: exactly the valid unique transactions, byte-identical, once.
    let mut copies: HashMap<&[u8], usize> = HashMap::new();
    for (bytes, _) in &received {
        *copies.entry(bytes.as_slice()).or_default() += 1;
    }
    let repeated = copies.values().filter(|&&n| n > 1).count();
    let missing = expected
        .forwarded
        .iter()
        .filter(|bytes| !copies.contains_key(bytes.as_slice()))
        .count();
    let unexpected = copies
        .keys()
        .filter(|bytes| {
            expected
                .forwarded
                .binary_search_by(|e| e.as_slice().cmp(bytes))
                .is_err()
        })
        .count();
    assert_eq!(
        (repeated, missing, unexpected, received.len()),
        (0, 0, 0, expected.forwarded.len()),
        "(repeated, missing, unexpected, received) at the sink"
    );
    let mut got: Vec<Vec<u8>> = received.iter().map(|(bytes, _)| bytes.clone()).collect();
    got.sort();
    assert!(got == expected.forwarded, "the sink's transactions differ");
    if mode == ForwardMode::Quic {
        assert!(
            received
                .iter()
                .all(|(_, sender)| *sender == Some(appliance_key)),
            "the sink sees the appliance's identity on every connection"
        );
    }

    // Counters: each stream in exactly the terminal counter predicted.
    assert_eq!(observed, expected.terminal, "terminal counters");
    assert_eq!(counters.terminal_total(), counters.entered.get());
    let malformed: u64 = expected
        .terminal
        .iter()
        .filter(|(name, _)| name.starts_with("malformed."))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(counters.malformed_total(), malformed);
    assert_eq!(
        counters.connections_accepted.get(),
        plan.client_connections()
    );
    let refused: Vec<u64> = counters
        .connections_refused
        .iter()
        .map(|c| c.get())
        .collect();
    assert_eq!(refused, [0, 0, 0], "connections refused");
    assert_eq!(counters.handshakes_failed.get(), 0);
    let forward_connects = match mode {
        ForwardMode::Quic => 1,
        ForwardMode::Udp => 0,
    };
    assert_eq!(
        counters.forward_connects.get(),
        forward_connects,
        "one persistent forward connection"
    );
    let nonzero: BTreeMap<&String, &u64> = observed.iter().filter(|(_, &n)| n > 0).collect();
    println!("{name}: {nonzero:?} in {:?}", started.elapsed());
}

/// Coverage of the plan's forwarded set: every format, and the largest v1.
fn forwarded_versions(expected: &Expected) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for bytes in &expected.forwarded {
        let version = match Transaction::parse(bytes)
            .expect("forwarded parses")
            .version()
        {
            Version::Legacy => "legacy",
            Version::V0 => "v0",
            Version::V1 => "v1",
        };
        *out.entry(version).or_default() += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn quic_forwarding_delivers_each_valid_unique_transaction_once_and_counts_every_stream() {
    let rule = Rule::Strict;
    let mut items = generated(
        &[
            (MIN_MESSAGE, 40),
            (200, 40),
            (400, 40),
            (700, 40),
            (1000, 40),
            (MAX_LEGACY_MESSAGE, 40),
        ],
        0.1,
        1,
        rule,
    );
    items.extend(generated(
        &[
            (MAX_LEGACY_MESSAGE + 1, 6),
            (2000, 6),
            (3000, 6),
            (MAX_V1_MESSAGE, 6),
        ],
        1.0 / 6.0,
        2,
        rule,
    ));
    items.extend(v0_transactions(30, 4, 3, rule));
    // Valid under ZIP-215 only: a bad signature under the strict rule.
    items.push(small_order(4, rule));
    assert!(
        items
            .iter()
            .any(|i| i.intent == Intent::Valid && i.bytes.len() == MAX_V1_SIZE),
        "a valid transaction of exactly 4096 bytes"
    );
    // Shadow two of each format, the 4096-byte one among them.
    let valid_of = |version: Version| {
        items
            .iter()
            .enumerate()
            .filter(move |(_, item)| {
                item.intent == Intent::Valid
                    && Transaction::parse(&item.bytes).map(|tx| tx.version()) == Ok(version)
            })
            .map(|(i, _)| i)
    };
    let mut shadowed: Vec<usize> = valid_of(Version::Legacy).take(2).collect();
    shadowed.extend(valid_of(Version::V0).take(2));
    shadowed.extend(valid_of(Version::V1).filter(|&i| items[i].bytes.len() == MAX_V1_SIZE));
    shadowed.extend(valid_of(Version::V1).take(1));
    let bad = malformed(&items, 16, 16, 5, rule);
    items.extend(bad);

    let mut plan = Plan::new(items, 8, &shadowed, rule, 6);
    plan.oversize = vec![MAX_V1_SIZE + 1, 6000];
    plan.empty = 1;
    plan.unfinished_alone = 1;
    plan.unfinished_shared = 1;

    let expected = plan.expected(rule);
    let versions = forwarded_versions(&expected);
    assert!(
        versions.get("legacy") >= Some(&200)
            && versions.get("v0") >= Some(&30)
            && versions.get("v1") >= Some(&20),
        "coverage: {versions:?}"
    );
    assert!(expected.terminal["duplicate"] >= 50);
    assert!(expected.terminal["bad_signature"] >= 30);
    run("quic-strict", plan, ForwardMode::Quic, rule);
}

#[test]
fn udp_forwarding_under_zip215_delivers_exactly_the_valid_unique_transactions() {
    let rule = Rule::Zip215;
    let mut items = generated(
        &[(MIN_MESSAGE, 12), (600, 12), (MAX_LEGACY_MESSAGE, 12)],
        0.25,
        11,
        rule,
    );
    let v1_start = items.len();
    items.extend(generated(&[(3000, 4), (MAX_V1_MESSAGE, 2)], 0.25, 12, rule));
    let v0_start = items.len();
    items.extend(v0_transactions(6, 2, 13, rule));
    // Rejected by the strict rule, accepted by ZIP-215: forwarded here. (Not
    // shadowed: its signature holds for any message under ZIP-215.)
    items.push(small_order(14, rule));
    let shadowed = [0, 1, v1_start, v0_start];
    let bad = malformed(&items, 4, 4, 15, rule);
    items.extend(bad);

    let mut plan = Plan::new(items, 3, &shadowed, rule, 16);
    plan.oversize = vec![5000];
    plan.empty = 1;
    plan.unfinished_alone = 1;

    let expected = plan.expected(rule);
    let versions = forwarded_versions(&expected);
    assert!(
        versions.get("legacy") >= Some(&20)
            && versions.get("v0") >= Some(&6)
            && versions.get("v1") >= Some(&4),
        "coverage: {versions:?}"
    );
    run("udp-zip215", plan, ForwardMode::Udp, rule);
}

/// A UDP relay on loopback that delays every datagram towards `target` by
/// `delay` (order kept), so QUIC to `target` has a round trip of `delay`.
struct DelayRelay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl DelayRelay {
    fn start(target: SocketAddr, delay: Duration) -> Self {
        let front = UdpSocket::bind(("127.0.0.1", 0)).expect("bind the relay");
        let back = UdpSocket::bind(("127.0.0.1", 0)).expect("bind the relay");
        back.connect(target).expect("relay target");
        for socket in [&front, &back] {
            socket
                .set_read_timeout(Some(Duration::from_millis(20)))
                .expect("read timeout");
        }
        let addr = front.local_addr().expect("relay address");
        let stop = Arc::new(AtomicBool::new(false));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let (queue, delayed) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let running = |stop: &Arc<AtomicBool>, started: Instant| {
            !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60)
        };
        let mut threads = Vec::new();
        // Towards the target: stamp each datagram with when it may leave.
        let (socket, peer, stopping) = (
            front.try_clone().expect("clone"),
            client.clone(),
            stop.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let (started, mut buffer) = (Instant::now(), vec![0u8; 65_536]);
            while running(&stopping, started) {
                if let Ok((len, from)) = socket.recv_from(&mut buffer) {
                    *peer.lock().expect("relay peer") = Some(from);
                    let _ = queue.send((Instant::now() + delay, buffer[..len].to_vec()));
                }
            }
        }));
        let (socket, stopping) = (back.try_clone().expect("clone"), stop.clone());
        threads.push(std::thread::spawn(move || {
            let started = Instant::now();
            while running(&stopping, started) {
                if let Ok((at, datagram)) = delayed.recv_timeout(Duration::from_millis(20)) {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    let _ = socket.send(&datagram);
                }
            }
        }));
        // Back from the target, undelayed.
        let stopping = stop.clone();
        threads.push(std::thread::spawn(move || {
            let (started, mut buffer) = (Instant::now(), vec![0u8; 65_536]);
            while running(&stopping, started) {
                if let Ok(len) = back.recv(&mut buffer) {
                    if let Some(peer) = *client.lock().expect("relay peer") {
                        let _ = front.send_to(&buffer[..len], peer);
                    }
                }
            }
        }));
        DelayRelay {
            addr,
            stop,
            threads,
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().expect("relay thread");
        }
    }
}

#[test]
fn shutdown_delivers_every_transaction_it_counts_as_forwarded() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let rule = Rule::Strict;
    let items = generated(&[(MAX_LEGACY_MESSAGE, 600)], 0.0, 21, rule);
    let total = items.len() as u64;
    let dir = TempDir::new("drain");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let sink = {
        let _guard = runtime.enter();
        Sink::Quic(TpuSink::start(&Identity::from_seed([0x5e; 32])).expect("QUIC sink"))
    };
    // A 50 ms round trip to the validator: forwarded transactions take a
    // while to be acknowledged, so shutdown finds them in flight.
    let relay = DelayRelay::start(sink.addr(), Duration::from_millis(50));
    let appliance = Appliance::start(config(&dir.0, relay.addr, ForwardMode::Quic, rule))
        .expect("appliance starts");
    let counters = appliance.counters().clone();
    let ingress = appliance.ingress_addr();
    let client = runtime.block_on(async {
        let client = TpuClient::new(&Identity::from_seed([0x21; 32])).expect("client");
        let mut senders = Vec::new();
        for part in items.chunks(items.len() / 4) {
            let connection = client.connect(ingress).await.expect("connect");
            let part: Vec<Vec<u8>> = part.iter().map(|i| i.bytes.clone()).collect();
            senders.push(tokio::spawn(async move {
                // Without waiting for acknowledgements: a burst.
                for bytes in &part {
                    let mut stream = connection.open_uni().await?;
                    stream.write_all(bytes).await?;
                    stream.finish()?;
                }
                anyhow::Ok(connection)
            }));
        }
        let mut connections = Vec::new();
        for sender in senders {
            connections.push(sender.await.expect("sender task").expect("sent"));
        }
        wait_until("every stream read", &counters, || {
            counters.entered.get() == total
        })
        .await;
        (client, connections)
    });
    let before = counters.forwarded.get();
    let start = Instant::now();
    appliance.shutdown();
    let took = start.elapsed();
    let forwarded = counters.forwarded.get();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sink.count() < forwarded as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let delivered = sink.count();
    println!(
        "drain: forwarded {before} before shutdown, {forwarded} after ({took:?}); delivered {delivered}"
    );
    runtime.block_on(client.0.close());
    drop(client.1);
    sink.stop(&runtime);
    relay.stop();

    assert_eq!(counters.terminal_total(), counters.entered.get());
    assert_eq!(forwarded, total, "shutdown drains every stage");
    assert_eq!(
        delivered, forwarded as usize,
        "transactions counted as forwarded must reach the validator"
    );
}
