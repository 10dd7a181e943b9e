//! Bindings for `omnitide-ledger`. Conversion only: every decision is in the crate.
//!
//! Concurrency: the writer (`Ledger`) sits behind a mutex held across a commit
//! (write + fsync) on the libuv pool. Nothing on the JS thread waits for it:
//! `size`, `root()`, the last checkpoint and the other getters read a snapshot
//! updated after each commit, and reads (`get`, ranges, proofs, `root(n)`)
//! go through the crate's read-only follower (`LedgerReader`) over the same
//! files, capped at the acknowledged size. Group commit lives in one place,
//! the TypeScript `Ledger` (it merges concurrent appends into one call).

use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::Error as OmniErr;
use omnitide_ledger::{bundle, checkpoint, merkle, Bundle, Durability, HashAlg, Ledger, LedgerReader, Options, Recovery, HASH_LEN};

use crate::error::guard;

/// What the JS thread reads without touching the files.
#[derive(Clone)]
struct Snapshot {
    size: u64,
    root: merkle::Hash,
    last_checkpoint: Option<String>,
}

struct Inner {
    writer: Mutex<Option<Ledger>>,
    reader: Mutex<Option<LedgerReader>>,
    snap: Mutex<Snapshot>,
    origin: String,
    hash: HashAlg,
    public_key: Option<[u8; 32]>,
    recovery: Recovery,
    read_only: bool,
}

type Shared = Arc<Inner>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn closed() -> OmniErr {
    OmniErr::new(omnitide_common::code::CLOSED, "ledger: the ledger is closed")
}

fn read_only() -> OmniErr {
    OmniErr::new(omnitide_ledger::READ_ONLY, "ledger: opened read-only (a follower); open it for writing to change it")
}

fn snapshot_of(l: &Ledger) -> omnitide_common::Result<Snapshot> {
    Ok(Snapshot { size: l.size(), root: l.root(None)?, last_checkpoint: l.last_checkpoint().map(|(_, t)| t.to_string()) })
}

impl Inner {
    /// Runs `f` on the writer, then refreshes the snapshot (the writer's lock
    /// is held for the whole commit; only pool threads wait on it).
    fn write<T>(&self, f: impl FnOnce(&mut Ledger) -> omnitide_common::Result<T>) -> omnitide_common::Result<T> {
        if self.read_only {
            return Err(read_only());
        }
        let mut g = lock(&self.writer);
        let l = g.as_mut().ok_or_else(closed)?;
        let res = f(l);
        let snap = snapshot_of(l);
        drop(g);
        *lock(&self.snap) = snap?;
        res
    }

    /// Runs `f` on the reader, caught up to the acknowledged size (a
    /// read-only handle follows the writer of the directory instead).
    fn read<T>(&self, f: impl FnOnce(&LedgerReader) -> omnitide_common::Result<T>) -> omnitide_common::Result<T> {
        let mut g = lock(&self.reader);
        let r = g.as_mut().ok_or_else(closed)?;
        if self.read_only {
            r.refresh()?;
            *lock(&self.snap) =
                Snapshot { size: r.size(), root: r.root(None)?, last_checkpoint: r.last_checkpoint().map(|(_, t)| t.to_string()) };
        } else {
            let size = lock(&self.snap).size;
            r.refresh_upto(Some(size))?;
        }
        f(r)
    }

    fn snap(&self) -> omnitide_common::Result<Snapshot> {
        if lock(&self.reader).is_none() {
            return Err(closed());
        }
        Ok(lock(&self.snap).clone())
    }
}

fn u64_arg(arg: &str, v: i64) -> omnitide_common::Result<u64> {
    u64::try_from(v).map_err(|_| OmniErr::invalid_arg(arg, format!("must be a non-negative integer, got {v}")))
}

fn opt_u64(arg: &str, v: Option<i64>) -> omnitide_common::Result<Option<u64>> {
    v.map(|v| u64_arg(arg, v)).transpose()
}

fn alg(arg: &str, s: Option<String>) -> omnitide_common::Result<HashAlg> {
    s.map(|s| HashAlg::parse(arg, &s)).transpose().map(|a| a.unwrap_or_default())
}

fn pack(hashes: &[merkle::Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.iter().copied()).collect()
}

