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

# Debian packages: a C toolchain for crates that build C, pkg-config.
APT_PACKAGES=(build-essential pkg-config ca-certificates)

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

install_apt_packages
check_rust
say "done"
