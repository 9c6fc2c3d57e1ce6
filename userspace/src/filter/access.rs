//! Who may use the filter's control plane.
//!
//! The pin directory's owner, group and mode are the policy, so every command
//! and the kernel read the same answer and no file of our own can disagree:
//!
//! - root only: the pin directory and `links/` are root's with mode 0700, the
//!   map pins 0600;
//! - root and one group: the directories are `root:GROUP` 0750 and the map
//!   pins `root:GROUP` 0660, so the group opens the maps (rules, rate limits,
//!   counters) read-write, as `BPF_OBJ_GET` requires.
//!
//! Link pins stay root's (0600) either way, and the directories are never
//! group-writable: a member who could unlink a pin could detach the filter
//! (unpinning its link drops the attachment) or plant maps of their own for
//! the next attach. Attaching and detaching also need CAP_BPF and
//! CAP_NET_ADMIN, which a group cannot grant; so they, and changing the
//! access itself, stay root's.
//!
//! [`decide`] is pure; [`apply`], [`Caller::current`] and the group lookups
//! ask the system.

use std::{
    ffi::{CStr, CString},
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::Path,
};

use super::FilterError;

/// Who besides root may read and edit the filter's rules and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Root alone.
    RootOnly,
    /// Root and the members of this group (by gid).
    Group(u32),
}

impl Access {
    /// The access for a group given by name or gid; `root` (gid 0) means
    /// root only.
    ///
    /// # Errors
    /// [`FilterError::NoSuchGroup`].
    pub fn for_group(group: &str) -> Result<Access, FilterError> {
        Ok(match resolve_group(group)? {
            0 => Access::RootOnly,
            gid => Access::Group(gid),
        })
    }

    /// Mode of the pin directory and of `links/`.
    pub fn dir_mode(self) -> u32 {
        match self {
            Access::RootOnly => 0o700,
            Access::Group(_) => 0o750,
        }
    }

    /// Mode of each map pin.
    pub fn map_mode(self) -> u32 {
        match self {
            Access::RootOnly => 0o600,
            Access::Group(_) => 0o660,
        }
    }

    /// Group owning the directories and map pins.
    pub fn gid(self) -> u32 {
        match self {
            Access::RootOnly => 0,
            Access::Group(gid) => gid,
        }
    }

    /// The access a directory with this group and mode grants: a group only
    /// when it may enter the directory and list it (r-x) and is not root's.
    pub fn from_dir(gid: u32, mode: u32) -> Access {
        if gid != 0 && mode & 0o050 == 0o050 {
            Access::Group(gid)
        } else {
            Access::RootOnly
        }
    }

    /// `root only` or `root and group NAME`, as commands print it.
    pub fn describe(self) -> String {
        match self {
            Access::RootOnly => "root only".into(),
            Access::Group(gid) => format!("root and group {}", group_name(gid)),
        }
    }
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Root: loading, attaching, detaching, changing the access.
    Root,
    /// Root or the configured group: rules, rate limits, counters, status.
    Control,
}

/// The calling process's effective user and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid and supplementary groups.
    pub groups: Vec<u32>,
}

impl Caller {
    /// This process.
    pub fn current() -> Self {
        // Safety: geteuid and getegid have no preconditions; getgroups is
        // asked for the count first and then given room for that many.
        let (uid, mut groups) = unsafe { (libc::geteuid(), vec![libc::getegid()]) };
        let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if count > 0 {
            let mut more = vec![0; count as usize];
            // Safety: `more` has room for `count` gids.
            let got = unsafe { libc::getgroups(count, more.as_mut_ptr()) };
            more.truncate(got.max(0) as usize);
            groups.extend(more);
        }
        Caller { uid, groups }
    }

    /// Whether this caller is root.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Why [`decide`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The operation needs root.
    Root,
    /// The operation needs root or membership in this group (`None`: no group
    /// is configured).
    Control(Option<u32>),
}

/// Whether `caller` may do an operation needing `need`, given the access the
/// pin directory grants (`None`: there is no pin directory, so nothing to
/// protect yet; what follows reports that nothing is attached). Pure.
///
/// # Errors
/// The [`Refusal`], naming what would be needed.
pub fn decide(caller: &Caller, need: Need, current: Option<Access>) -> Result<(), Refusal> {
    if caller.is_root() {
        return Ok(());
    }
    match (need, current) {
        (Need::Root, _) => Err(Refusal::Root),
        (Need::Control, None) => Ok(()),
        (Need::Control, Some(Access::RootOnly)) => Err(Refusal::Control(None)),
        (Need::Control, Some(Access::Group(gid))) if caller.groups.contains(&gid) => Ok(()),
        (Need::Control, Some(Access::Group(gid))) => Err(Refusal::Control(Some(gid))),
    }
}

