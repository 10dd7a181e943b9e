//! Bindings for `omnitide-attest`. Structured values cross the boundary as
//! JSON strings (the crate's `api` module parses and renders them); work that
//! touches the disk or costs more than ~50 µs runs on the libuv pool (`task::spawn`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_attest::authority::{Durability, LogTail};
use omnitide_attest::{api, Authority, OpenOptions, Reason};
use omnitide_common::Error;

use crate::error::guard;

/// Runs a closure producing a JSON string on the libuv pool.
fn task<'e>(env: &'e Env, f: impl FnOnce() -> omnitide_common::Result<String> + Send + 'static) -> Result<PromiseRaw<'e, String>> {
    crate::task::spawn(env, f, std::convert::identity)
}

fn json_str(v: &serde_json::Value) -> String {
    serde_json::to_string(v).expect("JSON")
}

fn durability(d: Option<String>) -> omnitide_common::Result<Durability> {
    match d.as_deref() {
        None | Some("batch") => Ok(Durability::Batch),
        Some("always") => Ok(Durability::Always),
        Some("none") => Ok(Durability::None),
        Some(o) => Err(Error::invalid_arg("opts.durability", format!("must be 'always', 'batch' or 'none', got '{o}'"))),
    }
}

fn verify_json(envelopes: &[Vec<u8>], opts: &str, a: Option<&Authority>, tail: Option<&Mutex<LogTail>>) -> omnitide_common::Result<String> {
    let cfg = api::VerifyConfig::from_value(&api::parse_json("opts", opts.as_bytes())?)?;
    let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    let res = cfg.with(|o| match (a, tail) {
        (Some(a), _) => a.verify_many(&refs, o),
        (None, Some(t)) => {
            let revs = {
                let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
                t.refresh_if_stale()?;
                t.snapshot()
            };
            let o2 = omnitide_attest::VerifyOptions { revocations: Some(&*revs), ..*o };
            omnitide_attest::verify_many(&refs, &o2)
        }
        (None, None) => omnitide_attest::verify_many(&refs, o),
    })?;
    Ok(json_str(&serde_json::Value::Array(res.iter().map(api::verification).collect())))
}

#[napi]
pub struct AttestAuthority {
    inner: Mutex<Option<Arc<Authority>>>,
}

impl AttestAuthority {
    /// The open authority (other bindings issue through it, e.g. autoblock decisions).
    pub(crate) fn a(&self) -> omnitide_common::Result<Arc<Authority>> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.clone().ok_or_else(|| Error::new(omnitide_common::code::CLOSED, "authority: closed"))
    }
}

