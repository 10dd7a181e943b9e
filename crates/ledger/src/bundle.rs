//! Proof bundles: an entry, its inclusion proof and a signed checkpoint, in
//! one self-contained blob that anyone holding the log's public key can
//! verify offline.
//!
//! Binary layout (integers little-endian):
//! `"OTLB" | version u8 = 1 | hash u8 (0 sha256, 1 blake3) | index u64 |
//!  tree size u64 | entry length u32 | entry | proof count u8 | 32 bytes each |
//!  checkpoint length u32 | checkpoint text (UTF-8 signed note)`

use omnitide_common::{Error, Result};

use crate::checkpoint::{self, Checkpoint};
use crate::merkle::{self, Hash, HashAlg, HASH_LEN};

const MAGIC: &[u8; 4] = b"OTLB";
const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub hash: HashAlg,
    pub index: u64,
    pub tree_size: u64,
    pub entry: Vec<u8>,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

fn bad(problem: impl std::fmt::Display) -> Error {
    Error::invalid_arg("bundle", format!("malformed bundle: {problem}"))
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.b.len() - self.p < n {
            return Err(bad(format!("truncated in {what} (needs {n} bytes at offset {}, {} left)", self.p, self.b.len() - self.p)));
        }
        let s = &self.b[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
}

impl Bundle {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entry.len() + self.proof.len() * HASH_LEN + self.checkpoint.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.hash {
            HashAlg::Sha256 => 0,
            HashAlg::Blake3 => 1,
        });
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.tree_size.to_le_bytes());
        out.extend_from_slice(&(self.entry.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.entry);
        out.push(self.proof.len() as u8);
        for h in &self.proof {
            out.extend_from_slice(h);
        }
        out.extend_from_slice(&(self.checkpoint.len() as u32).to_le_bytes());
        out.extend_from_slice(self.checkpoint.as_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Bundle> {
        let mut r = Reader { b: bytes, p: 0 };
        if r.take(4, "magic")? != MAGIC {
            return Err(bad("does not start with OTLB"));
        }
        let v = r.take(1, "version")?[0];
        if v != VERSION {
            return Err(bad(format!("version {v} is not supported (expected {VERSION})")));
        }
        let hash = match r.take(1, "hash")?[0] {
            0 => HashAlg::Sha256,
            1 => HashAlg::Blake3,
            h => return Err(bad(format!("unknown hash id {h}"))),
        };
        let index = r.u64("index")?;
        let tree_size = r.u64("tree size")?;
        let elen = r.u32("entry length")? as usize;
        let entry = r.take(elen, "entry")?.to_vec();
        let count = r.take(1, "proof count")?[0] as usize;
        if count > 64 {
            return Err(bad(format!("proof has {count} hashes, at most 64 are possible")));
        }
        let mut proof = Vec::with_capacity(count);
        for _ in 0..count {
            proof.push(r.take(HASH_LEN, "proof")?.try_into().unwrap());
        }
        let clen = r.u32("checkpoint length")? as usize;
        let cp = r.take(clen, "checkpoint")?;
        let checkpoint = String::from_utf8(cp.to_vec()).map_err(|_| bad("checkpoint is not UTF-8"))?;
        if r.p != bytes.len() {
            return Err(bad(format!("{} trailing bytes", bytes.len() - r.p)));
        }
        Ok(Bundle { hash, index, tree_size, entry, proof, checkpoint })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleVerification {
    pub valid: bool,
    pub reason: Option<String>,
    pub checkpoint: Checkpoint,
}

/// Verifies a bundle offline: the checkpoint's signature under `public_key`
/// (key name: `key_name` or the checkpoint's origin), that the bundle's tree
/// size is the checkpoint's, and that the entry is included under its root.
pub fn verify(bundle: &Bundle, public_key: &[u8], key_name: Option<&str>) -> Result<BundleVerification> {
    let cv = checkpoint::verify(&bundle.checkpoint, public_key, key_name)?;
    let fail = |reason: String| Ok(BundleVerification { valid: false, reason: Some(reason), checkpoint: cv.checkpoint.clone() });
    if !cv.valid {
        return fail(format!("checkpoint: {}", cv.reason.clone().unwrap_or_default()));
    }
    if cv.checkpoint.size != bundle.tree_size {
        return fail(format!("bundle tree size {} differs from the checkpoint's {}", bundle.tree_size, cv.checkpoint.size));
    }
    let leaf = bundle.hash.leaf_hash(&bundle.entry);
    if let Err(why) = merkle::verify_inclusion(bundle.hash, &leaf, bundle.index, bundle.tree_size, &bundle.proof, &cv.checkpoint.root_hash)
    {
        return fail(format!("inclusion proof: {why}"));
    }
    Ok(BundleVerification { valid: true, reason: None, checkpoint: cv.checkpoint })
}
