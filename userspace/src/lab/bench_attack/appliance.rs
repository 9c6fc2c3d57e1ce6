//! The appliance under test: `rampart run` as a child process, so that its
//! memory high-water mark and CPU time are its own (`/proc/<pid>`), not the
//! load generators'. Killed and reaped on drop, whatever happened.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use rampart_sigverify::backend::EngineChoice;

use super::scrape::Scrape;

/// Lines of the child's output kept for error messages.
const KEPT_LINES: usize = 40;

/// How the child is configured.
pub(super) struct ChildSettings {
    /// The sink standing in for the validator.
    pub forward: SocketAddr,
    /// Stake per identity (lamports).
    pub stakes: Vec<([u8; 32], u64)>,
    /// `pipeline.engine`.
    pub engine: EngineChoice,
    /// `pipeline.verify_threads`; none: the appliance's default (every core but one).
    pub verify_threads: Option<usize>,
}

/// What the child has printed, and whether it announced itself.
#[derive(Default)]
struct Output {
    last: VecDeque<String>,
    running: Option<String>,
    panics: u64,
}

/// A running `rampart run`.
pub(super) struct ApplianceUnderTest {
    child: Child,
    output: Arc<Mutex<Output>>,
    dir: PathBuf,
    /// Its QUIC ingress.
    pub ingress: SocketAddr,
    /// Its metrics endpoint.
    pub metrics: SocketAddr,
}

/// CPU time and peak memory of a process.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Usage {
    /// User plus system CPU seconds so far.
    pub cpu_seconds: f64,
    /// VmHWM: the resident set's high-water mark, bytes.
    pub memory_high_water_bytes: u64,
}

impl ApplianceUnderTest {
    /// Writes a configuration and a stake file to a fresh directory, starts
    /// `rampart run` on them, and waits until it serves `/metrics`.
    ///
    /// # Errors
    /// The files, the spawn, or the child not coming up within 20 s.
    pub(super) fn start(settings: &ChildSettings) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "rampart-bench-attack-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = dir.join("rampart.toml");
        let stakes = dir.join("stakes.json");
        let stake_json: serde_json::Map<String, serde_json::Value> = settings
            .stakes
            .iter()
            .map(|(key, lamports)| (bs58::encode(key).into_string(), (*lamports).into()))
            .collect();
        std::fs::write(&stakes, serde_json::to_string(&stake_json)?)?;
        let threads = settings
            .verify_threads
            .map(|n| format!("verify_threads = {n}\n"))
            .unwrap_or_default();
        std::fs::write(
            &config,
            format!(
                "[ingress]\nlisten = \"127.0.0.1:0\"\nidentity = \"{}\"\nstake_file = \"{}\"\n\n\
                 [pipeline]\nengine = \"{}\"\n{threads}\n\
                 [forward]\nmode = \"quic\"\ntarget = \"{}\"\n\n\
                 [metrics]\nlisten = \"127.0.0.1:0\"\nxdp_pin_dir = \"{}\"\n",
                dir.join("identity.json").display(),
                stakes.display(),
                settings.engine.label(),
                settings.forward,
                dir.join("no-xdp").display(),
            ),
        )?;
        let exe = std::env::current_exe().context("the rampart binary")?;
        let spawned = Command::new(exe)
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e).context("spawning rampart run");
            }
        };
        let output = Arc::new(Mutex::new(Output::default()));
        if let Some(stdout) = child.stdout.take() {
            collect(stdout, output.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            collect(stderr, output.clone());
        }
        let mut under_test = ApplianceUnderTest {
            child,
            output,
            dir,
            ingress: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        under_test.wait_running()?;
        Ok(under_test)
    }

    /// Waits for the "rampart running" line and a first scrape.
    fn wait_running(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let line = self.output.lock().ok().and_then(|o| o.running.clone());
            if let Some(line) = line {
                self.ingress = field(&line, "ingress=")?.parse()?;
                self.metrics = field(&line, "metrics=Some(")?
                    .trim_end_matches(')')
                    .parse()?;
                break;
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "rampart run exited ({status}) before serving:\n{}",
                    self.tail()
                );
            }
            if Instant::now() > deadline {
                bail!("rampart run not serving after 20 s:\n{}", self.tail());
            }
            thread::sleep(Duration::from_millis(20));
        }
        while self.scrape().is_err() {
            if Instant::now() > deadline {
                bail!("rampart run's /metrics never answered:\n{}", self.tail());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The last lines the child printed.
    pub(super) fn tail(&self) -> String {
        self.output
            .lock()
            .map(|o| o.last.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Lines with "panicked" the child printed.
    pub(super) fn panics(&self) -> u64 {
        self.output.lock().map(|o| o.panics).unwrap_or(0)
    }

    /// `GET /metrics`, parsed.
    ///
    /// # Errors
    /// The endpoint does not answer with 200 within 2 s.
    pub(super) fn scrape(&self) -> anyhow::Result<Scrape> {
        let mut stream = TcpStream::connect_timeout(&self.metrics, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: rampart\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            bail!("no HTTP answer from {}", self.metrics);
        };
        if !head.starts_with("HTTP/1.1 200") {
            bail!("/metrics answered {:?}", head.lines().next());
        }
        Ok(Scrape::parse(body))
    }

    /// The child's CPU time and memory high-water mark so far.
    ///
    /// # Errors
    /// `/proc` unreadable (the child is gone).
    pub(super) fn usage(&self) -> anyhow::Result<Usage> {
        let pid = self.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command name, which may hold spaces: state is
        // field 3, utime 14 and stime 15 (proc(5)).
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // Safety: sysconf only reads a system constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let hwm_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Ok(Usage {
            cpu_seconds: (ticks(11) + ticks(12)) as f64 / per_second,
            memory_high_water_bytes: hwm_kib * 1024,
        })
    }
}

impl Drop for ApplianceUnderTest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keeps the last lines of `stream`, and the announcement line.
fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<Output>>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let line = strip_ansi(&line);
            let Ok(mut output) = into.lock() else { return };
            if line.contains("rampart running") {
                output.running = Some(line.clone());
            }
            if line.contains("panicked") {
                output.panics += 1;
            }
            output.last.push_back(line);
            if output.last.len() > KEPT_LINES {
                output.last.pop_front();
            }
        }
    });
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
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
fn field<'a>(line: &'a str, key: &str) -> anyhow::Result<&'a str> {
    let start = line
        .find(key)
        .with_context(|| format!("no {key} in {line:?}"))?
        + key.len();
    Ok(line[start..].split(' ').next().unwrap_or_default())
}
