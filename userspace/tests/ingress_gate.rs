//! Admission before cryptography, over real QUIC on loopback: a flood of
//! genuine Initials that never complete (each a real client's first packet,
//! made with quinn-proto and sent from a bare socket that never answers) is
//! held to the handshake budget with stateless Retries, and an honest client
//! from the same address still connects and delivers. And budgets slow a
//! peer through stream credit rather than dropping what it sent.

use std::{
    net::{SocketAddr, UdpSocket},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use rampart::{
    fair::{fair_queue, FairLimits, FairReceiver},
    ingress::{
        admission::{AdmissionLimits, PeerKey, StakeTable},
        gate::GateLimits,
        server::{Ingress, IngressConfig},
    },
    lab::loadgen::tpu::TpuClient,
    metrics::Counters,
    packet::Packet,
    quic::{endpoint::tpu_client_config, identity::Identity},
};

struct Server {
    ingress: Ingress,
    addr: SocketAddr,
    counters: Arc<Counters>,
    packets: FairReceiver<PeerKey, Packet>,
}

fn start(handshakes: GateLimits) -> Server {
    start_with(
        handshakes,
        AdmissionLimits {
            max_new_connections_per_ip_per_minute: 1000,
            ..AdmissionLimits::default()
        },
        16,
    )
}

fn start_with(handshakes: GateLimits, admission: AdmissionLimits, queue: usize) -> Server {
    let config = IngressConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admission,
        handshakes,
        ..IngressConfig::default()
    };
    let (out, packets) = fair_queue(FairLimits {
        capacity: queue,
        unstaked_floor: 0.2,
    });
    let counters = Arc::new(Counters::default());
    let ingress = Ingress::start(
        config,
        &Identity::from_seed([0x05; 32]),
        Arc::new(RwLock::new(Arc::new(StakeTable::default()))),
        out,
        counters.clone(),
    )
    .expect("ingress");
    let addr = ingress.local_addr().expect("address");
    Server {
        ingress,
        addr,
        counters,
        packets,
    }
}

