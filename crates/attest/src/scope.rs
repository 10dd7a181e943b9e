//! Delegation statements and their attenuation scope.
//!
//! A delegation is an in-toto Statement (predicateType [`DELEGATION_TYPE`])
//! signed by the delegator, naming the delegate's public key and a scope:
//! `predicateTypes` (allowed predicate types), `subjects` (globs over subject
//! names, `globset` syntax with `*` not crossing `/`, `**` crossing it),
//! `maxDepth` (how many further delegation levels may follow below the
//! delegate; 0 = may issue but not delegate) and `expiresAt` (Unix ms).
//!
//! A child may only narrow its parent. At verification every link is checked
//! against the effective scope above it: explicit predicate types must be a
//! subset, every subject glob must be covered by a parent glob (equal, or the
//! parent glob matches the child pattern's text), `maxDepth` must be below the
//! parent's remaining depth and `expiresAt` not later. An omitted field
//! inherits the parent's limit. Independently of that structural check, an
//! attestation's predicate type and every subject name must satisfy every
//! level of the chain, so the effective authority is always the intersection.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde_json::{json, Map, Value};

use crate::json::{obj, opt_i64, str_field};

pub use crate::statement::DELEGATION_TYPE;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub predicate_types: Option<Vec<String>>,
    pub subjects: Option<Vec<String>>,
    pub max_depth: Option<u32>,
    pub expires_at: Option<i64>,
}

pub(crate) const MAX_SCOPE_ITEMS: usize = 256;

pub(crate) fn build_globs(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g).literal_separator(true).build().map_err(|e| format!("subject glob '{g}': {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| format!("subject globs: {e}"))
}

impl Scope {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(p) = &self.predicate_types {
            m.insert("predicateTypes".into(), json!(p));
        }
        if let Some(s) = &self.subjects {
            m.insert("subjects".into(), json!(s));
        }
        if let Some(d) = self.max_depth {
            m.insert("maxDepth".into(), d.into());
        }
        if let Some(e) = self.expires_at {
            m.insert("expiresAt".into(), e.into());
        }
        Value::Object(m)
    }

    pub fn from_value(v: &Value) -> Result<Self, String> {
        let m = obj(v, "scope")?;
        let list = |k: &str| -> Result<Option<Vec<String>>, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(a)) => {
                    if a.len() > MAX_SCOPE_ITEMS {
                        return Err(format!("scope.{k}: more than {MAX_SCOPE_ITEMS} entries"));
                    }
                    a.iter()
                        .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| format!("scope.{k}: expected strings")))
                        .collect::<Result<Vec<_>, _>>()
                        .map(Some)
                }
                Some(_) => Err(format!("scope.{k}: expected an array")),
            }
        };
        let max_depth = match m.get("maxDepth") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|d| *d <= u32::MAX as u64).ok_or("scope.maxDepth: expected a non-negative integer")? as u32),
        };
        let s = Scope {
            predicate_types: list("predicateTypes")?,
            subjects: list("subjects")?,
            max_depth,
            expires_at: opt_i64(m, "expiresAt", "scope")?,
        };
        if let Some(g) = &s.subjects {
            build_globs(g)?;
        }
        Ok(s)
    }
}

/// A parsed delegation statement (the envelope's signature is checked separately).
#[derive(Debug, Clone)]
pub struct Delegation {
    pub delegator: String,
    pub delegate: String,
    pub delegate_key: [u8; 32],
    pub scope: Scope,
    pub subject_globs: Option<GlobSet>,
    pub issued_at: Option<i64>,
}

pub fn delegation_predicate(delegator: &str, delegate_key: &[u8; 32], scope: &Scope) -> Value {
    json!({
        "delegator": delegator,
        "delegate": {"keyid": crate::keyid(delegate_key), "publicKey": crate::json::b64(delegate_key)},
        "scope": scope.to_value(),
    })
}

impl Delegation {
    pub fn from_statement(st: &crate::statement::Statement) -> Result<Self, String> {
        if st.predicate_type != DELEGATION_TYPE {
            return Err(format!("delegation: predicateType must be '{DELEGATION_TYPE}', got '{}'", st.predicate_type));
        }
        let p = obj(&st.predicate, "delegation.predicate")?;
        let delegator = str_field(p, "delegator", "delegation.predicate")?.to_owned();
        let d = obj(p.get("delegate").unwrap_or(&Value::Null), "delegation.predicate.delegate")?;
        let pk = crate::json::unb64(str_field(d, "publicKey", "delegation.predicate.delegate")?)
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or("delegation.predicate.delegate.publicKey: expected 32 bytes of Base64")?;
        let delegate = crate::keyid(&pk);
        if str_field(d, "keyid", "delegation.predicate.delegate")? != delegate {
            return Err("delegation.predicate.delegate.keyid: does not match the public key".into());
        }
        if delegate == delegator {
            return Err("delegation: a key cannot delegate to itself".into());
        }
        let scope = Scope::from_value(p.get("scope").unwrap_or(&Value::Null))?;
        let subject_globs = match &scope.subjects {
            Some(g) => Some(build_globs(g)?),
            None => None,
        };
        Ok(Self { delegator, delegate, delegate_key: pk, scope, subject_globs, issued_at: st.meta.issued_at })
    }
}

/// Is every glob of `child` covered by some glob of `parent`?
pub(crate) fn globs_covered(parent: &[String], parent_set: &GlobSet, child: &[String]) -> bool {
    child.iter().all(|c| parent.iter().any(|p| p == c) || parent_set.is_match(c))
}
