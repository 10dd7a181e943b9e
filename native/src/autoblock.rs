//! Bindings for `omnitide-autoblock`: bytes and JSON in, JSON out (signed
//! decisions: columns in, one packed buffer out). The engine lives behind a
//! mutex so the async batch form can run on the libuv pool.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_autoblock::{columns, decision, pyre, Engine};
use omnitide_common::Error;

use crate::error::guard;
use crate::task;

fn lock(e: &Mutex<Engine>) -> omnitide_common::Result<std::sync::MutexGuard<'_, Engine>> {
    e.lock().map_err(|_| Error::internal("autoblock engine: poisoned by an earlier panic"))
}

fn to_json<T: serde::Serialize>(v: &T) -> omnitide_common::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("autoblock: {e}")))
}

#[napi]
pub struct AutoblockEngine {
    inner: Arc<Mutex<Engine>>,
}

#[napi]
impl AutoblockEngine {
    /// Builds an engine from its JSON configuration (jails, scenarios, allowlist).
    #[napi(constructor)]
    pub fn new(config: String) -> Result<Self> {
        guard(|| Ok(Self { inner: Arc::new(Mutex::new(Engine::from_json(&config)?)) }))
    }

    /// Log lines through the jails; JSON array of detections.
    #[napi]
    pub fn process_lines(&self, bytes: Uint8Array, jail: Option<String>, now: f64) -> Result<String> {
        guard(|| to_json(&lock(&self.inner)?.process_lines(&bytes, jail.as_deref(), now)?))
    }

    /// `processLines` on the libuv pool (large batches).
    #[napi]
    pub fn process_lines_async<'e>(
        &self,
        env: &'e Env,
        bytes: Uint8Array,
        jail: Option<String>,
        now: f64,
    ) -> Result<PromiseRaw<'e, String>> {
        let engine = self.inner.clone();
        let bytes = bytes.to_vec();
        task::spawn(env, move || to_json(&lock(&engine)?.process_lines(&bytes, jail.as_deref(), now)?), std::convert::identity)
    }

    /// Packed structured events through the scenarios; JSON array of detections.
    #[napi]
    pub fn process_packed(&self, buf: Uint8Array) -> Result<String> {
        guard(|| to_json(&lock(&self.inner)?.process_packed(&buf)))
    }

    /// `processPacked` with its detections as columns (see
    /// `omnitide_autoblock::columns`): the Autoblocker's batch path, which
    /// needs a few fields of each detection and no object per detection.
    #[napi]
    pub fn process_packed_columns(&self, buf: Uint8Array) -> Result<DetectionColumns> {
        let c = guard(|| Ok(columns::detection_columns(&lock(&self.inner)?.process_packed(&buf))))?;
        Ok(DetectionColumns { text: c.text, lens: c.lens.into(), nums: c.nums.into() })
    }

    /// Per-line filter results of one jail (no jail state changes); JSON.
    #[napi]
    pub fn match_lines(&self, bytes: Uint8Array, jail: String, now: f64) -> Result<String> {
        guard(|| to_json(&lock(&self.inner)?.match_lines(&bytes, &jail, now)?))
    }

    #[napi]
    pub fn explain(&self, value: String, now: f64) -> Result<String> {
        guard(|| to_json(&lock(&self.inner)?.explain(&value, now)))
    }

    #[napi]
    pub fn stats(&self) -> Result<String> {
        guard(|| to_json(&lock(&self.inner)?.stats))
    }

    #[napi]
    pub fn unban(&self, value: String) -> Result<bool> {
        guard(|| Ok(lock(&self.inner)?.unban(&value)))
    }

    #[napi]
    pub fn gc(&self, now: f64) -> Result<()> {
        guard(|| {
            lock(&self.inner)?.gc(now);
            Ok(())
        })
    }

    /// Adds an allowlist entry (address, CIDR or `user:name`).
    #[napi]
    pub fn allow(&self, entry: String) -> Result<()> {
        guard(|| lock(&self.inner)?.allowlist_mut().add("entry", &entry))
    }

    /// Is the scope value covered by the allowlist?
    #[napi]
    pub fn is_allowlisted(&self, value: String) -> Result<bool> {
        guard(|| Ok(lock(&self.inner)?.allowlist().covers(&value)))
    }

    /// `isAllowlisted` of a batch in one call: byte `i` is 1 when `values[i]` is covered.
    #[napi]
    pub fn allowlisted_many(&self, values: Vec<String>) -> Result<Uint8Array> {
        guard(|| {
            let engine = lock(&self.inner)?;
            let allow = engine.allowlist();
            Ok(Uint8Array::new(values.iter().map(|v| u8::from(allow.covers(v))).collect()))
        })
    }

    #[napi]
    pub fn jail_names(&self) -> Result<Vec<String>> {
        guard(|| Ok(lock(&self.inner)?.jail_names()))
    }

    /// Filter patterns that could not be mapped (jails built with allowPartial).
    #[napi]
    pub fn problems(&self) -> Result<Vec<String>> {
        guard(|| Ok(lock(&self.inner)?.problems()))
    }
}

