//! `ingress_stream`: arbitrary stream contents and stream patterns, sent by a
//! real quinn TPU client (`rampart::lab::loadgen::tpu::TpuClient`) to a real
//! in-process ingress server (`rampart::ingress::server::Ingress`) over
//! loopback. Slow per input (a handshake each, and waits for the server's
//! stream timeout), so run it for minutes, not hours.
//!
//! The input is a list of operations on one connection: a finished stream of
//! input bytes (small, around the 1232/4096 limits, or past them), an empty
//! stream, a stream left unfinished, a stream reset midway, a burst of many
//! small streams at once, a stream written in pieces.
//!
//! - Nothing panics (the process would abort).
//! - The books balance: every stream the server counts as entered ends in
//!   exactly one terminal counter (empty, oversize, unfinished, reset, shed)
//!   or is handed to the pipeline, once the server is idle.
//! - When the server closed nothing (no empty or oversize stream in the
//!   input), every stream the client opened and did not reset is counted,
//!   finished or unfinished. (A stream the client resets is counted as
//!   `reset` when the server reads it; one reset before the server took it
//!   may never be read, so resets are left out of this check.)
//! - Every transaction handed on carries exactly bytes the client sent.
#![no_main]

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, OnceLock, RwLock},
    time::Duration,
};

use libfuzzer_sys::fuzz_target;
use quinn::VarInt;
use rampart::{
    fair::{fair_queue, FairLimits, FairReceiver},
    ingress::{
        admission::{AdmissionLimits, PeerKey, StakeTable},
        gate::GateLimits,
        server::{Ingress, IngressConfig},
    },
    lab::loadgen::tpu::TpuClient,
    metrics::Counters,
    packet::Packet,
    quic::identity::Identity,
};
use rampart_fuzz::Choices;

/// The server's stream deadline: short, so unfinished streams resolve fast.
const STREAM_TIMEOUT_MS: u64 = 250;
/// The pipeline queue: small, so a burst waits for room (and sheds if none
/// comes before the stream deadline).
const QUEUE: usize = 24;
/// Transactions per second a peer may send: low, so a burst meets the
/// budget (enforced by withholding stream credit).
const TPS: u32 = 48;
/// Most operations per input.
const MAX_OPS: usize = 24;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: SocketAddr,
    client: TpuClient,
    delivered: FairReceiver<PeerKey, Packet>,
    counters: Arc<Counters>,
    _ingress: Ingress,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = IngressConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            stream_timeout_ms: STREAM_TIMEOUT_MS,
            admission: AdmissionLimits {
                max_new_connections_per_ip_per_minute: usize::MAX,
                max_connections_per_unstaked_peer: 64,
                unstaked_streams: 64,
                unstaked_tps_per_ip: TPS,
                ..AdmissionLimits::default()
            },
            // One connection per input, many inputs a second, one source.
            handshakes: GateLimits {
                new_connections_per_second: u32::MAX,
                per_source_per_minute: u32::MAX,
                ..GateLimits::default()
            },
            ..IngressConfig::default()
        };
        let counters = Arc::new(Counters::default());
        let (tx, delivered) = fair_queue(FairLimits {
            capacity: QUEUE,
            unstaked_floor: 0.2,
        });
        let stakes = Arc::new(RwLock::new(Arc::new(StakeTable::default())));
        let (ingress, client) = runtime.block_on(async {
            let ingress = Ingress::start(
                config,
                &Identity::from_seed([0x11; 32]),
                stakes,
                tx,
                counters.clone(),
            )
            .expect("ingress");
            let client = TpuClient::new(&Identity::from_seed([0x22; 32])).expect("client");
            (ingress, client)
        });
        Fixture {
            server: ingress.local_addr().expect("address"),
            runtime,
            client,
            delivered,
            counters,
            _ingress: ingress,
        }
    })
}

/// The counters this target balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Books {
    entered: u64,
    empty: u64,
    oversize: u64,
    unfinished: u64,
    reset: u64,
    shed: u64,
}

