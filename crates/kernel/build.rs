//! Compiles kernel/*.bpf.c with clang into OUT_DIR; the objects are embedded with
//! include_bytes! so the addon needs no files at run time. `make -C kernel` builds
//! the same objects into kernel/build/ for the npm tarball.
use std::{env, path::PathBuf, process::Command};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../kernel");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").unwrap().as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => panic!("unsupported target arch {other}"),
    };
    println!("cargo:rerun-if-changed={}", root.join("omnitide_maps.h").display());
    println!("cargo:rerun-if-env-changed=CLANG");
    for name in ["xdp_filter", "cgroup_policy"] {
        let src = root.join(format!("{name}.bpf.c"));
        println!("cargo:rerun-if-changed={}", src.display());
        let status = Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
            .arg(format!("-I/usr/include/{arch}"))
            .arg(format!("-I{}", root.display()))
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(out.join(format!("{name}.bpf.o")))
            .status()
            .unwrap_or_else(|e| panic!("running {clang} (apt-get install clang libbpf-dev linux-libc-dev): {e}"));
        assert!(status.success(), "clang failed on {}", src.display());
    }
}
