//! The on-disk log: one directory, append-only files, one writer.
//!
//! ```text
//! <dir>/ledger.json   format, origin, hash (written once, atomically)
//! <dir>/LOCK          flock'ed exclusively by the one open writer
//! <dir>/entries.dat   records: u32 LE length | entry | first 8 bytes of the leaf hash
//! <dir>/entries.idx   u64 LE offset of record i at byte 8*i
//! <dir>/tree.dat      every perfect-subtree hash, 32 bytes each, in post-order
//!                     (a leaf, then every node it completes): strictly appended
//! <dir>/checkpoint    the last signed checkpoint (C2SP signed note), replaced atomically
//! ```
//!
//! Node (level `l`, index `i`), covering leaves `[i*2^l, (i+1)*2^l)`, sits at
//! slot `2^(l+1)*(i+1) - 2 - popcount(i)` of `tree.dat`; a tree of `n` leaves
//! has `2n - popcount(n)` slots. Roots and proofs read O(log n) slots; the
//! open handle keeps only the O(log n) frontier in memory.
//!
//! A batch is written data → index → tree, then (per durability) fsynced,
//! then acknowledged. On open, the committed size is the longest prefix
//! present in all three files with complete records; anything after it is a
//! torn tail, truncated and reported in [`Recovery`]. Complete records whose
//! hashes disagree are tampering, reported as `ERR_OMNI_LEDGER_CORRUPT`.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use omnitide_common::{code, Error, Result};
use omnitide_crypto::ed25519 as ed;

use crate::bundle::Bundle;
use crate::checkpoint::{self, Checkpoint, SignedCheckpoint};
use crate::merkle::{self, Hash, HashAlg, NodeSource, HASH_LEN};

pub const DEFAULT_MAX_ENTRY_SIZE: usize = 1 << 20;
/// Hard limit of the record format (u32 length).
pub const MAX_ENTRY_SIZE_LIMIT: usize = u32::MAX as usize;
pub const DEFAULT_TAIL_CHECK: u64 = 64;
const FORMAT: &str = "omnitide-ledger/1";
const FRAME_OVERHEAD: u64 = 4 + 8;
/// Entries hashed and written per internal chunk of a large batch.
const CHUNK: usize = 1 << 16;

/// When appended entries reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the data file before the index and tree are written, then those:
    /// strict ordering even across power loss; every call is its own commit.
    Always,
    /// One fsync round per batch (group commit); acknowledged entries are on disk.
    #[default]
    Batch,
    /// No fsync: survives a process crash (kill -9), not a power loss.
    None,
}

impl Durability {
    pub fn parse(arg: &str, s: &str) -> Result<Self> {
        match s {
            "always" => Ok(Self::Always),
            "batch" => Ok(Self::Batch),
            "none" => Ok(Self::None),
            o => Err(Error::invalid_arg(arg, format!("must be 'always', 'batch' or 'none', got '{o}'"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub origin: String,
    pub hash: HashAlg,
    pub durability: Durability,
    /// Ed25519 secret seed used to sign checkpoints.
    pub signer: Option<Vec<u8>>,
    pub max_entry_size: usize,
    /// How many trailing entries `open` re-hashes (0 = none).
    pub tail_check: u64,
}

impl Options {
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            hash: HashAlg::default(),
            durability: Durability::default(),
            signer: None,
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
            tail_check: DEFAULT_TAIL_CHECK,
        }
    }
}

/// What `open` had to cut off: a torn tail of a write that was never acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Index records beyond the committed size that were dropped.
    pub dropped_entries: u64,
    pub truncated_data_bytes: u64,
    pub truncated_index_bytes: u64,
    pub truncated_tree_bytes: u64,
}

impl Recovery {
    pub fn is_clean(&self) -> bool {
        *self == Recovery::default()
    }
}

pub fn corrupt(index: u64, problem: impl std::fmt::Display) -> Error {
    Error::new(code::LEDGER_CORRUPT, format!("index {index}: {problem}")).with_field("index", index)
}

/// Slot of node (level, index) in tree.dat.
#[inline]
pub fn node_slot(level: u32, index: u64) -> u64 {
    ((index + 1) << (level + 1)) - 2 - index.count_ones() as u64
}

/// Number of tree.dat slots for a tree of `n` leaves.
#[inline]
pub fn node_count(n: u64) -> u64 {
    2 * n - n.count_ones() as u64
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(what, &e)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("dir: fsync {}", dir.display())))
}

