//! Bindings for `omnitide-crypto` (BLAKE3 and Ed25519).

use std::path::PathBuf;

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

#[napi]
pub fn blake3_hash_file<'e>(
    env: &'e Env,
    path: String,
    length: Option<u32>,
    key: Option<&[u8]>,
    context: Option<String>,
    parallel: Option<bool>,
) -> Result<PromiseRaw<'e, Uint8Array>> {
    let length = guard(|| length_arg("opts.length", length, b3::OUT_LEN))?;
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

#[napi]
pub fn ed25519_sign<'e>(env: &'e Env, message: &[u8], secret_key: &[u8]) -> Result<Uint8ArraySlice<'e>> {
    let sig = guard(|| ed::sign(message, secret_key))?;
    Uint8ArraySlice::copy_from(env, sig)
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
        let sig = guard_ok(|| self.inner.sign(message))?;
        Uint8ArraySlice::copy_from(env, sig)
    }

    /// `sign` into a caller-provided 64-byte buffer.
    #[napi]
    pub fn sign_into(&self, message: &[u8], mut out: Uint8ArraySlice) -> Result<()> {
        // SAFETY: as in `blake3_hash_into`.
        let out = unsafe { out.as_mut() };
        guard(|| {
            omnitide_common::fixed::<{ ed::SIGNATURE_LEN }>("out", out)?;
            out.copy_from_slice(&self.inner.sign(message));
            Ok(())
        })
    }
}

#[napi]
pub fn ed25519_verify(signature: &[u8], message: &[u8], public_key: &[u8], mode_name: Option<String>) -> Result<bool> {
    guard(|| ed::verify(signature, message, public_key, mode(mode_name)?))
}

/// A batch packed by the TypeScript layer: `signatures` is 64·n bytes,
/// `public_keys` 32·n bytes, messages back to back with end offsets.
struct PackedBatch {
    signatures: Vec<u8>,
    public_keys: Vec<u8>,
    messages: Vec<u8>,
    message_ends: Vec<u32>,
}

fn verify_packed(b: &PackedBatch, mode: ed::Mode, parallel: bool) -> omnitide_common::Result<Vec<bool>> {
    let n = b.message_ends.len();
    if b.signatures.len() != n * ed::SIGNATURE_LEN || b.public_keys.len() != n * ed::PUBLIC_KEY_LEN {
        return Err(omnitide_common::Error::invalid_arg("items", "packed batch lengths disagree"));
    }
    let mut items = Vec::with_capacity(n);
    let mut start = 0usize;
    for i in 0..n {
        let end = b.message_ends[i] as usize;
        if end < start || end > b.messages.len() {
            return Err(omnitide_common::Error::invalid_arg("items", format!("message {i} out of range")));
        }
        items.push(ed::Item {
            signature: &b.signatures[i * 64..i * 64 + 64],
            message: &b.messages[start..end],
            public_key: &b.public_keys[i * 32..i * 32 + 32],
        });
        start = end;
    }
    ed::verify_batch(&items, mode, parallel)
}

#[napi]
pub fn ed25519_verify_batch(
    signatures: &[u8],
    public_keys: &[u8],
    messages: &[u8],
    message_ends: &[u32],
    mode_name: Option<String>,
    parallel: Option<bool>,
) -> Result<Vec<bool>> {
    guard(|| {
        // Copies are cheap next to ~20 µs per signature and keep one code path
        // for the sync and async forms.
        let b = PackedBatch {
            signatures: signatures.to_vec(),
            public_keys: public_keys.to_vec(),
            messages: messages.to_vec(),
            message_ends: message_ends.to_vec(),
        };
        verify_packed(&b, mode(mode_name)?, parallel.unwrap_or(true))
    })
}

#[napi]
pub fn ed25519_verify_batch_async<'e>(
    env: &'e Env,
    signatures: &[u8],
    public_keys: &[u8],
    messages: &[u8],
    message_ends: &[u32],
    mode_name: Option<String>,
) -> Result<PromiseRaw<'e, Vec<bool>>> {
    let mode = guard(|| mode(mode_name))?;
    let batch = PackedBatch {
        signatures: signatures.to_vec(),
        public_keys: public_keys.to_vec(),
        messages: messages.to_vec(),
        message_ends: message_ends.to_vec(),
    };
    task::spawn(env, move || verify_packed(&batch, mode, true), std::convert::identity)
}
