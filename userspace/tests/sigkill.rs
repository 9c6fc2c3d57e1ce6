//! SIGKILL of `rampart run` (issue 12's fault list): the XDP filter lives in
//! the kernel through its pinned link and maps, so killing the appliance must
//! leave it attached with its rules and still judging frames; a restart must
//! serve again under the same identity.
//!
//! The real binary runs inside the receiving namespace of a private veth pair
//! (the filter attached to its end there, natively), with a configuration of
//! its own: an identity file in a temp dir, a TPU sink in the same namespace
//! as the validator, metrics on an ephemeral port. A client in the sending
//! namespace sends transactions over QUIC across the veth, through the filter.
//!
//! Root only; skips visibly otherwise (fails under CI). The appliance is
//! killed, and namespaces, pins (and so the link) and the temp dir removed,
//! by guards even when an assertion fails.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{IpAddr, SocketAddr, TcpStream, UdpSocket},
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Child,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use common::{quic_initial, rampart_command, rampart_ok, skip_unless_root, PinDir};
use rampart::{
    lab::{
        loadgen::{
            tpu::{TpuClient, TpuSink},
            transactions::{generate, KeyMode, TxSpec},
        },
        netlab::{Lab, Netns},
    },
    quic::{
        endpoint::{bind, tpu_client_config},
        identity::Identity,
    },
};

/// The protected port, where the appliance listens (private namespace, so a
/// fixed port cannot collide).
const PORT: u16 = 8009;
/// Longest wait for anything asynchronous.
const DEADLINE: Duration = Duration::from_secs(20);

/// A directory of the test's own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rampart-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating the temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `rampart run` said when it came up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Started {
    /// The public key it logged (hex or base58: either is read).
    identity: [u8; 32],
    metrics: SocketAddr,
}

