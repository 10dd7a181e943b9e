//! omnitide-symbolic: mathjs-compatible parsing, canonical simplification over exact
//! rationals, factoring, differentiation, e-graph rewriting with checkable proofs, SAT with
//! DRAT certificates, and compiled evaluators.

pub mod api;
pub mod ast;
pub mod canon;
pub mod eval;
pub mod ops;
pub mod poly;
pub mod rewrite;
pub mod sat;
pub mod util;

pub use ast::{parse, to_string, to_tex, Node};
pub use canon::{simplify, Options, Simplified};
pub use poly::Limits;
