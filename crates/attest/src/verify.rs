//! Offline verification: envelopes against trust roots, delegation chains,
//! role thresholds and revocations. Bad data never errors: it yields
//! `valid: false` with a [`Reason`] (an unknown role too). Only programmer
//! errors (a negative clock skew) are `Err`.
//!
//! Without `role`, the trust root's `root` role applies, threshold included
//! (TUF): a 2-of-n root needs two distinct root keys.
//!
//! DSSE `keyid`s are unauthenticated hints: a signature whose keyid names no
//! trusted key (securesystemslib's or Go's key ID schemes, or none) is tried
//! against the trusted keys, at most [`MAX_KEYID_FALLBACK_TRIES`] checks per
//! envelope. payloadType `application/vnd.in-toto+json` and the in-toto
//! envelope spec's `application/vnd.in-toto.<predicate>+json` are accepted.
//!
//! `verify_many` gathers every signature check of every envelope and of every
//! delegation into one `omnitide_crypto::ed25519::verify_batch` call (strict,
//! cofactored; its per-item answers equal single verification).
//!
//! Delegation signatures that verified are remembered in a bounded LRU
//! ([`crate::cache::sig_cache`], 4096 entries, process-wide) keyed by BLAKE3
//! over the exact signed bytes, the signer key and the signature bytes, so a
//! chain reused across calls costs one signature check (the envelope's).
//! Scope, expiry and revocation are evaluated on every call; failures are
//! never cached.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use globset::GlobSet;
use omnitide_common::{Error, Result};
use omnitide_crypto::ed25519::{self, Item, Mode};

use crate::cache::{sig_cache, sig_key, Lru};
use crate::dsse::{is_intoto_payload_type, Envelope, EnvelopeLimits, PAYLOAD_TYPE_INTOTO};
use crate::revocation::{Revocation, RevocationSet};
use crate::scope::{globs_covered, Delegation};
use crate::statement::Statement;
use crate::trust::{TrustRoot, ROOT_ROLE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Expired,
    Revoked,
    OutOfScope,
    BadSignature,
    UnknownKey,
    ThresholdNotMet,
    Malformed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::OutOfScope => "out_of_scope",
            Reason::BadSignature => "bad_signature",
            Reason::UnknownKey => "unknown_key",
            Reason::ThresholdNotMet => "threshold_not_met",
            Reason::Malformed => "malformed",
        }
    }
}

/// Size limits for untrusted input (defaults in `Default`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one envelope's JSON (attestation or delegation). Default 256 KiB.
    pub max_envelope_bytes: usize,
    /// Signatures per envelope. Default 32.
    pub max_signatures: usize,
    /// Subjects per statement. Default 1024.
    pub max_subjects: usize,
    /// Delegation envelopes supplied to one verification. Default 256.
    pub max_delegations: usize,
    /// Delegation links between a root and a signer. Default 8.
    pub max_chain_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_envelope_bytes: 256 << 10, max_signatures: 32, max_subjects: 1024, max_delegations: 256, max_chain_depth: 8 }
    }
}

impl Limits {
    pub fn envelope_limits(&self) -> EnvelopeLimits {
        EnvelopeLimits { max_bytes: self.max_envelope_bytes, max_signatures: self.max_signatures }
    }
}

pub struct VerifyOptions<'a> {
    pub roots: &'a TrustRoot,
    /// Role whose threshold must be met; `None` = one signer chained to the `root` role's keys.
    pub role: Option<&'a str>,
    /// Verification time, Unix ms.
    pub at_ms: i64,
    pub clock_skew_ms: i64,
    /// Delegation envelopes (JSON) that may form chains.
    pub delegations: &'a [&'a [u8]],
    pub revocations: Option<&'a RevocationSet>,
    pub limits: Limits,
}

