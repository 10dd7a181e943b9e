//! JSON entry points for the N-API binding: `call(op, args)`; every decision stays here.

use crate::analysis::{self, Outcome};
use crate::ast::Contract;
use crate::diag::Diag;
use crate::eval::{authorize, is_allowed};
use crate::limits::{evaluate_slos, Buckets};
use crate::value::{Entities, Request};
use crate::{fmt, jsgen, lint, parser, typecheck};
use omnitide_common::{code, Error, Result};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Code of a contract that fails to parse or type-check (message = first rendered diagnostic).
pub const CONTRACT_INVALID: &str = "ERR_OMNI_CONTRACT_INVALID";

fn s<'a>(a: &'a Map<String, Value>, k: &str) -> Result<&'a str> {
    a.get(k).and_then(|v| v.as_str()).ok_or_else(|| Error::invalid_arg(k, "must be a string"))
}

pub fn diag_json(d: &Diag, src: &str, file: &str) -> Value {
    let (line, column) = d.line_col(src);
    json!({"line": line, "column": column, "message": d.message, "help": d.help, "suggestion": d.suggestion, "rendered": d.render(src, file)})
}

/// Parses and type-checks; any diagnostic is an error carrying the rendered text.
pub fn load(src: &str, file: &str) -> Result<Contract> {
    let c = parser::parse(src).map_err(|d| Error::new(CONTRACT_INVALID, d.render(src, file)))?;
    let diags = typecheck::check(&c);
    if let Some(d) = diags.first() {
        let more = if diags.len() > 1 { format!("\n({} more diagnostics)", diags.len() - 1) } else { String::new() };
        return Err(Error::new(CONTRACT_INVALID, format!("{}{more}", d.render(src, file))));
    }
    Ok(c)
}

fn outcome_json(o: &Outcome) -> Value {
    match o {
        Outcome::Proved { lemmas, vars, clauses } => {
            json!({"status": "proved", "proof": {"checker": "drat", "lemmas": lemmas, "vars": vars, "clauses": clauses}})
        }
        Outcome::Witness { request, entities } => {
            json!({"status": "refuted", "request": request.to_json(), "entities": entities_json(entities)})
        }
        Outcome::Unknown { reason } => json!({"status": "unknown", "reason": reason}),
    }
}

pub fn entities_json(e: &Entities) -> Value {
    let mut v: Vec<Value> = e
        .map
        .iter()
        .map(|(u, d)| {
            json!({"uid": {"type": u.ty, "id": u.id}, "attrs": Value::Object(d.attrs.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()), "parents": d.parents.iter().map(|p| json!({"type": p.ty, "id": p.id})).collect::<Vec<_>>()})
        })
        .collect();
    v.sort_by_key(|x| x["uid"].to_string());
    Value::Array(v)
}

