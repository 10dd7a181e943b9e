//! The audit log behind the authority: an append-only, RFC 6962-style Merkle
//! log with signed checkpoints. [`AuditLog`] is the seam to the omnitide
//! ledger; [`MemLog`] (tests) and [`FileLog`] (a small crash-safe file log,
//! a stand-in until the ledger crate is wired in) implement it here.
//!
//! Tree hashing is RFC 6962/9162 (leaf `H(0x00 || entry)`, node
//! `H(0x01 || left || right)`, the RFC's split rule) with BLAKE3 or SHA-256.
//! Checkpoints are C2SP signed notes: the body `origin\nsize\nbase64(root)\n`
//! plus a `timestamp <ms>` extension line, signed with Ed25519.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use omnitide_common::{Error, Result};
use omnitide_crypto::ed25519;
use sha2::Digest;
use zeroize::Zeroizing;

use crate::json::{b64, unb64};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Blake3,
    Sha256,
}

impl HashAlg {
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Blake3 => "blake3",
            HashAlg::Sha256 => "sha256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "blake3" => Some(HashAlg::Blake3),
            "sha256" => Some(HashAlg::Sha256),
            _ => None,
        }
    }
    fn h(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Blake3 => {
                let mut h = blake3::Hasher::new();
                for p in parts {
                    h.update(p);
                }
                *h.finalize().as_bytes()
            }
            HashAlg::Sha256 => {
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }
    pub fn leaf(self, entry: &[u8]) -> [u8; 32] {
        self.h(&[&[0u8], entry])
    }
    pub fn node(self, l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
        self.h(&[&[1u8], l, r])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: [u8; 32],
    pub timestamp: i64,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// The signed note body.
    pub fn body(origin: &str, size: u64, root: &[u8; 32], timestamp: i64) -> String {
        format!("{origin}\n{size}\n{}\ntimestamp {timestamp}\n", b64(root))
    }

    pub fn sign(origin: &str, size: u64, root: [u8; 32], timestamp: i64, secret: &[u8; 32]) -> Result<Self> {
        let body = Self::body(origin, size, &root, timestamp);
        let signature = ed25519::sign(body.as_bytes(), secret)?;
        Ok(Self { origin: origin.to_owned(), size, root_hash: root, timestamp, public_key: ed25519::public_key_from_secret(secret)?, signature })
    }

    /// C2SP signed-note key hash: SHA-256(name || "\n" || 0x01 || key)[:4].
    fn key_hash(&self) -> [u8; 4] {
        let mut h = sha2::Sha256::new();
        h.update(self.origin.as_bytes());
        h.update(b"\n\x01");
        h.update(self.public_key);
        h.finalize()[..4].try_into().unwrap()
    }

    /// The checkpoint as a C2SP signed note.
    pub fn to_text(&self) -> String {
        let mut sig = self.key_hash().to_vec();
        sig.extend_from_slice(&self.signature);
        format!("{}\n\u{2014} {} {}\n", Self::body(&self.origin, self.size, &self.root_hash, self.timestamp), self.origin, b64(&sig))
    }

    pub fn verify(&self) -> bool {
        let body = Self::body(&self.origin, self.size, &self.root_hash, self.timestamp);
        ed25519::verify(&self.signature, body.as_bytes(), &self.public_key, ed25519::Mode::Strict).unwrap_or(false)
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "origin": self.origin, "size": self.size, "rootHash": b64(&self.root_hash),
            "timestamp": self.timestamp, "publicKey": b64(&self.public_key), "signature": b64(&self.signature),
        })
    }

    pub fn from_value(v: &serde_json::Value) -> std::result::Result<Self, String> {
        let m = crate::json::obj(v, "checkpoint")?;
        let bytes = |k: &str| crate::json::str_field(m, k, "checkpoint").ok().and_then(unb64).ok_or(format!("checkpoint.{k}: invalid"));
        Ok(Self {
            origin: crate::json::str_field(m, "origin", "checkpoint")?.to_owned(),
            size: m.get("size").and_then(|x| x.as_u64()).ok_or("checkpoint.size: invalid")?,
            root_hash: bytes("rootHash")?.try_into().map_err(|_| "checkpoint.rootHash: expected 32 bytes")?,
            timestamp: m.get("timestamp").and_then(|x| x.as_i64()).ok_or("checkpoint.timestamp: invalid")?,
            public_key: bytes("publicKey")?.try_into().map_err(|_| "checkpoint.publicKey: expected 32 bytes")?,
            signature: bytes("signature")?.try_into().map_err(|_| "checkpoint.signature: expected 64 bytes")?,
        })
    }
}

