//! `rampart run`'s configuration: a TOML file whose every setting can also be
//! given as a flag. A bad file is refused before anything starts, naming the
//! key and what is wrong. `deploy/rampart.toml` documents every setting.

use std::{net::SocketAddr, path::Path};

use rampart_sigverify::{
    backend::{BackendKind, EngineChoice},
    Rule,
};

use super::backend::BackendSpec;
use crate::{ingress::server::IngressConfig, pipeline::forward::ForwardConfig};

/// Largest `pipeline.queue` and `forward.queue`: both queues are allocated
/// whole at start (the forwarder's backlog as large again).
pub const MAX_QUEUE: u64 = 1 << 22;

/// Largest `ingress_threads` and `pipeline.verify_threads`: each is a thread
/// (and a backend) made at start; no host needs more.
pub const MAX_THREADS: u64 = 1024;

/// Largest `forward.max_in_flight`: the forwarder's semaphore holds this many
/// permits and takes them all at once as a `u32`.
pub const MAX_IN_FLIGHT: u64 = 1 << 16;

/// Largest `forward.connections_per_minute`: one a millisecond; the pacer
/// keeps one slot per connection in its window.
pub const MAX_CONNECTIONS_PER_MINUTE: u64 = 60_000;

/// Largest `ingress.receive_buffer_bytes`: 1 GiB of kernel memory for one
/// socket is already far past what a line-rate burst needs.
pub const MAX_RECEIVE_BUFFER: u64 = 1 << 30;

/// The whole configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// QUIC ingress.
    pub ingress: IngressConfig,
    /// Threads of the network edge (QUIC ingress); the forwarder and the
    /// stake-file reload run on one thread of their own.
    pub ingress_threads: usize,
    /// Batching, dedup and verification.
    pub pipeline: PipelineConfig,
    /// Forwarding to the validator.
    pub forward: ForwardConfig,
    /// Metrics endpoint.
    pub metrics: MetricsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ingress: IngressConfig::default(),
            ingress_threads: 1,
            pipeline: PipelineConfig::default(),
            forward: ForwardConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

/// Metrics endpoint settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint; none to disable.
    pub listen: Option<SocketAddr>,
    /// Where the XDP filter pins its maps: its per-verdict and per-port
    /// counters join `/metrics` while it is attached there. None: leave
    /// them out.
    pub xdp_pin_dir: Option<std::path::PathBuf>,
    /// Seconds over which health is judged: transactions entering and none
    /// judged for this long is a stall (`/health` answers 503 and the
    /// systemd watchdog is no longer fed).
    pub stall_window_secs: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            xdp_pin_dir: Some(rampart_common::maps::PIN_DIR.into()),
            stall_window_secs: 10,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    /// The file (or "flags").
    pub source_name: String,
    /// What is wrong, with the key.
    pub message: String,
}

