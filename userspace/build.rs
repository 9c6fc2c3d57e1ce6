//! Builds the XDP program (`kernel/`) for the BPF target with a nightly
//! toolchain and `bpf-linker`, and leaves the object in OUT_DIR for
//! `include_bytes_aligned!`. `deploy/setup.sh` installs both.
//!
//! The nightly's LLVM must match bpf-linker's (22): the pinned nightly is used
//! when installed, else the machine's `nightly`; `RAMPART_BPF_TOOLCHAIN`
//! overrides both.

use std::process::{Command, Stdio};

const PINNED_NIGHTLY: &str = "nightly-2026-05-20";

/// Whether rustup lists `toolchain` as installed (asking the list, rather than
/// running the toolchain, never triggers rustup's auto-install).
fn installed(toolchain: &str) -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .stderr(Stdio::null())
        .output()
        .map(|output| {
            String::from_utf8_lossy(&output.stdout).lines().any(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|name| name.starts_with(toolchain))
            })
        })
        .unwrap_or(false)
}

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=RAMPART_BPF_TOOLCHAIN");
    let toolchain = match std::env::var("RAMPART_BPF_TOOLCHAIN") {
        Ok(toolchain) => toolchain,
        Err(_) if installed(PINNED_NIGHTLY) => PINNED_NIGHTLY.to_owned(),
        Err(_) => "nightly".to_owned(),
    };
    let kernel = concat!(env!("CARGO_MANIFEST_DIR"), "/../kernel");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "rampart-ebpf",
            root_dir: kernel,
            ..Default::default()
        }],
        aya_build::Toolchain::Custom(&toolchain),
    )
}
