//! The authority: a key store plus an audit log. Every issue, cosign,
//! delegation, root signing and revocation is appended to the log, and an
//! operation is reported done only after its entry is durable: if the append
//! fails (crash, full disk), the caller gets an error and no envelope.
//!
//! Log entries are canonical JSON `{"kind", "id", "time", "envelope"}`.
//! [`LogTail`] reads a log (this process's or another's, through the
//! ledger's read-only follower) incrementally and keeps the set of revocations.
//!
//! The default log is an omnitide ledger in `<dir>/ledger` whose origin is
//! per authority (default `omnitide-attest/<first 16 hex digits of the log
//! key's ID>`, so witnesses can tell authorities apart) and whose tree hash is
//! BLAKE3 or, for CT/C2SP tooling, SHA-256.
//!
//! A key revoked in this authority's log (by itself, or by a key that
//! delegated to it here) cannot sign anything here any more.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnitide_common::{Error, Result};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};

use crate::dsse::{Envelope, Signature, PAYLOAD_TYPE_INTOTO};
use crate::json::{b64, unb64};
use crate::keystore::{KeyInfo, KeyStore};
use crate::ledger_log::{FollowerLog, LedgerLog};
use crate::log::{verify_inclusion, AuditLog, HashAlg, InclusionProof};
pub use omnitide_ledger::Durability;

/// Prefix of an authority's default ledger origin (the checkpoint key name).
pub const LEDGER_ORIGIN: &str = "omnitide-attest";

/// The default origin of an authority's ledger: [`LEDGER_ORIGIN`] plus the
/// first 16 hex digits of the log key's ID.
pub fn default_origin(log_public_key: &[u8; 32]) -> String {
    format!("{LEDGER_ORIGIN}/{}", &crate::keyid(log_public_key)[..16])
}
use crate::revocation::{Revocation, RevocationSet, Target};
use crate::scope::{build_globs, delegation_predicate, Scope, DELEGATION_TYPE};
use crate::statement::{check_digest, Meta, Statement, Subject, REVOCATION_TYPE, ROOT_TYPE};
use crate::trust::TrustRoot;
use crate::verify::{Limits, Reason, Verification, VerifyOptions};

pub struct OpenOptions {
    /// Encrypts the secret keys at rest (required unless `insecure_plaintext`).
    pub passphrase: Option<String>,
    /// Store secret keys unencrypted (tests only): must be explicit.
    pub insecure_plaintext: bool,
    /// Origin of a new default ledger (default [`default_origin`]); an
    /// existing ledger keeps the origin in its `ledger.json`.
    pub log_origin: Option<String>,
    /// Tree hash of a new default ledger (default BLAKE3; SHA-256 for CT/C2SP
    /// tooling); an existing ledger keeps its own.
    pub log_hash: Option<HashAlg>,
    /// The audit log; default: an omnitide ledger in `<dir>/ledger`
    /// (BLAKE3 tree, checkpoints signed with a key kept in the key store).
    pub log: Option<Arc<dyn AuditLog>>,
    /// Durability of the default ledger. `Batch` (default) and `Always` fsync
    /// before an append is acknowledged; `None` survives kill -9, not power loss.
    pub durability: Durability,
    pub limits: Limits,
    /// How stale the revocation view may get before a verify re-reads the log.
    pub poll_interval: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            passphrase: None,
            insecure_plaintext: false,
            log_origin: None,
            log_hash: None,
            log: None,
            durability: Durability::Batch,
            limits: Limits::default(),
            poll_interval: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub signer: String,
    pub subjects: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: Value,
    pub expires_at: Option<i64>,
    /// Defaults to now.
    pub issued_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub id: String,
    /// Canonical JSON of the DSSE envelope.
    pub envelope: Vec<u8>,
    pub log_index: u64,
}

/// Incremental reader of an audit log: revocations and the id -> entry index.
pub struct LogTail {
    log: Arc<dyn AuditLog>,
    pos: u64,
    revocations: Arc<RevocationSet>,
    index: HashMap<String, u64>,
    /// delegate key ID -> key IDs that delegated to it (from "delegate" entries).
    delegators: HashMap<String, Vec<String>>,
    last_poll: Option<Instant>,
    poll_interval: Duration,
}

const TAIL_BATCH: usize = 4096;

impl LogTail {
    pub fn new(log: Arc<dyn AuditLog>, poll_interval: Duration) -> Self {
        Self {
            log,
            pos: 0,
            revocations: Arc::new(RevocationSet::new()),
            index: HashMap::new(),
            delegators: HashMap::new(),
            last_poll: None,
            poll_interval,
        }
    }

    /// A read-only tail over the default ledger of an authority directory:
    /// for verifiers in other processes (no lock, no keys needed).
    pub fn open_dir(dir: &Path, poll_interval: Duration) -> Result<Self> {
        Ok(Self::new(Arc::new(FollowerLog::open(&dir.join("ledger"))?), poll_interval))
    }