pub fn call(op: &str, args: &str) -> Result<String> {
    let a: Value = serde_json::from_str(args).map_err(|e| Error::invalid_arg("args", format!("not JSON: {e}")))?;
    let a = a.as_object().ok_or_else(|| Error::invalid_arg("args", "must be an object"))?;
    let file = a.get("file").and_then(|v| v.as_str()).unwrap_or("contract");
    let out = match op {
        "check" => {
            let src = s(a, "source")?;
            match parser::parse(src) {
                Err(d) => json!({"ok": false, "diagnostics": [diag_json(&d, src, file)], "findings": []}),
                Ok(c) => {
                    let diags: Vec<Value> = typecheck::check(&c).iter().map(|d| diag_json(d, src, file)).collect();
                    let max = a.get("maxQueries").and_then(|v| v.as_u64()).unwrap_or(5000) as usize;
                    let rep = lint::lint(&c, max);
                    let mut findings: Vec<Value> = rep.findings.iter().map(finding_json).collect();
                    if let Some(m) = a.get("metrics").and_then(|v| v.as_array()) {
                        let known: Vec<String> = m.iter().filter_map(|x| x.as_str().map(String::from)).collect();
                        findings.extend(lint::unknown_metrics(&c, &known).iter().map(finding_json));
                    }
                    json!({"ok": diags.is_empty(), "diagnostics": diags, "findings": findings, "queries": rep.queries, "truncated": rep.truncated,
                        "summary": {"policies": c.policies.len(), "rateLimits": c.rate_limits.len(), "slos": c.slos.len(), "assertions": c.assertions.len()}})
                }
            }
        }
        "fmt" => {
            let src = s(a, "source")?;
            let c = parser::parse(src).map_err(|d| Error::new(CONTRACT_INVALID, d.render(src, file)))?;
            json!(fmt::contract(&c))
        }
        "eval" => {
            let c = load(s(a, "source")?, file)?;
            let store = Entities::from_json(a.get("entities").unwrap_or(&json!([])))?;
            let reqs = a.get("requests").and_then(|v| v.as_array()).ok_or_else(|| Error::invalid_arg("requests", "must be an array"))?;
            let explain = a.get("explain").and_then(|v| v.as_bool()).unwrap_or(true);
            let mut out = Vec::with_capacity(reqs.len());
            for (i, r) in reqs.iter().enumerate() {
                let req = Request::from_json(r).map_err(|e| Error::new(e.code, format!("requests[{i}]: {}", e.message)))?;
                if explain {
                    let d = authorize(&c.policies, &req, &store);
                    out.push(json!({"decision": if d.allow {"allow"} else {"deny"}, "reasons": d.reasons, "errors": d.errors.iter().map(|(id, m)| json!({"policy": id, "message": m})).collect::<Vec<_>>()}));
                } else {
                    out.push(json!(is_allowed(&c.policies, &req, &store)));
                }
            }
            Value::Array(out)
        }
        "prove" => {
            let src = s(a, "source")?;
            let c = load(src, file)?;
            let mut asserts = c.assertions.clone();
            if let Some(extra) = a.get("assertions").and_then(|v| v.as_str()) {
                let x = parser::parse(extra).map_err(|d| Error::new(CONTRACT_INVALID, d.render(extra, "assertions")))?;
                asserts.extend(x.assertions);
            }
            Value::Array(
                asserts
                    .iter()
                    .map(|x| {
                        let mut o = outcome_json(&analysis::prove(&c.policies, x));
                        o["id"] = json!(x.id);
                        o["assertion"] =
                            json!(format!("{} permit when {{ {} }}", if x.never_permit { "never" } else { "always" }, fmt::expr(&x.cond)));
                        o
                    })
                    .collect(),
            )
        }
        "diff" => {
            let a1 = load(s(a, "before")?, "before")?;
            let b1 = load(s(a, "after")?, "after")?;
            let o = analysis::diff(&a1.policies, &b1.policies);
            let mut v = outcome_json(&o);
            v["status"] = json!(match o {
                Outcome::Proved { .. } => "equivalent",
                Outcome::Witness { .. } => "different",
                Outcome::Unknown { .. } => "unknown",
            });
            if let Outcome::Witness { request, entities } = &o {
                v["before"] = json!(if analysis::allowed(&a1.policies, request, entities) { "allow" } else { "deny" });
                v["after"] = json!(if analysis::allowed(&b1.policies, request, entities) { "allow" } else { "deny" });
            }
            v
        }
        "kernelPlan" => {
            let src = s(a, "source")?;
            let c = load(src, file)?;
            let ip = a.get("ipAttr").and_then(|v| v.as_str()).unwrap_or("ip");
            let port = a.get("portAttr").and_then(|v| v.as_str()).unwrap_or("port");
            crate::kernel_plan::plan(&c, src, &crate::kernel_plan::Names { ip, port })
        }
        "compileJs" => json!(jsgen::generate(&load(s(a, "source")?, file)?.policies)),
        "rateLimit" => {
            let c = load(s(a, "source")?, file)?;
            let store = Entities::from_json(a.get("entities").unwrap_or(&json!([])))?;
            let reqs = a
                .get("requests")
                .and_then(|v| v.as_array())
                .ok_or_else(|| Error::invalid_arg("requests", "must be an array of {request, at}"))?;
            let mut b = Buckets::new(a.get("maxKeys").and_then(|v| v.as_u64()).unwrap_or(1_000_000) as usize);
            let mut out = Vec::new();
            for (i, r) in reqs.iter().enumerate() {
                let req = Request::from_json(r.get("request").unwrap_or(&Value::Null))
                    .map_err(|e| Error::new(e.code, format!("requests[{i}]: {}", e.message)))?;
                let at = r
                    .get("at")
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| Error::invalid_arg(&format!("requests[{i}].at"), "must be a non-negative integer (ms)"))?;
                let hits = b.take(&c.rate_limits, &req, &store, at).map_err(|e| Error::invalid_arg(&format!("requests[{i}]"), e))?;
                out.push(json!(hits
                    .iter()
                    .map(|h| json!({"limit": h.id, "key": h.key, "action": format!("{:?}", h.action).to_lowercase()}))
                    .collect::<Vec<_>>()));
            }
            Value::Array(out)
        }
        "slo" => {
            let c = load(s(a, "source")?, file)?;
            let now =
                a.get("now").and_then(|v| v.as_u64()).ok_or_else(|| Error::invalid_arg("now", "must be a non-negative integer (ms)"))?;
            let m = a
                .get("samples")
                .and_then(|v| v.as_object())
                .ok_or_else(|| Error::invalid_arg("samples", "must be an object of metric -> [[t, value], ...]"))?;
            let mut samples: HashMap<String, Vec<(u64, f64)>> = HashMap::new();
            for (k, v) in m {
                let arr = v.as_array().ok_or_else(|| Error::invalid_arg(&format!("samples.{k}"), "must be an array"))?;
                let mut out = Vec::with_capacity(arr.len());
                for (i, p) in arr.iter().enumerate() {
                    let t = p.get(0).and_then(|x| x.as_u64());
                    let x = p.get(1).and_then(|x| x.as_f64()).filter(|x| x.is_finite());
                    match (t, x) {
                        (Some(t), Some(x)) => out.push((t, x)),
                        _ => return Err(Error::invalid_arg(&format!("samples.{k}[{i}]"), "must be [timestampMs, finite number]")),
                    }
                }
                samples.insert(k.clone(), out);
            }
            let r = evaluate_slos(&c.slos, &samples, now).map_err(|e| Error::invalid_arg("samples", e))?;
            Value::Array(r.iter().map(|x| json!({"id": x.id, "value": x.value, "breached": x.breached, "action": x.action.map(|a| format!("{a:?}").to_lowercase()), "reason": x.reason})).collect())
        }
        _ => return Err(Error::new(code::INVALID_ARGUMENT, format!("op: unknown contracts operation '{op}'"))),
    };
    Ok(out.to_string())
}

