//! The verify pool: verdicts come back per job in input order, malformed bytes
//! are caught before crypto, and a full queue is reported instead of blocking.

use std::time::Duration;

use rampart_sigverify::{
    backend::{Backend, CpuBackend, TxVerdict},
    pool::{Job, SubmitError, VerifyPool},
    Rule, SigError,
};
use rampart_testkit::Rng;

/// A legacy transaction with one signer over `message`, built by hand.
fn legacy_tx(rng: &mut Rng, valid: bool) -> Vec<u8> {
    let seed: [u8; 32] = rng.bytes();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let mut message = vec![1, 0, 1, 2];
    message.extend_from_slice(&signing.verifying_key().to_bytes());
    message.extend_from_slice(&rng.bytes::<32>());
    message.extend_from_slice(&rng.bytes::<32>());
    message.extend_from_slice(&[1, 1, 1, 0, 0]);
    use ed25519_dalek::Signer;
    let mut signature = signing.sign(&message).to_bytes();
    if !valid {
        signature[33] ^= 1;
    }
    let mut tx = vec![1];
    tx.extend_from_slice(&signature);
    tx.extend_from_slice(&message);
    tx
}

fn backends(n: usize) -> Vec<Box<dyn Backend>> {
    (0..n)
        .map(|_| Box::new(CpuBackend::default()) as Box<dyn Backend>)
        .collect()
}

#[test]
fn every_job_comes_back_with_verdicts_in_order() {
    let mut rng = Rng(3);
    let pool = VerifyPool::start(backends(2), 4).unwrap();
    let mut expected = Vec::new();
    for id in 0..6u64 {
        let mut transactions = Vec::new();
        let mut want = Vec::new();
        for i in 0..40 {
            match (id as usize + i) % 7 {
                0 => {
                    transactions.push(vec![0xff, 1, 2]);
                    want.push("malformed");
                }
                1 | 2 => {
                    transactions.push(legacy_tx(&mut rng, false));
                    want.push("bad");
                }
                _ => {
                    transactions.push(legacy_tx(&mut rng, true));
                    want.push("valid");
                }
            }
        }
        expected.push(want);
        let rule = Rule::ALL[id as usize % 3];
        pool.submit(Job {
            id,
            rule,
            transactions,
        })
        .unwrap();
    }
    let mut seen = 0;
    while seen < 6 {
        let done = pool
            .recv_timeout(Duration::from_secs(30))
            .expect("a result");
        let want = &expected[done.id as usize];
        assert_eq!(done.verdicts.len(), want.len());
        for (verdict, want) in done.verdicts.iter().zip(want) {
            let got = match verdict {
                TxVerdict::Valid => "valid",
                TxVerdict::Malformed(_) => "malformed",
                TxVerdict::BadSignature { index: 0, reason } => {
                    assert!(matches!(
                        reason,
                        SigError::Equation | SigError::SNonCanonical
                    ));
                    "bad"
                }
                TxVerdict::BadSignature { .. } => "bad at wrong index",
            };
            assert_eq!(got, *want, "job {}", done.id);
        }
        seen += 1;
    }
    assert!(pool.shutdown().is_empty());
}

#[test]
fn a_full_queue_hands_the_job_back() {
    let mut rng = Rng(4);
    let pool = VerifyPool::start(backends(1), 1).unwrap();
    let big: Vec<Vec<u8>> = (0..64).map(|_| legacy_tx(&mut rng, true)).collect();
    let mut shed = 0;
    for id in 0..20 {
        match pool.try_submit(Job {
            id,
            rule: Rule::Strict,
            transactions: big.clone(),
        }) {
            Ok(()) => {}
            Err(SubmitError::Full(job)) => {
                assert_eq!(job.transactions.len(), 64);
                shed += 1;
            }
            Err(SubmitError::Stopped(_)) => panic!("pool stopped"),
        }
    }
    assert!(shed > 0, "20 jobs of 64 signatures fit a queue of one");
    let rest = pool.shutdown();
    assert!(rest.len() <= 20 - shed);
}
