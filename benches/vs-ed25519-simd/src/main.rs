//! Rampart's ed25519 engine against the `ed25519-simd` crate, in one process,
//! on the same inputs: one thread, 64-signature batches, distinct keys, 128
//! and 1232-byte messages, 0 % and 50 % invalid, strict and zip215, with
//! ed25519-dalek `verify_strict` for scale.
//!
//! Rules compared: Rampart `strict` with ed25519-simd's `DalekPolicy` (the
//! acceptance set of solana-ed25519's `verify_dalek`, i.e. dalek
//! `verify_strict`: canonical R, S < L, no small-order A or R); Rampart
//! `zip215` with `Zip215Policy` (solana-ed25519's `verify_zebra`, cofactored).
//!
//! Contenders run in short interleaved rounds (the order rotates every round)
//! so that machine noise falls on all of them alike. Verdicts are compared
//! (accept/reject) between Rampart and ed25519-simd on every input.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use ed25519_dalek::{Signer, SigningKey};
use ed25519_simd::{DalekVerifier, VerifyInput, Zip215Verifier};
use rampart_sigverify::{
    ed25519::engine::{Engine, EngineKind},
    Rule, SigVerdict, SignatureInput,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

const BATCH: usize = 64;

struct Case {
    pubkey: [u8; 32],
    signature: [u8; 64],
    message: Vec<u8>,
}

/// `count` signatures by distinct keys; where `invalid` picks it, one of four
/// corruptions (message bit, R bit, S bit, S + L-sized bump) in rotation.
fn cases(count: usize, msg_len: usize, invalid_fraction: f64, seed: u64) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bad = 0usize;
    (0..count)
        .map(|i| {
            let key = SigningKey::generate(&mut rng);
            let mut message = vec![0u8; msg_len];
            rng.fill(&mut message[..]);
            let mut signature = key.sign(&message).to_bytes();
            if ((i + 1) as f64 * invalid_fraction).floor() > (i as f64 * invalid_fraction).floor() {
                bad += 1;
                match bad % 4 {
                    0 => message[rng.gen_range(0..msg_len)] ^= 1 << rng.gen_range(0..8),
                    1 => signature[rng.gen_range(0..31)] ^= 1 << rng.gen_range(0..8),
                    2 => signature[32 + rng.gen_range(0..31)] ^= 1 << rng.gen_range(0..8),
                    _ => signature[63] |= 0x20, // S ≥ L
                }
            }
            Case {
                pubkey: key.verifying_key().to_bytes(),
                signature,
                message,
            }
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Contender {
    Rampart(EngineKind),
    Simd,
    DalekStrict,
}

impl Contender {
    fn label(self) -> String {
        match self {
            Contender::Rampart(kind) => format!("rampart-{kind}"),
            Contender::Simd => "ed25519-simd".into(),
            Contender::DalekStrict => "dalek-verify_strict".into(),
        }
    }
}

struct Runner<'a> {
    rule: Rule,
    rampart: Vec<SignatureInput<'a>>,
    simd: Vec<VerifyInput<'a>>,
    cases: &'a [Case],
    dalek_verifier: DalekVerifier,
    zip_verifier: Zip215Verifier,
    verdicts: Vec<SigVerdict>,
    accepted: Vec<bool>,
}

impl<'a> Runner<'a> {
    fn new(rule: Rule, cases: &'a [Case]) -> Self {
        Runner {
            rule,
            rampart: cases
                .iter()
                .map(|c| SignatureInput {
                    pubkey: &c.pubkey,
                    signature: &c.signature,
                    message: &c.message,
                })
                .collect(),
            simd: cases
                .iter()
                .map(|c| VerifyInput {
                    public_key: c.pubkey,
                    signature: c.signature,
                    message: &c.message,
                })
                .collect(),
            cases,
            dalek_verifier: DalekVerifier::new(),
            zip_verifier: Zip215Verifier::new(),
            verdicts: vec![Ok(()); cases.len()],
            accepted: vec![false; cases.len()],
        }
    }

    /// One pass over every case in 64-signature batches; returns the time.
    fn pass(&mut self, who: Contender) -> Duration {
        let start = Instant::now();
        match who {
            Contender::Rampart(kind) => {
                let engine = Engine::with(kind).expect("available");
                for (inputs, out) in self
                    .rampart
                    .chunks(BATCH)
                    .zip(self.verdicts.chunks_mut(BATCH))
                {
                    if self.rule == Rule::Strict {
                        engine.verify_strict(black_box(inputs), out);
                    } else {
                        engine.verify_cofactored(self.rule, black_box(inputs), out);
                    }
                }
            }
            Contender::Simd => {
                for (inputs, out) in self.simd.chunks(BATCH).zip(self.accepted.chunks_mut(BATCH)) {
                    if self.rule == Rule::Strict {
                        self.dalek_verifier.verify_batch(black_box(inputs), out);
                    } else {
                        self.zip_verifier.verify_batch(black_box(inputs), out);
                    }
                }
            }
            Contender::DalekStrict => {
                for (c, ok) in self.cases.iter().zip(self.accepted.iter_mut()) {
                    *ok = ed25519_dalek::VerifyingKey::from_bytes(black_box(&c.pubkey))
                        .and_then(|vk| {
                            vk.verify_strict(
                                &c.message,
                                &ed25519_dalek::Signature::from_bytes(&c.signature),
                            )
                        })
                        .is_ok();
                }
            }
        }
        black_box(&self.verdicts);
        black_box(&self.accepted);
        start.elapsed()
    }

    /// Inputs on which Rampart (`kind`) and ed25519-simd disagree, and how
    /// many each accepted.
    fn disagreements(&mut self, kind: EngineKind) -> (usize, usize, usize) {
        self.pass(Contender::Rampart(kind));
        self.pass(Contender::Simd);
        let rampart_ok = self.verdicts.iter().filter(|v| v.is_ok()).count();
        let simd_ok = self.accepted.iter().filter(|&&a| a).count();
        let differ = self
            .verdicts
            .iter()
            .zip(&self.accepted)
            .filter(|(v, a)| v.is_ok() != **a)
            .count();
        (differ, rampart_ok, simd_ok)
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<usize>().expect("a number"))
    };
    let count = value("--count").unwrap_or(1024);
    let rounds = value("--rounds").unwrap_or(15);
    let count = count.div_ceil(BATCH) * BATCH;

    let auto = Engine::detect()
        .expect("this harness needs at least AVX2")
        .kind();
    let engines: Vec<EngineKind> = Engine::all_available()
        .into_iter()
        .map(|e| e.kind())
        .collect();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    if !json {
        println!(
            "cpu: {cpu}; rampart auto = {auto}; {count} signatures per workload, batches of {BATCH}, {rounds} rounds; ratios: summed time (median of paired rounds)"
        );
        println!(
            "note: rampart-avx2 here is compiled with this CPU's AVX-512 registers; the shipped AVX2 figure is `rampart bench sigverify --engine avx2`"
        );
    }

    let mut rows = Vec::new();
    for (msg_len, invalid) in [(128, 0.0), (128, 0.5), (1232, 0.0), (1232, 0.5)] {
        let cases = cases(count, msg_len, invalid, 0x5eed ^ msg_len as u64);
        for rule in [Rule::Strict, Rule::Zip215] {
            let mut runner = Runner::new(rule, &cases);
            let mut contenders: Vec<Contender> =
                engines.iter().map(|&k| Contender::Rampart(k)).collect();
            contenders.push(Contender::Simd);
            if rule == Rule::Strict {
                contenders.push(Contender::DalekStrict);
            }
            // passes[slot][round]: each contender's time in each round.
            let mut passes = vec![Vec::with_capacity(rounds); contenders.len()];
            // Warm-up: tables built, caches filled.
            for &who in &contenders {
                runner.pass(who);
            }
            for round in 0..rounds {
                for i in 0..contenders.len() {
                    let slot = (i + round) % contenders.len();
                    let time = runner.pass(contenders[slot]);
                    passes[slot].push(time);
                }
            }
            let rate = |slot: usize| {
                let total: Duration = passes[slot].iter().sum();
                (count * rounds) as f64 / total.as_secs_f64()
            };
            // Rate of `fast` over rate of `slow` round by round (the two passes
            // ran back to back), median over the rounds: a disturbance that
            // lands on one pass moves one round, not the figure.
            let paired = |fast: usize, slow: usize| {
                median(
                    passes[fast]
                        .iter()
                        .zip(&passes[slow])
                        .map(|(f, s)| s.as_secs_f64() / f.as_secs_f64())
                        .collect(),
                )
            };
            let simd_slot = contenders
                .iter()
                .position(|&c| c == Contender::Simd)
                .unwrap();
            let auto_slot = contenders
                .iter()
                .position(|&c| c == Contender::Rampart(auto))
                .unwrap();
            let (differ, rampart_ok, simd_ok) = runner.disagreements(auto);
            let rates: Vec<(String, f64)> = contenders
                .iter()
                .enumerate()
                .map(|(s, c)| (c.label(), rate(s)))
                .collect();
            let ratio = rate(auto_slot) / rate(simd_slot);
            let ratio_paired = paired(auto_slot, simd_slot);
            let dalek_slot = contenders.iter().position(|&c| c == Contender::DalekStrict);
            // (label, rate, summed-time ratio and paired median over verify_strict)
            // for every Rampart engine.
            let over_dalek: Vec<(String, f64, f64)> = dalek_slot
                .map(|d| {
                    contenders
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| matches!(c, Contender::Rampart(_)))
                        .map(|(s, c)| (c.label(), rate(s) / rate(d), paired(s, d)))
                        .collect()
                })
                .unwrap_or_default();
            if json {
                rows.push(serde_json::json!({
                    "rule": rule.label(),
                    "msg_size": msg_len,
                    "invalid_fraction": invalid,
                    "signatures": count,
                    "rates_per_s": rates.iter().map(|(l, r)| (l.clone(), serde_json::json!(r))).collect::<serde_json::Map<_, _>>(),
                    "rampart_engine": auto.label(),
                    "rampart_over_ed25519_simd": ratio,
                    "rampart_over_ed25519_simd_median_round": ratio_paired,
                    "engines_over_verify_strict": dalek_slot.map(|_| over_dalek.iter().map(|(l, r, _)| (l.clone(), serde_json::json!(r))).collect::<serde_json::Map<_, _>>()),
                    "engines_over_verify_strict_median_round": dalek_slot.map(|_| over_dalek.iter().map(|(l, _, m)| (l.clone(), serde_json::json!(m))).collect::<serde_json::Map<_, _>>()),
                    "accepted": {"rampart": rampart_ok, "ed25519_simd": simd_ok},
                    "verdict_disagreements": differ,
                }));
            } else {
                let list: Vec<String> = rates
                    .iter()
                    .map(|(l, r)| format!("{l} {:.1} K/s", r / 1e3))
                    .collect();
                let scale = if over_dalek.is_empty() {
                    String::new()
                } else {
                    let per: Vec<String> = over_dalek
                        .iter()
                        .map(|(l, r, m)| format!("{l} {r:.2}× ({m:.2})"))
                        .collect();
                    format!("; ÷ verify_strict: {}", per.join(", "))
                };
                println!(
                    "{:<7} {:>4} B {:>3.0}% invalid: {} | rampart÷simd {:.2} ({:.2}){} | accepted {}/{} vs {}, disagreements {}",
                    rule.label(),
                    msg_len,
                    invalid * 100.0,
                    list.join(", "),
                    ratio,
                    ratio_paired,
                    scale,
                    rampart_ok,
                    count,
                    simd_ok,
                    differ
                );
            }
        }
    }
    if json {
        let doc = serde_json::json!({
            "cpu": cpu,
            "rampart_auto_engine": auto.label(),
            "batch": BATCH,
            "threads": 1,
            "rounds": rounds,
            "workloads": rows,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap());
    }
}