/// A running `rampart run`, its output collected line by line; killed on drop.
struct Appliance {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Appliance {
    /// Starts `rampart run --config CONFIG` inside `netns`.
    fn start(pins: &Path, netns: &Netns, config: &Path) -> Self {
        let mut command = rampart_command(pins, Some(netns.name()), None);
        command
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        let mut child = command.spawn().expect("spawning rampart run");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        collect(stdout, output.clone());
        collect(stderr, output.clone());
        Appliance { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().expect("the output").clone()
    }

    /// Waits for the "rampart running" line; its identity and metrics address.
    fn started(&mut self) -> Started {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let output = self.output();
            if let Some(line) = output.lines().find(|l| l.contains("rampart running")) {
                let line = strip_ansi(line);
                let identity = decode_key(field(&line, "identity="));
                let metrics = field(&line, "metrics=Some(")
                    .trim_end_matches(')')
                    .parse()
                    .unwrap_or_else(|e| panic!("a metrics address in {line:?}: {e}"));
                return Started { identity, metrics };
            }
            if let Some(status) = self.child.try_wait().expect("waiting for rampart run") {
                panic!("rampart run exited ({status}) before serving:\n{output}");
            }
            assert!(
                Instant::now() < deadline,
                "rampart run not serving after {DEADLINE:?}:\n{output}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGKILL and reaps the process.
    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reaping rampart run");
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Ok(mut into) = into.lock() {
                into.push_str(&line);
                into.push('\n');
            }
        }
    });
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value after `key` in a log line, up to the next space.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len();
    line[start..].split(' ').next().unwrap_or_default()
}

/// A public key as a log line prints it: 64 hex digits, or base58.
fn decode_key(text: &str) -> [u8; 32] {
    let bytes = match hex::decode(text) {
        Ok(bytes) if text.len() == 64 => bytes,
        _ => bs58::decode(text)
            .into_vec()
            .unwrap_or_else(|e| panic!("{text:?} is neither hex nor base58: {e}")),
    };
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{text:?} is {} bytes, not a key", b.len()))
}

/// The public key in a Solana keypair file.
fn file_pubkey(path: &Path) -> [u8; 32] {
    let text = std::fs::read_to_string(path).expect("the identity file");
    let bytes: Vec<u8> = serde_json::from_str(&text).expect("a JSON array of bytes");
    assert_eq!(bytes.len(), 64, "a keypair");
    bytes[32..].try_into().expect("32 bytes")
}

/// `GET /metrics` from inside `netns`; the body.
fn scrape(netns: &Netns, addr: SocketAddr) -> String {
    netns
        .run(move || -> std::io::Result<String> {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            stream.write_all(
                b"GET /metrics HTTP/1.1\r\nHost: rampart\r\nConnection: close\r\n\r\n",
            )?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        })
        .expect("entering the namespace")
        .unwrap_or_else(|e| panic!("scraping {addr}: {e}"))
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .expect("an HTTP response")
}

/// The value of one metrics line (`name{labels}`), if present.
fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// `rampart stats --json`'s count for one verdict.
fn stat(pins: &Path, verdict: &str) -> u64 {
    let out = rampart_ok(
        pins,
        None,
        None,
        &["stats", "--json", "--metrics", "127.0.0.1:1"],
    );
    let json: serde_json::Value = serde_json::from_str(out.trim()).expect("stats --json is JSON");
    json[verdict].as_u64().expect("a count")
}

/// (XDP mode, program id) on the lab's receiving end, from `ip -j link`.
fn xdp_on(lab: &Lab) -> Option<(u64, u64)> {
    let out = lab
        .rx
        .ip(&["-j", "link", "show", "dev", &lab.rx_iface])
        .expect("ip link show");
    let json: serde_json::Value = serde_json::from_str(&out).expect("ip -j prints JSON");
    let xdp = json.get(0)?.get("xdp")?;
    let prog = xdp
        .get("prog")
        .and_then(|p| p.get("id"))
        .or_else(|| xdp.get("id"))?;
    Some((xdp.get("mode")?.as_u64()?, prog.as_u64()?))
}

/// Sends one signed transaction from `source` (inside `tx`) to the appliance
/// over QUIC, through the filter; returns its bytes.
fn send_transaction(
    runtime: &tokio::runtime::Runtime,
    tx: &Netns,
    source: IpAddr,
    server: SocketAddr,
    seed: u64,
) -> Vec<u8> {
    let bytes = generate(&TxSpec {
        count: 1,
        message_size: 300,
        invalid_fraction: 0.0,
        keys: KeyMode::Distinct,
        seed,
    })
    .expect("a transaction")
    .remove(0)
    .bytes;
    let handle = runtime.handle().clone();
    // The socket is made inside `tx`; the runtime drives it from anywhere.
    let endpoint = tx
        .run(move || {
            let _entered = handle.enter();
            bind(SocketAddr::new(source, 0), None)
        })
        .expect("entering tx")
        .expect("a client endpoint");
    let config = tpu_client_config(&Identity::from_seed([0x7c; 32])).expect("client TLS");
    let sent = bytes.clone();
    runtime.block_on(async move {
        let connecting = endpoint
            .connect_with(config, server, "solana-tpu")
            .expect("connecting");
        let connection = tokio::time::timeout(DEADLINE, connecting)
            .await
            .expect("handshake within the deadline")
            .expect("handshake");
        tokio::time::timeout(DEADLINE, TpuClient::send(&connection, &sent))
            .await
            .expect("sent within the deadline")
            .expect("sent");
        connection.close(0u32.into(), b"done");
        endpoint.close(0u32.into(), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    });
    bytes
}

/// Waits until the sink holds `bytes`; the sender identity it presented.
fn forwarded(sink: &TpuSink, bytes: &[u8]) -> [u8; 32] {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(received) = sink.received().into_iter().find(|r| r.bytes == bytes) {
            return received.sender.expect("the forwarder's certificate");
        }
        assert!(
            Instant::now() < deadline,
            "the transaction never reached the sink"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `count` QUIC-Initial-shaped datagrams from `source` to the protected
/// port: everything about them passes but the source, which a rule denies.
fn send_denied(tx: &Netns, source: IpAddr, to: SocketAddr, count: usize) {
    tx.run(move || {
        let socket = UdpSocket::bind(SocketAddr::new(source, 0)).expect("binding in tx");
        for _ in 0..count {
            socket
                .send_to(&quic_initial(1200, 8, 8), to)
                .expect("sending");
        }
    })
    .expect("entering tx");
}

#[test]
fn filter_survives_sigkill_of_run_and_a_restart_resumes_with_the_same_identity() {
    if skip_unless_root(
        "filter_survives_sigkill_of_run_and_a_restart_resumes_with_the_same_identity",
    ) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    // Dropped last to first: appliance, sink, pins (and link), lab, temp dir.
    let dir = TempDir::new("sigkill");
    let lab = Lab::create("sk").expect("creating the namespaces and veth pair");
    let pins = PinDir::new("sk");
    let rx_v4: IpAddr = lab.rx_v4.parse().expect("rx's address");
    let tx_v4: IpAddr = lab.tx_v4.parse().expect("tx's address");
    let denied: IpAddr = lab.tx_v4_extra[0].parse().expect("tx's extra address");
    let ingress = SocketAddr::new(rx_v4, PORT);

    // The validator: a TPU sink on rx's loopback.
    let handle = runtime.handle().clone();
    let sink = lab
        .rx
        .run(move || {
            let _entered = handle.enter();
            TpuSink::start(&Identity::from_seed([0x5e; 32]))
        })
        .expect("entering rx")
        .expect("the TPU sink");
    let sink_addr = sink.local_addr().expect("the sink's address");

    // The filter, natively on rx's veth end, with a rule denying one source.
    let port = PORT.to_string();
    let attach = [
        "filter",
        "attach",
        &lab.rx_iface,
        "--mode",
        "native",
        "--port",
        &port,
    ];
    rampart_ok(&pins.0, Some(lab.rx.name()), None, &attach);
    let deny = format!("{denied}/32");
    rampart_ok(&pins.0, None, None, &["rules", "add", "deny", &deny]);
    let program = xdp_on(&lab).expect("attached");

    let identity_file = dir.0.join("identity.json");
    let config = dir.0.join("rampart.toml");
    std::fs::write(
        &config,
        format!(
            "[ingress]\nlisten = \"{ingress}\"\nidentity = \"{}\"\n\n\
             [pipeline]\nverify_threads = 1\npin_verify_workers = false\n\n\
             [forward]\nmode = \"quic\"\ntarget = \"{sink_addr}\"\n\n\
             [metrics]\nlisten = \"127.0.0.1:0\"\nxdp_pin_dir = \"{}\"\n",
            identity_file.display(),
            pins.0.display()
        ),
    )
    .expect("writing the config");

    // First life: serving, through the filter.
    let mut first = Appliance::start(&pins.0, &lab.rx, &config);
    let before = first.started();
    assert_eq!(
        before.identity,
        file_pubkey(&identity_file),
        "the identity it logged is the file's"
    );
    let text = scrape(&lab.rx, before.metrics);
    assert!(text.contains("rampart_xdp_frame_judged_total"), "{text}");
    let bytes = send_transaction(&runtime, &lab.tx, tx_v4, ingress, 1);
    assert_eq!(
        forwarded(&sink, &bytes),
        before.identity,
        "forwarded under its identity"
    );

    // SIGKILL: no drain, no cleanup of any kind.
    first.kill9();

    // The filter is still attached (the same program), with its rule, and
    // still judging: frames from the denied source are dropped and counted.
    assert_eq!(
        xdp_on(&lab),
        Some(program),
        "the same program stays attached"
    );
    let list = rampart_ok(&pins.0, None, None, &["rules", "list"]);
    assert!(list.contains(&format!("deny      {deny}\n")), "{list}");
    let status = rampart_ok(&pins.0, Some(lab.rx.name()), None, &["filter", "status"]);
    assert!(
        status.contains(&format!("{}: native mode\n", lab.rx_iface)),
        "{status}"
    );
    let denied_before = stat(&pins.0, "drop_denied");
    send_denied(&lab.tx, denied, ingress, 10);
    let deadline = Instant::now() + DEADLINE;
    while stat(&pins.0, "drop_denied") < denied_before + 10 {
        assert!(
            Instant::now() < deadline,
            "the filter stopped counting denied frames"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let denied_after = stat(&pins.0, "drop_denied");
    assert_eq!(denied_after, denied_before + 10, "exactly the frames sent");

    // Second life: the same identity, serving again, the filter's counters
    // on its /metrics.
    let mut second = Appliance::start(&pins.0, &lab.rx, &config);
    let after = second.started();
    assert_eq!(
        after.identity, before.identity,
        "the same identity after SIGKILL"
    );
    assert_eq!(after.identity, file_pubkey(&identity_file));
    let text = scrape(&lab.rx, after.metrics);
    let series = "rampart_xdp_frame_judged_total{verdict=\"drop_denied\",port=\"8009\"}";
    assert_eq!(metric(&text, series), Some(denied_after), "{text}");
    let bytes = send_transaction(&runtime, &lab.tx, tx_v4, ingress, 2);
    assert_eq!(
        forwarded(&sink, &bytes),
        before.identity,
        "forwarded under the same identity"
    );
    assert_eq!(xdp_on(&lab), Some(program), "never re-attached");
    drop(second);
    runtime.block_on(sink.stop());
}