/// Writes `bytes` to `dir/name` atomically (temp file, fsync, rename, fsync dir).
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    })()
    .map_err(io(format!("dir: writing {}", path.display())))?;
    sync_dir(dir)
}

pub struct Ledger {
    dir: PathBuf,
    origin: String,
    alg: HashAlg,
    durability: Durability,
    max_entry_size: usize,
    signer: Option<ed::Signer>,
    _lock: File,
    data: File,
    index: File,
    tree: File,
    size: u64,
    data_len: u64,
    /// Hashes of the perfect subtrees of the current tree, largest first.
    frontier: Vec<Hash>,
    last_checkpoint: Option<(Checkpoint, String)>,
    recovery: Recovery,
    dirty: bool,
}

impl NodeSource for Ledger {
    fn alg(&self) -> HashAlg {
        self.alg
    }
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let mut h = [0u8; HASH_LEN];
        self.tree
            .read_exact_at(&mut h, node_slot(level, index) * HASH_LEN as u64)
            .map_err(|e| corrupt(index << level, format!("tree node (level {level}) unreadable: {e}")))?;
        Ok(h)
    }
}

impl Ledger {
    /// Opens (creating if needed) the log in `dir` for writing.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Ledger> {
        let dir = dir.as_ref().to_path_buf();
        checkpoint::check_key_name("origin", &opts.origin)?;
        if opts.max_entry_size == 0 || opts.max_entry_size > MAX_ENTRY_SIZE_LIMIT {
            return Err(Error::invalid_arg("maxEntrySize", format!("must be in 1..={MAX_ENTRY_SIZE_LIMIT}, got {}", opts.max_entry_size)));
        }
        let signer = opts.signer.as_deref().map(ed::Signer::new).transpose()?;
        fs::create_dir_all(&dir).map_err(io(format!("dir: cannot create {}", dir.display())))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(io(format!("dir: cannot open lock file in {}", dir.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    code::LOCKED,
                    format!("dir: {} is already open for writing by another ledger handle or process (LOCK is held)", dir.display()),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(format!("dir: locking {}", dir.display()), &e)),
        }

        let meta_path = dir.join("ledger.json");
        let fresh;
        match fs::read(&meta_path) {
            Ok(bytes) => {
                fresh = false;
                let meta: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| corrupt(0, format!("ledger.json is not valid JSON: {e}")))?;
                if meta["format"] != FORMAT {
                    return Err(corrupt(0, format!("ledger.json format is {}, expected {FORMAT}", meta["format"])));
                }
                let origin = meta["origin"].as_str().unwrap_or_default();
                if origin != opts.origin {
                    return Err(Error::invalid_arg(
                        "origin",
                        format!("the ledger in {} was created with origin '{origin}', got '{}'", dir.display(), opts.origin),
                    ));
                }
                let hash = meta["hash"].as_str().unwrap_or_default();
                if hash != opts.hash.name() {
                    return Err(Error::invalid_arg(
                        "hash",
                        format!("the ledger in {} was created with hash '{hash}', got '{}'", dir.display(), opts.hash.name()),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fresh = true;
                for f in ["entries.dat", "entries.idx", "tree.dat", "checkpoint"] {
                    if dir.join(f).exists() {
                        return Err(corrupt(0, format!("{f} exists but ledger.json is missing in {}", dir.display())));
                    }
                }
                let meta = serde_json::json!({ "format": FORMAT, "origin": opts.origin, "hash": opts.hash.name() });
                write_atomic(&dir, "ledger.json", meta.to_string().as_bytes())?;
            }
            Err(e) => return Err(Error::io(format!("dir: reading {}", meta_path.display()), &e)),
        }

        let open_rw = |name: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join(name))
                .map_err(io(format!("dir: cannot open {name} in {}", dir.display())))
        };
        let data = open_rw("entries.dat")?;
        let index = open_rw("entries.idx")?;
        let tree = open_rw("tree.dat")?;
        if fresh {
            sync_dir(&dir)?;
        }

        let mut ledger = Ledger {
            dir,
            origin: opts.origin,
            alg: opts.hash,
            durability: opts.durability,
            max_entry_size: opts.max_entry_size,
            signer,
            _lock: lock,
            data,
            index,
            tree,
            size: 0,
            data_len: 0,
            frontier: Vec::new(),
            last_checkpoint: None,
            recovery: Recovery::default(),
            dirty: false,
        };
        ledger.recover()?;
        ledger.frontier = ledger.frontier_at(ledger.size)?;
        if opts.tail_check > 0 {
            ledger.scan(ledger.size.saturating_sub(opts.tail_check))?;
        }
        ledger.load_checkpoint()?;
        Ok(ledger)
    }

