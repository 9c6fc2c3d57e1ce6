//! The microcode program on the instruction-level model against dalek: the
//! program itself is right before any RTL runs it, and the committed ROM
//! files are what the assembler produces.

use curve25519_dalek::{constants::ED25519_BASEPOINT_POINT, scalar::Scalar};
use rampart_fpga::field::Fe;
use rampart_fpga::microcode::{self, consts, isa::Instr, program, ResultCode};
use rampart_fpga::model::{self, Job};
use rampart_testkit::Rng;
use sha2::{Digest, Sha512};

fn k_of(r: &[u8], a: &[u8; 32], m: &[u8]) -> [u8; 32] {
    let digest = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(m)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&digest);
    Scalar::from_bytes_mod_order_wide(&wide).to_bytes()
}

#[test]
fn committed_rom_files_match_the_assembler() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rtl");
    for (name, text) in [
        ("microcode.hex", microcode::rom_hex()),
        ("consts.hex", microcode::consts_hex()),
    ] {
        let path = format!("{dir}/{name}");
        if std::env::var_os("RAMPART_FPGA_REGEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == text,
            "{path} is stale: run RAMPART_FPGA_REGEN=1 cargo test -p rampart-fpga --test microcode"
        );
    }
}

#[test]
fn encoding_round_trips() {
    for ins in program::assemble() {
        assert_eq!(Instr::decode(ins.encode()), ins);
        assert!(ins.encode() >> 71 == 0);
    }
}

#[test]
fn constants_are_the_curve_constants() {
    let b = ED25519_BASEPOINT_POINT.compress().to_bytes();
    assert_eq!(Fe::from_bytes_reduce(&b).0, consts::BASE_Y);
    assert_eq!(
        consts::SQRT_M1.times(consts::SQRT_M1),
        Fe::ZERO.minus(Fe::ONE)
    );
    // -x^2 + y^2 = 1 + d x^2 y^2
    let (x, y) = (consts::BASE_X, consts::BASE_Y);
    let (x2, y2) = (x.times(x), y.times(y));
    assert_eq!(y2.minus(x2), Fe::ONE.plus(consts::D.times(x2).times(y2)));
    assert!(!x.parity());
}

#[test]
fn model_verdicts_match_the_cpu_under_every_rule() {
    let code = program::assemble();
    let mut rng = Rng(0x1234);
    let mut max_issued = 0;
    let mut passes = 0;
    for n in 0..60 {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut msg = vec![0u8; (rng.next_u64() % 200) as usize];
        rng.fill(&mut msg);
        use ed25519_dalek::Signer;
        let mut sig = key.sign(&msg).to_bytes();
        let mut pk = key.verifying_key().to_bytes();
        match n % 4 {
            1 => sig[(rng.next_u64() % 64) as usize] ^= 1 << (rng.next_u64() % 8),
            2 => pk[(rng.next_u64() % 32) as usize] ^= 1 << (rng.next_u64() % 8),
            _ => {}
        }
        let input = rampart_sigverify::SignatureInput {
            pubkey: &pk,
            signature: &sig,
            message: &msg,
        };
        for rule in rampart_sigverify::Rule::ALL {
            let expected = rampart_sigverify::ed25519::verify(rule, &input);
            let job = Job::with_rule(rule, &pk, &sig, k_of(&sig[..32], &pk, &msg));
            let out = model::run(&code, &job, 10_000);
            assert_ne!(out.code, ResultCode::Internal, "case {n} {rule}");
            assert_eq!(
                out.code == ResultCode::Pass,
                expected.is_ok(),
                "case {n} {rule}: model {:?}, cpu {expected:?}",
                out.code
            );
            if out.code == ResultCode::Pass {
                passes += 1;
                max_issued = max_issued.max(out.issued);
                eprintln!("{rule}: pass in {} instructions", out.issued);
            }
        }
    }
    eprintln!("model: {passes} passes, at most {max_issued} instructions per verify");
    assert!(passes > 60);
    assert!(max_issued < 4000);
}

#[test]
fn model_matches_the_cpu_on_mutated_and_small_order_cases() {
    let code = program::assemble();
    let mut rng = Rng(0x30de1);
    let cases =
        rampart_testkit::generate_with(&mut rng, 300, rampart_testkit::MessageLengths::Long);
    for rule in rampart_sigverify::Rule::ALL {
        for (n, case) in cases.iter().enumerate() {
            let expected = rampart_sigverify::ed25519::verify(rule, &case.input());
            let mut r = [0u8; 32];
            r.copy_from_slice(&case.signature[..32]);
            let job = Job::with_rule(
                rule,
                &case.pubkey,
                &case.signature,
                k_of(&r, &case.pubkey, &case.message),
            );
            let out = model::run(&code, &job, 10_000);
            assert_eq!(
                out.code == ResultCode::Pass,
                expected.is_ok(),
                "case {n} ({}) {rule}: model {:?}, cpu {expected:?}",
                case.note,
                out.code
            );
        }
    }
}