    /// Reads entries appended since the last call.
    pub fn refresh(&mut self) -> Result<()> {
        self.last_poll = Some(Instant::now());
        if self.log.size()? <= self.pos {
            return Ok(());
        }
        loop {
            let batch = self.log.read_from(self.pos, TAIL_BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            for e in &batch {
                self.absorb(self.pos, e);
                self.pos += 1;
            }
        }
    }

    /// Refreshes when the last read is older than the poll interval.
    pub fn refresh_if_stale(&mut self) -> Result<()> {
        match self.last_poll {
            Some(t) if t.elapsed() < self.poll_interval => Ok(()),
            _ => self.refresh(),
        }
    }

    /// An entry this process just appended: its ID and kind are known, so
    /// only revocations and delegations (rare) are parsed back; an issued
    /// attestation costs one map insert instead of a full JSON parse.
    fn absorb_own(&mut self, index: u64, id: &str, kind: &str, entry: &[u8]) {
        if kind == "revoke" || kind == "delegate" {
            self.absorb(index, entry);
        } else {
            self.index.insert(id.to_owned(), index);
        }
    }

    fn absorb(&mut self, index: u64, entry: &[u8]) {
        let Ok(v) = crate::json::parse_strict(entry) else {
            return;
        };
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            return;
        };
        self.index.insert(id.to_owned(), index);
        let kind = v.get("kind").and_then(Value::as_str);
        if kind != Some("revoke") && kind != Some("delegate") {
            return;
        }
        let Ok(env) = Envelope::from_value(&v["envelope"], Limits::default().envelope_limits()) else {
            return;
        };
        if kind == Some("revoke") {
            if let Some(r) = Revocation::from_envelope(&env) {
                Arc::make_mut(&mut self.revocations).insert(r);
            }
        } else if let Some(d) = Statement::parse(&env.payload, 16).ok().and_then(|st| crate::scope::Delegation::from_statement(&st).ok()) {
            let v = self.delegators.entry(d.delegate).or_default();
            if !v.contains(&d.delegator) {
                v.push(d.delegator);
            }
        }
    }

    /// Did `upper` delegate (directly or through a chain of this log's
    /// delegations) to `key`?
    pub fn delegated_to(&self, upper: &str, key: &str) -> bool {
        let mut todo = vec![key.to_owned()];
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = todo.pop() {
            if seen.len() > 4096 || !seen.insert(k.clone()) {
                continue;
            }
            for d in self.delegators.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
                if d == upper {
                    return true;
                }
                todo.push(d.clone());
            }
        }
        false
    }

    pub fn revocations(&self) -> &RevocationSet {
        &self.revocations
    }

    /// A cheap snapshot (shared until the next revocation arrives).
    pub fn snapshot(&self) -> Arc<RevocationSet> {
        self.revocations.clone()
    }

    pub fn entry_index(&self, id: &str) -> Option<u64> {
        self.index.get(id).copied()
    }

    pub fn position(&self) -> u64 {
        self.pos
    }
}

/// Statements signed per step of a large batch while the previous step is
/// appended to the audit log.
const PIPELINE_CHUNK: usize = 512;

struct Built {
    id: String,
    kind: &'static str,
    json: Vec<u8>,
    entry: Vec<u8>,
}