    fn file_len(f: &File, name: &str) -> Result<u64> {
        f.metadata().map(|m| m.len()).map_err(io(format!("dir: stat {name}")))
    }

    /// Reads record `i`'s offset from the index.
    fn offset(&self, i: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.index.read_exact_at(&mut b, i * 8).map_err(|e| corrupt(i, format!("index record unreadable: {e}")))?;
        Ok(u64::from_le_bytes(b))
    }

    /// Finds the committed size and cuts every file back to it.
    fn recover(&mut self) -> Result<()> {
        let data_len = Self::file_len(&self.data, "entries.dat")?;
        let idx_len = Self::file_len(&self.index, "entries.idx")?;
        let tree_len = Self::file_len(&self.tree, "tree.dat")?;
        let n_idx = idx_len / 8;
        let slots = tree_len / HASH_LEN as u64;
        // node_count(n) = 2n - popcount(n) >= 2n - 64, so n <= (slots + 64) / 2.
        let mut n_tree = (slots + 64) / 2 + 1;
        while n_tree > 0 && node_count(n_tree) > slots {
            n_tree -= 1;
        }
        let mut n = n_idx.min(n_tree);
        // A record the index points at must be complete in the data file.
        let data_end;
        loop {
            if n == 0 {
                data_end = 0;
                break;
            }
            let off = self.offset(n - 1)?;
            let mut hdr = [0u8; 4];
            if off.checked_add(FRAME_OVERHEAD).is_some_and(|end| end <= data_len) && self.data.read_exact_at(&mut hdr, off).is_ok() {
                let end = off + FRAME_OVERHEAD + u32::from_le_bytes(hdr) as u64;
                if end <= data_len {
                    data_end = end;
                    break;
                }
            }
            n -= 1;
        }
        let mut rec = Recovery { dropped_entries: n_idx.max(n_tree) - n, ..Recovery::default() };
        if data_len > data_end {
            rec.truncated_data_bytes = data_len - data_end;
            self.data.set_len(data_end).map_err(io("dir: truncating entries.dat"))?;
        }
        if idx_len > n * 8 {
            rec.truncated_index_bytes = idx_len - n * 8;
            self.index.set_len(n * 8).map_err(io("dir: truncating entries.idx"))?;
        }
        let tree_end = node_count(n) * HASH_LEN as u64;
        if tree_len > tree_end {
            rec.truncated_tree_bytes = tree_len - tree_end;
            self.tree.set_len(tree_end).map_err(io("dir: truncating tree.dat"))?;
        }
        if !rec.is_clean() && self.durability != Durability::None {
            self.sync_files()?;
        }
        self.size = n;
        self.data_len = data_end;
        self.recovery = rec;
        Ok(())
    }

    /// Hashes of the perfect subtrees making up the tree of `n` leaves, largest first.
    fn frontier_at(&self, n: u64) -> Result<Vec<Hash>> {
        let mut out = Vec::with_capacity(n.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if n & (1u64 << level) != 0 {
                out.push(self.node(level, start >> level)?);
                start += 1u64 << level;
            }
        }
        Ok(out)
    }

    fn root_of_frontier(&self, f: &[Hash]) -> Hash {
        match f.split_last() {
            None => self.alg.empty_root(),
            Some((last, rest)) => rest.iter().rev().fold(*last, |acc, h| self.alg.node_hash(h, &acc)),
        }
    }

