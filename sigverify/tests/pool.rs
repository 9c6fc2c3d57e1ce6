//! The verify pool: verdicts come back per job in input order, malformed bytes
//! are caught before crypto, and a full queue is reported instead of blocking.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use rampart_sigverify::{
    backend::{Backend, CpuBackend, TxVerdict},
    ed25519::{SigVerdict, SignatureInput},
    pool::{BackendFactory, Faults, Job, SubmitError, VerifyPool},
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
                TxVerdict::Unverified => "unverified",
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

/// Where the signer's key sits in [`legacy_tx`]'s bytes: after the signature
/// count, the signature, the header and the key count.
const SIGNER_KEY: std::ops::Range<usize> = 69..101;

/// A CPU backend with a defect: it panics on any signature by `poison`. It
/// also reports one device error per batch it is handed, as a backend with a
/// failing card would after falling back to the CPU.
struct Defective {
    poison: [u8; 32],
    cpu: CpuBackend,
    errors: u64,
}

impl Backend for Defective {
    fn name(&self) -> &'static str {
        "defective"
    }

    fn verify_signatures(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) {
        self.errors += 1;
        assert!(
            inputs.iter().all(|input| *input.pubkey != self.poison),
            "defective backend met its poison key"
        );
        self.cpu.verify_signatures(rule, inputs, out);
    }

    fn take_errors(&mut self) -> u64 {
        std::mem::take(&mut self.errors)
    }
}

#[test]
fn a_backend_panic_costs_only_the_transaction_that_caused_it() {
    a_panic_costs_only_its_transaction(|first, factory| {
        VerifyPool::start_replacing(vec![first], 2, &[], Some(factory)).unwrap()
    });
}

#[test]
fn an_inline_pool_survives_a_backend_panic_alike() {
    a_panic_costs_only_its_transaction(|first, factory| {
        VerifyPool::inline(first, 2, Some(factory))
    });
}

/// A pool of one worker made by `start`, whose backend panics on one
/// transaction: only that transaction is lost, each panic costs a fresh
/// backend, and the worker serves the next batch.
fn a_panic_costs_only_its_transaction(
    start: impl FnOnce(Box<dyn Backend>, BackendFactory) -> VerifyPool<Vec<u8>>,
) {
    let mut rng = Rng(5);
    let poison_tx = legacy_tx(&mut rng, true);
    let poison: [u8; 32] = poison_tx[SIGNER_KEY].try_into().unwrap();
    let built = Arc::new(AtomicUsize::new(0));
    let factory: BackendFactory = {
        let built = built.clone();
        Arc::new(move || {
            built.fetch_add(1, Ordering::Relaxed);
            Some(Box::new(Defective {
                poison,
                cpu: CpuBackend::default(),
                errors: 0,
            }) as Box<dyn Backend>)
        })
    };
    let first = factory().unwrap();
    built.store(0, Ordering::Relaxed);
    let pool = start(first, factory);

    // A batch of nine honest transactions (one with a bad signature) and the
    // poison one in the middle.
    let mut transactions: Vec<Vec<u8>> = (0..9).map(|i| legacy_tx(&mut rng, i != 3)).collect();
    transactions.insert(5, poison_tx);
    pool.submit(Job {
        id: 1,
        rule: Rule::Strict,
        transactions,
    })
    .unwrap();
    let done = pool
        .recv_timeout(Duration::from_secs(30))
        .expect("the batch comes back although its backend panicked");
    let labels: Vec<&str> = done
        .verdicts
        .iter()
        .map(|verdict| match verdict {
            TxVerdict::Valid => "valid",
            TxVerdict::BadSignature { .. } => "bad",
            TxVerdict::Malformed(_) => "malformed",
            TxVerdict::Unverified => "unverified",
        })
        .collect();
    assert_eq!(
        labels,
        [
            "valid",
            "valid",
            "valid",
            "bad",
            "valid",
            "unverified",
            "valid",
            "valid",
            "valid",
            "valid"
        ]
    );
    assert_eq!(done.faults.panics, 2, "the batch, then the poison alone");
    assert_eq!(
        built.load(Ordering::Relaxed),
        2,
        "a fresh backend after each panic"
    );
    assert_eq!(
        done.faults.backend_errors, 11,
        "every call reported, the replaced backends' too: the batch (1), \
         singles up to the poison (6), the rest (4)"
    );

    // The worker is alive and its fresh backend serves the next batch.
    pool.submit(Job {
        id: 2,
        rule: Rule::Strict,
        transactions: (0..4).map(|_| legacy_tx(&mut rng, true)).collect(),
    })
    .unwrap();
    let next = pool
        .recv_timeout(Duration::from_secs(30))
        .expect("the next batch");
    assert!(next.verdicts.iter().all(TxVerdict::is_valid));
    assert_eq!(
        next.faults,
        Faults {
            panics: 0,
            backend_errors: 1
        }
    );
    assert!(pool.shutdown().is_empty());
}

/// A CPU backend that notes which thread called it, and how often.
struct Witness {
    cpu: CpuBackend,
    calls: Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
}

impl Backend for Witness {
    fn name(&self) -> &'static str {
        "witness"
    }

    fn verify_signatures(
        &mut self,
        rule: Rule,
        inputs: &[SignatureInput<'_>],
        out: &mut [SigVerdict],
    ) {
        self.calls.lock().unwrap().push(std::thread::current().id());
        self.cpu.verify_signatures(rule, inputs, out);
    }
}

#[test]
fn an_inline_pool_verifies_in_the_submitting_thread_before_returning() {
    let mut rng = Rng(6);
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let backend = Box::new(Witness {
        cpu: CpuBackend::default(),
        calls: calls.clone(),
    });
    let pool = VerifyPool::inline(backend, 1, None);
    assert!(pool.is_inline());
    assert_eq!(pool.threads(), 1, "the caller is its one worker");

    let transactions: Vec<Vec<u8>> = (0..6).map(|i| legacy_tx(&mut rng, i != 2)).collect();
    pool.try_submit(Job {
        id: 7,
        rule: Rule::Strict,
        transactions,
    })
    .unwrap();
    assert_eq!(*calls.lock().unwrap(), [std::thread::current().id()]);
    let done = pool
        .done()
        .try_recv()
        .expect("the result is queued when try_submit returns");
    assert_eq!((done.id, done.worker), (7, 0));
    let valid: Vec<bool> = done.verdicts.iter().map(TxVerdict::is_valid).collect();
    assert_eq!(valid, [true, true, false, true, true, true]);

    // A result not taken fills the queue (of one): the next job comes back
    // whole and unverified, for the caller to shed.
    pool.try_submit(Job {
        id: 8,
        rule: Rule::Strict,
        transactions: vec![legacy_tx(&mut rng, true)],
    })
    .unwrap();
    match pool.try_submit(Job {
        id: 9,
        rule: Rule::Zip215,
        transactions: vec![legacy_tx(&mut rng, true), legacy_tx(&mut rng, true)],
    }) {
        Err(SubmitError::Full(job)) => {
            assert_eq!(
                (job.id, job.rule, job.transactions.len()),
                (9, Rule::Zip215, 2)
            )
        }
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(calls.lock().unwrap().len(), 2, "job 9 was not verified");
    let rest = pool.shutdown();
    assert_eq!(rest.iter().map(|done| done.id).collect::<Vec<_>>(), [8]);
}
