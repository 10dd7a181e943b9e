//! Ed25519 keys, signing and verification.
//!
//! Signing uses aws-lc-rs (RFC 8032 deterministic signatures; see `Signer` for
//! why not dalek, which verifies and generates keys here). There is no
//! signing entry point that accepts a separate public key: the public key is
//! always derived from the secret seed, which closes the "double public key"
//! oracle that leaks secrets in several JS libraries.
//!
//! Verification has two modes:
//! - `Strict` (default): RFC 8032 §5.1.7 with the cofactored equation
//!   `[8][S]B = [8]R + [8][k]A`, canonical `S < L`, canonical encodings of `A`
//!   and `R` (`y < p`), and small-order `A` or `R` rejected.
//! - `Zip215`: the consensus rules of ZIP-215 via `ed25519-zebra` (cofactored,
//!   non-canonical point encodings and small-order points accepted).
//!
//! Why our own strict verifier rather than `ed25519_dalek::verify_strict`:
//! dalek's single verification is cofactorless while its batch verification is
//! a randomized cofactorless equation, so for signatures with torsion
//! components the two can disagree (a crafted signature passes a batch with
//! probability up to 1/8). Our contract is that `verify_batch` answers exactly
//! what `verify` answers, item by item. Using the cofactored equation for both
//! (which RFC 8032 itself specifies) makes that hold by construction: the batch
//! equation is the random linear combination of the single equations, with the
//! torsion cleared by the factor 8.

use std::sync::Mutex;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::SigningKey;
use omnitide_common::{fixed, Error, Result};
use rand_core::{OsRng, RngCore};
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

pub const SECRET_KEY_LEN: usize = 32;
pub const PUBLIC_KEY_LEN: usize = 32;
pub const SIGNATURE_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Strict,
    Zip215,
}

impl Mode {
    pub fn parse(arg: &str, s: &str) -> Result<Self> {
        match s {
            "strict" => Ok(Mode::Strict),
            "zip215" => Ok(Mode::Zip215),
            other => Err(Error::invalid_arg(arg, format!("expected 'strict' or 'zip215', got '{other}'"))),
        }
    }
}

/// A new random key pair from the OS CSPRNG: `(secret seed, public key)`.
pub fn generate_keypair() -> ([u8; SECRET_KEY_LEN], [u8; PUBLIC_KEY_LEN]) {
    let sk = SigningKey::generate(&mut OsRng);
    (sk.to_bytes(), sk.verifying_key().to_bytes())
}

pub fn public_key_from_secret(secret: &[u8]) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let seed = fixed::<SECRET_KEY_LEN>("secretKey", secret)?;
    Ok(SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// A key pair built once from the seed (its public key derived once), for
/// callers that sign many messages with one key.
///
/// Why aws-lc-rs rather than ed25519-dalek for signing: its fixed-base
/// multiplication and point compression are s2n-bignum's formally verified
/// x86-64 assembly, and `Ed25519KeyPair::sign` measured 1.82-2.00x faster than
/// `ed25519_dalek::hazmat::raw_sign` with a kept expanded key, in the same
/// process on the same messages (through the addon, old and new side by side:
/// 2.0x on 64-byte messages, 1.9x on 420, 1.6x on 2000, where SHA-512 weighs
/// more). Signing was ~a third of the CPU of an autoblock signed decision. Both are RFC 8032 deterministic signatures, so
/// the bytes are identical (tested against dalek's `SigningKey::sign`).
/// Verification stays on dalek: our cofactored strict and batch verifiers are
/// built on curve25519-dalek and are faster there.
pub struct Signer {
    key_pair: Ed25519KeyPair,
    public: [u8; PUBLIC_KEY_LEN],
}

impl Signer {
    pub fn new(secret: &[u8]) -> Result<Self> {
        let seed = fixed::<SECRET_KEY_LEN>("secretKey", secret)?;
        let key_pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| Error::invalid_arg("secretKey", format!("not an Ed25519 seed ({e})")))?;
        let public = key_pair.public_key().as_ref().try_into().map_err(|_| Error::internal("Ed25519 public key is not 32 bytes"))?;
        Ok(Self { key_pair, public })
    }

    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.public
    }

    /// Fails only when AWS-LC cannot allocate its signing context (its
    /// `sign` would panic there; this reports an error instead).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
        let sig = self.key_pair.try_sign(message).map_err(|_| Error::internal("Ed25519 signing failed in AWS-LC"))?;
        sig.as_ref().try_into().map_err(|_| Error::internal("Ed25519 signature is not 64 bytes"))
    }
}

