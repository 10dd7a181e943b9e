//! Equivalence with checkable proofs, and the proof checker.

use super::options::OptionsIn;
use super::results::{Direction, Equivalence, Method, ProofCheck, ProofStep};
use crate::canon::{self, Options};
use crate::{ast, eval, ops, rewrite};
use omnitide_common::{Error, Result};
use std::time::{Duration, Instant};

/// Conditions of the canonical forms of both sides (cancelled factors must be non-zero),
/// whichever method found the equality: a rewrite proof through `z/z` cancels `z` too.
fn side_conditions(na: &ast::Node, nb: &ast::Node, opts: &Options) -> Vec<String> {
    let mut conds = Vec::new();
    for n in [na, nb] {
        if let Ok(x) = canon::simplify_node(n, opts) {
            for c in x.conditions {
                if !conds.contains(&c) {
                    conds.push(c)
                }
            }
        }
    }
    conds
}

/// Equivalence: a numeric point separating them, else an e-graph rewrite proof (handed out
/// only after the independent checker accepted it), else the canonical normal form, else
/// unknown. The whole search shares one time budget (`limits.timeMs`, default 2000 ms).
pub fn equivalent(a: &str, b: &str, o: &OptionsIn) -> Result<Equivalence> {
    let start = Instant::now();
    let rules = o.rules(true)?;
    let lim = o.rewrite_limits();
    let mut opts = o.canon();
    let deadline = opts.limits.deadline.unwrap_or(start + Duration::from_millis(lim.time_ms));
    opts.limits.deadline = Some(deadline);
    let na = ast::parse_with_depth(a, opts.limits.max_depth)?;
    let nb = ast::parse_with_depth(b, opts.limits.max_depth)?;
    if let Some(v) = separate(&na, &nb) {
        return Ok(v);
    }
    let mut rw_reason = String::new();
    // the rewrite search gets half of what is left; the normal form the rest
    let left = deadline.saturating_duration_since(Instant::now());
    let mut rl = lim.clone();
    rl.time_ms = (left.as_millis() as u64 / 2).max(1);
    match rewrite::prove(&na, &nb, &rules, &rl) {
        Ok(rewrite::Equal::Yes { proof, .. }) => {
            let st: Vec<(String, String)> = proof.iter().map(|s| (s.rule.clone(), s.term.clone())).collect();
            match rewrite::check(&na, &nb, &st, &rules)? {
                Ok(()) => {
                    let conditions = side_conditions(&na, &nb, &opts);
                    let proof = proof.into_iter().map(ProofStep::from).collect();
                    return Ok(Equivalence::Equal { method: Method::Rewrite, proof, conditions });
                }
                Err(why) => rw_reason = format!("the rewrite proof did not replay ({why})"),
            }
        }
        Ok(rewrite::Equal::Unknown { reason }) => rw_reason = reason,
        Err(_) => {}
    }
    let mut v = normal_form(a, b, &na, &nb, &opts)?;
    if let Equivalence::Unknown { reason } = &mut v {
        if !rw_reason.is_empty() {
            *reason = format!("{reason}; {rw_reason}");
        }
    }
    Ok(v)
}

/// A numeric point where the two differ, as a `different` answer.
fn separate(na: &ast::Node, nb: &ast::Node) -> Option<Equivalence> {
    let pt = ops::numeric_counterexample(na, nb, 24, 1e-9)?;
    let va = eval::eval(na, &pt).unwrap_or(f64::NAN);
    let vb = eval::eval(nb, &pt).unwrap_or(f64::NAN);
    Some(Equivalence::Different { counterexample: pt.into_iter().collect(), values: [va, vb] })
}