impl Books {
    fn read(counters: &Counters) -> Self {
        Books {
            entered: counters.entered.get(),
            empty: counters.empty.get(),
            oversize: counters.oversize.get(),
            unfinished: counters.unfinished.get(),
            reset: counters.reset.get(),
            shed: counters.shed_ingress.get() + counters.shed_heaviest.get(),
        }
    }

    fn terminal(&self) -> u64 {
        self.empty + self.oversize + self.unfinished + self.reset + self.shed
    }

    fn since(&self, before: &Books) -> Books {
        Books {
            entered: self.entered - before.entered,
            empty: self.empty - before.empty,
            oversize: self.oversize - before.oversize,
            unfinished: self.unfinished - before.unfinished,
            reset: self.reset - before.reset,
            shed: self.shed - before.shed,
        }
    }
}

#[derive(Debug)]
enum Op {
    /// A finished stream of these bytes.
    Send(Vec<u8>),
    /// A stream with these bytes, never finished.
    Unfinished(Vec<u8>),
    /// A stream with these bytes, then reset.
    Reset(Vec<u8>),
    /// This many finished streams at once, each of these bytes plus its index.
    Burst(usize, Vec<u8>),
    /// A finished stream written in pieces of this size.
    Pieces(Vec<u8>, usize),
}

fn payload(choices: &mut Choices<'_>, len: usize) -> Vec<u8> {
    let mut bytes = choices.take(len).to_vec();
    let fill = bytes.len();
    bytes.extend((fill..len).map(|i| i as u8));
    bytes
}

fn ops(data: &[u8]) -> Vec<Op> {
    let mut choices = Choices::new(data);
    let mut ops = Vec::new();
    while !choices.is_empty() && ops.len() < MAX_OPS {
        let op = match choices.byte() % 8 {
            0 | 1 => {
                let len = choices.below(400);
                Op::Send(payload(&mut choices, len))
            }
            2 => {
                // Around the limits: 1232 (legacy) and 4096 (the stream cap).
                let len = [1232, 4096][choices.below(2)] - 8 + choices.below(17);
                Op::Send(payload(&mut choices, len))
            }
            3 => Op::Send(Vec::new()),
            4 => {
                let len = choices.below(200);
                Op::Unfinished(payload(&mut choices, len))
            }
            5 => {
                let len = choices.below(200);
                Op::Reset(payload(&mut choices, len))
            }
            6 => {
                let count = 1 + choices.below(80);
                let len = 1 + choices.below(64);
                Op::Burst(count, payload(&mut choices, len))
            }
            _ => {
                let len = choices.below(3000);
                let piece = 1 + choices.below(700);
                Op::Pieces(payload(&mut choices, len), piece)
            }
        };
        ops.push(op);
    }
    ops
}

/// What the client did: streams opened and not reset, whether the server
/// had reason to close the connection, every payload sent in full, and the
/// streams left unfinished.
struct Sent {
    opened: u64,
    closes: bool,
    whole: HashSet<Vec<u8>>,
    /// Held open until the connection closes: quinn finishes a send stream
    /// when it is dropped, so dropping one would turn an unfinished stream
    /// the server has not accepted yet (its budget withholds credit) into a
    /// finished one the server rightly hands on.
    unfinished: Vec<quinn::SendStream>,
}