/// Expanding a seed costs a SHA-512 and a base-point multiplication, as much
/// as the signature itself. Services sign with a handful of keys, so the last
/// few key pairs are kept. Entries are looked up by a keyed BLAKE3 of the
/// seed (the key is random per process) and zeroized on eviction (AWS-LC's
/// `OPENSSL_free` cleanses the key's memory when the pair is dropped).
/// `clear_key_cache` empties it.
struct KeyCache {
    id_key: [u8; 32],
    entries: Vec<([u8; 32], Signer)>,
}

const KEY_CACHE_SLOTS: usize = 32;
static KEY_CACHE: Mutex<Option<KeyCache>> = Mutex::new(None);

fn with_cached_key<R>(seed: &[u8; SECRET_KEY_LEN], f: impl FnOnce(&Signer) -> Result<R>) -> Result<R> {
    let mut guard = KEY_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_with(|| {
        let mut id_key = [0u8; 32];
        OsRng.fill_bytes(&mut id_key);
        KeyCache { id_key, entries: Vec::with_capacity(KEY_CACHE_SLOTS) }
    });
    let id = *blake3::keyed_hash(&cache.id_key, seed).as_bytes();
    if let Some(pos) = cache.entries.iter().position(|(k, _)| *k == id) {
        // Move to front so the least recently used entry is evicted first.
        if pos != 0 {
            let e = cache.entries.remove(pos);
            cache.entries.insert(0, e);
        }
        return f(&cache.entries[0].1);
    }
    let key = Signer::new(seed)?;
    let out = f(&key);
    if cache.entries.len() == KEY_CACHE_SLOTS {
        cache.entries.pop();
    }
    cache.entries.insert(0, (id, key));
    out
}

pub fn clear_key_cache() {
    let mut guard = KEY_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = guard.as_mut() {
        c.entries.clear();
        c.id_key.zeroize();
    }
    *guard = None;
}

/// RFC 8032 signature of `message` with the 32-byte secret seed.
pub fn sign(message: &[u8], secret: &[u8]) -> Result<[u8; SIGNATURE_LEN]> {
    let seed = fixed::<SECRET_KEY_LEN>("secretKey", secret)?;
    with_cached_key(seed, |k| k.sign(message))
}

/// `y >= p` on the 255-bit y coordinate (sign bit masked): a non-canonical encoding.
fn is_noncanonical_y(bytes: &[u8; 32]) -> bool {
    bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed
}

/// Decodes a point for strict mode: canonical encoding, not of small order.
/// (A non-canonical sign bit is only possible with x = 0, whose two points,
/// (0, 1) and (0, -1), are of small order and so rejected as well.)
fn decode_strict(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if is_noncanonical_y(bytes) {
        return None;
    }
    let p = CompressedEdwardsY(*bytes).decompress()?;
    (!p.is_small_order()).then_some(p)
}

