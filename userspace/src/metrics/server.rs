//! The HTTP endpoint: `GET /metrics` (Prometheus text), `GET /health`
//! (liveness: 503 when a stage is stuck) and `GET /ready` (503 also when the
//! forwarder delivers nothing), on a thread of its own.
//!
//! Every connection is its own task on that thread's runtime, with a deadline
//! for the request and the answer, so an idle or slow client costs one task
//! and holds up no other scrape. Connections beyond [`MAX_CONNECTIONS`] are
//! closed at once.

use std::{net::SocketAddr, sync::Arc, thread::JoinHandle, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{Notify, Semaphore},
};

use super::{health::HealthState, Exposition};

/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 64;

/// Longest a client may take to send its request, and to take the answer.
const DEADLINE: Duration = Duration::from_secs(2);

/// Largest request head read.
const MAX_REQUEST: usize = 4096;

/// The running endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<Notify>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and serves `exposition` and `health`.
    ///
    /// # Errors
    /// The address cannot be bound or the thread cannot start.
    pub fn start(
        addr: SocketAddr,
        exposition: Exposition,
        health: HealthState,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rampart-metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!(%error, "metrics endpoint cannot listen");
                            return;
                        }
                    };
                    let site = Arc::new(Site { exposition, health });
                    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
                    loop {
                        tokio::select! {
                            _ = stopped.notified() => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let Ok(slot) = slots.clone().try_acquire_owned() else {
                                    continue; // full: dropping the stream closes it
                                };
                                let site = site.clone();
                                tokio::spawn(async move {
                                    let _slot = slot;
                                    let _ = tokio::time::timeout(DEADLINE * 2, site.serve(stream)).await;
                                });
                            }
                        }
                    }
                });
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub fn stop(mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the endpoint shows.
struct Site {
    exposition: Exposition,
    health: HealthState,
}

impl Site {
    /// Reads one request head (within the deadline) and answers it.
    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut head = Vec::with_capacity(512);
        let read = tokio::time::timeout(DEADLINE, async {
            let mut buf = [0u8; 512];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        if !matches!(read, Ok(Ok(()))) {
            return Ok(());
        }
        let (status, body) = self.answer(request_path(&head));
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tokio::time::timeout(DEADLINE, stream.write_all(response.as_bytes()))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        stream.shutdown().await
    }

    fn answer(&self, path: Option<&str>) -> (&'static str, String) {
        match path {
            Some("/metrics") | Some("/") => ("200 OK", self.exposition.text()),
            Some("/health") => {
                let health = self.health.get();
                (status(health.is_live()), health.describe() + "\n")
            }
            Some("/ready") => {
                let health = self.health.get();
                (status(health.is_ready()), health.describe() + "\n")
            }
            Some(_) => ("404 Not Found", "try /metrics, /health or /ready\n".into()),
            None => ("400 Bad Request", "GET requests only\n".into()),
        }
    }
}

fn status(good: bool) -> &'static str {
    if good {
        "200 OK"
    } else {
        "503 Service Unavailable"
    }
}

/// The path of a `GET` request head, without its query.
fn request_path(head: &[u8]) -> Option<&str> {
    let line = head.split(|b| *b == b'\r' || *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    if parts.next()? != "GET" {
        return None;
    }
    let target = parts.next()?;
    Some(target.split('?').next().unwrap_or(target))
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        net::TcpStream,
        time::Instant,
    };

    use super::*;
    use crate::metrics::{health::Health, Counters};

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn idle_clients_hold_up_no_scrape() {
        let counters = Arc::new(Counters::default());
        counters.forwarded.add(7);
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Exposition::new(counters, None),
            HealthState::default(),
        )
        .unwrap();
        let addr = server.local_addr();
        // Idle clients: connected, never a byte; one with half a request.
        let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET /metr").unwrap();
        let started = Instant::now();
        let scrapers: Vec<_> = (0..6)
            .map(|_| std::thread::spawn(move || get(addr, "/metrics")))
            .collect();
        for scraper in scrapers {
            let answer = scraper.join().unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
            assert!(answer.contains("rampart_forward_transaction_forwarded_total 7"));
        }
        // Served while the idle ones still wait, not after their deadline.
        assert!(
            started.elapsed() < DEADLINE,
            "scrapes waited for idle clients: {:?}",
            started.elapsed()
        );
        drop((idle, half));
        server.stop();
    }

    #[test]
    fn health_and_readiness_answer_from_the_latest_judgement() {
        let health = HealthState::default();
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Exposition::new(Arc::new(Counters::default()), None),
            health.clone(),
        )
        .unwrap();
        let addr = server.local_addr();
        assert!(get(addr, "/health").starts_with("HTTP/1.1 200 OK"));
        assert!(get(addr, "/ready").starts_with("HTTP/1.1 200 OK"));
        health.set(Health::NotReady("validator down".into()));
        assert!(get(addr, "/health").starts_with("HTTP/1.1 200 OK"));
        let ready = get(addr, "/ready");
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains("not ready: validator down"));
        health.set(Health::Stalled("verify stuck".into()));
        let live = get(addr, "/health");
        assert!(live.starts_with("HTTP/1.1 503") && live.contains("stalled: verify stuck"));
        assert!(get(addr, "/nope").starts_with("HTTP/1.1 404"));
        server.stop();
    }
}
