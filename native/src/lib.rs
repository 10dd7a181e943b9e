//! The omnitide N-API addon. Thin by design: each module converts arguments,
//! calls one crate, and maps errors; no logic lives here. Synchronous bodies
//! run in `error::guard`; async work goes through `task::spawn`.

mod attest;
mod autoblock;
mod contracts;
mod crypto;
mod error;
mod fast_call;
mod kernel;
mod lattice;
mod learn;
mod ledger;
mod pipeline;
mod scheduler;
mod symbolic;
mod synth;
mod task;
