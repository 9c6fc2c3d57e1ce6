//! One scenario from start to report: a sink and a fresh appliance, the
//! honest clients connected, the attack and the honest senders started
//! together, a scrape halfway, a drain until every stream that entered has
//! ended and the sink has all that was forwarded, then the figures.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::runtime::Runtime;

use super::{
    appliance::{ApplianceUnderTest, ChildSettings},
    client::{Client, HONEST_STAKED_IP, HONEST_UNSTAKED_IP},
    connections, floods, handshakes,
    honest::{first_signature, send_all, valid_transactions, Sent},
    report::ScenarioReport,
    scrape::{self, Scrape},
    BenchAttackArgs, Outcome, ScenarioName,
};
use crate::{
    lab::{
        loadgen::tpu::TpuSink,
        raw_rate::{raw_verify_rate, RawWorkers},
    },
    quic::identity::Identity,
};
use rampart_sigverify::Rule;

/// Stake of the honest staked client and of the staked attacker, each.
const STAKE: u64 = 1_000_000_000;
/// The forger's rate: several times an unstaked source's budget.
const FORGER_TPS: f64 = 2_000.0;
/// Initials per second in `handshakes`.
const INITIALS_PER_SECOND: f64 = 12_000.0;
/// Longest drain after the attack.
const DRAIN: Duration = Duration::from_secs(12);

/// What every scenario shares: runtimes for the sink, the honest clients
/// and the attackers (apart, so an attacker busy on its runtime does not
/// delay an honest client's next stream), and the identities.
pub(super) struct Lab<'a> {
    args: &'a BenchAttackArgs,
    sink_runtime: Runtime,
    honest_runtime: Runtime,
    attack_runtime: Runtime,
    staked: Identity,
    attacker: Identity,
    capacity: Mutex<Option<f64>>,
}

fn runtime(threads: usize) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?)
}

/// Transactions shared between a sender task and the scenario.
type Transactions = Arc<Vec<Vec<u8>>>;

/// Who sent a transaction the sink received.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    Staked,
    Unstaked,
}

impl<'a> Lab<'a> {
    /// Runtimes and identities.
    ///
    /// # Errors
    /// A runtime cannot start.
    pub(super) fn new(args: &'a BenchAttackArgs) -> anyhow::Result<Self> {
        Ok(Lab {
            args,
            sink_runtime: runtime(1)?,
            honest_runtime: runtime(1)?,
            attack_runtime: runtime(2)?,
            staked: Identity::from_seed([0x51; 32]),
            attacker: Identity::from_seed([0xbb; 32]),
            capacity: Mutex::new(None),
        })
    }

    /// Verify workers the appliance runs.
    pub(super) fn verify_threads(&self) -> usize {
        self.args
            .verify_threads
            .unwrap_or_else(crate::appliance::default_verify_threads)
    }

    /// The verify capacity on the flood's transactions, measured once.
    fn capacity(&self, invalid: &[Vec<u8>]) -> anyhow::Result<f64> {
        let mut cached = self
            .capacity
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        if let Some(rate) = *cached {
            return Ok(rate);
        }
        // The flood's own invalid transactions, under the appliance's rule.
        let rate = raw_verify_rate(
            invalid,
            &RawWorkers {
                engine: self.args.engine,
                rule: Rule::Strict,
                threads: self.verify_threads(),
                pin: true,
            },
            Duration::from_secs(1),
        )?;
        eprintln!(
            "[bench attack] verify capacity: {rate:.0} tx/s ({} worker(s), engine {})",
            self.verify_threads(),
            self.args.engine.label()
        );
        *cached = Some(rate);
        Ok(rate)
    }

