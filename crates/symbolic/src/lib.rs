//! omnitide-symbolic: mathjs-compatible parsing, canonical simplification over exact
//! rationals, factoring, differentiation, e-graph rewriting with checkable proofs, SAT with
//! DRAT certificates, and compiled evaluators.
//!
//! Design notes (the decisions the issue left open):
//!
//! * **Parsing** ([`ast`]) follows mathjs's `parse.js` precedence ladder, including implicit
//!   multiplication binding tighter than `*`/`/` and "rule 2" (`1/2x` is `(1/2)*x`). Decimal
//!   literals are exact (`0.1` is 1/10). Nesting is limited (`maxDepth`, default 500) and all
//!   recursive walks grow the stack on demand (`stacker`), so deep or huge inputs give an
//!   `ERR_OMNI_LIMIT` error, never a stack overflow; `Node` drops iteratively.
//! * **Canonical form** ([`canon`]): an expression becomes `num/den`, sparse polynomials over Q
//!   (`num-rational` big rationals) in *atoms* — variables, `pi`, `e`, `i`, and non-rational
//!   subterms whose arguments are canonicalised first. `num/den` is reduced by a
//!   multivariate GCD (recursive primitive PRS), and printed in graded-lexicographic order
//!   over atom *names*, so the output does not depend on input order. Equal polynomials /
//!   rational functions therefore print identically.
//! * **Domain**: `sqrt(x^2)` is `abs(x)` unless `x` is assumed positive; `abs(u)^2 = u^2` only
//!   with `real` (default); `log(exp(x)) = x` only with `real`. Cancelling a common factor `g`
//!   of numerator and denominator (e.g. `x/x`) is done but *guarded*: `g != 0` is reported in
//!   `conditions`, and with `allowCancel: false` the cancellation is refused with an error.
//! * **Trigonometry**: `cos(u)^2` is reduced modulo `sin^2 + cos^2 = 1` as a candidate; the
//!   shorter of the two canonical forms is returned (deterministic either way).
//! * **Limits**: `maxExponent` (10000), `maxTerms` (100000; expansions are estimated before
//!   they are computed), `maxDepth`; rewriting has node / iteration / time limits.
//! * **Factoring** ([`ops::factor`], [`zfactor`]): univariate over Z is complete — monomial
//!   content, square-free decomposition (Yun), rational roots, then Zassenhaus with
//!   Cantor–Zassenhaus over a prime above the Mignotte-type bound (so no Hensel lifting) and
//!   subset recombination by exact trial division. `factorMaxDegree` (200) and `factorTimeMs`
//!   (5000, per square-free part) cap it; beyond them the part is returned unfactored (a
//!   debug build needs ~100 s for `x^105 - 1`, so large cyclotomics may hit the time cap).
//!   Multivariate: content, square-free part, difference of squares, homogeneous bivariate.
//! * **Rewriting and proofs** ([`rewrite`]): egg with explanations over `SymbolLang`; rules in
//!   mathjs rule-string form. Proof steps name the rule, the direction and the rewritten
//!   subterm; [`rewrite::check`] replays them with its own matcher (no egg) and exact
//!   arithmetic for constant folds. When rewriting cannot connect two expressions that are
//!   equal as rational functions, `equivalent` falls back to a `normal-form` proof that the
//!   checker replays by recomputing both normal forms.
//! * **SAT** ([`sat`]): varisat with DRAT output; [`sat::check_drat`] is an independent forward
//!   RUP/RAT checker. Boolean canonical form: disjoint-path DNF of the ROBDD in name order.
//! * **compile** ([`api::compile`]): Horner form of the canonical rational function; atoms are
//!   hash-consed so shared subexpressions (e.g. `sin(x)`) are computed once per row.

pub mod api;
pub mod ast;
pub mod canon;
pub mod eval;
pub mod factor;
pub mod ops;
pub mod poly;
pub mod rewrite;
pub mod sat;
pub mod util;
pub mod zfactor;

pub use ast::{parse, to_string, to_tex, Node};
pub use canon::{simplify, Options, Simplified};
pub use poly::Limits;
