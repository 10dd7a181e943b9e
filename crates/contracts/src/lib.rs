//! omnitide-contracts: one DSL for access policies (Cedar's grammar and semantics), rate
//! limits (token buckets) and SLOs (OpenSLO-style objectives), with a type checker, a
//! formatter, an evaluator with explanations, static analysis and SAT-backed verification
//! (the `omnitide-symbolic` SAT engine; UNSAT answers are DRAT-checked), and code generation
//! to JavaScript and to WebAssembly (`wasm-encoder`).

pub mod analysis;
pub mod api;
pub mod ast;
pub mod diag;
pub mod eval;
pub mod fmt;
pub mod jsgen;
pub mod kernel_plan;
pub mod lexer;
pub mod limits;
pub mod lint;
pub mod parser;
pub mod typecheck;
pub mod value;
pub mod wasm;

pub use parser::parse;