    /// Re-hashes entries `from..size` and checks them against their records,
    /// the index and every tree node they complete. Streams the files.
    fn scan(&self, from: u64) -> Result<()> {
        let n = self.size;
        if from >= n {
            return Ok(());
        }
        let mut stack = self.frontier_at(from)?;
        let start_off = self.offset(from)?;
        let mut idx = BufReader::with_capacity(1 << 16, &self.index);
        let mut data = BufReader::with_capacity(1 << 20, &self.data);
        let mut tree = BufReader::with_capacity(1 << 16, &self.tree);
        use std::io::{Seek, SeekFrom};
        idx.seek(SeekFrom::Start(from * 8)).map_err(io("dir: seek entries.idx"))?;
        data.seek(SeekFrom::Start(start_off)).map_err(io("dir: seek entries.dat"))?;
        tree.seek(SeekFrom::Start(node_count(from) * HASH_LEN as u64)).map_err(io("dir: seek tree.dat"))?;
        let mut pos = start_off;
        let mut entry = Vec::new();
        for i in from..n {
            let mut b8 = [0u8; 8];
            idx.read_exact(&mut b8).map_err(|e| corrupt(i, format!("index record unreadable: {e}")))?;
            if u64::from_le_bytes(b8) != pos {
                return Err(corrupt(i, format!("index says record starts at {}, the previous record ends at {pos}", u64::from_le_bytes(b8))));
            }
            let mut b4 = [0u8; 4];
            data.read_exact(&mut b4).map_err(|e| corrupt(i, format!("record header unreadable: {e}")))?;
            let len = u32::from_le_bytes(b4) as u64;
            if pos + FRAME_OVERHEAD + len > self.data_len {
                return Err(corrupt(i, format!("record length {len} runs past the end of entries.dat")));
            }
            entry.resize(len as usize, 0);
            data.read_exact(&mut entry).map_err(|e| corrupt(i, format!("record unreadable: {e}")))?;
            data.read_exact(&mut b8).map_err(|e| corrupt(i, format!("record checksum unreadable: {e}")))?;
            pos += FRAME_OVERHEAD + len;
            let leaf = self.alg.leaf_hash(&entry);
            if leaf[..8] != b8 {
                return Err(corrupt(i, "entry bytes do not match the record checksum"));
            }
            let mut stored = [0u8; HASH_LEN];
            tree.read_exact(&mut stored).map_err(|e| corrupt(i, format!("leaf hash unreadable: {e}")))?;
            if stored != leaf {
                return Err(corrupt(i, "stored leaf hash does not match the entry"));
            }
            let mut h = leaf;
            let mut level = 0u32;
            let mut k = i;
            while k & 1 == 1 {
                let sib = stack.pop().expect("frontier has a sibling for an odd index");
                h = self.alg.node_hash(&sib, &h);
                level += 1;
                tree.read_exact(&mut stored).map_err(|e| corrupt(i, format!("tree node unreadable: {e}")))?;
                if stored != h {
                    let first = (k >> 1) << level;
                    return Err(corrupt(first, format!("stored tree node (level {level}) covering entries {first}..{} does not match them", i + 1)));
                }
                k >>= 1;
            }
            stack.push(h);
        }
        if pos != self.data_len {
            return Err(corrupt(n.saturating_sub(1), "entries.dat has bytes after the last record"));
        }
        Ok(())
    }

