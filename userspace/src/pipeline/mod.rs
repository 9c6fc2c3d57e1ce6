//! The appliance's main job: QUIC ingress → bounded queue → batch, parse and
//! dedup → verify workers → forwarder, every stage on its own thread(s), each
//! transaction ending in exactly one counter.
//!
//! - [`counters`]: the terminal and gauge counters, and their Prometheus text.
//! - [`dedup`]: the keyed-hash, time-windowed duplicate filter (pure).
//! - [`coordinator`]: batching, dedup, hand-off to the verify pool, routing verdicts.
//! - [`forward`]: the QUIC (or UDP) client to the validator's TPU.

pub mod coordinator;
pub mod counters;
pub mod dedup;
pub mod forward;

use std::{
    net::SocketAddr,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use rampart_sigverify::{
    backend::{Backend, BackendKind, CpuBackend, CpuConfig, EngineChoice},
    pool::VerifyPool,
    Rule,
};

use self::{coordinator::BatchPolicy, counters::Counters, dedup::Dedup};
use crate::{
    config::Config,
    ingress::{
        admission::StakeTable,
        identity::{Identity, IdentityError},
        server::{Ingress, IngressError},
    },
    metrics::MetricsServer,
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
    #[error("stake file {path}: {reason}")]
    Stakes {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
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
    #[error("{0}")]
    Backend(String),
}

/// Pipeline settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Transactions waiting for the batcher at most; more are shed. This is
    /// where a backlog waits while every verify worker is busy, so it bounds
    /// the latency added under overload (8192 ≈ 0.3 s of one core's strict rate).
    pub queue: usize,
    /// Transactions per verify batch at most.
    pub batch_size: usize,
    /// Microseconds a transaction waits for its batch to fill at most.
    pub batch_delay_us: u64,
    /// Milliseconds a forwarded signature is remembered (1–2 windows).
    pub dedup_window_ms: u64,
    /// Signatures remembered per window at most (bounded memory).
    pub dedup_capacity: usize,
    /// Verify worker threads (default: every core).
    pub verify_threads: Option<usize>,
    /// `strict`, `zip215` or `zip215-amended`.
    #[serde(deserialize_with = "from_str")]
    pub rule: Rule,
    /// `cpu`, or `fpga-sim` (the simulated FPGA card; cargo feature `fpga-sim`).
    #[serde(deserialize_with = "from_str")]
    pub backend: BackendKind,
    /// The CPU backend's path: `auto` (Rampart's vector engine where the CPU
    /// has AVX-512 IFMA, the scalar and batch paths elsewhere), `ifma`,
    /// `avx2` or `off`.
    #[serde(deserialize_with = "from_str")]
    pub engine: EngineChoice,
    /// Largest random-linear-combination batch (cofactored rules without the
    /// engine).
    pub max_rlc_batch: usize,
    /// Pin verify workers to the highest-numbered cores, leaving core 0 and
    /// up to the network runtime.
    pub pin_verify_workers: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue: 8192,
            batch_size: 64,
            batch_delay_us: 250,
            dedup_window_ms: 2000,
            dedup_capacity: 4_000_000,
            verify_threads: None,
            rule: Rule::Strict,
            backend: BackendKind::Cpu,
            engine: EngineChoice::Auto,
            max_rlc_batch: 256,
            pin_verify_workers: true,
        }
    }
}