    /// Runs scenario `name`.
    ///
    /// # Errors
    /// Set-up failures; the appliance is stopped whatever happens.
    pub(super) fn run(&self, name: ScenarioName) -> anyhow::Result<ScenarioReport> {
        let args = self.args;
        let window = Duration::from_secs_f64(args.seconds.max(0.5));
        let burst = name == ScenarioName::Burst;
        // Attack material and the verify capacity first, before any clock.
        let flood_base = Arc::new(valid_transactions(256, 0xbad)?);
        let capacity = match name {
            ScenarioName::InvalidStaked | ScenarioName::InvalidUnstaked => {
                let invalid: Vec<Vec<u8>> = (0..4096)
                    .map(|n| floods::invalid_unique(&flood_base, n))
                    .collect();
                Some(self.capacity(&invalid)?)
            }
            _ => None,
        };
        let (staked_count, unstaked_count) = if burst {
            (args.staked_burst, args.unstaked_burst)
        } else {
            (
                (f64::from(args.staked_tps) * window.as_secs_f64()) as usize,
                (f64::from(args.unstaked_tps) * window.as_secs_f64()) as usize,
            )
        };
        let staked_txs = Arc::new(valid_transactions(staked_count, 1)?);
        let unstaked_txs = Arc::new(valid_transactions(unstaked_count, 2)?);
        let mut senders: HashMap<[u8; 64], Sender> = HashMap::new();
        for (txs, who) in [
            (&staked_txs, Sender::Staked),
            (&unstaked_txs, Sender::Unstaked),
        ] {
            senders.extend(
                txs.iter()
                    .filter_map(|tx| Some((first_signature(tx)?, who))),
            );
        }

        let sink = {
            let _entered = self.sink_runtime.enter();
            TpuSink::start(&Identity::from_seed([0x5e; 32]))?
        };
        let result = self.with_sink(
            name,
            &sink,
            window,
            capacity,
            flood_base,
            (staked_txs, unstaked_txs),
            &senders,
        );
        self.sink_runtime.block_on(sink.stop());
        result
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one scenario's inputs, each used once"
    )]
    fn with_sink(
        &self,
        name: ScenarioName,
        sink: &TpuSink,
        window: Duration,
        capacity: Option<f64>,
        invalid: Arc<Vec<Vec<u8>>>,
        (staked_txs, unstaked_txs): (Transactions, Transactions),
        senders: &HashMap<[u8; 64], Sender>,
    ) -> anyhow::Result<ScenarioReport> {
        let args = self.args;
        let burst = name == ScenarioName::Burst;
        let child = ApplianceUnderTest::start(&ChildSettings {
            forward: sink.local_addr()?,
            stakes: vec![
                (self.staked.pubkey(), STAKE),
                (self.attacker.pubkey(), STAKE),
            ],
            engine: args.engine,
            verify_threads: args.verify_threads,
        })?;
        let server = child.ingress;
        let initials = if name == ScenarioName::Handshakes {
            handshakes::make_initials(
                server,
                (INITIALS_PER_SECOND * window.as_secs_f64()) as usize,
            )?
        } else {
            Vec::new()
        };
        let unstaked_identity = Identity::from_seed([0x33; 32]);
        let (staked_client, staked_connection, unstaked_client, unstaked_connection) =
            self.honest_runtime.block_on(async {
                let staked = Client::new(HONEST_STAKED_IP.into(), &self.staked)?;
                let staked_connection = staked
                    .connect(server)
                    .await
                    .context("the honest staked client")?;
                let unstaked = Client::new(HONEST_UNSTAKED_IP.into(), &unstaked_identity)?;
                let unstaked_connection = unstaked
                    .connect(server)
                    .await
                    .context("the honest unstaked client")?;
                anyhow::Ok((staked, staked_connection, unstaked, unstaked_connection))
            })?;
        let fleet = if name == ScenarioName::InvalidUnstaked {
            Some(
                self.attack_runtime
                    .block_on(floods::UnstakedFleet::connect(server))?,
            )
        } else {
            None
        };
        let forger_txs = if name == ScenarioName::ForgedIdentity {
            Arc::new(valid_transactions(
                (FORGER_TPS * window.as_secs_f64()) as usize,
                3,
            )?)
        } else {
            Arc::new(Vec::new())
        };
        let copies = Arc::new(valid_transactions(64, 4)?);

        let usage_before = child.usage()?;
        let started = Instant::now();
        let stop = started + window;
        let material = Material {
            flood_base: invalid,
            copies,
            forger_txs,
            initials,
            fleet,
        };
        let attack = self.start_attack(name, server, stop, material);
        let (rate_staked, rate_unstaked, hard_stop) = if burst {
            (None, None, started + Duration::from_secs(120))
        } else {
            (
                Some(f64::from(args.staked_tps)),
                Some(f64::from(args.unstaked_tps)),
                stop + Duration::from_secs(10),
            )
        };
        let staked_task = self.honest_runtime.spawn(send_all(
            staked_connection.clone(),
            staked_txs.clone(),
            rate_staked,
            hard_stop,
        ));
        let unstaked_task = self.honest_runtime.spawn(send_all(
            unstaked_connection.clone(),
            unstaked_txs.clone(),
            rate_unstaked,
            hard_stop,
        ));
        std::thread::sleep(window / 2);
        let halfway = child.scrape().unwrap_or_default();
        let staked_sent: Sent = self
            .honest_runtime
            .block_on(staked_task)
            .unwrap_or_default();
        let unstaked_sent: Sent = self
            .honest_runtime
            .block_on(unstaked_task)
            .unwrap_or_default();
        let outcome = attack.join()?;
        let honest_seconds = started.elapsed().as_secs_f64();
        let scrape = drain(&child, sink);
        let usage_after = child.usage()?;
        let received = sink.received();
        // The honest connections stay open until now: a connection whose
        // last handle is dropped closes, and with it the streams the
        // appliance had received but not yet taken (waiting for budget).
        drop((staked_connection, unstaked_connection));
        staked_client.close();
        unstaked_client.close();
        let panics = child.panics();
        drop(child);

        let mut delivered: HashMap<[u8; 64], u32> = HashMap::new();
        let mut attack_forwarded = 0u64;
        for r in &received {
            match first_signature(&r.bytes).filter(|sig| senders.contains_key(sig)) {
                Some(sig) => *delivered.entry(sig).or_default() += 1,
                None => attack_forwarded += 1,
            }
        }
        let count = |who: Sender| {
            delivered
                .keys()
                .filter(|sig| senders.get(*sig) == Some(&who))
                .count() as u64
        };
        Ok(ScenarioReport::build(super::report::Inputs {
            name,
            honest_seconds,
            staked: (staked_txs.len() as u64, count(Sender::Staked), staked_sent),
            unstaked: (
                unstaked_txs.len() as u64,
                count(Sender::Unstaked),
                unstaked_sent,
            ),
            honest_duplicates: delivered
                .values()
                .map(|n| u64::from(n.saturating_sub(1)))
                .sum(),
            attack: outcome,
            attack_forwarded,
            halfway: &halfway,
            scrape: &scrape,
            sink_received: received.len() as u64,
            usage: (usage_before, usage_after),
            capacity,
            panics,
        }))
    }

    /// Starts attack `name` on `server`, to end at `stop`.
    fn start_attack(
        &self,
        name: ScenarioName,
        server: std::net::SocketAddr,
        stop: Instant,
        material: Material,
    ) -> Attack<'_> {
        let Material {
            flood_base: invalid,
            copies,
            forger_txs,
            initials,
            fleet,
        } = material;
        let rt = &self.attack_runtime;
        let staked_key = self.staked.pubkey();
        let attacker = Identity::from_seed([0xbb; 32]);
        let started = Instant::now();
        match name {
            ScenarioName::All | ScenarioName::Burst => Attack::None(started),
            ScenarioName::InvalidStaked => Attack::Task(
                rt.spawn(floods::invalid_staked(server, attacker, invalid, stop)),
                rt,
            ),
            ScenarioName::InvalidUnstaked => Attack::Task(
                rt.spawn(async move {
                    match fleet {
                        Some(fleet) => floods::invalid_unstaked(fleet, invalid, stop).await,
                        None => anyhow::bail!("the unstaked fleet was not connected"),
                    }
                }),
                rt,
            ),
            ScenarioName::Duplicates => Attack::Task(
                rt.spawn(floods::duplicates(server, attacker, copies, stop)),
                rt,
            ),
            ScenarioName::ForgedIdentity => Attack::Task(
                rt.spawn(floods::forged_identity(
                    server, staked_key, forger_txs, FORGER_TPS, stop,
                )),
                rt,
            ),
            ScenarioName::Churn => Attack::Task(
                rt.spawn(async move { Ok(connections::churn(server, stop).await) }),
                rt,
            ),
            ScenarioName::Oversize => Attack::Task(
                rt.spawn(async move { Ok(connections::oversize(server, stop).await) }),
                rt,
            ),
            ScenarioName::Slowloris => {
                Attack::Task(rt.spawn(connections::slowloris(server, stop)), rt)
            }
            ScenarioName::Handshakes => Attack::Thread(std::thread::spawn(move || {
                handshakes::flood(server, &initials, INITIALS_PER_SECOND, stop)
            })),
        }
    }
}

