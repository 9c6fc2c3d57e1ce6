//! Pluggable signature-verification backends.
//!
//! A [`Backend`] takes a batch of signatures and returns one verdict per signature,
//! in order. The caller decides what goes into a batch: the pipeline groups by
//! source so that one spammer's bad signatures only slow down its own batches.
//! [`verify_transactions`] lifts any backend to whole transactions.

mod cpu;
mod sizer;

pub use cpu::{CpuBackend, CpuConfig, EngineChoice, UnknownEngineChoice};
pub use sizer::BatchSizer;

use std::{fmt, str::FromStr};

use crate::{
    ed25519::{SigError, SigVerdict, SignatureInput},
    rule::Rule,
    txn::{ParseError, Transaction, TxView},
};

/// A signature verifier: CPU today, simulated or real FPGA behind the same trait.
///
/// Backends take `&mut self` so that each worker thread owns one, with its own
/// scratch memory and statistics; nothing is shared between workers.
pub trait Backend: Send {
    /// The backend's name as used on the command line (`cpu`, `fpga-sim`).
    fn name(&self) -> &'static str;

    /// Writes into `out[i]` the verdict for `inputs[i]` under `rule`.
    ///
    /// `out` has the same length as `inputs`. Verdicts must equal
    /// [`ed25519::verify`](crate::ed25519::verify) for every input, whatever the
    /// batch composition.
    fn verify_signatures(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    );

    /// Device errors this backend has recovered from since the last call,
    /// each by verifying on the CPU instead (a card that stalls, say). The
    /// pool reports them with each batch so they are counted as backend
    /// errors: a failing device must never look like bad signatures. Backends
    /// with no device have none.
    fn take_errors(&mut self) -> u64 {
        0
    }
}

/// The verdict on one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxVerdict {
    /// Every signature verified.
    Valid,
    /// The bytes are not a well-formed transaction; no crypto was done.
    Malformed(ParseError),
    /// Signature `index` (and possibly later ones) failed.
    BadSignature {
        /// Position of the first failing signature in the transaction.
        index: usize,
        /// Why it failed.
        reason: SigError,
    },
    /// Verification did not complete: the backend panicked on this
    /// transaction, on its own, with a fresh backend. Never forwarded; counted
    /// apart from bad signatures, since nothing was judged.
    Unverified,
}

impl TxVerdict {
    /// Whether the transaction may be forwarded.
    pub fn is_valid(&self) -> bool {
        matches!(self, TxVerdict::Valid)
    }
}

