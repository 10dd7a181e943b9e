//! [`AuditLog`] on the omnitide ledger (`omnitide-ledger`): RFC 6962/9162
//! tree, crash-safe store, C2SP signed checkpoints. [`LedgerLog`] is the one
//! writer; [`LedgerReader`] follows a ledger directory written by another
//! handle or process, read-only and without its lock.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use omnitide_common::{Error, Result};
use omnitide_ledger::{Durability, Ledger, Options};
use zeroize::Zeroizing;

use crate::log::{AuditLog, Checkpoint, HashAlg, InclusionProof};

fn alg_of(h: omnitide_ledger::HashAlg) -> HashAlg {
    match h {
        omnitide_ledger::HashAlg::Blake3 => HashAlg::Blake3,
        omnitide_ledger::HashAlg::Sha256 => HashAlg::Sha256,
    }
}

pub struct LedgerLog {
    ledger: Mutex<Ledger>,
    alg: HashAlg,
    public_key: [u8; 32],
    dir: PathBuf,
}

impl LedgerLog {
    /// Opens (creating) the ledger in `dir` with BLAKE3 tree hashing, signing
    /// checkpoints with `signer`. `durability` as in the ledger ('batch' fsyncs
    /// each append batch before it is acknowledged).
    pub fn open(dir: &Path, origin: &str, signer: &Zeroizing<[u8; 32]>, durability: Durability) -> Result<Self> {
        let mut o = Options::new(origin);
        o.hash = omnitide_ledger::HashAlg::Blake3;
        o.durability = durability;
        o.signer = Some(signer.to_vec());
        let ledger = Ledger::open(dir, o)?;
        let public_key = ledger.public_key().ok_or_else(|| Error::internal("ledger opened without a signer"))?;
        Ok(Self { alg: alg_of(ledger.hash_alg()), public_key, ledger: Mutex::new(ledger), dir: dir.to_owned() })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AuditLog for LedgerLog {
    fn append_many(&self, entries: &[Vec<u8>]) -> Result<Vec<u64>> {
        let (first, hashes) = self.lock().append_many(entries)?;
        Ok((first..first + hashes.len() as u64).collect())
    }

    fn size(&self) -> Result<u64> {
        Ok(self.lock().size())
    }

    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
        let l = self.lock();
        let end = l.size().min(start.saturating_add(max as u64));
        if start >= end {
            return Ok(vec![]);
        }
        l.get_range(start, end)
    }

    fn prove(&self, index: u64) -> Result<(InclusionProof, Checkpoint)> {
        let b = self.lock().bundle(index)?;
        let cp = Checkpoint::from_text(&b.checkpoint, &self.public_key).map_err(|e| Error::internal(format!("ledger checkpoint: {e}")))?;
        Ok((InclusionProof { index: b.index, tree_size: b.tree_size, hashes: b.proof }, cp))
    }

    fn hash_alg(&self) -> HashAlg {
        self.alg
    }
    fn public_key(&self) -> Option<[u8; 32]> {
        Some(self.public_key)
    }
}

/// Read-only follower of a ledger directory (the documented on-disk format:
/// `entries.idx` holds the u64 LE offset of each record in `entries.dat`, a
/// record is `u32 LE length | entry | first 8 bytes of the leaf hash`). Only
/// complete records whose checksum matches are returned; polling is one
/// `stat` of the index when nothing changed.
pub struct LedgerReader {
    index: File,
    data: File,
    alg: HashAlg,
    state: Mutex<(u64, Vec<u64>)>, // (data bytes known good, offsets)
}

impl LedgerReader {
    pub fn open(dir: &Path) -> Result<Self> {
        let io = |what: &str, e: std::io::Error| Error::io(format!("ledger {}: {what}", dir.display()), &e);
        let meta = std::fs::read(dir.join("ledger.json")).map_err(|e| io("read ledger.json", e))?;
        let meta: serde_json::Value = serde_json::from_slice(&meta).map_err(|e| Error::internal(format!("ledger.json: {e}")))?;
        let alg = meta["hash"].as_str().and_then(HashAlg::parse).ok_or_else(|| Error::internal("ledger.json: unknown hash"))?;
        Ok(Self {
            index: File::open(dir.join("entries.idx")).map_err(|e| io("open entries.idx", e))?,
            data: File::open(dir.join("entries.dat")).map_err(|e| io("open entries.dat", e))?,
            alg,
            state: Mutex::new((0, vec![])),
        })
    }

