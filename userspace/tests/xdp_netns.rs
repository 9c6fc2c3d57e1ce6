//! The XDP filter on a real (virtual) wire: two network namespaces joined by a
//! veth pair, private addresses inside them only, the real program attached to
//! the receiving end in native and in generic mode, and real UDP sockets on
//! both ends. Every datagram carries a unique id, so the tests check exactly
//! which ones reached the socket, and that the protected port's counters equal
//! what was sent, verdict by verdict.
//!
//! Root only; skips visibly otherwise. Namespaces (and with them the veth
//! pair) and pins (and with them the pinned XDP link) are removed by guards,
//! even when an assertion fails; `namespaces_pins_and_link_are_removed_when_a_test_panics`
//! checks exactly that.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::{self, ErrorKind},
    net::{IpAddr, SocketAddr, UdpSocket},
    os::{fd::AsRawFd, unix::process::CommandExt},
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use aya::programs::links::{FdLink, PinnedLink};
use common::{quic_initial, quic_short, skip_unless_root, PinDir};
use rampart::{
    appliance::xdp_counters::PinnedXdpCounters,
    filter::{maps::Counters, AttachMode, Cidr, FilterMaps, ListKind, Loader},
    lab::netlab::{Lab, Netns},
    metrics::{Counters as MetricCounters, Exposition},
};
use rampart_common::Verdict;

/// The protected port (a validator's TPU QUIC port).
const PORT: u16 = 8009;
/// A port the filter does not protect.
const OPEN_PORT: u16 = 9000;
/// Longest wait for anything the kernel does asynchronously.
const SETTLE: Duration = Duration::from_secs(5);
/// Datagrams sent before waiting for the filter to count them, so neither the
/// veth ring nor the neighbour queue can overflow.
const BATCH: usize = 16;
/// `IFLA_XDP_ATTACHED` values as `ip -j link` prints them.
const XDP_ATTACHED_DRV: u64 = 1;
const XDP_ATTACHED_SKB: u64 = 2;

/// The QUIC-shaped payloads the tests send.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A valid v1 Initial: 1200 bytes, 8-byte connection IDs.
    Initial,
    /// A long-header Initial in 100 bytes: below the 1200-byte minimum.
    ShortInitial,
    /// A short-header packet of 10 bytes: too short to be real.
    ShortPacket,
}

/// The payload of `shape` with `id` in its last 8 bytes (past every header
/// byte the filter reads).
fn payload(shape: Shape, id: u64) -> Vec<u8> {
    let mut payload = match shape {
        Shape::Initial => quic_initial(1200, 8, 8),
        Shape::ShortInitial => quic_initial(100, 8, 8),
        Shape::ShortPacket => quic_short(10),
    };
    let len = payload.len();
    payload[len - 8..].copy_from_slice(&id.to_be_bytes());
    payload
}

