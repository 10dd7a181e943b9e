//! Bindings for `omnitide-crypto` (BLAKE3 and Ed25519).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_crypto::{blake3 as b3, ed25519 as ed};

use crate::error::{guard, guard_ok, length_arg};
use crate::task;

fn mode(m: Option<String>) -> omnitide_common::Result<ed::Mode> {
    m.map(|m| ed::Mode::parse("opts.mode", &m)).transpose().map(|m| m.unwrap_or_default())
}

// ---------------------------------------------------------------- BLAKE3

#[napi]
pub fn blake3_hash<'e>(env: &'e Env, data: &[u8], length: Option<u32>, key: Option<&[u8]>) -> Result<Uint8ArraySlice<'e>> {
    let out = guard(|| b3::hash(data, key, length_arg("opts.length", length, b3::OUT_LEN)?))?;
    Uint8ArraySlice::copy_from(env, out)
}

/// Writes the default 32-byte hash of `data` into `out` (no allocation: the
/// hot path for small inputs).
#[napi]
pub fn blake3_hash_into(data: &[u8], mut out: Uint8ArraySlice, key: Option<&[u8]>) -> Result<()> {
    // SAFETY: `out` is a JS-owned buffer alive for this synchronous call, and
    // nothing else reads or writes it while we do.
    let out = unsafe { out.as_mut() };
    guard(|| b3::hash_into(data, key, out))
}

/// Hashes items packed back to back (`ends[i]` is the end offset of item i)
/// into `out`, 32 bytes per item.
#[napi]
pub fn blake3_hash_many(data: &[u8], ends: &[u32], mut out: Uint8ArraySlice) -> Result<()> {
    // SAFETY: as in `blake3_hash_into`.
    let out = unsafe { out.as_mut() };
    guard(|| b3::hash_many_packed(data, ends, out))
}

#[napi]
pub fn blake3_derive_key<'e>(env: &'e Env, context: String, material: &[u8], length: Option<u32>) -> Result<Uint8ArraySlice<'e>> {
    let out = guard(|| b3::derive_key(&context, material, length_arg("length", length, b3::OUT_LEN)?))?;
    Uint8ArraySlice::copy_from(env, out)
}

#[napi]
pub struct Blake3Hasher {
    inner: b3::Hasher,
}

#[napi]
impl Blake3Hasher {
    #[napi(constructor)]
    pub fn new(key: Option<&[u8]>, context: Option<String>) -> Result<Self> {
        guard(|| {
            let inner = match (key, context) {
                (Some(_), Some(_)) => return Err(omnitide_common::Error::invalid_arg("opts", "key and context are mutually exclusive")),
                (Some(k), None) => b3::Hasher::new_keyed(k)?,
                (None, Some(c)) => b3::Hasher::new_derive_key(&c),
                (None, None) => b3::Hasher::new(),
            };
            Ok(Self { inner })
        })
    }

    #[napi]
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        guard_ok(|| {
            self.inner.update(data);
        })
    }

    #[napi]
    pub fn digest<'e>(&self, env: &'e Env, length: Option<u32>) -> Result<Uint8ArraySlice<'e>> {
        let out = guard(|| self.inner.finalize_vec(length_arg("length", length, b3::OUT_LEN)?))?;
        Uint8ArraySlice::copy_from(env, out)
    }

    #[napi]
    pub fn reset(&mut self) -> Result<()> {
        guard_ok(|| {
            self.inner.reset();
        })
    }
}

/// Hashes on the libuv pool, spreading large inputs over all cores. The caller
/// must not mutate `data` until the promise settles.
#[napi]
pub fn blake3_hash_async<'e>(
    env: &'e Env,
    data: Uint8Array,
    length: Option<u32>,
    key: Option<&[u8]>,
) -> Result<PromiseRaw<'e, Uint8Array>> {
    let length = guard(|| length_arg("opts.length", length, b3::OUT_LEN))?;
    let key = key.map(<[u8]>::to_vec);
    task::spawn(env, move || b3::hash_parallel(&data, key.as_deref(), length), Uint8Array::new)
}

