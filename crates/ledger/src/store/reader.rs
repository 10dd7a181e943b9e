//! [`LedgerReader`]: a read-only follower of a ledger directory that another
//! handle or process writes. It takes no lock and never writes, so it works
//! while a service holds the directory: entries, roots, proofs, the stored
//! checkpoint, bundles under that checkpoint, and integrity checks.
//!
//! Its view is the committed prefix it finds (complete records present in all
//! three files); a write in flight is ignored until `refresh` sees it whole.

use std::fs::File;
use std::path::Path;

use omnitide_common::{Error, Result};

use super::layout::{io, Meta, DATA, INDEX, TREE};
use super::{Durability, Ledger, Recovery, DEFAULT_TAIL_CHECK, MAX_ENTRY_SIZE_LIMIT};

pub struct LedgerReader {
    inner: Ledger,
}

impl std::ops::Deref for LedgerReader {
    type Target = Ledger;
    /// Every `&self` method of [`Ledger`] (reads); writes need `&mut Ledger`.
    fn deref(&self) -> &Ledger {
        &self.inner
    }
}

impl LedgerReader {
    /// Opens `dir` read-only; origin and hash come from its `ledger.json`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let meta =
            Meta::read(&dir)?.ok_or_else(|| Error::invalid_arg("dir", format!("{} holds no ledger (no ledger.json)", dir.display())))?;
        let open = |name: &str| File::open(dir.join(name)).map_err(io(format!("dir: cannot open {name} in {}", dir.display())));
        let (data, index, tree) = (open(DATA)?, open(INDEX)?, open(TREE)?);
        let mut inner = Ledger {
            dir,
            origin: meta.origin,
            alg: meta.hash,
            durability: Durability::None,
            max_entry_size: MAX_ENTRY_SIZE_LIMIT,
            tail_check: DEFAULT_TAIL_CHECK,
            signer: None,
            lock: None,
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
        inner.recover()?;
        inner.frontier = inner.frontier_at(inner.size)?;
        inner.load_checkpoint()?;
        Ok(Self { inner })
    }

    /// Entries re-hashed by `verify(false)` (default 64).
    pub fn set_tail_check(&mut self, n: u64) {
        self.inner.tail_check = n;
    }

    /// Catches up with the writer; returns the new size.
    pub fn refresh(&mut self) -> Result<u64> {
        self.refresh_upto(None)
    }

    /// Catches up with the writer, but to at most `limit` entries (a writer
    /// in the same process caps its reader at what it has acknowledged).
    pub fn refresh_upto(&mut self, limit: Option<u64>) -> Result<u64> {
        let l = &mut self.inner;
        if limit == Some(l.size) {
            return Ok(l.size); // already there: no stat, no read
        }
        let before = (l.size, l.data_len);
        l.recover()?;
        if let Some(cap) = limit.filter(|c| *c < l.size) {
            l.data_len = if cap == 0 { 0 } else { l.offset(cap)? };
            l.size = cap;
        }
        if (l.size, l.data_len) != before {
            l.frontier = l.frontier_at(l.size)?;
        }
        l.load_checkpoint()?;
        Ok(l.size)
    }
}
