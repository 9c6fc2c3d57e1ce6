//! The half-invalid verdict check every pool passes before anything is
//! measured, so a backend that accepts everything fails the run.

use anyhow::{bail, Context};
use rampart_sigverify::{
    pool::{Job, VerifyPool},
    Rule,
};

use super::BenchArgs;
use crate::lab::{
    loadgen::{self, TxSpec},
    pool_driver::drive,
};

/// A fixed half-invalid set, checked verdict by verdict through a pool
/// before anything is measured.
pub(super) struct VerdictCheck {
    transactions: Vec<Vec<u8>>,
    expected: Vec<bool>,
}

impl VerdictCheck {
    /// Cases in the check.
    const CASES: usize = 512;

    pub(super) fn new(args: &BenchArgs) -> anyhow::Result<Self> {
        let txs = loadgen::generate(&TxSpec {
            count: Self::CASES,
            message_size: args.msg_size,
            invalid_fraction: 0.5,
            keys: args.keys,
            seed: 0xc4ec,
        })
        .context("bad transaction spec for the verdict check")?;
        Ok(VerdictCheck {
            expected: txs.iter().map(|tx| tx.valid).collect(),
            transactions: txs.into_iter().map(|tx| tx.bytes).collect(),
        })
    }

    pub(super) fn cases(&self) -> usize {
        self.transactions.len()
    }

    /// Verifies the set through `pool` in batches and fails on any verdict
    /// that differs from how the transaction was generated.
    pub(super) fn run(&self, pool: &VerifyPool<Vec<u8>>, rule: Rule) -> anyhow::Result<()> {
        let batch = 64;
        let mut jobs = self.transactions.chunks(batch).enumerate();
        let mut wrong = 0usize;
        drive(
            pool,
            &mut (),
            |_| {
                jobs.next().map(|(id, chunk)| Job {
                    id: id as u64,
                    rule,
                    transactions: chunk.to_vec(),
                })
            },
            |_, done| {
                let start = done.id as usize * batch;
                wrong += done
                    .verdicts
                    .iter()
                    .zip(&self.expected[start..])
                    .filter(|(got, want)| got.is_valid() != **want)
                    .count();
            },
        )?;
        if wrong > 0 {
            bail!(
                "verdict check: {wrong} of {} half-invalid transactions got the wrong verdict",
                self.cases()
            );
        }
        Ok(())
    }
}