impl Config {
    /// Parses and checks a configuration file's text.
    ///
    /// # Errors
    /// Syntax, unknown keys, wrong types, or values out of range.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            source_name: source_name.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        config.validate().map_err(|message| ConfigError {
            source_name: source_name.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// Reads and checks a configuration file.
    ///
    /// # Errors
    /// As [`Config::parse`], or the file cannot be read.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: name.clone(),
            message: e.to_string(),
        })?;
        Config::parse(&text, &name)
    }

    /// Checks values that parse but cannot work.
    ///
    /// # Errors
    /// The first bad key and why.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("pipeline.queue", self.pipeline.queue as u64),
            ("pipeline.batch_size", self.pipeline.batch_size as u64),
            ("pipeline.dedup_window_ms", self.pipeline.dedup_window_ms),
            (
                "pipeline.dedup_capacity",
                self.pipeline.dedup_capacity as u64,
            ),
            ("pipeline.max_rlc_batch", self.pipeline.max_rlc_batch as u64),
            ("forward.queue", self.forward.queue as u64),
            ("forward.max_in_flight", self.forward.max_in_flight as u64),
            (
                "forward.connections_per_minute",
                self.forward.connections_per_minute as u64,
            ),
            ("forward.max_age_ms", self.forward.max_age_ms),
            (
                "forward.connect_timeout_ms",
                self.forward.connect_timeout_ms,
            ),
            ("forward.open_timeout_ms", self.forward.open_timeout_ms),
            ("forward.write_timeout_ms", self.forward.write_timeout_ms),
            ("forward.ack_timeout_ms", self.forward.ack_timeout_ms),
            ("ingress.stream_timeout_ms", self.ingress.stream_timeout_ms),
            ("ingress.idle_timeout_ms", self.ingress.idle_timeout_ms),
            ("ingress_threads", self.ingress_threads as u64),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{key} must be at least 1"));
        }
        let floor = self.pipeline.unstaked_floor;
        if !(floor > 0.0 && floor < 1.0) {
            return Err(format!(
                "pipeline.unstaked_floor must be between 0 and 1 (exclusive), not {floor}"
            ));
        }
        // Each of these sizes a queue, a semaphore or a pacer that
        // `Appliance::start` allocates up front: past these maxima a file
        // that validated would abort the start instead (found by the
        // config_file fuzz target).
        let bounded = [
            ("pipeline.queue", self.pipeline.queue as u64, MAX_QUEUE),
            ("forward.queue", self.forward.queue as u64, MAX_QUEUE),
            (
                "forward.max_in_flight",
                self.forward.max_in_flight as u64,
                MAX_IN_FLIGHT,
            ),
            (
                "forward.connections_per_minute",
                self.forward.connections_per_minute as u64,
                MAX_CONNECTIONS_PER_MINUTE,
            ),
            ("ingress_threads", self.ingress_threads as u64, MAX_THREADS),
            (
                "ingress.receive_buffer_bytes",
                self.ingress.receive_buffer_bytes as u64,
                MAX_RECEIVE_BUFFER,
            ),
            (
                "pipeline.verify_threads",
                self.pipeline.verify_threads.unwrap_or(1) as u64,
                MAX_THREADS,
            ),
        ];
        if let Some((key, value, max)) = bounded.iter().find(|(_, value, max)| value > max) {
            return Err(format!("{key} {value} is above the maximum {max}"));
        }
        self.validate_admission()?;
        self.validate_handshakes()?;
        if self.pipeline.verify_threads == Some(0) {
            return Err("pipeline.verify_threads must be at least 1".into());
        }
        if !(1232..=65_535).contains(&self.ingress.max_stream_bytes) {
            return Err(format!(
                "ingress.max_stream_bytes {} out of range 1232..=65535 (4096 admits v1 transactions)",
                self.ingress.max_stream_bytes
            ));
        }
        if self.ingress.listen == self.forward.target {
            return Err(
                "forward.target equals ingress.listen: the appliance would forward to itself"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Pipeline settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Transactions waiting for the batcher at most, over all sources. This
    /// is where a backlog waits, per source, while every verify worker is
    /// busy; when it is full the source furthest over its share waits or is
    /// shed (8192 ≈ 0.3 s of one core's strict rate).
    pub queue: usize,
    /// The share of verification reserved for unstaked sources together
    /// whenever they have work (staked identities share the rest by stake),
    /// strictly between 0 and 1.
    pub unstaked_floor: f64,
    /// Transactions per verify batch at most.
    ///
    /// 16, not more: the batch stage hands verdicts on a batch at a time, so
    /// what queued behind a stall waits for the whole of the next batch.
    /// `bench pipeline` at half load, 12 alternated runs each on 2 vCPUs:
    /// client-to-sink p99 under 2 ms in 11 runs with 16 (median 1.29 ms)
    /// against 3 with 64 (median 2.10 ms). The vector engine is as fast per
    /// signature at 16 as at 64 (within 1 %); the random-linear-combination
    /// batches of the cofactored rules on CPUs without AVX-512 IFMA lose
    /// 5-7 % (raise it there if throughput matters more than latency).
    pub batch_size: usize,
    /// Microseconds a transaction waits for its batch to fill at most.
    pub batch_delay_us: u64,
    /// Milliseconds a forwarded signature is remembered (1–2 windows).
    pub dedup_window_ms: u64,
    /// Signatures remembered per window at most (bounded memory).
    pub dedup_capacity: usize,
    /// Verify worker threads (default: every core but one, pinned to the
    /// last cores; the first is the network's).
    pub verify_threads: Option<usize>,
    /// `strict`, `zip215` or `zip215-amended`.
    #[serde(deserialize_with = "from_str")]
    pub rule: Rule,
    /// `cpu`, or `fpga-sim` (the simulated FPGA card; cargo feature `fpga-sim`).
    #[serde(deserialize_with = "from_str")]
    pub backend: BackendKind,
    /// The CPU backend's path: `auto` (Rampart's vector engine where the CPU
    /// has AVX-512 IFMA, the scalar and batch paths elsewhere), `ifma512`
    /// (eight lanes), `ifma` (four), `avx2` or `off`.
    #[serde(deserialize_with = "from_str")]
    pub engine: EngineChoice,
    /// Largest random-linear-combination batch (cofactored rules without the
    /// engine).
    pub max_rlc_batch: usize,
    /// Pin verify workers to the highest-numbered cores, leaving core 0 and
    /// up to the network runtime.
    pub pin_verify_workers: bool,
    /// With one verify worker, verify in the batch stage's own thread rather
    /// than hand each batch to a worker thread and wait for it back: on a
    /// machine of two cores that saves two thread wake-ups per batch
    /// (docs/architecture.md, "Verifying in the batch thread"). No effect
    /// with more workers, where the batch stage must stay free to feed them.
    pub verify_in_batch_thread: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue: 8192,
            unstaked_floor: 0.2,
            batch_size: 16,
            batch_delay_us: 250,
            dedup_window_ms: 2000,
            dedup_capacity: 4_000_000,
            verify_threads: None,
            rule: Rule::Strict,
            backend: BackendKind::Cpu,
            engine: EngineChoice::Auto,
            max_rlc_batch: 256,
            pin_verify_workers: true,
            verify_in_batch_thread: true,
        }
    }
}