pub struct Authority {
    dir: PathBuf,
    keys: KeyStore,
    log: Arc<dyn AuditLog>,
    tail: Mutex<LogTail>,
    limits: Limits,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn nonce() -> String {
    let mut n = [0u8; 12];
    OsRng.fill_bytes(&mut n);
    hex::encode(n)
}

/// The audit entry of a batch logged elsewhere ([`Authority::issue_prebuilt_logged`]),
/// canonical JSON like every other entry.
fn batch_entry(keyid: &str, predicate_type: &str, logged_in: &str, ids: Vec<&str>) -> Result<Vec<u8>> {
    let batch = json!({ "count": ids.len(), "ids": ids, "loggedIn": logged_in, "predicateType": predicate_type });
    crate::json::canonical(&json!({ "batch": batch, "kind": "issue-batch", "signer": keyid, "time": crate::now_ms() }))
}

/// `n` nonces from one draw of the OS CSPRNG (one `getrandom` call per batch
/// rather than per attestation: the syscall cost as much as the rest of a
/// request's checks).
fn nonces(n: usize) -> Vec<String> {
    let mut bytes = vec![0u8; 12 * n];
    OsRng.fill_bytes(&mut bytes);
    bytes.chunks_exact(12).map(hex::encode).collect()
}

impl Authority {
    pub fn open(dir: &Path, opts: OpenOptions) -> Result<Self> {
        let keys = KeyStore::open(dir, opts.passphrase.as_deref(), opts.insecure_plaintext)?;
        let log: Arc<dyn AuditLog> = match opts.log {
            Some(l) => l,
            None => {
                let signer = keys.system_secret("audit-log")?;
                let ldir = dir.join("ledger");
                let existing = omnitide_ledger::store::Meta::read(&ldir)?;
                let pk = omnitide_crypto::ed25519::public_key_from_secret(&signer[..])?;
                let origin = opts.log_origin.or(existing.as_ref().map(|m| m.origin.clone())).unwrap_or_else(|| default_origin(&pk));
                let hash = opts.log_hash.or(existing.map(|m| m.hash)).unwrap_or(HashAlg::Blake3);
                Arc::new(LedgerLog::open(&ldir, &origin, hash, &signer, opts.durability)?)
            }
        };
        let mut tail = LogTail::new(log.clone(), opts.poll_interval);
        tail.refresh()?;
        Ok(Self { dir: dir.to_owned(), keys, log, tail: Mutex::new(tail), limits: opts.limits })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log(&self) -> &Arc<dyn AuditLog> {
        &self.log
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn create_key(&self, name: &str) -> Result<KeyInfo> {
        self.keys.create_key(name)
    }

    pub fn import_public_key(&self, name: &str, public_key: &[u8]) -> Result<KeyInfo> {
        self.keys.import_public_key(name, public_key)
    }

    pub fn export_public_key(&self, name: &str) -> Result<[u8; 32]> {
        self.keys.export_public_key(name)
    }

    pub fn key_info(&self, name: &str) -> Result<KeyInfo> {
        self.keys.info(name)
    }

    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.keys.list()
    }

    /// Encrypts the key store in `dir` under `new_passphrase` (from plaintext
    /// when `passphrase` is `None`, else changing it). Needs the directory
    /// closed: it takes the ledger's lock for the duration.
    pub fn reencrypt(dir: &Path, passphrase: Option<&str>, new_passphrase: &str) -> Result<()> {
        let ldir = dir.join("ledger");
        let _lock = if ldir.join("LOCK").exists() {
            let f = std::fs::OpenOptions::new().write(true).open(ldir.join("LOCK")).map_err(|e| Error::io("dir: open ledger/LOCK", &e))?;
            f.try_lock().map_err(|_| {
                Error::new(omnitide_common::code::LOCKED, format!("dir: {} is open by an authority; close it first", dir.display()))
            })?;
            Some(f)
        } else {
            None
        };
        KeyStore::reencrypt(dir, passphrase, new_passphrase)
    }

    /// Refuses a key that this authority's log records as revoked, by itself
    /// or by a key that delegated to it (this log's delegations). (Root keys
    /// are not known here: a root-threshold revocation is enforced by
    /// verification.)
    fn check_not_revoked(&self, name: &str, keyid: &str) -> Result<()> {
        let mut t = lock(&self.tail);
        t.refresh_if_stale()?;
        let now = crate::now_ms();
        let found =
            t.revocations().key(keyid).iter().find(|r| r.effective_from <= now && (r.by == keyid || t.delegated_to(&r.by, keyid))).cloned();
        drop(t);
        if let Some(r) = found {
            return Err(Error::invalid_arg(
                "signer",
                format!(
                    "key '{name}' ({keyid}) was revoked from {} by key {} ({}); a revoked key cannot sign",
                    r.effective_from, r.by, r.reason
                ),
            ));
        }
        Ok(())
    }

    fn sign_as(&self, name: &str, message: &[u8]) -> Result<(String, [u8; 64])> {
        let info = self.keys.info(name)?;
        self.check_not_revoked(name, &info.keyid)?;
        self.keys.sign(name, message)
    }

    fn sign_statement(&self, st: &Statement, signers: &[&str]) -> Result<Envelope> {
        self.sign_statement_with(st, signers, |s, pae| self.sign_as(s, pae))
    }

    /// `sign_statement` with the signing step given: a batch checks each
    /// signer's revocation state once, not once per statement (the tail lock
    /// would otherwise serialise the parallel signers).
    fn sign_statement_with(
        &self,
        st: &Statement,
        signers: &[&str],
        sign: impl Fn(&str, &[u8]) -> Result<(String, [u8; 64])>,
    ) -> Result<Envelope> {
        self.sign_payload_with(st.to_payload()?, signers, sign)
    }

    /// Signs a statement's canonical payload (see [`crate::statement::payload`]).
    fn sign_payload_with(
        &self,
        payload: Vec<u8>,
        signers: &[&str],
        sign: impl Fn(&str, &[u8]) -> Result<(String, [u8; 64])>,
    ) -> Result<Envelope> {
        if payload.len() + 4096 > self.limits.max_envelope_bytes {
            return Err(Error::limit(
                "predicate",
                format!("statement of {} bytes exceeds the envelope limit of {}", payload.len(), self.limits.max_envelope_bytes),
            ));
        }
        let mut env = Envelope { payload_type: PAYLOAD_TYPE_INTOTO.into(), payload, signatures: vec![] };
        let pae = env.pae();
        for s in signers {
            let (keyid, sig) = sign(s, &pae)?;
            if !env.signatures.iter().any(|x| x.keyid == keyid) {
                env.signatures.push(Signature { keyid, sig: sig.to_vec() });
            }
        }
        Ok(env)
    }

    /// The envelope's canonical JSON and its log entry, itself canonical JSON
    /// (keys in RFC 8785 order, every value already canonical).
    fn entry(kind: &'static str, env: &Envelope) -> Built {
        let id = env.id();
        let json = env.to_json();
        let mut entry = Vec::with_capacity(json.len() + 128);
        entry.extend_from_slice(b"{\"envelope\":");
        entry.extend_from_slice(&json);
        entry.extend_from_slice(format!(",\"id\":\"{id}\",\"kind\":\"{kind}\",\"time\":{}}}", crate::now_ms()).as_bytes());
        Built { id, kind, json, entry }
    }

    /// Appends and only then reports the envelopes as issued.
    fn commit(&self, mut built: Vec<Built>) -> Result<Vec<Issued>> {
        let entries: Vec<Vec<u8>> = built.iter_mut().map(|b| std::mem::take(&mut b.entry)).collect();
        let idx = self.log.append_many(&entries)?;
        if idx.len() != built.len() {
            return Err(Error::internal("audit log returned a wrong number of indices"));
        }
        let mut tail = lock(&self.tail);
        // Keep the tail's view current without re-reading our own appends.
        if tail.pos == idx.first().copied().unwrap_or(tail.pos) {
            for ((i, b), e) in idx.iter().zip(&built).zip(&entries) {
                tail.absorb_own(*i, &b.id, b.kind, e);
                tail.pos = i + 1;
            }
        }
        drop(tail);
        Ok(built.into_iter().zip(idx).map(|(b, log_index)| Issued { id: b.id, envelope: b.json, log_index }).collect())
    }

    fn commit_one(&self, kind: &'static str, env: Envelope) -> Result<Issued> {
        Ok(self.commit(vec![Self::entry(kind, &env)])?.pop().expect("one"))
    }

    /// Checks request `i` and returns the metadata its statement carries,
    /// with `nonce` (drawn for the whole batch at once).
    fn meta_for(&self, r: &IssueRequest, i: usize, nonce: String) -> Result<Meta> {
        // the argument path is only formatted for an error (not once per request)
        let p = || format!("requests[{i}]");
        if r.subjects.is_empty() {
            return Err(Error::invalid_arg(&format!("{}.subject", p()), "needs at least one subject"));
        }
        if r.subjects.len() > self.limits.max_subjects {
            return Err(Error::limit(
                &format!("{}.subject", p()),
                format!("{} subjects exceeds {}", r.subjects.len(), self.limits.max_subjects),
            ));
        }
        for (j, s) in r.subjects.iter().enumerate() {
            check_digest(|| format!("{}.subject[{j}].digest", p()), &s.digest)?;
        }
        if r.predicate_type.is_empty() {
            return Err(Error::invalid_arg(&format!("{}.predicateType", p()), "must not be empty"));
        }
        let issued = r.issued_at.unwrap_or_else(crate::now_ms);
        if let Some(e) = r.expires_at {
            if e <= issued {
                return Err(Error::invalid_arg(&format!("{}.expiresAt", p()), format!("must be after the issue time {issued}, got {e}")));
            }
        }
        Ok(Meta { issued_at: Some(issued), expires_at: r.expires_at, nonce: Some(nonce) })
    }

    pub fn issue(&self, req: &IssueRequest) -> Result<Issued> {
        Ok(self.issue_many(std::slice::from_ref(req))?.pop().expect("one"))
    }

    /// Issues many attestations with one (group-committed) log append.
    pub fn issue_many(&self, reqs: &[IssueRequest]) -> Result<Vec<Issued>> {
        // each distinct signer is checked (exists, not revoked) once per batch
        let mut checked: Vec<&str> = Vec::new();
        for r in reqs {
            if !checked.contains(&r.signer.as_str()) {
                self.check_signer(&r.signer)?;
                checked.push(&r.signer);
            }
        }
        // every request is checked before anything is signed or logged
        let nonces = nonces(reqs.len());
        let metas = reqs.iter().zip(nonces).enumerate().map(|(i, (r, n))| self.meta_for(r, i, n)).collect::<Result<Vec<Meta>>>()?;
        self.issue_pipelined(reqs.len(), |i| {
            let (r, meta) = (&reqs[i], &metas[i]);
            // the statement's bytes straight from the request (no copy of its predicate)
            let payload = crate::statement::payload(&r.subjects, &r.predicate_type, &r.predicate, meta)?;
            let env = self.sign_payload_with(payload, &[r.signer.as_str()], |s, pae| self.keys.sign(s, pae))?;
            Ok(Self::entry("issue", &env))
        })
    }

    /// Issues `n` single-subject statements of `predicate_type` signed by
    /// `signer`, each predicate written by `item` as RFC 8785 text (what
    /// [`crate::json`]'s writers produce): for callers whose predicates have a
    /// fixed shape and come as fields rather than JSON (autoblock decisions),
    /// so no request JSON is printed, parsed and canonicalised per statement.
    /// `item(i, out)` appends predicate `i` to `out` and returns its subject;
    /// it runs on the signing threads. The statements, envelopes and audit
    /// entries are those [`Authority::issue_many`] makes for the same parts.
    pub fn issue_prebuilt(
        &self,
        signer: &str,
        predicate_type: &str,
        n: usize,
        item: impl Fn(usize, &mut Vec<u8>) -> Result<Subject> + Sync,
    ) -> Result<Vec<Issued>> {
        self.check_signer(signer)?;
        if predicate_type.is_empty() {
            return Err(Error::invalid_arg("predicateType", "must not be empty"));
        }
        let issued_at = crate::now_ms();
        let nonces = nonces(n);
        self.issue_pipelined(n, |i| {
            let env = self.prebuilt_envelope(signer, predicate_type, issued_at, &nonces[i], i, &item)?;
            Ok(Self::entry("issue", &env))
        })
    }

    /// Statement `i` of a prebuilt batch (its predicate and subject from
    /// `item`), signed by `signer`.
    fn prebuilt_envelope(
        &self,
        signer: &str,
        predicate_type: &str,
        issued_at: i64,
        nonce: &str,
        i: usize,
        item: &impl Fn(usize, &mut Vec<u8>) -> Result<Subject>,
    ) -> Result<Envelope> {
        let meta = Meta { issued_at: Some(issued_at), expires_at: None, nonce: Some(nonce.to_owned()) };
        let mut predicate = Vec::with_capacity(512);
        let subject = item(i, &mut predicate)?;
        check_digest(|| format!("items[{i}].subject.digest"), &subject.digest)?;
        let payload = crate::statement::payload_with(std::slice::from_ref(&subject), predicate_type, &meta, predicate.len(), |out| {
            out.extend_from_slice(&predicate);
            Ok(())
        })?;
        self.sign_payload_with(payload, &[signer], |s, pae| self.keys.sign(s, pae))
    }

    /// [`Authority::issue_prebuilt`] for a caller that logs the envelopes in
    /// its own verifiable log before it releases them (autoblock's decision
    /// ledger, an omnitide ledger with inclusion proofs). The same statements
    /// and envelopes, but the audit log gets one `issue-batch` entry listing
    /// the batch's attestation IDs and naming that log (`logged_in`), instead
    /// of a second copy of every envelope: the key's signatures are still all
    /// accounted for, at ~70 bytes of audit per attestation instead of ~1.2 KB
    /// (and its hashing and fsync). The entry is written once the batch is
    /// signed, before any envelope is returned.
    pub fn issue_prebuilt_logged(
        &self,
        signer: &str,
        predicate_type: &str,
        n: usize,
        logged_in: &str,
        item: impl Fn(usize, &mut Vec<u8>) -> Result<Subject> + Sync,
    ) -> Result<Vec<Issued>> {
        use rayon::prelude::*;
        self.check_signer(signer)?;
        if predicate_type.is_empty() {
            return Err(Error::invalid_arg("predicateType", "must not be empty"));
        }
        if logged_in.is_empty() {
            return Err(Error::invalid_arg("loggedIn", "must name the log the envelopes go to"));
        }
        let keyid = self.keys.info(signer)?.keyid;
        let issued_at = crate::now_ms();
        let nonces = nonces(n);
        let build = |i: usize| -> Result<(String, Vec<u8>)> {
            let env = self.prebuilt_envelope(signer, predicate_type, issued_at, &nonces[i], i, &item)?;
            Ok((env.id(), env.to_json()))
        };
        let signed: Vec<(String, Vec<u8>)> =
            if n < 64 { (0..n).map(build).collect::<Result<_>>()? } else { (0..n).into_par_iter().map(build).collect::<Result<_>>()? };
        if signed.is_empty() {
            return Ok(vec![]);
        }
        let entry = batch_entry(&keyid, predicate_type, logged_in, signed.iter().map(|(id, _)| id.as_str()).collect())?;
        let at =
            *self.log.append_many(std::slice::from_ref(&entry))?.first().ok_or_else(|| Error::internal("audit log returned no index"))?;
        {
            // keep the tail's view current (the entry holds no revocation or delegation to absorb)
            let mut tail = lock(&self.tail);
            if tail.pos == at {
                tail.pos = at + 1;
            }
        }
        Ok(signed.into_iter().map(|(id, envelope)| Issued { id, envelope, log_index: at }).collect())
    }

    /// The key `name` exists and may sign (not revoked in this log).
    fn check_signer(&self, name: &str) -> Result<()> {
        let info = self.keys.info(name)?;
        self.check_not_revoked(name, &info.keyid)
    }

    /// Builds `n` entries with `build` (on the rayon pool) and appends them in
    /// order: a large batch is signed in chunks while this thread appends
    /// (and fsyncs) the previous chunk, so the audit append does not wait
    /// behind the signing. Only a statement over the envelope limit can fail
    /// after the callers' checks; then the chunks before it are logged but
    /// never returned (the log allows that, as when the issuer dies
    /// mid-append; the reverse never happens).
    fn issue_pipelined(&self, n: usize, build: impl Fn(usize) -> Result<Built> + Sync) -> Result<Vec<Issued>> {
        use rayon::prelude::*;
        if n < 64 {
            return self.commit((0..n).map(&build).collect::<Result<_>>()?);
        }
        let mut issued = Vec::with_capacity(n);
        let mut pending: Option<Vec<Built>> = None;
        for start in (0..n).step_by(PIPELINE_CHUNK) {
            let chunk = start..(start + PIPELINE_CHUNK).min(n);
            let (built, committed) = std::thread::scope(|s| {
                let signing = s.spawn(|| chunk.into_par_iter().map(&build).collect::<Result<Vec<Built>>>());
                let committed = pending.take().map(|p| self.commit(p)).transpose();
                (signing.join().unwrap_or_else(|_| Err(Error::internal("signing thread panicked"))), committed)
            });
            issued.extend(committed?.into_iter().flatten());
            pending = Some(built?);
        }
        issued.extend(self.commit(pending.unwrap_or_default())?);
        Ok(issued)
    }

    /// Adds `signer`'s signature to an envelope (the attestation ID is unchanged).
    pub fn cosign(&self, envelope: &[u8], signer: &str) -> Result<Issued> {
        let mut env = Envelope::parse(envelope, self.limits.envelope_limits()).map_err(|e| Error::invalid_arg("envelope", e))?;
        let (keyid, sig) = self.sign_as(signer, &env.pae())?;
        if env.signatures.iter().any(|s| s.keyid == keyid) {
            return Err(Error::invalid_arg("signer", format!("'{signer}' already signed this envelope")));
        }
        if env.signatures.len() >= self.limits.max_signatures {
            return Err(Error::limit("envelope.signatures", format!("already has {} signatures", env.signatures.len())));
        }
        env.signatures.push(Signature { keyid, sig: sig.to_vec() });
        self.commit_one("cosign", env)
    }

    /// A delegation from key `from` to key `to` (which may be a public key only).
    pub fn delegate(&self, from: &str, to: &str, scope: &Scope) -> Result<Issued> {
        let from_info = self.keys.info(from)?;
        let to_info = self.keys.info(to)?;
        if from_info.keyid == to_info.keyid {
            return Err(Error::invalid_arg("to", "a key cannot delegate to itself"));
        }
        if let Some(g) = &scope.subjects {
            build_globs(g).map_err(|e| Error::invalid_arg("scope.subjects", e))?;
            if g.len() > crate::scope::MAX_SCOPE_ITEMS {
                return Err(Error::limit("scope.subjects", format!("more than {}", crate::scope::MAX_SCOPE_ITEMS)));
            }
        }
        if scope.predicate_types.as_ref().is_some_and(|p| p.len() > crate::scope::MAX_SCOPE_ITEMS) {
            return Err(Error::limit("scope.predicateTypes", format!("more than {}", crate::scope::MAX_SCOPE_ITEMS)));
        }
        let now = crate::now_ms();
        if let Some(e) = scope.expires_at {
            if e <= now {
                return Err(Error::invalid_arg("scope.expiresAt", format!("must be in the future, got {e}")));
            }
        }
        let st = Statement {
            subject: vec![Subject {
                name: format!("key:{}", to_info.keyid),
                digest: [("blake3".to_string(), to_info.keyid.clone())].into(),
            }],
            predicate_type: DELEGATION_TYPE.into(),
            predicate: delegation_predicate(&from_info.keyid, &to_info.public_key, scope),
            meta: Meta { issued_at: Some(now), expires_at: scope.expires_at, nonce: Some(nonce()) },
        };
        let env = self.sign_statement(&st, &[from])?;
        self.commit_one("delegate", env)
    }

    /// Records a revocation (signed by `by`) in the audit log.
    pub fn revoke(&self, target: Target, reason: &str, effective_from: Option<i64>, by: &str) -> Result<Issued> {
        self.revoke_cosigned(target, reason, effective_from, by, &[])
    }

    /// A revocation signed by `by` and `cosigners` (for a root key, a
    /// threshold of the root role must sign; see [`crate::revocation`]).
    pub fn revoke_cosigned(
        &self,
        target: Target,
        reason: &str,
        effective_from: Option<i64>,
        by: &str,
        cosigners: &[&str],
    ) -> Result<Issued> {
        let valid_hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let (name, id) = match &target {
            Target::Attestation(a) => ("attestation", a),
            Target::Key(k) => ("key", k),
        };
        if !valid_hex(id) {
            return Err(Error::invalid_arg(name, format!("expected a 64-character lowercase hex ID, got '{id}'")));
        }
        if reason.len() > 1024 {
            return Err(Error::limit("reason", "longer than 1024 bytes"));
        }
        let by_info = self.keys.info(by)?;
        let r = Revocation {
            target: target.clone(),
            reason: reason.into(),
            effective_from: effective_from.unwrap_or_else(crate::now_ms),
            by: by_info.keyid.clone(),
            id: String::new(),
            envelope: None,
        };
        let st = Statement {
            subject: vec![Subject { name: format!("{name}:{id}"), digest: [("blake3".to_string(), id.clone())].into() }],
            predicate_type: REVOCATION_TYPE.into(),
            predicate: r.predicate(&by_info.public_key),
            meta: Meta { issued_at: Some(crate::now_ms()), expires_at: None, nonce: Some(nonce()) },
        };
        let signers: Vec<&str> = std::iter::once(by).chain(cosigners.iter().copied()).collect();
        let env = self.sign_statement(&st, &signers)?;
        self.commit_one("revoke", env)
    }

    /// A signed root document (for the initial root, or a rotation: then sign
    /// with a threshold of the old root keys and of the new ones).
    pub fn sign_root(&self, root: &TrustRoot, signers: &[&str]) -> Result<Issued> {
        root.validate()?;
        let st = Statement {
            subject: vec![Subject {
                name: format!("root:v{}", root.version),
                digest: [("blake3".to_string(), hex::encode(blake3::hash(&root.to_json()).as_bytes()))].into(),
            }],
            predicate_type: ROOT_TYPE.into(),
            predicate: root.to_value(),
            meta: Meta { issued_at: Some(crate::now_ms()), expires_at: root.expires_at, nonce: Some(nonce()) },
        };
        let env = self.sign_statement(&st, signers)?;
        self.commit_one("root", env)
    }

    /// Current revocations (re-reading the log if the view is stale).
    pub fn revocations(&self) -> Result<Arc<RevocationSet>> {
        let mut t = lock(&self.tail);
        t.refresh_if_stale()?;
        Ok(t.snapshot())
    }

    /// `verify_many` with this authority's revocations applied.
    pub fn verify_many(&self, envelopes: &[&[u8]], opts: &VerifyOptions<'_>) -> Result<Vec<Verification>> {
        let revs = self.revocations()?;
        let o = VerifyOptions { revocations: Some(&*revs), ..*opts };
        crate::verify::verify_many(envelopes, &o)
    }

    pub fn verify(&self, envelope: &[u8], opts: &VerifyOptions<'_>) -> Result<Verification> {
        Ok(self.verify_many(&[envelope], opts)?.pop().expect("one"))
    }

    /// The latest log entry for `id` with its inclusion proof and a signed checkpoint.
    pub fn audit_bundle(&self, id: &str) -> Result<AuditBundle> {
        let idx = {
            let mut t = lock(&self.tail);
            t.refresh()?;
            t.entry_index(id).ok_or_else(|| Error::invalid_arg("id", format!("no audit entry for '{id}'")))?
        };
        let entry = self.log.read_from(idx, 1)?.pop().ok_or_else(|| Error::internal("audit log entry vanished"))?;
        let v = crate::json::parse_strict(&entry).map_err(|e| Error::internal(format!("audit entry {idx}: {e}")))?;
        let env = Envelope::from_value(&v["envelope"], self.limits.envelope_limits())
            .map_err(|e| Error::internal(format!("audit entry {idx}: {e}")))?;
        let p = self.log.prove(idx)?;
        let log_public_key = self.log.public_key().ok_or_else(|| Error::internal("the audit log has no signing key"))?;
        Ok(AuditBundle {
            envelope: env.to_json(),
            entry,
            hash_alg: self.log.hash_alg(),
            proof: p.proof,
            checkpoint: p.checkpoint,
            log_public_key,
        })
    }

    /// [`verify_bundle`] anchored in this authority: its log key (unless
    /// `log_key` names another) and its revocations applied to the envelope.
    pub fn verify_bundle(&self, bundle: &[u8], log_key: Option<&[u8; 32]>, opts: Option<&VerifyOptions<'_>>) -> Result<Verification> {
        let own = self.log.public_key();
        let revs = self.revocations()?;
        let o = opts.map(|o| VerifyOptions { revocations: Some(&*revs), ..*o });
        verify_bundle(bundle, log_key.or(own.as_ref()), o.as_ref())
    }
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// An attestation's audit bundle: the envelope, the audit log entry that
/// recorded it, the entry's inclusion proof and a signed checkpoint (C2SP
/// note) with the key the log claims: verifiable offline against trust
/// anchors the verifier holds. (Not the ledger's binary proof bundle,
/// [`omnitide_ledger::Bundle`], which carries raw entry bytes.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditBundle {
    pub envelope: Vec<u8>,
    pub entry: Vec<u8>,
    pub hash_alg: HashAlg,
    pub proof: InclusionProof,
    /// C2SP signed-note checkpoint text.
    pub checkpoint: String,
    /// The key the log says signed the checkpoint (not trusted by itself).
    pub log_public_key: [u8; 32],
}

/// Former name of [`AuditBundle`].
pub type Bundle = AuditBundle;

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.omnitide.attest.bundle+json;version=1";

impl AuditBundle {
    pub fn to_json(&self) -> Vec<u8> {
        let env: Value = serde_json::from_slice(&self.envelope).expect("envelope JSON");
        let v = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "envelope": env,
            "logEntry": b64(&self.entry),
            "hashAlg": self.hash_alg.name(),
            "inclusionProof": {"index": self.proof.index, "treeSize": self.proof.tree_size, "hashes": self.proof.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>()},
            "checkpoint": {"text": self.checkpoint, "publicKey": b64(&self.log_public_key)},
        });
        crate::json::canonical(&v).expect("bundle JSON")
    }

