//! Bindings for `omnitide-symbolic`: typed objects in and out (the crate owns every decision).
//! Options are converted where the work starts (on the pool for async calls), so a
//! `limits.timeMs` deadline counts from there.

mod types;

use std::collections::HashMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_symbolic::api;

use crate::error::guard;
use crate::task;
use types::*;

#[napi]
pub fn symbolic_parse(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicParsed> {
    let o = options_in(options);
    guard(|| api::parse(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_simplify(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicSimplified> {
    let o = options_in(options);
    guard(|| api::simplify(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_simplify_async<'e>(
    env: &'e Env,
    expr: String,
    options: Option<SymbolicOptions>,
) -> Result<PromiseRaw<'e, SymbolicSimplified>> {
    let o = options_in(options);
    task::spawn(env, move || api::simplify(&expr, &o), SymbolicSimplified::from)
}

/// Simplifies many expressions in one call (in parallel); failed items carry their error.
#[napi]
pub fn symbolic_simplify_many(
    exprs: Vec<String>,
    options: Option<SymbolicOptions>,
) -> Result<Vec<Either<SymbolicSimplified, SymbolicFailedItem>>> {
    let o = options_in(options);
    guard(|| Ok(api::simplify_many(&exprs, &o).into_iter().map(many_item).collect()))
}

#[napi]
pub fn symbolic_simplify_many_async<'e>(
    env: &'e Env,
    exprs: Vec<String>,
    options: Option<SymbolicOptions>,
) -> Result<PromiseRaw<'e, Vec<Either<SymbolicSimplified, SymbolicFailedItem>>>> {
    let o = options_in(options);
    task::spawn(env, move || Ok(api::simplify_many(&exprs, &o)), |v| v.into_iter().map(many_item).collect())
}

#[napi]
pub fn symbolic_expand(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicSimplified> {
    let o = options_in(options);
    guard(|| api::expand(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_rationalize(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicRationalized> {
    let o = options_in(options);
    guard(|| api::rationalize(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_factor(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicFactored> {
    let o = options_in(options);
    guard(|| api::factor(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_factor_async<'e>(env: &'e Env, expr: String, options: Option<SymbolicOptions>) -> Result<PromiseRaw<'e, SymbolicFactored>> {
    let o = options_in(options);
    task::spawn(env, move || api::factor(&expr, &o), SymbolicFactored::from)
}

#[napi]
pub fn symbolic_derivative(expr: String, variable: String, options: Option<SymbolicOptions>) -> Result<SymbolicSimplified> {
    let o = options_in(options);
    guard(|| api::derivative(&expr, &variable, &o).map(Into::into))
}

#[napi]
pub fn symbolic_substitute(expr: String, map: HashMap<String, Either<String, f64>>) -> Result<String> {
    let pairs: Vec<(String, api::Substitution)> = map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Either::A(s) => api::Substitution::Expr(s),
                Either::B(f) => api::Substitution::Number(f),
            };
            (k, v)
        })
        .collect();
    guard(|| api::substitute(&expr, &pairs))
}

/// IEEE double evaluation: `1/0` is Infinity, `0/0` NaN.
#[napi]
pub fn symbolic_evaluate(expr: String, scope: HashMap<String, f64>) -> Result<f64> {
    guard(|| api::evaluate(&expr, &scope))
}

#[napi]
pub fn symbolic_equivalent(a: String, b: String, options: Option<SymbolicOptions>) -> Result<SymbolicEquivalence> {
    let o = options_in(options);
    guard(|| api::equivalent(&a, &b, &o).map(Into::into))
}

#[napi]
pub fn symbolic_check_proof(
    a: String,
    b: String,
    proof: Vec<SymbolicStepIn>,
    options: Option<SymbolicOptions>,
) -> Result<SymbolicProofCheck> {
    let o = options_in(options);
    let steps: Vec<api::StepIn> = proof.into_iter().map(Into::into).collect();
    guard(|| api::check_proof(&a, &b, &steps, &o).map(Into::into))
}

#[napi]
pub fn symbolic_rewrite(expr: String, options: Option<SymbolicOptions>) -> Result<SymbolicRewritten> {
    let o = options_in(options);
    guard(|| api::rewrite(&expr, &o).map(Into::into))
}

#[napi]
pub fn symbolic_sat_solve(input: SymbolicSatInput, proof: bool) -> Result<SymbolicSatAnswer> {
    guard(|| api::sat_solve(&sat_in(input)?, proof).map(Into::into))
}

#[napi]
pub fn symbolic_sat_solve_async<'e>(env: &'e Env, input: SymbolicSatInput, proof: bool) -> Result<PromiseRaw<'e, SymbolicSatAnswer>> {
    let input = guard(|| sat_in(input))?;
    task::spawn(env, move || api::sat_solve(&input, proof), SymbolicSatAnswer::from)
}

#[napi]
pub fn symbolic_sat_check(cnf: SymbolicSatInput, drat: String) -> Result<SymbolicDratCheck> {
    guard(|| {
        let r = api::sat_check(&cnf_in(cnf)?, &drat)?;
        Ok(SymbolicDratCheck { valid: r.valid, lemmas: r.lemmas.min(u32::MAX as usize) as u32, reason: r.reason })
    })
}

#[napi]
pub fn symbolic_bool_canonical(expr: String) -> Result<String> {
    guard(|| api::bool_canonical(&expr))
}

#[napi]
pub struct SymbolicCompiled {
    inner: api::Compiled,
}

#[napi]
impl SymbolicCompiled {
    #[napi(constructor)]
    pub fn new(expr: String, variables: Vec<String>, options: Option<SymbolicOptions>) -> Result<Self> {
        let o = options_in(options);
        guard(|| Ok(SymbolicCompiled { inner: api::compile(&expr, &variables, &o.canon())? }))
    }
    /// Evaluates one point (values in variable order).
    #[napi]
    pub fn evaluate(&self, values: Vec<f64>) -> Result<f64> {
        guard(|| {
            if values.len() != self.inner.vars.len() {
                return Err(omnitide_common::Error::invalid_arg(
                    "values",
                    format!("expected {} values, got {}", self.inner.vars.len(), values.len()),
                ));
            }
            let mut st = Vec::new();
            Ok(self.inner.eval_row(&values, &mut st))
        })
    }
    /// Evaluates over columns (one Float64Array per variable) into `out`.
    #[napi]
    pub fn evaluate_many(&self, columns: Vec<Float64Array>, mut out: Float64Array) -> Result<()> {
        guard(|| {
            let cols: Vec<&[f64]> = columns.iter().map(|c| c.as_ref()).collect();
            // SAFETY: `out` is a JS-owned buffer alive for this synchronous call.
            let o: &mut [f64] = unsafe { out.as_mut() };
            self.inner.evaluate_many(&cols, o)
        })
    }
}