/// Sends every operation.
async fn run(connection: &quinn::Connection, ops: &[Op]) -> Sent {
    let mut opened = 0u64;
    let mut closes = false;
    let mut sent = HashSet::new();
    let mut waiting = Vec::new();
    'ops: for op in ops {
        let streams: Vec<(Vec<u8>, usize, bool, bool)> = match op {
            Op::Send(bytes) => {
                closes |= bytes.is_empty() || bytes.len() > 4096;
                vec![(bytes.clone(), bytes.len().max(1), true, false)]
            }
            Op::Unfinished(bytes) => vec![(bytes.clone(), bytes.len().max(1), false, false)],
            Op::Reset(bytes) => vec![(bytes.clone(), bytes.len().max(1), false, true)],
            Op::Burst(count, bytes) => (0..*count)
                .map(|i| {
                    let mut bytes = bytes.clone();
                    bytes.extend_from_slice(&(i as u32).to_le_bytes());
                    let len = bytes.len();
                    (bytes, len, true, false)
                })
                .collect(),
            Op::Pieces(bytes, piece) => {
                closes |= bytes.is_empty() || bytes.len() > 4096;
                vec![(bytes.clone(), *piece, true, false)]
            }
        };
        for (bytes, piece, finish, reset) in streams {
            let Ok(Ok(mut stream)) =
                tokio::time::timeout(Duration::from_secs(2), connection.open_uni()).await
            else {
                break 'ops;
            };
            opened += 1;
            let mut ok = true;
            for chunk in bytes.chunks(piece) {
                if stream.write_all(chunk).await.is_err() {
                    ok = false;
                    break;
                }
            }
            if reset {
                // Make sure the stream reaches the server before the reset.
                if bytes.is_empty() {
                    let _ = stream.write_all(&[0]).await;
                }
                tokio::task::yield_now().await;
                let _ = stream.reset(VarInt::from_u32(7));
                opened -= 1;
                continue;
            }
            if finish {
                if stream.finish().is_err() {
                    ok = false;
                }
                if ok && !bytes.is_empty() && bytes.len() <= 4096 {
                    sent.insert(bytes);
                }
            } else if bytes.is_empty() {
                // An unfinished stream the server can see.
                let _ = stream.write_all(&[0]).await;
            }
            waiting.push(tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(3), stream.stopped()).await;
                (!finish).then_some(stream)
            }));
        }
    }
    let mut unfinished = Vec::new();
    for task in waiting {
        if let Ok(Some(stream)) = task.await {
            unfinished.push(stream);
        }
    }
    Sent {
        opened,
        closes,
        whole: sent,
        unfinished,
    }
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let ops = ops(data);
    if ops.is_empty() {
        return;
    }
    let before = Books::read(&fixture.counters);
    let mut delivered = 0u64;
    let mut foreign = Vec::new();
    fixture.runtime.block_on(async {
        let Ok(connection) = fixture.client.connect(fixture.server).await else {
            panic!("the ingress refused a connection");
        };
        // The pipeline behind the ingress drains while the client sends, as
        // the batch stage does: a full queue stops the ingress accepting
        // streams, and a stream larger than its window could then never be
        // written whole (the harness hung there, drained only afterwards).
        let mut early = Vec::new();
        let sending = run(&connection, &ops);
        tokio::pin!(sending);
        let Sent {
            opened,
            closes,
            whole: sent,
            unfinished,
        } = loop {
            tokio::select! {
                sent = &mut sending => break sent,
                _ = tokio::time::sleep(Duration::from_millis(5)) => {
                    early.extend(fixture.delivered.take(usize::MAX));
                }
            }
        };
        for packet in early {
            delivered += 1;
            if !sent.contains(&packet.bytes) {
                foreign.push(packet.bytes);
            }
        }
        // Wait for the server to settle: every opened stream counted when
        // nothing closed the connection, else the books balanced and still.
        let mut stable = 0;
        let mut last = Books::default();
        for _ in 0..400 {
            for packet in fixture.delivered.take(usize::MAX) {
                delivered += 1;
                if !sent.contains(&packet.bytes) {
                    foreign.push(packet.bytes);
                }
            }
            let now = Books::read(&fixture.counters).since(&before);
            let balanced = now.entered == now.terminal() + delivered;
            // Each stream not reset counted once, and not as a reset.
            let all_counted = closes || now.entered >= opened + now.reset;
            if balanced && all_counted {
                stable = if now == last { stable + 1 } else { 0 };
                if stable >= 3 {
                    break;
                }
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        connection.close(VarInt::from_u32(0), b"done");
        // Closed first, so dropping these cannot finish them.
        drop(unfinished);
        let now = Books::read(&fixture.counters).since(&before);
        assert_eq!(
            now.entered,
            now.terminal() + delivered,
            "the books do not balance: {now:?}, {delivered} handed on, {opened} streams opened"
        );
        if !closes {
            assert!(
                now.entered >= opened + now.reset,
                "streams opened but not counted: {now:?}, {delivered} handed on, {opened} opened"
            );
        }
    });
    assert!(
        foreign.is_empty(),
        "handed on bytes the client never sent as a whole stream: {:02x?}",
        foreign.first().map(|b| &b[..b.len().min(32)])
    );
});
