//! Formal Concept Analysis for omnitide: formal contexts on bit sets,
//! `.cxt`/CSV files, conceptual scaling, concept lattices mined with FCbO on
//! all cores, the Hasse diagram, incremental updates (AddIntent), lattice
//! operations and queries, the Duquenne–Guigues basis, association rules and
//! JSON/DOT/SVG export.

pub mod bits;
mod closure_batch;
pub mod context;
mod covers_small;
pub mod export;
pub mod implications;
pub mod incremental;
mod intent_index;
pub mod io;
pub mod lattice;
pub mod mine;
pub mod scale;

pub use bits::{BitSlice, Bits};
pub use context::Context;
pub use implications::{association_rules, canonical_basis, close_under, entails, Implication, Rule};
pub use lattice::{BuildOptions, ConceptRef, Lattice};
pub use mine::{mine, Concept};
