//! Open-time recovery (finding the committed size, cutting a torn tail) and
//! the integrity scans behind `open`'s tail check and `verify`.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;

use omnitide_common::{Error, Result};

use super::layout::{corrupt, io, node_count, CHECKPOINT, FRAME_OVERHEAD};
use super::{Durability, Ledger, Recovery};
use crate::checkpoint::{self, Checkpoint};
use crate::merkle::{Hash, NodeSource, HASH_LEN};

impl Ledger {
    fn file_len(f: &File, name: &str) -> Result<u64> {
        f.metadata().map(|m| m.len()).map_err(io(format!("dir: stat {name}")))
    }

    /// Reads record `i`'s offset from the index.
    pub(crate) fn offset(&self, i: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.index.read_exact_at(&mut b, i * 8).map_err(|e| corrupt(i, format!("index record unreadable: {e}")))?;
        Ok(u64::from_le_bytes(b))
    }

    /// Finds the committed size. The writer cuts every file back to it; a
    /// read-only follower only ignores what lies beyond (a write in flight).
    pub(crate) fn recover(&mut self) -> Result<()> {
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
        self.size = n;
        self.data_len = data_end;
        if self.lock.is_none() {
            return Ok(());
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
        self.recovery = rec;
        Ok(())
    }

    /// Hashes of the perfect subtrees making up the tree of `n` leaves, largest first.
    pub(crate) fn frontier_at(&self, n: u64) -> Result<Vec<Hash>> {
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

    pub(crate) fn root_of_frontier(&self, f: &[Hash]) -> Hash {
        match f.split_last() {
            None => self.alg.empty_root(),
            Some((last, rest)) => rest.iter().rev().fold(*last, |acc, h| self.alg.node_hash(h, &acc)),
        }
    }

    /// Re-hashes entries `from..size` and checks them against their records,
    /// the index and every tree node they complete. Streams the files.
    pub(crate) fn scan(&self, from: u64) -> Result<()> {
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
                return Err(corrupt(
                    i,
                    format!("index says record starts at {}, the previous record ends at {pos}", u64::from_le_bytes(b8)),
                ));
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
                    return Err(corrupt(
                        first,
                        format!("stored tree node (level {level}) covering entries {first}..{} does not match them", i + 1),
                    ));
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

    /// Reads the stored checkpoint and checks it against the tree.
    pub(crate) fn load_checkpoint(&mut self) -> Result<()> {
        let path = self.dir.join(CHECKPOINT);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(format!("dir: reading {}", path.display()), &e)),
        };
        if self.last_checkpoint.as_ref().is_some_and(|(_, t)| *t == text) {
            return Ok(());
        }
        let cp = checkpoint::parse_unverified(&text).map_err(|e| corrupt(0, format!("stored checkpoint: {}", e.message)))?;
        if cp.origin != self.origin {
            return Err(corrupt(0, format!("stored checkpoint has origin '{}', the ledger '{}'", cp.origin, self.origin)));
        }
        if cp.size > self.size && self.lock.is_none() {
            // A follower whose view lags the writer's newest checkpoint keeps
            // the previous one until a refresh covers it.
            return Ok(());
        }
        if cp.size > self.size {
            return Err(corrupt(
                self.size,
                format!(
                    "the log has {} entries but a checkpoint was signed at size {}: acknowledged entries are missing",
                    self.size, cp.size
                ),
            ));
        }
        if self.root(Some(cp.size))? != cp.root_hash {
            return Err(self.inconsistent(&cp));
        }
        self.last_checkpoint = Some((cp, text));
        Ok(())
    }

    pub(crate) fn inconsistent(&self, cp: &Checkpoint) -> Error {
        match self.scan(0) {
            Err(e) => e,
            Ok(()) => corrupt(
                cp.size.saturating_sub(1),
                format!("the tree of size {} differs from the one signed in the last checkpoint", cp.size),
            ),
        }
    }
}
