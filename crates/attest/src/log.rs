//! The audit log behind the authority: an append-only RFC 6962/9162 Merkle
//! log with C2SP signed-note checkpoints. Tree hashing, proofs and
//! checkpoints are the ledger crate's (`omnitide_ledger`): this module only
//! defines the seam [`AuditLog`] (the default is
//! [`crate::ledger_log::LedgerLog`]) and an in-memory log for tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use omnitide_common::{Error, Result};
use omnitide_crypto::ed25519;
pub use omnitide_ledger::HashAlg;
use omnitide_ledger::{Checkpoint, MemoryTree};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<[u8; 32]>,
}

/// What [`AuditLog::prove`] returns: a proof and the C2SP signed-note text of
/// the checkpoint whose tree it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    pub proof: InclusionProof,
    pub checkpoint: String,
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
    /// Inclusion proof of `index` and a signed checkpoint covering it.
    fn prove(&self, index: u64) -> Result<Proved>;
    fn hash_alg(&self) -> HashAlg;
    /// The checkpoint origin (and key name).
    fn origin(&self) -> String;
    /// The key that signs this log's checkpoints, when it has one.
    fn public_key(&self) -> Option<[u8; 32]> {
        None
    }
}

/// RFC 9162 §2.1.3.2 inclusion verification (the ledger crate's verifier).
pub fn verify_inclusion(alg: HashAlg, leaf_hash: &[u8; 32], proof: &InclusionProof, root_hash: &[u8; 32]) -> bool {
    proof.hashes.len() <= 64
        && omnitide_ledger::merkle::verify_inclusion(alg, leaf_hash, proof.index, proof.tree_size, &proof.hashes, root_hash).is_ok()
}

struct MemInner {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
}

/// In-memory log for tests (BLAKE3 tree). `set_failing(true)` makes appends
/// fail as a crashed or full disk would.
pub struct MemLog {
    origin: String,
    signer: ed25519::Signer,
    inner: Mutex<MemInner>,
    failing: AtomicBool,
}

impl MemLog {
    pub fn new(origin: &str) -> Self {
        let (sk, _) = ed25519::generate_keypair();
        let sk = Zeroizing::new(sk);
        Self {
            origin: origin.into(),
            signer: ed25519::Signer::new(&sk[..]).expect("32-byte key"),
            inner: Mutex::new(MemInner { entries: vec![], tree: MemoryTree::new(HashAlg::Blake3) }),
            failing: AtomicBool::new(false),
        }
    }
    pub fn set_failing(&self, f: bool) {
        self.failing.store(f, Ordering::SeqCst);
    }
    pub fn public_key(&self) -> [u8; 32] {
        self.signer.public_key()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AuditLog for MemLog {
    fn append_many(&self, entries: &[Vec<u8>]) -> Result<Vec<u64>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::new(omnitide_common::code::IO, "audit log: append failed (simulated crash)"));
        }
        let mut g = lock(&self.inner);
        let start = g.entries.len() as u64;
        for e in entries {
            g.tree.push(e);
            g.entries.push(e.clone());
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
    fn prove(&self, index: u64) -> Result<Proved> {
        let g = lock(&self.inner);
        let n = g.tree.len();
        if index >= n {
            return Err(Error::invalid_arg("index", format!("must be < log size {n}, got {index}")));
        }
        let hashes = g.tree.inclusion_proof(index, n)?;
        let cp = Checkpoint { origin: self.origin.clone(), size: n, root_hash: g.tree.root(n), timestamp: Some(crate::now_ms() as u64) };
        let signed = cp.sign(&self.origin, &self.signer)?;
        Ok(Proved { proof: InclusionProof { index, tree_size: n, hashes }, checkpoint: signed.text })
    }
    fn hash_alg(&self) -> HashAlg {
        HashAlg::Blake3
    }
    fn origin(&self) -> String {
        self.origin.clone()
    }
    fn public_key(&self) -> Option<[u8; 32]> {
        Some(MemLog::public_key(self))
    }
}