/// A flag that stops a running `blake3HashFile` (set from an AbortSignal, or
/// at process exit so that no read holds the exit-time thread-pool join).
#[napi]
pub struct Blake3Cancel {
    flag: Arc<AtomicBool>,
}

#[napi]
impl Blake3Cancel {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)] // a JS constructor
    pub fn new() -> Self {
        Self { flag: Arc::new(AtomicBool::new(false)) }
    }

    #[napi]
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

/// Hashes a file off the event loop. Without `maxBytes` only regular files are
/// hashed; with it FIFOs and devices are streamed (see the crate).
#[napi]
#[allow(clippy::too_many_arguments)] // the JS options object, flattened
pub fn blake3_hash_file<'e>(
    env: &'e Env,
    path: String,
    length: Option<u32>,
    key: Option<&[u8]>,
    context: Option<String>,
    parallel: Option<bool>,
    max_bytes: Option<f64>,
    cancel: Option<&Blake3Cancel>,
) -> Result<PromiseRaw<'e, Uint8Array>> {
    let (length, max_bytes) = guard(|| {
        let max = max_bytes
            .map(|m| {
                if m.is_finite() && m >= 0.0 && m.fract() == 0.0 {
                    Ok(m as u64)
                } else {
                    Err(omnitide_common::Error::invalid_arg("opts.maxBytes", format!("must be a non-negative integer, got {m}")))
                }
            })
            .transpose()?;
        Ok((length_arg("opts.length", length, b3::OUT_LEN)?, max))
    })?;
    let cancel = cancel.map(|c| c.flag.clone());
    let path = PathBuf::from(path);
    let key = key.map(<[u8]>::to_vec);
    let parallel = parallel.unwrap_or(true);
    task::spawn(
        env,
        move || {
            b3::hash_file(
                &path,
                &b3::FileOptions {
                    key: key.as_deref(),
                    derive_context: context.as_deref(),
                    length: Some(length),
                    parallel: Some(parallel),
                    max_bytes,
                    cancel: cancel.as_deref(),
                },
            )
        },
        Uint8Array::new,
    )
}

// ---------------------------------------------------------------- Ed25519

#[napi(object)]
pub struct KeyPair {
    pub secret_key: Uint8Array,
    pub public_key: Uint8Array,
}

#[napi]
pub fn ed25519_generate_key_pair() -> Result<KeyPair> {
    let (sk, pk) = guard_ok(ed::generate_keypair)?;
    Ok(KeyPair { secret_key: Uint8Array::new(sk.to_vec()), public_key: Uint8Array::new(pk.to_vec()) })
}

#[napi]
pub fn ed25519_public_key_from_secret<'e>(env: &'e Env, secret_key: &[u8]) -> Result<Uint8ArraySlice<'e>> {
    let pk = guard(|| ed::public_key_from_secret(secret_key))?;
    Uint8ArraySlice::copy_from(env, pk)
}

/// Writes the signature into `out` (64 bytes): allocating the result across
/// N-API costs more than the copy the TypeScript layer makes from a scratch buffer.
#[napi]
pub fn ed25519_sign_into(message: &[u8], secret_key: &[u8], mut out: Uint8ArraySlice) -> Result<()> {
    // SAFETY: as in `blake3_hash_into`.
    let out = unsafe { out.as_mut() };
    guard(|| {
        let sig = ed::sign(message, secret_key)?;
        omnitide_common::fixed::<{ ed::SIGNATURE_LEN }>("out", out)?;
        out.copy_from_slice(&sig);
        Ok(())
    })
}

#[napi]
pub fn ed25519_clear_key_cache() -> Result<()> {
    guard_ok(ed::clear_key_cache)
}

/// A secret key expanded once, for signing many messages.
#[napi]
pub struct Ed25519Signer {
    inner: ed::Signer,
}

