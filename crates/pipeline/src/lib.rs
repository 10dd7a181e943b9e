//! Columnar operators of `omnitide/pipeline`.
//!
//! Records arrive as columns: a key column of dictionary ids (`u32`, the
//! TypeScript layer dictionary-encodes keys as Arrow does), an event-time column
//! (`f64` milliseconds) and a row-major `f64` matrix of the value columns the
//! aggregates read. One call handles a whole batch.
//!
//! - [`agg`]: accumulators (count, sum, min, max, mean, variance, HyperLogLog
//!   distinct, t-digest quantile).
//! - [`window`]: keyed tumbling / sliding / session / global windows on event
//!   time with a bounded-out-of-orderness watermark, allowed lateness and an
//!   explicit late-data policy; its state serialises for checkpoints.
//! - [`join`]: batch hash join (inner / left / anti) and a windowed
//!   stream-stream interval join; [`join::JoinTable`] is built once and probed per batch.
//! - [`keys`]: typed key columns to dense group ids.
//! - [`scan`]: the source schema's non-finite check of a number column.
//! - [`expr`]: column expressions (map / filter stages) compiled and run over blocks of rows.
//! - [`fused`]: expression stages fused with the keyed window aggregate after them.

pub mod agg;
pub mod expr;
pub mod fused;
pub mod join;
pub mod keys;
pub mod scan;
pub mod window;

pub use agg::{AggKind, AggSpec};
pub use expr::{ColumnType, Inputs, Program, Selection, Src, StageSpec};
pub use fused::{FusedOutcome, FusedPlan};
pub use join::{hash_join, IntervalJoin, IntervalJoinConfig, IntervalOutcome, JoinKind, JoinPairs, JoinTable, NO_MATCH};
pub use keys::KeyDictionary;
pub use scan::first_non_finite;
pub use window::{Emitted, LatePolicy, PushOutcome, WindowConfig, WindowKind, WindowedAggregator};
