//! Every RTL top lints clean under `verilator --lint-only -Wall`, with its
//! submodules from `rtl/` (the engine and the top pull in everything).
#![cfg(feature = "verilator")]

#[test]
fn every_top_lints_clean() {
    let rtl = concat!(env!("CARGO_MANIFEST_DIR"), "/rtl");
    for top in [
        "sha512_msg",
        "scalar_reduce",
        "rf_bank",
        "engine",
        "verify_top",
    ] {
        let out = std::process::Command::new("verilator")
            .args(["--lint-only", "-Wall", "-y", rtl])
            .arg(format!("{rtl}/{top}.v"))
            .output()
            .expect("run verilator (deploy/setup.sh installs it)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{top}: verilator -Wall: {stderr}"
        );
    }
}