#[napi]
impl AttestAuthority {
    /// Releases the handle: the ledger lock is dropped once in-flight tasks finish.
    #[napi]
    pub fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Opens (creating) an authority directory. Argon2id runs here when a passphrase is given.
    #[napi]
    pub fn open<'e>(env: &'e Env, dir: String, opts: AttestOpenOptions) -> Result<PromiseRaw<'e, AttestAuthority>> {
        let (durability, log_hash) = guard(|| {
            let h = opts.log_hash.as_deref().map(|h| omnitide_ledger::HashAlg::parse("opts.logHash", h)).transpose()?;
            Ok((durability(opts.durability)?, h))
        })?;
        let opts = OpenOptions {
            passphrase: opts.passphrase,
            insecure_plaintext: opts.insecure_plaintext.unwrap_or(false),
            log_origin: opts.log_origin,
            log_hash,
            durability,
            ..Default::default()
        };
        crate::task::spawn(
            env,
            move || Authority::open(Path::new(&dir), opts),
            |a| AttestAuthority { inner: Mutex::new(Some(Arc::new(a))) },
        )
    }

    /// `{name, keyid, publicKey (base64), hasSecret}` as JSON.
    #[napi]
    pub fn create_key(&self, name: String) -> Result<String> {
        guard(|| Ok(key_json(&self.a()?.create_key(&name)?)))
    }

    #[napi]
    pub fn import_public_key(&self, name: String, public_key: &[u8]) -> Result<String> {
        guard(|| Ok(key_json(&self.a()?.import_public_key(&name, public_key)?)))
    }

    #[napi]
    pub fn key_info(&self, name: String) -> Result<String> {
        guard(|| Ok(key_json(&self.a()?.key_info(&name)?)))
    }

    #[napi]
    pub fn list_keys(&self) -> Result<String> {
        guard(|| Ok(format!("[{}]", self.a()?.list_keys()?.iter().map(key_json).collect::<Vec<_>>().join(","))))
    }

    #[napi]
    pub fn export_public_key(&self, name: String) -> Result<Uint8Array> {
        Ok(Uint8Array::new(guard(|| self.a()?.export_public_key(&name))?.to_vec()))
    }

    #[napi]
    pub fn log_public_key(&self) -> Result<Option<Uint8Array>> {
        Ok(guard(|| self.a())?.log().public_key().map(|k| Uint8Array::new(k.to_vec())))
    }

    /// `requests`: JSON array of issue requests; resolves to a JSON array of issued attestations.
    #[napi]
    pub fn issue_many<'e>(&self, env: &'e Env, requests: String) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || Ok(api::issued_array(&a.issue_many(&api::issue_requests(requests.as_bytes())?)?)))
    }

    /// `requests`: one JSON issue request per item (parsed in parallel);
    /// answers one line per attestation, `id TAB logIndex TAB envelope-JSON`:
    /// callers that store or send the envelope take it as is.
    #[napi]
    pub fn issue_many_lines<'e>(&self, env: &'e Env, requests: Vec<String>) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || api::issue_many_lines(&a, &requests))
    }

    #[napi]
    pub fn cosign<'e>(&self, env: &'e Env, envelope: String, signer: String) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || Ok(json_str(&api::issued(&a.cosign(envelope.as_bytes(), &signer)?))))
    }

    #[napi]
    pub fn delegate<'e>(&self, env: &'e Env, from: String, to: String, scope: String) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || {
            let s = api::scope(&api::parse_json("scope", scope.as_bytes())?)?;
            Ok(json_str(&api::issued(&a.delegate(&from, &to, &s)?)))
        })
    }

    /// `target`: JSON `{attestation}` or `{key}`; `cosigners` sign too (a root threshold).
    #[napi]
    pub fn revoke<'e>(
        &self,
        env: &'e Env,
        target: String,
        reason: String,
        effective_from: Option<f64>,
        by: String,
        cosigners: Option<Vec<String>>,
    ) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || {
            let t = api::target(&api::parse_json("target", target.as_bytes())?)?;
            let co: Vec<&str> = cosigners.iter().flatten().map(String::as_str).collect();
            Ok(json_str(&api::issued(&a.revoke_cosigned(t, &reason, effective_from.map(|f| f as i64), &by, &co)?)))
        })
    }

    /// Verifies an audit bundle anchored in this authority (its log key unless
    /// `logPublicKey` is given, its revocations applied); JSON result.
    #[napi]
    pub fn verify_bundle(&self, bundle: String, log_public_key: Option<&[u8]>, opts: Option<String>) -> Result<String> {
        guard(|| {
            let a = self.a()?;
            let lk = log_public_key.map(|k| omnitide_common::fixed::<32>("logPublicKey", k).copied()).transpose()?;
            let cfg = opts.map(|o| api::VerifyConfig::from_value(&api::parse_json("opts", o.as_bytes())?)).transpose()?;
            let v = match &cfg {
                Some(c) => c.with(|o| a.verify_bundle(bundle.as_bytes(), lk.as_ref(), Some(o)))?,
                None => a.verify_bundle(bundle.as_bytes(), lk.as_ref(), None)?,
            };
            Ok(json_str(&api::verification(&v)))
        })
    }

    /// The audit ledger's checkpoint origin.
    #[napi]
    pub fn log_origin(&self) -> Result<String> {
        guard(|| Ok(self.a()?.log().origin()))
    }

    /// `root`: trust root JSON; `signers`: key names.
    #[napi]
    pub fn sign_root<'e>(&self, env: &'e Env, root: String, signers: Vec<String>) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || {
            let r = omnitide_attest::TrustRoot::parse(root.as_bytes())?;
            let s: Vec<&str> = signers.iter().map(String::as_str).collect();
            Ok(json_str(&api::issued(&a.sign_root(&r, &s)?)))
        })
    }

    /// Verifies with this authority's revocations; JSON array of results.
    #[napi]
    pub fn verify_many(&self, envelopes: Vec<Uint8Array>, opts: String) -> Result<String> {
        let e: Vec<Vec<u8>> = envelopes.iter().map(|x| x.to_vec()).collect();
        guard(|| verify_json(&e, &opts, Some(&*self.a()?), None))
    }

    #[napi]
    pub fn verify_many_async<'e>(&self, env: &'e Env, envelopes: Vec<Uint8Array>, opts: String) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        let e: Vec<Vec<u8>> = envelopes.iter().map(|x| x.to_vec()).collect();
        task(env, move || verify_json(&e, &opts, Some(&a), None))
    }

    /// The current revocations as JSON `[{target: {attestation}|{key}, reason, effectiveFrom, by, id}]`.
    #[napi]
    pub fn revocations(&self) -> Result<String> {
        guard(|| Ok(json_str(&api::revocations(&*self.a()?.revocations()?))))
    }

    #[napi]
    pub fn audit_bundle<'e>(&self, env: &'e Env, id: String) -> Result<PromiseRaw<'e, String>> {
        let a = guard(|| self.a())?;
        task(env, move || Ok(String::from_utf8(a.audit_bundle(&id)?.to_json()).expect("UTF-8 JSON")))
    }
}

