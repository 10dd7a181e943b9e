//! Revocations: of one attestation or delegation (by attestation ID) or of a
//! key (by key ID), with a reason and `effectiveFrom` (Unix ms).
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
//! Revocations are DSSE-signed statements recorded in the audit log. A
//! verifier trusts the log it reads (write access to the log directory is the
//! authorization boundary); the signature makes each record attributable.

use std::collections::HashMap;

use serde_json::{json, Value};

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
    /// revoker key it names. Returns `None` for anything that does not check out.
    pub fn from_envelope(env: &crate::dsse::Envelope) -> Option<Self> {
        let st = crate::statement::Statement::parse(&env.payload, 16).ok()?;
        if st.predicate_type != REVOCATION_TYPE {
            return None;
        }
        let p = obj(&st.predicate, "p").ok()?;
        let rv = obj(p.get("revoker")?, "r").ok()?;
        let pk: [u8; 32] = crate::json::unb64(str_field(rv, "publicKey", "r").ok()?)?.try_into().ok()?;
        let kid = crate::keyid(&pk);
        let pae = env.pae();
        let signed = env.signatures.iter().any(|s| {
            s.keyid == kid && omnitide_crypto::ed25519::verify(&s.sig, &pae, &pk, omnitide_crypto::ed25519::Mode::Strict).unwrap_or(false)
        });
        if !signed {
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
        })
    }
}

/// The revocations known to a verifier. For a target revoked several times the
/// earliest `effectiveFrom` wins.
#[derive(Debug, Clone, Default)]
pub struct RevocationSet {
    map: HashMap<Target, Revocation>,
}

impl RevocationSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, r: Revocation) {
        match self.map.get(&r.target) {
            Some(old) if old.effective_from <= r.effective_from => {}
            _ => {
                self.map.insert(r.target.clone(), r);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn attestation(&self, id: &str) -> Option<&Revocation> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&Target::Attestation(id.to_owned()))
    }

    pub fn key(&self, keyid: &str) -> Option<&Revocation> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&Target::Key(keyid.to_owned()))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Revocation> {
        self.map.values()
    }
}
