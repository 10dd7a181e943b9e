//! Typed entry points used by the N-API binding: one function per operation, options and
//! results as plain Rust types (the binding only mirrors them as JS objects). Every decision
//! stays in this crate.

mod compile;
mod equivalence;
mod options;
mod results;
mod sat_api;

pub use compile::{compile, Compiled};
pub use equivalence::{check_proof, equivalent, StepIn};
pub use options::{LimitsIn, OptionsIn, RuleIn};
pub use results::{Direction, Equivalence, Factored, Method, Parsed, ProofCheck, ProofStep, Rationalized, Rewritten, Simplified};
pub use sat_api::{bool_canonical, sat_check, sat_solve, CnfIn, Model, SatAnswer, SatIn};

use crate::{ast, canon, ops, rewrite};
use omnitide_common::{Error, Result};
use std::collections::HashMap;

/// Parses and prints back (mathjs syntax and TeX) with the variables in order.
pub fn parse(expr: &str, o: &OptionsIn) -> Result<Parsed> {
    let n = ast::parse_with_depth(expr, o.canon().limits.max_depth)?;
    Ok(Parsed { expr: ast::to_string(&n), tex: ast::to_tex(&n), variables: n.vars() })
}

/// The canonical form; with user rules, the smallest term equality saturation finds and the
/// steps from the input to it (a replayable proof).
pub fn simplify(expr: &str, o: &OptionsIn) -> Result<Simplified> {
    let user = o.user_rules()?;
    if user.is_empty() {
        return Ok(canon::simplify(expr, &o.canon())?.into());
    }
    let input = ast::parse(expr)?;
    let lim = o.rewrite_limits();
    let (e, _) = rewrite::rewrite(&input, &user, &lim)?;
    let steps = match rewrite::prove(&input, &ast::parse(&e)?, &user, &lim)? {
        rewrite::Equal::Yes { proof, .. } => proof.into_iter().map(ProofStep::from).collect(),
        _ => Vec::new(),
    };
    Ok(Simplified { expr: e, conditions: Vec::new(), steps: Some(steps) })
}

/// Simplifies each expression in parallel; a failing item carries its error in place.
pub fn simplify_many(exprs: &[String], o: &OptionsIn) -> Vec<Result<Simplified>> {
    use rayon::prelude::*;
    let opts = o.canon();
    exprs.par_iter().with_min_len(16).map(|e| canon::simplify(e, &opts).map(Simplified::from)).collect()
}

/// Expansion: the canonical form without the trigonometric identity.
pub fn expand(expr: &str, o: &OptionsIn) -> Result<Simplified> {
    let mut opts = o.canon();
    opts.trig = false;
    Ok(canon::simplify(expr, &opts)?.into())
}

pub fn rationalize(expr: &str, o: &OptionsIn) -> Result<Rationalized> {
    let (expr, numerator, denominator) = canon::rationalize(expr, &o.canon())?;
    Ok(Rationalized { expr, numerator, denominator })
}

pub fn factor(expr: &str, o: &OptionsIn) -> Result<Factored> {
    let (expr, complete) = ops::factor_full(expr, &o.canon())?;
    Ok(Factored { expr, complete })
}

pub fn derivative(expr: &str, variable: &str, o: &OptionsIn) -> Result<Simplified> {
    Ok(ops::derivative(expr, variable, &o.canon())?.into())
}

/// A substitution value: an expression or a number.
#[derive(Clone, Debug)]
pub enum Substitution {
    Expr(String),
    Number(f64),
}

pub fn substitute(expr: &str, map: &[(String, Substitution)]) -> Result<String> {
    let pairs: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| match v {
            Substitution::Expr(s) => (k.clone(), s.clone()),
            Substitution::Number(f) => (k.clone(), format!("{f}")),
        })
        .collect();
    ops::substitute(expr, &pairs)
}

/// IEEE double evaluation (`1/0` is infinite, `0/0` NaN).
pub fn evaluate(expr: &str, scope: &HashMap<String, f64>) -> Result<f64> {
    ops::evaluate(expr, scope)
}

/// Equality saturation with the given rules only; the smallest term and why it stopped.
pub fn rewrite(expr: &str, o: &OptionsIn) -> Result<Rewritten> {
    let rules = o.rules(false)?;
    if rules.is_empty() {
        return Err(Error::invalid_arg("rules", "at least one rule is needed"));
    }
    let (expr, stop) = rewrite::rewrite(&ast::parse(expr)?, &rules, &o.rewrite_limits())?;
    Ok(Rewritten { expr, stop_reason: stop })
}
