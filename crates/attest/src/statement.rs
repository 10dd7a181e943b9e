//! in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
//! plus this authority's signed metadata.
//!
//! Metadata (`issuedAt`, `expiresAt` in Unix milliseconds, a random `nonce`)
//! lives in a top-level `"omnitide"` object of the Statement: it must be signed,
//! the DSSE envelope is not, and in-toto consumers ignore unknown fields. The
//! predicate is left exactly as the caller gave it. Statements from other tools
//! without that object verify too (no expiry; issue time unknown, which counts
//! as "after" any key revocation).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::json::{obj, opt_i64, str_field};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const DELEGATION_TYPE: &str = "https://omnitide.dev/attest/delegation/v1";
pub const REVOCATION_TYPE: &str = "https://omnitide.dev/attest/revocation/v1";
pub const ROOT_TYPE: &str = "https://omnitide.dev/attest/root/v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    /// algorithm -> lowercase hex digest
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub subject: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: Value,
    pub meta: Meta,
}

fn valid_digest(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Statement {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("_type".into(), STATEMENT_TYPE.into());
        m.insert("subject".into(), self.subject.iter().map(|s| json!({"name": s.name, "digest": s.digest})).collect::<Vec<_>>().into());
        m.insert("predicateType".into(), self.predicate_type.clone().into());
        m.insert("predicate".into(), self.predicate.clone());
        let mut meta = Map::new();
        if let Some(t) = self.meta.issued_at {
            meta.insert("issuedAt".into(), t.into());
        }
        if let Some(t) = self.meta.expires_at {
            meta.insert("expiresAt".into(), t.into());
        }
        if let Some(n) = &self.meta.nonce {
            meta.insert("nonce".into(), n.clone().into());
        }
        if !meta.is_empty() {
            m.insert("omnitide".into(), meta.into());
        }
        Value::Object(m)
    }

    /// Canonical (RFC 8785) bytes: the DSSE payload this authority signs.
    pub fn to_payload(&self) -> omnitide_common::Result<Vec<u8>> {
        payload(&self.subject, &self.predicate_type, &self.predicate, &self.meta)
    }

    pub fn parse(payload: &[u8], max_subjects: usize) -> Result<Self, String> {
        let v = crate::json::parse_strict(payload).map_err(|e| format!("statement: invalid JSON: {e}"))?;
        let m = obj(&v, "statement")?;
        let t = str_field(m, "_type", "statement")?;
        if t != STATEMENT_TYPE {
            return Err(format!("statement._type: expected '{STATEMENT_TYPE}', got '{t}'"));
        }
        let subjects = m.get("subject").and_then(Value::as_array).ok_or("statement.subject: expected an array")?;
        if subjects.is_empty() {
            return Err("statement.subject: empty".into());
        }
        if subjects.len() > max_subjects {
            return Err(format!("statement.subject: {} entries exceeds the limit of {max_subjects}", subjects.len()));
        }
        let mut subject = Vec::with_capacity(subjects.len());
        for (i, s) in subjects.iter().enumerate() {
            let path = format!("statement.subject[{i}]");
            let sm = obj(s, &path)?;
            let name = match sm.get("name") {
                None => String::new(),
                Some(Value::String(n)) => n.clone(),
                Some(_) => return Err(format!("{path}.name: expected a string")),
            };
            let dm = sm.get("digest").and_then(Value::as_object).ok_or_else(|| format!("{path}.digest: expected an object"))?;
            if dm.is_empty() {
                return Err(format!("{path}.digest: empty"));
            }
            let mut digest = BTreeMap::new();
            for (alg, d) in dm {
                let d = d.as_str().filter(|d| valid_digest(d)).ok_or_else(|| format!("{path}.digest.{alg}: expected lowercase hex"))?;
                digest.insert(alg.clone(), d.to_owned());
            }
            subject.push(Subject { name, digest });
        }
        let predicate_type = str_field(m, "predicateType", "statement")?.to_owned();
        if predicate_type.is_empty() {
            return Err("statement.predicateType: empty".into());
        }
        let predicate = m.get("predicate").cloned().unwrap_or(Value::Null);
        let meta = match m.get("omnitide") {
            None => Meta::default(),
            Some(mv) => {
                let mm = obj(mv, "statement.omnitide")?;
                let nonce = match mm.get("nonce") {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err("statement.omnitide.nonce: expected a string".into()),
                };
                Meta {
                    issued_at: opt_i64(mm, "issuedAt", "statement.omnitide")?,
                    expires_at: opt_i64(mm, "expiresAt", "statement.omnitide")?,
                    nonce,
                }
            }
        };
        Ok(Self { subject, predicate_type, predicate, meta })
    }
}

