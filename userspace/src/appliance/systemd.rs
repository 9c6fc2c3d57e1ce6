//! The systemd notification protocol (`sd_notify`): one datagram per message
//! to the socket named by `NOTIFY_SOCKET`. Rampart says `READY=1` once every
//! stage runs, and `WATCHDOG=1` while it is healthy, so a unit with
//! `Type=notify` and `WatchdogSec=` restarts an appliance that is stuck, not
//! only one that died.

use std::{io, os::unix::net::UnixDatagram, path::PathBuf, time::Duration};

/// Where and how often to notify; absent when not started by systemd.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
    watchdog: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Target {
    Path(PathBuf),
    Abstract(Vec<u8>),
}

impl Notifier {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC` (honoured only when
    /// `WATCHDOG_PID` is unset or names this process). `None` when
    /// `NOTIFY_SOCKET` is unset.
    ///
    /// # Errors
    /// No datagram socket can be made.
    pub fn from_env() -> io::Result<Option<Self>> {
        let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let socket = socket.to_string_lossy().into_owned();
        let target = match socket.strip_prefix('@') {
            Some(name) => Target::Abstract(name.as_bytes().to_vec()),
            None => Target::Path(PathBuf::from(socket)),
        };
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.parse::<u64>().ok())
            .filter(|usec| *usec > 0 && for_us)
            .map(Duration::from_micros);
        Ok(Some(Notifier {
            socket: UnixDatagram::unbound()?,
            target,
            watchdog,
        }))
    }

    /// Notifies the socket at `path`, expecting pings within `watchdog`.
    ///
    /// # Errors
    /// No datagram socket can be made.
    pub fn to_path(path: PathBuf, watchdog: Option<Duration>) -> io::Result<Self> {
        Ok(Notifier {
            socket: UnixDatagram::unbound()?,
            target: Target::Path(path),
            watchdog,
        })
    }

    /// The watchdog interval systemd expects pings within, if it set one.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends one notification (`READY=1`, `WATCHDOG=1`, `STATUS=…`).
    ///
    /// # Errors
    /// The socket refused the datagram.
    pub fn send(&self, message: &str) -> io::Result<()> {
        match &self.target {
            Target::Path(path) => self.socket.send_to(message.as_bytes(), path).map(drop),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                self.socket
                    .send_to_addr(message.as_bytes(), &addr)
                    .map(drop)
            }
        }
    }
}
