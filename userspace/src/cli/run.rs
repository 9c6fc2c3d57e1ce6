//! `rampart run`: the appliance — QUIC ingress, verify pipeline, forwarder,
//! metrics — until SIGTERM or Ctrl-C, then a graceful drain.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::Args;
use rampart_sigverify::{
    backend::{BackendKind, EngineChoice},
    Rule,
};

use crate::{
    appliance::{backend::verify_path, Appliance, Config},
    pipeline::forward::ForwardMode,
};

/// Arguments of `rampart run`; each flag overrides the file's setting.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (see deploy/rampart.toml); defaults apply without one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// ingress.listen
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// ingress.identity
    #[arg(long)]
    identity: Option<PathBuf>,
    /// ingress.stake_file
    #[arg(long)]
    stake_file: Option<PathBuf>,
    /// forward.target
    #[arg(long)]
    forward: Option<SocketAddr>,
    /// forward.mode: quic or udp
    #[arg(long, value_parser = parse_mode)]
    forward_mode: Option<ForwardMode>,
    /// pipeline.rule
    #[arg(long)]
    rule: Option<Rule>,
    /// pipeline.backend
    #[arg(long)]
    backend: Option<BackendKind>,
    /// pipeline.engine: auto, ifma512, ifma, avx2 or off
    #[arg(long)]
    engine: Option<EngineChoice>,
    /// pipeline.verify_threads
    #[arg(long)]
    verify_threads: Option<usize>,
    /// pipeline.batch_size
    #[arg(long)]
    batch_size: Option<usize>,
    /// pipeline.batch_delay_us
    #[arg(long)]
    batch_delay_us: Option<u64>,
    /// metrics.listen
    #[arg(long)]
    metrics: Option<SocketAddr>,
}

fn parse_mode(text: &str) -> Result<ForwardMode, String> {
    match text {
        "quic" => Ok(ForwardMode::Quic),
        "udp" => Ok(ForwardMode::Udp),
        _ => Err(format!("{text:?}: expected quic or udp")),
    }
}

impl RunArgs {
    /// The configuration: the file (or defaults) with flags applied, checked.
    ///
    /// # Errors
    /// A bad file or flag value.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.listen {
            config.ingress.listen = v;
        }
        if let Some(v) = &self.identity {
            config.ingress.identity = v.clone();
        }
        if let Some(v) = &self.stake_file {
            config.ingress.stake_file = Some(v.clone());
        }
        if let Some(v) = self.forward {
            config.forward.target = v;
        }
        if let Some(v) = self.forward_mode {
            config.forward.mode = v;
        }
        if let Some(v) = self.rule {
            config.pipeline.rule = v;
        }
        if let Some(v) = self.backend {
            config.pipeline.backend = v;
        }
        if let Some(v) = self.engine {
            config.pipeline.engine = v;
        }
        if let Some(v) = self.verify_threads {
            config.pipeline.verify_threads = Some(v);
        }
        if let Some(v) = self.batch_size {
            config.pipeline.batch_size = v;
        }
        if let Some(v) = self.batch_delay_us {
            config.pipeline.batch_delay_us = v;
        }
        if let Some(v) = self.metrics {
            config.metrics.listen = Some(v);
        }
        config
            .validate()
            .map_err(|message| anyhow::anyhow!("flags: {message}"))?;
        Ok(config)
    }
}

/// Runs the appliance until SIGTERM or SIGINT.
///
/// # Errors
/// A bad configuration or a stage that cannot start.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    let config = args.config()?;
    let appliance = Appliance::start(config.clone()).context("starting the appliance")?;
    tracing::info!(
        ingress = %appliance.ingress_addr(),
        identity = %appliance.identity().pubkey_base58(),
        forward = %config.forward.target,
        rule = %config.pipeline.rule,
        backend = %config.pipeline.backend,
        verify_path = verify_path(&config.pipeline.backend()),
        metrics = ?appliance.metrics_addr(),
        "rampart running"
    );
    appliance.run_until_signal()?;
    Ok(())
}
