//! The on-disk log: one directory, append-only files, one writer, any number
//! of read-only followers ([`LedgerReader`]).
//!
//! ```text
//! <dir>/ledger.json   format, origin, hash (written once, atomically)
//! <dir>/LOCK          flock'ed exclusively by the one open writer
//! <dir>/entries.dat   records: u32 LE length | entry | first 8 bytes of the leaf hash
//! <dir>/entries.idx   u64 LE offset of record i at byte 8*i
//! <dir>/tree.dat      every perfect-subtree hash, 32 bytes each, in post-order
//!                     (a leaf, then every node it completes): strictly appended
//! <dir>/checkpoint    the last signed checkpoint (C2SP signed note), replaced atomically
//! <dir>/rotations     JSON lines: one record per explicit signer rotation
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
//! torn tail, truncated and reported in [`Recovery`] (a reader only ignores
//! it). Complete records whose hashes disagree are tampering, reported as
//! `ERR_OMNI_LEDGER_CORRUPT`.
//!
//! The code is split by concern: [`layout`] (format), `recover` (open-time
//! recovery and integrity scans), `append` (writes, commit, rollback), `read`
//! (entries, roots, proofs), `sign` (checkpoints, bundles, signer rotation),
//! `reader` (the read-only follower).

mod append;
pub mod layout;
mod read;
mod reader;
mod recover;
mod sign;

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use omnitide_common::{code, Error, Result};
use omnitide_crypto::ed25519 as ed;

use crate::checkpoint::{self, Checkpoint};
use crate::merkle::{Hash, HashAlg, NodeSource, HASH_LEN};
pub use layout::{corrupt, node_count, node_slot, Meta, READ_ONLY};
use layout::{io, sync_dir, write_atomic, DATA, INDEX, META, TREE};
pub use reader::LedgerReader;

pub const DEFAULT_MAX_ENTRY_SIZE: usize = 1 << 20;
/// Hard limit of the record format (u32 length).
pub const MAX_ENTRY_SIZE_LIMIT: usize = u32::MAX as usize;
pub const DEFAULT_TAIL_CHECK: u64 = 64;
/// Entries hashed and written per internal chunk of a large batch.
const CHUNK: usize = 1 << 16;

/// When appended entries reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the data file before the index and tree are written, then those:
    /// strict ordering even across power loss.
    Always,
    /// One fsync round per `append_many` call: acknowledged entries are on
    /// disk. (Callers group concurrent appends into one call; the TypeScript
    /// `Ledger` does.)
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
    /// Ed25519 secret seed used to sign checkpoints. When the directory holds
    /// a checkpoint signed by another key, `open` refuses the signer unless
    /// `rotate_signer` is set.
    pub signer: Option<Vec<u8>>,
    /// Rotate to `signer`: if the stored checkpoint is signed by another key,
    /// `open` signs a checkpoint of the current tree with the new key and
    /// appends a rotation record (old and new checkpoint) to `rotations`.
    pub rotate_signer: bool,
    pub max_entry_size: usize,
    /// How many trailing entries `open` and `verify(false)` re-hash (0 = none).
    pub tail_check: u64,
}

impl Options {
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            hash: HashAlg::default(),
            durability: Durability::default(),
            signer: None,
            rotate_signer: false,
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

pub struct Ledger {
    pub(crate) dir: PathBuf,
    pub(crate) origin: String,
    pub(crate) alg: HashAlg,
    pub(crate) durability: Durability,
    pub(crate) max_entry_size: usize,
    pub(crate) tail_check: u64,
    pub(crate) signer: Option<ed::Signer>,
    /// `None` for a read-only follower: it never takes the lock nor writes.
    pub(crate) lock: Option<File>,
    pub(crate) data: File,
    pub(crate) index: File,
    pub(crate) tree: File,
    pub(crate) size: u64,
    pub(crate) data_len: u64,
    /// Hashes of the perfect subtrees of the current tree, largest first.
    pub(crate) frontier: Vec<Hash>,
    pub(crate) last_checkpoint: Option<(Checkpoint, String)>,
    pub(crate) recovery: Recovery,
    pub(crate) dirty: bool,
    /// Set when a failed append could not be undone: the files may hold a
    /// partial batch, so further writes are refused until the log is reopened
    /// (which truncates the torn tail).
    pub(crate) poisoned: Option<String>,
}

impl NodeSource for Ledger {
    fn alg(&self) -> HashAlg {
        self.alg
    }
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        use std::os::unix::fs::FileExt;
        let mut h = [0u8; HASH_LEN];
        self.tree
            .read_exact_at(&mut h, node_slot(level, index) * HASH_LEN as u64)
            .map_err(|e| corrupt(index << level, format!("tree node (level {level}) unreadable: {e}")))?;
        Ok(h)
    }
}

