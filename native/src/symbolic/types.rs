//! The JS shapes of `omnitide-symbolic`'s typed API and their conversions (nothing else).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_symbolic::api;
use std::collections::BTreeMap;

/// Limits are validated integers in TS; a JS number arrives as f64 (saturating cast).
fn count(v: Option<f64>) -> Option<u64> {
    v.map(|x| x as u64)
}

#[napi(object)]
pub struct SymbolicLimits {
    pub max_terms: Option<f64>,
    pub max_exponent: Option<f64>,
    pub max_depth: Option<f64>,
    pub nodes: Option<f64>,
    pub iterations: Option<f64>,
    pub time_ms: Option<f64>,
    pub factor_max_degree: Option<f64>,
    pub factor_time_ms: Option<f64>,
}

#[napi(object)]
pub struct SymbolicAssume {
    pub real: Option<bool>,
    pub positive: Option<Vec<String>>,
}

#[napi(object)]
pub struct SymbolicRuleSides {
    pub l: String,
    pub r: String,
    pub name: Option<String>,
}

#[napi(object)]
pub struct SymbolicOptions {
    pub assume: Option<SymbolicAssume>,
    pub allow_cancel: Option<bool>,
    pub trig: Option<bool>,
    pub rules: Option<Vec<Either<String, SymbolicRuleSides>>>,
    pub limits: Option<SymbolicLimits>,
    pub default_rules: Option<bool>,
}

pub fn options_in(o: Option<SymbolicOptions>) -> api::OptionsIn {
    let Some(o) = o else { return api::OptionsIn::default() };
    let (real, positive) = match o.assume {
        Some(a) => (a.real, a.positive.unwrap_or_default()),
        None => (None, Vec::new()),
    };
    let rules = o
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|r| match r {
            Either::A(text) => api::RuleIn::Text(text),
            Either::B(s) => api::RuleIn::Sides { l: s.l, r: s.r, name: s.name },
        })
        .collect();
    let limits = match o.limits {
        Some(l) => api::LimitsIn {
            max_terms: count(l.max_terms),
            max_exponent: count(l.max_exponent),
            max_depth: count(l.max_depth),
            nodes: count(l.nodes),
            iterations: count(l.iterations),
            time_ms: count(l.time_ms),
            factor_max_degree: count(l.factor_max_degree),
            factor_time_ms: count(l.factor_time_ms),
        },
        None => api::LimitsIn::default(),
    };
    api::OptionsIn { real, positive, allow_cancel: o.allow_cancel, trig: o.trig, rules, limits, default_rules: o.default_rules }
}

#[napi(object)]
pub struct SymbolicParsed {
    pub expr: String,
    pub tex: String,
    pub variables: Vec<String>,
}

impl From<api::Parsed> for SymbolicParsed {
    fn from(p: api::Parsed) -> Self {
        SymbolicParsed { expr: p.expr, tex: p.tex, variables: p.variables }
    }
}

#[napi(object)]
pub struct SymbolicStep {
    pub rule: String,
    #[napi(ts_type = "'forward' | 'backward'")]
    pub direction: Option<String>,
    pub subterm: String,
    pub result: String,
    pub term: Option<String>,
}

impl From<api::ProofStep> for SymbolicStep {
    fn from(s: api::ProofStep) -> Self {
        SymbolicStep {
            rule: s.rule,
            direction: s.direction.map(|d| d.name().to_string()),
            subterm: s.subterm,
            result: s.result,
            term: s.term,
        }
    }
}

fn steps(v: Vec<api::ProofStep>) -> Vec<SymbolicStep> {
    v.into_iter().map(SymbolicStep::from).collect()
}

/// A proof step handed back to `checkProof` (validated in TS; only `rule` is required).
#[napi(object)]
pub struct SymbolicStepIn {
    pub rule: String,
    pub subterm: Option<String>,
    pub result: Option<String>,
    pub term: Option<String>,
}

impl From<SymbolicStepIn> for api::StepIn {
    fn from(s: SymbolicStepIn) -> Self {
        api::StepIn { rule: s.rule, subterm: s.subterm, result: s.result, term: s.term }
    }
}

#[napi(object)]
pub struct SymbolicSimplified {
    pub expr: String,
    pub conditions: Vec<String>,
    pub steps: Option<Vec<SymbolicStep>>,
}

impl From<api::Simplified> for SymbolicSimplified {
    fn from(s: api::Simplified) -> Self {
        SymbolicSimplified { expr: s.expr, conditions: s.conditions, steps: s.steps.map(steps) }
    }
}

#[napi(object)]
pub struct SymbolicItemError {
    pub code: String,
    pub message: String,
}

/// A `simplifyMany` item that failed: its error in place of the result.
#[napi(object)]
pub struct SymbolicFailedItem {
    pub error: SymbolicItemError,
}

// Spelled out in signatures (an alias would not reach the generated .d.ts).
pub type SymbolicManyItem = Either<SymbolicSimplified, SymbolicFailedItem>;