impl PipelineConfig {
    /// The backend each verify worker gets.
    pub fn backend(&self) -> BackendSpec {
        BackendSpec {
            kind: self.backend,
            engine: self.engine,
            max_rlc_batch: self.max_rlc_batch,
            adaptive: true,
            exact_reasons: false,
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

impl Config {
    /// Checks `[ingress.handshakes]`: every limit at least 1 (`retry_above`
    /// may be 0: validate every address), Retry starting below the cap (else
    /// it never would), and a source table small enough to allocate.
    fn validate_handshakes(&self) -> Result<(), String> {
        let h = &self.ingress.handshakes;
        let positive = [
            ("max_handshakes", h.max_handshakes as u64),
            (
                "new_connections_per_second",
                u64::from(h.new_connections_per_second),
            ),
            ("per_source_per_minute", u64::from(h.per_source_per_minute)),
            ("source_slots", h.source_slots as u64),
            ("handshake_timeout_ms", h.handshake_timeout_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("ingress.handshakes.{key} must be at least 1"));
        }
        if h.retry_above >= h.max_handshakes {
            return Err(format!(
                "ingress.handshakes.retry_above {} must be below ingress.handshakes.max_handshakes {}",
                h.retry_above, h.max_handshakes
            ));
        }
        if h.source_slots > 1 << 24 {
            return Err(format!(
                "ingress.handshakes.source_slots {} exceeds 16777216",
                h.source_slots
            ));
        }
        if h.handshake_timeout_ms > 60_000 {
            return Err(format!(
                "ingress.handshakes.handshake_timeout_ms {} exceeds 60000",
                h.handshake_timeout_ms
            ));
        }
        Ok(())
    }

    /// Checks `[ingress.admission]`: every limit at least 1 (a zero would
    /// refuse everyone, or divide by zero), except `max_unstaked_connections`,
    /// where 0 means staked peers only; and the staked stream range in order
    /// (a reversed range would underflow while admission holds its lock).
    fn validate_admission(&self) -> Result<(), String> {
        let a = &self.ingress.admission;
        let positive = [
            ("max_staked_connections", a.max_staked_connections as u64),
            (
                "max_new_connections_per_ip_per_minute",
                a.max_new_connections_per_ip_per_minute as u64,
            ),
            (
                "max_connections_per_unstaked_peer",
                a.max_connections_per_unstaked_peer as u64,
            ),
            (
                "max_connections_per_staked_peer",
                a.max_connections_per_staked_peer as u64,
            ),
            ("unstaked_streams", u64::from(a.unstaked_streams)),
            ("min_staked_streams", u64::from(a.min_staked_streams)),
            ("max_staked_streams", u64::from(a.max_staked_streams)),
            ("unstaked_tps_per_ip", u64::from(a.unstaked_tps_per_ip)),
            ("staked_tps_total", u64::from(a.staked_tps_total)),
            ("unstaked_tps_total", u64::from(a.unstaked_tps_total)),
            ("min_stake_share_inverse", a.min_stake_share_inverse),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("ingress.admission.{key} must be at least 1"));
        }
        if a.min_staked_streams > a.max_staked_streams {
            return Err(format!(
                "ingress.admission.min_staked_streams {} exceeds ingress.admission.max_staked_streams {}",
                a.min_staked_streams, a.max_staked_streams
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_is_valid() {
        let config = Config::parse(
            include_str!("../../../deploy/rampart.toml"),
            "deploy/rampart.toml",
        )
        .unwrap();
        assert_eq!(config.pipeline.batch_size, 16);
    }

    #[test]
    fn bad_configs_name_the_key() {
        for (text, needle) in [
            ("[pipeline]\nbatch_size = 0\n", "pipeline.batch_size"),
            ("[pipeline]\nrule = \"lenient\"\n", "unknown rule"),
            ("[pipeline]\nbatchsize = 3\n", "unknown field `batchsize`"),
            ("[forward]\nmode = \"tcp\"\n", "unknown variant `tcp`"),
            (
                "[ingress]\nmax_stream_bytes = 100\n",
                "ingress.max_stream_bytes",
            ),
            (
                "[ingress.admission]\nmin_staked_streams = 600\n",
                "ingress.admission.min_staked_streams 600 exceeds",
            ),
            ("[forward]\nack_timeout_ms = 0\n", "forward.ack_timeout_ms"),
            ("[forward]\nmax_age_ms = 0\n", "forward.max_age_ms"),
            (
                "[ingress.handshakes]\nretry_above = 1024\n",
                "ingress.handshakes.retry_above 1024 must be below",
            ),
            (
                "[ingress.handshakes]\nper_source_per_minute = 0\n",
                "ingress.handshakes.per_source_per_minute must be at least 1",
            ),
            (
                "[ingress.handshakes]\nsource_slots = 100000000\n",
                "ingress.handshakes.source_slots 100000000 exceeds",
            ),
            (
                "[ingress.handshakes]\nhandshake_timeout_ms = 0\n",
                "ingress.handshakes.handshake_timeout_ms must be at least 1",
            ),
        ] {
            let err = Config::parse(text, "test.toml").unwrap_err();
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }

    /// Sizes that validated and then aborted the start (config_file fuzz
    /// target): a queue or pacer allocation past any memory, a semaphore
    /// past tokio's permit limit.
    #[test]
    fn sizes_allocated_at_start_are_bounded_by_name() {
        for (section, key, value) in [
            ("pipeline", "queue", "100000000000"),
            ("forward", "queue", "4611686018427387904"),
            ("forward", "max_in_flight", "4611686018427387904"),
            ("forward", "connections_per_minute", "100000000000000"),
            ("pipeline", "verify_threads", "1000000"),
        ] {
            let text = format!("[{section}]\n{key} = {value}\n");
            let err = Config::parse(&text, "test.toml").unwrap_err();
            assert!(
                err.message
                    .contains(&format!("{section}.{key} {value} is above the maximum")),
                "{key}: {err}"
            );
        }
        for (section, key, max) in [
            ("pipeline", "queue", MAX_QUEUE),
            ("forward", "queue", MAX_QUEUE),
            ("forward", "max_in_flight", MAX_IN_FLIGHT),
            (
                "forward",
                "connections_per_minute",
                MAX_CONNECTIONS_PER_MINUTE,
            ),
        ] {
            let text = format!("[{section}]\n{key} = {max}\n");
            Config::parse(&text, "test.toml").expect("the maximum itself is allowed");
        }
    }

    #[test]
    fn every_admission_limit_is_checked_by_name() {
        for key in [
            "max_staked_connections",
            "max_new_connections_per_ip_per_minute",
            "max_connections_per_unstaked_peer",
            "max_connections_per_staked_peer",
            "unstaked_streams",
            "min_staked_streams",
            "max_staked_streams",
            "unstaked_tps_per_ip",
            "staked_tps_total",
            "min_stake_share_inverse",
        ] {
            let text = format!("[ingress.admission]\n{key} = 0\n");
            let err = Config::parse(&text, "test.toml").unwrap_err();
            assert!(
                err.message
                    .contains(&format!("ingress.admission.{key} must be at least 1")),
                "{key}: {err}"
            );
        }
        // Staked peers only is a policy, not a mistake.
        Config::parse(
            "[ingress.admission]\nmax_unstaked_connections = 0\n",
            "test.toml",
        )
        .expect("no unstaked slots is allowed");
    }
}
