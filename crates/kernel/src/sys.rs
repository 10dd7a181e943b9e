//! Raw bpf(2) calls that aya 0.13 does not expose: batch map updates, plain
//! element ops on any map fd, BPF_PROG_TEST_RUN, BPF_OBJ_GET_INFO_BY_FD.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_MAP_LOOKUP_ELEM: u32 = 1;
const BPF_MAP_UPDATE_ELEM: u32 = 2;
const BPF_MAP_DELETE_ELEM: u32 = 3;
const BPF_MAP_GET_NEXT_KEY: u32 = 4;
const BPF_PROG_TEST_RUN: u32 = 10;
const BPF_PROG_GET_FD_BY_ID: u32 = 13;
const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
const BPF_MAP_UPDATE_BATCH: u32 = 26;
const BPF_MAP_DELETE_BATCH: u32 = 27;

pub const BPF_ANY: u64 = 0;

/// bpf_attr is a union of at most ~150 bytes; a zeroed u64 buffer covers every command used here.
#[repr(C, align(8))]
struct Attr([u8; 160]);

impl Attr {
    fn new() -> Self {
        Attr([0; 160])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().unwrap())
    }
}

fn bpf(cmd: u32, attr: &mut Attr) -> io::Result<i64> {
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr as *mut Attr, std::mem::size_of::<Attr>() as libc::c_long) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub fn update(fd: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32).u64(8, key.as_ptr() as u64).u64(16, value.as_ptr() as u64).u64(24, flags);
    bpf(BPF_MAP_UPDATE_ELEM, &mut a).map(|_| ())
}

