//! JSON-facing forms of the API (what the N-API binding and the CLI speak),
//! so that no conversion logic lives in the binding. Field names follow the
//! TypeScript API (`camelCase`). Malformed requests are `INVALID_ARGUMENT`
//! errors naming the field.

use omnitide_common::{Error, Result};
use serde_json::{json, Map, Value};

use crate::authority::{IssueRequest, Issued};
use crate::revocation::Target;
use crate::scope::Scope;
use crate::statement::Subject;
use crate::trust::TrustRoot;
use crate::verify::{Limits, Verification, VerifyOptions};

fn bad(path: &str, what: &str) -> Error {
    Error::invalid_arg(path, what)
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, "expected an object"))
}

fn opt_i64(m: &Map<String, Value>, k: &str, path: &str) -> Result<Option<i64>> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| bad(&format!("{path}.{k}"), "expected an integer")),
    }
}

fn string(m: &Map<String, Value>, k: &str, path: &str) -> Result<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| bad(&format!("{path}.{k}"), "expected a string"))
}

pub fn parse_json(arg: &str, bytes: &[u8]) -> Result<Value> {
    crate::json::parse_strict(bytes).map_err(|e| bad(arg, &format!("invalid JSON: {e}")))
}

/// `{signer, subject: [{name, digest}], predicateType, predicate?, expiresAt?, issuedAt?}`
pub fn issue_request(v: &Value, path: &str) -> Result<IssueRequest> {
    let predicate = v.get("predicate").cloned();
    issue_request_with(v, path, predicate)
}

/// A JSON array of issue requests (`requests[i]` in errors), each predicate
/// moved out of the parsed tree rather than copied.
pub fn issue_requests(json: &[u8]) -> Result<Vec<IssueRequest>> {
    let v = parse_json("requests", json)?;
    let Value::Array(arr) = v else { return Err(bad("requests", "expected an array")) };
    arr.into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            let predicate = r.as_object_mut().and_then(|m| m.remove("predicate"));
            issue_request_with(&r, &format!("requests[{i}]"), predicate)
        })
        .collect()
}

/// Issues one attestation per request JSON (`requests[i]` in errors) and
/// answers [`issued_lines`]. Each request is parsed, checked and signed on the
/// rayon pool and its parsed tree is freed there too: only the audit append
/// stays serial (parsing one JSON array of a large batch on one thread cost as
/// much as signing it on two).
pub fn issue_many_lines(a: &crate::Authority, requests: &[String]) -> Result<String> {
    use rayon::prelude::*;
    let parse = |(i, json): (usize, &String)| -> Result<IssueRequest> {
        let path = format!("requests[{i}]");
        let mut r = parse_json(&path, json.as_bytes())?;
        only_issue_fields(&r, &path)?;
        let predicate = r.as_object_mut().and_then(|m| m.remove("predicate"));
        issue_request_with(&r, &path, predicate)
    };
    let parsed: Vec<Result<IssueRequest>> = if requests.len() >= 64 {
        requests.par_iter().enumerate().map(parse).collect()
    } else {
        requests.iter().enumerate().map(parse).collect()
    };
    // the first bad request by index, as the sequential parse reported it
    let reqs = parsed.into_iter().collect::<Result<Vec<_>>>()?;
    let out = a.issue_many(&reqs);
    if reqs.len() >= 64 {
        reqs.into_par_iter().for_each(drop);
    }
    Ok(issued_lines(&out?))
}

/// The fields a caller may set (those of the JS `IssueRequest`): requests
/// reach `issue_many_lines` as JSON text the JS side did not check field by
/// field, and `issuedAt` (backdating) is not the caller's to choose.
fn only_issue_fields(v: &Value, path: &str) -> Result<()> {
    const REQUEST: [&str; 5] = ["signer", "subject", "predicateType", "predicate", "expiresAt"];
    for k in obj(v, path)?.keys() {
        if !REQUEST.contains(&k.as_str()) {
            return Err(bad(&format!("{path}.{k}"), "unknown field"));
        }
    }
    for (i, s) in v.get("subject").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        if let Some(m) = s.as_object() {
            if let Some(k) = m.keys().find(|k| *k != "name" && *k != "digest") {
                return Err(bad(&format!("{path}.subject[{i}].{k}"), "unknown field"));
            }
        }
    }
    Ok(())
}