fn unpack(arg: &str, b: &[u8]) -> omnitide_common::Result<Vec<merkle::Hash>> {
    if !b.len().is_multiple_of(HASH_LEN) {
        return Err(OmniErr::invalid_arg(arg, format!("packed hashes must be a multiple of {HASH_LEN} bytes, got {}", b.len())));
    }
    Ok(b.chunks_exact(HASH_LEN).map(|c| c.try_into().unwrap()).collect())
}

fn hash32(arg: &str, b: &[u8]) -> omnitide_common::Result<merkle::Hash> {
    omnitide_common::fixed::<HASH_LEN>(arg, b).copied()
}

#[napi(object)]
pub struct LedgerOpenOptions {
    pub origin: String,
    pub hash: Option<String>,
    pub durability: Option<String>,
    pub signer: Option<Uint8Array>,
    pub rotate_signer: Option<bool>,
    pub max_entry_size: Option<u32>,
    pub tail_check: Option<u32>,
}

#[napi(object)]
pub struct LedgerRecovery {
    pub dropped_entries: i64,
    pub truncated_data_bytes: i64,
    pub truncated_index_bytes: i64,
    pub truncated_tree_bytes: i64,
}

#[napi(object)]
pub struct LedgerAppendResult {
    pub first: i64,
    /// 32 bytes per appended entry.
    pub leaf_hashes: Uint8Array,
}

#[napi(object)]
pub struct LedgerPacked {
    pub data: Uint8Array,
    pub ends: Uint32Array,
}

#[napi(object)]
pub struct LedgerCheckpoint {
    pub origin: String,
    pub size: i64,
    pub root_hash: Uint8Array,
    pub timestamp: Option<i64>,
    pub text: Option<String>,
    pub key_name: Option<String>,
    pub signature: Option<Uint8Array>,
}

#[napi(object)]
pub struct LedgerVerdict {
    pub valid: bool,
    pub reason: Option<String>,
}

/// A checkpoint or bundle verdict: the parsed checkpoint comes back either way.
#[napi(object)]
pub struct LedgerCheckpointVerdict {
    pub valid: bool,
    pub reason: Option<String>,
    pub checkpoint: LedgerCheckpoint,
}

#[napi(object)]
pub struct LedgerBundle {
    pub hash: String,
    pub index: i64,
    pub tree_size: i64,
    pub entry: Uint8Array,
    /// Packed 32-byte hashes.
    pub proof: Uint8Array,
    pub checkpoint: String,
}

fn cp_obj(c: &checkpoint::Checkpoint) -> LedgerCheckpoint {
    LedgerCheckpoint {
        origin: c.origin.clone(),
        size: c.size as i64,
        root_hash: Uint8Array::new(c.root_hash.to_vec()),
        timestamp: c.timestamp.map(|t| t as i64),
        text: None,
        key_name: None,
        signature: None,
    }
}

fn signed_obj(s: checkpoint::SignedCheckpoint) -> LedgerCheckpoint {
    let mut o = cp_obj(&s.checkpoint);
    o.text = Some(s.text);
    o.key_name = Some(s.key_name);
    o.signature = Some(Uint8Array::new(s.signature.to_vec()));
    o
}

#[napi]
pub struct NativeLedger {
    inner: Shared,
}

/// Runs `job` on the libuv pool (the shared task helper), converting its result on the JS thread.
fn task<'e, T: Send + 'static, J: ToNapiValue + TypeName + 'static>(
    env: &'e Env,
    job: impl FnOnce() -> omnitide_common::Result<T> + Send + 'static,
    conv: fn(T) -> J,
) -> Result<PromiseRaw<'e, J>> {
    crate::task::spawn(env, job, conv)
}

fn append_obj((first, h): (u64, Vec<merkle::Hash>)) -> LedgerAppendResult {
    LedgerAppendResult { first: first as i64, leaf_hashes: Uint8Array::new(pack(&h)) }
}

fn bundle_obj(b: Bundle) -> LedgerBundle {
    LedgerBundle {
        hash: b.hash.name().to_string(),
        index: b.index as i64,
        tree_size: b.tree_size as i64,
        entry: Uint8Array::new(b.entry),
        proof: Uint8Array::new(pack(&b.proof)),
        checkpoint: b.checkpoint,
    }
}

