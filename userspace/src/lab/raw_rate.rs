//! The raw verify rate: verify workers alone, with the appliance's own
//! backends, pinning and pre-parsed jobs and no copies (each job's
//! transactions come back with its verdicts and go out again).
//! `rampart bench pipeline` compares the whole appliance with it, and
//! `rampart bench attack` states a flood as a multiple of it.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use rampart_sigverify::{
    backend::EngineChoice,
    pool::{Job, VerifyPool},
    Rule,
};

use crate::{
    appliance::{backend::make_backend, verify_cores, PipelineConfig},
    lab::pool_driver::drive,
    packet::{Packet, ParsedTx},
};

/// The workers whose raw rate is measured, set up as the appliance sets
/// its own up.
#[derive(Debug, Clone, Copy)]
pub struct RawWorkers {
    /// The CPU backend's path.
    pub engine: EngineChoice,
    /// The signature rule.
    pub rule: Rule,
    /// Verify worker threads.
    pub threads: usize,
    /// Pin them to the last cores, as the appliance does by default.
    pub pin: bool,
}

/// Transactions per second `workers` judge of `txs` over `window`, after an
/// uncounted 300 ms warm-up (as every contender of `bench sigverify` gets).
///
/// # Errors
/// A backend or the pool cannot start, or the workers stop.
pub fn raw_verify_rate(
    txs: &[Vec<u8>],
    workers: &RawWorkers,
    window: Duration,
) -> anyhow::Result<f64> {
    let threads = workers.threads.max(1);
    let spec = PipelineConfig {
        engine: workers.engine,
        rule: workers.rule,
        ..PipelineConfig::default()
    }
    .backend();
    let backends = (0..threads)
        .map(|_| make_backend(&spec))
        .collect::<Result<Vec<_>, _>>()?;
    let cores = if workers.pin {
        verify_cores(threads)
    } else {
        Vec::new()
    };
    let pool = VerifyPool::<ParsedTx>::start_pinned(backends, 2, &cores)?;
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut idle: Vec<Option<Vec<ParsedTx>>> = txs
        .chunks(64)
        .map(|chunk| {
            let parsed = chunk
                .iter()
                .filter_map(|bytes| {
                    let packet = Packet {
                        bytes: bytes.clone(),
                        received: Instant::now(),
                        peer,
                    };
                    ParsedTx::parse(packet, |_| 0).ok()
                })
                .collect();
            Some(parsed)
        })
        .collect();
    let mut rate = 0.0;
    for slice in [Duration::from_millis(300), window] {
        let started = Instant::now();
        let (mut next, mut done, mut last) = (0usize, 0u64, started);
        drive(
            &pool,
            &mut idle,
            |idle| {
                if started.elapsed() >= slice || idle.is_empty() {
                    return None;
                }
                let index = next % idle.len();
                let transactions = idle[index].take()?;
                next += 1;
                Some(Job {
                    id: index as u64,
                    rule: workers.rule,
                    transactions,
                })
            },
            |idle, finished| {
                if started.elapsed() <= slice {
                    done += finished.verdicts.len() as u64;
                    last = Instant::now();
                }
                idle[finished.id as usize] = Some(finished.transactions);
            },
        )?;
        rate = done as f64 / last.duration_since(started).as_secs_f64().max(1e-6);
    }
    let _ = pool.shutdown();
    Ok(rate)
}
