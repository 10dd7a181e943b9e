//! omnitide kernel tooling: an XDP packet filter (blocklists with longest-prefix
//! match, per-source rate limits, probabilistic drop, per-CPU counters), cgroup v2
//! control through cgroupfs, and cgroup BPF policy (cgroup_skb + connect4/6).
//!
//! The eBPF programs are C (`kernel/*.bpf.c`), compiled by build.rs with clang and
//! loaded with aya 0.13. Attachments are bpf_links: they disappear with their owner
//! unless pinned under `/sys/fs/bpf/omnitide/`.

pub mod bpffs;
pub mod cgroup;
pub mod cgroup_bpf;
pub mod doctor;
pub mod maps;
pub mod net;
pub mod sys;
pub mod xdp;

pub use cgroup::{Cgroup, CgroupLimits};
pub use net::Cidr;
pub use xdp::{Mode, XdpFilter, XdpStats};

use omnitide_common::{code, Error};

/// Maps an errno to the closest omnitide error code, naming the operation.
pub(crate) fn errno_error(what: &str, e: &std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            Error::new(code::PERMISSION, format!("{what}: permission denied ({e}); needs root or CAP_BPF + CAP_NET_ADMIN + CAP_SYS_ADMIN"))
        }
        Some(libc::ENOENT) | Some(libc::ENODEV) => Error::new(code::NOT_FOUND, format!("{what}: {e}")),
        Some(libc::EBUSY) | Some(libc::EEXIST) => Error::new(code::BUSY, format!("{what}: {e}")),
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(524) => Error::new(code::UNSUPPORTED, format!("{what}: not supported by this kernel ({e})")),
        _ => Error::io(what, e),
    }
}
