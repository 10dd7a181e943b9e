//! Synthetic tables for omnitide's pipeline, deterministic with a seed.
//!
//! Three strategies share one column-major [`Table`]:
//! - statistical: [`copula::Copula`], empirical marginals plus a Gaussian copula;
//! - model-based: [`gmm::Mixture`], a Gaussian mixture fitted by EM over the numeric
//!   columns, with categorical columns drawn per mixture component;
//! - rule-based: [`rules`], per-field generators from a schema with referential
//!   integrity across tables, and [`constraints`] checked on the output.
//!
//! [`fidelity::report`] compares a synthetic table with the real one (KS / total
//! variation per column, correlation error, exact copies, distance to closest record).

pub mod constraints;
pub mod copula;
pub mod fidelity;
pub mod gmm;
pub mod marginal;
pub mod normal;
pub mod privacy;
pub mod rng;
pub mod rules;
pub mod saved;
pub mod table;

pub use copula::Copula;
pub use fidelity::{report, FidelityReport};
pub use gmm::{Mixture, MixtureOptions};
pub use saved::Model;
pub use table::{Column, Table, Values};
