//! Checkpoints in the C2SP signed-note checkpoint format
//! (<https://c2sp.org/tlog-checkpoint>, <https://c2sp.org/signed-note>):
//!
//! ```text
//! <origin>\n
//! <tree size, decimal>\n
//! <base64 root hash>\n
//! timestamp <unix ms>\n          (an extension line; parsers of other tools ignore it)
//! \n
//! — <key name> <base64(key id (4 bytes) || Ed25519 signature)>\n
//! ```
//!
//! The signature covers the note text (every line before the blank line,
//! each with its newline). The key id of an Ed25519 key is the first four
//! bytes of `SHA-256(key name || 0x0A || 0x01 || public key)`. omnitide uses
//! the origin as the key name.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use omnitide_common::{Error, Result};
use omnitide_crypto::ed25519 as ed;
use sha2::Digest;

use crate::merkle::{Hash, HASH_LEN};

const SIG_PREFIX: &str = "\u{2014} ";
const ED25519_ALG: u8 = 0x01;
const TIMESTAMP_EXT: &str = "timestamp ";

/// A tree head: what a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: Hash,
    /// Unix milliseconds from the `timestamp` extension line, if present.
    pub timestamp: Option<u64>,
}

/// A checkpoint with its signature, and the full note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub key_name: String,
    pub key_id: [u8; 4],
    pub signature: [u8; 64],
    pub text: String,
}

/// Checks an origin / key name: non-empty, no whitespace, no '+', printable.
pub fn check_key_name(arg: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_arg(arg, "must not be empty"));
    }
    if name.len() > 1024 {
        return Err(Error::invalid_arg(arg, "must be at most 1024 bytes"));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control() || *c == '+') {
        return Err(Error::invalid_arg(arg, format!("must not contain whitespace, control characters or '+', found {c:?}")));
    }
    Ok(())
}

/// The 4-byte C2SP signed-note key id of an Ed25519 verifier key.
pub fn key_id(key_name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = sha2::Sha256::new();
    h.update(key_name.as_bytes());
    h.update([0x0A, ED25519_ALG]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The note verifier key string `<name>+<hex key id>+<base64(0x01 || key)>`
/// that Go's `golang.org/x/mod/sumdb/note` and other tools accept.
pub fn verifier_key(key_name: &str, public_key: &[u8; 32]) -> String {
    let mut k = vec![ED25519_ALG];
    k.extend_from_slice(public_key);
    let id = key_id(key_name, public_key);
    format!("{key_name}+{:08x}+{}", u32::from_be_bytes(id), STANDARD.encode(k))
}

impl Checkpoint {
    /// The note text (what is signed).
    pub fn body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root_hash));
        if let Some(ts) = self.timestamp {
            s.push_str(&format!("{TIMESTAMP_EXT}{ts}\n"));
        }
        s
    }

    /// Signs with the Ed25519 `signer` under `key_name` (usually the origin).
    pub fn sign(&self, key_name: &str, signer: &ed::Signer) -> Result<SignedCheckpoint> {
        check_key_name("origin", &self.origin)?;
        check_key_name("keyName", key_name)?;
        let body = self.body();
        let signature = signer.sign(body.as_bytes())?;
        let key_id = key_id(key_name, &signer.public_key());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&key_id);
        blob.extend_from_slice(&signature);
        let text = format!("{body}\n{SIG_PREFIX}{key_name} {}\n", STANDARD.encode(&blob));
        Ok(SignedCheckpoint { checkpoint: self.clone(), key_name: key_name.to_string(), key_id, signature, text })
    }
}

/// The parts of a signed note: its text and its signature lines.
struct Note<'a> {
    body: &'a str,
    sigs: Vec<(&'a str, Vec<u8>)>,
}

fn malformed(problem: impl std::fmt::Display) -> Error {
    Error::invalid_arg("checkpoint", format!("malformed checkpoint: {problem}"))
}