fn bundle_from(b: &LedgerBundle) -> omnitide_common::Result<Bundle> {
    Ok(Bundle {
        hash: HashAlg::parse("bundle.hash", &b.hash)?,
        index: u64_arg("bundle.index", b.index)?,
        tree_size: u64_arg("bundle.treeSize", b.tree_size)?,
        entry: b.entry.to_vec(),
        proof: unpack("bundle.proof", &b.proof)?,
        checkpoint: b.checkpoint.clone(),
    })
}

fn shared(writer: Option<Ledger>, mut reader: LedgerReader, tail_check: Option<u32>) -> omnitide_common::Result<NativeLedger> {
    if let Some(t) = tail_check {
        reader.set_tail_check(t as u64);
    }
    let read_only = writer.is_none();
    let (snap, origin, hash, public_key, recovery) = match &writer {
        Some(l) => (snapshot_of(l)?, l.origin().to_string(), l.hash_alg(), l.public_key(), l.recovery().clone()),
        None => (
            Snapshot {
                size: reader.size(),
                root: reader.root(None)?,
                last_checkpoint: reader.last_checkpoint().map(|(_, t)| t.to_string()),
            },
            reader.origin().to_string(),
            reader.hash_alg(),
            None,
            Recovery::default(),
        ),
    };
    Ok(NativeLedger {
        inner: Arc::new(Inner {
            writer: Mutex::new(writer),
            reader: Mutex::new(Some(reader)),
            snap: Mutex::new(snap),
            origin,
            hash,
            public_key,
            recovery,
            read_only,
        }),
    })
}

#[napi]
impl NativeLedger {
    #[napi(factory)]
    pub fn open(dir: String, opts: LedgerOpenOptions) -> Result<NativeLedger> {
        guard(|| {
            let mut o = Options::new(opts.origin);
            o.hash = alg("opts.hash", opts.hash)?;
            if let Some(d) = opts.durability {
                o.durability = Durability::parse("opts.durability", &d)?;
            }
            o.signer = opts.signer.map(|s| s.to_vec());
            o.rotate_signer = opts.rotate_signer.unwrap_or(false);
            if let Some(m) = opts.max_entry_size {
                o.max_entry_size = m as usize;
            }
            if let Some(t) = opts.tail_check {
                o.tail_check = t as u64;
            }
            let l = Ledger::open(&dir, o)?;
            let r = LedgerReader::open(&dir)?;
            shared(Some(l), r, opts.tail_check)
        })
    }

    /// A read-only follower of `dir` (no lock: works while a writer holds it).
    #[napi(factory)]
    pub fn open_read_only(dir: String, tail_check: Option<u32>) -> Result<NativeLedger> {
        guard(|| shared(None, LedgerReader::open(&dir)?, tail_check))
    }

    #[napi(getter)]
    pub fn size(&self) -> Result<i64> {
        guard(|| {
            if self.inner.read_only {
                return self.inner.read(|r| Ok(r.size() as i64));
            }
            Ok(self.inner.snap()?.size as i64)
        })
    }

    #[napi(getter)]
    pub fn read_only(&self) -> bool {
        self.inner.read_only
    }

    #[napi(getter)]
    pub fn origin(&self) -> Result<String> {
        guard(|| self.inner.snap().map(|_| self.inner.origin.clone()))
    }

    #[napi(getter)]
    pub fn hash(&self) -> Result<String> {
        guard(|| self.inner.snap().map(|_| self.inner.hash.name().to_string()))
    }

    #[napi(getter)]
    pub fn public_key(&self) -> Result<Option<Uint8Array>> {
        guard(|| self.inner.snap().map(|_| self.inner.public_key.map(|k| Uint8Array::new(k.to_vec()))))
    }

    #[napi(getter)]
    pub fn recovery(&self) -> Result<LedgerRecovery> {
        guard(|| {
            self.inner.snap()?;
            let r = &self.inner.recovery;
            Ok(LedgerRecovery {
                dropped_entries: r.dropped_entries as i64,
                truncated_data_bytes: r.truncated_data_bytes as i64,
                truncated_index_bytes: r.truncated_index_bytes as i64,
                truncated_tree_bytes: r.truncated_tree_bytes as i64,
            })
        })
    }

    #[napi]
    pub fn last_checkpoint(&self) -> Result<Option<String>> {
        guard(|| {
            if self.inner.read_only {
                return self.inner.read(|r| Ok(r.last_checkpoint().map(|(_, t)| t.to_string())));
            }
            Ok(self.inner.snap()?.last_checkpoint)
        })
    }

