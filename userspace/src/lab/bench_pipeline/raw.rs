//! The raw verify rate: the appliance's verify workers alone, fed as the
//! appliance feeds them.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use rampart_sigverify::pool::{Job, VerifyPool};

use super::BenchPipelineArgs;
use crate::{
    appliance::{backend::make_backend, verify_cores, PipelineConfig},
    lab::pool_driver::drive,
    packet::{Packet, ParsedTx},
};

/// Transactions per second the verify workers alone judge, with the
/// appliance's own backends, pinning, pre-parsed jobs and no copies: each
/// job's transactions come back with its verdicts and go out again.
pub(super) fn raw_verify_rate(
    txs: &[Vec<u8>],
    args: &BenchPipelineArgs,
    window: Duration,
) -> anyhow::Result<f64> {
    let threads = args.verify_threads.max(1);
    let spec = PipelineConfig {
        engine: args.engine,
        rule: args.rule,
        ..PipelineConfig::default()
    }
    .backend();
    let backends = (0..threads)
        .map(|_| make_backend(&spec))
        .collect::<Result<Vec<_>, _>>()?;
    let cores = if args.no_pin {
        Vec::new()
    } else {
        verify_cores(threads)
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
    // A warm-up slice, not counted, as every contender of `bench sigverify` gets.
    for measured in [false, true] {
        let slice = if measured {
            window
        } else {
            Duration::from_millis(300)
        };
        let started = Instant::now();
        let (mut next, mut done, mut last) = (0usize, 0u64, started);
        drive(
            &pool,
            &mut idle,
            |idle| {
                if started.elapsed() >= slice {
                    return None;
                }
                let index = next % idle.len();
                let transactions = idle[index].take()?;
                next += 1;
                Some(Job {
                    id: index as u64,
                    rule: args.rule,
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
        if measured {
            let _ = pool.shutdown();
            return Ok(done as f64 / last.duration_since(started).as_secs_f64().max(1e-6));
        }
    }
    Ok(0.0)
}
