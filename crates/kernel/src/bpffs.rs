//! bpffs discovery and mounting.

use crate::errno_error;
use omnitide_common::Result;
use std::ffi::CString;

pub const BPFFS: &str = "/sys/fs/bpf";

/// Mount points of `fstype` from /proc/self/mountinfo (field 5 = mount point,
/// the fs type follows the " - " separator).
pub fn mounts_of(fstype: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return vec![];
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let fs = post.split_whitespace().next().unwrap_or("");
        if fs == fstype {
            if let Some(mp) = pre.split_whitespace().nth(4) {
                out.push(unescape(mp));
            }
        }
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn is_mounted() -> bool {
    mounts_of("bpf").iter().any(|m| m == BPFFS)
}

/// Mounts bpffs at /sys/fs/bpf when it is not mounted yet.
pub fn ensure_mounted() -> Result<()> {
    if is_mounted() {
        return Ok(());
    }
    std::fs::create_dir_all(BPFFS).map_err(|e| errno_error(&format!("creating {BPFFS}"), &e))?;
    let src = CString::new("bpf").unwrap();
    let tgt = CString::new(BPFFS).unwrap();
    let data = CString::new("mode=0700").unwrap();
    let r = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), src.as_ptr(), 0, data.as_ptr() as *const libc::c_void) };
    if r != 0 {
        return Err(errno_error(&format!("mounting bpffs at {BPFFS}"), &std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `maj:min` of the bpffs mounted at `mount_point` in a mountinfo text.
fn bpffs_dev(mountinfo: &str, mount_point: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let f: Vec<&str> = pre.split_whitespace().collect();
        (post.split_whitespace().next() == Some("bpf") && f.get(4).map(|m| unescape(m)) == Some(mount_point.to_string()))
            .then(|| f.get(2).map(|s| s.to_string()))
            .flatten()
    })
}

/// Mount id of the root mount in a mountinfo text: mount ids are unique per
/// mount instance, so two processes see the same id for `/` only when they
/// share one mount namespace (readlink of /proc/1/ns/mnt may be refused).
fn root_mount_id(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(4) == Some(&"/")).then(|| f[0].to_string())
    })
}

/// Whether a pin made now under /sys/fs/bpf outlives this process.
///
/// `ip netns exec` runs the command in a mount namespace of its own with a
/// fresh /sys; a bpffs mounted there (by it or by us) dies with that
/// namespace, and every pin in it, although the attach "succeeded". A pin
/// persists when the bpffs instance it lands in is the one pid 1 sees: we
/// share pid 1's mount namespace, or pid 1 has the same bpffs superblock
/// mounted. When pid 1's view cannot be read, another process sharing our
/// namespace or our bpffs is accepted instead. Otherwise the answer is an error
/// that says so and what to do instead.
pub fn check_pins_persist() -> Result<()> {
    let mine = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let my_dev = bpffs_dev(&mine, BPFFS);
    let shares = |theirs: &str| -> bool {
        (root_mount_id(theirs).is_some() && root_mount_id(theirs) == root_mount_id(&mine))
            || my_dev.as_ref().is_some_and(|d| {
                theirs.lines().any(|l| {
                    l.split_once(" - ").is_some_and(|(pre, post)| post.starts_with("bpf ") && pre.split_whitespace().nth(2) == Some(d))
                })
            })
    };
    if let Ok(init) = std::fs::read_to_string("/proc/1/mountinfo") {
        if shares(&init) {
            return Ok(());
        }
    } else if let Ok(rd) = std::fs::read_dir("/proc") {
        let my_pid = std::process::id();
        for ent in rd.flatten() {
            let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid != my_pid && std::fs::read_to_string(ent.path().join("mountinfo")).is_ok_and(|t| shares(&t)) {
                return Ok(());
            }
        }
    }
    Err(omnitide_common::Error::new(
        omnitide_common::code::UNSUPPORTED,
        format!(
            "pin: this process runs in a private mount namespace (as under `ip netns exec`) whose {BPFFS} is not the host's, \
             so a pin there would vanish with it; enter only the network namespace instead \
             (`nsenter --net=/run/netns/NAME omnitide xdp attach IFACE`), or attach without pinning"
        ),
    ))
}
