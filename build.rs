//! Links GCC's unwinder into the binary on Linux with glibc, instead of loading
//! libgcc_s.so.1 at start-up.
//!
//! Rust's standard library asks the linker for `-lgcc_s`. Loading that library costs
//! every process a file to map and relocate, and its constructor probes the CPU with
//! about a dozen CPUID instructions, each a VM exit under a hypervisor: together about
//! 0.2 ms of a 4 ms `verify` on the benchmark machine (BENCHMARKS.md, "Start-up").
//! Nothing here needs the shared library: the unwinder in libgcc_eh.a, which is what
//! `gcc -static-libgcc` links, serves panics and backtraces alike. So `-lgcc_s` is
//! pointed at a one-line linker script that names libgcc_eh.a, found first on the
//! search path, and the compiler driver is told to link libgcc statically as well.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let target = |key: &str| env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") != "linux"
        || target("CARGO_CFG_TARGET_ENV") != "gnu"
        || target("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
    {
        return;
    }
    let out = env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let dir = PathBuf::from(out).join("static-libgcc");
    fs::create_dir_all(&dir).expect("cannot create a directory in OUT_DIR");
    fs::write(dir.join("libgcc_s.so"), "INPUT ( -lgcc_eh )\n")
        .expect("cannot write the linker script in OUT_DIR");
    println!("cargo::rustc-link-search=native={}", dir.display());
    println!("cargo::rustc-link-arg=-static-libgcc");
    println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
