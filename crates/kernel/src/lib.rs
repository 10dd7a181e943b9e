//! omnitide kernel tooling: an XDP packet filter (blocklists with longest-prefix
//! match, per-source rate limits, probabilistic drop, per-CPU counters), cgroup v2
//! control through cgroupfs, and cgroup BPF policy (cgroup_skb + connect4/6).
//!
//! The eBPF programs are C (`kernel/*.bpf.c`), compiled by build.rs with clang and
//! loaded with aya 0.13. Attachments are bpf_links: they disappear with their owner
//! unless pinned under `/sys/fs/bpf/omnitide/`.

pub mod bpffs;
pub mod cgroup;
pub mod cgroup_batch;
pub mod cgroup_bpf;
mod cgroup_events;
pub mod doctor;
pub mod maps;
pub mod net;
pub mod pins;
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
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(524) => {
            Error::new(code::UNSUPPORTED, format!("{what}: not supported by this kernel ({e})"))
        }
        _ => Error::io(what, e),
    }
}

/// The errno carried by an error or anything in its `source()` chain. aya wraps
/// syscall failures one to three levels deep (EbpfError -> MapError ->
/// SyscallError -> io::Error); walking the chain classifies them by errno
/// instead of by the text of their `Debug` output.
pub(crate) fn errno_in(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(n) = x.downcast_ref::<std::io::Error>().and_then(|io| io.raw_os_error()) {
            return Some(n);
        }
        cur = x.source();
    }
    None
}

/// The one mapping of aya errors (XDP and cgroup programs alike) to omnitide
/// codes: by errno, with the verifier's verdict kept for a rejected program.
pub(crate) fn aya_err<E: std::error::Error + 'static>(what: &str, e: E) -> Error {
    let dynamic: &(dyn std::error::Error + 'static) = &e;
    if let Some(aya::programs::ProgramError::LoadError { io_error, verifier_log }) = dynamic.downcast_ref() {
        if io_error.raw_os_error() != Some(libc::EPERM) {
            let log = verifier_log.to_string();
            let tail: String = log.chars().rev().take(600).collect::<Vec<_>>().into_iter().rev().collect();
            return Error::internal(format!("{what}: the kernel verifier rejected the program ({io_error}): {tail}"));
        }
    }
    match errno_in(dynamic) {
        Some(n) => errno_error(&format!("{what} ({e})"), &std::io::Error::from_raw_os_error(n)),
        None => Error::internal(format!("{what}: {e}")),
    }
}