fn parse_note(text: &str) -> Result<Note<'_>> {
    if text.len() > 1 << 20 {
        return Err(malformed("longer than 1 MiB"));
    }
    let split = text.find("\n\n").ok_or_else(|| malformed("no blank line between note text and signatures"))?;
    let body = &text[..split + 1];
    let rest = &text[split + 2..];
    if !rest.ends_with('\n') {
        return Err(malformed("signature block does not end with a newline"));
    }
    let mut sigs = Vec::new();
    for line in rest[..rest.len() - 1].split('\n') {
        let l =
            line.strip_prefix(SIG_PREFIX).ok_or_else(|| malformed(format!("signature line {line:?} does not start with '\u{2014} '")))?;
        let (name, b64) = l.rsplit_once(' ').ok_or_else(|| malformed("signature line has no space between key name and signature"))?;
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('+') {
            return Err(malformed(format!("signature key name {name:?} is invalid")));
        }
        let blob = STANDARD.decode(b64).map_err(|e| malformed(format!("signature is not base64: {e}")))?;
        if blob.len() < 5 {
            return Err(malformed("signature is shorter than key id + 1 byte"));
        }
        sigs.push((name, blob));
    }
    if sigs.is_empty() {
        return Err(malformed("no signature lines"));
    }
    Ok(Note { body, sigs })
}

/// Parses a checkpoint body (note text without signatures).
pub fn parse_body(body: &str) -> Result<Checkpoint> {
    let lines: Vec<&str> = body.strip_suffix('\n').ok_or_else(|| malformed("note text must end with a newline"))?.split('\n').collect();
    if lines.len() < 3 {
        return Err(malformed(format!("needs at least 3 lines (origin, size, root hash), got {}", lines.len())));
    }
    let origin = lines[0];
    if origin.is_empty() {
        return Err(malformed("origin line is empty"));
    }
    let size_s = lines[1];
    if size_s.is_empty() || !size_s.bytes().all(|b| b.is_ascii_digit()) || (size_s.len() > 1 && size_s.starts_with('0')) {
        return Err(malformed(format!("tree size {size_s:?} is not a decimal without leading zeros")));
    }
    let size: u64 = size_s.parse().map_err(|_| malformed(format!("tree size {size_s:?} does not fit 64 bits")))?;
    let root = STANDARD.decode(lines[2]).map_err(|e| malformed(format!("root hash is not base64: {e}")))?;
    let root_hash: Hash =
        root.as_slice().try_into().map_err(|_| malformed(format!("root hash must be {HASH_LEN} bytes, got {}", root.len())))?;
    let mut timestamp = None;
    for ext in &lines[3..] {
        if ext.is_empty() {
            return Err(malformed("empty extension line"));
        }
        // Extension lines are opaque to other tools (C2SP tlog-checkpoint);
        // ours is read only when it is the decimal we write.
        if let Some(ts) = ext.strip_prefix(TIMESTAMP_EXT) {
            if timestamp.is_none() {
                timestamp = ts.parse().ok();
            }
        }
    }
    Ok(Checkpoint { origin: origin.to_string(), size, root_hash, timestamp })
}

/// Parses a signed checkpoint without checking any signature (the store uses
/// it to read back its own last checkpoint).
pub fn parse_unverified(text: &str) -> Result<Checkpoint> {
    let note = parse_note(text)?;
    parse_body(note.body)
}

/// Outcome of checking a checkpoint's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerification {
    pub valid: bool,
    pub reason: Option<String>,
    pub checkpoint: Checkpoint,
}

/// Verifies `text` against the Ed25519 `public_key`, with the key name
/// `key_name` (default: the checkpoint's origin). A malformed text or key is
/// an error; a wrong key or bad signature is a `valid: false` answer.
pub fn verify(text: &str, public_key: &[u8], key_name: Option<&str>) -> Result<CheckpointVerification> {
    let pk: [u8; 32] = *omnitide_common::fixed::<32>("publicKey", public_key)?;
    let note = parse_note(text)?;
    let checkpoint = parse_body(note.body)?;
    let name = key_name.unwrap_or(&checkpoint.origin);
    let id = key_id(name, &pk);
    let mut reason = format!("no signature line by key '{name}' with key id {:08x}", u32::from_be_bytes(id));
    for (sname, blob) in &note.sigs {
        if *sname != name || blob[..4] != id {
            continue;
        }
        if blob.len() != 68 {
            reason = format!("signature by '{name}' has {} bytes, Ed25519 needs 64", blob.len() - 4);
            continue;
        }
        if ed::verify(&blob[4..], note.body.as_bytes(), &pk, ed::Mode::default())? {
            return Ok(CheckpointVerification { valid: true, reason: None, checkpoint });
        }
        reason = format!("signature by '{name}' does not verify");
    }
    Ok(CheckpointVerification { valid: false, reason: Some(reason), checkpoint })
}
