//! [`AuditLog`] on the omnitide ledger (`omnitide-ledger`): RFC 6962/9162
//! tree, crash-safe store, C2SP signed checkpoints. [`LedgerLog`] is the one
//! writer; [`FollowerLog`] reads a ledger directory written by another handle
//! or process through the ledger's own read-only follower
//! ([`omnitide_ledger::LedgerReader`]), without its lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use omnitide_common::{Error, Result};
use omnitide_ledger::{Durability, HashAlg, Ledger, LedgerReader, Options};
use zeroize::Zeroizing;

use crate::log::{AuditLog, InclusionProof, Proved};

pub struct LedgerLog {
    ledger: Mutex<Ledger>,
    alg: HashAlg,
    origin: String,
    public_key: [u8; 32],
    dir: PathBuf,
}

impl LedgerLog {
    /// Opens (creating) the ledger in `dir` with origin `origin` and tree
    /// hash `alg`, signing checkpoints with `signer`. `durability` as in the
    /// ledger ('batch' fsyncs each append batch before it is acknowledged).
    pub fn open(dir: &Path, origin: &str, alg: HashAlg, signer: &Zeroizing<[u8; 32]>, durability: Durability) -> Result<Self> {
        let mut o = Options::new(origin);
        o.hash = alg;
        o.durability = durability;
        o.signer = Some(signer.to_vec());
        let ledger = Ledger::open(dir, o)?;
        let public_key = ledger.public_key().ok_or_else(|| Error::internal("ledger opened without a signer"))?;
        Ok(Self { alg, origin: origin.to_owned(), public_key, ledger: Mutex::new(ledger), dir: dir.to_owned() })
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

fn proved(b: omnitide_ledger::Bundle) -> Proved {
    Proved { proof: InclusionProof { index: b.index, tree_size: b.tree_size, hashes: b.proof }, checkpoint: b.checkpoint }
}

fn range(l: &Ledger, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
    let end = l.size().min(start.saturating_add(max as u64));
    if start >= end {
        return Ok(vec![]);
    }
    l.get_range(start, end)
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
        range(&self.lock(), start, max)
    }
    fn prove(&self, index: u64) -> Result<Proved> {
        Ok(proved(self.lock().bundle(index)?))
    }
    fn hash_alg(&self) -> HashAlg {
        self.alg
    }
    fn origin(&self) -> String {
        self.origin.clone()
    }
    fn public_key(&self) -> Option<[u8; 32]> {
        Some(self.public_key)
    }
}

/// A read-only [`AuditLog`] over another writer's ledger directory: `size`
/// catches up with the writer; proofs use the last stored checkpoint.
pub struct FollowerLog {
    reader: Mutex<LedgerReader>,
    alg: HashAlg,
    origin: String,
}

impl FollowerLog {
    pub fn open(dir: &Path) -> Result<Self> {
        let r = LedgerReader::open(dir)?;
        Ok(Self { alg: r.hash_alg(), origin: r.origin().to_owned(), reader: Mutex::new(r) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerReader> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AuditLog for FollowerLog {
    fn append_many(&self, _: &[Vec<u8>]) -> Result<Vec<u64>> {
        Err(Error::new(omnitide_ledger::READ_ONLY, "audit log: a follower of another writer's ledger is read-only"))
    }
    fn size(&self) -> Result<u64> {
        self.lock().refresh()
    }
    fn read_from(&self, start: u64, max: usize) -> Result<Vec<Vec<u8>>> {
        range(&self.lock(), start, max)
    }
    fn prove(&self, index: u64) -> Result<Proved> {
        let mut r = self.lock();
        r.refresh()?;
        Ok(proved(r.bundle_stored(index)?))
    }
    fn hash_alg(&self) -> HashAlg {
        self.alg
    }
    fn origin(&self) -> String {
        self.origin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::verify_inclusion;
    use omnitide_ledger::checkpoint;

    #[test]
    fn ledger_proofs_and_checkpoints_verify_and_follower_follows() {
        let dir = tempfile::tempdir().unwrap();
        let (sk, _) = omnitide_crypto::ed25519::generate_keypair();
        let log = LedgerLog::open(dir.path(), "test-origin", HashAlg::Blake3, &Zeroizing::new(sk), Durability::Batch).unwrap();
        let follower = FollowerLog::open(dir.path()).unwrap();
        assert_eq!(follower.size().unwrap(), 0);
        let idx = log.append_many(&(0..10u8).map(|i| vec![i; i as usize + 1]).collect::<Vec<_>>()).unwrap();
        assert_eq!(idx, (0..10).collect::<Vec<_>>());
        assert_eq!(follower.size().unwrap(), 10);
        assert_eq!(follower.read_from(8, 5).unwrap(), vec![vec![8u8; 9], vec![9u8; 10]]);
        for i in [0u64, 5, 9] {
            let p = log.prove(i).unwrap();
            let v = checkpoint::verify(&p.checkpoint, &log.public_key(), None).unwrap();
            assert!(v.valid);
            assert_eq!(v.checkpoint.size, 10);
            let entry = log.read_from(i, 1).unwrap().pop().unwrap();
            assert!(verify_inclusion(log.hash_alg(), &log.hash_alg().leaf_hash(&entry), &p.proof, &v.checkpoint.root_hash));
            // The follower hands out the same proof under the stored checkpoint.
            assert_eq!(follower.prove(i).unwrap(), p);
        }
        log.append(b"more").unwrap();
        assert_eq!(follower.size().unwrap(), 11);
        assert_eq!(follower.append(b"x").unwrap_err().code, omnitide_ledger::READ_ONLY);
    }
}