    /// Appends entries packed back to back (`ends[i]` = end of entry i), one commit.
    #[napi]
    pub fn append_many<'e>(&self, env: &'e Env, data: Uint8Array, ends: Uint32Array) -> Result<PromiseRaw<'e, LedgerAppendResult>> {
        let s = self.inner.clone();
        task(env, move || s.write(|l| l.append_packed(&data, &ends)), append_obj)
    }

    /// Entry `index`, read off the event loop.
    #[napi]
    pub fn get<'e>(&self, env: &'e Env, index: i64) -> Result<PromiseRaw<'e, Uint8Array>> {
        let index = guard(|| u64_arg("index", index))?;
        let s = self.inner.clone();
        task(env, move || s.read(|r| r.get(index)), Uint8Array::new)
    }

    /// Entries `from..to`, possibly fewer (stops after ~8 MiB, at least one entry).
    #[napi]
    pub fn get_range<'e>(&self, env: &'e Env, from: i64, to: i64) -> Result<PromiseRaw<'e, LedgerPacked>> {
        let (from, to) = guard(|| Ok((u64_arg("from", from)?, u64_arg("to", to)?)))?;
        let s = self.inner.clone();
        task(
            env,
            move || {
                let es = s.read(|r| r.get_range_bounded(from, to, 8 << 20))?;
                let mut data = Vec::with_capacity(es.iter().map(Vec::len).sum());
                let mut ends = Vec::with_capacity(es.len());
                for e in es {
                    data.extend_from_slice(&e);
                    ends.push(data.len() as u32);
                }
                Ok((data, ends))
            },
            |(data, ends)| LedgerPacked { data: Uint8Array::new(data), ends: Uint32Array::new(ends) },
        )
    }

    #[napi]
    pub fn leaf_hash(&self, index: i64) -> Result<Uint8Array> {
        guard(|| self.inner.read(|r| Ok(Uint8Array::new(r.leaf_hash(u64_arg("index", index)?)?.to_vec()))))
    }

    #[napi]
    pub fn root(&self, tree_size: Option<i64>) -> Result<Uint8Array> {
        guard(|| {
            let n = opt_u64("treeSize", tree_size)?;
            if !self.inner.read_only {
                let snap = self.inner.snap()?;
                if n.is_none() || n == Some(snap.size) {
                    return Ok(Uint8Array::new(snap.root.to_vec()));
                }
            }
            self.inner.read(|r| Ok(Uint8Array::new(r.root(n)?.to_vec())))
        })
    }

    /// Packed 32-byte hashes, bottom-up (RFC 6962 PATH).
    #[napi]
    pub fn inclusion_proof(&self, index: i64, tree_size: Option<i64>) -> Result<Uint8Array> {
        guard(|| {
            self.inner.read(|r| Ok(Uint8Array::new(pack(&r.inclusion_proof(u64_arg("index", index)?, opt_u64("treeSize", tree_size)?)?))))
        })
    }

    #[napi]
    pub fn consistency_proof(&self, old_size: i64, new_size: Option<i64>) -> Result<Uint8Array> {
        guard(|| {
            self.inner
                .read(|r| Ok(Uint8Array::new(pack(&r.consistency_proof(u64_arg("oldSize", old_size)?, opt_u64("newSize", new_size)?)?))))
        })
    }

    #[napi]
    pub fn checkpoint<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, LedgerCheckpoint>> {
        let s = self.inner.clone();
        task(env, move || s.write(|l| l.checkpoint()), signed_obj)
    }

    /// A bundle for `index`. The writer signs (and stores) a new checkpoint
    /// when the last one does not cover `index`; a read-only handle only
    /// uses the stored checkpoint.
    #[napi]
    pub fn bundle<'e>(&self, env: &'e Env, index: i64) -> Result<PromiseRaw<'e, LedgerBundle>> {
        let index = guard(|| u64_arg("index", index))?;
        let s = self.inner.clone();
        task(
            env,
            move || {
                if s.read_only {
                    s.read(|r| r.bundle_stored(index))
                } else {
                    s.write(|l| l.bundle(index))
                }
            },
            bundle_obj,
        )
    }

    /// Integrity check (`full`, or the last `tailCheck` entries) on the follower view.
    #[napi]
    pub fn verify<'e>(&self, env: &'e Env, full: bool) -> Result<PromiseRaw<'e, ()>> {
        let s = self.inner.clone();
        task(env, move || s.read(|r| r.verify(full)), std::convert::identity)
    }

    #[napi]
    pub fn sync<'e>(&self, env: &'e Env) -> Result<PromiseRaw<'e, ()>> {
        let s = self.inner.clone();
        task(
            env,
            move || {
                if s.read_only {
                    Ok(())
                } else {
                    s.write(|l| l.sync())
                }
            },
            std::convert::identity,
        )
    }

    /// Releases the files and the lock. Later calls fail with ERR_OMNI_CLOSED.
    #[napi]
    pub fn close(&self) -> Result<()> {
        guard(|| {
            lock(&self.inner.reader).take();
            if let Some(mut l) = lock(&self.inner.writer).take() {
                l.sync()?;
            }
            Ok(())
        })
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        lock(&self.inner.reader).is_none()
    }
}