/// Verifies parsed transactions as one batch of signatures: a transaction is valid
/// only if every signature i verifies over its message with signer key i.
///
/// `out` is cleared and gets one verdict per transaction, in order.
pub fn verify_transactions(
    backend: &mut dyn Backend,
    rule: Rule,
    transactions: &[Transaction<'_>],
    out: &mut Vec<TxVerdict>,
) {
    let views: Vec<TxView<'_>> = transactions.iter().map(Transaction::view).collect();
    verify_views(backend, rule, &views, out);
}

/// As [`verify_transactions`], over the verification inputs of transactions
/// parsed earlier (see [`TxView`]).
///
/// A view that could not come from the parser (no signature, or not one key
/// per signature) is judged malformed, never valid, and costs no crypto.
///
/// A transaction's signatures stop at the first failure: the batch is
/// verified in rounds, round `r` holding signature `r` of every transaction
/// whose earlier signatures all passed, so a sender's bad first signature
/// costs one verification however many signatures it claims. (Most
/// transactions have one signature, so there is usually one round.)
pub fn verify_views(
    backend: &mut dyn Backend,
    rule: Rule,
    transactions: &[TxView<'_>],
    out: &mut Vec<TxVerdict>,
) {
    out.clear();
    out.extend(transactions.iter().map(|tx| {
        if tx.signatures.is_empty() {
            TxVerdict::Malformed(ParseError::NoSignatures)
        } else if tx.signer_keys.len() != tx.signatures.len() {
            TxVerdict::Malformed(ParseError::NotEnoughAccountKeys {
                signatures: tx.signatures.len(),
                keys: tx.signer_keys.len(),
            })
        } else {
            TxVerdict::Valid
        }
    }));
    // Transactions still valid with a signature at this round's index.
    let mut alive: Vec<usize> = (0..transactions.len())
        .filter(|&t| out[t].is_valid())
        .collect();
    let mut verdicts = Vec::with_capacity(alive.len());
    let mut round = 0;
    while !alive.is_empty() {
        let inputs: Vec<SignatureInput<'_>> = alive
            .iter()
            .map(|&t| SignatureInput {
                pubkey: &transactions[t].signer_keys[round],
                signature: &transactions[t].signatures[round],
                message: transactions[t].message,
            })
            .collect();
        verdicts.clear();
        verdicts.resize(inputs.len(), Ok(()));
        backend.verify_signatures(rule, &inputs, &mut verdicts);
        let next = round + 1;
        alive = alive
            .into_iter()
            .zip(&verdicts)
            .filter_map(|(t, verdict)| match verdict {
                Err(reason) => {
                    out[t] = TxVerdict::BadSignature {
                        index: round,
                        reason: *reason,
                    };
                    None
                }
                Ok(()) => (transactions[t].signatures.len() > next).then_some(t),
            })
            .collect();
        round = next;
    }
}

/// The backends Rampart knows, by command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// Verification on the CPU ([`CpuBackend`]).
    #[default]
    Cpu,
    /// The Verilog core under Verilator (built by the `fpga` crate).
    FpgaSim,
}

impl BackendKind {
    /// The backend's command-line name.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::FpgaSim => "fpga-sim",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The name given is not a known backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {given:?}: expected cpu or fpga-sim")]
pub struct UnknownBackend {
    /// What was given.
    pub given: String,
}

impl FromStr for BackendKind {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [BackendKind::Cpu, BackendKind::FpgaSim]
            .into_iter()
            .find(|kind| kind.label() == s)
            .ok_or_else(|| UnknownBackend {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts everything: only the view checks can refuse.
    struct AcceptAll;

    impl Backend for AcceptAll {
        fn name(&self) -> &'static str {
            "accept-all"
        }

        fn verify_signatures(&mut self, _: Rule, _: &[SignatureInput<'_>], out: &mut [SigVerdict]) {
            out.fill(Ok(()));
        }
    }

    #[test]
    fn views_the_parser_could_not_make_are_never_valid() {
        let (signature, key) = ([1u8; 64], [2u8; 32]);
        let views = [
            TxView {
                signatures: &[],
                signer_keys: &[],
                message: b"m",
            },
            TxView {
                signatures: std::slice::from_ref(&signature),
                signer_keys: &[],
                message: b"m",
            },
            TxView {
                signatures: std::slice::from_ref(&signature),
                signer_keys: std::slice::from_ref(&key),
                message: b"m",
            },
        ];
        let mut out = Vec::new();
        verify_views(&mut AcceptAll, Rule::Strict, &views, &mut out);
        assert!(matches!(
            out[0],
            TxVerdict::Malformed(ParseError::NoSignatures)
        ));
        assert!(matches!(
            out[1],
            TxVerdict::Malformed(ParseError::NotEnoughAccountKeys { .. })
        ));
        assert_eq!(
            out[2],
            TxVerdict::Valid,
            "a well-formed view still verifies"
        );
    }

    /// Counts the signatures it is asked about; fails those signed with 0xbb.
    struct Counting {
        asked: usize,
    }

    impl Backend for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }

        fn verify_signatures(
            &mut self,
            _: Rule,
            inputs: &[SignatureInput<'_>],
            out: &mut [SigVerdict],
        ) {
            self.asked += inputs.len();
            for (input, verdict) in inputs.iter().zip(out) {
                *verdict = if input.signature[0] == 0xbb {
                    Err(SigError::Equation)
                } else {
                    Ok(())
                };
            }
        }
    }

    #[test]
    fn a_transaction_s_signatures_stop_at_the_first_failure() {
        let good = [0xaa; 64];
        let bad = [0xbb; 64];
        let keys = [[1u8; 32]; 12];
        // Twelve signatures, the first bad; three, the second bad; two good.
        let first_bad: Vec<[u8; 64]> = std::iter::once(bad).chain([good; 11]).collect();
        let second_bad = [good, bad, good];
        let all_good = [good, good];
        let views = [
            TxView {
                signatures: &first_bad,
                signer_keys: &keys,
                message: b"a",
            },
            TxView {
                signatures: &second_bad,
                signer_keys: &keys[..3],
                message: b"b",
            },
            TxView {
                signatures: &all_good,
                signer_keys: &keys[..2],
                message: b"c",
            },
        ];
        let mut backend = Counting { asked: 0 };
        let mut out = Vec::new();
        verify_views(&mut backend, Rule::Strict, &views, &mut out);
        assert_eq!(
            out,
            [
                TxVerdict::BadSignature {
                    index: 0,
                    reason: SigError::Equation
                },
                TxVerdict::BadSignature {
                    index: 1,
                    reason: SigError::Equation
                },
                TxVerdict::Valid,
            ]
        );
        // Round 0: three; round 1: the last two; nothing after a failure.
        assert_eq!(backend.asked, 5, "not 12 + 3 + 2 = 17");
    }
}
