//! BLAKE3 hashing: one-shot, keyed, derive-key, XOF, streaming, batches and files.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use omnitide_common::{fixed, Error, Result};
use rayon::prelude::*;

pub const OUT_LEN: usize = blake3::OUT_LEN;
pub const KEY_LEN: usize = blake3::KEY_LEN;
/// Upper bound on one extended output. Larger outputs are almost always a unit
/// mistake (bytes vs bits) and would allocate that much in one call.
pub const MAX_OUTPUT_LEN: usize = 64 << 20;
/// Inputs at least this large are split over the rayon pool when the caller
/// asks for parallel hashing; below it, thread hand-off costs more than it saves
/// (blake3's own guidance is ~128 KiB).
pub const PARALLEL_THRESHOLD: usize = 128 << 10;
/// Files at least this large are memory-mapped and hashed on all cores.
pub const MMAP_THRESHOLD: u64 = 1 << 20;

/// Validates an output length requested by a caller under the name `arg`.
pub fn check_output_len(arg: &str, len: usize) -> Result<usize> {
    if len == 0 || len > MAX_OUTPUT_LEN {
        return Err(Error::invalid_arg(arg, format!("must be an integer between 1 and {MAX_OUTPUT_LEN}, got {len}")));
    }
    Ok(len)
}

fn key_of(key: Option<&[u8]>) -> Result<Option<&[u8; KEY_LEN]>> {
    key.map(|k| fixed::<KEY_LEN>("key", k)).transpose()
}

/// A hasher in one of BLAKE3's three modes.
#[derive(Clone)]
pub struct Hasher {
    inner: blake3::Hasher,
}

impl Hasher {
    pub fn new() -> Self {
        Self { inner: blake3::Hasher::new() }
    }

    pub fn new_keyed(key: &[u8]) -> Result<Self> {
        let key = fixed::<KEY_LEN>("key", key)?;
        Ok(Self { inner: blake3::Hasher::new_keyed(key) })
    }

    pub fn new_derive_key(context: &str) -> Self {
        Self { inner: blake3::Hasher::new_derive_key(context) }
    }

