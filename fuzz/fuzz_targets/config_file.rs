//! `config_file`: the appliance configuration (`rampart::appliance::Config`)
//! from arbitrary TOML text, parsed and validated, and then everything
//! `Appliance::start` builds from it without touching the network, disk or
//! threads: the QUIC server configuration, admission with a staked and an
//! unstaked peer and their transaction buckets, the dedup table, the
//! forwarder's connection pacer and in-flight semaphore, and both queues.
//!
//! - Never panics, and never asks for memory it cannot have (libFuzzer's
//!   malloc limit catches that): a configuration `Config::parse` accepts must
//!   start, or be refused by `validate` naming its key.
//! - A refusal names the file it was given.
#![no_main]

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use libfuzzer_sys::fuzz_target;
use rampart::{
    appliance::Config,
    fair::{fair_queue, FairLimits},
    ingress::{
        admission::{Admission, StakeTable, TxBucket},
        server::quinn_server_config,
    },
    packet::Packet,
    pipeline::{dedup::Dedup, pacing::ConnectPacer},
    quic::identity::Identity,
};

const STAKED: [u8; 32] = [7; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(text, "fuzz.toml") {
        Ok(config) => config,
        Err(error) => {
            assert_eq!(error.source_name, "fuzz.toml");
            assert!(!error.message.is_empty());
            return;
        }
    };

    let identity = Identity::from_seed([3; 32]);
    let _ = quinn_server_config(&config.ingress, &identity);

    let now = Instant::now();
    let stakes = Arc::new(StakeTable::new([(STAKED, 1_000_000), ([8; 32], 1)]));
    let mut admission = Admission::new(config.ingress.admission.clone(), stakes);
    let ip = IpAddr::from([192, 0, 2, 1]);
    for (i, identity) in [Some(STAKED), None, Some([8; 32]), Some(STAKED)]
        .into_iter()
        .enumerate()
    {
        let at = now + Duration::from_millis(i as u64);
        if let Ok(admitted) = admission.admit(ip, identity, at) {
            let ticket = admitted.ticket;
            if ticket.staked {
                let limits = &config.ingress.admission;
                assert!((limits.min_staked_streams..=limits.max_staked_streams)
                    .contains(&ticket.max_streams));
            }
            let mut bucket = TxBucket::new(ticket.tps, at);
            let _ = bucket.reserve(at);
            let _ = bucket.reserve(at + Duration::from_secs(1));
        }
    }

    let pipeline = &config.pipeline;
    let _dedup = Dedup::new(
        Duration::from_millis(pipeline.dedup_window_ms.max(1)),
        pipeline.dedup_capacity,
        (1, 2),
        now,
    );
    let mut pacer = ConnectPacer::new(
        config.forward.connections_per_minute,
        Duration::from_secs(60),
    );
    let _ = pacer.try_attempt(now);
    let _permits = tokio::sync::Semaphore::new(config.forward.max_in_flight.max(1));
    let _forward_queue = tokio::sync::mpsc::channel::<Vec<u8>>(config.forward.queue.max(1));
    let _ingress_queue = fair_queue::<u8, Packet>(FairLimits {
        capacity: pipeline.queue.max(1),
        unstaked_floor: pipeline.unstaked_floor,
    });
    let _ = pipeline.backend();
});
