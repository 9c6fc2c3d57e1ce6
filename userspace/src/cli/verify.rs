//! `rampart verify`: verdicts for signatures given as JSON lines (see
//! [`crate::lab::conformance`] for the format).

use std::{
    fs::File,
    io::{self, BufRead, BufReader, BufWriter},
    path::PathBuf,
};

use anyhow::Context;
use clap::Args;
use rampart_sigverify::{
    backend::{BackendKind, EngineChoice},
    Rule,
};

use crate::{
    appliance::backend::{make_backend, BackendSpec},
    lab::conformance,
};

/// Arguments of `rampart verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Signature rule: strict, zip215 or zip215-amended.
    #[arg(long, default_value = "strict")]
    rule: Rule,
    /// Verification backend: cpu or fpga-sim.
    #[arg(long, default_value = "cpu")]
    backend: BackendKind,
    /// JSON-lines file to read, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
}

/// Runs `rampart verify`.
///
/// # Errors
/// When the backend cannot be built, the input cannot be opened or read, or
/// the output cannot be written.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let mut backend = make_backend(&BackendSpec {
        kind: args.backend,
        engine: EngineChoice::Auto,
        max_rlc_batch: conformance::BATCH,
        adaptive: true,
        // Conformance output names each rejection's exact reason.
        exact_reasons: true,
    })?;
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(BufReader::new(io::stdin().lock()))
    } else {
        let file = File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input.display()))?;
        Box::new(BufReader::new(file))
    };
    let mut out = BufWriter::new(io::stdout().lock());
    conformance::run(backend.as_mut(), args.rule, reader, &mut out)
}