/// The log an authority writes its audit trail to.
pub trait AuditLog: Send + Sync {
    /// Appends entries; returns their indices only once they are durable.
    fn append_many(&self, entries: &[Vec<u8>]) -> Result<Vec<u64>>;
    fn append(&self, entry: &[u8]) -> Result<u64> {
        Ok(self.append_many(&[entry.to_vec()])?[0])
    }
    /// Number of entries (re-reading shared storage when another process writes it).
    fn size(&self) -> Result<u64>;
    /// Up to `max` entries starting at `start`.
    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>>;
    /// Inclusion proof of `index` in the current tree and a signed checkpoint of that tree.
    fn prove(&self, index: u64) -> Result<(InclusionProof, Checkpoint)>;
    fn hash_alg(&self) -> HashAlg;
}

/// RFC 6962 MTH over leaf hashes.
pub fn root(alg: HashAlg, leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => alg.h(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            alg.node(&root(alg, &leaves[..k]), &root(alg, &leaves[k..]))
        }
    }
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// RFC 6962 PATH(m, D[n]).
pub fn inclusion_path(alg: HashAlg, m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = split(n);
    if m < k {
        let mut p = inclusion_path(alg, m, &leaves[..k]);
        p.push(root(alg, &leaves[k..]));
        p
    } else {
        let mut p = inclusion_path(alg, m - k, &leaves[k..]);
        p.push(root(alg, &leaves[..k]));
        p
    }
}

/// RFC 9162 §2.1.3.2 inclusion verification.
pub fn verify_inclusion(alg: HashAlg, leaf_hash: &[u8; 32], proof: &InclusionProof, root_hash: &[u8; 32]) -> bool {
    if proof.index >= proof.tree_size || proof.hashes.len() > 64 {
        return false;
    }
    let (mut f, mut s) = (proof.index, proof.tree_size - 1);
    let mut r = *leaf_hash;
    for p in &proof.hashes {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = alg.node(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = alg.node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root_hash
}

struct MemInner {
    entries: Vec<Vec<u8>>,
    leaves: Vec<[u8; 32]>,
}

/// In-memory log for tests. `set_failing(true)` makes appends fail as a
/// crashed or full disk would.
pub struct MemLog {
    origin: String,
    key: Zeroizing<[u8; 32]>,
    inner: Mutex<MemInner>,
    failing: AtomicBool,
}

impl MemLog {
    pub fn new(origin: &str) -> Self {
        let (sk, _) = ed25519::generate_keypair();
        Self { origin: origin.into(), key: Zeroizing::new(sk), inner: Mutex::new(MemInner { entries: vec![], leaves: vec![] }), failing: AtomicBool::new(false) }
    }
    pub fn set_failing(&self, f: bool) {
        self.failing.store(f, Ordering::SeqCst);
    }
    pub fn public_key(&self) -> [u8; 32] {
        ed25519::public_key_from_secret(&self.key[..]).expect("32-byte key")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn prove_over(alg: HashAlg, leaves: &[[u8; 32]], index: u64, origin: &str, key: &[u8; 32]) -> Result<(InclusionProof, Checkpoint)> {
    if index >= leaves.len() as u64 {
        return Err(Error::invalid_arg("index", format!("must be < log size {}, got {index}", leaves.len())));
    }
    let hashes = inclusion_path(alg, index as usize, leaves);
    let cp = Checkpoint::sign(origin, leaves.len() as u64, root(alg, leaves), crate::now_ms(), key)?;
    Ok((InclusionProof { index, tree_size: leaves.len() as u64, hashes }, cp))
}

impl AuditLog for MemLog {
    fn append_many(&self, entries: &[Vec<u8>]) -> Result<Vec<u64>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::new(omnitide_common::code::IO, "audit log: append failed (simulated crash)"));
        }
        let mut g = lock(&self.inner);
        let start = g.entries.len() as u64;
        for e in entries {
            let h = HashAlg::Blake3.leaf(e);
            g.entries.push(e.clone());
            g.leaves.push(h);
        }
        Ok((start..start + entries.len() as u64).collect())
    }
    fn size(&self) -> Result<u64> {
        Ok(lock(&self.inner).entries.len() as u64)
    }
    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
        let g = lock(&self.inner);
        Ok(g.entries.iter().skip(start as usize).take(max).cloned().collect())
    }
    fn prove(&self, index: u64) -> Result<(InclusionProof, Checkpoint)> {
        let g = lock(&self.inner);
        prove_over(HashAlg::Blake3, &g.leaves, index, &self.origin, &self.key)
    }
    fn hash_alg(&self) -> HashAlg {
        HashAlg::Blake3
    }
}

