//! Who may change the XDP filter (issue 12, control plane): the real
//! `rampart` binary, run as root and as unprivileged users against a pin
//! directory of the test's own on bpffs, with the filter attached to a veth
//! in a private namespace.
//!
//! Shows that every filter-changing command (and the read-only ones, which
//! follow the same directory permission) refuses an unprivileged user up
//! front, naming what it needs and who the caller is; that the kernel refuses
//! that user the pinned maps too; that a configured group gets rules and
//! counters but not attach or detach; and that root still succeeds.
//!
//! Root only; skips visibly otherwise (fails under CI). Namespaces and pins
//! are removed by guards even when an assertion fails.

mod common;

use std::{
    io::ErrorKind,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use common::{
    bpf_obj_get_as, enter_before_exec, rampart_ok, run_rampart, skip_unless_root, wait_bounded,
    PinDir, User,
};
use rampart::lab::netlab::Lab;
use rampart_common::maps as names;

/// The protected port.
const PORT: &str = "8009";
/// A group id no account uses, so membership is exactly what the test gives.
const GROUP: u32 = 64990;

/// A file removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A member of [`GROUP`] that is otherwise as unprivileged as `nobody`.
fn member() -> User {
    User {
        uid: 64991,
        gid: 64991,
        groups: vec![GROUP],
    }
}

/// Asserts `rampart ARGS` as `user` fails, up front, with a message that
/// names the action, what it needs and who the caller is, and no raw errno.
fn refused(pins: &Path, netns: Option<&str>, user: &User, args: &[&str], needs: &str) {
    let out = run_rampart(pins, netns, Some(user), args);
    assert!(
        !out.success,
        "rampart {args:?} as uid {} succeeded: {}",
        user.uid, out.stdout
    );
    let stderr = out.stderr.trim();
    assert!(
        stderr.contains(&format!("{needs}; you are uid {}", user.uid)),
        "rampart {args:?} as uid {}: expected \"… {needs}; you are uid {}\", got: {stderr}",
        user.uid,
        user.uid
    );
    for raw in [
        "os error",
        "Operation not permitted",
        "Permission denied",
        "EPERM",
    ] {
        assert!(
            !stderr.contains(raw),
            "rampart {args:?}: a raw error instead of a refusal: {stderr}"
        );
    }
}

/// (owner uid, group, permission bits) of `path`.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777)
}

/// Every map pin in the pin directory (everything but `links/`).
fn map_pins(pins: &Path) -> Vec<PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(pins)
        .expect("the pin directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| !path.is_dir())
        .collect();
    out.sort();
    assert!(
        out.iter().any(|p| p.ends_with(names::DENY_V4)),
        "pinned maps: {out:?}"
    );
    out
}

/// The one link pin under `links/`.
fn link_pin(pins: &Path) -> PathBuf {
    let links: Vec<_> = std::fs::read_dir(pins.join("links"))
        .expect("the links directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    assert_eq!(links.len(), 1, "link pins: {links:?}");
    links[0].clone()
}

/// Asserts the directory, links directory, map pins and link pin have the
/// owners and modes of root-only access, or of access for `group`.
fn assert_access(pins: &Path, group: Option<u32>) {
    let (gid, dir_mode, map_mode) = match group {
        None => (0, 0o700, 0o600),
        Some(gid) => (gid, 0o750, 0o660),
    };
    assert_eq!(
        owner_and_mode(pins),
        (0, gid, dir_mode),
        "{}",
        pins.display()
    );
    let links = pins.join("links");
    assert_eq!(
        owner_and_mode(&links),
        (0, gid, dir_mode),
        "{}",
        links.display()
    );
    for pin in map_pins(pins) {
        assert_eq!(
            owner_and_mode(&pin),
            (0, gid, map_mode),
            "{}",
            pin.display()
        );
    }
    let link = link_pin(pins);
    assert_eq!(owner_and_mode(&link), (0, 0, 0o600), "{}", link.display());
}

/// The kernel's answer to `user` opening the pin at `path`.
fn kernel_refuses(user: &User, path: &Path) {
    match bpf_obj_get_as(user, path) {
        Ok(()) => panic!(
            "the kernel handed uid {} the object pinned at {}",
            user.uid,
            path.display()
        ),
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::PermissionDenied,
            "uid {} opening {}: {e}",
            user.uid,
            path.display()
        ),
    }
}