impl<'a> VerifyOptions<'a> {
    pub fn new(roots: &'a TrustRoot, at_ms: i64) -> Self {
        Self { roots, role: None, at_ms, clock_skew_ms: 0, delegations: &[], revocations: None, limits: Limits::default() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub valid: bool,
    pub reason: Option<Reason>,
    /// Human-readable explanation of `reason`.
    pub detail: String,
    /// Attestation ID (hex BLAKE3 of the PAE) when the envelope parsed.
    pub id: Option<String>,
    pub predicate_type: Option<String>,
    /// IDs of the delegations from the trusted key down to the first accepted
    /// signer (empty when a trusted key signed directly).
    pub chain: Vec<String>,
    /// Key IDs of the signers whose signature and chain were accepted.
    pub signers: Vec<String>,
    /// What the verifier ignored or could not check, e.g. a revocation by a
    /// key without authority over its target, or a missing trust anchor.
    pub warnings: Vec<String>,
}

impl Verification {
    pub fn fail(reason: Reason, detail: impl Into<String>, id: Option<String>) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            detail: detail.into(),
            id,
            predicate_type: None,
            chain: vec![],
            signers: vec![],
            warnings: vec![],
        }
    }
}

type Fail = (Reason, String);

/// A parsed delegation envelope. Parsing (JSON, Base64, statement, glob
/// compilation) is deterministic in the bytes, so results are cached per
/// process (LRU, [`DELEG_CACHE_MAX`] entries) keyed by the BLAKE3 of the bytes
/// and the limits that applied.
///
/// Successful signature checks of delegations are cached separately
/// ([`crate::cache::sig_cache`]), keyed by the exact signed bytes, signer key
/// and signature bytes; scope, expiry and revocation are checked on every call.
struct ParsedDeleg {
    id: String,
    env: Envelope,
    pae: Vec<u8>,
    /// BLAKE3 of `pae` (`id` is its hex).
    pae_hash: [u8; 32],
    parsed: std::result::Result<Delegation, String>,
}

struct Deleg {
    pd: Arc<ParsedDeleg>,
    sig_ok: bool,
}

impl std::ops::Deref for Deleg {
    type Target = ParsedDeleg;
    fn deref(&self) -> &ParsedDeleg {
        &self.pd
    }
}

const DELEG_CACHE_MAX: usize = 4096;

fn deleg_cache() -> &'static Mutex<Lru<Arc<ParsedDeleg>>> {
    static C: OnceLock<Mutex<Lru<Arc<ParsedDeleg>>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(Lru::new(DELEG_CACHE_MAX)))
}

fn parsed_delegation(bytes: &[u8], lim: &Limits) -> Option<Arc<ParsedDeleg>> {
    let mut h = blake3::Hasher::new();
    h.update(&(lim.max_envelope_bytes as u64).to_le_bytes());
    h.update(&(lim.max_signatures as u64).to_le_bytes());
    h.update(&(lim.max_subjects as u64).to_le_bytes());
    h.update(bytes);
    let key = *h.finalize().as_bytes();
    if let Some(p) = deleg_cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Some(p);
    }
    let env = Envelope::parse(bytes, lim.envelope_limits()).ok()?;
    let pae = env.pae();
    let pae_hash = *blake3::hash(&pae).as_bytes();
    let id = hex::encode(pae_hash);
    let parsed = if !is_intoto_payload_type(&env.payload_type) {
        Err(format!("delegation {id}: payloadType must be {PAYLOAD_TYPE_INTOTO}"))
    } else {
        Statement::parse(&env.payload, lim.max_subjects).and_then(|s| Delegation::from_statement(&s))
    };
    let pd = Arc::new(ParsedDeleg { id, env, pae, pae_hash, parsed });
    deleg_cache().lock().unwrap_or_else(|p| p.into_inner()).insert(key, pd.clone());
    Some(pd)
}

struct ParsedEnv {
    env: Envelope,
    stmt: Statement,
    id: String,
}

