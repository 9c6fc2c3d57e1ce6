//! Both ends of Solana's TPU protocol for tests and benchmarks: a client that
//! sends one transaction per unidirectional stream with its own identity
//! certificate, and a sink that accepts such streams (requiring a client
//! certificate, as Agave's server does) and keeps what arrives.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use quinn::VarInt;

use crate::{
    ingress::{
        admission::AdmissionLimits,
        server::{quinn_server_config, IngressConfig},
    },
    quic::{
        endpoint::{bind, on_socket, size_receive_buffer, tpu_client_config, udp_socket},
        identity::Identity,
        tls::peer_pubkey,
    },
};

/// A TPU client with its own identity.
pub struct TpuClient {
    endpoint: quinn::Endpoint,
    config: quinn::ClientConfig,
}

impl TpuClient {
    /// A client bound to an ephemeral loopback port. Needs a tokio runtime.
    ///
    /// # Errors
    /// TLS or socket setup.
    pub fn new(identity: &Identity) -> anyhow::Result<Self> {
        let config = tpu_client_config(identity)?;
        let endpoint = bind(SocketAddr::from(([127, 0, 0, 1], 0)), None)?;
        Ok(TpuClient { endpoint, config })
    }

    /// Opens a connection to `server`.
    ///
    /// # Errors
    /// Handshake failure or refusal.
    pub async fn connect(&self, server: SocketAddr) -> anyhow::Result<quinn::Connection> {
        let connecting = self
            .endpoint
            .connect_with(self.config.clone(), server, "solana-tpu")?;
        Ok(tokio::time::timeout(Duration::from_secs(5), connecting).await??)
    }

    /// Sends `bytes` as one stream, finished with FIN, and waits until the
    /// peer has acknowledged all of it (so closing afterwards loses nothing).
    ///
    /// # Errors
    /// The stream could not be opened, written or delivered.
    pub async fn send(connection: &quinn::Connection, bytes: &[u8]) -> anyhow::Result<()> {
        let mut stream = connection.open_uni().await?;
        stream.write_all(bytes).await?;
        stream.finish()?;
        stream.stopped().await?;
        Ok(())
    }

    /// Closes the endpoint once its streams are delivered.
    pub async fn close(self) {
        self.endpoint.close(VarInt::from_u32(0), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}

/// One transaction as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// When its stream finished.
    pub at: Instant,
    /// The sender's identity from its client certificate.
    pub sender: Option<[u8; 32]>,
}

/// Where a [`TpuSink`] listens and how much it lets a client send: the knobs
/// the forwarder's fault tests turn.
#[derive(Debug, Clone, Copy)]
pub struct SinkOptions {
    /// The address to bind; port 0 takes an ephemeral one. Binding a stopped
    /// sink's address brings "the same validator" back.
    pub listen: SocketAddr,
    /// Unidirectional streams a client may have open at once. Zero grants no
    /// stream credit at all: a validator that accepts the connection, keeps it
    /// alive and never lets a transaction through.
    pub stream_credit: u32,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            stream_credit: 1024,
        }
    }
}

/// A TPU-style server that records every transaction it receives.
pub struct TpuSink {
    endpoint: quinn::Endpoint,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TpuSink {
    /// Listens on an ephemeral loopback port. Needs a tokio runtime.
    ///
    /// # Errors
    /// TLS or socket setup.
    pub fn start(identity: &Identity) -> anyhow::Result<Self> {
        Self::start_with(identity, SinkOptions::default())
    }

    /// Listens as `options` say. Needs a tokio runtime.
    ///
    /// # Errors
    /// TLS or socket setup (the address may still be held by a sink that is
    /// stopping).
    pub fn start_with(identity: &Identity, options: SinkOptions) -> anyhow::Result<Self> {
        let config = IngressConfig {
            admission: AdmissionLimits {
                unstaked_streams: options.stream_credit,
                ..Default::default()
            },
            ..IngressConfig::default()
        };
        let server = quinn_server_config(&config, identity)?;
        // The validator's socket, sized as the appliance's own: a validator
        // host raises the same limit.
        let socket = udp_socket(options.listen)?;
        size_receive_buffer(&socket, config.receive_buffer_bytes);
        let endpoint = on_socket(socket, Some(server))?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let (accepting, store) = (endpoint.clone(), received.clone());
        let task = tokio::spawn(async move {
            while let Some(incoming) = accepting.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let Ok(connection) = incoming.await else {
                        return;
                    };
                    let sender = peer_pubkey(&connection);
                    while let Ok(mut stream) = connection.accept_uni().await {
                        let store = store.clone();
                        tokio::spawn(async move {
                            if let Ok(bytes) = stream.read_to_end(4096).await {
                                if let Ok(mut store) = store.lock() {
                                    store.push(Received {
                                        bytes,
                                        at: Instant::now(),
                                        sender,
                                    });
                                }
                            }
                        });
                    }
                });
            }
        });
        Ok(TpuSink {
            endpoint,
            received,
            task,
        })
    }

    /// The sink's address.
    ///
    /// # Errors
    /// The socket is gone.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// How many transactions arrived so far.
    pub fn count(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Stops the sink.
    pub async fn stop(self) {
        self.endpoint.close(VarInt::from_u32(0), b"done");
        self.task.abort();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
    }
}
