//! BLAKE3 hashing: one-shot, keyed, derive-key, XOF, streaming, batches and files.

use std::fs::File;
use std::path::Path;

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
        return Err(Error::invalid_arg(
            arg,
            format!("must be an integer between 1 and {MAX_OUTPUT_LEN}, got {len}"),
        ));
    }
    Ok(len)
}

fn key_of<'a>(key: Option<&'a [u8]>) -> Result<Option<&'a [u8; KEY_LEN]>> {
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
            return Err(Error::invalid_arg(
                "ends",
                format!("item {i} ends at {end}, outside {start}..={}", data.len()),
            ));
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

/// Options for [`hash_file`].
#[derive(Debug, Clone, Default)]
pub struct FileOptions<'a> {
    pub key: Option<&'a [u8]>,
    pub derive_context: Option<&'a str>,
    pub length: Option<usize>,
    /// Use memory mapping + all cores for large files (default true).
    pub parallel: Option<bool>,
}

/// Hashes a file. Large regular files are memory-mapped and hashed on all cores
/// (blake3's `update_mmap_rayon`); small files and pipes are read.
pub fn hash_file(path: &Path, opts: &FileOptions<'_>) -> Result<Vec<u8>> {
    let len = check_output_len("length", opts.length.unwrap_or(OUT_LEN))?;
    let mut h = match (opts.key, opts.derive_context) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_arg("opts", "key and context are mutually exclusive"))
        }
        (_, Some(ctx)) => Hasher::new_derive_key(ctx),
        (key, None) => Hasher::with_key(key)?,
    };
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(format_args!("path '{shown}'"), &e))?;
    if meta.is_dir() {
        return Err(Error::new(
            omnitide_common::code::IO,
            format!("path '{shown}': is a directory"),
        ));
    }
    let parallel = opts.parallel.unwrap_or(true);
    if parallel && meta.is_file() && meta.len() >= MMAP_THRESHOLD {
        h.inner
            .update_mmap_rayon(path)
            .map_err(|e| Error::io(format_args!("path '{shown}'"), &e))?;
    } else {
        let file = File::open(path).map_err(|e| Error::io(format_args!("path '{shown}'"), &e))?;
        h.inner
            .update_reader(file)
            .map_err(|e| Error::io(format_args!("path '{shown}'"), &e))?;
    }
    let mut out = vec![0u8; len];
    h.finalize_into(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_reference() {
        assert_eq!(
            hex::encode(hash(b"", None, 32).unwrap()),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
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
}