pub fn verify(envelope: &[u8], opts: &VerifyOptions<'_>) -> Result<Verification> {
    Ok(verify_many(&[envelope], opts)?.pop().expect("one result"))
}

pub fn verify_many(envelopes: &[&[u8]], opts: &VerifyOptions<'_>) -> Result<Vec<Verification>> {
    if opts.clock_skew_ms < 0 {
        return Err(Error::invalid_arg("clockSkewMs", format!("must be >= 0, got {}", opts.clock_skew_ms)));
    }
    let role_name = opts.role.unwrap_or(ROOT_ROLE);
    let Some(role) = opts.roots.role(role_name) else {
        let d = format!("role '{role_name}' is not defined in the trust root");
        return Ok(envelopes.iter().map(|_| Verification::fail(Reason::UnknownKey, d.clone(), None)).collect());
    };
    let (threshold, anchors): (usize, HashSet<String>) = (role.threshold as usize, role.keyids.iter().cloned().collect());
    let lim = opts.limits;
    if let Some(e) = opts.roots.expires_at {
        if e < opts.at_ms - opts.clock_skew_ms {
            return Ok(envelopes.iter().map(|_| Verification::fail(Reason::Expired, "trust root expired", None)).collect());
        }
    }
    if opts.delegations.len() > lim.max_delegations {
        let d = format!("delegations: {} exceeds the limit of {}", opts.delegations.len(), lim.max_delegations);
        return Ok(envelopes.iter().map(|_| Verification::fail(Reason::Malformed, d.clone(), None)).collect());
    }

    // Parse delegations once for all envelopes (and across calls, see `parsed_delegation`).
    let mut delegs: Vec<Deleg> = Vec::with_capacity(opts.delegations.len());
    let mut seen_ids = HashSet::new();
    for bytes in opts.delegations {
        let Some(pd) = parsed_delegation(bytes, &lim) else {
            continue;
        };
        if !seen_ids.insert(pd.id.clone()) {
            continue;
        }
        delegs.push(Deleg { pd, sig_ok: false });
    }
    let mut keys: HashMap<&str, &[u8; 32]> = opts.roots.keys.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut by_delegate: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, d) in delegs.iter().enumerate() {
        if let Ok(p) = &d.parsed {
            keys.insert(p.delegate.as_str(), &p.delegate_key);
            by_delegate.entry(p.delegate.clone()).or_default().push(i);
        }
    }

    let parsed: Vec<std::result::Result<ParsedEnv, Fail>> = envelopes.iter().map(|b| parse_envelope(b, &lim)).collect();

    // One batch for every signature check.
    enum Msg {
        Deleg(usize),
        Env(usize),
    }
    let mut paes: Vec<Vec<u8>> = Vec::new();
    let mut jobs: Vec<(Msg, &[u8], &[u8; 32])> = Vec::new(); // (message, sig, key)
    let mut deleg_jobs: Vec<(usize, usize, [u8; 32])> = Vec::new(); // (deleg, job, cache key)
                                                                    // Delegation signature candidates: (deleg, sig, key, cache key).
    type Cand<'x> = (usize, &'x [u8], &'x [u8; 32], [u8; 32]);
    let mut cands: Vec<Cand<'_>> = Vec::new();
    for (di, d) in delegs.iter().enumerate() {
        let Ok(p) = &d.parsed else { continue };
        let Some(pk) = keys.get(p.delegator.as_str()) else {
            continue;
        };
        // Every signature is a candidate (keyids are hints), bounded by maxSignatures.
        for s in &d.env.signatures {
            if s.sig.len() == 64 {
                cands.push((di, &s.sig, pk, sig_key(&d.pae_hash, pk, &s.sig)));
            }
        }
    }
    // A cache hit means these exact signed bytes, key and signature verified
    // (strict) before; anything else is checked in the batch below.
    let hits = if cands.is_empty() { vec![] } else { sig_cache().lookup(&cands.iter().map(|c| c.3).collect::<Vec<_>>()) };
    let mut cached_ok = vec![false; delegs.len()];
    for ((di, sig, pk, ck), hit) in cands.into_iter().zip(hits) {
        if hit {
            cached_ok[di] = true;
        } else if !cached_ok[di] {
            deleg_jobs.push((di, jobs.len(), ck));
            jobs.push((Msg::Deleg(di), sig, pk));
        }
    }
    // Per envelope: per signature, the job index (None = unknown key or bad length).
    let mut env_jobs: Vec<Vec<(String, Option<usize>, bool)>> = Vec::with_capacity(parsed.len());
    for p in &parsed {
        let mut v = Vec::new();
        if let Ok(p) = p {
            let pi = paes.len();
            paes.push(p.env.pae());
            let mut tries = 0usize;
            for s in &p.env.signatures {
                match keys.get(s.keyid.as_str()) {
                    Some(pk) if s.sig.len() == 64 => {
                        v.push((s.keyid.clone(), Some(jobs.len()), true));
                        jobs.push((Msg::Env(pi), &s.sig, pk));
                    }
                    Some(_) => v.push((s.keyid.clone(), None, true)),
                    // The keyid is a hint that names none of ours (another
                    // tool's key ID scheme, or empty): try the trusted keys.
                    None if s.sig.len() == 64 && tries + keys.len() <= MAX_KEYID_FALLBACK_TRIES => {
                        tries += keys.len();
                        // Not "known": if none verifies, the signer is an unknown key.
                        for (kid, pk) in &keys {
                            v.push((kid.to_string(), Some(jobs.len()), false));
                            jobs.push((Msg::Env(pi), &s.sig, pk));
                        }
                    }
                    None => v.push((s.keyid.clone(), None, false)),
                }
            }
        }
        env_jobs.push(v);
    }
    let items: Vec<Item<'_>> = jobs
        .iter()
        .map(|(m, sig, pk)| Item {
            signature: sig,
            message: match m {
                Msg::Deleg(d) => &delegs[*d].pae,
                Msg::Env(e) => &paes[*e],
            },
            public_key: &pk[..],
        })
        .collect();
    let ok = ed25519::verify_batch(&items, Mode::Strict, false)?;
    drop(items);
    drop(jobs);
    for (d, c) in delegs.iter_mut().zip(cached_ok) {
        d.sig_ok = c;
    }
    let mut verified = Vec::new();
    for (di, j, ck) in deleg_jobs {
        if ok[j] {
            delegs[di].sig_ok = true;
            verified.push(ck);
        }
    }
    if !verified.is_empty() {
        sig_cache().record(verified);
    }

    let ctx = Ctx { opts, anchors, threshold, delegs: &delegs, by_delegate: &by_delegate };
    Ok(parsed
        .into_iter()
        .zip(env_jobs)
        .map(|(p, sigs)| match p {
            Err((r, d)) => Verification::fail(r, d, None),
            Ok(p) => ctx.evaluate(&p, &sigs, &ok),
        })
        .collect())
}