/// A small crash-safe file log: `entries.log` holds records
/// `[u32 LE length][32-byte BLAKE3 of the data][data]`, each append batch is
/// written with one `write` and `fdatasync`ed before it is acknowledged. On
/// open for writing, a torn or corrupt tail is truncated (and counted in
/// `truncated_bytes`). Readers (`open_reader`, e.g. another process) only
/// ever consume complete, checksummed records and pick up new ones cheaply
/// (one `stat` when nothing changed).
pub struct FileLog {
    path: PathBuf,
    origin: String,
    key: Zeroizing<[u8; 32]>,
    writer: bool,
    inner: Mutex<FileInner>,
    pub truncated_bytes: u64,
    _lock: Option<File>,
}

struct FileInner {
    file: File,
    end: u64,
    offsets: Vec<u64>,
    leaves: Vec<[u8; 32]>,
}

const REC_HDR: usize = 36;
/// Largest single entry accepted by FileLog.
pub const MAX_ENTRY: usize = 16 << 20;

impl FileLog {
    pub fn open(dir: &Path, origin: &str) -> Result<Self> {
        Self::open_mode(dir, origin, true)
    }

    pub fn open_reader(dir: &Path) -> Result<Self> {
        Self::open_mode(dir, "", false)
    }

    fn open_mode(dir: &Path, origin: &str, writer: bool) -> Result<Self> {
        let io = |what: &str, e: std::io::Error| Error::io(format!("audit log {}: {what}", dir.display()), &e);
        if writer {
            fs::create_dir_all(dir).map_err(|e| io("create", e))?;
        }
        let lock_file = if writer {
            let f = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("lock")).map_err(|e| io("lock", e))?;
            f.try_lock().map_err(|_| Error::new(omnitide_common::code::IO, format!("audit log {}: already open for writing by another process", dir.display())))?;
            Some(f)
        } else {
            None
        };
        let key_path = dir.join("log.key");
        let origin_path = dir.join("origin");
        let key: Zeroizing<[u8; 32]> = match fs::read(&key_path) {
            Ok(b) => Zeroizing::new(b.as_slice().try_into().map_err(|_| Error::internal("audit log key: corrupt"))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && writer => {
                let (sk, _) = ed25519::generate_keypair();
                crate::keystore::write_atomic(&key_path, &sk, true)?;
                crate::keystore::write_atomic(&origin_path, origin.as_bytes(), false)?;
                Zeroizing::new(sk)
            }
            Err(e) => return Err(io("read key", e)),
        };
        let stored_origin = fs::read_to_string(&origin_path).map_err(|e| io("read origin", e))?;
        if writer && stored_origin != origin {
            return Err(Error::invalid_arg("origin", format!("log was created with origin '{stored_origin}', got '{origin}'")));
        }
        let path = dir.join("entries.log");
        let file = if writer {
            OpenOptions::new().create(true).truncate(false).read(true).append(true).open(&path).map_err(|e| io("open", e))?
        } else {
            File::open(&path).map_err(|e| io("open", e))?
        };
        let mut inner = FileInner { file, end: 0, offsets: vec![], leaves: vec![] };
        Self::scan(&mut inner)?;
        let mut truncated_bytes = 0;
        if writer {
            let len = inner.file.metadata().map_err(|e| io("stat", e))?.len();
            if len > inner.end {
                truncated_bytes = len - inner.end;
                inner.file.set_len(inner.end).map_err(|e| io("truncate torn tail", e))?;
                inner.file.sync_all().map_err(|e| io("sync", e))?;
            }
        }
        Ok(Self { path, origin: stored_origin, key, writer, inner: Mutex::new(inner), truncated_bytes, _lock: lock_file })
    }