fn take_lock(dir: &Path) -> Result<File> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))
        .map_err(io(format!("dir: cannot open lock file in {}", dir.display())))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(Error::new(
            code::LOCKED,
            format!(
                "dir: {} is already open for writing by another ledger handle or process (LOCK is held); open it read-only to follow it",
                dir.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(format!("dir: locking {}", dir.display()), &e)),
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
        if opts.rotate_signer && opts.signer.is_none() {
            return Err(Error::invalid_arg("rotateSigner", "needs the new signer"));
        }
        let signer = opts.signer.as_deref().map(ed::Signer::new).transpose()?;
        fs::create_dir_all(&dir).map_err(io(format!("dir: cannot create {}", dir.display())))?;
        let lock = take_lock(&dir)?;

        let fresh = match Meta::read(&dir)? {
            Some(meta) => {
                if meta.origin != opts.origin {
                    return Err(Error::invalid_arg(
                        "origin",
                        format!("the ledger in {} was created with origin '{}', got '{}'", dir.display(), meta.origin, opts.origin),
                    ));
                }
                if meta.hash != opts.hash {
                    return Err(Error::invalid_arg(
                        "hash",
                        format!("the ledger in {} was created with hash '{}', got '{}'", dir.display(), meta.hash.name(), opts.hash.name()),
                    ));
                }
                false
            }
            None => {
                for f in [DATA, INDEX, TREE, layout::CHECKPOINT] {
                    if dir.join(f).exists() {
                        return Err(corrupt(0, format!("{f} exists but {META} is missing in {}", dir.display())));
                    }
                }
                write_atomic(&dir, META, &Meta { origin: opts.origin.clone(), hash: opts.hash }.to_json())?;
                true
            }
        };

        let open_rw = |name: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join(name))
                .map_err(io(format!("dir: cannot open {name} in {}", dir.display())))
        };
        let (data, index, tree) = (open_rw(DATA)?, open_rw(INDEX)?, open_rw(TREE)?);
        if fresh {
            sync_dir(&dir)?;
        }
        let mut ledger = Ledger {
            dir,
            origin: opts.origin,
            alg: opts.hash,
            durability: opts.durability,
            max_entry_size: opts.max_entry_size,
            tail_check: opts.tail_check,
            signer,
            lock: Some(lock),
            data,
            index,
            tree,
            size: 0,
            data_len: 0,
            frontier: Vec::new(),
            last_checkpoint: None,
            recovery: Recovery::default(),
            dirty: false,
            poisoned: None,
        };
        ledger.recover()?;
        ledger.frontier = ledger.frontier_at(ledger.size)?;
        if opts.tail_check > 0 {
            ledger.scan(ledger.size.saturating_sub(opts.tail_check))?;
        }
        ledger.load_checkpoint()?;
        ledger.check_signer(opts.rotate_signer)?;
        Ok(ledger)
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::new(READ_ONLY, "ledger: this handle is a read-only follower; open the directory for writing to change it"));
        }
        if let Some(why) = &self.poisoned {
            return Err(Error::new(
                code::IO,
                format!("ledger: refusing to write after a failed rollback ({why}); reopen the ledger to recover"),
            ));
        }
        Ok(())
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
}
