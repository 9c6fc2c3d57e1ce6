//! The one wiring point: builds the stages from [`Config`], connects them with
//! bounded queues, and owns them until shutdown.
//!
//! QUIC ingress → fair queue (per source, by stake) → batch, parse and dedup → verify workers →
//! forwarder, every stage on its own thread(s), each transaction ending in
//! exactly one counter. Stages take their own settings and know nothing of
//! files or flags; this module reads the files (identity, stakes) for them.
//!
//! - [`config`]: the configuration file and its checks.
//! - [`backend`]: the one factory for verification backends.
//! - [`stakes`]: the stake file, loaded and watched.
//! - [`xdp_counters`]: the XDP filter's pinned counters, for `/metrics`.
//! - [`watchdog`]: the health monitor, which feeds [`systemd`]'s watchdog.

pub mod backend;
pub mod config;
pub mod stakes;
pub mod systemd;
pub mod watchdog;
pub mod xdp_counters;

use std::{
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use rampart_sigverify::{
    backend::Backend,
    pool::{BackendFactory, VerifyPool},
};

pub use self::config::{Config, MetricsConfig, PipelineConfig};
use self::{
    backend::{make_backend, BackendError},
    stakes::StakeFileError,
    systemd::Notifier,
    watchdog::Monitor,
};
use crate::{
    fair::{fair_queue, FairLimits},
    ingress::{
        server::{Ingress, IngressError},
        socket,
    },
    metrics::{health::HealthState, Counters, Exposition, MetricsServer, XdpSource},
    packet::ParsedTx,
    pipeline::{
        batch::{self, BatchPolicy},
        dedup::Dedup,
        forward,
    },
    quic::identity::{Identity, IdentityError},
};

/// Errors starting the appliance.
#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    /// The identity file.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The QUIC endpoint.
    #[error(transparent)]
    Ingress(#[from] IngressError),
    /// The stake file.
    #[error(transparent)]
    Stakes(#[from] StakeFileError),
    /// A thread or runtime could not start.
    #[error("starting {what}: {source}")]
    Start {
        /// What.
        what: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The backend is not available.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A running appliance.
pub struct Appliance {
    /// The network edge: QUIC ingress only, so a handshake flood or a busy
    /// forwarder never takes its threads.
    runtime: tokio::runtime::Runtime,
    /// The forwarder and the stake-file reload (file I/O), on a thread of
    /// their own.
    back_office: tokio::runtime::Runtime,
    ingress: Option<Ingress>,
    ingress_addr: SocketAddr,
    batch: Option<std::thread::JoinHandle<()>>,
    forwarder: Option<tokio::task::JoinHandle<()>>,
    metrics: Option<MetricsServer>,
    monitor: Option<Monitor>,
    health: HealthState,
    counters: Arc<Counters>,
    identity: Identity,
}

impl Appliance {
    /// Starts every stage.
    ///
    /// # Errors
    /// Identity, stake file, socket, or thread failures, before anything runs.
    pub fn start(config: Config) -> Result<Self, ApplianceError> {
        let identity = Identity::load_or_create(&config.ingress.identity)?;
        let stakes = Arc::new(RwLock::new(Arc::new(stakes::load(
            config.ingress.stake_file.as_deref(),
        )?)));
        let counters = Arc::new(Counters::default());
        let threads = config
            .pipeline
            .verify_threads
            .unwrap_or_else(default_verify_threads)
            .max(1);
        let spec = config.pipeline.backend();
        // A worker whose backend panics takes a fresh one built the same way.
        let replace: BackendFactory = Arc::new(move || make_backend(&spec).ok());
        let pool = if threads == 1 && config.pipeline.verify_in_batch_thread {
            VerifyPool::inline(make_backend(&spec)?, 2, Some(replace))
        } else {
            let backends = (0..threads)
                .map(|_| make_backend(&spec))
                .collect::<Result<Vec<_>, _>>()?;
            start_verify_threads(backends, config.pipeline.pin_verify_workers, replace)?
        };

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.ingress_threads.max(1))
            .thread_name("rampart-net")
            .enable_all()
            .build()
            .map_err(|source| ApplianceError::Start {
                what: "network runtime",
                source,
            })?;
        let (packet_tx, packet_rx) = fair_queue(FairLimits {
            capacity: config.pipeline.queue.max(1),
            unstaked_floor: config.pipeline.unstaked_floor,
        });
        let (forward_tx, forward_rx) = tokio::sync::mpsc::channel(config.forward.queue.max(1));

        let ingress = {
            let _guard = runtime.enter();
            Ingress::start(
                config.ingress.clone(),
                &identity,
                stakes.clone(),
                packet_tx,
                counters.clone(),
            )?
        };
        let ingress_addr = ingress
            .local_addr()
            .map_err(|source| ApplianceError::Start {
                what: "ingress",
                source,
            })?;

        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(|e| ApplianceError::Start {
            what: "dedup seed",
            source: std::io::Error::other(e.to_string()),
        })?;
        let keys = (
            u64::from_le_bytes(seed[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(seed[8..].try_into().unwrap_or_default()),
        );
        let dedup = Dedup::new(
            Duration::from_millis(config.pipeline.dedup_window_ms.max(1)),
            config.pipeline.dedup_capacity,
            keys,
            Instant::now(),
        );
        let policy = BatchPolicy {
            size: config.pipeline.batch_size.max(1),
            delay: Duration::from_micros(config.pipeline.batch_delay_us),
            rule: config.pipeline.rule,
        };
        let batch_counters = counters.clone();
        let batch_stage = std::thread::Builder::new()
            .name("rampart-batch".into())
            .spawn(move || batch::run(packet_rx, pool, dedup, forward_tx, policy, batch_counters))
            .map_err(|source| ApplianceError::Start {
                what: "batch stage",
                source,
            })?;
        let back_office = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rampart-forward")
            .enable_all()
            .build()
            .map_err(|source| ApplianceError::Start {
                what: "forwarder runtime",
                source,
            })?;
        let forwarder = back_office.spawn(forward::run(
            config.forward.clone(),
            identity.clone(),
            forward_rx,
            counters.clone(),
        ));
        if let Some(path) = config.ingress.stake_file.clone() {
            back_office.spawn(stakes::reload(path, stakes));
        }
        // The kernel's drops at the ingress socket, read from /proc: file
        // reads belong on the back office, not on the network edge.
        if let Some(inode) = ingress.socket_inode() {
            back_office.spawn(socket::watch(
                inode,
                counters.clone(),
                Duration::from_secs(1),
            ));
        }
        let health = HealthState::default();
        let metrics = match config.metrics.listen {
            Some(addr) => {
                let xdp = config.metrics.xdp_pin_dir.clone().map(|dir| {
                    Arc::new(xdp_counters::PinnedXdpCounters::new(dir)) as Arc<dyn XdpSource>
                });
                let exposition = Exposition::new(counters.clone(), xdp);
                Some(
                    MetricsServer::start(addr, exposition, health.clone()).map_err(|source| {
                        ApplianceError::Start {
                            what: "metrics endpoint",
                            source,
                        }
                    })?,
                )
            }
            None => None,
        };
        // Last: its first act is telling systemd the appliance is ready.
        let start_monitor = || {
            Monitor::start(
                counters.clone(),
                health.clone(),
                Duration::from_secs(config.metrics.stall_window_secs.max(1)),
                Notifier::from_env()?,
            )
        };
        let monitor = start_monitor().map_err(|source| ApplianceError::Start {
            what: "health monitor",
            source,
        })?;
        Ok(Appliance {
            runtime,
            back_office,
            ingress: Some(ingress),
            ingress_addr,
            batch: Some(batch_stage),
            forwarder: Some(forwarder),
            metrics,
            monitor: Some(monitor),
            health,
            counters,
            identity,
        })
    }

    /// Where the QUIC ingress listens.
    pub fn ingress_addr(&self) -> SocketAddr {
        self.ingress_addr
    }

    /// Where the metrics endpoint listens, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::local_addr)
    }

    /// The latest health judgement (also on `/health` and `/ready`).
    pub fn health(&self) -> &HealthState {
        &self.health
    }

    /// The counters, live.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The appliance's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Serves until SIGTERM or SIGINT, then shuts down (draining what is in
    /// flight) and logs the final tally.
    ///
    /// # Errors
    /// The signal handlers cannot be installed.
    pub fn run_until_signal(self) -> std::io::Result<()> {
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        signals.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
            Ok::<_, std::io::Error>(())
        })?;
        tracing::info!("shutting down: draining in-flight batches");
        let counters = self.counters().clone();
        self.shutdown();
        tracing::info!(
            forwarded = counters.forwarded.get(),
            entered = counters.entered.get(),
            accounted = counters.terminal_total(),
            "stopped"
        );
        Ok(())
    }

    /// Stops accepting, lets every stage drain what it holds, and returns.
    pub fn shutdown(mut self) {
        if let Some(monitor) = self.monitor.take() {
            monitor.stop();
        }
        if let Some(ingress) = self.ingress.take() {
            self.runtime.block_on(ingress.shutdown());
        }
        if let Some(batch) = self.batch.take() {
            let _ = batch.join();
        }
        if let Some(forwarder) = self.forwarder.take() {
            let _ = self.back_office.block_on(forwarder);
        }
        if let Some(metrics) = self.metrics.take() {
            metrics.stop();
        }
    }
}

/// Starts one verify worker thread per backend, pinned to the last cores
/// with `pin`.
fn start_verify_threads(
    backends: Vec<Box<dyn Backend>>,
    pin: bool,
    replace: BackendFactory,
) -> Result<VerifyPool<ParsedTx>, ApplianceError> {
    let cores = if pin {
        verify_cores(backends.len())
    } else {
        Vec::new()
    };
    VerifyPool::start_replacing(backends, 2, &cores, Some(replace)).map_err(|source| {
        ApplianceError::Start {
            what: "verify workers",
            source,
        }
    })
}

/// Verify workers when the configuration names none: every core but one,
/// which is left to the network runtimes, the batch stage and the forwarder
/// (at least one worker). With a worker on every core nothing could be
/// pinned, and the network thread would compete with every worker.
pub fn default_verify_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.saturating_sub(1).max(1)
}

/// The cores verify workers are pinned to (the benchmarks pin alike): the
/// last `threads` cores, or none (no pinning) when there are no more cores
/// than workers.
pub fn verify_cores(threads: usize) -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if threads >= cores {
        return Vec::new();
    }
    (cores - threads..cores).collect()
}
