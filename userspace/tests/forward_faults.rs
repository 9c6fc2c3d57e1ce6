//! The forwarder under validator faults (issue 12, item 2): real QUIC on
//! loopback, the forwarder's public `run` fed through its channel, a real
//! TPU-style sink as the validator.
//!
//! 1. The validator disappears and comes back: the forwarder keeps counting
//!    while it is gone, reconnects once it is back, sends the freshest
//!    transactions first and counts the stale ones as expired.
//! 2. The validator accepts the connection but grants no stream credit: the
//!    connection is counted as stalled and replaced, and once a healthy
//!    validator takes the address the forwarder serves again within 10 s.
//! 3. The validator stops acknowledging (a relay that drops everything, then
//!    resumes): counted, and recovered through a new connection.
//!
//! Every wait has a deadline; every transaction sent must end in exactly one
//! of the forwarder's terminal counters.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use rampart::{
    lab::loadgen::tpu::{SinkOptions, TpuSink},
    metrics::Counters,
    packet::Packet,
    pipeline::forward::{self, ForwardConfig},
    quic::identity::Identity,
};
use tokio::{net::UdpSocket, sync::mpsc, task::JoinHandle};

/// One test at a time: the machine is small and the deadlines are real.
static SERIAL: Mutex<()> = Mutex::new(());

/// The validator's identity (the sink's certificate).
const VALIDATOR: [u8; 32] = [0x7a; 32];
/// The appliance's identity (the forwarder's client certificate).
const APPLIANCE: [u8; 32] = [0xa9; 32];

/// A forwarder running on its own task, fed through its channel.
struct Forwarder {
    input: Option<mpsc::Sender<Packet>>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
    sent: u64,
}

impl Forwarder {
    fn start(config: ForwardConfig) -> Self {
        let (input, output) = mpsc::channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(forward::run(
            config,
            Identity::from_seed(APPLIANCE),
            output,
            counters.clone(),
        ));
        Forwarder {
            input: Some(input),
            counters,
            task,
            sent: 0,
        }
    }