fn parse_envelope(bytes: &[u8], lim: &Limits) -> std::result::Result<ParsedEnv, Fail> {
    let env = Envelope::parse(bytes, lim.envelope_limits()).map_err(|e| (Reason::Malformed, e))?;
    let id = env.id();
    if !is_intoto_payload_type(&env.payload_type) {
        return Err((
            Reason::Malformed,
            format!(
                "envelope.payloadType: expected '{PAYLOAD_TYPE_INTOTO}' or 'application/vnd.in-toto.<predicate>+json', got '{}'",
                env.payload_type
            ),
        ));
    }
    let stmt = Statement::parse(&env.payload, lim.max_subjects).map_err(|e| (Reason::Malformed, e))?;
    Ok(ParsedEnv { env, stmt, id })
}

struct Ctx<'a> {
    opts: &'a VerifyOptions<'a>,
    anchors: HashSet<String>,
    threshold: usize,
    delegs: &'a [Deleg],
    by_delegate: &'a HashMap<String, Vec<usize>>,
}

/// Signature checks per envelope spent on signatures whose keyid names no
/// trusted key (each such signature costs one check per trusted key).
pub const MAX_KEYID_FALLBACK_TRIES: usize = 256;

/// Bounds on the chain search per signer, so crafted delegation graphs
/// (cycles, fan-in) cannot make verification expensive.
const MAX_CHAINS_PER_SIGNER: usize = 64;
const MAX_CHAIN_STEPS: usize = 4096;