/// The error for a refusal of `action` to `caller`.
pub fn refusal_error(refusal: Refusal, action: &'static str, caller: &Caller) -> FilterError {
    match refusal {
        Refusal::Root => FilterError::NotRoot {
            action,
            uid: caller.uid,
        },
        Refusal::Control(group) => FilterError::Refused {
            action,
            uid: caller.uid,
            group: group.map(group_name),
        },
    }
}

/// The access the directory at `pin_dir` grants; `None` when it does not
/// exist. A directory the caller cannot even look at grants it nothing.
///
/// # Errors
/// Any other failure to stat it.
pub fn current(pin_dir: &Path) -> Result<Option<Access>, FilterError> {
    match fs::metadata(pin_dir) {
        Ok(meta) => Ok(Some(Access::from_dir(meta.gid(), meta.mode()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(Some(Access::RootOnly)),
        Err(source) => Err(FilterError::Io {
            action: format!("reading {}", pin_dir.display()),
            source,
        }),
    }
}

/// Gives the pin directory, `links/`, every map pin and every link pin the
/// owners and modes of `access` (see the module docs). Directories first, so
/// taking access away closes the way in before anything else changes.
///
/// # Errors
/// A chown, chmod or directory listing failing (not root, or not bpffs).
pub fn apply(pin_dir: &Path, access: Access) -> Result<(), FilterError> {
    let links = pin_dir.join("links");
    set(pin_dir, access.gid(), access.dir_mode())?;
    if links.is_dir() {
        set(&links, access.gid(), access.dir_mode())?;
    }
    for file in files(pin_dir)? {
        set(&file, access.gid(), access.map_mode())?;
    }
    if links.is_dir() {
        for file in files(&links)? {
            set(&file, 0, 0o600)?;
        }
    }
    Ok(())
}

/// When a directory above `pin_dir` keeps the group out (systemd mounts
/// /sys/fs/bpf with mode 0700), a note saying which and what would let it in.
pub fn blocked_note(pin_dir: &Path, access: Access) -> Option<String> {
    let Access::Group(gid) = access else {
        return None;
    };
    pin_dir.ancestors().skip(1).find_map(|dir| {
        let meta = fs::metadata(dir).ok()?;
        let mode = meta.mode() & 0o7777;
        let passes = mode & 0o001 != 0 || (meta.gid() == gid && mode & 0o010 != 0);
        (!passes).then(|| {
            format!(
                "note: {} (mode {mode:o}) keeps group {} from reaching {}; `chmod o+x {0}` lets it through",
                dir.display(),
                group_name(gid),
                pin_dir.display()
            )
        })
    })
}

fn files(dir: &Path) -> Result<Vec<std::path::PathBuf>, FilterError> {
    let io = |source| FilterError::Io {
        action: format!("reading {}", dir.display()),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_type().map_err(io)?.is_file() {
            out.push(entry.path());
        }
    }
    Ok(out)
}

fn set(path: &Path, gid: u32, mode: u32) -> Result<(), FilterError> {
    let io = |source| FilterError::Io {
        action: format!(
            "setting owner root:{gid} and mode {mode:o} on {}",
            path.display()
        ),
        source,
    };
    std::os::unix::fs::chown(path, Some(0), Some(gid)).map_err(io)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io)
}

/// A group's gid from its name or number.
///
/// # Errors
/// [`FilterError::NoSuchGroup`].
pub fn resolve_group(text: &str) -> Result<u32, FilterError> {
    if let Ok(gid) = text.parse::<u32>() {
        return Ok(gid);
    }
    let missing = || FilterError::NoSuchGroup {
        name: text.to_owned(),
    };
    let name = CString::new(text).map_err(|_| missing())?;
    lookup(|group, buffer, result| {
        // Safety: every pointer is valid for the call; the buffer's length is
        // passed with it.
        unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                group,
                buffer.as_mut_ptr(),
                buffer.len(),
                result,
            )
        }
    })
    .map(|(gid, _)| gid)
    .ok_or_else(missing)
}

