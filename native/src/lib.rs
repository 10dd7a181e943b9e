//! The omnitide N-API addon. Thin by design: each module converts arguments,
//! calls one crate, and maps errors; no logic lives here.

mod attest;
mod crypto;
mod ledger;
mod kernel;
mod error;
mod symbolic;
mod scheduler;
mod lattice;
