//! Builds the C artefacts the plugin tests load: the C counting plugin, deliberately broken
//! variants of it (another ABI major, a truncated vtable, a wrong magic, no entry symbol, a
//! `create` that hangs), and the header layout printer. Outputs go to `OUT_DIR`; tests find them through `TICKRAIL_C_ARTEFACTS`.
//! The Rust plugins' shared libraries are built by the tests themselves (`cargo build -p ...`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn cc(out: &Path, src: &Path, include: &Path, args: &[&str], name: &str) {
    let compiler = cc::Build::new().get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(include)
        .args(args)
        .arg(src)
        .arg("-o")
        .arg(out.join(name));
    let status = cmd.status().unwrap_or_else(|e| panic!("running the C compiler for {name}: {e}"));
    assert!(status.success(), "the C compiler failed building {name} from {}", src.display());
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("..");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let include = root.join("abi/include");
    let plugin = root.join("plugins/c_counting/c_counting.c");
    let layout = root.join("abi/c/layout.c");
    for p in [&include.join("tickrail.h"), &plugin, &layout] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let so = ["-fPIC", "-shared", "-fvisibility=hidden"];
    let variants: [(&str, &[&str]); 6] = [
        ("libc_counting.so", &[]),
        ("libc_abi_major1.so", &["-DTRC_ABI_MAJOR=1"]),
        ("libc_small_vtable.so", &["-DTRC_STRUCT_SIZE=40"]),
        ("libc_bad_magic.so", &["-DTRC_MAGIC=0x1234ULL"]),
        ("libc_no_entry.so", &["-DTRC_ENTRY=tickrail_plugin_v0"]),
        ("libc_hang_create.so", &["-DTRC_HANG_CREATE", "-DTRC_VERSION=\"c-hang\""]),
    ];
    for (name, defs) in variants {
        let args: Vec<&str> = so.iter().chain(defs.iter()).copied().collect();
        cc(&out, &plugin, &include, &args, name);
    }
    cc(&out, &layout, &include, &[], "tickrail_layout");
    println!("cargo:rustc-env=TICKRAIL_C_ARTEFACTS={}", out.display());
}