fn normal_form(a: &str, b: &str, na: &ast::Node, nb: &ast::Node, opts: &Options) -> Result<Equivalence> {
    let sa = canon::simplify_node(na, opts);
    let sb = canon::simplify_node(nb, opts);
    match (sa, sb) {
        (Ok(x), Ok(y)) if x.expr == y.expr => {
            let mut conditions = x.conditions.clone();
            for c in y.conditions {
                if !conditions.contains(&c) {
                    conditions.push(c)
                }
            }
            let step = |subterm: &str, result: &str, direction| ProofStep {
                rule: "normal-form".into(),
                direction,
                subterm: subterm.into(),
                result: result.into(),
                term: None,
            };
            let proof = vec![step(a, &x.expr, None), step(b, &y.expr, Some(Direction::Backward))];
            Ok(Equivalence::Equal { method: Method::NormalForm, proof, conditions })
        }
        (Err(e), _) | (_, Err(e)) if e.code == omnitide_common::code::LIMIT => Ok(Equivalence::Unknown { reason: e.message }),
        (Err(e), _) | (_, Err(e)) => Err(e),
        _ => Ok(Equivalence::Unknown { reason: "no numeric point separates them and their normal forms differ".into() }),
    }
}

/// A proof step as a caller hands it back (every field but `rule` optional).
#[derive(Clone, Debug, Default)]
pub struct StepIn {
    pub rule: String,
    pub subterm: Option<String>,
    pub result: Option<String>,
    pub term: Option<String>,
}

impl From<ProofStep> for StepIn {
    fn from(s: ProofStep) -> Self {
        StepIn { rule: s.rule, subterm: Some(s.subterm), result: Some(s.result), term: s.term }
    }
}

/// Replays a proof: rewrite steps (with `term`) must chain from `a` to `b` by the rules;
/// normal-form steps must each normalise their side to the same result.
pub fn check_proof(a: &str, b: &str, steps: &[StepIn], o: &OptionsIn) -> Result<ProofCheck> {
    let rules = o.rules(true)?;
    let opts = o.canon();
    if steps.is_empty() {
        // no step: the two sides must be the same term
        let same = rewrite::same(&rewrite::node_to_term(&ast::parse(a)?)?, &rewrite::node_to_term(&ast::parse(b)?)?);
        return Ok(if same { ProofCheck::valid() } else { ProofCheck::invalid("an empty proof only proves a term equal to itself") });
    }
    if steps.iter().any(|s| s.term.is_some()) {
        let mut st = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let term = s.term.as_deref().ok_or_else(|| Error::invalid_arg(&format!("proof[{i}].term"), "must be a string"))?;
            if let Some(res) = s.result.as_deref() {
                let shown = rewrite::node_to_term(&ast::parse(res)?)?;
                if !rewrite::same(&shown, &rewrite::parse_sexpr(term)?) {
                    return Ok(ProofCheck::invalid(format!("step {i}: result '{res}' is not the step's term")));
                }
            }
            st.push((s.rule.clone(), term.to_string()));
        }
        return Ok(match rewrite::check(&ast::parse(a)?, &ast::parse(b)?, &st, &rules)? {
            Ok(()) => ProofCheck::valid(),
            Err(reason) => ProofCheck::invalid(reason),
        });
    }
    if steps.len() != 2 {
        return Ok(ProofCheck::invalid("expected two normal-form steps"));
    }
    let mut results = Vec::new();
    for (i, (st, side)) in steps.iter().zip([a, b]).enumerate() {
        if st.rule != "normal-form" {
            return Ok(ProofCheck::invalid(format!("step {i}: unknown rule '{}'", st.rule)));
        }
        let sub = st.subterm.as_deref().unwrap_or("");
        if ast::parse(sub)? != ast::parse(side)? {
            return Ok(ProofCheck::invalid(format!("step {i}: subterm is not the expression being proved")));
        }
        let res = st.result.as_deref().unwrap_or("");
        let got = canon::simplify(sub, &opts)?.expr;
        if got != res {
            return Ok(ProofCheck::invalid(format!("step {i}: '{sub}' normalises to '{got}', not '{res}'")));
        }
        results.push(got);
    }
    if results[0] != results[1] {
        return Ok(ProofCheck::invalid("the two normal forms differ"));
    }
    Ok(ProofCheck::valid())
}
