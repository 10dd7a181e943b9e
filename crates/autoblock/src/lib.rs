//! `omnitide-autoblock`: the detection core of `omnitide/autoblock`.
//!
//! - [`filter`]: fail2ban filter files read unchanged ([`conf`] for the INI
//!   dialect, [`date`] for date detection) and compiled by [`pyre`] to the
//!   linear-time `regex` crate — never a backtracking engine; [`mlfid`] merges
//!   one connection's lines as fail2ban does, [`ascii`] gives ASCII lines
//!   smaller automata with the same answers;
//! - [`jail`]: fail2ban's jail semantics (maxretry, findtime, bantime, increment);
//! - [`scenario`]: CrowdSec-shaped leaky-bucket scenarios from YAML, with
//!   [`expr`] filters and HyperLogLog distinct counts;
//! - [`allow`]: allowlists, which always win;
//! - [`engine`]: batch APIs for log lines and packed structured events
//!   ([`columns`]: their detections as columns for the Autoblocker);
//! - [`decision`]: decision bodies written from their fields, signed and
//!   audited through an `omnitide-attest` authority.

pub mod allow;
pub mod ascii;
pub mod columns;
pub mod conf;
pub mod date;
pub mod decision;
pub mod engine;
pub mod expr;
pub mod filter;
pub mod jail;
pub mod mlfid;
pub mod pyre;
pub mod scenario;

pub use engine::{Detection, Engine, EngineConfig, Stats};
