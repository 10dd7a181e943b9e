//! RFC 6962 / RFC 9162 Merkle tree hashing, proof generation over any node
//! source, and the instance-free verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Leaves are hashed as `H(0x00 || entry)`, interior nodes as
//! `H(0x01 || left || right)`, and a tree of `n` leaves splits at the largest
//! power of two strictly smaller than `n` (the RFC's split rule). The empty
//! tree's hash is `H("")`.

use omnitide_common::{Error, Result};
use sha2::Digest;

pub const HASH_LEN: usize = 32;
pub type Hash = [u8; HASH_LEN];

/// The tree hash function. Both produce 32-byte digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlg {
    #[default]
    Sha256,
    Blake3,
}

impl HashAlg {
    pub fn parse(arg: &str, s: &str) -> Result<Self> {
        match s {
            "sha256" => Ok(Self::Sha256),
            "blake3" => Ok(Self::Blake3),
            other => Err(Error::invalid_arg(arg, format!("must be 'sha256' or 'blake3', got '{other}'"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Blake3 => "blake3",
        }
    }

    fn hash_parts(self, parts: &[&[u8]]) -> Hash {
        match self {
            Self::Sha256 => {
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
            Self::Blake3 => {
                let mut h = blake3::Hasher::new();
                for p in parts {
                    h.update(p);
                }
                *h.finalize().as_bytes()
            }
        }
    }

    /// `MTH({})`: the hash of the empty string.
    pub fn empty_root(self) -> Hash {
        self.hash_parts(&[])
    }

    /// `H(0x00 || entry)`.
    pub fn leaf_hash(self, entry: &[u8]) -> Hash {
        self.hash_parts(&[&[0x00], entry])
    }

    /// `H(0x01 || left || right)`.
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        let mut buf = [0u8; 1 + 2 * HASH_LEN];
        buf[0] = 0x01;
        buf[1..33].copy_from_slice(left);
        buf[33..].copy_from_slice(right);
        self.hash_parts(&[&buf])
    }
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Anything that can return the hash of the perfect subtree at `level`
/// covering leaves `[index << level, (index + 1) << level)`.
pub trait NodeSource {
    fn alg(&self) -> HashAlg;
    fn node(&self, level: u32, index: u64) -> Result<Hash>;
}

/// `MTH(D[start:end])` for a range produced by the RFC recursion.
pub fn range_hash<S: NodeSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash> {
    let n = end - start;
    if n == 0 {
        return Ok(src.alg().empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return src.node(level, start >> level);
    }
    let k = split_point(n);
    let left = range_hash(src, start, start + k)?;
    let right = range_hash(src, start + k, end)?;
    Ok(src.alg().node_hash(&left, &right))
}

/// RFC 6962 `PATH(m, D[0:size])`, bottom-up. Caller checks `m < size`.
pub fn inclusion_path<S: NodeSource + ?Sized>(src: &S, m: u64, size: u64) -> Result<Vec<Hash>> {
    let mut out = Vec::with_capacity(64);
    fn go<S: NodeSource + ?Sized>(src: &S, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<()> {
        let n = end - start;
        if n <= 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m - start < k {
            go(src, m, start, start + k, out)?;
            out.push(range_hash(src, start + k, end)?);
        } else {
            go(src, m, start + k, end, out)?;
            out.push(range_hash(src, start, start + k)?);
        }
        Ok(())
    }
    go(src, m, 0, size, &mut out)?;
    Ok(out)
}

/// RFC 6962 `PROOF(m, D[0:n])`. Empty when `m == 0` or `m == n`. Caller checks `m <= n`.
pub fn consistency_path<S: NodeSource + ?Sized>(src: &S, m: u64, n: u64) -> Result<Vec<Hash>> {
    let mut out = Vec::with_capacity(64);
    if m == 0 || m == n {
        return Ok(out);
    }
    fn sub<S: NodeSource + ?Sized>(src: &S, m: u64, start: u64, end: u64, b: bool, out: &mut Vec<Hash>) -> Result<()> {
        let n = end - start;
        if m == n {
            if !b {
                out.push(range_hash(src, start, end)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            sub(src, m, start, start + k, b, out)?;
            out.push(range_hash(src, start + k, end)?);
        } else {
            sub(src, m - k, start + k, end, false, out)?;
            out.push(range_hash(src, start, start + k)?);
        }
        Ok(())
    }
    sub(src, m, 0, n, true, &mut out)?;
    Ok(out)
}

/// Why a proof did not verify (a verification answer, not an error).
pub type Verdict = std::result::Result<(), String>;

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` is leaf `index` of the tree of
/// `tree_size` leaves with root `root`.
pub fn verify_inclusion(alg: HashAlg, leaf_hash: &Hash, index: u64, tree_size: u64, proof: &[Hash], root: &Hash) -> Verdict {
    let r = root_from_inclusion_checked(alg, leaf_hash, index, tree_size, proof)?;
    if &r != root {
        return Err("recomputed root does not match the given root".into());
    }
    Ok(())
}

/// The root a valid inclusion proof leads to (RFC 9162 §2.1.3.2 without the
/// final comparison); `None` if the proof has the wrong length.
pub fn root_from_inclusion(alg: HashAlg, leaf_hash: &Hash, index: u64, tree_size: u64, proof: &[Hash]) -> Option<Hash> {
    root_from_inclusion_checked(alg, leaf_hash, index, tree_size, proof).ok()
}

/// The RFC 9162 §2.1.3.2 walk, with the reason a proof has the wrong shape.
fn root_from_inclusion_checked(
    alg: HashAlg,
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> std::result::Result<Hash, String> {
    if index >= tree_size {
        return Err(format!("index {index} is not below tree size {tree_size}"));
    }
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err("proof is longer than the tree is deep".into());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = alg.node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = alg.node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err("proof is shorter than the tree is deep".into());
    }
    Ok(r)
}

/// RFC 9162 §2.1.4.2: checks that the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with `new_root`.
/// `old_size == 0` is trivially consistent with an empty proof (RFC 9162
/// defines no proof for it); `old_size == new_size` needs an empty proof and
/// equal roots.
pub fn verify_consistency(alg: HashAlg, old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> Verdict {
    if old_size > new_size {
        return Err(format!("old size {old_size} is larger than new size {new_size}"));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err("proof between equal sizes must be empty".into());
        }
        return if old_root == new_root { Ok(()) } else { Err("roots of equal sizes differ".into()) };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err("proof from the empty tree must be empty".into());
        }
        return if *old_root == alg.empty_root() { Ok(()) } else { Err("old root is not the empty tree's root".into()) };
    }
    if proof.is_empty() {
        return Err("proof is empty".into());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    if fn_ & 1 == 1 {
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err("proof is longer than the tree is deep".into());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = alg.node_hash(c, &fr);
            sr = alg.node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = alg.node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err("proof is shorter than the tree is deep".into());
    }
    if &fr != old_root {
        return Err("recomputed old root does not match the given old root".into());
    }
    if &sr != new_root {
        return Err("recomputed new root does not match the given new root".into());
    }
    Ok(())
}

/// A Merkle tree held in memory (all leaf hashes). The reference the on-disk
/// store is tested against, and handy for small logs.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    alg: HashAlg,
    leaves: Vec<Hash>,
}

impl MemoryTree {
    pub fn new(alg: HashAlg) -> Self {
        Self { alg, leaves: Vec::new() }
    }

    pub fn push(&mut self, entry: &[u8]) -> Hash {
        let h = self.alg.leaf_hash(entry);
        self.leaves.push(h);
        h
    }

    pub fn push_leaf_hash(&mut self, h: Hash) {
        self.leaves.push(h);
    }

    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// `MTH(D[0:size])`, computed straight from the RFC definition.
    pub fn root(&self, size: u64) -> Hash {
        fn mth(alg: HashAlg, leaves: &[Hash]) -> Hash {
            match leaves.len() {
                0 => alg.empty_root(),
                1 => leaves[0],
                n => {
                    let k = split_point(n as u64) as usize;
                    alg.node_hash(&mth(alg, &leaves[..k]), &mth(alg, &leaves[k..]))
                }
            }
        }
        mth(self.alg, &self.leaves[..size as usize])
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        check_inclusion_args(index, size, self.len())?;
        inclusion_path(self, index, size)
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        check_consistency_args(old, new, self.len())?;
        consistency_path(self, old, new)
    }
}

impl NodeSource for MemoryTree {
    fn alg(&self) -> HashAlg {
        self.alg
    }
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let start = (index << level) as usize;
        let end = start + (1usize << level);
        let sub = MemoryTree { alg: self.alg, leaves: self.leaves[start..end].to_vec() };
        Ok(sub.root(end as u64 - start as u64))
    }
}

pub(crate) fn check_inclusion_args(index: u64, tree_size: u64, size: u64) -> Result<()> {
    if tree_size > size {
        return Err(Error::invalid_arg("treeSize", format!("must be <= the log size {size}, got {tree_size}")));
    }
    if index >= tree_size {
        return Err(Error::invalid_arg("index", format!("must be < treeSize {tree_size}, got {index}")));
    }
    Ok(())
}

pub(crate) fn check_consistency_args(old: u64, new: u64, size: u64) -> Result<()> {
    if new > size {
        return Err(Error::invalid_arg("newSize", format!("must be <= the log size {size}, got {new}")));
    }
    if old > new {
        return Err(Error::invalid_arg("oldSize", format!("must be <= newSize {new}, got {old}")));
    }
    Ok(())
}
