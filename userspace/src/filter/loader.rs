//! Loading the XDP program, attaching it, and keeping it attached after the
//! loader exits: maps are pinned under the pin directory, and the link at
//! `links/<iface>:<mode>` there, so `status` can tell the mode without state of
//! its own and `detach` is an unpin.
//!
//! Who may do what is decided up front, before anything reaches the kernel,
//! from the pin directory's owner, group and mode (see [`super::access`]);
//! every pin this loader creates gets that directory's access.

use std::{
    ffi::CString,
    fs,
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
};

use aya::{
    programs::{
        links::{FdLink, PinnedLink},
        Xdp, XdpMode,
    },
    Ebpf, EbpfLoader,
};
use rampart_common::maps::PIN_DIR;

use super::{
    access::{self, Access, Caller, Need},
    maps::FilterMaps,
    FilterError, PROGRAM, PROGRAM_NAME,
};

/// How to attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Native (driver) mode if the driver supports it, else generic.
    #[default]
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (skb) mode only.
    Skb,
}

impl std::str::FromStr for AttachMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(AttachMode::Auto),
            "native" | "drv" | "driver" => Ok(AttachMode::Native),
            "skb" | "generic" => Ok(AttachMode::Skb),
            _ => Err(format!("unknown mode {s:?}: expected auto, native or skb")),
        }
    }
}

/// One interface the filter is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Interface name.
    pub iface: String,
    /// `native` or `skb`.
    pub mode: String,
    /// Whether the pinned link still holds a live attachment.
    pub live: bool,
}

/// Loads, attaches and detaches the filter, with maps pinned under one
/// directory (the default [`PIN_DIR`]; tests use their own).
#[derive(Debug, Clone)]
pub struct Loader {
    pin_dir: PathBuf,
    /// The access to give the pins; `None` keeps what the directory has
    /// (root only for a new one).
    access: Option<Access>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new(
            std::env::var_os("RAMPART_PIN_DIR").map_or_else(|| PIN_DIR.into(), PathBuf::from),
        )
    }
}

const BPFFS_ROOT: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

impl Loader {
    /// A loader pinning under `pin_dir` (which must be on bpffs).
    pub fn new(pin_dir: impl Into<PathBuf>) -> Self {
        Loader {
            pin_dir: pin_dir.into(),
            access: None,
        }
    }

    /// Sets who besides root may read and edit the rules and counters of the
    /// pins this loader creates or attaches (default: what the pin directory
    /// already grants, root only for a new one).
    pub fn access(&mut self, access: Access) -> &mut Self {
        self.access = Some(access);
        self
    }

    /// What the pin directory grants now; `None` when there is none.
    ///
    /// # Errors
    /// The directory cannot be examined.
    pub fn current_access(&self) -> Result<Option<Access>, FilterError> {
        access::current(&self.pin_dir)
    }

    /// Fails unless this process may do `action`, which needs `need`, judged
    /// from the pin directory before anything reaches the kernel.
    ///
    /// # Errors
    /// [`FilterError::NotRoot`] or [`FilterError::Refused`], naming what is
    /// needed and who the caller is.
    pub fn check(&self, need: Need, action: &'static str) -> Result<(), FilterError> {
        let caller = Caller::current();
        if caller.is_root() {
            return Ok(());
        }
        let current = match need {
            Need::Root => None,
            Need::Control => self.current_access()?,
        };
        access::decide(&caller, need, current)
            .map_err(|refusal| access::refusal_error(refusal, action, &caller))
    }

    /// Gives every pin the access set with [`Loader::access`], or the one the
    /// directory already has; returns it.
    fn settle_access(&self) -> Result<Access, FilterError> {
        let access = match self.access {
            Some(access) => access,
            None => self.current_access()?.unwrap_or(Access::RootOnly),
        };
        access::apply(&self.pin_dir, access)?;
        Ok(access)
    }

    /// Changes who besides root may read and edit the rules and counters of
    /// the filter already pinned, without detaching it.
    ///
    /// # Errors
    /// Not root, nothing pinned, or a chown/chmod failing.
    pub fn change_access(&self, access: Access) -> Result<(), FilterError> {
        self.check(Need::Root, "changing who may edit the filter")?;
        if self.current_access()?.is_none() {
            return Err(FilterError::NotPinned {
                path: self.pin_dir.clone(),
            });
        }
        access::apply(&self.pin_dir, access)
    }

    /// Where maps and links are pinned.
    pub fn pin_dir(&self) -> &Path {
        &self.pin_dir
    }

    fn links_dir(&self) -> PathBuf {
        self.pin_dir.join("links")
    }

