//! Bindings for `omnitide-symbolic`: JSON in, JSON out (the crate owns every decision).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_symbolic::api;

use crate::error::guard;
use crate::task;

/// Runs one symbolic operation synchronously (`op` names it, `args` is a JSON object).
#[napi]
pub fn symbolic_call(op: String, args: String) -> Result<String> {
    guard(|| api::call(&op, &args))
}

/// The same operation on the libuv pool (SAT, batches, large expansions).
#[napi]
pub fn symbolic_call_async<'e>(env: &'e Env, op: String, args: String) -> Result<PromiseRaw<'e, String>> {
    task::spawn(env, move || api::call(&op, &args), std::convert::identity)
}

#[napi]
pub struct SymbolicCompiled {
    inner: api::Compiled,
}

#[napi]
impl SymbolicCompiled {
    #[napi(constructor)]
    pub fn new(expr: String, variables: Vec<String>, options: Option<String>) -> Result<Self> {
        guard(|| {
            let opts = api::options_json(options.as_deref())?;
            Ok(SymbolicCompiled { inner: api::compile(&expr, &variables, &opts)? })
        })
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
