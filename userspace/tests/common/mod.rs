//! Helpers for the root-only filter tests: skipping visibly when not root (and
//! failing instead under CI), private pin directories, and frames built with pnet.
#![allow(dead_code)]

use std::{
    ffi::CString,
    fs::File,
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::{fd::AsRawFd, unix::process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use pnet_packet::{
    ethernet::{EtherTypes, MutableEthernetPacket},
    ip::IpNextHeaderProtocols,
    ipv4::{self, MutableIpv4Packet},
    ipv6::MutableIpv6Packet,
    udp::MutableUdpPacket,
};

/// Returns true (and prints why) when the calling test must skip: when not
/// root. Under CI (the environment variable `CI` set and not empty) the
/// root-only tests must run, so there not being root panics instead: a CI
/// that cannot run the XDP chain fails rather than passing without it.
pub fn skip_unless_root(test: &str) -> bool {
    if rampart::filter::is_root() {
        return false;
    }
    if std::env::var_os("CI").is_some_and(|value| !value.is_empty()) {
        panic!(
            "{test} needs root (CAP_BPF, CAP_NET_ADMIN) and CI is set, so it must run, not \
             skip: run CI as root (outside CI, with CI unset, root-only tests skip)"
        );
    }
    // Straight to stderr, past the test harness's output capture, so the
    // skip shows in every run.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: needs root (CAP_BPF, CAP_NET_ADMIN)"
    );
    true
}

/// A pin directory of the test's own under /sys/fs/bpf, removed on drop.
pub struct PinDir(pub PathBuf);

impl PinDir {
    pub fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!(
            "/sys/fs/bpf/rampart-test-{}-{test}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        PinDir(path)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A user to run a child process as: uid, primary gid and supplementary
/// groups, switched to between fork and exec (so no `setpriv` is needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl User {
    /// `nobody`: uid and gid 65534, no supplementary groups.
    pub fn nobody() -> Self {
        User {
            uid: 65534,
            gid: 65534,
            groups: Vec::new(),
        }
    }
}

/// A command for the `rampart` binary with `RAMPART_PIN_DIR` set to `pins`,
/// entering `netns` (by name, under /run/netns) and switching to `user`
/// between fork and exec. Mounts are left alone, so bpffs pins stay visible.
/// Standard input is closed; stdout and stderr are piped.
pub fn rampart_command(pins: &Path, netns: Option<&str>, user: Option<&User>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .env("RAMPART_PIN_DIR", pins)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    enter_before_exec(&mut command, netns, user);
    command
}

/// Makes `command`'s child enter `netns` and then become `user`, between
/// fork and exec (setns first: it needs the privileges the switch drops).
pub fn enter_before_exec(command: &mut Command, netns: Option<&str>, user: Option<&User>) {
    if let Some(name) = netns {
        let file = File::open(format!("/run/netns/{name}"))
            .unwrap_or_else(|e| panic!("opening network namespace {name}: {e}"));
        // Safety: the closure only calls setns, which is async-signal-safe, on a
        // descriptor the closure owns (it lives as long as the command).
        unsafe {
            command.pre_exec(move || {
                if libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
    }
    if let Some(user) = user {
        let user = user.clone();
        // Safety: setgroups, setgid and setuid are async-signal-safe; the group
        // list was allocated before the fork and is only read here.
        unsafe {
            command.pre_exec(move || become_user(&user));
        }
    }
}

/// setgroups, setgid, setuid: the order that still has the privilege for each.
fn become_user(user: &User) -> io::Result<()> {
    // Safety: a valid pointer to `len` gids; plain id syscalls.
    unsafe {
        if libc::setgroups(user.groups.len(), user.groups.as_ptr()) != 0
            || libc::setgid(user.gid) != 0
            || libc::setuid(user.uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What a finished `rampart` run printed.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Waits for `child` at most `limit`, killing it (and failing the test) past
/// that.
pub fn wait_bounded(mut child: Child, what: &str, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("waiting for a child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("a child's output");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `rampart ARGS` (see [`rampart_command`]) to completion, bounded to 20 s.
pub fn run_rampart(pins: &Path, netns: Option<&str>, user: Option<&User>, args: &[&str]) -> Output {
    let child = rampart_command(pins, netns, user)
        .args(args)
        .spawn()
        .expect("spawning rampart");
    wait_bounded(child, &format!("rampart {args:?}"), Duration::from_secs(20))
}

/// As [`run_rampart`], failing the test unless it succeeds; returns stdout.
pub fn rampart_ok(pins: &Path, netns: Option<&str>, user: Option<&User>, args: &[&str]) -> String {
    let out = run_rampart(pins, netns, user, args);
    assert!(
        out.success,
        "rampart {args:?} as {user:?} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// Asks the kernel, as `user`, for a descriptor to the BPF object pinned at
/// `path` (`BPF_OBJ_GET`, read-write, as every loader does), in a child
/// process that switches user between fork and exec. `Ok` when the kernel
/// hands one out; otherwise the kernel's error.
pub fn bpf_obj_get_as(user: &User, path: &Path) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).expect("a path without NUL");
    let user = user.clone();
    let mut command = Command::new("true");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Safety: only async-signal-safe calls (id syscalls, bpf, close) on
    // memory allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            become_user(&user)?;
            // union bpf_attr for BPF_OBJ_GET: pathname, bpf_fd, file_flags;
            // the rest zero (the kernel checks that).
            let mut attr = [0u64; 16];
            attr[0] = c_path.as_ptr() as u64;
            const BPF_OBJ_GET: libc::c_long = 7;
            let fd = libc::syscall(
                libc::SYS_bpf,
                BPF_OBJ_GET,
                attr.as_mut_ptr(),
                std::mem::size_of_val(&attr),
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            libc::close(fd as libc::c_int);
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let status = child.wait()?;
    assert!(
        status.success(),
        "`true` failed after BPF_OBJ_GET succeeded"
    );
    Ok(())
}

/// The parts of a UDP frame a test varies.
#[derive(Debug, Clone)]
pub struct Frame {
    pub source: IpAddr,
    pub dest_port: u16,
    pub payload: Vec<u8>,
    pub vlan: Option<u16>,
    /// IPv4: set MF (first fragment); IPv6: add a fragment header with M set.
    pub first_fragment: bool,
    /// IPv4 fragment offset (8-byte units) for a later fragment.
    pub fragment_offset: u16,
    /// Added to the UDP length field (to make it inconsistent).
    pub udp_len_delta: i32,
}

impl Frame {
    pub fn udp(source: &str, dest_port: u16, payload: Vec<u8>) -> Self {
        Frame {
            source: source.parse().unwrap(),
            dest_port,
            payload,
            vlan: None,
            first_fragment: false,
            fragment_offset: 0,
            udp_len_delta: 0,
        }
    }

    /// The frame's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut udp = vec![0u8; 8 + self.payload.len()];
        {
            let mut packet = MutableUdpPacket::new(&mut udp).unwrap();
            packet.set_source(40000);
            packet.set_destination(self.dest_port);
            packet.set_length((8 + self.payload.len() as i32 + self.udp_len_delta) as u16);
            packet.set_payload(&self.payload);
        }
        let (ethertype, ip) = match self.source {
            IpAddr::V4(source) => (EtherTypes::Ipv4, self.ipv4(source, &udp)),
            IpAddr::V6(source) => (EtherTypes::Ipv6, self.ipv6(source, &udp)),
        };
        let vlan_len = if self.vlan.is_some() { 4 } else { 0 };
        let mut frame = vec![0u8; 14 + vlan_len + ip.len()];
        {
            let mut eth = MutableEthernetPacket::new(&mut frame).unwrap();
            eth.set_destination([2, 0, 0, 0, 0, 1].into());
            eth.set_source([2, 0, 0, 0, 0, 2].into());
            eth.set_ethertype(if self.vlan.is_some() {
                EtherTypes::Vlan
            } else {
                ethertype
            });
        }
        if let Some(tag) = self.vlan {
            frame[14..16].copy_from_slice(&tag.to_be_bytes());
            frame[16..18].copy_from_slice(&ethertype.0.to_be_bytes());
        }
        frame[14 + vlan_len..].copy_from_slice(&ip);
        frame
    }

    fn ipv4(&self, source: Ipv4Addr, udp: &[u8]) -> Vec<u8> {
        let mut ip = vec![0u8; 20 + udp.len()];
        let mut packet = MutableIpv4Packet::new(&mut ip).unwrap();
        packet.set_version(4);
        packet.set_header_length(5);
        packet.set_total_length((20 + udp.len()) as u16);
        packet.set_ttl(64);
        packet.set_next_level_protocol(IpNextHeaderProtocols::Udp);
        packet.set_source(source);
        packet.set_destination(Ipv4Addr::new(10, 99, 0, 1));
        if self.first_fragment {
            packet.set_flags(ipv4::Ipv4Flags::MoreFragments);
        }
        packet.set_fragment_offset(self.fragment_offset);
        packet.set_payload(udp);
        let checksum = ipv4::checksum(&packet.to_immutable());
        packet.set_checksum(checksum);
        ip
    }

    fn ipv6(&self, source: Ipv6Addr, udp: &[u8]) -> Vec<u8> {
        let fragment = if self.first_fragment { 8 } else { 0 };
        let mut ip = vec![0u8; 40 + fragment + udp.len()];
        {
            let mut packet = MutableIpv6Packet::new(&mut ip).unwrap();
            packet.set_version(6);
            packet.set_payload_length((fragment + udp.len()) as u16);
            packet.set_hop_limit(64);
            packet.set_source(source);
            packet.set_destination("fd00:99::1".parse().unwrap());
            packet.set_next_header(if self.first_fragment {
                IpNextHeaderProtocols::Ipv6Frag
            } else {
                IpNextHeaderProtocols::Udp
            });
        }
        if self.first_fragment {
            ip[40] = 17;
            ip[43] = 1; // offset 0, M set
        }
        ip[40 + fragment..].copy_from_slice(udp);
        ip
    }
}

/// A QUIC v1 long-header Initial of `len` bytes with the given CID lengths.
pub fn quic_initial(len: usize, dcid_len: u8, scid_len: u8) -> Vec<u8> {
    let mut payload = vec![0u8; len.max(8 + dcid_len as usize + scid_len as usize)];
    payload[0] = 0xc0; // long header, fixed bit, Initial
    payload[1..5].copy_from_slice(&1u32.to_be_bytes());
    payload[5] = dcid_len;
    payload[6 + dcid_len as usize] = scid_len;
    payload.truncate(len.max(7 + dcid_len as usize));
    payload
}

/// A QUIC short-header packet of `len` bytes.
pub fn quic_short(len: usize) -> Vec<u8> {
    let mut payload = vec![0x55u8; len];
    payload[0] = 0x40;
    payload
}
