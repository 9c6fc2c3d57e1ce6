//! `rampart run`'s configuration: a TOML file whose every setting can also be
//! given as a flag. A bad file is refused before anything starts, naming the
//! key and what is wrong. `deploy/rampart.toml` documents every setting.

use std::{net::SocketAddr, path::Path};

use crate::{
    ingress::server::IngressConfig,
    pipeline::{forward::ForwardConfig, PipelineConfig},
};

/// The whole configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// QUIC ingress.
    pub ingress: IngressConfig,
    /// Threads of the network runtime (ingress and forwarder).
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
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
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
            ("ingress.stream_timeout_ms", self.ingress.stream_timeout_ms),
            ("ingress.idle_timeout_ms", self.ingress.idle_timeout_ms),
            ("ingress_threads", self.ingress_threads as u64),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("{key} must be at least 1"));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_is_valid() {
        let config = Config::parse(
            include_str!("../../deploy/rampart.toml"),
            "deploy/rampart.toml",
        )
        .unwrap();
        assert_eq!(config.pipeline.batch_size, 64);
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
        ] {
            let err = Config::parse(text, "test.toml").unwrap_err();
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }
}