impl Ctx<'_> {
    fn evaluate(&self, p: &ParsedEnv, sigs: &[(String, Option<usize>, bool)], ok: &[bool]) -> Verification {
        let id = Some(p.id.clone());
        let mut signed: Vec<&str> = Vec::new();
        let mut known = false;
        for (kid, job, is_known) in sigs {
            known |= *is_known;
            if job.is_some_and(|j| ok[j]) && !signed.contains(&kid.as_str()) {
                signed.push(kid);
            }
        }
        let fail = |r: Reason, d: String| {
            let mut v = Verification::fail(r, d, id.clone());
            v.predicate_type = Some(p.stmt.predicate_type.clone());
            v
        };
        if signed.is_empty() {
            return if known {
                fail(Reason::BadSignature, "no signature verifies under its key".into())
            } else {
                fail(Reason::UnknownKey, "no signature is by a known key".into())
            };
        }
        let (at, skew) = (self.opts.at_ms, self.opts.clock_skew_ms);
        if let Some(e) = p.stmt.meta.expires_at {
            if e < at - skew {
                return fail(Reason::Expired, format!("expired at {e}, verification time {at}"));
            }
        }
        if let Some(i) = p.stmt.meta.issued_at {
            if i > at + skew {
                return fail(Reason::Expired, format!("not yet valid: issued at {i}, verification time {at}"));
            }
        }
        let mut anchors_ok: BTreeSet<String> = BTreeSet::new();
        let mut signers = Vec::new();
        let mut chain_ids: Option<Vec<String>> = None;
        let mut first_fail: Option<Fail> = None;
        let mut warnings = Vec::new();
        // Keys with authority over this attestation: its accepted signers and every key above them.
        let mut chain_keys: Vec<String> = Vec::new();
        for s in signed {
            match self.find_chain(s, p, &mut warnings) {
                Ok((anchor, chain)) => {
                    chain_keys.push(anchor.clone());
                    chain_keys.extend(chain.iter().filter_map(|&d| self.delegs[d].parsed.as_ref().ok().map(|x| x.delegate.clone())));
                    anchors_ok.insert(anchor);
                    signers.push(s.to_owned());
                    if chain_ids.is_none() {
                        chain_ids = Some(chain.iter().map(|&d| self.delegs[d].id.clone()).collect());
                    }
                }
                Err(f) => {
                    first_fail.get_or_insert(f);
                }
            }
        }
        let with = |mut v: Verification, warnings: Vec<String>| {
            v.signers = signers.clone();
            v.chain = chain_ids.clone().unwrap_or_default();
            v.warnings = warnings;
            v
        };
        if anchors_ok.len() < self.threshold {
            let v = if let Some((r, d)) = first_fail.filter(|_| anchors_ok.is_empty()) {
                fail(r, d)
            } else {
                fail(Reason::ThresholdNotMet, format!("{} of {} required distinct trusted keys signed", anchors_ok.len(), self.threshold))
            };
            return with(v, warnings);
        }
        for r in self.opts.revocations.map(|rs| rs.attestation(&p.id)).unwrap_or(&[]) {
            if r.effective_from > at + skew {
                continue;
            }
            if chain_keys.contains(&r.by) || self.root_threshold(r) {
                return with(
                    fail(Reason::Revoked, format!("attestation revoked from {} by key {}: {}", r.effective_from, r.by, r.reason)),
                    warnings,
                );
            }
            warn(&mut warnings, format!("ignored {}: the revoker neither signed the attestation nor delegated to a signer", r.describe()));
        }
        let v = Verification {
            valid: true,
            reason: None,
            detail: String::new(),
            id,
            predicate_type: Some(p.stmt.predicate_type.clone()),
            chain: vec![],
            signers: vec![],
            warnings: vec![],
        };
        with(v, warnings)
    }

    /// Did a threshold of the `root` role sign revocation `r`?
    fn root_threshold(&self, r: &Revocation) -> bool {
        let Some(role) = self.opts.roots.role(ROOT_ROLE) else {
            return false;
        };
        let keys = role.keyids.iter().filter_map(|k| self.opts.roots.keys.get_key_value(k));
        r.signers_among(keys).len() >= role.threshold as usize
    }

    fn is_root_key(&self, keyid: &str) -> bool {
        self.opts.roots.role(ROOT_ROLE).is_some_and(|r| r.keyids.iter().any(|k| k == keyid))
    }

    /// Finds a fully valid chain from a trusted key down to `signer`.
    /// Returns the trusted key and the delegation indices top-down.
    fn find_chain(&self, signer: &str, p: &ParsedEnv, warnings: &mut Vec<String>) -> std::result::Result<(String, Vec<usize>), Fail> {
        let mut chains: Vec<(String, Vec<usize>)> = Vec::new();
        let mut path = Vec::new();
        let mut budget = MAX_CHAIN_STEPS;
        self.collect_chains(signer, &mut path, &mut chains, &mut budget);
        let mut first_fail = None;
        for (anchor, mut chain) in chains {
            chain.reverse();
            match self.check_chain(&anchor, &chain, p, warnings) {
                Ok(()) => return Ok((anchor, chain)),
                Err(f) => {
                    first_fail.get_or_insert(f);
                }
            }
        }
        Err(first_fail.unwrap_or_else(|| (Reason::UnknownKey, format!("key {signer} has no delegation chain to a trusted key"))))
    }

    fn collect_chains(&self, key: &str, path: &mut Vec<usize>, out: &mut Vec<(String, Vec<usize>)>, budget: &mut usize) {
        if out.len() >= MAX_CHAINS_PER_SIGNER || *budget == 0 {
            return;
        }
        *budget -= 1;
        if self.anchors.contains(key) {
            out.push((key.to_owned(), path.clone()));
            return;
        }
        if path.len() >= self.opts.limits.max_chain_depth {
            return;
        }
        for &d in self.by_delegate.get(key).map(Vec::as_slice).unwrap_or(&[]) {
            if path.contains(&d) {
                continue;
            }
            let Ok(p) = &self.delegs[d].parsed else {
                continue;
            };
            path.push(d);
            self.collect_chains(&p.delegator, path, out, budget);
            path.pop();
        }
    }

    fn check_chain(&self, anchor: &str, chain: &[usize], p: &ParsedEnv, warnings: &mut Vec<String>) -> std::result::Result<(), Fail> {
        let (at, skew) = (self.opts.at_ms, self.opts.clock_skew_ms);
        let oos = |d: String| Err((Reason::OutOfScope, d));
        let mut types: Option<&Vec<String>> = None;
        let mut globs: Vec<(&Vec<String>, &GlobSet)> = Vec::new();
        let mut remaining: Option<u32> = None;
        let mut expires: Option<i64> = None;
        let mut prev_issued: Option<i64> = None;
        for (i, &di) in chain.iter().enumerate() {
            let d = &self.delegs[di];
            let dl = d.parsed.as_ref().map_err(|e| (Reason::Malformed, e.clone()))?;
            if !d.sig_ok {
                return Err((Reason::BadSignature, format!("delegation {} is not validly signed by {}", d.id, dl.delegator)));
            }
            let sc = &dl.scope;
            if i > 0 && remaining == Some(0) {
                return oos(format!("delegation {}: depth exceeds the parent's maxDepth", d.id));
            }
            if let (Some(pt), Some(ct)) = (types, &sc.predicate_types) {
                if let Some(x) = ct.iter().find(|t| !pt.contains(t)) {
                    return oos(format!("delegation {} widens predicateTypes with '{x}'", d.id));
                }
            }
            if let (Some((pg, pset)), Some(cg)) = (globs.last(), &sc.subjects) {
                if !globs_covered(pg, pset, cg) {
                    return oos(format!("delegation {} widens subjects", d.id));
                }
            }
            let parent_left = if i == 0 { None } else { remaining.map(|r| r - 1) };
            remaining = match (parent_left, sc.max_depth) {
                (Some(r), Some(c)) if c > r => return oos(format!("delegation {} widens maxDepth to {c} (parent allows {r})", d.id)),
                (Some(r), Some(c)) => Some(r.min(c)),
                (x, y) => x.or(y),
            };
            expires = match (expires, sc.expires_at) {
                (Some(pe), Some(ce)) if ce > pe => return oos(format!("delegation {} outlives its parent", d.id)),
                (x, y) => match (x, y) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            };
            if let Some(e) = expires {
                if e < at - skew {
                    return Err((Reason::Expired, format!("delegation {} expired at {e}", d.id)));
                }
                if dl.issued_at.is_some_and(|t| t > e) {
                    return Err((Reason::Expired, format!("delegation {} issued after its parent expired", d.id)));
                }
            }
            if let (Some(pi), Some(ci)) = (prev_issued, dl.issued_at) {
                if ci + skew < pi {
                    return oos(format!("delegation {} was issued before its parent", d.id));
                }
            }
            prev_issued = dl.issued_at.or(prev_issued);
            if let Some(t) = &sc.predicate_types {
                types = Some(t);
            }
            if let (Some(g), Some(set)) = (&sc.subjects, &dl.subject_globs) {
                globs.push((g, set));
            }
        }
        // The statement itself against the effective scope.
        let st = &p.stmt;
        if !chain.is_empty() {
            if let Some(t) = types {
                if !t.contains(&st.predicate_type) {
                    return oos(format!("predicateType '{}' is not delegated", st.predicate_type));
                }
            }
            for s in &st.subject {
                if let Some((_, _)) = globs.iter().find(|(_, set)| !set.is_match(&s.name)) {
                    return oos(format!("subject '{}' is not delegated", s.name));
                }
            }
            if let Some(e) = expires {
                if st.meta.expires_at.is_some_and(|x| x > e) {
                    return oos(format!("attestation expiresAt outlives its delegation ({e})"));
                }
                if st.meta.issued_at.is_some_and(|t| t > e) {
                    return Err((Reason::Expired, "attestation issued after its delegation expired".into()));
                }
            }
            if let (Some(pi), Some(ci)) = (prev_issued, st.meta.issued_at) {
                if ci + skew < pi {
                    return oos("attestation was issued before its delegation".into());
                }
            }
        }
        // Revocations: issue times from the first delegation down to the statement.
        if let Some(rs) = self.opts.revocations.filter(|r| !r.is_empty()) {
            let times: Vec<Option<i64>> =
                chain.iter().map(|&d| self.delegs[d].parsed.as_ref().ok().and_then(|x| x.issued_at)).chain([st.meta.issued_at]).collect();
            let after = |from: usize, t: i64| times[from..].iter().any(|x| x.is_none_or(|x| x >= t));
            let mut signers: Vec<&str> = vec![anchor];
            for &d in chain {
                signers.push(self.delegs[d].parsed.as_ref().map(|x| x.delegate.as_str()).unwrap_or(""));
            }
            for (pos, k) in signers.iter().enumerate() {
                for r in rs.key(k) {
                    if !after(pos, r.effective_from) {
                        continue;
                    }
                    // A root key falls only to a root threshold; another key to
                    // itself, a key above it in this chain, or a root threshold.
                    let by_chain = !self.is_root_key(k) && (r.by == *k || signers[..pos].contains(&r.by.as_str()));
                    if by_chain || self.root_threshold(r) {
                        return Err((Reason::Revoked, format!("key {k} revoked from {} by key {}: {}", r.effective_from, r.by, r.reason)));
                    }
                    let why = if self.is_root_key(k) {
                        "a root key needs a threshold of the root role"
                    } else {
                        "the revoker is neither the key nor above it in the chain"
                    };
                    warn(warnings, format!("ignored {}: {why}", r.describe()));
                }
            }
            for (i, &d) in chain.iter().enumerate() {
                let id = &self.delegs[d].id;
                for r in rs.attestation(id) {
                    if !after(i + 1, r.effective_from) {
                        continue;
                    }
                    if signers[..=i].contains(&r.by.as_str()) || self.root_threshold(r) {
                        return Err((
                            Reason::Revoked,
                            format!("delegation {id} revoked from {} by key {}: {}", r.effective_from, r.by, r.reason),
                        ));
                    }
                    warn(warnings, format!("ignored {}: the revoker is neither the delegator nor above it in the chain", r.describe()));
                }
            }
        }
        Ok(())
    }
}

