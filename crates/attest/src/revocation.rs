//! Revocations: of one attestation or delegation (by attestation ID) or of a
//! key (by key ID), with a reason, `effectiveFrom` (Unix ms) and the key that
//! signed it (`by`).
//!
//! Semantics, checked from the chain at verification time:
//! - a revoked key invalidates every statement it signed, and everything below
//!   it in a delegation chain, that was issued at or after `effectiveFrom`
//!   (a statement without an issue time counts as issued after);
//! - a revoked delegation invalidates everything below it issued at or after
//!   `effectiveFrom`;
//! - a revoked (leaf) attestation is invalid for verification times at or after
//!   `effectiveFrom`.
//!
//! Who may revoke (anything else is ignored by verification and reported in
//! its `warnings`):
//! - an attestation: a key that signed it, or any key above that signer in its
//!   delegation chain (a delegator revokes what it delegated, within scope);
//! - a delegation: its delegator or any key above it in the chain;
//! - a delegated key: the key itself, or any key above it in the chain;
//! - a root key (a key of the trust root's `root` role): a threshold of the
//!   `root` role signing the revocation.
//!
//! A threshold of the `root` role may also revoke anything. Revocations are
//! DSSE-signed statements recorded in the audit log; the envelope is kept so
//! co-signatures (for a root threshold) can be counted against the trust root
//! the verifier supplies.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::dsse::Envelope;
use crate::json::{obj, str_field};
use crate::statement::REVOCATION_TYPE;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Attestation(String),
    Key(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub target: Target,
    pub reason: String,
    pub effective_from: i64,
    /// Key ID of the revoker named in the statement (its signature is checked).
    pub by: String,
    /// ID of the revocation record (its attestation ID).
    pub id: String,
    /// The signed revocation envelope (for counting root co-signatures).
    pub envelope: Option<Arc<Envelope>>,
}

impl Revocation {
    pub fn predicate(&self, revoker: &[u8; 32]) -> Value {
        let target = match &self.target {
            Target::Attestation(id) => json!({"attestation": id}),
            Target::Key(k) => json!({"key": k}),
        };
        json!({
            "target": target,
            "reason": self.reason,
            "effectiveFrom": self.effective_from,
            "revoker": {"keyid": crate::keyid(revoker), "publicKey": crate::json::b64(revoker)},
        })
    }

    /// Parses a revocation statement and checks its signature against the
    /// revoker key it names (the DSSE keyid is only a hint). Returns `None`
    /// for anything that does not check out.
    pub fn from_envelope(env: &Envelope) -> Option<Self> {
        let st = crate::statement::Statement::parse(&env.payload, 16).ok()?;
        if st.predicate_type != REVOCATION_TYPE {
            return None;
        }
        let p = obj(&st.predicate, "p").ok()?;
        let rv = obj(p.get("revoker")?, "r").ok()?;
        let pk: [u8; 32] = crate::json::unb64(str_field(rv, "publicKey", "r").ok()?)?.try_into().ok()?;
        if !signed_by(env, &pk) {
            return None;
        }
        let t = obj(p.get("target")?, "t").ok()?;
        let target = if let Some(Value::String(a)) = t.get("attestation") {
            Target::Attestation(a.clone())
        } else if let Some(Value::String(k)) = t.get("key") {
            Target::Key(k.clone())
        } else {
            return None;
        };
        Some(Self {
            target,
            reason: p.get("reason").and_then(Value::as_str).unwrap_or("").to_owned(),
            effective_from: p.get("effectiveFrom")?.as_i64()?,
            by: crate::keyid(&pk),
            id: env.id(),
            envelope: Some(Arc::new(env.clone())),
        })
    }

    /// Distinct keys among `candidates` (key ID -> public key) that validly
    /// signed this revocation.
    pub fn signers_among<'a>(&self, candidates: impl Iterator<Item = (&'a String, &'a [u8; 32])>) -> Vec<String> {
        let Some(env) = &self.envelope else {
            return vec![];
        };
        candidates.filter(|(_, pk)| signed_by(env, pk)).map(|(k, _)| k.clone()).collect()
    }

    pub fn describe(&self) -> String {
        let t = match &self.target {
            Target::Attestation(a) => format!("attestation {a}"),
            Target::Key(k) => format!("key {k}"),
        };
        format!("revocation {} of {t} by key {}", self.id, self.by)
    }
}

/// Does some signature of `env` verify under `pk`? Signatures whose keyid
/// names `pk` are tried first; keyids are hints (DSSE), so the others too.
pub(crate) fn signed_by(env: &Envelope, pk: &[u8; 32]) -> bool {
    let kid = crate::keyid(pk);
    let pae = env.pae();
    let check = |s: &crate::dsse::Signature| {
        s.sig.len() == 64 && omnitide_crypto::ed25519::verify(&s.sig, &pae, pk, omnitide_crypto::ed25519::Mode::Strict).unwrap_or(false)
    };
    env.signatures.iter().filter(|s| s.keyid == kid).any(check) || env.signatures.iter().filter(|s| s.keyid != kid).any(check)
}

/// The revocations known to a verifier: every record per target (whether a
/// record is authorised depends on the chain, known only at verification).
#[derive(Debug, Clone, Default)]
pub struct RevocationSet {
    map: HashMap<Target, Vec<Revocation>>,
    count: usize,
}

impl RevocationSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, r: Revocation) {
        let v = self.map.entry(r.target.clone()).or_default();
        if v.iter().any(|x| x.id == r.id) {
            return;
        }
        let at = v.partition_point(|x| x.effective_from <= r.effective_from);
        v.insert(at, r);
        self.count += 1;
    }

    /// Number of revocation records.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records revoking attestation (or delegation) `id`, earliest first.
    pub fn attestation(&self, id: &str) -> &[Revocation] {
        if self.map.is_empty() {
            return &[];
        }
        self.map.get(&Target::Attestation(id.to_owned())).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records revoking key `keyid`, earliest first.
    pub fn key(&self, keyid: &str) -> &[Revocation] {
        if self.map.is_empty() {
            return &[];
        }
        self.map.get(&Target::Key(keyid.to_owned())).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Revocation> {
        self.map.values().flatten()
    }
}
