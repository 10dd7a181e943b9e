//! Appends: framing, hashing, the write order data → index → tree, the
//! commit (fsync per durability) and the rollback of a failed batch.

use std::os::unix::fs::FileExt;

use omnitide_common::{Error, Result};

use super::layout::{io, node_count, FRAME_OVERHEAD};
use super::{Durability, Ledger, CHUNK};
use crate::merkle::{Hash, HASH_LEN};

impl Ledger {
    pub fn append(&mut self, entry: &[u8]) -> Result<(u64, Hash)> {
        let (first, hashes) = self.append_many(&[entry])?;
        Ok((first, hashes[0]))
    }

    /// Appends all `entries` as one commit; returns the first index and the leaf hashes.
    /// Nothing is written if any entry is over the size cap; a batch that
    /// fails half-way is cut back, and if even that fails the handle refuses
    /// further writes (reopening truncates the torn tail).
    pub fn append_many<T: AsRef<[u8]>>(&mut self, entries: &[T]) -> Result<(u64, Vec<Hash>)> {
        self.writable()?;
        for (i, e) in entries.iter().enumerate() {
            let len = e.as_ref().len();
            if len > self.max_entry_size {
                return Err(Error::limit(&format!("entries[{i}]"), format!("{len} bytes exceeds maxEntrySize {}", self.max_entry_size)));
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
            let (size, data_len, frontier) = saved;
            return Err(self.roll_back(size, data_len, frontier, e));
        }
        Ok((first, hashes))
    }

    /// Cuts the files back to the last commit so no half batch survives.
    /// Returns the error to report: the original one, plus the rollback's own
    /// failure if it had one (then the handle is poisoned).
    fn roll_back(&mut self, size: u64, data_len: u64, frontier: Vec<Hash>, cause: Error) -> Error {
        let failures: Vec<String> = [
            self.data.set_len(data_len).map_err(|e| format!("entries.dat: {e}")),
            self.index.set_len(size * 8).map_err(|e| format!("entries.idx: {e}")),
            self.tree.set_len(node_count(size) * HASH_LEN as u64).map_err(|e| format!("tree.dat: {e}")),
        ]
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
        self.size = size;
        self.data_len = data_len;
        self.frontier = frontier;
        if failures.is_empty() {
            return cause;
        }
        let why = format!("rollback after a failed append also failed: {}", failures.join("; "));
        self.poisoned = Some(why.clone());
        Error::new(cause.code, format!("{}; {why}", cause.message))
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
        self.tree.write_all_at(&tree_buf, node_count(self.size) * HASH_LEN as u64).map_err(io("dir: writing tree.dat"))?;
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
    pub(crate) fn sync_files(&mut self) -> Result<()> {
        let (data, index, tree) = (&self.data, &self.index, &self.tree);
        let joined =
            |r: std::thread::Result<std::io::Result<()>>| r.unwrap_or_else(|_| Err(std::io::Error::other("fsync thread panicked")));
        let (a, b, c) = std::thread::scope(|s| {
            let i = s.spawn(|| index.sync_data());
            let t = s.spawn(|| tree.sync_data());
            let d = data.sync_data();
            (d, joined(i.join()), joined(t.join()))
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
}