fn warn(warnings: &mut Vec<String>, w: String) {
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// Verifies a root rotation: `new_root` (a DSSE envelope whose statement has
/// predicateType [`crate::statement::ROOT_TYPE`] and the new [`TrustRoot`] as
/// predicate) must have `version == old.version + 1` and be signed by a
/// threshold of the old root role and a threshold of the new root role.
pub fn verify_rotation(old: &TrustRoot, new_root: &[u8], limits: &Limits) -> std::result::Result<TrustRoot, (Reason, String)> {
    let env = Envelope::parse(new_root, limits.envelope_limits()).map_err(|e| (Reason::Malformed, e))?;
    if !is_intoto_payload_type(&env.payload_type) {
        return Err((Reason::Malformed, "rotation: wrong payloadType".into()));
    }
    let st = Statement::parse(&env.payload, limits.max_subjects).map_err(|e| (Reason::Malformed, e))?;
    if st.predicate_type != crate::statement::ROOT_TYPE {
        return Err((Reason::Malformed, format!("rotation: predicateType must be {}", crate::statement::ROOT_TYPE)));
    }
    let new = TrustRoot::from_value(&st.predicate).map_err(|e| (Reason::Malformed, e.message))?;
    if new.version != old.version + 1 {
        return Err((Reason::OutOfScope, format!("rotation: version must be {}, got {}", old.version + 1, new.version)));
    }
    let need_old = old.role(ROOT_ROLE).map_or(1, |r| r.threshold) as usize;
    let need_new = new.role(ROOT_ROLE).map_or(1, |r| r.threshold) as usize;
    let (got_old, got_new) = (old.count_signed(ROOT_ROLE, &env), new.count_signed(ROOT_ROLE, &env));
    if got_old < need_old || got_new < need_new {
        return Err((
            Reason::ThresholdNotMet,
            format!("rotation: {got_old}/{need_old} old root keys and {got_new}/{need_new} new root keys signed"),
        ));
    }
    Ok(new)
}

/// Applies a sequence of rotations starting from a trusted root.
pub fn verify_rotations(initial: &TrustRoot, rotations: &[&[u8]], limits: &Limits) -> std::result::Result<TrustRoot, (Reason, String)> {
    let mut cur = initial.clone();
    for r in rotations {
        cur = verify_rotation(&cur, r, limits)?;
    }
    Ok(cur)
}
