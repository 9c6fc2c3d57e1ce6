//! A private two-host network for tests and benchmarks: two network namespaces
//! joined by a veth pair, with addresses of their own, removed on drop even
//! when the test that made them fails.
//!
//! Work happens inside a namespace through [`Netns::run`], which runs a
//! closure on a thread that has entered it (network namespaces are per
//! thread), so sockets made there belong to it. Mounts are not touched, so
//! bpffs pins stay visible.
//!
//! [`traffic`] floods a bounded UDP stream; [`cpu`] reads machine-wide CPU time.

pub mod cpu;
pub mod traffic;

use std::{
    fs::File,
    io,
    os::fd::AsRawFd,
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
};

/// Errors setting up or using the lab network.
#[derive(Debug, thiserror::Error)]
pub enum NetlabError {
    /// An `ip` command failed.
    #[error("`ip {args}` failed: {stderr}")]
    Ip {
        /// Its arguments.
        args: String,
        /// What it printed.
        stderr: String,
    },
    /// `ip` could not be run at all.
    #[error("cannot run `ip` (install iproute2): {0}")]
    NoIp(#[source] io::Error),
    /// Entering a namespace failed.
    #[error("entering network namespace {name}: {source}")]
    Setns {
        /// Namespace name.
        name: String,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// The thread working inside a namespace panicked.
    #[error("the thread inside namespace {0} panicked")]
    Panicked(String),
}

/// Runs `ip ARGS`, failing with its stderr.
///
/// # Errors
/// [`NetlabError::Ip`] or [`NetlabError::NoIp`].
pub fn ip(args: &[&str]) -> Result<String, NetlabError> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(NetlabError::NoIp)?;
    if !output.status.success() {
        return Err(NetlabError::Ip {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A network namespace that is deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` with its loopback up.
    ///
    /// # Errors
    /// `ip netns add` failing (not root, name taken).
    pub fn create(name: &str) -> Result<Self, NetlabError> {
        ip(&["netns", "add", name])?;
        let netns = Netns {
            name: name.to_owned(),
        };
        netns.ip(&["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS`.
    ///
    /// # Errors
    /// As [`ip`].
    pub fn ip(&self, args: &[&str]) -> Result<String, NetlabError> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Runs `work` on a thread inside this namespace and returns its result.
    ///
    /// # Errors
    /// Entering the namespace fails, or `work` panics.
    pub fn run<T, F>(&self, work: F) -> Result<T, NetlabError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let name = self.name.clone();
        let handle = std::thread::spawn(move || -> Result<T, NetlabError> {
            enter(&name)?;
            Ok(work())
        });
        handle
            .join()
            .map_err(|_| NetlabError::Panicked(self.name.clone()))?
    }

    /// Spawns a thread inside this namespace that runs `work`.
    ///
    /// # Errors
    /// The thread cannot start; entering the namespace is checked in it.
    pub fn spawn<T, F>(&self, work: F) -> std::thread::JoinHandle<Result<T, NetlabError>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let name = self.name.clone();
        std::thread::spawn(move || {
            enter(&name)?;
            Ok(work())
        })
    }
}

/// Moves the calling thread into namespace `name`.
///
/// # Errors
/// [`NetlabError::Setns`].
pub fn enter(name: &str) -> Result<(), NetlabError> {
    let fail = |source| NetlabError::Setns {
        name: name.to_owned(),
        source,
    };
    let file = File::open(format!("/run/netns/{name}")).map_err(fail)?;
    // Safety: setns on a namespace file we hold open; affects this thread only.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(fail(io::Error::last_os_error()));
    }
    Ok(())
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also deletes the veth end inside it, and so
        // its peer.
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Two namespaces joined by a veth pair with IPv4 and IPv6 addresses:
/// `tx` sends, `rx` receives (and is where a filter is attached).
#[derive(Debug)]
pub struct Lab {
    /// The sending side.
    pub tx: Netns,
    /// The receiving side.
    pub rx: Netns,
    /// The veth end inside `rx`.
    pub rx_iface: String,
    /// The veth end inside `tx`.
    pub tx_iface: String,
    /// `rx`'s IPv4 address.
    pub rx_v4: String,
    /// `tx`'s first IPv4 address (more are in [`Lab::tx_v4_extra`]).
    pub tx_v4: String,
    /// Further IPv4 source addresses on `tx`, for per-source rules.
    pub tx_v4_extra: Vec<String>,
    /// `rx`'s IPv6 address.
    pub rx_v6: String,
    /// `tx`'s IPv6 address.
    pub tx_v6: String,
}

impl Lab {
    /// Builds the lab. `tag` keeps names unique between concurrent users; the
    /// process id is added. Addresses are in 10.(200+n).x.0/24 and fd00:(n)::/64
    /// for a per-process n, inside these namespaces only.
    ///
    /// # Errors
    /// Any `ip` step failing; what was made so far is removed.
    pub fn create(tag: &str) -> Result<Self, NetlabError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let id = format!("{}{}", pid % 100_000, n);
        let tx = Netns::create(&format!("rp-{tag}-tx-{id}"))?;
        let rx = Netns::create(&format!("rp-{tag}-rx-{id}"))?;
        let (tx_iface, rx_iface) = (format!("rpt{id}"), format!("rpr{id}"));
        ip(&[
            "link",
            "add",
            &tx_iface,
            "netns",
            tx.name(),
            "type",
            "veth",
            "peer",
            "name",
            &rx_iface,
            "netns",
            rx.name(),
        ])?;
        let subnet = (pid + n) % 200 + 20;
        let octet = format!("10.{subnet}.0");
        let (rx_v4, tx_v4) = (format!("{octet}.1"), format!("{octet}.2"));
        let tx_v4_extra: Vec<String> = (3..6).map(|i| format!("{octet}.{i}")).collect();
        let (rx_v6, tx_v6) = (format!("fd00:{subnet:x}::1"), format!("fd00:{subnet:x}::2"));
        rx.ip(&["addr", "add", &format!("{rx_v4}/24"), "dev", &rx_iface])?;
        rx.ip(&[
            "addr",
            "add",
            &format!("{rx_v6}/64"),
            "dev",
            &rx_iface,
            "nodad",
        ])?;
        tx.ip(&["addr", "add", &format!("{tx_v4}/24"), "dev", &tx_iface])?;
        for extra in &tx_v4_extra {
            tx.ip(&["addr", "add", &format!("{extra}/24"), "dev", &tx_iface])?;
        }
        tx.ip(&[
            "addr",
            "add",
            &format!("{tx_v6}/64"),
            "dev",
            &tx_iface,
            "nodad",
        ])?;
        rx.ip(&["link", "set", &rx_iface, "up"])?;
        tx.ip(&["link", "set", &tx_iface, "up"])?;
        Ok(Lab {
            tx,
            rx,
            rx_iface,
            tx_iface,
            rx_v4,
            tx_v4,
            tx_v4_extra,
            rx_v6,
            tx_v6,
        })
    }
}
