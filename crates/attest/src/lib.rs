//! omnitide attestation authority: DSSE envelopes carrying in-toto Statement v1
//! payloads, Ed25519 signatures (strict, via `omnitide-crypto`), attenuated
//! delegation chains verifiable offline from the root public keys, TUF-style
//! k-of-n roles and root rotation, revocation (with revocation authority) and
//! an audit trail in an append-only log ([`log::AuditLog`], the omnitide
//! ledger by default).
//!
//! Expiry: `issuedAt`/`expiresAt` live in a top-level `omnitide` object of the
//! in-toto Statement (signed with it). Neither DSSE nor in-toto Statement v1
//! has a standard expiry field, so peers (in-toto, Sigstore, securesystemslib
//! verifiers) ignore it and will NOT enforce expiry; only omnitide verifiers
//! do. Where a standard place exists it is used: trust roots carry
//! `expiresAt` like TUF root metadata's `expires`.
//!
//! Canonicalization: everything this crate signs is serialized with RFC 8785
//! (JSON Canonicalization Scheme). Verification never re-serializes: it checks
//! signatures over the DSSE PAE of the payload bytes exactly as received, so a
//! re-serialized envelope stays valid and a changed payload byte does not.
//! Parsers reject duplicate JSON keys.
//!
//! Key IDs are lowercase hex BLAKE3 of the 32-byte Ed25519 public key.

pub mod api;
pub mod authority;
pub mod cache;
pub mod dsse;
pub mod json;
pub mod keystore;
pub mod ledger_log;
pub mod log;
pub mod revocation;
pub mod scope;
pub mod statement;
pub mod trust;
pub mod verify;

pub use authority::{AuditBundle, Authority, Bundle, IssueRequest, Issued, OpenOptions};
pub use dsse::{Envelope, Signature};
pub use revocation::{Revocation, RevocationSet, Target};
pub use scope::Scope;
pub use statement::{Statement, Subject};
pub use trust::{Role, TrustRoot};
pub use verify::{verify, verify_many, verify_rotation, Limits, Reason, Verification, VerifyOptions};

/// Key ID: lowercase hex BLAKE3 of the public key.
pub fn keyid(public_key: &[u8; 32]) -> String {
    hex::encode(blake3::hash(public_key).as_bytes())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