    /// Reads complete, valid records after `inner.end`.
    fn scan(inner: &mut FileInner) -> Result<()> {
        let len = inner.file.metadata().map_err(|e| Error::io("audit log: stat", &e))?.len();
        if len <= inner.end {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((len - inner.end) as usize);
        let mut f = &inner.file;
        f.seek(SeekFrom::Start(inner.end)).map_err(|e| Error::io("audit log: seek", &e))?;
        f.take(len - inner.end).read_to_end(&mut buf).map_err(|e| Error::io("audit log: read", &e))?;
        let mut pos = 0usize;
        while pos + REC_HDR <= buf.len() {
            let n = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
            if n > MAX_ENTRY || pos + REC_HDR + n > buf.len() {
                break;
            }
            let data = &buf[pos + REC_HDR..pos + REC_HDR + n];
            if blake3::hash(data).as_bytes()[..] != buf[pos + 4..pos + REC_HDR] {
                break;
            }
            inner.offsets.push(inner.end + pos as u64);
            inner.leaves.push(HashAlg::Blake3.leaf(data));
            pos += REC_HDR + n;
        }
        inner.end += pos as u64;
        Ok(())
    }

    pub fn public_key(&self) -> [u8; 32] {
        ed25519::public_key_from_secret(&self.key[..]).expect("32-byte key")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditLog for FileLog {
    fn append_many(&self, entries: &[Vec<u8>]) -> Result<Vec<u64>> {
        if !self.writer {
            return Err(Error::new(omnitide_common::code::CLOSED, "audit log: opened read-only"));
        }
        let mut buf = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.len() > MAX_ENTRY {
                return Err(Error::limit(&format!("entries[{i}]"), format!("{} bytes exceeds {MAX_ENTRY}", e.len())));
            }
            buf.extend_from_slice(&(e.len() as u32).to_le_bytes());
            buf.extend_from_slice(blake3::hash(e).as_bytes());
            buf.extend_from_slice(e);
        }
        let mut g = lock(&self.inner);
        let io = |e: std::io::Error| Error::io("audit log: append", &e);
        let res = (&g.file).write_all(&buf).and_then(|_| g.file.sync_data());
        if let Err(e) = res {
            // Nothing is acknowledged; drop whatever part reached the file.
            let _ = g.file.set_len(g.end);
            return Err(io(e));
        }
        let start = g.offsets.len() as u64;
        let mut off = g.end;
        for e in entries {
            g.offsets.push(off);
            g.leaves.push(HashAlg::Blake3.leaf(e));
            off += (REC_HDR + e.len()) as u64;
        }
        g.end = off;
        Ok((start..start + entries.len() as u64).collect())
    }

    fn size(&self) -> Result<u64> {
        let mut g = lock(&self.inner);
        if !self.writer {
            Self::scan(&mut g)?;
        }
        Ok(g.offsets.len() as u64)
    }

    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
        let mut g = lock(&self.inner);
        if !self.writer {
            Self::scan(&mut g)?;
        }
        let mut out = Vec::new();
        let mut f = &g.file;
        for i in (start as usize)..g.offsets.len().min(start as usize + max) {
            let off = g.offsets[i];
            let mut hdr = [0u8; REC_HDR];
            f.seek(SeekFrom::Start(off)).map_err(|e| Error::io("audit log: seek", &e))?;
            f.read_exact(&mut hdr).map_err(|e| Error::io("audit log: read", &e))?;
            let n = u32::from_le_bytes(hdr[..4].try_into().unwrap()) as usize;
            let mut data = vec![0u8; n];
            f.read_exact(&mut data).map_err(|e| Error::io("audit log: read", &e))?;
            out.push(data);
        }
        Ok(out)
    }

    fn prove(&self, index: u64) -> Result<(InclusionProof, Checkpoint)> {
        let mut g = lock(&self.inner);
        if !self.writer {
            Self::scan(&mut g)?;
        }
        prove_over(HashAlg::Blake3, &g.leaves, index, &self.origin, &self.key)
    }

    fn hash_alg(&self) -> HashAlg {
        HashAlg::Blake3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_proofs_verify_for_every_index_and_size() {
        for alg in [HashAlg::Blake3, HashAlg::Sha256] {
            let leaves: Vec<[u8; 32]> = (0..17u8).map(|i| alg.leaf(&[i])).collect();
            for n in 1..=leaves.len() {
                let r = root(alg, &leaves[..n]);
                for m in 0..n {
                    let p = InclusionProof { index: m as u64, tree_size: n as u64, hashes: inclusion_path(alg, m, &leaves[..n]) };
                    assert!(verify_inclusion(alg, &leaves[m], &p, &r), "n={n} m={m}");
                    let mut bad = p.clone();
                    bad.index = (m as u64 + 1) % n as u64;
                    if n > 1 {
                        assert!(!verify_inclusion(alg, &leaves[m], &bad, &r));
                    }
                }
            }
        }
    }

    #[test]
    fn rfc6962_sha256_empty_and_single_leaf() {
        // Known values: MTH({}) = SHA-256(""), MTH({""}) = SHA-256(0x00).
        assert_eq!(hex::encode(root(HashAlg::Sha256, &[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex::encode(HashAlg::Sha256.leaf(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }

    #[test]
    fn file_log_truncates_torn_tail_and_readers_see_appends() {
        let dir = tempfile::tempdir().unwrap();
        let log = FileLog::open(dir.path(), "o").unwrap();
        assert!(FileLog::open(dir.path(), "o").is_err(), "second writer must be refused");
        log.append_many(&[b"a".to_vec(), b"bb".to_vec()]).unwrap();
        let reader = FileLog::open_reader(dir.path()).unwrap();
        assert_eq!(reader.size().unwrap(), 2);
        log.append(b"ccc").unwrap();
        assert_eq!(reader.size().unwrap(), 3);
        assert_eq!(reader.read_from(1, 10).unwrap(), vec![b"bb".to_vec(), b"ccc".to_vec()]);
        drop(log);
        // A crash mid-append leaves half a record.
        let mut f = OpenOptions::new().append(true).open(dir.path().join("entries.log")).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        assert_eq!(reader.size().unwrap(), 3, "readers never consume a torn record");
        let log = FileLog::open(dir.path(), "o").unwrap();
        assert_eq!(log.truncated_bytes, 7);
        assert_eq!(log.size().unwrap(), 3);
        let i = log.append(b"d").unwrap();
        assert_eq!(i, 3);
        let (p, cp) = log.prove(1).unwrap();
        assert!(cp.verify());
        assert!(verify_inclusion(HashAlg::Blake3, &HashAlg::Blake3.leaf(b"bb"), &p, &cp.root_hash));
        assert!(cp.to_text().contains("\n\u{2014} o "));
        drop(log);
        assert!(FileLog::open(dir.path(), "other").err().unwrap().message.contains("origin"));
    }
}