fn finding_json(f: &lint::Finding) -> Value {
    let mut v = json!({"kind": f.kind, "ids": f.ids, "message": f.message, "evidence": f.evidence});
    if let Some((r, e)) = &f.witness {
        v["request"] = r.to_json();
        v["entities"] = entities_json(e);
    }
    v
}

/// Compiles a contract's access policies to a WebAssembly module (see `wasm` for the ABI).
/// A construct the target cannot compile is `ERR_OMNI_UNSUPPORTED` with its position.
pub fn compile_wasm(src: &str, file: &str) -> Result<Vec<u8>> {
    let c = load(src, file)?;
    crate::wasm::compile(&c.policies).map_err(|d| Error::new(code::UNSUPPORTED, d.render(src, file)))
}

/// Encodes an entity store (JSON array) for the module's `load`, laid out for address `base`.
pub fn wasm_encode_store(entities: &str, base: u32) -> Result<Vec<u8>> {
    let ej: Value = serde_json::from_str(entities).map_err(|e| Error::invalid_arg("entities", format!("not JSON: {e}")))?;
    Ok(crate::wasm::abi::encode_store(&Entities::from_json(&ej)?, base))
}

/// Encodes requests (JSON array) for the module's `authorize`, laid out for address `base`.
pub fn wasm_encode_requests(requests: &str, base: u32) -> Result<Vec<u8>> {
    Ok(crate::wasm::abi::encode_requests(&Engine::parse_requests(requests)?, base))
}

/// A loaded policy set + entity store for repeated batch decisions (the native fast path).
pub struct Engine {
    pub contract: Contract,
    pub store: Entities,
    pub prepared: Vec<Request>,
}

impl Engine {
    pub fn new(src: &str, entities: &str) -> Result<Engine> {
        let contract = load(src, "contract")?;
        let ej: Value = serde_json::from_str(entities).map_err(|e| Error::invalid_arg("entities", format!("not JSON: {e}")))?;
        Ok(Engine { contract, store: Entities::from_json(&ej)?, prepared: Vec::new() })
    }
    pub fn parse_requests(json_text: &str) -> Result<Vec<Request>> {
        let v: Value = serde_json::from_str(json_text).map_err(|e| Error::invalid_arg("requests", format!("not JSON: {e}")))?;
        let arr = v.as_array().ok_or_else(|| Error::invalid_arg("requests", "must be an array"))?;
        arr.iter()
            .enumerate()
            .map(|(i, r)| Request::from_json(r).map_err(|e| Error::new(e.code, format!("requests[{i}]: {}", e.message))))
            .collect()
    }
    pub fn decide_into(&self, reqs: &[Request], out: &mut [u8]) -> Result<()> {
        if out.len() < reqs.len() {
            return Err(Error::invalid_arg("out", format!("needs {} bytes, has {}", reqs.len(), out.len())));
        }
        for (o, r) in out.iter_mut().zip(reqs) {
            *o = is_allowed(&self.contract.policies, r, &self.store) as u8;
        }
        Ok(())
    }
}