fn key_json(k: &omnitide_attest::keystore::KeyInfo) -> String {
    json_str(&serde_json::json!({
        "name": k.name, "keyid": k.keyid, "publicKey": omnitide_attest::json::b64(&k.public_key), "hasSecret": k.has_secret,
    }))
}

#[napi(object)]
pub struct AttestOpenOptions {
    pub passphrase: Option<String>,
    pub insecure_plaintext: Option<bool>,
    pub durability: Option<String>,
    pub log_origin: Option<String>,
    pub log_hash: Option<String>,
}

/// A read-only follower of an authority directory's ledger (another process's):
/// verifies with the revocations it has seen, re-reading at most every `pollMs`.
#[napi]
pub struct AttestWatcher {
    tail: Arc<Mutex<LogTail>>,
}

#[napi]
impl AttestWatcher {
    #[napi(constructor)]
    pub fn new(dir: String, poll_ms: Option<u32>) -> Result<Self> {
        let t = guard(|| {
            let mut t = LogTail::open_dir(Path::new(&dir), Duration::from_millis(poll_ms.unwrap_or(100) as u64))?;
            t.refresh()?;
            Ok(t)
        })?;
        Ok(Self { tail: Arc::new(Mutex::new(t)) })
    }

    #[napi]
    pub fn verify_many(&self, envelopes: Vec<Uint8Array>, opts: String) -> Result<String> {
        let e: Vec<Vec<u8>> = envelopes.iter().map(|x| x.to_vec()).collect();
        guard(|| verify_json(&e, &opts, None, Some(&self.tail)))
    }

    #[napi]
    pub fn revocations(&self) -> Result<String> {
        guard(|| {
            let mut t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            t.refresh()?;
            Ok(json_str(&api::revocations(t.revocations())))
        })
    }
}

/// Offline verification without revocations; JSON array of results.
#[napi]
pub fn attest_verify_many(envelopes: Vec<Uint8Array>, opts: String) -> Result<String> {
    let e: Vec<Vec<u8>> = envelopes.iter().map(|x| x.to_vec()).collect();
    guard(|| verify_json(&e, &opts, None, None))
}

#[napi]
pub fn attest_verify_many_async<'e>(env: &'e Env, envelopes: Vec<Uint8Array>, opts: String) -> Result<PromiseRaw<'e, String>> {
    let e: Vec<Vec<u8>> = envelopes.iter().map(|x| x.to_vec()).collect();
    task(env, move || verify_json(&e, &opts, None, None))
}

/// Verifies an audit bundle offline. `opts` (JSON, optional) also verifies the envelope.
#[napi]
pub fn attest_verify_bundle(bundle: String, log_public_key: Option<&[u8]>, opts: Option<String>) -> Result<String> {
    guard(|| {
        let lk = log_public_key.map(|k| omnitide_common::fixed::<32>("logPublicKey", k).copied()).transpose()?;
        let cfg = opts.map(|o| api::VerifyConfig::from_value(&api::parse_json("opts", o.as_bytes())?)).transpose()?;
        let v = match &cfg {
            Some(c) => c.with(|o| omnitide_attest::authority::verify_bundle(bundle.as_bytes(), lk.as_ref(), Some(o)))?,
            None => omnitide_attest::authority::verify_bundle(bundle.as_bytes(), lk.as_ref(), None)?,
        };
        Ok(json_str(&api::verification(&v)))
    })
}

/// Encrypts (or re-keys) the key store of a closed authority directory.
#[napi]
pub fn attest_reencrypt<'e>(env: &'e Env, dir: String, passphrase: Option<String>, new_passphrase: String) -> Result<PromiseRaw<'e, ()>> {
    crate::task::spawn(env, move || Authority::reencrypt(Path::new(&dir), passphrase.as_deref(), &new_passphrase), std::convert::identity)
}

/// Checks a root rotation; JSON `{valid, reason, detail, root?}`.
#[napi]
pub fn attest_verify_rotation(old_root: String, new_root_envelope: String) -> Result<String> {
    guard(|| {
        let old = omnitide_attest::TrustRoot::parse(old_root.as_bytes())?;
        let v = match omnitide_attest::verify_rotation(&old, new_root_envelope.as_bytes(), &Default::default()) {
            Ok(r) => serde_json::json!({"valid": true, "reason": null, "detail": "", "root": r.to_value()}),
            Err((r, d)) => serde_json::json!({"valid": false, "reason": Reason::as_str(r), "detail": d, "root": null}),
        };
        Ok(json_str(&v))
    })
}

/// Key ID of a public key (hex BLAKE3).
#[napi]
pub fn attest_key_id(public_key: &[u8]) -> Result<String> {
    guard(|| Ok(omnitide_attest::keyid(omnitide_common::fixed::<32>("publicKey", public_key)?)))
}