/// Sends `count` genuine client Initials (each a new connection) to
/// `server` from one bare socket that never answers.
fn initial_flood(server: SocketAddr, count: usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("flood socket");
    let config = tpu_client_config(&Identity::from_seed([0x66; 32])).expect("client config");
    let mut endpoint = quinn_proto::Endpoint::new(
        Arc::new(quinn_proto::EndpointConfig::default()),
        None,
        false,
        None,
    );
    let mut buf = Vec::with_capacity(1500);
    for _ in 0..count {
        let (_, mut connection) = endpoint
            .connect(Instant::now(), config.clone(), server, "solana-tpu")
            .expect("a client connection");
        buf.clear();
        let transmit = connection
            .poll_transmit(Instant::now(), 1, &mut buf)
            .expect("an Initial to send");
        socket
            .send_to(&buf[..transmit.size], server)
            .expect("send Initial");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn wait_for(counters: &Counters, what: &str, done: impl Fn(&Counters) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(counters) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One valid transaction from the client, through the server.
async fn deliver(server: &Server) {
    let client = TpuClient::new(&Identity::from_seed([0x77; 32])).expect("client");
    let connection = client
        .connect(server.addr)
        .await
        .expect("the honest client connects");
    let tx = rampart_txgen::generate(&rampart_txgen::TxSpec {
        count: 1,
        message_size: 200,
        invalid_fraction: 0.0,
        keys: rampart_txgen::KeyMode::Distinct,
        seed: 1,
    })
    .expect("a transaction")
    .remove(0)
    .bytes;
    TpuClient::send(&connection, &tx).await.expect("delivered");
    server
        .packets
        .doorbell()
        .recv_timeout(Duration::from_secs(5))
        .expect("the transaction reaches the pipeline");
    let got = server.packets.take(1);
    assert_eq!(got.first().map(|p| &p.bytes), Some(&tx));
    client.close().await;
}

#[test]
fn a_flood_of_initials_is_held_to_the_handshake_budget_and_honest_clients_still_connect() {
    let runtime = runtime();
    let server = {
        let _guard = runtime.enter();
        start(GateLimits {
            max_handshakes: 64,
            retry_above: 8,
            per_source_per_minute: 100_000,
            handshake_timeout_ms: 3000,
            ..GateLimits::default()
        })
    };
    initial_flood(server.addr, 300);
    runtime.block_on(async {
        wait_for(&server.counters, "the flood judged", |c| {
            c.handshakes_retried.get() + c.handshakes_in_flight.get() >= 300
        })
        .await;
    });
    let c = &server.counters;
    assert!(
        c.handshakes_in_flight.get() <= 8,
        "handshakes in flight {} past retry_above",
        c.handshakes_in_flight.get()
    );
    assert!(
        c.handshakes_retried.get() >= 292,
        "{}",
        c.handshakes_retried.get()
    );
    // The honest client is sent a Retry too, answers it, and is served.
    runtime.block_on(deliver(&server));
    assert!(
        c.handshakes_retried.get() >= 293,
        "the honest client was retried"
    );
    assert_eq!(c.connections_accepted.get(), 1);
    // The abandoned handshakes end at their deadline, each counted.
    runtime.block_on(async {
        wait_for(c, "abandoned handshakes to time out", |c| {
            c.handshakes_in_flight.get() == 0
        })
        .await;
    });
    assert_eq!(c.handshakes_failed.get(), 8);
    runtime.block_on(server.ingress.shutdown());
}

#[test]
fn a_flood_in_an_honest_address_s_name_costs_that_address_one_round_trip() {
    let runtime = runtime();
    let server = {
        let _guard = runtime.enter();
        start(GateLimits {
            max_handshakes: 1024,
            retry_above: 1000,
            per_source_per_minute: 8,
            handshake_timeout_ms: 3000,
            ..GateLimits::default()
        })
    };
    // 127.0.0.1 spends its unvalidated budget on Initials that go nowhere,
    // as a spoofer using that address would.
    initial_flood(server.addr, 50);
    runtime.block_on(async {
        wait_for(&server.counters, "the flood judged", |c| {
            c.handshakes_retried.get() + c.handshakes_failed.get() + c.handshakes_in_flight.get()
                >= 50
        })
        .await;
    });
    let c = &server.counters;
    assert_eq!(
        c.handshakes_retried.get(),
        42,
        "8 started, the rest retried"
    );
    // The address's owner proves it and has its own, validated budget.
    runtime.block_on(deliver(&server));
    assert_eq!(c.connections_accepted.get(), 1);
    assert_eq!(
        c.handshakes_refused.iter().map(|r| r.get()).sum::<u64>(),
        0,
        "nobody refused"
    );
    runtime.block_on(server.ingress.shutdown());
}

#[test]
fn an_unstaked_burst_beyond_its_budget_is_slowed_not_dropped() {
    const BURST: usize = 2000;
    let runtime = runtime();
    let server = {
        let _guard = runtime.enter();
        start_with(
            GateLimits::default(),
            AdmissionLimits {
                unstaked_tps_per_ip: 1000,
                ..AdmissionLimits::default()
            },
            // Nothing takes from the queue until the end, and one source
            // holds at most half of it.
            2 * BURST,
        )
    };
    let txs: Vec<Vec<u8>> = rampart_txgen::generate(&rampart_txgen::TxSpec {
        count: BURST,
        message_size: 200,
        invalid_fraction: 0.0,
        keys: rampart_txgen::KeyMode::Shared(4),
        seed: 9,
    })
    .expect("transactions")
    .into_iter()
    .map(|tx| tx.bytes)
    .collect();
    let started = Instant::now();
    runtime.block_on(async {
        let client = TpuClient::new(&Identity::from_seed([0x78; 32])).expect("client");
        let connection = client.connect(server.addr).await.expect("connects");
        // As fast as stream credit allows: every stream opened at once, each
        // waiting for credit as Agave's client does.
        let sends: Vec<_> = txs
            .iter()
            .cloned()
            .map(|tx| {
                let connection = connection.clone();
                tokio::spawn(async move { TpuClient::send(&connection, &tx).await })
            })
            .collect();
        for send in sends {
            send.await.expect("task").expect("every stream delivered");
        }
        // Acknowledged is not yet read: up to a stream window's worth waits in
        // the server's buffers for its budget. A live client (Agave's keeps
        // its connections) loses none of it.
        wait_for(&server.counters, "the whole burst read", |c| {
            c.entered.get() >= BURST as u64
        })
        .await;
        client.close().await;
    });
    let elapsed = started.elapsed();
    let mut received = 0;
    received += server.packets.take(usize::MAX).len();
    let c = &server.counters;
    assert_eq!(
        received,
        BURST,
        "the whole burst, nothing read and dropped: entered {} unfinished {} shed {} empty {} oversize {}",
        c.entered.get(),
        c.unfinished.get(),
        c.shed_ingress.get(),
        c.empty.get(),
        c.oversize.get()
    );
    assert_eq!(c.entered.get(), BURST as u64);
    assert!(c.budget_waits.get() > 0, "the client was slowed");
    eprintln!(
        "burst of {BURST} at a budget of 1,000 tx/s: {:.2} s, {} budget waits",
        elapsed.as_secs_f64(),
        c.budget_waits.get()
    );
    runtime.block_on(server.ingress.shutdown());
}

/// Valid transactions from `seed`, one key per four.
fn transactions(count: usize, seed: u64) -> Vec<Vec<u8>> {
    rampart_txgen::generate(&rampart_txgen::TxSpec {
        count,
        message_size: 200,
        invalid_fraction: 0.0,
        keys: rampart_txgen::KeyMode::Shared(4),
        seed,
    })
    .expect("transactions")
    .into_iter()
    .map(|tx| tx.bytes)
    .collect()
}

#[test]
fn a_full_pipeline_queue_slows_its_source_instead_of_shedding() {
    const SENT: usize = 300;
    let runtime = runtime();
    // A queue of 8 in front of a batch stage taking 1 transaction every 2 ms:
    // the sender outruns it 10 to 1 for most of the run.
    let server = {
        let _guard = runtime.enter();
        start_with(
            GateLimits::default(),
            AdmissionLimits {
                unstaked_tps_per_ip: 100_000,
                ..AdmissionLimits::default()
            },
            8,
        )
    };
    let txs = transactions(SENT, 21);
    let Server {
        ingress,
        addr,
        counters,
        packets,
    } = server;
    let consumer = std::thread::spawn(move || {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < SENT && Instant::now() < deadline {
            got.extend(packets.take(1).into_iter().map(|p| p.bytes));
            std::thread::sleep(Duration::from_millis(2));
        }
        got
    });
    runtime.block_on(async {
        let client = TpuClient::new(&Identity::from_seed([0x79; 32])).expect("client");
        let connection = client.connect(addr).await.expect("connects");
        let sends: Vec<_> = txs
            .iter()
            .cloned()
            .map(|tx| {
                let connection = connection.clone();
                tokio::spawn(async move { TpuClient::send(&connection, &tx).await })
            })
            .collect();
        for send in sends {
            send.await.expect("task").expect("every stream delivered");
        }
        wait_for(&counters, "every stream read", |c| {
            c.entered.get() >= SENT as u64
        })
        .await;
    });
    let got = consumer.join().expect("consumer");
    assert_eq!(
        (
            got.len(),
            counters.shed_ingress.get(),
            counters.shed_heaviest.get()
        ),
        (SENT, 0, 0),
        "everything arrived, nothing shed"
    );
    assert!(counters.queue_waits.get() > 0, "the sender waited for room");
    let mut sent = txs.clone();
    sent.sort();
    let mut got = got;
    got.sort();
    assert_eq!(got, sent);
    runtime.block_on(ingress.shutdown());
}

#[test]
fn a_client_cannot_buffer_more_than_one_transaction_per_stream() {
    let runtime = runtime();
    // A budget of one transaction a second: after the first, the server does
    // not take the client's next stream for a second.
    let server = {
        let _guard = runtime.enter();
        start_with(
            GateLimits::default(),
            AdmissionLimits {
                unstaked_tps_per_ip: 1,
                ..AdmissionLimits::default()
            },
            16,
        )
    };
    let written = runtime.block_on(async {
        let client = TpuClient::new(&Identity::from_seed([0x7a; 32])).expect("client");
        let connection = client.connect(server.addr).await.expect("connects");
        // The one transaction the budget allows now.
        let tx = transactions(1, 22).remove(0);
        TpuClient::send(&connection, &tx).await.expect("delivered");
        // The next stream is not taken for a second; offer it a megabyte
        // for half of that.
        let mut stream = connection.open_uni().await.expect("stream credit");
        let chunk = vec![0u8; 1 << 20];
        let mut total = 0usize;
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while total < chunk.len() {
                match stream.write(&chunk[total..]).await {
                    Ok(n) => total += n,
                    Err(_) => break,
                }
            }
        })
        .await;
        client.close().await;
        total
    });
    // quinn's default would have taken 1.25 MB into the stream's window.
    assert!(
        written <= 4096,
        "a stream took {written} bytes before the server read it (window: one 4096-byte transaction)"
    );
    runtime.block_on(server.ingress.shutdown());
}