fn issue_request_with(v: &Value, path: &str, predicate: Option<Value>) -> Result<IssueRequest> {
    let m = obj(v, path)?;
    let subj = m.get("subject").and_then(Value::as_array).ok_or_else(|| bad(&format!("{path}.subject"), "expected an array"))?;
    let mut subjects = Vec::with_capacity(subj.len());
    for (i, s) in subj.iter().enumerate() {
        let p = format!("{path}.subject[{i}]");
        let sm = obj(s, &p)?;
        let name = match sm.get("name") {
            None => String::new(),
            Some(Value::String(n)) => n.clone(),
            Some(_) => return Err(bad(&format!("{p}.name"), "expected a string")),
        };
        let dm = obj(sm.get("digest").unwrap_or(&Value::Null), &format!("{p}.digest"))?;
        let mut digest = std::collections::BTreeMap::new();
        for (k, d) in dm {
            digest.insert(k.clone(), d.as_str().ok_or_else(|| bad(&format!("{p}.digest.{k}"), "expected a hex string"))?.to_owned());
        }
        subjects.push(Subject { name, digest });
    }
    Ok(IssueRequest {
        signer: string(m, "signer", path)?,
        subjects,
        predicate_type: string(m, "predicateType", path)?,
        predicate: predicate.unwrap_or(json!({})),
        expires_at: opt_i64(m, "expiresAt", path)?,
        issued_at: opt_i64(m, "issuedAt", path)?,
    })
}

pub fn issued(i: &Issued) -> Value {
    json!({
        "id": i.id,
        "envelope": serde_json::from_slice::<Value>(&i.envelope).expect("envelope JSON"),
        "logIndex": i.log_index,
    })
}

/// `{"envelope":…,"id":…,"logIndex":…}` with the envelope's canonical JSON
/// spliced in as it is (the same JSON as [`issued`], without parsing the
/// envelope back into a tree to print it again).
pub fn issued_json(i: &Issued, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"envelope\":");
    out.extend_from_slice(&i.envelope);
    // the id is lowercase hex: no escaping
    out.extend_from_slice(format!(",\"id\":\"{}\",\"logIndex\":{}}}", i.id, i.log_index).as_bytes());
}

/// A JSON array of [`issued_json`] objects.
pub fn issued_array(all: &[Issued]) -> String {
    let mut out = Vec::with_capacity(2 + all.iter().map(|i| i.envelope.len() + i.id.len() + 48).sum::<usize>());
    out.push(b'[');
    for (k, i) in all.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        issued_json(i, &mut out);
    }
    out.push(b']');
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// One line per attestation, `<id> TAB <logIndex> TAB <envelope JSON> LF`:
/// the caller takes each envelope as the string it stores and sends, with no
/// JSON parse (canonical JSON has no raw tab or newline, and the id is hex).
pub fn issued_lines(all: &[Issued]) -> String {
    let mut out = String::with_capacity(all.iter().map(|i| i.envelope.len() + i.id.len() + 24).sum());
    for i in all {
        out.push_str(&i.id);
        out.push('\t');
        out.push_str(&i.log_index.to_string());
        out.push('\t');
        out.push_str(std::str::from_utf8(&i.envelope).expect("canonical JSON is UTF-8"));
        out.push('\n');
    }
    out
}

pub fn scope(v: &Value) -> Result<Scope> {
    if v.is_null() {
        return Ok(Scope::default());
    }
    Scope::from_value(v).map_err(|e| bad("scope", &e))
}

/// `{attestation}` or `{key}`.
pub fn target(v: &Value) -> Result<Target> {
    let m = obj(v, "target")?;
    match (m.get("attestation").and_then(Value::as_str), m.get("key").and_then(Value::as_str)) {
        (Some(a), None) => Ok(Target::Attestation(a.to_owned())),
        (None, Some(k)) => Ok(Target::Key(k.to_owned())),
        _ => Err(bad("target", "exactly one of 'attestation' or 'key' is required")),
    }
}

/// Owned verification options parsed from
/// `{roots, role?, at?, clockSkewMs?, delegations?: [envelope JSON], limits?: {...}}`.
pub struct VerifyConfig {
    pub roots: TrustRoot,
    pub role: Option<String>,
    pub at: Option<i64>,
    pub clock_skew_ms: i64,
    pub delegations: Vec<Vec<u8>>,
    pub limits: Limits,
}