#[napi]
impl Ed25519Signer {
    #[napi(constructor)]
    pub fn new(secret_key: &[u8]) -> Result<Self> {
        guard(|| Ok(Self { inner: ed::Signer::new(secret_key)? }))
    }

    #[napi(getter)]
    pub fn public_key<'e>(&self, env: &'e Env) -> Result<Uint8ArraySlice<'e>> {
        Uint8ArraySlice::copy_from(env, self.inner.public_key())
    }

    #[napi]
    pub fn sign<'e>(&self, env: &'e Env, message: &[u8]) -> Result<Uint8ArraySlice<'e>> {
        let sig = guard(|| self.inner.sign(message))?;
        Uint8ArraySlice::copy_from(env, sig)
    }

    /// `sign` into a caller-provided 64-byte buffer.
    #[napi]
    pub fn sign_into(&self, message: &[u8], mut out: Uint8ArraySlice) -> Result<()> {
        // SAFETY: as in `blake3_hash_into`.
        let out = unsafe { out.as_mut() };
        guard(|| {
            omnitide_common::fixed::<{ ed::SIGNATURE_LEN }>("out", out)?;
            out.copy_from_slice(&self.inner.sign(message)?);
            Ok(())
        })
    }
}

#[napi]
pub fn ed25519_verify(signature: &[u8], message: &[u8], public_key: &[u8], mode_name: Option<String>) -> Result<bool> {
    guard(|| ed::verify(signature, message, public_key, mode(mode_name)?))
}

/// Owned copy of a packed batch (see [`ed::Packed`]) for the async form.
struct PackedBatch {
    signatures: Vec<u8>,
    public_keys: Vec<u8>,
    messages: Vec<u8>,
    message_ends: Vec<u32>,
}

impl PackedBatch {
    fn packed(&self) -> ed::Packed<'_> {
        ed::Packed {
            signatures: &self.signatures,
            public_keys: &self.public_keys,
            messages: &self.messages,
            message_ends: &self.message_ends,
        }
    }
}

/// Writes `verify(items[i])` as 1 or 0 into `out[i]`: one typed array crosses
/// back instead of an array of booleans built element by element on the JS
/// thread (which cost about as much as packing the batch).
#[napi]
pub fn ed25519_verify_batch(
    signatures: &[u8],
    public_keys: &[u8],
    messages: &[u8],
    message_ends: &[u32],
    mut out: Uint8ArraySlice,
    mode_name: Option<String>,
    parallel: Option<bool>,
) -> Result<()> {
    // SAFETY: as in `blake3_hash_into`.
    let out = unsafe { out.as_mut() };
    guard(|| {
        if out.len() != message_ends.len() {
            return Err(omnitide_common::Error::invalid_arg("out", format!("expected {} bytes, got {}", message_ends.len(), out.len())));
        }
        let packed = ed::Packed { signatures, public_keys, messages, message_ends };
        let answers = ed::verify_batch(&packed.items()?, mode(mode_name)?, parallel.unwrap_or(true))?;
        for (o, ok) in out.iter_mut().zip(answers) {
            *o = u8::from(ok);
        }
        Ok(())
    })
}

/// `ed25519VerifyBatch` on the libuv pool; resolves with one byte (1 or 0) per item.
#[napi]
pub fn ed25519_verify_batch_async<'e>(
    env: &'e Env,
    signatures: &[u8],
    public_keys: &[u8],
    messages: &[u8],
    message_ends: &[u32],
    mode_name: Option<String>,
) -> Result<PromiseRaw<'e, Uint8Array>> {
    let mode = guard(|| mode(mode_name))?;
    let batch = PackedBatch {
        signatures: signatures.to_vec(),
        public_keys: public_keys.to_vec(),
        messages: messages.to_vec(),
        message_ends: message_ends.to_vec(),
    };
    task::spawn(
        env,
        move || {
            ed::verify_batch(&batch.packed().items()?, mode, true).map(|answers| answers.into_iter().map(u8::from).collect::<Vec<u8>>())
        },
        Uint8Array::new,
    )
}