/// What the attacks are made of, prepared before the clock starts.
struct Material {
    /// Valid transactions the invalid floods alter.
    flood_base: Arc<Vec<Vec<u8>>>,
    /// Valid transactions `duplicates` copies.
    copies: Arc<Vec<Vec<u8>>>,
    /// The forger's valid transactions.
    forger_txs: Arc<Vec<Vec<u8>>>,
    /// The Initials of `handshakes`.
    initials: Vec<Vec<u8>>,
    /// The connections of `invalid-unstaked`.
    fleet: Option<floods::UnstakedFleet>,
}

/// A running attack.
enum Attack<'a> {
    None(Instant),
    Task(
        tokio::task::JoinHandle<anyhow::Result<Outcome>>,
        &'a Runtime,
    ),
    Thread(std::thread::JoinHandle<anyhow::Result<Outcome>>),
}

impl Attack<'_> {
    fn join(self) -> anyhow::Result<Outcome> {
        match self {
            Attack::None(started) => Ok(Outcome::new("none", 0, started)),
            Attack::Task(task, runtime) => runtime.block_on(task)?,
            Attack::Thread(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("the attack thread panicked"))?,
        }
    }
}

/// Waits until every stream that entered has ended in a counter and the
/// sink holds everything forwarded, stable for half a second, or `DRAIN`.
/// The last scrape.
fn drain(child: &ApplianceUnderTest, sink: &TpuSink) -> Scrape {
    let deadline = Instant::now() + DRAIN;
    let mut last = Scrape::default();
    let mut settled_since: Option<Instant> = None;
    let mut previous = None;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(scrape) = child.scrape() else { continue };
        let balance = scrape::balance(&scrape, sink.count() as u64);
        let key = (balance.entered, balance.terminal, balance.sink_received);
        last = scrape;
        if balance.balanced && previous == Some(key) {
            let since = *settled_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_millis(500) {
                break;
            }
        } else {
            settled_since = None;
        }
        previous = Some(key);
    }
    last
}
