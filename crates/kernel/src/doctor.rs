//! What the running kernel and process offer, and what each missing piece disables.

use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What does not work when this check fails.
    pub disables: String,
    /// Whether omnitide/kernel needs this: a failed required check makes
    /// `omnitide doctor` exit non-zero, for every user alike. A failed optional
    /// one only disables what `disables` names.
    pub required: bool,
}

fn cap_eff() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("CapEff:")).and_then(|l| u64::from_str_radix(l[7..].trim(), 16).ok()))
        .unwrap_or(0)
}

pub fn has_cap(bit: u32) -> bool {
    cap_eff() & (1u64 << bit) != 0
}

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_BPF: u32 = 39;

pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

pub fn checks() -> Vec<Check> {
    let mut out = Vec::new();
    let rel = kernel_release();
    let (maj, min) = {
        let mut it = rel.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    out.push(Check {
        name: "kernel".into(),
        ok: (maj, min) >= (5, 14),
        detail: rel.clone(),
        disables: "bpf_link XDP attach (5.9), cgroup.kill (5.14), batch map ops (5.6)".into(),
        required: true,
    });
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    out.push(Check {
        name: "btf".into(),
        ok: btf,
        detail: if btf { "/sys/kernel/btf/vmlinux".into() } else { "missing".into() },
        disables: "BTF-typed maps (loading may still work)".into(),
        required: false,
    });
    let bpffs = crate::bpffs::is_mounted();
    out.push(Check {
        name: "bpffs".into(),
        ok: true,
        detail: if bpffs { "mounted at /sys/fs/bpf".into() } else { "not mounted; omnitide mounts it when pinning".into() },
        disables: "pinning (xdp.attach({ pin: true }), xdp.list/open)".into(),
        required: false,
    });
    match crate::cgroup::root() {
        Ok(r) => {
            let ctrls = std::fs::read_to_string(r.join("cgroup.controllers")).unwrap_or_default();
            let ctrls = ctrls.trim().to_string();
            out.push(Check {
                name: "cgroup2".into(),
                ok: true,
                detail: r.display().to_string(),
                disables: "cgroup.create/open, cgroup BPF".into(),
                required: true,
            });
            let missing: Vec<&str> =
                ["cpu", "memory", "io", "pids"].into_iter().filter(|c| !ctrls.split_whitespace().any(|x| x == *c)).collect();
            out.push(Check {
                name: "cgroup2 controllers".into(),
                ok: missing.is_empty(),
                detail: format!(
                    "[{}]{}",
                    ctrls,
                    if missing.is_empty() { String::new() } else { format!(", missing: {}", missing.join(" ")) }
                ),
                disables: if missing.is_empty() {
                    String::new()
                } else {
                    format!("setLimits for {} (ERR_OMNI_CONTROLLER_UNAVAILABLE)", missing.join(", "))
                },
                required: false,
            });
        }
        Err(e) => out.push(Check {
            name: "cgroup2".into(),
            ok: false,
            detail: e.message,
            disables: "cgroup.create/open, cgroup BPF".into(),
            required: true,
        }),
    }
    let euid = unsafe { libc::geteuid() };
    // Root itself is not needed (the capabilities below are): informational.
    out.push(Check {
        name: "root".into(),
        ok: euid == 0,
        detail: format!("euid {euid}"),
        disables: "nothing by itself; the capabilities below are what count".into(),
        required: false,
    });
    for (name, bit, dis) in [
        ("CAP_BPF", CAP_BPF, "loading eBPF programs and maps"),
        ("CAP_NET_ADMIN", CAP_NET_ADMIN, "XDP attach, cgroup_skb programs"),
        ("CAP_SYS_ADMIN", CAP_SYS_ADMIN, "mounting bpffs, some cgroup writes"),
    ] {
        let ok = has_cap(bit);
        out.push(Check {
            name: name.into(),
            ok,
            detail: if ok { "effective".into() } else { "missing".into() },
            disables: dis.into(),
            required: true,
        });
    }
    out
}
