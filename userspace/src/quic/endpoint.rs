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

/// Asks the kernel to hold `bytes` of datagrams in `socket`'s receive buffer
/// and returns what it granted (the payload figure, as asked: Linux reports
/// twice that, its bookkeeping included).
///
/// With the default of about 208 KiB a few milliseconds in which the
/// reading thread is not scheduled overflow the buffer at tens of thousands
/// of packets a second, and every datagram dropped there is a QUIC loss the
/// sender recovers only after its loss timer: tens of milliseconds added to
/// an honest transaction, and a smaller congestion window. Validators raise
/// the same limit (Agave's documented `net.core.rmem_*` settings).
///
/// `SO_RCVBUFFORCE` first, which may exceed `net.core.rmem_max` with
/// CAP_NET_ADMIN (the appliance runs as root for XDP); `SO_RCVBUF`
/// otherwise, which the kernel caps at `rmem_max`.
///
/// # Errors
/// The kernel refused both options, or the size cannot be read back.
pub fn set_receive_buffer(socket: &std::net::UdpSocket, bytes: usize) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let set = |option: libc::c_int| {
        // SAFETY: `fd` is an open socket owned by `socket` for this call; the
        // option value is a c_int whose address and size are passed with it.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    if set(libc::SO_RCVBUFFORCE) != 0 && set(libc::SO_RCVBUF) != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut granted: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: as above; `granted` and `len` are valid for the kernel to write.
    let read = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut granted as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if read != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(usize::try_from(granted).unwrap_or(0) / 2)
}

/// [`set_receive_buffer`] for `bytes` (0 leaves the kernel's default), with
/// a warning in the log where the kernel grants less: the operator then
/// raises `net.core.rmem_max` or runs with CAP_NET_ADMIN.
pub fn size_receive_buffer(socket: &std::net::UdpSocket, bytes: usize) {
    if bytes == 0 {
        return;
    }
    match set_receive_buffer(socket, bytes) {
        Ok(granted) if granted >= bytes => {}
        Ok(granted) => tracing::warn!(
            asked = bytes,
            granted,
            "UDP receive buffer smaller than configured (raise net.core.rmem_max)"
        ),
        Err(error) => tracing::warn!(%error, asked = bytes, "UDP receive buffer not set"),
    }
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

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;

    /// The appliance's default `ingress.receive_buffer_bytes`.
    const SIZED: usize = 8 << 20;

    /// Sends `count` datagrams of 1,200 bytes to a socket nobody reads (as
    /// when the network edge is not scheduled), then counts what it holds.
    fn held_after_burst(receive_buffer: usize, count: usize) -> usize {
        let receiver = udp_socket(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        size_receive_buffer(&receiver, receive_buffer);
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let target = receiver.local_addr().expect("address");
        let payload = [0x5a; 1200];
        for _ in 0..count {
            sender.send_to(&payload, target).expect("send");
        }
        receiver.set_nonblocking(true).expect("nonblocking");
        let mut buffer = [0u8; 2048];
        let mut held = 0;
        while receiver.recv(&mut buffer).is_ok() {
            held += 1;
        }
        held
    }

    #[test]
    fn a_sized_receive_buffer_holds_a_burst_the_default_drops() {
        // 2,000 datagrams, 2.4 MB of payload: about 18 ms of a 15,000 tx/s
        // load at one datagram each, arriving while nobody reads.
        let default = held_after_burst(0, 2000);
        let sized = held_after_burst(SIZED, 2000);
        assert!(default < 2000, "the kernel default held all {default}");
        assert_eq!(sized, 2000, "the sized buffer dropped some");
    }

    #[test]
    fn the_kernel_grants_the_configured_size_to_root() {
        let socket = udp_socket(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let asked = SIZED;
        let granted = set_receive_buffer(&socket, asked).expect("set");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(granted, asked);
        } else {
            assert!(granted > 0);
        }
    }
}
