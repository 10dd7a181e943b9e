//! The audit log behind the authority: an append-only, RFC 6962-style Merkle
//! log with signed checkpoints. [`AuditLog`] is the seam to the omnitide
//! ledger ([`crate::ledger_log::LedgerLog`], the default); [`MemLog`] is an
//! in-memory implementation for tests.
//!
//! Tree hashing is RFC 6962/9162 (leaf `H(0x00 || entry)`, node
//! `H(0x01 || left || right)`, the RFC's split rule) with BLAKE3 or SHA-256.
//! Checkpoints are C2SP signed notes: the body `origin\nsize\nbase64(root)\n`
//! plus a `timestamp <ms>` extension line, signed with Ed25519.

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
    /// The ledger's implementation of the same hash (one RFC 6962 code path
    /// for the whole project).
    pub fn ledger(self) -> omnitide_ledger::HashAlg {
        match self {
            HashAlg::Blake3 => omnitide_ledger::HashAlg::Blake3,
            HashAlg::Sha256 => omnitide_ledger::HashAlg::Sha256,
        }
    }
    pub fn leaf(self, entry: &[u8]) -> [u8; 32] {
        self.ledger().leaf_hash(entry)
    }
    pub fn node(self, l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
        self.ledger().node_hash(l, r)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub hashes: Vec<[u8; 32]>,
}

/// A signed tree head as a C2SP signed note (the omnitide ledger's format):
/// body `origin\nsize\nbase64(root)\n[extension lines]`, a blank line, and
/// `— <origin> base64(keyid(4) || Ed25519 signature)`, keyid being the
/// first 4 bytes of SHA-256(origin || 0x0A || 0x01 || public key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: [u8; 32],
    pub timestamp: Option<i64>,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
    /// The signed note text (what the signature covers).
    pub body: String,
}

fn key_hash(name: &str, pk: &[u8; 32]) -> [u8; 4] {
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(pk);
    h.finalize()[..4].try_into().unwrap()
}

type Body = (String, u64, [u8; 32], Option<i64>);

fn parse_body(body: &str) -> std::result::Result<Body, String> {
    let lines: Vec<&str> = body.strip_suffix('\n').ok_or("checkpoint: body must end with a newline")?.split('\n').collect();
    if lines.len() < 3 || lines[0].is_empty() {
        return Err("checkpoint: needs origin, size and root hash lines".into());
    }
    let size = lines[1]
        .parse::<u64>()
        .ok()
        .filter(|_| lines[1].bytes().all(|b| b.is_ascii_digit()) && (lines[1] == "0" || !lines[1].starts_with('0')))
        .ok_or("checkpoint: bad tree size")?;
    let root: [u8; 32] = unb64(lines[2]).and_then(|r| r.try_into().ok()).ok_or("checkpoint: bad root hash")?;
    let mut ts = None;
    for l in &lines[3..] {
        if let Some(t) = l.strip_prefix("timestamp ") {
            ts = Some(t.parse().map_err(|_| "checkpoint: bad timestamp")?);
        }
    }
    Ok((lines[0].to_owned(), size, root, ts))
}

const SIG_PREFIX: &str = "\u{2014} ";

impl Checkpoint {
    pub fn sign(origin: &str, size: u64, root: [u8; 32], timestamp: i64, secret: &[u8; 32]) -> Result<Self> {
        let body = format!("{origin}\n{size}\n{}\ntimestamp {timestamp}\n", b64(&root));
        let signature = ed25519::sign(body.as_bytes(), secret)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root_hash: root,
            timestamp: Some(timestamp),
            public_key: ed25519::public_key_from_secret(secret)?,
            signature,
            body,
        })
    }

    /// Parses a signed note and picks the signature line of `public_key`
    /// (key name = origin). Does not check the signature: see [`Self::verify`].
    pub fn from_text(text: &str, public_key: &[u8; 32]) -> std::result::Result<Self, String> {
        if text.len() > 1 << 20 {
            return Err("checkpoint: too long".into());
        }
        let split = text.find("\n\n").ok_or("checkpoint: no blank line before the signatures")?;
        let body = &text[..split + 1];
        let (origin, size, root_hash, timestamp) = parse_body(body)?;
        let want = key_hash(&origin, public_key);
        for line in text[split + 2..].lines() {
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else { continue };
            let Some((name, sig)) = rest.rsplit_once(' ') else { continue };
            let Some(blob) = unb64(sig) else { continue };
            if name == origin && blob.len() == 68 && blob[..4] == want {
                return Ok(Self {
                    origin,
                    size,
                    root_hash,
                    timestamp,
                    public_key: *public_key,
                    signature: blob[4..].try_into().unwrap(),
                    body: body.to_owned(),
                });
            }
        }
        Err("checkpoint: no signature line by the given key".into())
    }

    /// The checkpoint as a C2SP signed note.
    pub fn to_text(&self) -> String {
        let mut sig = key_hash(&self.origin, &self.public_key).to_vec();
        sig.extend_from_slice(&self.signature);
        format!("{}\n{SIG_PREFIX}{} {}\n", self.body, self.origin, b64(&sig))
    }

    /// The signature is valid and the fields are what the body states.
    pub fn verify(&self) -> bool {
        match parse_body(&self.body) {
            Ok((o, s, r, t)) if o == self.origin && s == self.size && r == self.root_hash && t == self.timestamp => {
                ed25519::verify(&self.signature, self.body.as_bytes(), &self.public_key, ed25519::Mode::Strict).unwrap_or(false)
            }
            _ => false,
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"text": self.to_text(), "publicKey": b64(&self.public_key)})
    }

    pub fn from_value(v: &serde_json::Value) -> std::result::Result<Self, String> {
        let m = crate::json::obj(v, "checkpoint")?;
        let pk: [u8; 32] = crate::json::str_field(m, "publicKey", "checkpoint")
            .ok()
            .and_then(unb64)
            .and_then(|b| b.try_into().ok())
            .ok_or("checkpoint.publicKey: expected 32 bytes of Base64")?;
        Self::from_text(crate::json::str_field(m, "text", "checkpoint")?, &pk)
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
    /// The key that signs this log's checkpoints, when it has one.
    fn public_key(&self) -> Option<[u8; 32]> {
        None
    }
}

/// RFC 6962 MTH over leaf hashes (computed by the ledger crate).
pub fn root(alg: HashAlg, leaves: &[[u8; 32]]) -> [u8; 32] {
    tree_of(alg, leaves).root(leaves.len() as u64)
}

fn tree_of(alg: HashAlg, leaves: &[[u8; 32]]) -> omnitide_ledger::MemoryTree {
    let mut t = omnitide_ledger::MemoryTree::new(alg.ledger());
    for l in leaves {
        t.push_leaf_hash(*l);
    }
    t
}

/// RFC 6962 PATH(m, D[n]) (computed by the ledger crate).
pub fn inclusion_path(alg: HashAlg, m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    tree_of(alg, leaves).inclusion_proof(m as u64, leaves.len() as u64).unwrap_or_default()
}

/// RFC 9162 §2.1.3.2 inclusion verification (the ledger crate's verifier).
pub fn verify_inclusion(alg: HashAlg, leaf_hash: &[u8; 32], proof: &InclusionProof, root_hash: &[u8; 32]) -> bool {
    proof.hashes.len() <= 64
        && omnitide_ledger::merkle::verify_inclusion(alg.ledger(), leaf_hash, proof.index, proof.tree_size, &proof.hashes, root_hash).is_ok()
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
    fn public_key(&self) -> Option<[u8; 32]> {
        Some(MemLog::public_key(self))
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
}