// ------------------------------------------------------------ instance-free

#[napi]
pub fn ledger_leaf_hash(hash: Option<String>, entry: &[u8]) -> Result<Uint8Array> {
    guard(|| Ok(Uint8Array::new(alg("opts.hash", hash)?.leaf_hash(entry).to_vec())))
}

#[napi]
pub fn ledger_verify_inclusion(
    hash: Option<String>,
    leaf_hash: &[u8],
    index: i64,
    tree_size: i64,
    proof: &[u8],
    root_hash: &[u8],
) -> Result<LedgerVerdict> {
    guard(|| {
        let a = alg("opts.hash", hash)?;
        let leaf = hash32("leafHash", leaf_hash)?;
        let root = hash32("rootHash", root_hash)?;
        let proof = unpack("proof", proof)?;
        let r = merkle::verify_inclusion(a, &leaf, u64_arg("index", index)?, u64_arg("treeSize", tree_size)?, &proof, &root);
        Ok(LedgerVerdict { valid: r.is_ok(), reason: r.err() })
    })
}

#[napi]
pub fn ledger_verify_consistency(
    hash: Option<String>,
    old_size: i64,
    new_size: i64,
    old_root: &[u8],
    new_root: &[u8],
    proof: &[u8],
) -> Result<LedgerVerdict> {
    guard(|| {
        let a = alg("opts.hash", hash)?;
        let r = merkle::verify_consistency(
            a,
            u64_arg("oldSize", old_size)?,
            u64_arg("newSize", new_size)?,
            &hash32("oldRoot", old_root)?,
            &hash32("newRoot", new_root)?,
            &unpack("proof", proof)?,
        );
        Ok(LedgerVerdict { valid: r.is_ok(), reason: r.err() })
    })
}

#[napi]
pub fn ledger_verify_checkpoint(text: String, public_key: &[u8], key_name: Option<String>) -> Result<LedgerCheckpointVerdict> {
    guard(|| {
        let v = checkpoint::verify(&text, public_key, key_name.as_deref())?;
        let mut c = cp_obj(&v.checkpoint);
        c.text = Some(text.clone());
        Ok(LedgerCheckpointVerdict { valid: v.valid, reason: v.reason, checkpoint: c })
    })
}

#[napi]
pub fn ledger_verify_bundle(bundle: LedgerBundle, public_key: &[u8], key_name: Option<String>) -> Result<LedgerCheckpointVerdict> {
    guard(|| {
        let b = bundle_from(&bundle)?;
        let v = bundle::verify(&b, public_key, key_name.as_deref())?;
        let mut c = cp_obj(&v.checkpoint);
        c.text = Some(b.checkpoint.clone());
        Ok(LedgerCheckpointVerdict { valid: v.valid, reason: v.reason, checkpoint: c })
    })
}

#[napi]
pub fn ledger_encode_bundle(bundle: LedgerBundle) -> Result<Uint8Array> {
    guard(|| Ok(Uint8Array::new(bundle_from(&bundle)?.encode())))
}

#[napi]
pub fn ledger_decode_bundle(bytes: &[u8]) -> Result<LedgerBundle> {
    guard(|| Ok(bundle_obj(Bundle::decode(bytes)?)))
}

/// RFC 8785 canonical JSON of `json` (the bytes of an object entry).
#[napi]
pub fn ledger_canonical_json(arg: String, json: String) -> Result<Uint8Array> {
    guard(|| Ok(Uint8Array::new(omnitide_ledger::canonical::canonical_json(&arg, &json)?)))
}
