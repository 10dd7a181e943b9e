//! The on-disk format: file names, record framing, tree.dat slot arithmetic,
//! `ledger.json`, and the small file helpers every part of the store uses.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use omnitide_common::{code, Error, Result};

use crate::merkle::HashAlg;

pub(crate) const FORMAT: &str = "omnitide-ledger/1";
/// `u32 LE length` before and the 8-byte checksum after every entry.
pub(crate) const FRAME_OVERHEAD: u64 = 4 + 8;
pub(crate) const META: &str = "ledger.json";
pub(crate) const DATA: &str = "entries.dat";
pub(crate) const INDEX: &str = "entries.idx";
pub(crate) const TREE: &str = "tree.dat";
pub(crate) const CHECKPOINT: &str = "checkpoint";
/// JSON lines, one per signer rotation (see [`super::Options::rotate_signer`]).
pub(crate) const ROTATIONS: &str = "rotations";

/// Error code of a write attempted through a read-only handle ([`super::LedgerReader`]).
pub const READ_ONLY: &str = "ERR_OMNI_READ_ONLY";

pub fn corrupt(index: u64, problem: impl std::fmt::Display) -> Error {
    Error::new(code::LEDGER_CORRUPT, format!("index {index}: {problem}")).with_field("index", index)
}

/// Slot of node (level, index) in tree.dat.
#[inline]
pub fn node_slot(level: u32, index: u64) -> u64 {
    ((index + 1) << (level + 1)) - 2 - index.count_ones() as u64
}

/// Number of tree.dat slots for a tree of `n` leaves.
#[inline]
pub fn node_count(n: u64) -> u64 {
    2 * n - n.count_ones() as u64
}

pub(crate) fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(what, &e)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("dir: fsync {}", dir.display())))
}

/// Writes `bytes` to `dir/name` atomically (temp file, fsync, rename, fsync dir).
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    })()
    .map_err(io(format!("dir: writing {}", path.display())))?;
    sync_dir(dir)
}

/// What `ledger.json` records: fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub origin: String,
    pub hash: HashAlg,
}

impl Meta {
    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::json!({ "format": FORMAT, "origin": self.origin, "hash": self.hash.name() }).to_string().into_bytes()
    }

    /// Reads `dir/ledger.json`; `Ok(None)` when it does not exist.
    pub fn read(dir: &Path) -> Result<Option<Meta>> {
        let path = dir.join(META);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("dir: reading {}", path.display()), &e)),
        };
        let meta: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(0, format!("{META} is not valid JSON: {e}")))?;
        if meta["format"] != FORMAT {
            return Err(corrupt(0, format!("{META} format is {}, expected {FORMAT}", meta["format"])));
        }
        let origin = meta["origin"].as_str().ok_or_else(|| corrupt(0, format!("{META} has no origin")))?.to_string();
        let hash = meta["hash"]
            .as_str()
            .and_then(|h| HashAlg::parse("hash", h).ok())
            .ok_or_else(|| corrupt(0, format!("{META} has no known hash")))?;
        Ok(Some(Meta { origin, hash }))
    }
}