    fn with_key(key: Option<&[u8]>) -> Result<Self> {
        match key_of(key)? {
            Some(k) => Ok(Self { inner: blake3::Hasher::new_keyed(k) }),
            None => Ok(Self::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.inner.update(data);
        self
    }

    /// Multi-threaded update; worth it from about [`PARALLEL_THRESHOLD`] bytes.
    pub fn update_parallel(&mut self, data: &[u8]) -> &mut Self {
        if data.len() >= PARALLEL_THRESHOLD {
            self.inner.update_rayon(data);
        } else {
            self.inner.update(data);
        }
        self
    }

    /// Writes `out.len()` bytes of output (XOF) without consuming the state.
    pub fn finalize_into(&self, out: &mut [u8]) {
        if out.len() == OUT_LEN {
            out.copy_from_slice(self.inner.finalize().as_bytes());
        } else {
            self.inner.finalize_xof().fill(out);
        }
    }

    pub fn finalize_vec(&self, len: usize) -> Result<Vec<u8>> {
        check_output_len("length", len)?;
        let mut out = vec![0u8; len];
        self.finalize_into(&mut out);
        Ok(out)
    }

    /// Back to the state right after construction (same mode and key).
    pub fn reset(&mut self) -> &mut Self {
        self.inner.reset();
        self
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

/// One-shot hash into `out` (32 bytes, or any length for XOF). Single-threaded:
/// this is what a synchronous JS call runs on the event loop.
pub fn hash_into(data: &[u8], key: Option<&[u8]>, out: &mut [u8]) -> Result<()> {
    match (key_of(key)?, out.len()) {
        (None, OUT_LEN) => out.copy_from_slice(blake3::hash(data).as_bytes()),
        (Some(k), OUT_LEN) => out.copy_from_slice(blake3::keyed_hash(k, data).as_bytes()),
        _ => {
            let mut h = Hasher::with_key(key)?;
            h.update(data).finalize_into(out);
        }
    }
    Ok(())
}

pub fn hash(data: &[u8], key: Option<&[u8]>, len: usize) -> Result<Vec<u8>> {
    check_output_len("length", len)?;
    let mut out = vec![0u8; len];
    hash_into(data, key, &mut out)?;
    Ok(out)
}

/// One-shot hash that uses every core for large inputs (for off-loop calls).
pub fn hash_parallel(data: &[u8], key: Option<&[u8]>, len: usize) -> Result<Vec<u8>> {
    check_output_len("length", len)?;
    let mut h = Hasher::with_key(key)?;
    h.update_parallel(data);
    let mut out = vec![0u8; len];
    h.finalize_into(&mut out);
    Ok(out)
}

pub fn derive_key(context: &str, material: &[u8], len: usize) -> Result<Vec<u8>> {
    check_output_len("length", len)?;
    let mut out = vec![0u8; len];
    if len == OUT_LEN {
        out.copy_from_slice(&blake3::derive_key(context, material));
    } else {
        let mut h = Hasher::new_derive_key(context);
        h.update(material).finalize_into(&mut out);
    }
    Ok(out)
}

/// Hashes `n` items packed back to back in `data`, item `i` spanning
/// `ends[i-1]..ends[i]` (with `ends[-1] = 0`), writing 32 bytes per item into
/// `out`. One flat buffer in and one out is what keeps the per-item cost near the
/// hash itself when this is called across N-API.
pub fn hash_many_packed(data: &[u8], ends: &[u32], out: &mut [u8]) -> Result<()> {
    if out.len() != ends.len() * OUT_LEN {
        return Err(Error::invalid_arg(
            "out",
            format!("expected {} bytes for {} items, got {}", ends.len() * OUT_LEN, ends.len(), out.len()),
        ));
    }
    let mut start = 0usize;
    for (i, &end) in ends.iter().enumerate() {
        let end = end as usize;
        if end < start || end > data.len() {
            return Err(Error::invalid_arg("ends", format!("item {i} ends at {end}, outside {start}..={}", data.len())));
        }
        start = end;
    }
    let hash_one = |(i, slot): (usize, &mut [u8])| {
        let from = if i == 0 { 0 } else { ends[i - 1] as usize };
        slot.copy_from_slice(blake3::hash(&data[from..ends[i] as usize]).as_bytes());
    };
    // Large batches of large items are worth spreading; tiny items are not.
    if data.len() >= 4 * PARALLEL_THRESHOLD && ends.len() >= 64 {
        out.par_chunks_mut(OUT_LEN).enumerate().for_each(hash_one);
    } else {
        out.chunks_mut(OUT_LEN).enumerate().for_each(hash_one);
    }
    Ok(())
}

/// Hashes a list of separate buffers (the convenient Rust form).
pub fn hash_many<T: AsRef<[u8]> + Sync>(items: &[T]) -> Vec<[u8; OUT_LEN]> {
    let total: usize = items.iter().map(|i| i.as_ref().len()).sum();
    if total >= 4 * PARALLEL_THRESHOLD && items.len() >= 64 {
        items.par_iter().map(|i| *blake3::hash(i.as_ref()).as_bytes()).collect()
    } else {
        items.iter().map(|i| *blake3::hash(i.as_ref()).as_bytes()).collect()
    }
}

/// Error code of a file hash stopped through its cancel flag.
pub const ABORTED: &str = "ERR_OMNI_ABORTED";

/// Options for [`hash_file`].
#[derive(Debug, Clone, Default)]
pub struct FileOptions<'a> {
    pub key: Option<&'a [u8]>,
    pub derive_context: Option<&'a str>,
    pub length: Option<usize>,
    /// Use memory mapping + all cores for large files (default true).
    pub parallel: Option<bool>,
    /// Upper bound on the bytes read. Without it only regular files are
    /// hashed: a FIFO, a socket or a character device (`/dev/zero`) may never
    /// end, and a read that never ends would hold its thread (and, through
    /// libuv's exit-time join, the whole process) forever. With it they are
    /// streamed and anything longer fails with `ERR_OMNI_LIMIT`.
    pub max_bytes: Option<u64>,
    /// Checked between reads (at least every [`POLL_MS`] ms while a stream is
    /// idle): once set, the hash stops with [`ABORTED`].
    pub cancel: Option<&'a AtomicBool>,
}

/// How long a streamed read waits for data before it checks `cancel` again.
pub const POLL_MS: i32 = 50;

fn io_err(shown: &std::path::Display<'_>, e: &std::io::Error) -> Error {
    Error::io(format_args!("path '{shown}'"), e)
}

fn kind_name(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Hashes a file. Large regular files are memory-mapped and hashed on all cores
/// (blake3's `update_mmap_rayon`); small ones are read. Anything that is not a
/// regular file is refused unless `max_bytes` bounds it (then it is streamed).
/// The file is opened non-blocking, so opening a FIFO without a writer returns
/// at once instead of hanging, and its type is checked on the open descriptor
/// (no race with a path swapped after a `stat`).
pub fn hash_file(path: &Path, opts: &FileOptions<'_>) -> Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let len = check_output_len("length", opts.length.unwrap_or(OUT_LEN))?;
    let mut h = match (opts.key, opts.derive_context) {
        (Some(_), Some(_)) => return Err(Error::invalid_arg("opts", "key and context are mutually exclusive")),
        (_, Some(ctx)) => Hasher::new_derive_key(ctx),
        (key, None) => Hasher::with_key(key)?,
    };
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| io_err(&shown, &e))?;
    let meta = file.metadata().map_err(|e| io_err(&shown, &e))?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(Error::new(omnitide_common::code::IO, format!("path '{shown}': is a directory")));
    }
    let cancelled = || opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    if ft.is_file() {
        if let Some(max) = opts.max_bytes {
            if meta.len() > max {
                return Err(Error::limit("opts.maxBytes", format!("path '{shown}' has {} bytes, more than maxBytes {max}", meta.len())));
            }
        }
        if opts.parallel.unwrap_or(true) && meta.len() >= MMAP_THRESHOLD && opts.cancel.is_none() {
            // through our descriptor's /proc link: the very inode checked above
            let fd_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
            h.inner.update_mmap_rayon(&fd_path).map_err(|e| io_err(&shown, &e))?;
        } else {
            stream(&mut h, &file, u64::MAX, false, &cancelled).map_err(|e| e.at(&shown))?;
        }
    } else {
        let Some(max) = opts.max_bytes else {
            return Err(Error::invalid_arg(
                "path",
                format!(
                    "'{shown}' is {} and may never end; only regular files are hashed unless opts.maxBytes bounds the read",
                    kind_name(&ft)
                ),
            ));
        };
        use std::os::unix::fs::FileTypeExt;
        stream(&mut h, &file, max, ft.is_fifo(), &cancelled).map_err(|e| e.at(&shown))?;
    }
    let mut out = vec![0u8; len];
    h.finalize_into(&mut out);
    Ok(out)
}

/// Why [`stream`] stopped early.
enum StreamError {
    Io(std::io::Error),
    TooLong(u64),
    Cancelled,
}

impl StreamError {
    fn at(self, shown: &std::path::Display<'_>) -> Error {
        match self {
            StreamError::Io(e) => io_err(shown, &e),
            StreamError::TooLong(max) => Error::limit("opts.maxBytes", format!("path '{shown}' yielded more than maxBytes {max} bytes")),
            StreamError::Cancelled => Error::new(ABORTED, format!("path '{shown}': hashing was aborted")),
        }
    }
}

/// Reads `file` (non-blocking) to its end into `h`, waiting for data with
/// poll(2) in [`POLL_MS`] slices so that `cancelled` is seen promptly even
/// while a FIFO or device stays silent. A non-blocking FIFO reads 0 bytes both
/// before its first writer and after the last one left; only the second is
/// its end, which poll(2) tells apart with POLLHUP.
fn stream(h: &mut Hasher, file: &File, max: u64, fifo: bool, cancelled: &dyn Fn() -> bool) -> std::result::Result<(), StreamError> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    let mut f = file;
    let wait = |events: i16| -> std::result::Result<i16, StreamError> {
        let mut pfd = libc::pollfd { fd: file.as_raw_fd(), events, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, POLL_MS) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(StreamError::Io(e));
            }
        }
        Ok(pfd.revents)
    };
    loop {
        if cancelled() {
            return Err(StreamError::Cancelled);
        }
        match f.read(&mut buf) {
            Ok(0) if fifo => {
                let ev = wait(libc::POLLIN)?;
                if ev & libc::POLLHUP != 0 && ev & libc::POLLIN == 0 {
                    return Ok(());
                }
            }
            Ok(0) => return Ok(()),
            Ok(n) => {
                total += n as u64;
                if total > max {
                    return Err(StreamError::TooLong(max));
                }
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                wait(libc::POLLIN)?;
            }
            Err(e) => return Err(StreamError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_reference() {
        assert_eq!(hex::encode(hash(b"", None, 32).unwrap()), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }

    #[test]
    fn xof_prefix_is_default_hash() {
        let long = hash(b"abc", None, 100).unwrap();
        assert_eq!(&long[..32], &hash(b"abc", None, 32).unwrap()[..]);
    }

    #[test]
    fn packed_batch_equals_one_by_one() {
        let items: Vec<Vec<u8>> = (0..300).map(|i| vec![i as u8; i]).collect();
        let data: Vec<u8> = items.concat();
        let mut ends = Vec::new();
        let mut at = 0u32;
        for i in &items {
            at += i.len() as u32;
            ends.push(at);
        }
        let mut out = vec![0u8; items.len() * 32];
        hash_many_packed(&data, &ends, &mut out).unwrap();
        for (i, item) in items.iter().enumerate() {
            assert_eq!(&out[i * 32..i * 32 + 32], blake3::hash(item).as_bytes());
        }
        assert_eq!(hash_many(&items)[7], *blake3::hash(&items[7]).as_bytes());
    }

    #[test]
    fn packed_batch_rejects_bad_ends_without_writing() {
        let mut out = vec![7u8; 64];
        let err = hash_many_packed(b"abcd", &[3, 2], &mut out).unwrap_err();
        assert!(err.message.starts_with("ends: item 1"), "{}", err.message);
        assert!(out.iter().all(|&b| b == 7));
        assert!(hash_many_packed(b"abcd", &[5], &mut out[..32]).is_err());
    }

    #[test]
    fn bad_lengths_and_keys_are_named() {
        assert!(hash(b"", None, 0).unwrap_err().message.starts_with("length:"));
        assert!(hash(b"", Some(&[0u8; 31]), 32).unwrap_err().message.starts_with("key:"));
        assert!(hash(b"", None, MAX_OUTPUT_LEN + 1).is_err());
    }

    #[test]
    fn streaming_reset_and_parallel_agree() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let one = hash(&data, None, 32).unwrap();
        assert_eq!(hash_parallel(&data, None, 32).unwrap(), one);
        let mut h = Hasher::new();
        h.update(b"junk").reset();
        for c in data.chunks(1000) {
            h.update(c);
        }
        assert_eq!(h.finalize_vec(32).unwrap(), one);
    }

    #[test]
    fn file_hash_matches_buffer_hash_both_paths() {
        let dir = std::env::temp_dir().join(format!("omni-b3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for size in [0usize, 1, 1 << 20, (1 << 20) + 1, 5_000_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
            let p = dir.join(format!("f{size}"));
            std::fs::write(&p, &data).unwrap();
            let want = hash(&data, None, 32).unwrap();
            assert_eq!(hash_file(&p, &FileOptions::default()).unwrap(), want);
            let serial = FileOptions { parallel: Some(false), ..Default::default() };
            assert_eq!(hash_file(&p, &serial).unwrap(), want);
        }
        let err = hash_file(&dir.join("missing"), &FileOptions::default()).unwrap_err();
        assert_eq!(err.code, omnitide_common::code::IO);
        assert!(err.message.contains("missing"));
        assert!(hash_file(&dir, &FileOptions::default()).unwrap_err().message.contains("directory"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[test]
    fn non_regular_files_are_refused_unless_bounded() {
        // /dev/zero never ends: refused at once by default, bounded by max_bytes
        let e = hash_file(Path::new("/dev/zero"), &FileOptions::default()).unwrap_err();
        assert_eq!(e.code, omnitide_common::code::INVALID_ARGUMENT);
        assert!(e.message.starts_with("path: '/dev/zero' is a character device"), "{}", e.message);
        let bounded = FileOptions { max_bytes: Some(1 << 20), ..Default::default() };
        let e = hash_file(Path::new("/dev/zero"), &bounded).unwrap_err();
        assert_eq!(e.code, omnitide_common::code::LIMIT, "{}", e.message);
        // /dev/null ends at once: streamed when bounded
        assert_eq!(hash_file(Path::new("/dev/null"), &bounded).unwrap(), hash(b"", None, 32).unwrap());

        let dir = std::env::temp_dir().join(format!("omni-b3-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("p");
        mkfifo(&fifo);
        // no writer: refused by default without blocking in open(2)
        let e = hash_file(&fifo, &FileOptions::default()).unwrap_err();
        assert!(e.message.contains("is a FIFO"), "{}", e.message);
        // bounded: read until the writer closes
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(&fifo, vec![7u8; 200_000]).unwrap())
        };
        assert_eq!(hash_file(&fifo, &bounded).unwrap(), hash(&vec![7u8; 200_000], None, 32).unwrap());
        writer.join().unwrap();
        // a FIFO nobody writes to: the cancel flag stops the wait
        let flag = AtomicBool::new(false);
        let cancellable = FileOptions { max_bytes: Some(1 << 20), cancel: Some(&flag), ..Default::default() };
        let e = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                flag.store(true, Ordering::Relaxed);
            });
            hash_file(&fifo, &cancellable).unwrap_err()
        });
        assert_eq!(e.code, ABORTED);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
