//! The health monitor: a small thread that judges the counters once a tick
//! ([`HealthJudge`]), publishes the judgement for `/health` and `/ready`,
//! logs each change, and feeds the systemd watchdog only while the appliance
//! is live. It only moves data; the judgement is pure.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use super::systemd::Notifier;
use crate::metrics::{
    health::{Health, HealthJudge, HealthState, Progress},
    Counters,
};

/// The running monitor.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts judging `counters` over `window`, publishing into `state`, and
    /// notifying systemd through `notifier` (`READY=1` now, then `WATCHDOG=1`
    /// while live, at half the watchdog interval).
    ///
    /// # Errors
    /// The thread cannot start.
    pub fn start(
        counters: Arc<Counters>,
        state: HealthState,
        window: Duration,
        notifier: Option<Notifier>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let tick = notifier
            .as_ref()
            .and_then(Notifier::watchdog)
            .map_or(Duration::from_secs(1), |interval| {
                (interval / 2).min(Duration::from_secs(1))
            })
            .max(Duration::from_millis(10));
        let thread = std::thread::Builder::new()
            .name("rampart-health".into())
            .spawn(move || {
                if let Some(notifier) = &notifier {
                    notify(notifier, "READY=1\nSTATUS=serving");
                }
                let mut judge = HealthJudge::new(window);
                let mut last = Health::Ready;
                while !stop_flag.load(Ordering::Relaxed) {
                    let health = judge.observe(Instant::now(), Progress::read(&counters));
                    // Published before it is announced, so whoever hears of
                    // a change finds it on /health.
                    state.set(health.clone());
                    if health != last {
                        report_change(&health, notifier.as_ref());
                        last = health.clone();
                    }
                    let live = health.is_live();
                    if let (true, Some(notifier)) = (live, &notifier) {
                        if notifier.watchdog().is_some() {
                            notify(notifier, "WATCHDOG=1");
                        }
                    }
                    std::thread::sleep(tick);
                }
                if let Some(notifier) = &notifier {
                    notify(notifier, "STOPPING=1");
                }
            })?;
        Ok(Monitor {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the monitor (systemd is told `STOPPING=1`).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn report_change(health: &Health, notifier: Option<&Notifier>) {
    let line = health.describe();
    match health {
        Health::Ready => tracing::info!(health = %line, "health recovered"),
        Health::NotReady(_) => tracing::warn!(health = %line, "not ready"),
        Health::Stalled(_) => {
            tracing::error!(health = %line, "a stage is stuck; the watchdog is no longer fed")
        }
    }
    if let Some(notifier) = notifier {
        notify(notifier, &format!("STATUS={line}"));
    }
}

fn notify(notifier: &Notifier, message: &str) {
    if let Err(error) = notifier.send(message) {
        tracing::warn!(%error, message, "systemd notification failed");
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;

    use super::*;

    /// Receives notifications until `until` matches one, or none comes for a
    /// while; returns what came.
    fn receive_until(socket: &UnixDatagram, until: impl Fn(&str) -> bool) -> Vec<String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = until(&message);
            got.push(message);
            if done {
                break;
            }
        }
        got
    }

    #[test]
    fn the_watchdog_is_fed_while_live_and_starved_while_a_stage_is_stuck() {
        let dir = std::env::temp_dir().join(format!("rampart-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let notifier = Notifier::to_path(path.clone(), Some(Duration::from_millis(100))).unwrap();
        let counters = Arc::new(Counters::default());
        let state = HealthState::default();
        let window = Duration::from_millis(300);
        let monitor =
            Monitor::start(counters.clone(), state.clone(), window, Some(notifier)).unwrap();

        let start = receive_until(&socket, |m| m == "WATCHDOG=1");
        assert_eq!(
            start.first().map(String::as_str),
            Some("READY=1\nSTATUS=serving")
        );

        // Transactions keep entering; no stage judges any.
        let stuck = std::thread::spawn({
            let counters = counters.clone();
            move || {
                for _ in 0..40 {
                    counters.entered.add(5);
                    std::thread::sleep(Duration::from_millis(25));
                }
            }
        });
        let until_stalled = receive_until(&socket, |m| m.starts_with("STATUS=stalled"));
        assert!(
            until_stalled
                .last()
                .is_some_and(|m| m.contains("no stage judged")),
            "{until_stalled:?}"
        );
        assert!(!state.get().is_live());
        // While stalled: no pings (the window of 300 ms ends 0.7 s into the
        // 1 s of entering above, so several ticks fall in between).
        socket
            .set_read_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        let while_stalled = receive_until(&socket, |_| false);
        assert!(
            while_stalled.iter().all(|m| m != "WATCHDOG=1"),
            "fed while stalled: {while_stalled:?}"
        );
        stuck.join().unwrap();

        // The stage recovers: transactions are judged again.
        counters.forwarded.add(5);
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let recovered = receive_until(&socket, |m| m == "WATCHDOG=1");
        assert!(recovered.iter().any(|m| m == "STATUS=ok"), "{recovered:?}");
        assert!(state.get().is_live());

        monitor.stop();
        let stopping = receive_until(&socket, |m| m == "STOPPING=1");
        assert_eq!(stopping.last().map(String::as_str), Some("STOPPING=1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
