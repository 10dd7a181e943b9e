//! Where a pinned XDP filter lives: keyed by network namespace and ifindex.
//!
//! Interface names are only unique inside one network namespace (every
//! container has an `eth0`), so a pin keyed by name alone lets one namespace
//! act on another's filter. A filter pins under
//! `/sys/fs/bpf/omnitide/net<netns inode>/<ifindex>-<name>/`: the namespace
//! inode and the ifindex are the key, the name is there for people listing
//! the directory. A process only ever sees the entries of its own namespace.

use crate::{errno_error, sys};
use omnitide_common::Result;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Inode of the calling thread's network namespace (network namespaces are
/// per thread, so /proc/thread-self, not /proc/self).
pub fn netns_inode() -> Result<u64> {
    let m = std::fs::metadata("/proc/thread-self/ns/net").map_err(|e| errno_error("reading /proc/thread-self/ns/net", &e))?;
    Ok(m.ino())
}

/// The directory holding every pin of one network namespace.
pub fn netns_dir(root: &Path, netns: u64) -> PathBuf {
    root.join(format!("net{netns}"))
}

/// The pin directory of a filter on `ifindex` named `iface`.
pub fn filter_dir(root: &Path, netns: u64, ifindex: u32, iface: &str) -> PathBuf {
    netns_dir(root, netns).join(format!("{ifindex}-{iface}"))
}

/// One pin directory of the current namespace: (ifindex, name at attach time, path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub ifindex: u32,
    pub iface: String,
    pub dir: PathBuf,
}

/// Every pin directory of namespace `netns`.
pub fn entries(root: &Path, netns: u64) -> Result<Vec<Entry>> {
    let dir = netns_dir(root, netns);
    let rd = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(errno_error(&format!("reading {}", dir.display()), &e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| errno_error(&format!("reading {}", dir.display()), &e))?;
        let name = ent.file_name().to_string_lossy().to_string();
        let Some((idx, iface)) = name.split_once('-') else {
            continue;
        };
        let Ok(ifindex) = idx.parse::<u32>() else {
            continue;
        };
        out.push(Entry { ifindex, iface: iface.to_string(), dir: ent.path() });
    }
    out.sort_by_key(|e| e.ifindex);
    Ok(out)
}

/// The pinned link file inside a filter directory and the mode in its name.
pub fn link_file(dir: &Path) -> Option<(PathBuf, String)> {
    let rd = std::fs::read_dir(dir).ok()?;
    for f in rd.flatten() {
        let name = f.file_name().to_string_lossy().to_string();
        if let Some(mode) = name.strip_prefix("link_") {
            return Some((f.path(), mode.to_string()));
        }
    }
    None
}

/// The ifindex the pinned link is attached to; 0 once its interface is gone
/// (the kernel detaches a link whose device disappears, e.g. with its namespace).
pub fn link_ifindex(link: &Path) -> Option<u32> {
    let fd = sys::obj_get(link).ok()?;
    use std::os::fd::AsFd;
    sys::link_info(fd.as_fd()).ok().map(|(_, _, ifindex)| ifindex)
}
