//! The QUIC forwarder's shell: one loop that only moves data and asks the
//! pure cores what to do, with the slow parts beside it as tasks.
//!
//! The loop takes transactions into the [`Backlog`], hands the freshest to
//! stream tasks while the connection has room, and on a short tick expires
//! stale ones, asks the [`Watchdog`] whether the connection stalled, asks the
//! [`Dialer`] whether to dial, and publishes the backlog gauge. Dialing and
//! every stream run as tasks that report back through one channel, so no
//! handshake, stream credit or acknowledgement ever blocks the loop.
//!
//! A transaction's outcome is counted by the loop alone, once: when its
//! stream task reports while the stream is tracked, or, if its connection
//! stalls or is lost first, when the watchdog is drained (a stream
//! acknowledged in the very instant its connection closes may so count as
//! failed though delivered; never the other way round).

use std::time::{Duration, Instant};

use quinn::VarInt;
use tokio::{
    sync::mpsc::{self, Receiver, UnboundedSender},
    time::MissedTickBehavior,
};

use super::{
    backlog::Backlog,
    fail_all, publish_latency,
    watchdog::{Phase, Watchdog},
    ForwardConfig,
};
use crate::{
    metrics::{latency::LatencyHistogram, Counters},
    packet::Packet,
    pipeline::pacing::Dialer,
    quic::{
        endpoint::{any_for, bind, tpu_client_config, EndpointError},
        identity::Identity,
    },
};

/// How often the loop expires, checks deadlines, dials and publishes: the
/// resolution of every deadline and of the maximum age.
const TICK: Duration = Duration::from_millis(50);
/// The window of the connection budget (Agave counts per minute).
const PACING_WINDOW: Duration = Duration::from_secs(60);
/// Application close code: the appliance is shutting down.
const CLOSE_SHUTDOWN: u32 = 0;
/// Application close code: the connection missed a deadline.
const CLOSE_STALLED: u32 = 1;
/// Longest the endpoint is given to say goodbye at shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs the QUIC forwarder until `input` closes and the backlog is empty.
pub(super) async fn run(
    config: &ForwardConfig,
    identity: &Identity,
    mut input: Receiver<Packet>,
    counters: &Counters,
    latency: &mut LatencyHistogram,
) {
    let (endpoint, client) = match setup(config, identity) {
        Ok(setup) => setup,
        Err(error) => {
            tracing::error!(%error, "cannot set up the QUIC forwarder");
            return fail_all(input, counters).await;
        }
    };
    let (events, mut reports) = mpsc::unbounded_channel();
    let mut shell = Shell {
        config,
        counters,
        endpoint,
        client,
        events,
        backlog: Backlog::new(config.queue, config.max_age()),
        dialer: Dialer::new(config.connections_per_minute, PACING_WINDOW),
        link: Link::Down,
        generation: 0,
        next_stream: 0,
        max_in_flight: config.max_in_flight.max(1),
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut open = true;
    loop {
        tokio::select! {
            packet = input.recv(), if open => match packet {
                Some(packet) => shell.take(packet),
                None => open = false,
            },
            Some(event) = reports.recv() => shell.handle(event, Instant::now(), latency),
            _ = tick.tick() => shell.housekeep(Instant::now(), latency),
        }
        shell.step(Instant::now());
        // The batch stage sets the gauge as it fills the queue; taking from
        // it is only seen here.
        counters.forward_queue_depth.set(input.len() as u64);
        if !open && shell.idle() {
            break;
        }
    }
    shell.close().await;
}

/// The client endpoint and its TLS configuration.
fn setup(
    config: &ForwardConfig,
    identity: &Identity,
) -> Result<(quinn::Endpoint, quinn::ClientConfig), EndpointError> {
    let client = tpu_client_config(identity)?;
    let endpoint = bind(any_for(config.target), None)?;
    Ok((endpoint, client))
}

/// What the tasks beside the loop report.
enum Event {
    /// A dial finished.
    Dialed(Result<quinn::Connection, DialError>),
    /// Connection `generation` closed (by either side, or lost).
    Closed { generation: u64 },
    /// Stream `id` on connection `generation` moved on.
    Stream {
        generation: u64,
        id: u64,
        progress: Progress,
    },
}

/// How far a stream got.
enum Progress {
    /// It has stream credit.
    Opened,
    /// Written and finished; waiting for the acknowledgement.
    Written,
    /// Acknowledged; `added` is ingress to hand-off (written and finished).
    Delivered { added: Duration },
    /// The stream or its connection failed.
    Failed,
}

/// Why a dial failed.
#[derive(Debug, thiserror::Error)]
enum DialError {
    /// The endpoint refused to start the connection.
    #[error("connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] quinn::ConnectionError),
    /// No answer within the handshake deadline.
    #[error("handshake timed out after {0:?}")]
    Timeout(Duration),
}

/// The connection to the validator.
enum Link {
    /// None; the dialer says when to dial.
    Down,
    /// A dial is under way.
    Dialing,
    /// Connected.
    Up(Up),
}

/// A live connection and its streams.
struct Up {
    connection: quinn::Connection,
    generation: u64,
    watchdog: Watchdog,
    /// Whether anything was delivered on it.
    delivered: bool,
}

/// The loop's state.
struct Shell<'a> {
    config: &'a ForwardConfig,
    counters: &'a Counters,
    endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
    events: UnboundedSender<Event>,
    backlog: Backlog<Packet>,
    dialer: Dialer,
    link: Link,
    generation: u64,
    next_stream: u64,
    max_in_flight: usize,
}

