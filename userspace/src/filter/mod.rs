//! The XDP filter's userspace side: loading and attaching the program, editing
//! its rules live, and reading its counters.
//!
//! - [`loader`] loads the embedded program, attaches it (native XDP with
//!   fallback to generic), and pins the link and maps under bpffs.
//! - [`maps`] reads and writes rules and counters in the pinned maps.
//! - [`cidr`] and [`rules_file`] turn what an operator writes into rules,
//!   validated before anything changes.
//! - [`access`] decides who may do what: root, or root and one group, as the
//!   pin directory's owner, group and mode say.

pub mod access;
pub mod cidr;
pub mod loader;
pub mod maps;
pub mod rules_file;

use std::path::PathBuf;

pub use access::Access;
pub use cidr::{Cidr, CidrError};
pub use loader::{AttachMode, Attachment, Loader};
pub use maps::{FilterMaps, ListKind, RuleSet};

/// A rate limit as an operator reads it: `5000 pkt/s burst 10000, …` or `none`.
pub fn describe_rate(limit: &rampart_common::maps::RateLimit) -> String {
    if limit.pps == 0 && limit.bps == 0 {
        return "none".into();
    }
    let mut parts = Vec::new();
    if limit.pps != 0 {
        parts.push(format!("{} pkt/s burst {}", limit.pps, limit.burst_packets));
    }
    if limit.bps != 0 {
        parts.push(format!("{} B/s burst {} B", limit.bps, limit.burst_bytes));
    }
    parts.join(", ")
}

/// Protected ports as an operator reads them: `8009, 8010` or `none`.
pub fn describe_ports(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".into();
    }
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The XDP program, built from `kernel/` by build.rs.
pub static PROGRAM: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/rampart-xdp"));

/// Name of the XDP function in [`PROGRAM`].
pub const PROGRAM_NAME: &str = "rampart";

/// Name of the drop-everything program in [`PROGRAM`] (benchmark floor).
pub const BARE_DROP_NAME: &str = "bare_drop";

/// Errors of the filter's userspace side.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// Loading, attaching and detaching need root (CAP_BPF and CAP_NET_ADMIN).
    #[error("{action} needs root (CAP_BPF and CAP_NET_ADMIN); you are uid {uid}")]
    NotRoot {
        /// What was attempted.
        action: &'static str,
        /// The caller's effective uid.
        uid: u32,
    },
    /// Rules, rate limits and counters need root or the configured group.
    #[error(
        "{action} needs root{}; you are uid {uid}{}",
        .group.as_ref().map_or(String::new(), |g| format!(" or membership in group {g}")),
        if .group.is_none() { " (root may share it: `rampart filter access --group NAME`)" } else { "" }
    )]
    Refused {
        /// What was attempted.
        action: &'static str,
        /// The caller's effective uid.
        uid: u32,
        /// The group that may, by name (or number); `None` when root only.
        group: Option<String>,
    },
    /// The kernel refused opening a pin (its mode or a directory's).
    #[error(
        "the kernel refused uid {uid} opening {path}: permission denied (the pin directory's \
         owner, group and mode decide who may; `rampart filter status` as root shows them)"
    )]
    PinPermission {
        /// The pin.
        path: PathBuf,
        /// The caller's effective uid.
        uid: u32,
    },
    /// A group name that names no group.
    #[error("no group named {name:?} (give a group name or a numeric gid)")]
    NoSuchGroup {
        /// The name given.
        name: String,
    },
    /// Nothing is pinned at the pin directory.
    #[error(
        "nothing is pinned at {path}; attach the filter first (`rampart filter attach IFACE`)"
    )]
    NotPinned {
        /// The pin directory.
        path: PathBuf,
    },
    /// The interface does not exist.
    #[error("no such interface {name:?}")]
    NoSuchInterface {
        /// The name given.
        name: String,
    },
    /// The program is not attached to this interface.
    #[error("the filter is not attached to {iface} (see `rampart filter status`)")]
    NotAttached {
        /// The interface.
        iface: String,
    },
    /// The program is already attached to this interface.
    #[error("the filter is already attached to {iface} in {mode} mode; detach it first")]
    AlreadyAttached {
        /// The interface.
        iface: String,
        /// Its current mode.
        mode: String,
    },
    /// bpffs is not mounted and could not be mounted.
    #[error("bpffs is not mounted at {path} and mounting it failed: {source}")]
    BpffsMissing {
        /// Where it should be.
        path: PathBuf,
        /// Why mounting failed.
        #[source]
        source: std::io::Error,
    },
    /// A pinned map could not be opened (filter never attached?).
    #[error(
        "cannot open map {name} at {path}; attach the filter first (`rampart filter attach IFACE`)"
    )]
    OpenMap {
        /// Map name.
        name: &'static str,
        /// Pin path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// The loaded object lacks a map.
    #[error("the XDP object has no map {name}")]
    MissingMap {
        /// Map name.
        name: &'static str,
    },
    /// The loaded object lacks a program.
    #[error("the XDP object has no program {name}")]
    MissingProgram {
        /// Function name.
        name: &'static str,
    },
    /// A map operation failed.
    #[error("map {name}: {source}")]
    Map {
        /// Map name.
        name: &'static str,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// Loading the object failed.
    #[error("loading the XDP object: {0}")]
    Load(#[source] aya::EbpfError),
    /// Loading or attaching the program failed.
    #[error("{action}: {source}")]
    Program {
        /// What was attempted.
        action: String,
        /// Cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// Pinning the link failed.
    #[error("pinning the XDP link at {path}: {source}")]
    PinLink {
        /// The pin path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: aya::pin::PinError,
    },
    /// The kernel attached through netlink, which cannot be pinned.
    #[error("the kernel attached {iface} without a bpf_link (kernel older than 5.9?); cannot pin the attachment")]
    NoBpfLink {
        /// The interface.
        iface: String,
    },
    /// Two blocks in the same list overlap.
    #[error("{new} overlaps {existing}, already in the {list} list; remove one first")]
    Overlap {
        /// The list.
        list: &'static str,
        /// The block being added.
        new: Cidr,
        /// The block already there.
        existing: Cidr,
    },
    /// The rule to delete does not exist.
    #[error("{cidr} is not in the {list} list")]
    NoSuchRule {
        /// The list.
        list: &'static str,
        /// The block.
        cidr: Cidr,
    },
    /// A rate limit outside what the kernel's arithmetic allows.
    #[error("bad rate limit: {reason}")]
    BadRateLimit {
        /// What is wrong.
        reason: String,
    },
    /// A filter setting out of range.
    #[error("bad setting: {reason}")]
    BadSetting {
        /// What is wrong.
        reason: String,
    },
    /// Port 0 cannot carry traffic.
    #[error("port 0 cannot be protected")]
    PortZero,
    /// More ports than counter rows.
    #[error("{count} protected ports; at most {max}")]
    TooManyPorts {
        /// Ports given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Some other I/O failure.
    #[error("{action}: {source}")]
    Io {
        /// What was attempted.
        action: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // Safety: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