impl VerifyConfig {
    pub fn from_value(v: &Value) -> Result<Self> {
        let m = obj(v, "opts")?;
        let roots = TrustRoot::from_value(m.get("roots").ok_or_else(|| bad("opts.roots", "required"))?)?;
        let role = match m.get("role") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => return Err(bad("opts.role", "expected a string")),
        };
        let mut delegations = Vec::new();
        if let Some(d) = m.get("delegations").filter(|d| !d.is_null()) {
            for (i, e) in d.as_array().ok_or_else(|| bad("opts.delegations", "expected an array"))?.iter().enumerate() {
                delegations.push(match e {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Object(_) => serde_json::to_vec(e).expect("JSON"),
                    _ => return Err(bad(&format!("opts.delegations[{i}]"), "expected an envelope")),
                });
            }
        }
        let mut limits = Limits::default();
        if let Some(l) = m.get("limits").filter(|l| !l.is_null()) {
            let lm = obj(l, "opts.limits")?;
            let set = |k: &str, f: &mut usize| -> Result<()> {
                if let Some(v) = lm.get(k) {
                    *f = v.as_u64().filter(|x| *x > 0).ok_or_else(|| bad(&format!("opts.limits.{k}"), "expected a positive integer"))?
                        as usize;
                }
                Ok(())
            };
            set("maxEnvelopeBytes", &mut limits.max_envelope_bytes)?;
            set("maxSignatures", &mut limits.max_signatures)?;
            set("maxSubjects", &mut limits.max_subjects)?;
            set("maxDelegations", &mut limits.max_delegations)?;
            set("maxChainDepth", &mut limits.max_chain_depth)?;
        }
        Ok(Self {
            roots,
            role,
            at: opt_i64(m, "at", "opts")?,
            clock_skew_ms: opt_i64(m, "clockSkewMs", "opts")?.unwrap_or(0),
            delegations,
            limits,
        })
    }

    /// Runs `f` with borrowed [`VerifyOptions`] (no revocations).
    pub fn with<R>(&self, f: impl FnOnce(&VerifyOptions<'_>) -> R) -> R {
        let d: Vec<&[u8]> = self.delegations.iter().map(Vec::as_slice).collect();
        let o = VerifyOptions {
            roots: &self.roots,
            role: self.role.as_deref(),
            at_ms: self.at.unwrap_or_else(crate::now_ms),
            clock_skew_ms: self.clock_skew_ms,
            delegations: &d,
            revocations: None,
            limits: self.limits,
        };
        f(&o)
    }
}

pub fn verification(v: &Verification) -> Value {
    json!({
        "valid": v.valid,
        "reason": v.reason.map(|r| r.as_str()),
        "detail": v.detail,
        "id": v.id,
        "predicateType": v.predicate_type,
        "chain": v.chain,
        "signers": v.signers,
        "warnings": v.warnings,
    })
}

/// `{target: {attestation}|{key}, reason, effectiveFrom, by, id}` per record.
pub fn revocations(r: &crate::RevocationSet) -> Value {
    Value::Array(
        r.iter()
            .map(|x| {
                let t = match &x.target {
                    crate::Target::Attestation(a) => json!({"attestation": a}),
                    crate::Target::Key(k) => json!({"key": k}),
                };
                json!({"target": t, "reason": x.reason, "effectiveFrom": x.effective_from, "by": x.by, "id": x.id})
            })
            .collect(),
    )
}

