//! One way to make a quinn endpoint and a TPU client configuration, for the
//! ingress server, the forwarder and the lab's clients and sinks alike.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use quinn::crypto::rustls::QuicClientConfig;

use super::{
    identity::Identity,
    tls::{client_config, TlsError},
};

/// Errors setting up an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The socket could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// No tokio runtime for quinn.
    #[error("no async runtime available for the QUIC endpoint")]
    NoRuntime,
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A quinn endpoint on a UDP socket bound to `addr`, serving `server` if
/// given. The QUIC fixed bit is never greased, so the XDP filter's header
/// check holds for every packet Rampart sends. Must run inside a tokio runtime.
///
/// # Errors
/// The socket cannot be bound, or there is no runtime.
pub fn bind(
    addr: SocketAddr,
    server: Option<quinn::ServerConfig>,
) -> Result<quinn::Endpoint, EndpointError> {
    on_socket(udp_socket(addr)?, server)
}

/// A UDP socket bound to `addr`, for [`on_socket`].
///
/// # Errors
/// The socket cannot be bound.
pub fn udp_socket(addr: SocketAddr) -> Result<std::net::UdpSocket, EndpointError> {
    std::net::UdpSocket::bind(addr).map_err(|source| EndpointError::Bind { addr, source })
}

/// [`bind`] on a socket the caller bound (to learn something of it first,
/// such as its inode).
///
/// # Errors
/// The socket cannot be set up for quinn, or there is no runtime.
pub fn on_socket(
    socket: std::net::UdpSocket,
    server: Option<quinn::ServerConfig>,
) -> Result<quinn::Endpoint, EndpointError> {
    let addr = socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let mut config = quinn::EndpointConfig::default();
    config.grease_quic_bit(false);
    let runtime = quinn::default_runtime().ok_or(EndpointError::NoRuntime)?;
    quinn::Endpoint::new(config, server, socket, runtime)
        .map_err(|source| EndpointError::Bind { addr, source })
}

/// The unspecified address of `target`'s family, port 0: where a client
/// endpoint talking to `target` binds.
pub fn any_for(target: SocketAddr) -> SocketAddr {
    if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    }
}

/// A TPU client configuration presenting `identity`'s certificate, with a
/// one-second keep-alive so an idle connection survives the server's idle
/// timeout.
///
/// # Errors
/// TLS setup.
pub fn tpu_client_config(identity: &Identity) -> Result<quinn::ClientConfig, EndpointError> {
    let tls = client_config(identity)?;
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(1)));
    client.transport_config(Arc::new(transport));
    Ok(client)
}
