//! Trust roots (TUF-style): trusted keys, a mandatory `root` role and further
//! named roles, each a set of key IDs with a threshold. Rotation to a new root
//! set is valid only when signed by a threshold of the old root role AND a
//! threshold of the new one, with `version` incremented by exactly one.

use std::collections::{BTreeMap, BTreeSet};

use omnitide_common::{Error, Result};
use serde_json::{json, Value};

use crate::json::{b64, obj, unb64};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    pub version: u64,
    pub keys: BTreeMap<String, [u8; 32]>,
    pub roles: BTreeMap<String, Role>,
    pub expires_at: Option<i64>,
}

pub const ROOT_ROLE: &str = "root";

impl TrustRoot {
    /// Root keys only: every key is in the `root` role with `threshold`.
    pub fn from_keys(keys: &[[u8; 32]], threshold: u32) -> Result<Self> {
        let map: BTreeMap<_, _> = keys.iter().map(|k| (crate::keyid(k), *k)).collect();
        let role = Role { keyids: map.keys().cloned().collect(), threshold };
        let t = Self { version: 1, keys: map, roles: [(ROOT_ROLE.to_string(), role)].into(), expires_at: None };
        t.validate()?;
        Ok(t)
    }

    pub fn validate(&self) -> Result<()> {
        for (id, k) in &self.keys {
            if *id != crate::keyid(k) {
                return Err(Error::invalid_arg(&format!("roots.keys.{id}"), "key ID is not the BLAKE3 hash of the key"));
            }
        }
        if !self.roles.contains_key(ROOT_ROLE) {
            return Err(Error::invalid_arg("roots.roles", "must define the 'root' role"));
        }
        for (name, r) in &self.roles {
            let distinct: BTreeSet<_> = r.keyids.iter().collect();
            if distinct.len() != r.keyids.len() {
                return Err(Error::invalid_arg(&format!("roots.roles.{name}.keyids"), "contains duplicates"));
            }
            if let Some(k) = r.keyids.iter().find(|k| !self.keys.contains_key(*k)) {
                return Err(Error::invalid_arg(&format!("roots.roles.{name}.keyids"), format!("unknown key {k}")));
            }
            if r.threshold == 0 || r.threshold as usize > r.keyids.len() {
                return Err(Error::invalid_arg(
                    &format!("roots.roles.{name}.threshold"),
                    format!("must be in 1..={}, got {}", r.keyids.len(), r.threshold),
                ));
            }
        }
        Ok(())
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "version": self.version,
            "keys": self.keys.iter().map(|(id, k)| (id.clone(), Value::from(b64(k)))).collect::<serde_json::Map<_, _>>(),
            "roles": self.roles.iter().map(|(n, r)| (n.clone(), json!({"keyids": r.keyids, "threshold": r.threshold}))).collect::<serde_json::Map<_, _>>(),
        });
        if let Some(e) = self.expires_at {
            v["expiresAt"] = e.into();
        }
        v
    }

    pub fn to_json(&self) -> Vec<u8> {
        crate::json::canonical(&self.to_value()).expect("trust root serializes")
    }

    pub fn from_value(v: &Value) -> Result<Self> {
        let bad = |p: &str, m: String| Error::invalid_arg(p, m);
        let m = obj(v, "roots").map_err(|e| bad("roots", e))?;
        let version = m.get("version").and_then(Value::as_u64).ok_or_else(|| bad("roots.version", "expected an integer".into()))?;
        let mut keys = BTreeMap::new();
        for (id, k) in obj(m.get("keys").unwrap_or(&Value::Null), "roots.keys").map_err(|e| bad("roots.keys", e))? {
            let pk = k
                .as_str()
                .and_then(unb64)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| bad(&format!("roots.keys.{id}"), "expected a 32-byte Base64 public key".into()))?;
            keys.insert(id.clone(), pk);
        }
        let mut roles = BTreeMap::new();
        for (name, r) in obj(m.get("roles").unwrap_or(&Value::Null), "roots.roles").map_err(|e| bad("roots.roles", e))? {
            let p = format!("roots.roles.{name}");
            let keyids = r
                .get("keyids")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(&format!("{p}.keyids"), "expected an array of strings".into()))?;
            let threshold = r
                .get("threshold")
                .and_then(Value::as_u64)
                .filter(|t| *t <= u32::MAX as u64)
                .ok_or_else(|| bad(&format!("{p}.threshold"), "expected a positive integer".into()))? as u32;
            roles.insert(name.clone(), Role { keyids, threshold });
        }
        let expires_at = match m.get("expiresAt") {
            None | Some(Value::Null) => None,
            Some(e) => Some(e.as_i64().ok_or_else(|| bad("roots.expiresAt", "expected an integer".into()))?),
        };
        let t = Self { version, keys, roles, expires_at };
        t.validate()?;
        Ok(t)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let v = crate::json::parse_strict(bytes).map_err(|e| Error::invalid_arg("roots", e))?;
        Self::from_value(&v)
    }

    /// Distinct keys of `role` that produced a valid signature over `pae`.
    pub(crate) fn count_signed(&self, role: &str, env: &crate::dsse::Envelope) -> usize {
        let Some(r) = self.roles.get(role) else {
            return 0;
        };
        let pae = env.pae();
        let mut signed = BTreeSet::new();
        let ok = |pk: &[u8; 32], sig: &[u8]| {
            omnitide_crypto::ed25519::verify(sig, &pae, pk, omnitide_crypto::ed25519::Mode::Strict).unwrap_or(false)
        };
        for s in &env.signatures {
            if r.keyids.contains(&s.keyid) {
                if let Some(pk) = self.keys.get(&s.keyid) {
                    if ok(pk, &s.sig) {
                        signed.insert(s.keyid.clone());
                    }
                }
            } else if s.sig.len() == 64 {
                // The keyid is a hint naming none of this role's keys: try them all.
                if let Some(k) = r.keyids.iter().find(|k| !signed.contains(*k) && self.keys.get(*k).is_some_and(|pk| ok(pk, &s.sig))) {
                    signed.insert(k.clone());
                }
            }
        }
        signed.len()
    }
}
