//! omnitide-ledger: an embedded, signed, append-only, crash-safe transparency log.
//!
//! - [`merkle`]: RFC 6962/9162 tree hashing (SHA-256 or BLAKE3), inclusion and
//!   consistency proofs and their instance-free verifiers.
//! - [`store`]: the on-disk log ([`Ledger`], the one writer): append-only
//!   files, torn-tail recovery, tamper detection, signer rotation; and its
//!   read-only follower ([`LedgerReader`]).
//! - [`checkpoint`]: C2SP signed-note checkpoints with Ed25519 (the project's
//!   one implementation: attest uses it too).
//! - [`bundle`]: a ledger proof bundle (entry + inclusion proof + checkpoint),
//!   verifiable offline.

pub mod bundle;
pub mod canonical;
pub mod checkpoint;
pub mod merkle;
pub mod store;

pub use bundle::{Bundle, BundleVerification};
pub use checkpoint::{Checkpoint, CheckpointVerification, SignedCheckpoint};
pub use merkle::{Hash, HashAlg, MemoryTree, HASH_LEN};
pub use omnitide_common::{Error, Result};
pub use store::{Durability, Ledger, LedgerReader, Options, Recovery, READ_ONLY};