fn id_of(payload: &[u8]) -> Option<u64> {
    let tail = payload.get(payload.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// One datagram and what the filter must do with it.
#[derive(Debug, Clone)]
struct Datagram {
    id: u64,
    source: IpAddr,
    port: u16,
    payload: Vec<u8>,
    verdict: Verdict,
}

impl Datagram {
    fn arrives(&self) -> bool {
        !self.verdict.is_drop()
    }

    /// The frame as XDP sees it: Ethernet, IP, UDP, payload.
    fn frame_len(&self) -> u64 {
        let ip = if self.source.is_ipv4() { 20 } else { 40 };
        (14 + ip + 8 + self.payload.len()) as u64
    }
}

/// A datagram that reached a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Arrival {
    port: u16,
    from: IpAddr,
    len: usize,
}

/// The lab plus sockets: senders in `tx` bound to each source address,
/// receivers in `rx` on the protected and the open port, IPv4 and IPv6.
/// Sockets keep the namespace they were made in, so the test thread uses them
/// directly. Fields drop in order: sockets first, then the namespaces.
struct Wire {
    senders: BTreeMap<IpAddr, UdpSocket>,
    inbox: Vec<(u16, UdpSocket)>,
    received: BTreeMap<u64, Arrival>,
    /// Datagrams that arrived twice, or without an id.
    strays: Vec<String>,
    next_id: u64,
    rx_v4: IpAddr,
    rx_v6: IpAddr,
    /// A second IPv6 source on `tx`, added here (the lab has one).
    tx_v6_extra: IpAddr,
    lab: Lab,
}

fn bind_in(netns: &Netns, addr: SocketAddr) -> UdpSocket {
    netns
        .run(move || UdpSocket::bind(addr))
        .expect("entering the namespace")
        .unwrap_or_else(|e| panic!("binding {addr} in {}: {e}", netns.name()))
}

/// Room for every datagram a test sends, so the socket never drops one.
fn grow_receive_buffer(socket: &UdpSocket) {
    let size: libc::c_int = 8 << 20;
    // Safety: a valid socket and a c_int option value of the stated size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_RCVBUFFORCE: {}", io::Error::last_os_error());
}

fn ip(addr: &str) -> IpAddr {
    addr.parse()
        .unwrap_or_else(|e| panic!("{addr:?} is not an address: {e}"))
}

fn host_cidr(addr: IpAddr) -> Cidr {
    let len = if addr.is_ipv4() { 32 } else { 128 };
    format!("{addr}/{len}").parse().expect("a host block")
}

impl Wire {
    fn new(tag: &str) -> Self {
        let lab = Lab::create(tag).expect("creating the namespaces and veth pair");
        let prefix = lab.tx_v6.rsplit_once("::").expect("an fd00:n::2 address").0;
        let tx_v6_extra = ip(&format!("{prefix}::66"));
        lab.tx
            .ip(&[
                "addr",
                "add",
                &format!("{tx_v6_extra}/64"),
                "dev",
                &lab.tx_iface,
                "nodad",
            ])
            .expect("adding a second IPv6 source");
        let (rx_v4, rx_v6) = (ip(&lab.rx_v4), ip(&lab.rx_v6));
        let mut inbox = Vec::new();
        for port in [PORT, OPEN_PORT] {
            for addr in [rx_v4, rx_v6] {
                let socket = bind_in(&lab.rx, SocketAddr::new(addr, port));
                socket.set_nonblocking(true).unwrap();
                grow_receive_buffer(&socket);
                inbox.push((port, socket));
            }
        }
        let mut sources = vec![ip(&lab.tx_v4), ip(&lab.tx_v6), tx_v6_extra];
        sources.extend(lab.tx_v4_extra.iter().map(|a| ip(a)));
        let senders = sources
            .into_iter()
            .map(|source| (source, bind_in(&lab.tx, SocketAddr::new(source, 0))))
            .collect();
        Wire {
            senders,
            inbox,
            received: BTreeMap::new(),
            strays: Vec::new(),
            next_id: 1,
            rx_v4,
            rx_v6,
            tx_v6_extra,
            lab,
        }
    }

    fn tx_v4(&self) -> IpAddr {
        ip(&self.lab.tx_v4)
    }

    fn tx_v6(&self) -> IpAddr {
        ip(&self.lab.tx_v6)
    }

    fn extra_v4(&self, i: usize) -> IpAddr {
        ip(&self.lab.tx_v4_extra[i])
    }

    fn destination(&self, source: IpAddr, port: u16) -> SocketAddr {
        SocketAddr::new(
            if source.is_ipv4() {
                self.rx_v4
            } else {
                self.rx_v6
            },
            port,
        )
    }

    /// `count` datagrams of `shape` from `source` to `port`, each with its own
    /// id, that the filter must judge `verdict`.
    fn datagrams(
        &mut self,
        count: usize,
        shape: Shape,
        source: IpAddr,
        port: u16,
        verdict: Verdict,
    ) -> Vec<Datagram> {
        (0..count)
            .map(|_| {
                let id = self.next_id;
                self.next_id += 1;
                Datagram {
                    id,
                    source,
                    port,
                    payload: payload(shape, id),
                    verdict,
                }
            })
            .collect()
    }

    fn send(&self, datagram: &Datagram) {
        let socket = &self.senders[&datagram.source];
        let to = self.destination(datagram.source, datagram.port);
        let sent = socket
            .send_to(&datagram.payload, to)
            .unwrap_or_else(|e| panic!("sending from {} to {to}: {e}", datagram.source));
        assert_eq!(sent, datagram.payload.len());
    }

    /// Reads every datagram waiting on the receiving sockets.
    fn drain(&mut self) {
        let mut buf = [0u8; 2048];
        for (port, socket) in &self.inbox {
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((len, from)) => {
                        let arrival = Arrival {
                            port: *port,
                            from: from.ip(),
                            len,
                        };
                        match id_of(&buf[..len]) {
                            Some(id) => {
                                if let Some(first) = self.received.insert(id, arrival.clone()) {
                                    self.strays.push(format!(
                                        "id {id} arrived twice: {first:?}, {arrival:?}"
                                    ));
                                }
                            }
                            None => self.strays.push(format!("no id: {arrival:?}")),
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("receiving on port {port}: {e}"),
                }
            }
        }
    }

    /// Polls `condition` (after draining the sockets) until it holds; fails
    /// with its last complaint after [`SETTLE`].
    fn wait_until(&mut self, what: &str, mut condition: impl FnMut(&Wire) -> Result<(), String>) {
        let deadline = Instant::now() + SETTLE;
        loop {
            self.drain();
            let complaint = match condition(self) {
                Ok(()) => return,
                Err(complaint) => complaint,
            };
            assert!(
                Instant::now() < deadline,
                "timed out after {SETTLE:?} waiting for {what}: {complaint}"
            );
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Sends `plan` in batches, waiting after each until the filter has
    /// counted every datagram sent to the protected port (when `maps` is
    /// given: a frame lost before the filter fails the test here, by name),
    /// then until every datagram that must arrive has.
    fn deliver(&mut self, plan: &[Datagram], maps: Option<&FilterMaps>) {
        let base = maps.map(port_total);
        let mut to_port = 0;
        for batch in plan.chunks(BATCH) {
            for datagram in batch {
                self.send(datagram);
                to_port += u64::from(datagram.port == PORT);
            }
            match (maps, base) {
                (Some(maps), Some(base)) => {
                    self.wait_until("the filter to count each frame", |_| {
                        let counted = port_total(maps) - base;
                        if counted == to_port {
                            Ok(())
                        } else {
                            Err(format!("{counted} of {to_port} frames counted"))
                        }
                    })
                }
                _ => {
                    thread::sleep(Duration::from_millis(1));
                    self.drain();
                }
            }
        }
        self.wait_until("the allowed datagrams to arrive", |wire| {
            let missing: Vec<u64> = plan
                .iter()
                .filter(|d| d.arrives() && !wire.received.contains_key(&d.id))
                .map(|d| d.id)
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("{} missing, ids {missing:?}", missing.len()))
            }
        });
        // Anything wrongly passed was judged before the last count above, so
        // it is at most a softirq away from its socket.
        thread::sleep(Duration::from_millis(50));
        self.drain();
    }

    /// Every datagram of `plan` arrived, at the right socket from the right
    /// source, if and only if its verdict passes.
    fn check_arrivals(&self, plan: &[Datagram]) {
        assert!(self.strays.is_empty(), "stray datagrams: {:?}", self.strays);
        let mut wrong = Vec::new();
        for d in plan {
            match (d.arrives(), self.received.get(&d.id)) {
                (true, None) => wrong.push(format!(
                    "#{} from {} ({:?}) never arrived",
                    d.id, d.source, d.verdict
                )),
                (false, Some(a)) => wrong.push(format!(
                    "#{} from {} ({:?}) arrived: {a:?}",
                    d.id, d.source, d.verdict
                )),
                (true, Some(a)) => {
                    let want = Arrival {
                        port: d.port,
                        from: d.source,
                        len: d.payload.len(),
                    };
                    if *a != want {
                        wrong.push(format!("#{} arrived as {a:?}, sent as {want:?}", d.id));
                    }
                }
                (false, None) => {}
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} datagrams wrong:\n{}",
            wrong.len(),
            plan.len(),
            wrong.join("\n")
        );
    }
}

/// Packets counted in the protected port's row.
fn port_total(maps: &FilterMaps) -> u64 {
    let counters = maps.counters().expect("reading counters");
    counters
        .ports
        .get(&PORT)
        .expect("the protected port has a row")
        .packets()
}

/// The protected port's counters moved by exactly what `plan` sent there,
/// packets and bytes, verdict by verdict; the unprotected row counted at least
/// the datagrams to the open port (the veth also carries ARP and NDP) and, as
/// always, dropped nothing.
fn check_counters(plan: &[Datagram], before: &Counters, after: &Counters) {
    let row = |c: &Counters| {
        c.ports
            .get(&PORT)
            .cloned()
            .expect("the protected port has a row")
    };
    let (was, now) = (row(before), row(after));
    let mut wrong = Vec::new();
    for verdict in Verdict::ALL {
        let v = verdict as usize;
        let sent = plan
            .iter()
            .filter(|d| d.port == PORT && d.verdict == verdict);
        let want = (
            sent.clone().count() as u64,
            sent.map(Datagram::frame_len).sum::<u64>(),
        );
        let got = (
            now.verdicts[v].packets - was.verdicts[v].packets,
            now.verdicts[v].bytes - was.verdicts[v].bytes,
        );
        if got != want {
            wrong.push(format!(
                "{}: counted {} packets / {} bytes, sent {} / {}",
                verdict.label(),
                got.0,
                got.1,
                want.0,
                want.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "port {PORT} counters wrong:\n{}",
        wrong.join("\n")
    );
    let open = plan.iter().filter(|d| d.port == OPEN_PORT).count() as u64;
    let unprotected =
        |c: &Counters| c.unprotected.verdicts[Verdict::PassUnprotected as usize].packets;
    let passed = unprotected(after) - unprotected(before);
    assert!(
        passed >= open,
        "unprotected row counted {passed}, {open} were sent to port {OPEN_PORT}"
    );
    assert_eq!(
        after.unprotected.packets() - before.unprotected.packets(),
        passed,
        "the unprotected row only ever passes"
    );
}

/// Interleaves the groups round-robin, so every kind of traffic is in flight
/// together.
fn interleave(groups: Vec<Vec<Datagram>>) -> Vec<Datagram> {
    let mut iters: Vec<_> = groups.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(iters.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// (`IFLA_XDP_ATTACHED` mode, program id) of the XDP program on the lab's
/// receiving end, from `ip -j link`; `None` when nothing is attached.
fn xdp_on(lab: &Lab) -> Option<(u64, u64)> {
    let out = lab
        .rx
        .ip(&["-j", "link", "show", "dev", &lab.rx_iface])
        .expect("ip link show");
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j prints JSON");
    let xdp = json.get(0)?.get("xdp")?;
    let mode = xdp.get("mode")?.as_u64()?;
    let prog = xdp
        .get("prog")
        .and_then(|p| p.get("id"))
        .or_else(|| xdp.get("id"))?;
    Some((mode, prog.as_u64()?))
}

/// Attaches the filter to the lab's receiving end, from a thread inside `rx`.
fn attach(wire: &Wire, pins: &PinDir, mode: AttachMode) -> String {
    let loader = Loader::new(&pins.0);
    let iface = wire.lab.rx_iface.clone();
    wire.lab
        .rx
        .run(move || loader.attach(&iface, mode, &[PORT]))
        .expect("entering rx")
        .unwrap_or_else(|e| panic!("attaching in {mode:?} mode to {}: {e}", wire.lab.rx_iface))
}

/// Runs the `rampart` binary with the test's pin directory, inside `netns`
/// if given (entered between fork and exec, so mounts, and bpffs with them,
/// stay as they are), bounded in time. Returns (success, stdout, stderr).
fn cli(pins: &Path, netns: Option<&Netns>, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .args(args)
        .env("RAMPART_PIN_DIR", pins)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Opened here: between fork and exec only async-signal-safe calls are
    // allowed, and setns on an open descriptor is one.
    let netns_file = netns.map(|netns| {
        File::open(format!("/run/netns/{}", netns.name())).expect("opening the namespace")
    });
    if let Some(file) = &netns_file {
        let fd = file.as_raw_fd();
        // Safety: the closure only calls setns, which is async-signal-safe,
        // on a descriptor that stays open until the child has been spawned.
        unsafe {
            command.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = command.spawn().expect("spawning rampart");
    drop(netns_file);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("waiting for rampart").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rampart {args:?} still running after 20 s");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("rampart's output");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// As [`cli`], failing the test unless it succeeds; returns stdout.
fn cli_ok(pins: &Path, netns: Option<&Netns>, args: &[&str]) -> String {
    let (ok, stdout, stderr) = cli(pins, netns, args);
    assert!(
        ok,
        "rampart {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

fn allowed_and_denied(mode: AttachMode, tag: &str) {
    let mut wire = Wire::new(tag);
    let pins = PinDir::new(tag);
    let (mode_name, attached) = match mode {
        AttachMode::Native => ("native", XDP_ATTACHED_DRV),
        _ => ("skb", XDP_ATTACHED_SKB),
    };
    assert_eq!(attach(&wire, &pins, mode), mode_name);
    let (kernel_mode, _) = xdp_on(&wire.lab).expect("a program on the receiving end");
    assert_eq!(kernel_mode, attached, "the kernel's XDP mode");

    let (tx_v4, tx_v6, allowed_v4) = (wire.tx_v4(), wire.tx_v6(), wire.extra_v4(2));
    let (denied_v4, denied_v6) = (wire.extra_v4(0), wire.tx_v6_extra);
    let mut maps = FilterMaps::open(&pins.0).expect("the pinned maps");
    maps.add_deny(host_cidr(denied_v4), None).unwrap();
    maps.add_deny(host_cidr(denied_v6), None).unwrap();
    maps.add_allow(host_cidr(allowed_v4)).unwrap();

    use Shape::*;
    use Verdict::*;
    let plan = interleave(vec![
        wire.datagrams(50, Initial, tx_v4, PORT, Pass),
        wire.datagrams(50, Initial, tx_v6, PORT, Pass),
        wire.datagrams(50, Initial, denied_v4, PORT, DropDenied),
        wire.datagrams(20, Initial, denied_v6, PORT, DropDenied),
        wire.datagrams(20, ShortInitial, tx_v4, PORT, DropQuicShortInitial),
        wire.datagrams(10, ShortInitial, tx_v6, PORT, DropQuicShortInitial),
        wire.datagrams(20, ShortPacket, tx_v4, PORT, DropQuicShortPacket),
        // The allow-list skips every later check, junk included.
        wire.datagrams(10, ShortPacket, allowed_v4, PORT, PassAllowed),
        // A denied source still reaches ports the filter does not protect.
        wire.datagrams(10, Initial, denied_v4, OPEN_PORT, PassUnprotected),
        wire.datagrams(10, ShortPacket, denied_v6, OPEN_PORT, PassUnprotected),
    ]);
    let before = maps.counters().unwrap();
    wire.deliver(&plan, Some(&maps));
    let after = maps.counters().unwrap();
    wire.check_arrivals(&plan);
    check_counters(&plan, &before, &after);
    check_metrics_text(&pins, &after);
}

/// `/metrics` carries the filter's per-verdict counters of the protected
/// port, read from the pinned maps, as they stand.
fn check_metrics_text(pins: &PinDir, counters: &Counters) {
    let source = PinnedXdpCounters::new(&pins.0);
    let text = Exposition::new(Arc::new(MetricCounters::default()), Some(Arc::new(source))).text();
    let row = counters
        .ports
        .get(&PORT)
        .expect("the protected port has a row");
    for verdict in Verdict::ALL {
        let line = format!(
            "rampart_xdp_frame_judged_total{{verdict=\"{}\",port=\"{PORT}\"}} {}\n",
            verdict.label(),
            row.verdicts[verdict as usize].packets
        );
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn allowed_datagrams_reach_the_socket_and_denied_never_do_native() {
    if skip_unless_root("allowed_datagrams_reach_the_socket_and_denied_never_do_native") {
        return;
    }
    allowed_and_denied(AttachMode::Native, "natv");
}

#[test]
fn allowed_datagrams_reach_the_socket_and_denied_never_do_generic() {
    if skip_unless_root("allowed_datagrams_reach_the_socket_and_denied_never_do_generic") {
        return;
    }
    allowed_and_denied(AttachMode::Skb, "gen");
}

/// A sender thread streaming valid Initials from one source, one id after
/// another; holding `next` pauses it between two datagrams. Stopped and
/// joined on drop.
struct Stream {
    next: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Stream {
    /// Upper bound on what one stream sends (about a second and a half).
    const LIMIT: u64 = 3000;

    fn start(socket: UdpSocket, to: SocketAddr, first_id: u64) -> Self {
        let next = Arc::new(Mutex::new(first_id));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::spawn({
            let (next, stop) = (next.clone(), stop.clone());
            move || loop {
                {
                    let mut id = next.lock().unwrap();
                    if stop.load(Ordering::Relaxed) || *id - first_id >= Self::LIMIT {
                        return;
                    }
                    if socket.send_to(&payload(Shape::Initial, *id), to).is_err() {
                        return;
                    }
                    *id += 1;
                }
                thread::sleep(Duration::from_micros(500));
            }
        });
        Stream {
            next,
            stop,
            thread: Some(thread),
        }
    }

    /// Ids below this have been sent.
    fn sent(&self) -> u64 {
        *self.next.lock().unwrap()
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the sender thread");
        }
        self.sent()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Pauses `stream` between two datagrams, waits until the filter has judged
/// every one already sent, and changes the rules: whatever is sent next meets
/// the change. Returns the first id sent after it.
fn at_boundary(
    stream: &Stream,
    wire: &mut Wire,
    maps: &mut FilterMaps,
    base: u64,
    first: u64,
    change: impl FnOnce(&mut FilterMaps),
) -> u64 {
    let next = stream.next.lock().unwrap();
    let boundary = *next;
    wire.wait_until("the filter to judge every datagram sent", |_| {
        let judged = port_total(maps) - base;
        if judged == boundary - first {
            Ok(())
        } else {
            Err(format!("{judged} of {} judged", boundary - first))
        }
    });
    change(maps);
    boundary
}

/// Waits (draining the sockets) until `stream` has sent every id below `until`.
fn wait_for_stream(stream: &Stream, wire: &mut Wire, until: u64) {
    wire.wait_until("the stream to go on", |_| {
        let sent = stream.sent();
        if sent >= until {
            Ok(())
        } else {
            Err(format!("sent up to {sent}, waiting for {until}"))
        }
    });
}

/// With datagrams streaming from one source, a deny rule written to the
/// pinned map (by the library, then removed by the CLI) drops exactly the
/// datagrams judged while it is in place, counted as denied, with the same
/// program attached throughout.
fn live_rule(mode: AttachMode, tag: &str) {
    let mut wire = Wire::new(tag);
    let pins = PinDir::new(tag);
    attach(&wire, &pins, mode);
    let program = xdp_on(&wire.lab).expect("a program on the receiving end");
    let mut maps = FilterMaps::open(&pins.0).expect("the pinned maps");
    let source = wire.extra_v4(1);
    let cidr = host_cidr(source);
    let socket = wire.senders[&source].try_clone().unwrap();
    let first = 1_000_000;
    let before = maps.counters().unwrap();
    let base = port_total(&maps);

    let stream = Stream::start(socket, wire.destination(source, PORT), first);
    wire.wait_until("the stream to start arriving", |wire| {
        let n = wire.received.len();
        if n >= 20 {
            Ok(())
        } else {
            Err(format!("{n} arrived"))
        }
    });
    let denied_from = at_boundary(&stream, &mut wire, &mut maps, base, first, |maps| {
        maps.add_deny(cidr, None).expect("adding the deny rule");
    });
    wait_for_stream(&stream, &mut wire, denied_from + 50);
    let pin_dir = pins.0.clone();
    let allowed_from = at_boundary(&stream, &mut wire, &mut maps, base, first, |_| {
        cli_ok(&pin_dir, None, &["rules", "del", "deny", &cidr.to_string()]);
    });
    wait_for_stream(&stream, &mut wire, allowed_from + 50);
    let end = stream.finish();

    let plan: Vec<Datagram> = (first..end)
        .map(|id| Datagram {
            id,
            source,
            port: PORT,
            payload: payload(Shape::Initial, id),
            verdict: if (denied_from..allowed_from).contains(&id) {
                Verdict::DropDenied
            } else {
                Verdict::Pass
            },
        })
        .collect();
    wire.wait_until("the filter to judge the whole stream", |_| {
        let judged = port_total(&maps) - base;
        if judged == end - first {
            Ok(())
        } else {
            Err(format!("{judged} of {} judged", end - first))
        }
    });
    wire.wait_until("the passed datagrams to arrive", |wire| {
        let missing = plan
            .iter()
            .filter(|d| d.arrives() && !wire.received.contains_key(&d.id))
            .count();
        if missing == 0 {
            Ok(())
        } else {
            Err(format!("{missing} missing"))
        }
    });
    thread::sleep(Duration::from_millis(50));
    wire.drain();
    let after = maps.counters().unwrap();
    wire.check_arrivals(&plan);
    check_counters(&plan, &before, &after);
    assert!(allowed_from - denied_from >= 50 && end - allowed_from >= 50);
    assert_eq!(
        xdp_on(&wire.lab),
        Some(program),
        "the same program stayed attached"
    );
    assert!(maps.rules().unwrap().deny.is_empty(), "the rule is gone");
    assert!(maps.remove(ListKind::Deny, cidr).is_err(), "deleted twice");
}

#[test]
fn live_rule_takes_effect_without_reattach_native() {
    if skip_unless_root("live_rule_takes_effect_without_reattach_native") {
        return;
    }
    live_rule(AttachMode::Native, "livn");
}

#[test]
fn live_rule_takes_effect_without_reattach_generic() {
    if skip_unless_root("live_rule_takes_effect_without_reattach_generic") {
        return;
    }
    live_rule(AttachMode::Skb, "livg");
}

/// `rampart stats --json` as (label → packets over every row).
fn stats_json(pins: &Path) -> BTreeMap<String, u64> {
    let out = cli_ok(pins, None, &["stats", "--json"]);
    let json: serde_json::Value =
        serde_json::from_str(out.trim()).expect("stats --json prints JSON");
    json.as_object()
        .expect("a JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
        .collect()
}

#[test]
fn rules_and_counters_survive_the_loader_exiting() {
    if skip_unless_root("rules_and_counters_survive_the_loader_exiting") {
        return;
    }
    let mut wire = Wire::new("surv");
    let pins = PinDir::new("surv");
    let iface = wire.lab.rx_iface.clone();
    let rx = &wire.lab.rx;

    // The loader is a process of its own that exits once attached.
    let out = cli_ok(
        &pins.0,
        Some(rx),
        &[
            "filter",
            "attach",
            &iface,
            "--mode",
            "native",
            "--port",
            &PORT.to_string(),
        ],
    );
    assert!(
        out.contains(&format!("attached to {iface} in native mode")),
        "{out}"
    );
    let (kernel_mode, program) = xdp_on(&wire.lab).expect("still attached after the loader exited");
    assert_eq!(kernel_mode, XDP_ATTACHED_DRV);
    let status = cli_ok(&pins.0, Some(rx), &["filter", "status"]);
    assert!(
        status.contains(&format!("{iface}: native mode\n")),
        "{status}"
    );
    assert!(
        status.contains(&format!("protected UDP ports: {PORT}")),
        "{status}"
    );
    assert!(!status.contains("stale"), "{status}");

    // A rule from another process, which exits too.
    let (tx_v4, tx_v6, denied_v4) = (wire.tx_v4(), wire.tx_v6(), wire.extra_v4(0));
    let denied = host_cidr(denied_v4).to_string();
    cli_ok(&pins.0, None, &["rules", "add", "deny", &denied]);
    let list = cli_ok(&pins.0, None, &["rules", "list"]);
    assert!(list.contains(&format!("deny      {denied}\n")), "{list}");

    use Shape::*;
    use Verdict::*;
    let maps = FilterMaps::open(&pins.0).expect("the pinned maps");
    let zero = maps.counters().unwrap();
    let first = interleave(vec![
        wire.datagrams(30, Initial, tx_v4, PORT, Pass),
        wire.datagrams(30, Initial, denied_v4, PORT, DropDenied),
        wire.datagrams(10, ShortPacket, tx_v4, PORT, DropQuicShortPacket),
        wire.datagrams(10, Initial, denied_v4, OPEN_PORT, PassUnprotected),
    ]);
    wire.deliver(&first, Some(&maps));
    let after_first = maps.counters().unwrap();
    wire.check_arrivals(&first);
    check_counters(&first, &zero, &after_first);
    let stats = stats_json(&pins.0);
    assert_eq!(
        (
            stats["pass"],
            stats["drop_denied"],
            stats["drop_quic_short_packet"]
        ),
        (30, 30, 10)
    );

    // Another process, another rule (with a TTL); counting goes on.
    let denied6 = host_cidr(tx_v6).to_string();
    cli_ok(
        &pins.0,
        None,
        &["rules", "add", "deny", &denied6, "--ttl", "10m"],
    );
    let list = cli_ok(&pins.0, None, &["rules", "list"]);
    assert!(
        list.contains(&format!("deny      {denied6}  (expires in")),
        "{list}"
    );
    let second = interleave(vec![
        wire.datagrams(20, Initial, tx_v4, PORT, Pass),
        wire.datagrams(20, Initial, tx_v6, PORT, DropDenied),
        wire.datagrams(20, Initial, denied_v4, PORT, DropDenied),
    ]);
    wire.deliver(&second, Some(&maps));
    let after_second = maps.counters().unwrap();
    wire.check_arrivals(&second);
    check_counters(&second, &after_first, &after_second);
    let stats = stats_json(&pins.0);
    assert_eq!(
        (
            stats["pass"],
            stats["drop_denied"],
            stats["drop_quic_short_packet"]
        ),
        (50, 70, 10)
    );
    assert_eq!(
        xdp_on(&wire.lab),
        Some((XDP_ATTACHED_DRV, program)),
        "never re-attached"
    );
    drop(maps);

    // Detaching (inside rx, as an operator would) with --purge removes the
    // link and every map; the port is open to everyone again.
    let out = cli_ok(
        &pins.0,
        Some(&wire.lab.rx),
        &["filter", "detach", &iface, "--purge"],
    );
    assert!(out.contains(&format!("detached from {iface}")), "{out}");
    assert_eq!(xdp_on(&wire.lab), None, "nothing attached after detach");
    assert!(!pins.0.exists(), "--purge removes the pin directory");
    let status = cli_ok(&pins.0, Some(&wire.lab.rx), &["filter", "status"]);
    assert!(status.contains("not attached to any interface"), "{status}");
    let unfiltered = interleave(vec![
        wire.datagrams(10, Initial, denied_v4, PORT, PassUnprotected),
        wire.datagrams(10, Initial, tx_v6, PORT, PassUnprotected),
    ]);
    wire.deliver(&unfiltered, None);
    wire.check_arrivals(&unfiltered);
}

#[test]
fn namespaces_pins_and_link_are_removed_when_a_test_panics() {
    if skip_unless_root("namespaces_pins_and_link_are_removed_when_a_test_panics") {
        return;
    }
    let mut made: Option<(Vec<String>, PathBuf)> = None;
    let mut link_id = None;
    let result = catch_unwind(AssertUnwindSafe(|| {
        let wire = Wire::new("pnc");
        let pins = PinDir::new("pnc");
        made = Some((
            vec![wire.lab.tx.name().to_owned(), wire.lab.rx.name().to_owned()],
            pins.0.clone(),
        ));
        attach(&wire, &pins, AttachMode::Skb);
        let pin = std::fs::read_dir(pins.0.join("links"))
            .expect("the links directory")
            .next()
            .expect("one pinned link")
            .expect("a directory entry")
            .path();
        let link = FdLink::from(PinnedLink::from_pin(&pin).expect("the pinned link"));
        link_id = Some(link.info().expect("link info").id());
        drop(link);
        panic!("deliberate failure, to check the guards clean up");
    }));
    assert!(result.is_err(), "the closure panicked");
    let (namespaces, pin_dir) = made.expect("creating the lab failed; see the panic above");
    let listed = netns_list();
    for name in &namespaces {
        assert!(
            !Path::new(&format!("/run/netns/{name}")).exists(),
            "{name} left behind"
        );
        assert!(
            !listed.contains(name),
            "{name} in `ip netns list`: {listed}"
        );
    }
    assert!(!pin_dir.exists(), "{} left behind", pin_dir.display());
    let link_id =
        link_id.expect("the setup failed before the deliberate panic; see the first panic above");
    // The kernel frees a link once its last reference (the pin) is gone.
    let deadline = Instant::now() + SETTLE;
    while live_links().contains(&link_id) {
        assert!(Instant::now() < deadline, "XDP link {link_id} still exists");
        thread::sleep(Duration::from_millis(10));
    }
}

fn netns_list() -> String {
    rampart::lab::netlab::ip(&["netns", "list"]).expect("ip netns list")
}

fn live_links() -> BTreeSet<u32> {
    aya::programs::loaded_links()
        .filter_map(Result::ok)
        .map(|info| info.id())
        .collect()
}