    pub fn parse(bytes: &[u8], limits: &Limits) -> std::result::Result<Self, String> {
        if bytes.len() > limits.max_envelope_bytes * 3 + (64 << 10) {
            return Err("bundle: too large".into());
        }
        let v = crate::json::parse_strict(bytes).map_err(|e| format!("bundle: {e}"))?;
        if v["mediaType"].as_str() != Some(BUNDLE_MEDIA_TYPE) {
            return Err("bundle.mediaType: unsupported".into());
        }
        let env = Envelope::from_value(&v["envelope"], limits.envelope_limits())?;
        let entry = v["logEntry"].as_str().and_then(unb64).ok_or("bundle.logEntry: invalid Base64")?;
        let hash_alg = v["hashAlg"].as_str().and_then(|h| HashAlg::parse("hashAlg", h).ok()).ok_or("bundle.hashAlg: unsupported")?;
        let p = &v["inclusionProof"];
        let hashes = p["hashes"]
            .as_array()
            .filter(|a| a.len() <= 64)
            .and_then(|a| {
                a.iter().map(|h| h.as_str().and_then(unb64).and_then(|b| <[u8; 32]>::try_from(b).ok())).collect::<Option<Vec<_>>>()
            })
            .ok_or("bundle.inclusionProof.hashes: invalid")?;
        let proof = InclusionProof {
            index: p["index"].as_u64().ok_or("bundle.inclusionProof.index: invalid")?,
            tree_size: p["treeSize"].as_u64().ok_or("bundle.inclusionProof.treeSize: invalid")?,
            hashes,
        };
        let checkpoint = v["checkpoint"]["text"].as_str().ok_or("bundle.checkpoint.text: expected a string")?.to_owned();
        let log_public_key: [u8; 32] = v["checkpoint"]["publicKey"]
            .as_str()
            .and_then(unb64)
            .and_then(|b| b.try_into().ok())
            .ok_or("bundle.checkpoint.publicKey: expected 32 bytes of Base64")?;
        Ok(Self { envelope: env.to_json(), entry, hash_alg, proof, checkpoint, log_public_key })
    }
}

