//! bpffs discovery and mounting.

use crate::errno_error;
use omnitide_common::Result;
use std::ffi::CString;

pub const BPFFS: &str = "/sys/fs/bpf";

/// Mount points of `fstype` from /proc/self/mountinfo (field 5 = mount point,
/// the fs type follows the " - " separator).
pub fn mounts_of(fstype: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return vec![] };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else { continue };
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
        if b[i] == b'\\' && i + 3 < b.len() + 0 && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
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
