//! Ed25519 verification under each [`Rule`](crate::rule::Rule): one signature at a
//! time, and in random-linear-combination batches for the cofactored rules.
//!
//! Every path here returns the same verdict for the same input: a batch is only a
//! faster way to reach the per-signature answer, never a different one.

mod batch;
mod encoding;
#[cfg(target_arch = "x86_64")]
pub mod engine;
mod prepared;
mod single;

pub use batch::{verify_batch_cofactored, BatchStats};
pub use encoding::is_canonical_point_encoding;
pub use single::verify;

/// Verifies every input under the strict rule, writing `out[i]` for
/// `inputs[i]` (same length). Uses Rampart's vector engine ([`engine`]) when the
/// CPU has it and the slice is long enough to fill its lanes, the scalar path
/// otherwise; the verdicts, reasons included, are the same either way.
pub fn verify_strict_many(inputs: &[SignatureInput<'_>], out: &mut [SigVerdict]) {
    assert_eq!(inputs.len(), out.len(), "one verdict slot per input");
    #[cfg(target_arch = "x86_64")]
    if inputs.len() >= engine::MIN_INPUTS {
        if let Some(engine) = engine::Engine::detect() {
            engine.verify_strict(inputs, out);
            return;
        }
    }
    for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
        *verdict = verify(crate::rule::Rule::Strict, input);
    }
}

/// Verifies every input on its own under a cofactored rule (`zip215` or
/// `zip215-amended`), without a batch equation: on Rampart's vector engine
/// when the CPU has it, the scalar single path otherwise. Same verdicts,
/// reasons included, as [`verify`].
///
/// # Panics
/// If `rule` is `strict` (use [`verify_strict_many`]) or the lengths differ.
pub fn verify_cofactored_many(
    rule: crate::rule::Rule,
    inputs: &[SignatureInput<'_>],
    out: &mut [SigVerdict],
) {
    assert!(rule.is_cofactored(), "{rule} is not a cofactored rule");
    assert_eq!(inputs.len(), out.len(), "one verdict slot per input");
    #[cfg(target_arch = "x86_64")]
    if inputs.len() >= engine::MIN_INPUTS {
        if let Some(engine) = engine::Engine::detect() {
            engine.verify_cofactored(rule, inputs, out);
            return;
        }
    }
    for (input, verdict) in inputs.iter().zip(out.iter_mut()) {
        *verdict = verify(rule, input);
    }
}

/// One signature to check: the signer's public key, the signature, and the signed
/// bytes. Borrowed so that a transaction's signatures are checked in place.
#[derive(Debug, Clone, Copy)]
pub struct SignatureInput<'a> {
    /// The 32-byte compressed Edwards public key `A`.
    pub pubkey: &'a [u8; 32],
    /// The 64-byte signature `R ‖ S`.
    pub signature: &'a [u8; 64],
    /// The bytes that were signed.
    pub message: &'a [u8],
}

impl SignatureInput<'_> {
    /// The encoding of the commitment point R (first half of the signature).
    fn r_bytes(&self) -> [u8; 32] {
        let mut r = [0; 32];
        r.copy_from_slice(&self.signature[..32]);
        r
    }

    /// The encoding of the scalar S (second half of the signature).
    fn s_bytes(&self) -> [u8; 32] {
        let mut s = [0; 32];
        s.copy_from_slice(&self.signature[32..]);
        s
    }
}

/// Why a signature was rejected. Variants are listed in the order the checks run,
/// so the first failing check names the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SigError {
    /// The public key's y coordinate is not reduced mod p (amended rule only).
    #[error("public key encoding not canonical")]
    PubkeyNonCanonical,
    /// The public key does not decode to a curve point.
    #[error("public key not on curve")]
    PubkeyInvalid,
    /// The public key is a point of small order (the all-zero key among them).
    #[error("small-order public key")]
    PubkeySmallOrder,
    /// S is not reduced mod L.
    #[error("S not canonical")]
    SNonCanonical,
    /// R's y coordinate is not reduced mod p.
    #[error("R encoding not canonical")]
    RNonCanonical,
    /// R does not decode to a curve point.
    #[error("R not on curve")]
    RInvalid,
    /// R is a point of small order.
    #[error("small-order R")]
    RSmallOrder,
    /// Everything decodes but the verification equation does not hold.
    #[error("equation does not hold")]
    Equation,
}

impl SigError {
    /// Every reason, in check order.
    pub const ALL: [SigError; 8] = [
        SigError::PubkeyNonCanonical,
        SigError::PubkeyInvalid,
        SigError::PubkeySmallOrder,
        SigError::SNonCanonical,
        SigError::RNonCanonical,
        SigError::RInvalid,
        SigError::RSmallOrder,
        SigError::Equation,
    ];

    /// A stable snake_case label, used by metrics and `rampart verify`.
    pub fn label(self) -> &'static str {
        match self {
            SigError::PubkeyNonCanonical => "pubkey_non_canonical",
            SigError::PubkeyInvalid => "pubkey_invalid",
            SigError::PubkeySmallOrder => "pubkey_small_order",
            SigError::SNonCanonical => "s_non_canonical",
            SigError::RNonCanonical => "r_non_canonical",
            SigError::RInvalid => "r_invalid",
            SigError::RSmallOrder => "r_small_order",
            SigError::Equation => "equation",
        }
    }
}

/// The verdict on one signature.
pub type SigVerdict = Result<(), SigError>;