/// Returns Ok(false) when the key is absent.
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> io::Result<bool> {
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32).u64(8, key.as_ptr() as u64);
    match bpf(BPF_MAP_DELETE_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Returns Ok(false) when the key is absent. For per-CPU maps `value` must hold
/// one 8-byte-aligned slot per possible CPU.
pub fn lookup(fd: BorrowedFd<'_>, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32).u64(8, key.as_ptr() as u64).u64(16, value.as_mut_ptr() as u64);
    match bpf(BPF_MAP_LOOKUP_ELEM, &mut a) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every key of a map (iteration with GET_NEXT_KEY).
pub fn keys(fd: BorrowedFd<'_>, key_size: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    loop {
        let mut next = vec![0u8; key_size];
        let mut a = Attr::new();
        a.u32(0, fd.as_raw_fd() as u32).u64(8, cur.as_ref().map(|k| k.as_ptr() as u64).unwrap_or(0)).u64(16, next.as_mut_ptr() as u64);
        match bpf(BPF_MAP_GET_NEXT_KEY, &mut a) {
            Ok(_) => {
                out.push(next.clone());
                cur = Some(next);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

/// BPF_MAP_UPDATE_BATCH over packed keys/values. Returns how many elements the
/// kernel applied (all of them on success). Falls back to a loop of single
/// updates when the map type has no batch support.
pub fn update_batch(fd: BorrowedFd<'_>, keys: &[u8], values: &[u8], key_size: usize, value_size: usize) -> (usize, io::Result<()>) {
    let n = keys.len() / key_size;
    debug_assert_eq!(values.len() / value_size, n);
    let mut done = 0usize;
    // The kernel copies in chunks; keep each call bounded so a failure is cheap to undo.
    const CHUNK: usize = 1 << 16;
    while done < n {
        let count = (n - done).min(CHUNK);
        let mut a = Attr::new();
        a.u64(16, keys[done * key_size..].as_ptr() as u64)
            .u64(24, values[done * value_size..].as_ptr() as u64)
            .u32(32, count as u32)
            .u32(36, fd.as_raw_fd() as u32);
        match bpf(BPF_MAP_UPDATE_BATCH, &mut a) {
            Ok(_) => done += count,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOTSUP) | Some(524)) && a.get_u32(32) == 0 => {
                // ENOTSUPP (524): no batch ops for this map type; use single updates.
                for i in done..n {
                    if let Err(e) =
                        update(fd, &keys[i * key_size..(i + 1) * key_size], &values[i * value_size..(i + 1) * value_size], BPF_ANY)
                    {
                        return (i, Err(e));
                    }
                }
                return (n, Ok(()));
            }
            Err(e) => return (done + a.get_u32(32) as usize, Err(e)),
        }
    }
    (n, Ok(()))
}

/// BPF_MAP_DELETE_BATCH, falling back to single deletes. Absent keys are ignored.
pub fn delete_batch(fd: BorrowedFd<'_>, keys: &[u8], key_size: usize) -> io::Result<usize> {
    let n = keys.len() / key_size;
    let mut removed = 0;
    for i in 0..n {
        if delete(fd, &keys[i * key_size..(i + 1) * key_size])? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes with BPF_MAP_DELETE_BATCH when every key is known to be present (rollback path).
pub fn delete_batch_present(fd: BorrowedFd<'_>, keys: &[u8], key_size: usize) -> io::Result<()> {
    let n = keys.len() / key_size;
    if n == 0 {
        return Ok(());
    }
    let mut a = Attr::new();
    a.u64(16, keys.as_ptr() as u64).u32(32, n as u32).u32(36, fd.as_raw_fd() as u32);
    match bpf(BPF_MAP_DELETE_BATCH, &mut a) {
        Ok(_) => Ok(()),
        Err(_) => delete_batch(fd, keys, key_size).map(|_| ()),
    }
}

pub struct TestRun {
    pub retval: u32,
    /// Average nanoseconds per run as measured by the kernel.
    pub duration_ns: u32,
    pub data_out: Vec<u8>,
}

pub fn prog_test_run(prog: BorrowedFd<'_>, data: &[u8], repeat: u32) -> io::Result<TestRun> {
    let mut out = vec![0u8; data.len() + 512];
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32)
        .u32(8, data.len() as u32)
        .u32(12, out.len() as u32)
        .u64(16, data.as_ptr() as u64)
        .u64(24, out.as_mut_ptr() as u64)
        .u32(32, repeat);
    bpf(BPF_PROG_TEST_RUN, &mut a)?;
    let size_out = a.get_u32(12) as usize;
    out.truncate(size_out.min(out.len()));
    Ok(TestRun { retval: a.get_u32(4), duration_ns: a.get_u32(36), data_out: out })
}

/// bpf_link_info: returns (prog_id, type, ifindex-for-xdp).
pub fn link_info(fd: BorrowedFd<'_>) -> io::Result<(u32, u32, u32)> {
    let mut info = [0u8; 128];
    let mut a = Attr::new();
    a.u32(0, fd.as_raw_fd() as u32).u32(4, info.len() as u32).u64(8, info.as_mut_ptr() as u64);
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a)?;
    let r = |o: usize| u32::from_ne_bytes(info[o..o + 4].try_into().unwrap());
    // struct bpf_link_info { __u32 type; __u32 id; __u32 prog_id; union { ... xdp { __u32 ifindex; } } }
    Ok((r(8), r(0), r(16)))
}

pub fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, id);
    let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut a)?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub fn possible_cpus() -> usize {
    aya::util::nr_cpus().unwrap_or(1).max(1)
}

const BPF_OBJ_PIN: u32 = 6;
const BPF_OBJ_GET: u32 = 7;
const BPF_LINK_CREATE: u32 = 28;
const BPF_LINK_DETACH: u32 = 34;
pub const BPF_XDP: u32 = 37;
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// BPF_LINK_CREATE for XDP: the link owns the attachment; closing its last fd detaches.
pub fn xdp_link_create(prog: BorrowedFd<'_>, ifindex: u32, flags: u32) -> io::Result<OwnedFd> {
    let mut a = Attr::new();
    a.u32(0, prog.as_raw_fd() as u32).u32(4, ifindex).u32(8, BPF_XDP).u32(12, flags);
    let fd = bpf(BPF_LINK_CREATE, &mut a)?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub fn link_detach(link: BorrowedFd<'_>) -> io::Result<()> {
    let mut a = Attr::new();
    a.u32(0, link.as_raw_fd() as u32);
    bpf(BPF_LINK_DETACH, &mut a).map(|_| ())
}

pub fn obj_pin(fd: BorrowedFd<'_>, path: &std::path::Path) -> io::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut a = Attr::new();
    a.u64(0, c.as_ptr() as u64).u32(8, fd.as_raw_fd() as u32);
    bpf(BPF_OBJ_PIN, &mut a).map(|_| ())
}

pub fn obj_get(path: &std::path::Path) -> io::Result<OwnedFd> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut a = Attr::new();
    a.u64(0, c.as_ptr() as u64);
    let fd = bpf(BPF_OBJ_GET, &mut a)?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