fn from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = <String as serde::Deserialize>::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A running appliance.
pub struct Appliance {
    runtime: tokio::runtime::Runtime,
    ingress: Option<Ingress>,
    ingress_addr: SocketAddr,
    coordinator: Option<std::thread::JoinHandle<()>>,
    forwarder: Option<tokio::task::JoinHandle<()>>,
    metrics: Option<MetricsServer>,
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
        let stakes = Arc::new(RwLock::new(Arc::new(load_stakes(
            config.ingress.stake_file.as_deref(),
        )?)));
        let counters = Arc::new(Counters::default());
        let threads = config
            .pipeline
            .verify_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1);
        let backends = (0..threads)
            .map(|_| make_backend(&config.pipeline))
            .collect::<Result<Vec<_>, _>>()?;
        let cores = if config.pipeline.pin_verify_workers {
            verify_cores(threads)
        } else {
            Vec::new()
        };
        let pool = VerifyPool::start_pinned(backends, 2, &cores).map_err(|source| {
            ApplianceError::Start {
                what: "verify workers",
                source,
            }
        })?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.ingress_threads.max(1))
            .thread_name("rampart-net")
            .enable_all()
            .build()
            .map_err(|source| ApplianceError::Start {
                what: "network runtime",
                source,
            })?;
        let (packet_tx, packet_rx) = crossbeam_channel::bounded(config.pipeline.queue.max(1));
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
        let coordinator_counters = counters.clone();
        let coordinator = std::thread::Builder::new()
            .name("rampart-batch".into())
            .spawn(move || {
                coordinator::run(
                    packet_rx,
                    pool,
                    dedup,
                    forward_tx,
                    policy,
                    coordinator_counters,
                )
            })
            .map_err(|source| ApplianceError::Start {
                what: "batch stage",
                source,
            })?;
        let forwarder = runtime.spawn(forward::run(
            config.forward.clone(),
            identity.clone(),
            forward_rx,
            counters.clone(),
        ));
        if let Some(path) = config.ingress.stake_file.clone() {
            runtime.spawn(reload_stakes(path, stakes));
        }
        let metrics =
            match config.metrics.listen {
                Some(addr) => Some(MetricsServer::start(addr, counters.clone()).map_err(
                    |source| ApplianceError::Start {
                        what: "metrics endpoint",
                        source,
                    },
                )?),
                None => None,
            };
        Ok(Appliance {
            runtime,
            ingress: Some(ingress),
            ingress_addr,
            coordinator: Some(coordinator),
            forwarder: Some(forwarder),
            metrics,
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

    /// The counters, live.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The appliance's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Stops accepting, lets every stage drain what it holds, and returns.
    pub fn shutdown(mut self) {
        if let Some(ingress) = self.ingress.take() {
            self.runtime.block_on(ingress.shutdown());
        }
        if let Some(coordinator) = self.coordinator.take() {
            let _ = coordinator.join();
        }
        if let Some(forwarder) = self.forwarder.take() {
            let _ = self.runtime.block_on(forwarder);
        }
        if let Some(metrics) = self.metrics.take() {
            metrics.stop();
        }
    }
}

/// The cores verify workers are pinned to: the last `threads` cores, or all
/// of them when there are no more cores than workers.
fn verify_cores(threads: usize) -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if threads >= cores {
        return Vec::new();
    }
    (cores - threads..cores).collect()
}

fn make_backend(config: &PipelineConfig) -> Result<Box<dyn Backend>, ApplianceError> {
    match config.backend {
        BackendKind::Cpu => {
            if config.engine.resolve().is_none() {
                return Err(ApplianceError::Backend(format!(
                    "pipeline.engine = {:?} needs CPU features this machine does not have",
                    config.engine.label()
                )));
            }
            Ok(Box::new(CpuBackend::new(CpuConfig {
                max_batch: config.max_rlc_batch,
                adaptive: true,
                engine: config.engine,
            })))
        }
        BackendKind::FpgaSim => {
            crate::cli::fpga_sim_backend().map_err(|e| ApplianceError::Backend(e.to_string()))
        }
    }
}

fn load_stakes(path: Option<&std::path::Path>) -> Result<StakeTable, ApplianceError> {
    let Some(path) = path else {
        return Ok(StakeTable::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| ApplianceError::Stakes {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    StakeTable::parse(&text).map_err(|reason| ApplianceError::Stakes {
        path: path.display().to_string(),
        reason,
    })
}

/// Re-reads the stake file when it changes; a bad file keeps the old table.
async fn reload_stakes(path: std::path::PathBuf, stakes: Arc<RwLock<Arc<StakeTable>>>) {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut last = modified(&path);
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = modified(&path);
        if now == last {
            continue;
        }
        last = now;
        match load_stakes(Some(&path)) {
            Ok(table) => {
                if let Ok(mut current) = stakes.write() {
                    *current = Arc::new(table);
                }
                tracing::info!(path = %path.display(), "stake file reloaded");
            }
            Err(error) => tracing::warn!(%error, "stake file not reloaded"),
        }
    }
}