/// The parts of one signature check that the single and batch verifiers share.
struct Prepared {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn prepare_strict(signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> Option<Prepared> {
    let r_bytes: &[u8; 32] = signature[..32].try_into().ok()?;
    let s_bytes: [u8; 32] = signature[32..].try_into().ok()?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let a = decode_strict(public_key)?;
    let r = decode_strict(r_bytes)?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(public_key);
    h.update(message);
    let k = Scalar::from_hash(h);
    Some(Prepared { a, r, s, k })
}

fn verify_prepared(p: &Prepared) -> bool {
    // [s]B - [k]A - R, times the cofactor, must be the identity.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&p.k, &(-p.a), &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

fn verify_zip215(signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool {
    let Ok(vk) = ed25519_zebra::VerificationKey::try_from(*public_key) else {
        return false;
    };
    vk.verify(&ed25519_zebra::Signature::from(*signature), message).is_ok()
}

fn verify_fixed(signature: &[u8; 64], message: &[u8], public_key: &[u8; 32], mode: Mode) -> bool {
    match mode {
        Mode::Strict => prepare_strict(signature, message, public_key).is_some_and(|p| verify_prepared(&p)),
        Mode::Zip215 => verify_zip215(signature, message, public_key),
    }
}

/// Verifies one signature. A wrong signature answers `Ok(false)`; only
/// malformed arguments (wrong lengths) are errors.
pub fn verify(signature: &[u8], message: &[u8], public_key: &[u8], mode: Mode) -> Result<bool> {
    let sig = fixed::<SIGNATURE_LEN>("signature", signature)?;
    let pk = fixed::<PUBLIC_KEY_LEN>("publicKey", public_key)?;
    Ok(verify_fixed(sig, message, pk, mode))
}

/// One item of a batch, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub signature: &'a [u8],
    pub message: &'a [u8],
    pub public_key: &'a [u8],
}

/// A verification batch packed for one FFI call (the bindings receive it this
/// way from JS): `signatures` is 64·n bytes, `public_keys` 32·n bytes, and the
/// messages lie back to back in `messages`, item `i` ending at `message_ends[i]`.
#[derive(Clone, Copy, Debug)]
pub struct Packed<'a> {
    pub signatures: &'a [u8],
    pub public_keys: &'a [u8],
    pub messages: &'a [u8],
    pub message_ends: &'a [u32],
}

impl<'a> Packed<'a> {
    /// The items of the batch, every length and offset checked first (errors
    /// name the argument: `signatures`, `publicKeys` or `ends`).
    pub fn items(&self) -> Result<Vec<Item<'a>>> {
        let n = self.message_ends.len();
        if self.signatures.len() != n * SIGNATURE_LEN {
            return Err(Error::invalid_arg(
                "signatures",
                format!("expected {} bytes (64 per item), got {}", n * SIGNATURE_LEN, self.signatures.len()),
            ));
        }
        if self.public_keys.len() != n * PUBLIC_KEY_LEN {
            return Err(Error::invalid_arg(
                "publicKeys",
                format!("expected {} bytes (32 per item), got {}", n * PUBLIC_KEY_LEN, self.public_keys.len()),
            ));
        }
        let mut items = Vec::with_capacity(n);
        let mut start = 0usize;
        for (i, &end) in self.message_ends.iter().enumerate() {
            let end = end as usize;
            if end < start || end > self.messages.len() {
                return Err(Error::invalid_arg(
                    "ends",
                    format!("ends[{i}] = {end} is out of order or past the data ({} bytes)", self.messages.len()),
                ));
            }
            items.push(Item {
                signature: &self.signatures[i * SIGNATURE_LEN..(i + 1) * SIGNATURE_LEN],
                message: &self.messages[start..end],
                public_key: &self.public_keys[i * PUBLIC_KEY_LEN..(i + 1) * PUBLIC_KEY_LEN],
            });
            start = end;
        }
        Ok(items)
    }
}

/// Below this many items a batch equation is not cheaper than single checks.
const MIN_BATCH: usize = 4;
/// Fewest items per batch equation when a batch is spread over threads.
const MIN_CHUNK_PER_THREAD: usize = 32;
/// Fewest items per rayon task in the preparation phase (~10 µs of work each,
/// far above the cost of stealing a task).
const PREPARE_TASK_ITEMS: usize = 8;

/// Checks the random linear combination of the cofactored equations:
/// `[8](-(Σ z_i s_i) B + Σ z_i R_i + Σ (z_i k_i) A_i) == 0`.
fn strict_batch_holds(items: &[&Prepared], seed: &[u8; 32]) -> bool {
    let mut xof = blake3::Hasher::new_keyed(seed).finalize_xof();
    let n = items.len();
    let mut scalars = Vec::with_capacity(2 * n + 1);
    let mut points = Vec::with_capacity(2 * n + 1);
    let mut b_coeff = Scalar::ZERO;
    for p in items {
        let mut zb = [0u8; 16];
        xof.fill(&mut zb);
        let z = Scalar::from(u128::from_le_bytes(zb));
        b_coeff -= z * p.s;
        scalars.push(z);
        points.push(p.r);
        scalars.push(z * p.k);
        points.push(p.a);
    }
    scalars.push(b_coeff);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
}

/// Per-item answers for `items` (all already prepared): one batch equation,
/// then bisection to find the bad ones when it fails.
fn strict_answers(items: &[&Prepared], seed: &[u8; 32], out: &mut [bool]) {
    if items.len() < MIN_BATCH {
        for (o, p) in out.iter_mut().zip(items) {
            *o = verify_prepared(p);
        }
        return;
    }
    if strict_batch_holds(items, seed) {
        out.fill(true);
        return;
    }
    let mid = items.len() / 2;
    // Each half gets fresh coefficients derived from the parent's seed.
    let seed_l = *blake3::keyed_hash(seed, b"left").as_bytes();
    let seed_r = *blake3::keyed_hash(seed, b"right").as_bytes();
    let (ol, or) = out.split_at_mut(mid);
    strict_answers(&items[..mid], &seed_l, ol);
    strict_answers(&items[mid..], &seed_r, or);
}

fn prepare_item(it: &Item<'_>) -> Option<Prepared> {
    let sig: &[u8; 64] = it.signature.try_into().ok()?;
    let pk: &[u8; 32] = it.public_key.try_into().ok()?;
    prepare_strict(sig, it.message, pk)
}

/// Strict answers for `items`. With `parts > 1` the work is spread over the
/// rayon pool in two phases: the per-item preparation (point decompression,
/// SHA-512; most of the cost) as small tasks that idle threads steal, so no
/// thread waits on a slower one; then one batch equation per thread, because
/// the multi-scalar multiplication gets cheaper per point the more points it
/// has (one equation per 32-item task would cost more in total).
fn strict_batch(items: &[Item<'_>], out: &mut [bool], parts: usize) {
    let prepared: Vec<Option<Prepared>> = if parts > 1 {
        items.par_iter().with_min_len(PREPARE_TASK_ITEMS).map(prepare_item).collect()
    } else {
        items.iter().map(prepare_item).collect()
    };
    let mut idx = Vec::with_capacity(items.len());
    let mut good = Vec::with_capacity(items.len());
    for (i, p) in prepared.iter().enumerate() {
        match p {
            Some(p) => {
                idx.push(i);
                good.push(p);
            }
            None => out[i] = false,
        }
    }
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut answers = vec![false; good.len()];
    if parts > 1 && good.len() >= 2 * MIN_CHUNK_PER_THREAD {
        let chunk = good.len().div_ceil(parts).max(MIN_CHUNK_PER_THREAD);
        answers.par_chunks_mut(chunk).zip(good.par_chunks(chunk)).enumerate().for_each(|(j, (o, g))| {
            // Each equation gets its own coefficients, derived from the batch seed.
            let seed_j = *blake3::keyed_hash(&seed, &(j as u64).to_le_bytes()).as_bytes();
            strict_answers(g, &seed_j, o);
        });
    } else {
        strict_answers(&good, &seed, &mut answers);
    }
    for (i, ok) in idx.into_iter().zip(answers) {
        out[i] = ok;
    }
}

fn zip215_batch(items: &[Item<'_>], out: &mut [bool]) {
    fn answers(items: &[Item<'_>], out: &mut [bool]) {
        if items.len() < MIN_BATCH {
            for (o, it) in out.iter_mut().zip(items) {
                *o = verify_zip215(it.signature.try_into().unwrap(), it.message, it.public_key.try_into().unwrap());
            }
            return;
        }
        let mut v = ed25519_zebra::batch::Verifier::new();
        for it in items {
            let pk: [u8; 32] = it.public_key.try_into().unwrap();
            let sig: [u8; 64] = it.signature.try_into().unwrap();
            v.queue((ed25519_zebra::VerificationKeyBytes::from(pk), ed25519_zebra::Signature::from(sig), &it.message));
        }
        if v.verify(OsRng).is_ok() {
            out.fill(true);
            return;
        }
        let mid = items.len() / 2;
        let (ol, or) = out.split_at_mut(mid);
        answers(&items[..mid], ol);
        answers(&items[mid..], or);
    }
    answers(items, out)
}

/// Checks the lengths of every item, naming the first bad one.
fn check_items(items: &[Item<'_>]) -> Result<()> {
    for (i, it) in items.iter().enumerate() {
        if it.signature.len() != SIGNATURE_LEN {
            return Err(Error::invalid_arg(
                &format!("items[{i}].signature"),
                format!("expected {SIGNATURE_LEN} bytes, got {}", it.signature.len()),
            ));
        }
        if it.public_key.len() != PUBLIC_KEY_LEN {
            return Err(Error::invalid_arg(
                &format!("items[{i}].publicKey"),
                format!("expected {PUBLIC_KEY_LEN} bytes, got {}", it.public_key.len()),
            ));
        }
    }
    Ok(())
}

/// Verifies many signatures; `result[i]` always equals `verify(items[i], mode)`.
/// With `parallel`, large batches are split over the rayon pool.
pub fn verify_batch(items: &[Item<'_>], mode: Mode, parallel: bool) -> Result<Vec<bool>> {
    check_items(items)?;
    let mut out = vec![false; items.len()];
    let threads = rayon::current_num_threads();
    let parts = if parallel && threads > 1 && items.len() >= 2 * MIN_CHUNK_PER_THREAD { threads } else { 1 };
    match mode {
        Mode::Strict => strict_batch(items, &mut out, parts),
        Mode::Zip215 if parts > 1 => {
            let chunk = items.len().div_ceil(parts).max(MIN_CHUNK_PER_THREAD);
            out.par_chunks_mut(chunk).zip(items.par_chunks(chunk)).for_each(|(o, it)| zip215_batch(it, o));
        }
        Mode::Zip215 => zip215_batch(items, &mut out),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn packed_batch_unpacks_and_checks_every_length() {
        let (sk, pk) = generate_keypair();
        let msgs: [&[u8]; 3] = [b"a", b"", b"ccc"];
        let sigs: Vec<u8> = msgs.iter().flat_map(|m| sign(m, &sk).unwrap()).collect();
        let pks: Vec<u8> = msgs.iter().flat_map(|_| pk).collect();
        let data = b"accc";
        let ends = [1u32, 1, 4];
        let p = Packed { signatures: &sigs, public_keys: &pks, messages: data, message_ends: &ends };
        let items = p.items().unwrap();
        assert_eq!(items.iter().map(|i| i.message).collect::<Vec<_>>(), msgs.to_vec());
        assert_eq!(verify_batch(&items, Mode::default(), false).unwrap(), vec![true; 3]);
        let short = Packed { signatures: &sigs[..64], ..p };
        assert!(short.items().unwrap_err().message.starts_with("signatures: expected 192 bytes"));
        let bad_pk = Packed { public_keys: &pks[..32], ..p };
        assert!(bad_pk.items().unwrap_err().message.starts_with("publicKeys:"));
        let back = [1u32, 0, 4];
        assert!(Packed { message_ends: &back, ..p }.items().unwrap_err().message.starts_with("ends: ends[1] = 0"));
        let past = [1u32, 1, 5];
        assert!(Packed { message_ends: &past, ..p }.items().unwrap_err().message.starts_with("ends: ends[2] = 5"));
    }

    use super::*;

    fn item<'a>(s: &'a [u8; 64], m: &'a [u8], p: &'a [u8; 32]) -> Item<'a> {
        Item { signature: s, message: m, public_key: p }
    }

    #[test]
    fn rfc8032_test_1() {
        let sk = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let pk = public_key_from_secret(&sk).unwrap();
        assert_eq!(hex::encode(pk), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = sign(b"", &sk).unwrap();
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(verify(&sig, b"", &pk, Mode::Strict).unwrap());
        assert!(verify(&sig, b"", &pk, Mode::Zip215).unwrap());
        assert!(!verify(&sig, b"x", &pk, Mode::Strict).unwrap());
    }

    #[test]
    fn signer_and_cache_agree_with_fresh_key() {
        let (sk, pk) = generate_keypair();
        let s = Signer::new(&sk).unwrap();
        assert_eq!(s.public_key(), pk);
        for _ in 0..3 {
            assert_eq!(sign(b"m", &sk).unwrap(), s.sign(b"m").unwrap());
        }
        // Evict by signing with more keys than the cache holds.
        for _ in 0..KEY_CACHE_SLOTS + 2 {
            let (k, _) = generate_keypair();
            sign(b"m", &k).unwrap();
        }
        assert_eq!(sign(b"m", &sk).unwrap(), s.sign(b"m").unwrap());
        clear_key_cache();
        assert_eq!(sign(b"m", &sk).unwrap(), s.sign(b"m").unwrap());
    }

    /// RFC 8032 section 7.1: (secret seed, public key, message, signature), hex.
    const RFC8032_VECTORS: [[&str; 4]; 4] = [
        [
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ],
        [
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ],
        [
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ],
        [
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ],
    ];

    #[test]
    fn aws_lc_signer_matches_rfc8032_vectors_and_dalek() {
        use ed25519_dalek::Signer as _;
        for [sk, pk, msg, sig] in RFC8032_VECTORS {
            let (sk, msg) = (hex::decode(sk).unwrap(), hex::decode(msg).unwrap());
            let s = Signer::new(&sk).unwrap();
            assert_eq!(hex::encode(s.public_key()), pk);
            assert_eq!(hex::encode(s.sign(&msg).unwrap()), sig);
            assert_eq!(hex::encode(sign(&msg, &sk).unwrap()), sig);
            let dalek = SigningKey::from_bytes(sk.as_slice().try_into().unwrap());
            assert_eq!(hex::encode(dalek.sign(&msg).to_bytes()), sig);
        }
    }

    #[test]
    fn aws_lc_signer_signs_like_dalek_on_random_seeds_and_messages() {
        use ed25519_dalek::Signer as _;
        // 3000 random seeds, each with a random message of 0..2000 bytes
        // (every length class of SHA-512's 128-byte blocks is hit many times).
        let mut message = vec![0u8; 2000];
        for round in 0..3000 {
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let len = (OsRng.next_u32() % 2001) as usize;
            OsRng.fill_bytes(&mut message[..len]);
            let m = &message[..len];
            let s = Signer::new(&seed).unwrap();
            let dalek = SigningKey::from_bytes(&seed);
            assert_eq!(s.public_key(), dalek.verifying_key().to_bytes(), "round {round}");
            let sig = s.sign(m).unwrap();
            assert_eq!(sig, dalek.sign(m).to_bytes(), "round {round}, message length {len}");
            if round % 100 == 0 {
                assert!(verify(&sig, m, &s.public_key(), Mode::Strict).unwrap());
            }
        }
    }

    #[test]
    fn signer_refuses_a_seed_of_the_wrong_length_naming_the_argument() {
        for len in [0usize, 31, 33, 64] {
            let err = Signer::new(&vec![1u8; len]).err().unwrap();
            assert!(err.message.contains("secretKey"), "{}", err.message);
        }
    }

    #[test]
    fn non_canonical_s_rejected_in_both_modes() {
        let (sk, pk) = generate_keypair();
        let mut sig = sign(b"msg", &sk).unwrap();
        // s + L is the classic malleability: same equation, non-canonical scalar.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = sig[32 + i] as u16 + l[i] as u16 + carry;
            sig[32 + i] = v as u8;
            carry = v >> 8;
        }
        assert!(!verify(&sig, b"msg", &pk, Mode::Strict).unwrap());
        assert!(!verify(&sig, b"msg", &pk, Mode::Zip215).unwrap());
    }

    #[test]
    fn small_order_key_rejected_strict_accepted_zip215() {
        // Identity point as the public key and R, S = 0: valid under ZIP-215
        // for any message, rejected by strict mode.
        let mut pk = [0u8; 32];
        pk[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        assert!(!verify(&sig, b"anything", &pk, Mode::Strict).unwrap());
        assert!(verify(&sig, b"anything", &pk, Mode::Zip215).unwrap());
        let items = vec![item(&sig, b"anything", &pk); 10];
        assert_eq!(verify_batch(&items, Mode::Strict, false).unwrap(), vec![false; 10]);
        assert_eq!(verify_batch(&items, Mode::Zip215, false).unwrap(), vec![true; 10]);
    }

    #[test]
    fn non_canonical_y_is_detected() {
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        b[0] = 0xed; // exactly p
        assert!(is_noncanonical_y(&b));
        b[0] = 0xec; // p - 1
        assert!(!is_noncanonical_y(&b));
        b[31] = 0xff; // sign bit set, y = p - 1
        assert!(!is_noncanonical_y(&b));
    }

    #[test]
    fn batch_finds_exactly_the_bad_items() {
        let n = 300;
        let keys: Vec<_> = (0..8).map(|_| generate_keypair()).collect();
        let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("message {i}").into_bytes()).collect();
        let mut sigs: Vec<[u8; 64]> = (0..n).map(|i| sign(&msgs[i], &keys[i % 8].0).unwrap()).collect();
        let bad = [0usize, 17, 18, 150, 299];
        for &b in &bad {
            sigs[b][40] ^= 1;
        }
        let items: Vec<Item> = (0..n).map(|i| item(&sigs[i], &msgs[i], &keys[i % 8].1)).collect();
        for mode in [Mode::Strict, Mode::Zip215] {
            for parallel in [false, true] {
                let got = verify_batch(&items, mode, parallel).unwrap();
                for i in 0..n {
                    assert_eq!(got[i], !bad.contains(&i), "item {i} mode {mode:?}");
                    assert_eq!(got[i], verify(&sigs[i], &msgs[i], &keys[i % 8].1, mode).unwrap());
                }
            }
        }
        assert!(verify_batch(&[], Mode::Strict, true).unwrap().is_empty());
    }

    #[test]
    fn parallel_batch_answers_like_single_verify_on_any_pool_size() {
        // Items that fail preparation (non-canonical S, small-order key) and
        // items that fail only the equation, spread over every equation of
        // the parallel path, on pools of 2, 3 and 4 threads.
        let n = 200;
        let keys: Vec<_> = (0..5).map(|_| generate_keypair()).collect();
        let msgs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i % 7]).collect();
        let mut sigs: Vec<[u8; 64]> = (0..n).map(|i| sign(&msgs[i], &keys[i % 5].0).unwrap()).collect();
        let mut pks: Vec<[u8; 32]> = (0..n).map(|i| keys[i % 5].1).collect();
        for i in (3..n).step_by(37) {
            sigs[i][63] = 0xff; // S >= L
        }
        for i in (11..n).step_by(41) {
            sigs[i][40] ^= 1; // another S: only the equation fails
        }
        pks[66] = [0u8; 32]; // the identity: small order
        pks[66][0] = 1;
        let items: Vec<Item> = (0..n).map(|i| item(&sigs[i], &msgs[i], &pks[i])).collect();
        let single: Vec<bool> = (0..n).map(|i| verify(&sigs[i], &msgs[i], &pks[i], Mode::Strict).unwrap()).collect();
        assert!(single.iter().filter(|ok| !**ok).count() >= 10);
        for threads in [2, 3, 4] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(|| verify_batch(&items, Mode::Strict, true)).unwrap(), single, "{threads} threads");
        }
    }

    #[test]
    fn mixed_order_signature_gets_same_answer_single_and_batch() {
        // R' = R + T with T of order 8 (from the torsion subgroup): the
        // cofactored equation still holds, so strict mode accepts it in both
        // forms; what matters is that single and batch agree, every time.
        let (sk, pk) = generate_keypair();
        let msg = b"torsion";
        let sig = sign(msg, &sk).unwrap();
        let r = CompressedEdwardsY(sig[..32].try_into().unwrap()).decompress().unwrap();
        let t = curve25519_dalek::constants::EIGHT_TORSION[1];
        let mut forged = sig;
        forged[..32].copy_from_slice((r + t).compress().as_bytes());
        let single = verify(&forged, msg, &pk, Mode::Strict).unwrap();
        let items = vec![item(&forged, msg, &pk); 16];
        for _ in 0..20 {
            assert_eq!(verify_batch(&items, Mode::Strict, false).unwrap(), vec![single; 16]);
        }
    }

    #[test]
    fn wrong_lengths_are_errors_naming_the_item() {
        let e = verify(&[0u8; 63], b"", &[0u8; 32], Mode::Strict).unwrap_err();
        assert!(e.message.starts_with("signature:"));
        let sig = [0u8; 64];
        let items = [item(&sig, b"", &[0u8; 32]), Item { signature: &sig, message: b"", public_key: &[0u8; 5] }];
        let e = verify_batch(&items, Mode::Strict, false).unwrap_err();
        assert!(e.message.starts_with("items[1].publicKey:"), "{}", e.message);
        assert!(sign(b"", &[0u8; 31]).unwrap_err().message.starts_with("secretKey:"));
    }
}
