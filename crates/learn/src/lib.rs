//! omnitide-learn: online learning in Rust with River's semantics where a River user would
//! compare (linear/logistic regression, naive Bayes, Hoeffding trees, half-space trees, standard
//! scaling, drift detectors, prequential metrics), plus a small MLP and the cross-domain tools
//! built on it (transfer, CORAL, importance weighting, multi-task heads, EWC, replay, Reptile).
//!
//! Everything works on dense `f64` rows of a fixed width; NaN marks a missing feature.

// Numeric kernels walk several parallel arrays by index (weights, gradients, moments), and
// `!(x > 0.0)` is how a check also rejects NaN: both read clearer than the suggested rewrites.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

pub mod adaptive;
pub mod anomaly;
pub mod classes;
pub mod codec;
pub mod domain;
pub mod drift;
pub mod linear;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod naive_bayes;
pub mod preprocess;
pub mod stats;
pub mod tree;

pub use drift::Detector;
pub use metrics::Metrics;
pub use model::{MetaTrainSpec, Model, Task};