/// Detections as columns (`omnitide_autoblock::columns::DetectionColumns`).
#[napi(object)]
pub struct DetectionColumns {
    pub text: String,
    pub lens: Uint32Array,
    pub nums: Float64Array,
}

/// Decisions signed by [`autoblock_issue_decisions`]: `ids` (64 hex digits
/// each) and the envelopes' canonical JSON laid end to end (`ends[i]` is
/// where envelope `i` ends), in the order of the bodies.
#[napi(object)]
pub struct IssuedDecisions {
    pub ids: String,
    pub envelopes: Uint8Array,
    pub ends: Uint32Array,
}

/// Signs and audits decisions given as columns (see
/// `omnitide_autoblock::decision::from_columns`) with `authority`'s key
/// `signer`. With `logged_in` (the decision ledger's origin, where the caller
/// appends the envelopes before releasing them) the audit log gets one entry
/// for the batch instead of one per envelope.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn autoblock_issue_decisions<'e>(
    env: &'e Env,
    authority: &crate::attest::AttestAuthority,
    signer: String,
    domain: String,
    text: Utf16String,
    lens: Uint32Array,
    nums: Float64Array,
    logged_in: Option<String>,
) -> Result<PromiseRaw<'e, IssuedDecisions>> {
    let a = guard(|| authority.a())?;
    let (lens, nums) = (lens.to_vec(), nums.to_vec());
    task::spawn(
        env,
        move || {
            let bodies = decision::from_columns(&text, &lens, &nums)?;
            let issued = decision::issue(&a, &signer, &domain, &bodies, logged_in.as_deref())?;
            let mut ids = String::with_capacity(64 * issued.len());
            let mut envelopes = Vec::with_capacity(issued.iter().map(|i| i.envelope.len()).sum());
            let mut ends = Vec::with_capacity(issued.len());
            for i in &issued {
                ids.push_str(&i.id);
                envelopes.extend_from_slice(&i.envelope);
                ends.push(
                    u32::try_from(envelopes.len()).map_err(|_| Error::limit("decisions", "more than 4 GiB of envelopes in one batch"))?,
                );
            }
            Ok((ids, envelopes, ends))
        },
        |(ids, envelopes, ends)| IssuedDecisions { ids, envelopes: Uint8Array::new(envelopes), ends: ends.into() },
    )
}

/// A Python-regex pattern in linear-time `regex` syntax (one per conditional variant).
#[napi]
pub fn autoblock_translate_regex(pattern: String) -> Result<Vec<String>> {
    guard(|| pyre::translate(&pattern).map_err(|e| Error::invalid_arg("pattern", format!("at character {}: {}", e.offset, e.problem))))
}
