//! omnitide's crypto hot path: BLAKE3 (the `blake3` crate, SIMD + rayon + mmap)
//! and Ed25519 (ed25519-dalek for keys and signing, curve25519-dalek for the
//! strict cofactored verifier, ed25519-zebra for ZIP-215).
//!
//! Everything here is plain Rust with no N-API; `native/` only converts.

pub mod blake3;
pub mod ed25519;

pub use omnitide_common::{Error, Result};