/// The canonical (RFC 8785) bytes of a statement, written field by field in
/// JCS key order (`_type` < `omnitide` < `predicate` < `predicateType` <
/// `subject`) from borrowed parts: byte-identical to canonicalising
/// [`Statement::to_value`], without building and copying a `Value` tree for
/// every statement of a batch (that copy, not the signature, was most of the
/// per-statement cost). Strings, numbers and the predicate go through the
/// JCS writers of `crate::json`, so escaping and number forms are the JCS ones.
pub fn payload(subject: &[Subject], predicate_type: &str, predicate: &Value, meta: &Meta) -> omnitide_common::Result<Vec<u8>> {
    payload_with(subject, predicate_type, meta, 256, |out| crate::json::canonical_value_into(out, predicate))
}

/// [`payload`] with the predicate written by `predicate` (RFC 8785 text the
/// caller lays out itself, e.g. a fixed-shape record written field by field,
/// `predicate_len` bytes or so).
pub fn payload_with(
    subject: &[Subject],
    predicate_type: &str,
    meta: &Meta,
    predicate_len: usize,
    predicate: impl FnOnce(&mut Vec<u8>) -> omnitide_common::Result<()>,
) -> omnitide_common::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(160 + predicate_len + predicate_type.len() + 96 * subject.len());
    out.extend_from_slice(b"{\"_type\":");
    crate::json::string_into(&mut out, STATEMENT_TYPE);
    if meta.issued_at.is_some() || meta.expires_at.is_some() || meta.nonce.is_some() {
        out.extend_from_slice(b",\"omnitide\":{");
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, k: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            out.extend_from_slice(k.as_bytes());
        };
        if let Some(t) = meta.expires_at {
            key(&mut out, "\"expiresAt\":");
            crate::json::i64_into(&mut out, t)?;
        }
        if let Some(t) = meta.issued_at {
            key(&mut out, "\"issuedAt\":");
            crate::json::i64_into(&mut out, t)?;
        }
        if let Some(n) = &meta.nonce {
            key(&mut out, "\"nonce\":");
            crate::json::string_into(&mut out, n);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"predicate\":");
    predicate(&mut out)?;
    out.extend_from_slice(b",\"predicateType\":");
    crate::json::string_into(&mut out, predicate_type);
    out.extend_from_slice(b",\"subject\":[");
    for (i, s) in subject.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // the digest map through the serializer: JCS orders its keys by UTF-16 units
        out.extend_from_slice(b"{\"digest\":{");
        let mut digest: Vec<(&String, &String)> = s.digest.iter().collect();
        crate::json::sort_utf16(&mut digest);
        for (j, (alg, hex)) in digest.into_iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            crate::json::string_into(&mut out, alg);
            out.push(b':');
            crate::json::string_into(&mut out, hex);
        }
        out.extend_from_slice(b"},\"name\":");
        crate::json::string_into(&mut out, &s.name);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// (`path` is only formatted for an error: requests are checked by the thousand.)
pub(crate) fn check_digest(path: impl Fn() -> String, d: &BTreeMap<String, String>) -> omnitide_common::Result<()> {
    if d.is_empty() {
        return Err(omnitide_common::Error::invalid_arg(&path(), "needs at least one digest"));
    }
    for (alg, v) in d {
        if alg.is_empty() || !valid_digest(v) {
            return Err(omnitide_common::Error::invalid_arg(&format!("{}.{alg}", path()), "expected a lowercase hex digest"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let s = Statement {
            subject: vec![Subject { name: "pkg/a".into(), digest: [("sha256".to_string(), "ab".repeat(32))].into() }],
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            predicate: json!({"b": 1, "a": [true]}),
            meta: Meta { issued_at: Some(5), expires_at: None, nonce: Some("n".into()) },
        };
        let p = s.to_payload().unwrap();
        assert!(std::str::from_utf8(&p).unwrap().starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","omnitide""#));
        assert_eq!(Statement::parse(&p, 10).unwrap(), s);
        assert_eq!(p, crate::json::canonical(&s.to_value()).unwrap());
        let bad = String::from_utf8(p).unwrap().replace("Statement/v1", "Statement/v0");
        assert!(Statement::parse(bad.as_bytes(), 10).is_err());
        assert!(Statement::parse(
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"XY"}}],"predicateType":"p"}"#,
            10
        )
        .is_err());
    }
}