    /// Mounts bpffs at /sys/fs/bpf if needed and creates the pin directories
    /// (root's, 0700, until [`Loader::access`] or the existing directory says
    /// otherwise).
    ///
    /// # Errors
    /// Not root, bpffs cannot be mounted, or the directories cannot be made
    /// or given their owner and mode.
    pub fn prepare(&self) -> Result<(), FilterError> {
        self.check(Need::Root, "loading the XDP filter")?;
        if !is_bpffs(Path::new(BPFFS_ROOT)) {
            mount_bpffs(Path::new(BPFFS_ROOT))?;
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(self.links_dir())
            .map_err(|source| FilterError::Io {
                action: format!("creating {}", self.links_dir().display()),
                source,
            })?;
        self.settle_access().map(drop)
    }

    /// Loads the program with its maps pinned (existing pinned maps, and so
    /// existing rules and counters, are reused).
    ///
    /// # Errors
    /// Not root, bpffs trouble, or the kernel refusing the object.
    pub fn load(&self) -> Result<Ebpf, FilterError> {
        let mut ebpf = self.load_object()?;
        let program = xdp_program(&mut ebpf)?;
        program.load().map_err(|source| FilterError::Program {
            action: "loading the XDP program (verifier)".into(),
            source,
        })?;
        Ok(ebpf)
    }

    /// Loads the object and creates (or reuses) its pinned maps, without
    /// loading any program into the kernel yet.
    ///
    /// # Errors
    /// Not root, bpffs trouble, or the kernel refusing a map.
    pub fn load_object(&self) -> Result<Ebpf, FilterError> {
        self.prepare()?;
        let ebpf = EbpfLoader::new()
            .default_map_pin_directory(&self.pin_dir)
            .load(PROGRAM)
            .map_err(FilterError::Load)?;
        // New map pins get the directory's access.
        self.settle_access()?;
        Ok(ebpf)
    }

    /// Attaches the filter to `iface`, protecting `ports`, and pins the link.
    /// Returns the mode used (`native` or `skb`).
    ///
    /// # Errors
    /// Not root, no such interface, already attached, or the kernel refusing.
    pub fn attach(
        &self,
        iface: &str,
        mode: AttachMode,
        ports: &[u16],
    ) -> Result<String, FilterError> {
        self.check(Need::Root, "attaching the XDP filter")?;
        if_index(iface)?;
        if let Some(existing) = self
            .status()?
            .into_iter()
            .find(|a| a.iface == iface && a.live)
        {
            return Err(FilterError::AlreadyAttached {
                iface: iface.to_owned(),
                mode: existing.mode,
            });
        }
        // A stale pin from a vanished interface would block the new one.
        self.remove_link_pins(iface)?;
        let mut ebpf = self.load()?;
        let program = xdp_program(&mut ebpf)?;
        let tries: &[(XdpMode, &str)] = match mode {
            AttachMode::Auto => &[(XdpMode::Driver, "native"), (XdpMode::Skb, "skb")],
            AttachMode::Native => &[(XdpMode::Driver, "native")],
            AttachMode::Skb => &[(XdpMode::Skb, "skb")],
        };
        let mut last_error = None;
        let mut attached = None;
        for &(xdp_mode, name) in tries {
            match program.attach(iface, xdp_mode) {
                Ok(id) => {
                    attached = Some((id, name));
                    break;
                }
                Err(error) => last_error = Some(error),
            }
        }
        let Some((id, mode_name)) = attached else {
            return Err(FilterError::Program {
                action: format!("attaching to {iface}"),
                source: last_error.expect("at least one mode was tried"),
            });
        };
        let link = program
            .take_link(id)
            .map_err(|source| FilterError::Program {
                action: "taking the XDP link".into(),
                source,
            })?;
        let link = FdLink::try_from(link).map_err(|_| FilterError::NoBpfLink {
            iface: iface.to_owned(),
        })?;
        let path = self.links_dir().join(link_pin_name(iface, mode_name));
        link.pin(&path).map_err(|source| FilterError::PinLink {
            path: path.clone(),
            source,
        })?;
        self.settle_access()?;
        let mut maps = FilterMaps::take(&mut ebpf)?;
        maps.init_config()?;
        if !ports.is_empty() {
            maps.set_ports(ports)?;
        }
        Ok(mode_name.to_owned())
    }

    /// Detaches the filter from `iface` by removing its pinned link. Maps (rules
    /// and counters) stay pinned unless `purge` is set and nothing is attached.
    ///
    /// # Errors
    /// Not root, or not attached to `iface`.
    pub fn detach(&self, iface: &str, purge: bool) -> Result<(), FilterError> {
        self.check(Need::Root, "detaching the XDP filter")?;
        if !self.remove_link_pins(iface)? {
            return Err(FilterError::NotAttached {
                iface: iface.to_owned(),
            });
        }
        if purge && self.status()?.is_empty() {
            self.purge()?;
        }
        Ok(())
    }

    /// Removes every pinned map and the pin directory.
    ///
    /// # Errors
    /// A file that cannot be removed.
    pub fn purge(&self) -> Result<(), FilterError> {
        let remove = |path: &Path| {
            let result = if path.is_dir() {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
            match result {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FilterError::Io {
                    action: format!("removing {}", path.display()),
                    source: e,
                }),
                _ => Ok(()),
            }
        };
        remove(&self.pin_dir)
    }

    fn remove_link_pins(&self, iface: &str) -> Result<bool, FilterError> {
        let mut removed = false;
        for entry in self.link_entries()? {
            if entry.0 == iface {
                let path = &entry.2;
                // Unpinning drops the last reference, which detaches the program.
                match PinnedLink::from_pin(path) {
                    Ok(link) => {
                        let _ = link.unpin();
                    }
                    Err(_) => {
                        let _ = fs::remove_file(path);
                    }
                }
                removed = true;
            }
        }
        Ok(removed)
    }

    fn link_entries(&self) -> Result<Vec<(String, String, PathBuf)>, FilterError> {
        let dir = self.links_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(FilterError::Io {
                    action: format!("reading {}", dir.display()),
                    source,
                })
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((iface, mode)) = name.rsplit_once(':') {
                out.push((iface.replace(':', "."), mode.to_owned(), entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The interfaces the filter is attached to, from the pinned links.
    ///
    /// # Errors
    /// Neither root nor in the configured group, or the pin directory cannot
    /// be read.
    pub fn status(&self) -> Result<Vec<Attachment>, FilterError> {
        self.check(Need::Control, "reading the filter's status")?;
        Ok(self
            .link_entries()?
            .into_iter()
            .map(|(iface, mode, path)| Attachment {
                live: link_pin_opens(&path) && if_index(&iface).is_ok(),
                iface,
                mode,
            })
            .collect())
    }

    /// Opens the pinned maps to read them.
    ///
    /// # Errors
    /// As [`Loader::maps_for`].
    pub fn maps(&self) -> Result<FilterMaps, FilterError> {
        self.maps_for("reading the filter's maps")
    }

    /// Opens the pinned maps for `action` (as an error message names it:
    /// "editing the filter's rules"), after checking up front that this
    /// process may.
    ///
    /// # Errors
    /// Neither root nor in the configured group, or the filter was never
    /// attached.
    pub fn maps_for(&self, action: &'static str) -> Result<FilterMaps, FilterError> {
        self.check(Need::Control, action)?;
        if !is_bpffs(Path::new(BPFFS_ROOT)) {
            return Err(FilterError::BpffsMissing {
                path: BPFFS_ROOT.into(),
                source: std::io::Error::other("not mounted; `rampart filter attach` mounts it"),
            });
        }
        FilterMaps::open(&self.pin_dir)
    }
}

/// Whether a link pin opens, or exists but only root may open it (a group
/// member asking for the status cannot open link pins, by design).
fn link_pin_opens(path: &Path) -> bool {
    match PinnedLink::from_pin(path) {
        Ok(_) => true,
        Err(aya::programs::links::LinkError::SyscallError(error)) => {
            error.io_error.kind() == std::io::ErrorKind::PermissionDenied
                && !Caller::current().is_root()
        }
        Err(_) => false,
    }
}

/// The pin name of an interface's link. bpffs refuses dots in names, and an
/// interface name never holds a colon, so dots (as in `eth0.100`) become colons.
fn link_pin_name(iface: &str, mode: &str) -> String {
    format!("{}:{mode}", iface.replace('.', ":"))
}

/// The loaded object's filter program.
pub fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut Xdp, FilterError> {
    named_program(ebpf, PROGRAM_NAME)
}

/// One of the loaded object's XDP programs by function name.
pub fn named_program<'a>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<&'a mut Xdp, FilterError> {
    let program = ebpf
        .program_mut(name)
        .ok_or(FilterError::MissingProgram { name })?;
    program.try_into().map_err(|source| FilterError::Program {
        action: "finding the XDP program".into(),
        source,
    })
}

/// The interface's index.
///
/// # Errors
/// [`FilterError::NoSuchInterface`].
pub fn if_index(iface: &str) -> Result<u32, FilterError> {
    let name = CString::new(iface).map_err(|_| FilterError::NoSuchInterface {
        name: iface.to_owned(),
    })?;
    // Safety: a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(FilterError::NoSuchInterface {
            name: iface.to_owned(),
        }),
        index => Ok(index),
    }
}

fn is_bpffs(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // Safety: statfs fills the zeroed struct we own.
    unsafe {
        let mut stat: libc::statfs = std::mem::zeroed();
        libc::statfs(c_path.as_ptr(), &mut stat) == 0 && stat.f_type as i64 == BPF_FS_MAGIC
    }
}

fn mount_bpffs(path: &Path) -> Result<(), FilterError> {
    let fail = |source| FilterError::BpffsMissing {
        path: path.into(),
        source,
    };
    fs::create_dir_all(path).map_err(fail)?;
    let target = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|e| fail(std::io::Error::other(e)))?;
    let kind = c"bpf";
    // Safety: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            kind.as_ptr(),
            target.as_ptr(),
            kind.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(fail(std::io::Error::last_os_error()));
    }
    Ok(())
}
