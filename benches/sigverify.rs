//! Parse, strict single-signature verification, zip215 batches of 16, 64 and
//! 256, and the vector engine on 64 signatures, on transactions from Rampart's
//! own load generator.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rampart_sigverify::{
    backend::{Backend, CpuBackend, CpuConfig, EngineChoice},
    ed25519,
    txn::Transaction,
    Rule, SigVerdict, SignatureInput,
};
use rampart_txgen::{self as loadgen, KeyMode, TxSpec};

fn transactions(count: usize, message_size: usize) -> Vec<Vec<u8>> {
    loadgen::generate(&TxSpec {
        count,
        message_size,
        invalid_fraction: 0.0,
        keys: KeyMode::Distinct,
        seed: 42,
    })
    .expect("valid spec")
    .into_iter()
    .map(|tx| tx.bytes)
    .collect()
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, size) in [
        ("legacy_256", 256),
        ("legacy_1167", 1167),
        ("v1_4032", 4032),
    ] {
        let txs = transactions(1, size);
        group.throughput(Throughput::Elements(1));
        group.bench_function(name, |b| {
            b.iter(|| {
                Transaction::parse(std::hint::black_box(&txs[0])).map(|tx| tx.signatures().len())
            })
        });
    }
    group.finish();
}

/// One signature at a time under each rule, next to the dalek functions.
fn strict_single(c: &mut Criterion) {
    let txs = transactions(64, 256);
    let parsed: Vec<Transaction<'_>> = txs
        .iter()
        .map(|tx| Transaction::parse(tx).expect("parses"))
        .collect();
    let inputs: Vec<SignatureInput<'_>> = parsed.iter().map(first_signature).collect();
    let mut group = c.benchmark_group("strict_single");
    group.throughput(Throughput::Elements(1));
    for rule in Rule::ALL {
        let mut i = 0;
        group.bench_function(format!("rampart_{rule}"), |b| {
            b.iter(|| {
                i += 1;
                ed25519::verify(rule, &inputs[i % inputs.len()])
            })
        });
    }
    let mut i = 0;
    group.bench_function("dalek_verify", |b| {
        b.iter(|| {
            i += 1;
            dalek(&inputs[i % inputs.len()], false)
        })
    });
    group.bench_function("dalek_verify_strict", |b| {
        b.iter(|| {
            i += 1;
            dalek(&inputs[i % inputs.len()], true)
        })
    });
    group.finish();
}

fn first_signature<'a>(tx: &Transaction<'a>) -> SignatureInput<'a> {
    SignatureInput {
        pubkey: &tx.signer_keys()[0],
        signature: &tx.signatures()[0],
        message: tx.message(),
    }
}

fn dalek(input: &SignatureInput<'_>, strict: bool) -> bool {
    use ed25519_dalek::Verifier;
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(input.pubkey) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(input.signature);
    if strict {
        key.verify_strict(input.message, &signature).is_ok()
    } else {
        key.verify(input.message, &signature).is_ok()
    }
}

fn zip215_batch(c: &mut Criterion) {
    let txs = transactions(256, 256);
    let parsed: Vec<Transaction<'_>> = txs
        .iter()
        .map(|tx| Transaction::parse(tx).expect("parses"))
        .collect();
    let inputs: Vec<SignatureInput<'_>> = parsed.iter().map(first_signature).collect();
    let mut group = c.benchmark_group("zip215_batch");
    for size in [16usize, 64, 256] {
        let mut backend = CpuBackend::new(CpuConfig {
            max_batch: size,
            adaptive: false,
            // This group measures the batch equation itself.
            engine: EngineChoice::Off,
        });
        let mut out: Vec<SigVerdict> = vec![Ok(()); size];
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter(|| backend.verify_signatures(Rule::Zip215, &inputs[..size], &mut out))
        });
    }
    group.finish();
}

/// The vector engine on 64 signatures per call (four per kernel run) at the
/// two message sizes the issue names, under each rule, next to dalek one by
/// one; on CPUs without the engine the same calls take the scalar path.
fn engine_many(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_64");
    group.throughput(Throughput::Elements(64));
    for size in [128usize, 1232] {
        let txs = transactions(64, size);
        let parsed: Vec<Transaction<'_>> = txs
            .iter()
            .map(|tx| Transaction::parse(tx).expect("parses"))
            .collect();
        let inputs: Vec<SignatureInput<'_>> = parsed.iter().map(first_signature).collect();
        let mut out: Vec<SigVerdict> = vec![Ok(()); inputs.len()];
        group.bench_function(format!("strict_{size}"), |b| {
            b.iter(|| ed25519::verify_strict_many(&inputs, &mut out))
        });
        group.bench_function(format!("zip215_{size}"), |b| {
            b.iter(|| ed25519::verify_cofactored_many(Rule::Zip215, &inputs, &mut out))
        });
        group.bench_function(format!("dalek_verify_strict_{size}"), |b| {
            b.iter(|| inputs.iter().filter(|input| dalek(input, true)).count())
        });
    }
    group.finish();
}

criterion_group!(benches, parse, strict_single, zip215_batch, engine_many);
criterion_main!(benches);