/// A gid's name, or the number when no group has it.
pub fn group_name(gid: u32) -> String {
    lookup(|group, buffer, result| {
        // Safety: as in `resolve_group`.
        unsafe { libc::getgrgid_r(gid, group, buffer.as_mut_ptr(), buffer.len(), result) }
    })
    .map_or_else(|| gid.to_string(), |(_, name)| name)
}

/// Runs a `getgr*_r` call with a growing buffer: (gid, name) if found.
fn lookup(
    mut call: impl FnMut(*mut libc::group, &mut Vec<libc::c_char>, *mut *mut libc::group) -> i32,
) -> Option<(u32, String)> {
    let mut buffer: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // Safety: a zeroed `struct group` is a valid place for the call to fill.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut result = std::ptr::null_mut();
        match call(&mut group, &mut buffer, &mut result) {
            0 if result.is_null() => return None,
            // Safety: on success `gr_name` points into `buffer`, NUL-terminated.
            0 => {
                let name = unsafe { CStr::from_ptr(group.gr_name) };
                return Some((group.gr_gid, name.to_string_lossy().into_owned()));
            }
            libc::ERANGE if buffer.len() < 1 << 20 => buffer.resize(buffer.len() * 4, 0),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32, groups: &[u32]) -> Caller {
        Caller {
            uid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn root_may_do_everything() {
        for need in [Need::Root, Need::Control] {
            for current in [None, Some(Access::RootOnly), Some(Access::Group(5))] {
                assert_eq!(decide(&user(0, &[0]), need, current), Ok(()));
            }
        }
    }

    #[test]
    fn others_never_get_root_operations() {
        for current in [None, Some(Access::RootOnly), Some(Access::Group(5))] {
            assert_eq!(
                decide(&user(1000, &[5]), Need::Root, current),
                Err(Refusal::Root)
            );
        }
    }

    #[test]
    fn the_group_gets_control_and_nobody_else_does() {
        let group = Some(Access::Group(5));
        assert_eq!(decide(&user(1000, &[100, 5]), Need::Control, group), Ok(()));
        assert_eq!(
            decide(&user(1000, &[100]), Need::Control, group),
            Err(Refusal::Control(Some(5)))
        );
        assert_eq!(
            decide(&user(1000, &[5]), Need::Control, Some(Access::RootOnly)),
            Err(Refusal::Control(None))
        );
    }

    #[test]
    fn no_pin_directory_means_nothing_to_refuse() {
        assert_eq!(decide(&user(1000, &[]), Need::Control, None), Ok(()));
    }

    #[test]
    fn a_directory_grants_a_group_only_when_it_may_enter_and_list() {
        assert_eq!(Access::from_dir(5, 0o750), Access::Group(5));
        assert_eq!(Access::from_dir(5, 0o770), Access::Group(5));
        assert_eq!(Access::from_dir(5, 0o710), Access::RootOnly);
        assert_eq!(Access::from_dir(5, 0o700), Access::RootOnly);
        assert_eq!(Access::from_dir(0, 0o755), Access::RootOnly);
        for access in [Access::RootOnly, Access::Group(5)] {
            assert_eq!(Access::from_dir(access.gid(), access.dir_mode()), access);
        }
    }

    #[test]
    fn messages_name_what_is_needed_and_who_asked() {
        let caller = user(65534, &[65534]);
        let message = |refusal| refusal_error(refusal, "editing the filter's rules", &caller);
        assert_eq!(
            message(Refusal::Control(Some(4242_4242))).to_string(),
            "editing the filter's rules needs root or membership in group 42424242; you are uid 65534"
        );
        assert!(message(Refusal::Control(None))
            .to_string()
            .starts_with("editing the filter's rules needs root; you are uid 65534"));
        assert!(message(Refusal::Root).to_string().starts_with(
            "editing the filter's rules needs root (CAP_BPF and CAP_NET_ADMIN); you are uid 65534"
        ));
    }

    #[test]
    fn groups_resolve_by_number_and_name() {
        assert_eq!(resolve_group("4242").ok(), Some(4242));
        assert_eq!(resolve_group("root").ok(), Some(0));
        assert_eq!(group_name(0), "root");
        assert_eq!(group_name(4_242_424), "4242424");
        assert!(matches!(
            resolve_group("no-such-group-here"),
            Err(FilterError::NoSuchGroup { .. })
        ));
    }
}