    fn refresh(&self) -> Result<std::sync::MutexGuard<'_, (u64, Vec<u64>)>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let idx_len = self.index.metadata().map_err(|e| Error::io("ledger: stat entries.idx", &e))?.len();
        let n = idx_len / 8;
        let known = st.1.len() as u64;
        if n <= known {
            return Ok(st);
        }
        let mut buf = vec![0u8; ((n - known) * 8) as usize];
        self.index.read_exact_at(&mut buf, known * 8).map_err(|e| Error::io("ledger: read entries.idx", &e))?;
        let data_len = self.data.metadata().map_err(|e| Error::io("ledger: stat entries.dat", &e))?.len();
        for c in buf.chunks_exact(8) {
            let off = u64::from_le_bytes(c.try_into().unwrap());
            let mut hdr = [0u8; 4];
            if off + 4 > data_len || self.data.read_exact_at(&mut hdr, off).is_err() {
                break;
            }
            let len = u32::from_le_bytes(hdr) as u64;
            if off + 4 + len + 8 > data_len {
                break;
            }
            st.1.push(off);
            st.0 = off + 4 + len + 8;
        }
        Ok(st)
    }
}

impl AuditLog for LedgerReader {
    fn append_many(&self, _: &[Vec<u8>]) -> Result<Vec<u64>> {
        Err(Error::new(omnitide_common::code::CLOSED, "ledger reader: read-only"))
    }

    fn size(&self) -> Result<u64> {
        Ok(self.refresh()?.1.len() as u64)
    }

    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
        let st = self.refresh()?;
        let mut out = Vec::new();
        for i in (start as usize)..st.1.len().min((start as usize).saturating_add(max)) {
            let off = st.1[i];
            let mut hdr = [0u8; 4];
            self.data.read_exact_at(&mut hdr, off).map_err(|e| Error::io("ledger: read entries.dat", &e))?;
            let len = u32::from_le_bytes(hdr) as usize;
            let mut rec = vec![0u8; len + 8];
            self.data.read_exact_at(&mut rec, off + 4).map_err(|e| Error::io("ledger: read entries.dat", &e))?;
            if self.alg.leaf(&rec[..len])[..8] != rec[len..] {
                // Not (yet) a complete, matching record: stop here.
                break;
            }
            rec.truncate(len);
            out.push(rec);
        }
        Ok(out)
    }

    fn prove(&self, _: u64) -> Result<(InclusionProof, Checkpoint)> {
        Err(Error::new(omnitide_common::code::CLOSED, "ledger reader: proofs come from the writer (auditBundle)"))
    }

    fn hash_alg(&self) -> HashAlg {
        self.alg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::verify_inclusion;

    #[test]
    fn ledger_proofs_and_checkpoints_verify_and_reader_follows() {
        let dir = tempfile::tempdir().unwrap();
        let (sk, _) = omnitide_crypto::ed25519::generate_keypair();
        let log = LedgerLog::open(dir.path(), "test-origin", &Zeroizing::new(sk), Durability::Batch).unwrap();
        let reader = LedgerReader::open(dir.path()).unwrap();
        assert_eq!(reader.size().unwrap(), 0);
        let idx = log.append_many(&(0..10u8).map(|i| vec![i; i as usize + 1]).collect::<Vec<_>>()).unwrap();
        assert_eq!(idx, (0..10).collect::<Vec<_>>());
        assert_eq!(reader.size().unwrap(), 10);
        assert_eq!(reader.read_from(8, 5).unwrap(), vec![vec![8u8; 9], vec![9u8; 10]]);
        assert_eq!(log.read_from(3, 1).unwrap(), vec![vec![3u8; 4]]);
        for i in [0u64, 5, 9] {
            let (p, cp) = log.prove(i).unwrap();
            assert!(cp.verify(), "the ledger's C2SP checkpoint verifies here");
            assert_eq!(cp.size, 10);
            let entry = log.read_from(i, 1).unwrap().pop().unwrap();
            assert!(verify_inclusion(log.hash_alg(), &log.hash_alg().leaf(&entry), &p, &cp.root_hash));
            let again = Checkpoint::from_text(&cp.to_text(), &log.public_key()).unwrap();
            assert_eq!(again, cp);
            assert!(Checkpoint::from_text(&cp.to_text(), &[9u8; 32]).is_err());
        }
        log.append(b"more").unwrap();
        assert_eq!(reader.size().unwrap(), 11);
        assert!(reader.append(b"x").is_err());
    }
}