    fn load_checkpoint(&mut self) -> Result<()> {
        let path = self.dir.join("checkpoint");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("dir: reading {}", path.display()), &e)),
        };
        let cp = checkpoint::parse_unverified(&text).map_err(|e| corrupt(0, format!("stored checkpoint: {}", e.message)))?;
        if cp.origin != self.origin {
            return Err(corrupt(0, format!("stored checkpoint has origin '{}', the ledger '{}'", cp.origin, self.origin)));
        }
        if cp.size > self.size {
            return Err(corrupt(
                self.size,
                format!("the log has {} entries but a checkpoint was signed at size {}: acknowledged entries are missing", self.size, cp.size),
            ));
        }
        if self.root(Some(cp.size))? != cp.root_hash {
            return Err(self.inconsistent(&cp));
        }
        self.last_checkpoint = Some((cp, text));
        Ok(())
    }

    fn inconsistent(&self, cp: &Checkpoint) -> Error {
        match self.scan(0) {
            Err(e) => e,
            Ok(()) => corrupt(
                cp.size.saturating_sub(1),
                format!("the tree of size {} differs from the one signed in the last checkpoint", cp.size),
            ),
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
    pub fn hash_alg(&self) -> HashAlg {
        self.alg
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn max_entry_size(&self) -> usize {
        self.max_entry_size
    }
    /// What `open` truncated (a torn tail); clean if nothing.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }
    pub fn public_key(&self) -> Option<[u8; 32]> {
        self.signer.as_ref().map(|s| s.public_key())
    }
    /// The last signed checkpoint (parsed, and its note text).
    pub fn last_checkpoint(&self) -> Option<(&Checkpoint, &str)> {
        self.last_checkpoint.as_ref().map(|(c, t)| (c, t.as_str()))
    }

    pub fn append(&mut self, entry: &[u8]) -> Result<(u64, Hash)> {
        let (first, hashes) = self.append_many(&[entry])?;
        Ok((first, hashes[0]))
    }

    /// Appends all `entries` as one commit; returns the first index and the leaf hashes.
    /// Nothing is written if any entry is over the size cap.
    pub fn append_many<T: AsRef<[u8]>>(&mut self, entries: &[T]) -> Result<(u64, Vec<Hash>)> {
        for (i, e) in entries.iter().enumerate() {
            let len = e.as_ref().len();
            if len > self.max_entry_size {
                return Err(Error::limit(
                    &format!("entries[{i}]"),
                    format!("{len} bytes exceeds maxEntrySize {}", self.max_entry_size),
                ));
            }
        }
        let first = self.size;
        let saved = (self.size, self.data_len, self.frontier.clone());
        let mut hashes = Vec::with_capacity(entries.len());
        let res = (|| -> Result<()> {
            for chunk in entries.chunks(CHUNK) {
                self.write_chunk(chunk, &mut hashes)?;
            }
            self.commit()
        })();
        if let Err(e) = res {
            // Undo: cut the files back to the last commit so no half batch survives.
            let (size, data_len, frontier) = saved;
            let _ = self.data.set_len(data_len);
            let _ = self.index.set_len(size * 8);
            let _ = self.tree.set_len(node_count(size) * HASH_LEN as u64);
            self.size = size;
            self.data_len = data_len;
            self.frontier = frontier;
            return Err(e);
        }
        Ok((first, hashes))
    }

    /// Appends entries packed back to back (`ends[i]` = end offset of entry i).
    pub fn append_packed(&mut self, data: &[u8], ends: &[u32]) -> Result<(u64, Vec<Hash>)> {
        let mut start = 0usize;
        let mut slices = Vec::with_capacity(ends.len());
        for (i, &e) in ends.iter().enumerate() {
            let e = e as usize;
            if e < start || e > data.len() {
                return Err(Error::invalid_arg("ends", format!("ends[{i}] = {e} is out of order or past the data length {}", data.len())));
            }
            slices.push(&data[start..e]);
            start = e;
        }
        self.append_many(&slices)
    }

    fn write_chunk<T: AsRef<[u8]>>(&mut self, chunk: &[T], hashes: &mut Vec<Hash>) -> Result<()> {
        let total: usize = chunk.iter().map(|e| e.as_ref().len() + FRAME_OVERHEAD as usize).sum();
        let mut data_buf = Vec::with_capacity(total);
        let mut idx_buf = Vec::with_capacity(chunk.len() * 8);
        let mut tree_buf = Vec::with_capacity(chunk.len() * 2 * HASH_LEN);
        let mut i = self.size;
        for e in chunk {
            let e = e.as_ref();
            idx_buf.extend_from_slice(&(self.data_len + data_buf.len() as u64).to_le_bytes());
            let leaf = self.alg.leaf_hash(e);
            data_buf.extend_from_slice(&(e.len() as u32).to_le_bytes());
            data_buf.extend_from_slice(e);
            data_buf.extend_from_slice(&leaf[..8]);
            tree_buf.extend_from_slice(&leaf);
            let mut h = leaf;
            let mut k = i;
            while k & 1 == 1 {
                let sib = self.frontier.pop().expect("frontier has a sibling for an odd index");
                h = self.alg.node_hash(&sib, &h);
                tree_buf.extend_from_slice(&h);
                k >>= 1;
            }
            self.frontier.push(h);
            hashes.push(leaf);
            i += 1;
        }
        self.data.write_all_at(&data_buf, self.data_len).map_err(io("dir: writing entries.dat"))?;
        if self.durability == Durability::Always {
            self.data.sync_data().map_err(io("dir: fsync entries.dat"))?;
        }
        self.index.write_all_at(&idx_buf, self.size * 8).map_err(io("dir: writing entries.idx"))?;
        self.tree
            .write_all_at(&tree_buf, node_count(self.size) * HASH_LEN as u64)
            .map_err(io("dir: writing tree.dat"))?;
        self.data_len += data_buf.len() as u64;
        self.size = i;
        self.dirty = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        match self.durability {
            Durability::None => Ok(()),
            Durability::Always | Durability::Batch => self.sync_files(),
        }
    }

    /// fdatasync of the three files, issued in parallel so a commit waits
    /// for the slowest one rather than for the sum.
    fn sync_files(&mut self) -> Result<()> {
        let (data, index, tree) = (&self.data, &self.index, &self.tree);
        let (a, b, c) = std::thread::scope(|s| {
            let i = s.spawn(|| index.sync_data());
            let t = s.spawn(|| tree.sync_data());
            let d = data.sync_data();
            (d, i.join().unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked"))), t.join().unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked"))))
        });
        a.map_err(io("dir: fsync entries.dat"))?;
        b.map_err(io("dir: fsync entries.idx"))?;
        c.map_err(io("dir: fsync tree.dat"))?;
        self.dirty = false;
        Ok(())
    }

    /// Forces everything appended so far to stable storage.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.sync_files()?;
        }
        Ok(())
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if index >= self.size {
            return Err(Error::invalid_arg("index", format!("must be < size {}, got {index}", self.size)));
        }
        Ok(())
    }

    /// Entry `index`, checked against its record checksum.
    pub fn get(&self, index: u64) -> Result<Vec<u8>> {
        self.check_index(index)?;
        Ok(self.get_range(index, index + 1)?.pop().expect("one entry"))
    }

    /// Entries `from..to`, each checked against its record checksum.
    pub fn get_range(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>> {
        if to > self.size {
            return Err(Error::invalid_arg("to", format!("must be <= size {}, got {to}", self.size)));
        }
        if from > to {
            return Err(Error::invalid_arg("from", format!("must be <= to {to}, got {from}")));
        }
        if from == to {
            return Ok(Vec::new());
        }
        let start = self.offset(from)?;
        let end = if to == self.size { self.data_len } else { self.offset(to)? };
        if end < start || end > self.data_len {
            return Err(corrupt(from, format!("index offsets {start}..{end} are outside entries.dat")));
        }
        let mut buf = vec![0u8; (end - start) as usize];
        self.data.read_exact_at(&mut buf, start).map_err(|e| corrupt(from, format!("records unreadable: {e}")))?;
        let mut out = Vec::with_capacity((to - from) as usize);
        let mut p = 0usize;
        for i in from..to {
            if p + 4 > buf.len() {
                return Err(corrupt(i, "record header runs past its range"));
            }
            let len = u32::from_le_bytes(buf[p..p + 4].try_into().unwrap()) as usize;
            let e_end = p + 4 + len;
            if e_end + 8 > buf.len() {
                return Err(corrupt(i, format!("record length {len} runs past its range")));
            }
            let entry = &buf[p + 4..e_end];
            if self.alg.leaf_hash(entry)[..8] != buf[e_end..e_end + 8] {
                return Err(corrupt(i, "entry bytes do not match the record checksum"));
            }
            out.push(entry.to_vec());
            p = e_end + 8;
        }
        Ok(out)
    }

    /// Entries from `from` up to `to`, stopping early (after at least one entry)
    /// once about `max_bytes` of records have been read: bounded-memory iteration.
    pub fn get_range_bounded(&self, from: u64, to: u64, max_bytes: u64) -> Result<Vec<Vec<u8>>> {
        if to > self.size {
            return Err(Error::invalid_arg("to", format!("must be <= size {}, got {to}", self.size)));
        }
        if from >= to {
            return self.get_range(from, to);
        }
        let count = (to - from) as usize;
        let mut offs = vec![0u8; count * 8];
        self.index.read_exact_at(&mut offs, from * 8).map_err(|e| corrupt(from, format!("index records unreadable: {e}")))?;
        let start = u64::from_le_bytes(offs[..8].try_into().unwrap());
        let mut end = to;
        for k in 1..count {
            let o = u64::from_le_bytes(offs[k * 8..k * 8 + 8].try_into().unwrap());
            if o.saturating_sub(start) > max_bytes {
                end = from + k as u64;
                break;
            }
        }
        self.get_range(from, end)
    }

    /// The stored leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.check_index(index)?;
        self.node(0, index)
    }

    /// `MTH` of the first `tree_size` entries (default: all).
    pub fn root(&self, tree_size: Option<u64>) -> Result<Hash> {
        let n = tree_size.unwrap_or(self.size);
        if n > self.size {
            return Err(Error::invalid_arg("treeSize", format!("must be <= size {}, got {n}", self.size)));
        }
        if n == self.size {
            return Ok(self.root_of_frontier(&self.frontier));
        }
        merkle::range_hash(self, 0, n)
    }

    pub fn inclusion_proof(&self, index: u64, tree_size: Option<u64>) -> Result<Vec<Hash>> {
        let n = tree_size.unwrap_or(self.size);
        merkle::check_inclusion_args(index, n, self.size)?;
        merkle::inclusion_path(self, index, n)
    }

    pub fn consistency_proof(&self, old_size: u64, new_size: Option<u64>) -> Result<Vec<Hash>> {
        let n = new_size.unwrap_or(self.size);
        merkle::check_consistency_args(old_size, n, self.size)?;
        merkle::consistency_path(self, old_size, n)
    }

    /// Full (`full = true`: every entry and node) or tail (last 1024 entries) integrity check.
    pub fn verify(&self, full: bool) -> Result<()> {
        let from = if full { 0 } else { self.size.saturating_sub(1024) };
        self.scan(from)?;
        if let Some((cp, _)) = &self.last_checkpoint {
            if self.root(Some(cp.size))? != cp.root_hash {
                return Err(self.inconsistent(cp));
            }
        }
        Ok(())
    }

    /// Signs a checkpoint of the current tree (after making it durable and
    /// checking it extends the last signed one) and stores it.
    pub fn checkpoint(&mut self) -> Result<SignedCheckpoint> {
        self.checkpoint_at(now_ms())
    }

    pub fn checkpoint_at(&mut self, timestamp_ms: u64) -> Result<SignedCheckpoint> {
        let Some(signer) = &self.signer else {
            return Err(Error::invalid_arg("signer", "the ledger was opened without a signer; checkpoint() needs one"));
        };
        if let Some((prev, _)) = &self.last_checkpoint {
            if prev.size > self.size {
                return Err(corrupt(self.size, format!("refusing to sign: the log is shorter than the checkpoint signed at size {}", prev.size)));
            }
            if self.root(Some(prev.size))? != prev.root_hash {
                return Err(self.inconsistent(prev));
            }
        }
        let cp = Checkpoint { origin: self.origin.clone(), size: self.size, root_hash: self.root(None)?, timestamp: Some(timestamp_ms) };
        let signed = cp.sign(&self.origin, signer)?;
        // What we sign must already be durable.
        self.sync_files()?;
        write_atomic(&self.dir, "checkpoint", signed.text.as_bytes())?;
        self.last_checkpoint = Some((cp, signed.text.clone()));
        Ok(signed)
    }

    /// Entry + inclusion proof + a checkpoint covering it. Uses the last
    /// signed checkpoint if it covers `index`, else signs a new one.
    pub fn bundle(&mut self, index: u64) -> Result<Bundle> {
        self.check_index(index)?;
        let text = match &self.last_checkpoint {
            Some((cp, text)) if cp.size > index => text.clone(),
            _ => self.checkpoint()?.text,
        };
        let cp = checkpoint::parse_unverified(&text)?;
        let entry = self.get(index)?;
        let proof = self.inclusion_proof(index, Some(cp.size))?;
        Ok(Bundle { hash: self.alg, index, tree_size: cp.size, entry, proof, checkpoint: text })
    }
}