pub fn many_item(r: omnitide_common::Result<api::Simplified>) -> SymbolicManyItem {
    match r {
        Ok(s) => Either::A(s.into()),
        Err(e) => Either::B(SymbolicFailedItem { error: SymbolicItemError { code: e.code.to_string(), message: e.message } }),
    }
}

#[napi(object)]
pub struct SymbolicRationalized {
    pub expr: String,
    pub numerator: String,
    pub denominator: String,
}

impl From<api::Rationalized> for SymbolicRationalized {
    fn from(r: api::Rationalized) -> Self {
        SymbolicRationalized { expr: r.expr, numerator: r.numerator, denominator: r.denominator }
    }
}

#[napi(object)]
pub struct SymbolicFactored {
    pub expr: String,
    pub complete: bool,
}

impl From<api::Factored> for SymbolicFactored {
    fn from(f: api::Factored) -> Self {
        SymbolicFactored { expr: f.expr, complete: f.complete }
    }
}

#[napi(discriminant = "status", discriminant_case = "lowercase")]
pub enum SymbolicEquivalence {
    Equal {
        #[napi(ts_type = "'rewrite' | 'normal-form'")]
        method: String,
        proof: Vec<SymbolicStep>,
        conditions: Vec<String>,
    },
    Different {
        counterexample: BTreeMap<String, f64>,
        #[napi(ts_type = "[number, number]")]
        values: Vec<f64>,
    },
    Unknown {
        reason: String,
    },
}

impl From<api::Equivalence> for SymbolicEquivalence {
    fn from(e: api::Equivalence) -> Self {
        match e {
            api::Equivalence::Equal { method, proof, conditions } => {
                SymbolicEquivalence::Equal { method: method.name().to_string(), proof: steps(proof), conditions }
            }
            api::Equivalence::Different { counterexample, values } => {
                SymbolicEquivalence::Different { counterexample, values: values.to_vec() }
            }
            api::Equivalence::Unknown { reason } => SymbolicEquivalence::Unknown { reason },
        }
    }
}

#[napi(object)]
pub struct SymbolicProofCheck {
    pub valid: bool,
    pub reason: Option<String>,
}

impl From<api::ProofCheck> for SymbolicProofCheck {
    fn from(c: api::ProofCheck) -> Self {
        SymbolicProofCheck { valid: c.valid, reason: c.reason }
    }
}

#[napi(object)]
pub struct SymbolicRewritten {
    pub expr: String,
    #[napi(ts_type = "'saturated' | 'iterationLimit' | 'nodeLimit' | 'timeLimit' | 'other'")]
    pub stop_reason: String,
}

impl From<api::Rewritten> for SymbolicRewritten {
    fn from(r: api::Rewritten) -> Self {
        SymbolicRewritten { expr: r.expr, stop_reason: r.stop_reason }
    }
}

/// SAT input: exactly one of CNF clauses, DIMACS text or a boolean expression.
#[napi(object)]
pub struct SymbolicSatInput {
    pub clauses: Option<Vec<Vec<i64>>>,
    pub dimacs: Option<String>,
    pub expr: Option<String>,
}

pub fn cnf_in(i: SymbolicSatInput) -> omnitide_common::Result<api::CnfIn> {
    match (i.clauses, i.dimacs) {
        (Some(c), _) => Ok(api::CnfIn::Clauses(c)),
        (None, Some(d)) => Ok(api::CnfIn::Dimacs(d)),
        (None, None) => Err(omnitide_common::Error::invalid_arg("cnf", "missing (dimacs or clauses)")),
    }
}

pub fn sat_in(mut i: SymbolicSatInput) -> omnitide_common::Result<api::SatIn> {
    match i.expr.take() {
        Some(e) => Ok(api::SatIn::Expr(e)),
        None => Ok(api::SatIn::Cnf(cnf_in(i)?)),
    }
}

#[napi(discriminant = "kind", discriminant_case = "lowercase")]
pub enum SymbolicSatAnswer {
    Sat { model: Either<Vec<i32>, BTreeMap<String, bool>> },
    Unsat { drat: Option<String>, cnf: Option<String> },
}

impl From<api::SatAnswer> for SymbolicSatAnswer {
    fn from(a: api::SatAnswer) -> Self {
        match a {
            api::SatAnswer::Sat { model: api::Model::Literals(l) } => SymbolicSatAnswer::Sat { model: Either::A(l) },
            api::SatAnswer::Sat { model: api::Model::Named(m) } => SymbolicSatAnswer::Sat { model: Either::B(m) },
            api::SatAnswer::Unsat { drat, cnf } => SymbolicSatAnswer::Unsat { drat, cnf },
        }
    }
}

#[napi(object)]
pub struct SymbolicDratCheck {
    pub valid: bool,
    pub lemmas: u32,
    pub reason: String,
}