/// Offline bundle verification against trust anchors the CALLER holds:
/// `log_key` (the log's checkpoint key) and/or `opts.roots` (the envelope must
/// verify against them). Without either the answer is `valid: false`
/// (`unknown_key`): a bundle's own key proves nothing. With only roots, the
/// log part is checked against the key the bundle names and a warning says
/// the checkpoint is not anchored. Never errors for bad data.
pub fn verify_bundle(bundle: &[u8], log_key: Option<&[u8; 32]>, opts: Option<&VerifyOptions<'_>>) -> Result<Verification> {
    let lim = opts.map(|o| o.limits).unwrap_or_default();
    let fail = |r: Reason, d: String| Verification::fail(r, d, None);
    if log_key.is_none() && opts.is_none() {
        return Ok(fail(Reason::UnknownKey, "bundle: no trust anchors given; pass the log's public key and/or the trust roots".into()));
    }
    let b = match AuditBundle::parse(bundle, &lim) {
        Ok(b) => b,
        Err(e) => return Ok(fail(Reason::Malformed, e)),
    };
    let env = Envelope::parse(&b.envelope, lim.envelope_limits()).expect("re-encoded envelope parses");
    let entry_env = crate::json::parse_strict(&b.entry).ok().and_then(|v| Envelope::from_value(&v["envelope"], lim.envelope_limits()).ok());
    if entry_env.as_ref() != Some(&env) {
        return Ok(fail(Reason::Malformed, "bundle: the log entry does not record this envelope".into()));
    }
    let key = log_key.unwrap_or(&b.log_public_key);
    let cv = match omnitide_ledger::checkpoint::verify(&b.checkpoint, key, None) {
        Ok(cv) => cv,
        Err(e) => return Ok(fail(Reason::Malformed, format!("bundle.checkpoint: {}", e.message))),
    };
    if !cv.valid {
        let r = if log_key.is_some() && b.log_public_key != *key { Reason::UnknownKey } else { Reason::BadSignature };
        return Ok(fail(
            r,
            format!(
                "bundle: checkpoint is not signed by the {} log key: {}",
                if log_key.is_some() { "trusted" } else { "named" },
                cv.reason.unwrap_or_default()
            ),
        ));
    }
    let cp = cv.checkpoint;
    if b.proof.tree_size != cp.size || !verify_inclusion(b.hash_alg, &b.hash_alg.leaf_hash(&b.entry), &b.proof, &cp.root_hash) {
        return Ok(fail(Reason::BadSignature, "bundle: inclusion proof does not match the checkpoint".into()));
    }
    let mut v = match opts {
        Some(o) => crate::verify::verify(&b.envelope, o)?,
        None => Verification {
            valid: true,
            reason: None,
            detail: String::new(),
            id: Some(env.id()),
            predicate_type: None,
            chain: vec![],
            signers: vec![],
            warnings: vec![],
        },
    };
    if log_key.is_none() {
        v.warnings.push("bundle: the checkpoint is checked only against the key the bundle names (no trusted log key given)".into());
    } else if opts.is_none() {
        v.warnings.push("bundle: the envelope's signatures were not checked (no trust roots given)".into());
    }
    Ok(v)
}
