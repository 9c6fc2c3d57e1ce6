//! Verilates each simulated top (`rtl/<top>.v`, submodules found in `rtl/`)
//! into its own directory with its own class prefix, and compiles the models,
//! one copy of the Verilator runtime and the C-ABI shims (`csrc/`) into a
//! static library (only with the `verilator` feature). The engine's ROM files
//! (`rtl/microcode.hex`, `rtl/consts.hex`) are read by `$readmemh` when a
//! model is created, from their absolute path in this source tree.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "verilator")]
    verilate::build();
}

#[cfg(feature = "verilator")]
mod verilate {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const SETUP_HINT: &str = "run ./deploy/setup.sh (it installs the `verilator` Debian package), \
         or build without it: cargo build -p rampart-fpga --no-default-features";

    pub fn build() {
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
        let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
        // Top module of every verilated block; `rtl/<name>.v`, `csrc/<name>_shim.cpp`.
        let blocks = [
            "sha512",
            "fe_mul",
            "sha512_msg",
            "scalar_reduce",
            "engine",
            "verify_top",
        ];
        for dir in ["rtl", "csrc"] {
            println!("cargo:rerun-if-changed={}", manifest.join(dir).display());
            for entry in std::fs::read_dir(manifest.join(dir)).expect("read source dir") {
                let path = entry.expect("source dir entry").path();
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }

        let root = match Command::new("verilator")
            .args(["--getenv", "VERILATOR_ROOT"])
            .output()
        {
            Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
            Ok(o) => panic!(
                "`verilator --getenv VERILATOR_ROOT` failed ({}): {}; {SETUP_HINT}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!("`verilator` not found on PATH ({e}); {SETUP_HINT}"),
        };
        let include = root.join("include");

        let mdirs: Vec<PathBuf> = blocks
            .iter()
            .map(|name| verilate(&manifest.join("rtl"), name, &out))
            .collect();

        let mut build = cc::Build::new();
        build
            .cpp(true)
            .std("c++17")
            .opt_level(3)
            .warnings(false)
            .include(&include)
            .include(include.join("vltstd"))
            .include(manifest.join("csrc"))
            .define("VM_COVERAGE", "0")
            .define("VM_SC", "0")
            .define("VM_TRACE", "0")
            .define("VM_TRACE_FST", "0")
            .define("VM_TRACE_VCD", "0")
            .flag_if_supported("-faligned-new")
            .flag_if_supported("-Wno-unused-parameter")
            .file(include.join("verilated.cpp"))
            .file(include.join("verilated_threads.cpp"));
        for (name, mdir) in blocks.iter().zip(&mdirs) {
            build
                .include(mdir)
                .file(manifest.join(format!("csrc/{name}_shim.cpp")));
            for file in generated_sources(mdir) {
                build.file(file);
            }
        }
        build.compile("rampart_fpga_sim");
        println!("cargo:rustc-link-lib=stdc++");
        println!("cargo:rustc-link-lib=pthread");
    }

    /// Verilates `<rtl>/<top>.v` (top module `top`, class prefix `V<top>`,
    /// submodules from `rtl`) into its own directory under `out` and returns
    /// that directory.
    fn verilate(rtl: &Path, top: &str, out: &Path) -> PathBuf {
        let source = rtl.join(format!("{top}.v"));
        let define = |name: &str, file: &str| format!("-D{name}=\"{}\"", rtl.join(file).display());
        let mdir = out.join(format!("obj_dir_{top}"));
        if mdir.exists() {
            std::fs::remove_dir_all(&mdir).expect("clean obj_dir");
        }
        let status = Command::new("verilator")
            .args([
                "--cc",
                "-O3",
                "--x-assign",
                "fast",
                "--x-initial",
                "fast",
                "--no-timing",
            ])
            .args([
                "--top-module",
                top,
                "--prefix",
                &format!("V{top}"),
                "--Mdir",
            ])
            .arg(&mdir)
            .arg("-y")
            .arg(rtl)
            .arg(define("RAMPART_ROM_HEX", "microcode.hex"))
            .arg(define("RAMPART_CONSTS_HEX", "consts.hex"))
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("running verilator: {e}; {SETUP_HINT}"));
        assert!(status.success(), "verilator failed on {}", source.display());
        mdir
    }

    fn generated_sources(mdir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(mdir)
            .expect("read obj_dir")
            .map(|e| e.expect("obj_dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "verilator produced no C++ in {}",
            mdir.display()
        );
        files
    }
}