pub fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spliced_output_is_the_value_output() {
        let env = br#"{"payload":"e30=","payloadType":"t\u0001","signatures":[{"keyid":"k","sig":"AA=="}]}"#.to_vec();
        let all = vec![
            Issued { id: "ab".into(), envelope: env.clone(), log_index: 7 },
            Issued { id: "cd".into(), envelope: env.clone(), log_index: u64::from(u32::MAX) + 1 },
        ];
        let via_value = serde_json::to_string(&Value::Array(all.iter().map(issued).collect())).unwrap();
        assert_eq!(issued_array(&all), via_value);
        assert_eq!(issued_array(&[]), "[]");
        let lines = issued_lines(&all);
        let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(
            rows,
            vec![vec!["ab", "7", std::str::from_utf8(&env).unwrap()], vec!["cd", "4294967296", std::str::from_utf8(&env).unwrap()]]
        );
    }

    #[test]
    fn parallel_lines_issue_every_request_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::Authority::open(dir.path(), crate::OpenOptions { insecure_plaintext: true, ..Default::default() }).unwrap();
        a.create_key("k").unwrap();
        let req = |i: usize| {
            format!(
                r#"{{"signer":"k","subject":[{{"name":"s/{i}","digest":{{"sha256":"ab"}}}}],"predicateType":"p","predicate":{{"i":{i},"z":"\u00e9"}}}}"#
            )
        };
        let reqs: Vec<String> = (0..70).map(req).collect();
        let lines = issue_many_lines(&a, &reqs).unwrap();
        let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 70);
        let first: u64 = rows[0][1].parse().unwrap();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r[1].parse::<u64>().unwrap(), first + i as u64);
            let env = crate::Envelope::parse(r[2].as_bytes(), crate::Limits::default().envelope_limits()).unwrap();
            assert_eq!(env.id(), r[0]);
            assert_eq!(env.to_json(), r[2].as_bytes());
            let st = crate::Statement::parse(&env.payload, 10).unwrap();
            assert_eq!(st.predicate, json!({"i": i, "z": "é"}));
        }
        // a bad request anywhere: the lowest bad index is named and nothing is issued
        let mut bad = reqs.clone();
        bad[65] = r#"{"signer":7,"subject":[],"predicateType":"p"}"#.into();
        bad[66] = "{".into();
        let e = issue_many_lines(&a, &bad).unwrap_err().to_string();
        assert!(e.contains("requests[65].signer"), "{e}");
        bad[65] = r#"{"signer":"k","subject":[],"predicateType":"p"}"#.into();
        bad[66] = reqs[66].clone();
        let e = issue_many_lines(&a, &bad).unwrap_err().to_string();
        assert!(e.contains("requests[65].subject"), "{e}");
        // fields the JS IssueRequest does not have (a backdated issuedAt) are refused
        bad[65] = reqs[65].replacen(r#""signer""#, r#""issuedAt":1,"signer""#, 1);
        let e = issue_many_lines(&a, &bad).unwrap_err().to_string();
        assert!(e.contains("requests[65].issuedAt: unknown field"), "{e}");
        bad[65] = reqs[65].replacen(r#""name""#, r#""uri":"x","name""#, 1);
        let e = issue_many_lines(&a, &bad).unwrap_err().to_string();
        assert!(e.contains("requests[65].subject[0].uri: unknown field"), "{e}");
        let again = issue_many_lines(&a, &reqs[..1]).unwrap();
        assert_eq!(again.split('\t').nth(1).unwrap().parse::<u64>().unwrap(), first + 70);
        // several pipeline chunks (signing one while the previous is appended): in order, all logged
        let many: Vec<String> = (0..1100).map(req).collect();
        let lines = issue_many_lines(&a, &many).unwrap();
        let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 1100);
        let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r[0]).collect();
        assert_eq!(ids.len(), 1100);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r[1].parse::<u64>().unwrap(), first + 71 + i as u64);
            let env = crate::Envelope::parse(r[2].as_bytes(), crate::Limits::default().envelope_limits()).unwrap();
            assert_eq!(crate::Statement::parse(&env.payload, 10).unwrap().predicate["i"], json!(i));
            assert_eq!(a.audit_bundle(r[0]).unwrap().proof.index, first + 71 + i as u64);
        }
    }

    #[test]
    fn requests_array_moves_predicates_and_names_the_item() {
        let r = issue_requests(br#"[{"signer":"k","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"p","predicate":{"x":[1]}},{"signer":"k","subject":[],"predicateType":"p"}]"#).unwrap();
        assert_eq!(r[0].predicate, json!({"x": [1]}));
        assert_eq!(r[1].predicate, json!({}));
        assert!(issue_requests(br#"{}"#).unwrap_err().to_string().contains("requests"));
        assert!(issue_requests(br#"[{"signer":"k","subject":[]},{}]"#).unwrap_err().to_string().contains("requests[0].predicateType"));
    }
}
