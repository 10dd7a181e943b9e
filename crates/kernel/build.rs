//! The eBPF objects, bpf2go-style: `kernel/build/*.bpf.o` are committed, and
//! they are what the crate embeds (`include_bytes!`), so a fresh clone builds
//! with only Rust and Node, no clang.
//!
//! With clang on the machine (and `OMNITIDE_BPF_PREBUILT` unset) this script
//! first recompiles `kernel/*.bpf.c` with the flags of `kernel/Makefile` and
//! rewrites a committed object whose bytes changed, so an edited program is
//! rebuilt and shows up in `git status`. `test/kernel/bpf-objects.test.ts`
//! (part of `npm test`) fails while the committed objects differ from what
//! their sources compile to. The output is reproducible: sources are compiled
//! by relative path with `-fdebug-compilation-dir=.`, so the clone's location
//! does not end up in the debug info.
use std::{env, path::PathBuf, process::Command};

const PROGRAMS: [&str; 2] = ["xdp_filter", "cgroup_policy"];

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../kernel");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", root.join("omnitide_maps.h").display());
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-env-changed=OMNITIDE_BPF_PREBUILT");
    for name in PROGRAMS {
        println!("cargo:rerun-if-changed={}", root.join(format!("{name}.bpf.c")).display());
    }
    let committed = |name: &str| root.join("build").join(format!("{name}.bpf.o"));
    if env::var_os("OMNITIDE_BPF_PREBUILT").is_some() {
        return;
    }
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    if Command::new(&clang).arg("--version").output().is_err() {
        println!(
            "cargo:warning=clang not found: using the committed kernel/build/*.bpf.o (install clang to rebuild them from kernel/*.bpf.c)"
        );
        return;
    }
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").unwrap().as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => panic!("unsupported target arch {other}"),
    };
    for name in PROGRAMS {
        let fresh = out.join(format!("{name}.bpf.o"));
        // the flags of kernel/Makefile (the drift test builds with it)
        let status = Command::new(&clang)
            .current_dir(&root)
            .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror", "-fdebug-compilation-dir=."])
            .arg(format!("-I/usr/include/{arch}"))
            .arg("-I.")
            .arg("-c")
            .arg(format!("{name}.bpf.c"))
            .arg("-o")
            .arg(&fresh)
            .status()
            .unwrap_or_else(|e| panic!("running {clang}: {e}"));
        assert!(status.success(), "clang failed on kernel/{name}.bpf.c (needs libbpf-dev and linux-libc-dev headers)");
        let bytes = std::fs::read(&fresh).unwrap();
        let target = committed(name);
        if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
            println!("cargo:warning=regenerated {} from its source: commit it", target.display());
        }
    }
}
