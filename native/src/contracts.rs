//! Bindings for `omnitide-contracts`: JSON operations (sync and on the pool) and a loaded
//! engine for batch decisions (one call per batch; decisions written into a Uint8Array).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_contracts::api;
use omnitide_contracts::value::Request;

use crate::error::guard;
use crate::task;

/// Runs one contracts operation (`op`, JSON `args`) synchronously.
#[napi]
pub fn contracts_call(op: String, args: String) -> Result<String> {
    guard(|| api::call(&op, &args))
}

/// The same operation on the libuv pool (prove, diff, check with analysis, large batches).
#[napi]
pub fn contracts_call_async<'e>(env: &'e Env, op: String, args: String) -> Result<PromiseRaw<'e, String>> {
    task::spawn(env, move || api::call(&op, &args), std::convert::identity)
}

/// Compiles a contract's access policies to WebAssembly module bytes.
#[napi]
pub fn contracts_compile_wasm(source: String, file: String) -> Result<Uint8Array> {
    Ok(Uint8Array::new(guard(|| api::compile_wasm(&source, &file))?))
}

/// Encodes an entity store (JSON) for a compiled module's `load`, laid out at address `base`.
#[napi]
pub fn contracts_wasm_encode_store(entities: String, base: u32) -> Result<Uint8Array> {
    Ok(Uint8Array::new(guard(|| api::wasm_encode_store(&entities, base))?))
}

/// Encodes requests (JSON array) for a compiled module's `authorize`, laid out at `base`.
#[napi]
pub fn contracts_wasm_encode_requests(requests: String, base: u32) -> Result<Uint8Array> {
    Ok(Uint8Array::new(guard(|| api::wasm_encode_requests(&requests, base))?))
}

#[napi]
pub struct ContractsEngine {
    inner: api::Engine,
}

#[napi]
impl ContractsEngine {
    /// Loads (parses + type-checks) a contract and an entity store (JSON array) once.
    #[napi(constructor)]
    pub fn new(source: String, entities: String) -> Result<Self> {
        guard(|| Ok(Self { inner: api::Engine::new(&source, &entities)? }))
    }

    /// Decides a JSON array of requests: 1 = allow, 0 = deny, one byte per request.
    #[napi]
    pub fn decide_batch(&self, requests: String) -> Result<Uint8Array> {
        let out = guard(|| {
            let reqs = api::Engine::parse_requests(&requests)?;
            let mut out = vec![0u8; reqs.len()];
            self.inner.decide_into(&reqs, &mut out)?;
            Ok(out)
        })?;
        Ok(Uint8Array::new(out))
    }

    /// Parses requests once and keeps them for `decidePrepared` (benchmarks, replays).
    #[napi]
    pub fn prepare(&mut self, requests: String) -> Result<u32> {
        guard(|| {
            let reqs: Vec<Request> = api::Engine::parse_requests(&requests)?;
            self.inner.prepared = reqs;
            Ok(self.inner.prepared.len() as u32)
        })
    }

    /// Decides the prepared requests `rounds` times into `out` (the last round's decisions).
    #[napi]
    pub fn decide_prepared(&self, mut out: Uint8Array, rounds: Option<u32>) -> Result<()> {
        guard(|| {
            // SAFETY: `out` is a JS-owned buffer alive for this synchronous call.
            let o: &mut [u8] = unsafe { out.as_mut() };
            for _ in 0..rounds.unwrap_or(1).max(1) {
                self.inner.decide_into(&self.inner.prepared, o)?;
            }
            Ok(())
        })
    }
}
