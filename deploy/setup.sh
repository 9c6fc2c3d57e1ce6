#!/usr/bin/env bash
# Installs everything Rampart needs on a fresh Debian 12 machine, idempotently:
# a second run changes nothing and only says what it found.
#
#   ./deploy/setup.sh            install what is missing
#
# Each step says what it checks and what it does; a failed download stops the
# script with a message naming the step.
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] FAILED: %s\n' "$*" >&2; exit 1; }

# Debian packages: a C toolchain for crates that build C, pkg-config; iproute2
# for the namespace tests and `rampart bench xdp`; nftables for that bench's
# comparison; verilator for the FPGA core's simulation (fpga/build.rs); yosys
# for the FPGA resource report (fpga/synth/run.sh, not part of the tests).
APT_PACKAGES=(build-essential pkg-config ca-certificates iproute2 nftables verilator yosys)

# The XDP program builds with a nightly (for -Z build-std=core) whose LLVM
# major must equal bpf-linker's. bpf-linker 0.10.0 is the last release that
# uses rustc's own LLVM (22 here); newer ones want a system LLVM 23 that
# Debian 12 lacks. userspace/build.rs looks for these toolchains in order.
BPF_LLVM_MAJOR=22
PINNED_NIGHTLY=nightly-2026-05-20
BPF_LINKER_VERSION=0.10.0

# cargo-fuzz drives the libFuzzer targets in fuzz/ under that same nightly
# (docs/fuzzing.md); the test command's smoke run (userspace/tests/fuzz_smoke.rs)
# needs it.
CARGO_FUZZ_VERSION=0.13.2

# The stable Rust the workspace is checked against (Cargo.toml rust-version).
RUST_MIN_MINOR=95

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        fail "need root for: $* (run as root or install sudo)"
    fi
}

install_apt_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "apt packages present: ${APT_PACKAGES[*]}"
        return
    fi
    say "installing apt packages: ${missing[*]}"
    as_root apt-get update -qq || fail "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
        || fail "apt-get install ${missing[*]}"
}

check_rust() {
    command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup (stable 1.${RUST_MIN_MINOR} or newer)"
    local minor
    minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
    if [ "${minor:-0}" -lt "$RUST_MIN_MINOR" ]; then
        fail "rustc $(rustc --version) is older than 1.${RUST_MIN_MINOR}: run 'rustup update stable'"
    fi
    say "rust present: $(rustc --version)"
}

# The LLVM major of an installed toolchain, empty if it is not installed.
# Checks rustup's list first: running a missing toolchain can make rustup
# download it where auto-install is on.
llvm_major() {
    rustup toolchain list 2>/dev/null | grep -q "^$1" || return 0
    rustup run "$1" rustc -vV 2>/dev/null | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'
}

install_bpf_toolchain() {
    local toolchain=""
    for candidate in "$PINNED_NIGHTLY" nightly; do
        if [ "$(llvm_major "$candidate")" = "$BPF_LLVM_MAJOR" ]; then
            toolchain=$candidate
            break
        fi
    done
    if [ -z "$toolchain" ]; then
        say "installing $PINNED_NIGHTLY (no nightly with LLVM $BPF_LLVM_MAJOR found)"
        rustup toolchain install "$PINNED_NIGHTLY" --profile minimal --component rust-src \
            || fail "rustup toolchain install $PINNED_NIGHTLY (is the Rust download server reachable?)"
        toolchain=$PINNED_NIGHTLY
    fi
    if rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
        say "eBPF toolchain present: $toolchain (LLVM $BPF_LLVM_MAJOR) with rust-src"
    else
        say "adding rust-src to $toolchain (needed for -Z build-std=core)"
        rustup component add rust-src --toolchain "$toolchain" || fail "rustup component add rust-src --toolchain $toolchain"
    fi
}

install_bpf_linker() {
    if command -v bpf-linker >/dev/null && bpf-linker --version 2>/dev/null | grep -q "$BPF_LINKER_VERSION"; then
        say "bpf-linker $BPF_LINKER_VERSION present"
        return
    fi
    say "installing bpf-linker $BPF_LINKER_VERSION (about 1.5 minutes)"
    cargo install "bpf-linker@$BPF_LINKER_VERSION" --locked || fail "cargo install bpf-linker@$BPF_LINKER_VERSION"
}

install_cargo_fuzz() {
    if cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
        say "cargo-fuzz $CARGO_FUZZ_VERSION present"
        return
    fi
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 1 minute)"
    cargo install "cargo-fuzz@$CARGO_FUZZ_VERSION" --locked || fail "cargo install cargo-fuzz@$CARGO_FUZZ_VERSION"
}

install_apt_packages
check_rust
install_bpf_toolchain
install_bpf_linker
install_cargo_fuzz
say "done"
