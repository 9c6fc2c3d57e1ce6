//! Builds the XDP program (`kernel/`) for the BPF target with the nightly
//! toolchain and `bpf-linker`, and leaves the object in OUT_DIR for
//! `include_bytes_aligned!`. `deploy/setup.sh` installs both.

fn main() -> anyhow::Result<()> {
    let kernel = concat!(env!("CARGO_MANIFEST_DIR"), "/../kernel");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "rampart-ebpf",
            root_dir: kernel,
            ..Default::default()
        }],
        aya_build::Toolchain::Nightly,
    )
}