impl Shell<'_> {
    /// A transaction from the verify stage: held until its turn.
    fn take(&mut self, packet: Packet) {
        if self.backlog.push(packet.received, packet).is_some() {
            self.counters.forward_evicted.inc();
        }
    }

    /// Dials if the link is down and the dialer allows it, hands the
    /// freshest transactions to streams while the connection has room, and
    /// publishes the backlog gauge.
    fn step(&mut self, now: Instant) {
        if matches!(self.link, Link::Down) {
            self.dial(now);
        }
        if let Link::Up(up) = &mut self.link {
            while up.watchdog.len() < self.max_in_flight {
                let Some(packet) = self.backlog.pop_freshest(now) else {
                    break;
                };
                let id = self.next_stream;
                self.next_stream += 1;
                up.watchdog.start(id, now);
                tokio::spawn(send_one(
                    up.connection.clone(),
                    packet,
                    up.generation,
                    id,
                    self.events.clone(),
                ));
            }
        }
        self.counters.forward_backlog.set(self.backlog.len() as u64);
    }

    /// Starts a dial beside the loop, if the dialer allows one now.
    fn dial(&mut self, now: Instant) {
        if self.dialer.try_dial(now).is_err() {
            return;
        }
        let connecting =
            match self
                .endpoint
                .connect_with(self.client.clone(), self.config.target, "solana-tpu")
            {
                Ok(connecting) => connecting,
                Err(error) => {
                    self.dial_failed(DialError::from(error));
                    return;
                }
            };
        self.link = Link::Dialing;
        let (events, deadline) = (self.events.clone(), self.config.connect_timeout());
        tokio::spawn(async move {
            let result = match tokio::time::timeout(deadline, connecting).await {
                Ok(Ok(connection)) => Ok(connection),
                Ok(Err(error)) => Err(DialError::from(error)),
                Err(_) => Err(DialError::Timeout(deadline)),
            };
            let _ = events.send(Event::Dialed(result));
        });
    }

    fn dial_failed(&mut self, error: DialError) {
        self.dialer.failed();
        self.link = Link::Down;
        tracing::warn!(
            target = %self.config.target,
            %error,
            retry_in = ?self.dialer.spacing(),
            "forward connection failed"
        );
    }

    /// A report from a task.
    fn handle(&mut self, event: Event, now: Instant, latency: &mut LatencyHistogram) {
        match event {
            Event::Dialed(Ok(connection)) => {
                self.counters.forward_connects.inc();
                self.generation += 1;
                let (generation, events) = (self.generation, self.events.clone());
                let watched = connection.clone();
                tokio::spawn(async move {
                    watched.closed().await;
                    let _ = events.send(Event::Closed { generation });
                });
                tracing::info!(target = %self.config.target, generation, "forward connection up");
                self.link = Link::Up(Up {
                    connection,
                    generation,
                    watchdog: Watchdog::new(self.config.deadlines(), now),
                    delivered: false,
                });
            }
            Event::Dialed(Err(error)) => self.dial_failed(error),
            Event::Closed { generation } => {
                let Link::Up(up) = &mut self.link else {
                    return;
                };
                if up.generation != generation {
                    return;
                }
                let failed = up.watchdog.drain();
                self.counters.forward_failed.add(failed as u64);
                if !up.delivered {
                    self.dialer.failed();
                }
                tracing::warn!(
                    target = %self.config.target,
                    reason = ?up.connection.close_reason(),
                    failed,
                    "forward connection closed; reconnecting"
                );
                self.link = Link::Down;
            }
            Event::Stream {
                generation,
                id,
                progress,
            } => {
                let Link::Up(up) = &mut self.link else {
                    return;
                };
                if up.generation != generation {
                    return;
                }
                match progress {
                    Progress::Opened => up.watchdog.advance(id, Phase::Write, now),
                    Progress::Written => up.watchdog.advance(id, Phase::Ack, now),
                    Progress::Delivered { added } => {
                        if up.watchdog.finish(id) {
                            self.counters.forwarded.inc();
                            latency.record(added);
                            up.delivered = true;
                            self.dialer.delivered();
                        }
                    }
                    Progress::Failed => {
                        if up.watchdog.finish(id) {
                            self.counters.forward_failed.inc();
                        }
                    }
                }
            }
        }
    }

    /// The tick: expire, check deadlines, publish the latency quantiles.
    fn housekeep(&mut self, now: Instant, latency: &mut LatencyHistogram) {
        let expired = self.backlog.expire(now);
        self.counters.forward_expired.add(expired as u64);
        if let Link::Up(up) = &self.link {
            if let Some(phase) = up.watchdog.check(now) {
                self.stalled(phase);
            }
        }
        publish_latency(latency, self.counters, false);
    }

    /// The connection missed a deadline: close it, count what was on it as
    /// failed, and dial a new one once the dialer allows.
    fn stalled(&mut self, phase: Phase) {
        let Link::Up(mut up) = std::mem::replace(&mut self.link, Link::Down) else {
            return;
        };
        up.connection
            .close(VarInt::from_u32(CLOSE_STALLED), b"stalled");
        let failed = up.watchdog.drain();
        self.counters.forward_stalled.inc();
        self.counters.forward_failed.add(failed as u64);
        self.dialer.failed();
        tracing::warn!(
            target = %self.config.target,
            deadline = phase.label(),
            failed,
            retry_in = ?self.dialer.spacing(),
            "forward connection stalled; replacing it"
        );
    }

    /// Nothing held and nothing in flight.
    fn idle(&self) -> bool {
        let in_flight = match &self.link {
            Link::Up(up) => up.watchdog.len(),
            Link::Down | Link::Dialing => 0,
        };
        self.backlog.is_empty() && in_flight == 0
    }

    /// Closes the connection (everything counted was acknowledged) and gives
    /// the endpoint a moment to tell the validator.
    async fn close(self) {
        self.counters.forward_backlog.set(self.backlog.len() as u64);
        self.endpoint
            .close(VarInt::from_u32(CLOSE_SHUTDOWN), b"shutdown");
        let _ = tokio::time::timeout(CLOSE_GRACE, self.endpoint.wait_idle()).await;
    }
}

/// Sends one transaction on its own stream and reports each step: credit,
/// written and finished, acknowledged (quinn drops unacknowledged data when a
/// connection closes, so "written" is not "delivered"). No deadlines here:
/// the loop's watchdog judges, and closing the connection ends this task.
async fn send_one(
    connection: quinn::Connection,
    packet: Packet,
    generation: u64,
    id: u64,
    events: UnboundedSender<Event>,
) {
    let report = |progress| {
        let _ = events.send(Event::Stream {
            generation,
            id,
            progress,
        });
    };
    let delivered = async {
        let mut stream = connection.open_uni().await.ok()?;
        report(Progress::Opened);
        stream.write_all(&packet.bytes).await.ok()?;
        stream.finish().ok()?;
        let handed_off = Instant::now();
        report(Progress::Written);
        match stream.stopped().await {
            Ok(None) => Some(handed_off.saturating_duration_since(packet.received)),
            Ok(Some(_)) | Err(_) => None,
        }
    }
    .await;
    report(match delivered {
        Some(added) => Progress::Delivered { added },
        None => Progress::Failed,
    });
}