    /// Hands the forwarder one transaction, `label`, received now.
    async fn send(&mut self, label: String) {
        let packet = Packet {
            bytes: label.into_bytes(),
            received: Instant::now(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
        };
        let input = self.input.as_ref().expect("input open");
        input.send(packet).await.expect("forwarder alive");
        self.sent += 1;
    }

    /// Closes the input and waits for the forwarder to drain and return.
    async fn finish(self) -> Arc<Counters> {
        let Forwarder {
            input,
            counters,
            task,
            sent,
        } = self;
        drop(input);
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the forwarder returns once its input closes")
            .expect("forwarder task");
        assert_eq!(
            accounted(&counters),
            sent,
            "every transaction in exactly one terminal counter: {}",
            snapshot(&counters)
        );
        assert_eq!(counters.forward_backlog.get(), 0, "backlog gauge");
        counters
    }
}

/// Transactions that reached a terminal counter of the forwarder.
fn accounted(c: &Counters) -> u64 {
    c.forwarded.get() + c.forward_failed.get() + c.forward_expired.get() + c.forward_evicted.get()
}

/// The forwarder's counters, for failure messages and the report.
fn snapshot(c: &Counters) -> String {
    format!(
        "forwarded {} failed {} expired {} evicted {} stalled {} connects {} backlog {}",
        c.forwarded.get(),
        c.forward_failed.get(),
        c.forward_expired.get(),
        c.forward_evicted.get(),
        c.forward_stalled.get(),
        c.forward_connects.get(),
        c.forward_backlog.get(),
    )
}

/// Polls `done` every 10 ms until it holds, or panics naming `what`; returns
/// how long it took.
async fn wait_for(
    what: &str,
    within: Duration,
    counters: &Counters,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "{what}: not within {within:?} ({})",
            snapshot(counters)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// A sink at `listen`, retrying while a stopped sink still holds the port.
async fn sink_at(listen: SocketAddr, stream_credit: u32) -> TpuSink {
    let options = SinkOptions {
        listen,
        stream_credit,
    };
    let start = Instant::now();
    loop {
        match TpuSink::start_with(&Identity::from_seed(VALIDATOR), options) {
            Ok(sink) => return sink,
            Err(error) => {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "sink at {listen}: {error}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends a fresh probe every 50 ms until the sink has one; returns how long
/// that took.
async fn probe_until_served(
    forwarder: &mut Forwarder,
    sink: &TpuSink,
    within: Duration,
) -> Duration {
    let start = Instant::now();
    let mut i = 0;
    while !sink
        .received()
        .iter()
        .any(|r| r.bytes.starts_with(b"probe-"))
    {
        assert!(
            start.elapsed() < within,
            "not serving again within {within:?} ({})",
            snapshot(&forwarder.counters)
        );
        forwarder.send(format!("probe-{i:04}")).await;
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

#[test]
fn validator_outage_counts_expires_stale_and_sends_fresh_first() {
    let _serial = serial();
    runtime().block_on(async {
        let sink = sink_at(SocketAddr::from(([127, 0, 0, 1], 0)), 1024).await;
        let target = sink.local_addr().expect("sink address");
        let mut forwarder = Forwarder::start(ForwardConfig {
            target,
            // One stream at a time, so the validator sees the order chosen.
            max_in_flight: 1,
            // The default maximum age (5 s): the stale wait it out while the
            // validator is away; the older and newer sent after them have
            // ample time once it is back.
            // Quick redials keep the test short; the pacing itself is unit-tested.
            connections_per_minute: 60,
            ..ForwardConfig::default()
        });
        for i in 0..5 {
            forwarder.send(format!("before-{i:04}")).await;
        }
        wait_for(
            // Acknowledged too, or stopping the sink could fail the last.
            "served and acknowledged before the outage",
            Duration::from_secs(10),
            &forwarder.counters,
            || sink.count() == 5 && forwarder.counters.forwarded.get() == 5,
        )
        .await;

        sink.stop().await;
        for i in 0..20 {
            forwarder.send(format!("stale-{i:04}")).await;
        }
        // The loop keeps counting while the validator is gone.
        let waited = wait_for(
            "stale transactions expired during the outage",
            Duration::from_secs(10),
            &forwarder.counters,
            || forwarder.counters.forward_expired.get() == 20,
        )
        .await;
        println!("outage: 20 stale expired {waited:?} after being sent");
        for i in 0..20 {
            forwarder.send(format!("older-{i:04}")).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        for i in 0..20 {
            forwarder.send(format!("newer-{i:04}")).await;
        }
        wait_for(
            "held while the validator is away",
            Duration::from_secs(2),
            &forwarder.counters,
            || forwarder.counters.forward_backlog.get() == 40,
        )
        .await;

        let back = Instant::now();
        let sink = sink_at(target, 1024).await;
        let served = wait_for(
            "reconnected and delivered",
            Duration::from_secs(10),
            &forwarder.counters,
            || sink.count() == 40,
        )
        .await;
        let first = sink
            .received()
            .first()
            .map(|r| r.at.duration_since(back))
            .expect("received");
        println!(
            "outage: first delivery {first:?} after the validator returned, all 40 after {served:?}"
        );
        let order: Vec<String> = sink
            .received()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.bytes).into_owned())
            .collect();
        assert!(
            order.iter().all(|label| !label.starts_with("stale-")),
            "stale transactions are never forwarded: {order:?}"
        );
        let newer_done = order.iter().rposition(|l| l.starts_with("newer-"));
        let older_first = order.iter().position(|l| l.starts_with("older-"));
        assert!(
            matches!((newer_done, older_first), (Some(n), Some(o)) if n < o),
            "fresh transactions go first after the outage: {order:?}"
        );
        let counters = forwarder.finish().await;
        sink.stop().await;
        assert_eq!(counters.forwarded.get(), 45, "{}", snapshot(&counters));
        assert_eq!(counters.forward_expired.get(), 20);
        assert_eq!(counters.forward_connects.get(), 2, "one reconnect");
    });
}

#[test]
fn validator_without_stream_credit_is_replaced_and_serving_resumes() {
    let _serial = serial();
    runtime().block_on(async {
        let stingy = sink_at(SocketAddr::from(([127, 0, 0, 1], 0)), 0).await;
        let target = stingy.local_addr().expect("sink address");
        // Default deadlines and Agave's connection pacing: the bar is for
        // the configuration an operator runs.
        let mut forwarder = Forwarder::start(ForwardConfig {
            target,
            ..ForwardConfig::default()
        });
        for i in 0..10 {
            forwarder.send(format!("starved-{i:04}")).await;
        }
        let detected = wait_for(
            "the starved connection counted as stalled, its transactions as failed",
            Duration::from_secs(10),
            &forwarder.counters,
            || {
                forwarder.counters.forward_stalled.get() >= 1
                    && forwarder.counters.forward_failed.get() >= 10
            },
        )
        .await;
        println!("no credit: stall detected after {detected:?}");
        assert_eq!(stingy.count(), 0);

        stingy.stop().await;
        let healthy = sink_at(target, 1024).await;
        let recovered = probe_until_served(&mut forwarder, &healthy, Duration::from_secs(10)).await;
        println!(
            "no credit: serving again {recovered:?} after the healthy validator took the address ({})",
            snapshot(&forwarder.counters)
        );
        let counters = forwarder.finish().await;
        healthy.stop().await;
        assert!(counters.forward_connects.get() >= 2, "the stalled connection was replaced");
    });
}

/// A UDP relay between the forwarder and the validator that can go dark:
/// while dark it drops every datagram both ways, so the validator neither
/// receives nor acknowledges anything.
struct Relay {
    addr: SocketAddr,
    dark: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").await.expect("relay front");
        let back = UdpSocket::bind("127.0.0.1:0").await.expect("relay back");
        back.connect(target).await.expect("relay target");
        let addr = front.local_addr().expect("relay address");
        let dark = Arc::new(AtomicBool::new(false));
        let is_dark = dark.clone();
        let task = tokio::spawn(async move {
            let (mut up, mut down) = (vec![0u8; 65_536], vec![0u8; 65_536]);
            let mut client = None;
            loop {
                tokio::select! {
                    Ok((len, from)) = front.recv_from(&mut up) => {
                        client = Some(from);
                        if !is_dark.load(Ordering::Relaxed) {
                            let _ = back.send(&up[..len]).await;
                        }
                    }
                    Ok(len) = back.recv(&mut down) => {
                        if let (false, Some(client)) = (is_dark.load(Ordering::Relaxed), client) {
                            let _ = front.send_to(&down[..len], client).await;
                        }
                    }
                }
            }
        });
        Relay { addr, dark, task }
    }

    fn set_dark(&self, dark: bool) {
        self.dark.store(dark, Ordering::Relaxed);
    }
}

#[test]
fn validator_that_stops_acknowledging_is_replaced_and_serving_resumes() {
    let _serial = serial();
    runtime().block_on(async {
        let sink = sink_at(SocketAddr::from(([127, 0, 0, 1], 0)), 1024).await;
        let relay = Relay::start(sink.local_addr().expect("sink address")).await;
        let mut forwarder = Forwarder::start(ForwardConfig {
            target: relay.addr,
            ..ForwardConfig::default()
        });
        for i in 0..5 {
            forwarder.send(format!("before-{i:04}")).await;
        }
        wait_for(
            "served before the fault",
            Duration::from_secs(10),
            &forwarder.counters,
            || sink.count() == 5 && forwarder.counters.forwarded.get() == 5,
        )
        .await;

        relay.set_dark(true);
        for i in 0..10 {
            forwarder.send(format!("unacked-{i:04}")).await;
        }
        let detected = wait_for(
            "the silent connection counted as stalled, its transactions as failed",
            Duration::from_secs(15),
            &forwarder.counters,
            || {
                forwarder.counters.forward_stalled.get() >= 1
                    && forwarder.counters.forward_failed.get() >= 10
            },
        )
        .await;
        println!("no acks: stall detected after {detected:?}");

        relay.set_dark(false);
        let recovered = probe_until_served(&mut forwarder, &sink, Duration::from_secs(15)).await;
        println!(
            "no acks: serving again {recovered:?} after the relay resumed ({})",
            snapshot(&forwarder.counters)
        );
        let counters = forwarder.finish().await;
        relay.task.abort();
        sink.stop().await;
        assert!(
            counters.forward_connects.get() >= 2,
            "the silent connection was replaced"
        );
    });
}