#[test]
fn unprivileged_user_is_refused_up_front_and_by_the_kernel() {
    if skip_unless_root("unprivileged_user_is_refused_up_front_and_by_the_kernel") {
        return;
    }
    let lab = Lab::create("cpr").expect("creating the namespaces and veth pair");
    let pins = PinDir::new("cpr");
    let (rx, iface) = (Some(lab.rx.name()), lab.rx_iface.as_str());
    let nobody = User::nobody();
    let attach = ["filter", "attach", iface, "--mode", "skb", "--port", PORT];

    let needs_caps = "needs root (CAP_BPF and CAP_NET_ADMIN)";
    refused(&pins.0, rx, &nobody, &attach, needs_caps);
    assert!(
        !pins.0.exists(),
        "a refused attach left {} behind",
        pins.0.display()
    );

    let out = rampart_ok(&pins.0, rx, None, &attach);
    assert!(
        out.contains(&format!("attached to {iface} in skb mode")),
        "{out}"
    );
    assert!(out.contains("control: root only"), "{out}");
    assert_access(&pins.0, None);
    rampart_ok(
        &pins.0,
        None,
        None,
        &["rules", "add", "deny", "192.0.2.0/24"],
    );

    // A valid rules file anyone may read, so only the access check refuses it.
    let rules = std::env::temp_dir().join(format!("rampart-cp-{}.toml", std::process::id()));
    std::fs::write(&rules, "[[deny]]\ncidr = \"203.0.113.0/24\"\n").expect("a rules file");
    std::fs::set_permissions(&rules, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let rules_file = TempFile(rules);
    let rules = rules_file.0.to_str().expect("a UTF-8 path");
    for (args, needs) in [
        (
            &["rules", "add", "deny", "198.51.100.0/24"][..],
            "needs root",
        ),
        (&["rules", "del", "deny", "192.0.2.0/24"], "needs root"),
        (
            &["rules", "ratelimit", "--pps", "10", "--burst", "10"],
            "needs root",
        ),
        (&["rules", "load", rules], "needs root"),
        (&["rules", "list"], "needs root"),
        (&["stats", "--json"], "needs root"),
        (&["filter", "status"], "needs root"),
        (&["filter", "access", "--group", "64990"], needs_caps),
        (&["filter", "detach", iface], needs_caps),
    ] {
        refused(&pins.0, rx, &nobody, args, needs);
    }
    // The kernel agrees, whatever the CLI says: the pins are root's alone.
    for pin in map_pins(&pins.0) {
        kernel_refuses(&nobody, &pin);
    }
    kernel_refuses(&nobody, &link_pin(&pins.0));

    // Nothing the refused commands tried happened; root still succeeds.
    let list = rampart_ok(&pins.0, None, None, &["rules", "list"]);
    assert!(list.contains("deny      192.0.2.0/24\n"), "{list}");
    assert!(!list.contains("198.51.100.0/24"), "{list}");
    assert!(list.contains("global rate limit: none"), "{list}");
    let status = rampart_ok(&pins.0, rx, None, &["filter", "status"]);
    assert!(status.contains(&format!("{iface}: skb mode\n")), "{status}");
    assert!(!status.contains("stale"), "{status}");
    rampart_ok(&pins.0, None, None, &["stats", "--json"]);
    rampart_ok(
        &pins.0,
        None,
        None,
        &["rules", "del", "deny", "192.0.2.0/24"],
    );
    rampart_ok(&pins.0, rx, None, &["filter", "detach", iface, "--purge"]);
    assert!(!pins.0.exists(), "--purge removes the pin directory");
}

#[test]
fn a_configured_group_edits_rules_but_only_root_attaches() {
    if skip_unless_root("a_configured_group_edits_rules_but_only_root_attaches") {
        return;
    }
    let lab = Lab::create("cpg").expect("creating the namespaces and veth pair");
    let pins = PinDir::new("cpg");
    let (rx, iface) = (Some(lab.rx.name()), lab.rx_iface.as_str());
    let (nobody, member) = (User::nobody(), member());
    let group = GROUP.to_string();

    let out = rampart_ok(
        &pins.0,
        rx,
        None,
        &[
            "filter", "attach", iface, "--mode", "skb", "--port", PORT, "--group", &group,
        ],
    );
    assert!(
        out.contains(&format!("control: root and group {GROUP}")),
        "{out}"
    );
    assert_access(&pins.0, Some(GROUP));

    // The group edits and reads rules and counters, as the kernel allows it to.
    rampart_ok(
        &pins.0,
        None,
        Some(&member),
        &["rules", "add", "deny", "198.51.100.0/24"],
    );
    rampart_ok(
        &pins.0,
        None,
        Some(&member),
        &["rules", "ratelimit", "--pps", "1000", "--burst", "2000"],
    );
    let list = rampart_ok(&pins.0, None, Some(&member), &["rules", "list"]);
    assert!(list.contains("deny      198.51.100.0/24\n"), "{list}");
    assert!(
        list.contains("global rate limit: 1000 pkt/s burst 2000"),
        "{list}"
    );
    rampart_ok(&pins.0, None, Some(&member), &["stats", "--json"]);
    let status = rampart_ok(&pins.0, rx, Some(&member), &["filter", "status"]);
    assert!(status.contains(&format!("{iface}: skb mode\n")), "{status}");
    for pin in map_pins(&pins.0) {
        bpf_obj_get_as(&member, &pin)
            .unwrap_or_else(|e| panic!("the group member opening {}: {e}", pin.display()));
    }

    // Attaching, detaching and changing who may edit stay root's, and the
    // link pin stays root's alone: a member cannot unpin (detach) it.
    let needs_caps = "needs root (CAP_BPF and CAP_NET_ADMIN)";
    refused(
        &pins.0,
        rx,
        &member,
        &["filter", "detach", iface],
        needs_caps,
    );
    refused(
        &pins.0,
        rx,
        &member,
        &["filter", "access", "--root-only"],
        needs_caps,
    );
    kernel_refuses(&member, &link_pin(&pins.0));
    let mut rm = Command::new("rm");
    rm.arg(link_pin(&pins.0));
    enter_before_exec(&mut rm, None, Some(&member));
    let rm = wait_bounded(
        rm.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rm"),
        "rm",
        Duration::from_secs(5),
    );
    assert!(
        !rm.success && rm.stderr.contains("Permission denied"),
        "a member unpinned the link: {rm:?}"
    );
    let status = rampart_ok(&pins.0, rx, None, &["filter", "status"]);
    assert!(status.contains(&format!("{iface}: skb mode\n")), "{status}");
    assert!(!status.contains("stale"), "{status}");

    // Anyone else is refused, with the group named.
    let needs_group = format!("needs root or membership in group {GROUP}");
    refused(
        &pins.0,
        None,
        &nobody,
        &["rules", "add", "deny", "203.0.113.0/24"],
        &needs_group,
    );
    refused(&pins.0, None, &nobody, &["rules", "list"], &needs_group);
    refused(&pins.0, None, &nobody, &["stats", "--json"], &needs_group);
    for pin in map_pins(&pins.0) {
        kernel_refuses(&nobody, &pin);
    }

    // Root takes the group's access away without detaching.
    let out = rampart_ok(&pins.0, rx, None, &["filter", "access", "--root-only"]);
    assert!(out.contains("control: root only"), "{out}");
    assert_access(&pins.0, None);
    refused(&pins.0, None, &member, &["rules", "list"], "needs root");
    for pin in map_pins(&pins.0) {
        kernel_refuses(&member, &pin);
    }
    let list = rampart_ok(&pins.0, None, None, &["rules", "list"]);
    assert!(list.contains("deny      198.51.100.0/24\n"), "{list}");
    rampart_ok(&pins.0, rx, None, &["filter", "detach", iface, "--purge"]);
}
