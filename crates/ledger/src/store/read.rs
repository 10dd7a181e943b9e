//! Reads: entries (checked against their record checksums), roots, proofs
//! and the integrity check. Shared by the writer and the read-only follower.

use std::os::unix::fs::FileExt;

use omnitide_common::{Error, Result};

use super::layout::corrupt;
use super::Ledger;
use crate::merkle::{self, Hash, NodeSource};

impl Ledger {
    pub(crate) fn check_index(&self, index: u64) -> Result<()> {
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

    /// Integrity check: `full = true` re-hashes every entry and node; else
    /// the last `tail_check` entries (the same window `open` checks). Either
    /// way the tree is checked against the last signed checkpoint.
    pub fn verify(&self, full: bool) -> Result<()> {
        let from = if full { 0 } else { self.size.saturating_sub(self.tail_check) };
        self.scan(from)?;
        if let Some((cp, _)) = &self.last_checkpoint {
            if self.root(Some(cp.size))? != cp.root_hash {
                return Err(self.inconsistent(cp));
            }
        }
        Ok(())
    }
}
