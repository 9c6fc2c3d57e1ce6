//! TPU clients bound to chosen loopback addresses, and the streams they send:
//! what the honest clients and every attacker share.
//!
//! Every source address is in 127.0.0.0/8, so all traffic stays on loopback;
//! many of them let one process look like many hosts to the appliance's
//! per-source limits.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use quinn::{crypto::rustls::QuicClientConfig, VarInt};

use crate::quic::{
    endpoint::{bind, tpu_client_config},
    identity::Identity,
};

/// The honest staked client's source address.
pub(super) const HONEST_STAKED_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The honest unstaked client's source address.
pub(super) const HONEST_UNSTAKED_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// The forger's source address.
pub(super) const FORGER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
/// The staked attacker's source address.
pub(super) const STAKED_ATTACKER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);

/// The `index`-th address of an attack's pool, 127.`family`.x.y (y never 0
/// or 255): up to 64,000 distinct sources per family.
pub(super) fn pool_ip(family: u8, index: usize) -> IpAddr {
    let index = index % 64_000;
    IpAddr::V4(Ipv4Addr::new(
        127,
        family,
        (index / 250) as u8,
        (index % 250) as u8 + 1,
    ))
}

/// The identity of the `index`-th client of an attack's pool (each its own
/// unstaked key).
pub(super) fn pool_identity(family: u8, index: usize) -> Identity {
    let mut seed = [family; 32];
    seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
    Identity::from_seed(seed)
}

/// A QUIC client endpoint on one source address with one client
/// configuration (its certificate).
pub(super) struct Client {
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
}

impl Client {
    /// A client presenting `identity`'s ordinary certificate from `source`.
    /// Needs a tokio runtime.
    ///
    /// # Errors
    /// TLS or socket setup.
    pub(super) fn new(source: IpAddr, identity: &Identity) -> anyhow::Result<Self> {
        Self::with_config(source, tpu_client_config(identity)?)
    }

    /// A client with a TLS configuration made elsewhere (a forged certificate).
    ///
    /// # Errors
    /// TLS or socket setup.
    pub(super) fn with_tls(source: IpAddr, tls: rustls::ClientConfig) -> anyhow::Result<Self> {
        let crypto = QuicClientConfig::try_from(tls).context("QUIC TLS")?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        transport.keep_alive_interval(Some(Duration::from_secs(1)));
        config.transport_config(Arc::new(transport));
        Self::with_config(source, config)
    }

    fn with_config(source: IpAddr, config: quinn::ClientConfig) -> anyhow::Result<Self> {
        let endpoint = bind(SocketAddr::new(source, 0), None)
            .with_context(|| format!("binding a client on {source}"))?;
        Ok(Client { endpoint, config })
    }

    /// A connection to `server`, within 5 s.
    ///
    /// # Errors
    /// Refused, failed or timed out.
    pub(super) async fn connect(&self, server: SocketAddr) -> anyhow::Result<quinn::Connection> {
        let connecting = self
            .endpoint
            .connect_with(self.config.clone(), server, "solana-tpu")?;
        Ok(tokio::time::timeout(Duration::from_secs(5), connecting).await??)
    }

    /// Closes every connection of the endpoint at once, without waiting.
    pub(super) fn close(&self) {
        self.endpoint.close(VarInt::from_u32(0), b"done");
    }
}

/// Writes `bytes` on `stream`, finishes it, and waits until the appliance
/// has acknowledged all of it. True if it did.
pub(super) async fn deliver(mut stream: quinn::SendStream, bytes: &[u8]) -> bool {
    if stream.write_all(bytes).await.is_err() || stream.finish().is_err() {
        return false;
    }
    stream.stopped().await.is_ok()
}

/// Writes `bytes` on `stream` and finishes it without waiting for the
/// acknowledgement (quinn keeps sending it after the handle is dropped).
pub(super) async fn fire(mut stream: quinn::SendStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok() && stream.finish().is_ok()
}
