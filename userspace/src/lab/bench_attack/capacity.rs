//! The appliance's verify capacity, to state a flood as a multiple of it:
//! the raw rate at which the same number of verify workers, with the same
//! backend (`--engine`), judge the flood's own invalid transactions, fed as
//! the appliance feeds them (pre-parsed batches of 64, as in `rampart bench
//! pipeline`). Measured in this process before the appliance starts, so
//! nothing else competes for the cores.

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

/// Transactions per second `threads` workers on `engine` judge of `txs`
/// over `window` (after a 200 ms warm-up).
///
/// # Errors
/// A backend or the pool cannot start.
pub(super) fn verify_capacity(
    txs: &[Vec<u8>],
    engine: EngineChoice,
    threads: usize,
    window: Duration,
) -> anyhow::Result<f64> {
    let threads = threads.max(1);
    let spec = PipelineConfig {
        engine,
        ..PipelineConfig::default()
    }
    .backend();
    let backends = (0..threads)
        .map(|_| make_backend(&spec))
        .collect::<Result<Vec<_>, _>>()?;
    let pool = VerifyPool::<ParsedTx>::start_pinned(backends, 2, &verify_cores(threads))?;
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut idle: Vec<Option<Vec<ParsedTx>>> = txs
        .chunks(64)
        .map(|chunk| {
            Some(
                chunk
                    .iter()
                    .filter_map(|bytes| {
                        let packet = Packet {
                            bytes: bytes.clone(),
                            received: Instant::now(),
                            peer,
                        };
                        ParsedTx::parse(packet, |_| 0).ok()
                    })
                    .collect(),
            )
        })
        .collect();
    let mut rate = 0.0;
    for slice in [Duration::from_millis(200), window] {
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
                    rule: Rule::Strict,
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
