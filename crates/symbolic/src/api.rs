//! JSON entry points used by the N-API binding: `call(op, args)` with `args` a JSON object.
//! Keeps every decision in this crate; the binding only moves strings.

use crate::canon::{self, Options};
use crate::{ast, eval, ops, rewrite, sat};
use omnitide_common::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn s<'a>(a: &'a Map<String, Value>, k: &str) -> Result<&'a str> {
    a.get(k)
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::invalid_arg(k, "must be a string"))
}

/// Options from a JSON object `{ assume, allowCancel, trig, limits }` (what the TS layer
/// validated); `None` gives the defaults.
pub fn options_json(json: Option<&str>) -> Result<Options> {
    let Some(text) = json else {
        return Ok(Options::default());
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid_arg("options", format!("invalid JSON: {e}")))?;
    let mut m = Map::new();
    m.insert("options".into(), v);
    options(&m)
}

fn options(a: &Map<String, Value>) -> Result<Options> {
    let mut o = Options::default();
    if let Some(opts) = a.get("options").and_then(|v| v.as_object()) {
        if let Some(assume) = opts.get("assume").and_then(|v| v.as_object()) {
            if let Some(r) = assume.get("real").and_then(|v| v.as_bool()) {
                o.real = r;
            }
            if let Some(p) = assume.get("positive").and_then(|v| v.as_array()) {
                for x in p {
                    o.positive.insert(
                        x.as_str()
                            .ok_or_else(|| {
                                Error::invalid_arg("opts.assume.positive", "must be strings")
                            })?
                            .to_string(),
                    );
                }
            }
        }
        if let Some(b) = opts.get("allowCancel").and_then(|v| v.as_bool()) {
            o.allow_cancel = b;
        }
        if let Some(b) = opts.get("trig").and_then(|v| v.as_bool()) {
            o.trig = b;
        }
        if let Some(l) = opts.get("limits").and_then(|v| v.as_object()) {
            if let Some(x) = l.get("maxTerms").and_then(|v| v.as_u64()) {
                o.limits.max_terms = x as usize;
            }
            if let Some(x) = l.get("maxExponent").and_then(|v| v.as_u64()) {
                o.limits.max_exponent = x;
            }
            if let Some(x) = l.get("maxDepth").and_then(|v| v.as_u64()) {
                o.limits.max_depth = x as usize;
            }
            if let Some(x) = l.get("factorMaxDegree").and_then(|v| v.as_u64()) {
                o.limits.factor_max_degree = x as usize;
            }
            if let Some(x) = l.get("factorTimeMs").and_then(|v| v.as_u64()) {
                o.limits.factor_time_ms = x;
            }
            if let Some(x) = l.get("timeMs").and_then(|v| v.as_u64()) {
                o.limits.deadline = Some(Instant::now() + Duration::from_millis(x));
            }
        }
    }
    Ok(o)
}

fn scope(a: &Map<String, Value>) -> Result<HashMap<String, f64>> {
    let mut m = HashMap::new();
    if let Some(sc) = a.get("scope").and_then(|v| v.as_object()) {
        for (k, v) in sc {
            m.insert(
                k.clone(),
                v.as_f64()
                    .ok_or_else(|| Error::invalid_arg(&format!("scope.{k}"), "must be a number"))?,
            );
        }
    }
    Ok(m)
}

/// JSON has no Infinity/NaN: non-finite numbers travel as their JavaScript names (the TS
/// layer turns them back into numbers).
fn ieee(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else if x.is_nan() {
        json!("NaN")
    } else if x > 0.0 {
        json!("Infinity")
    } else {
        json!("-Infinity")
    }
}

fn simplified(r: canon::Simplified) -> Value {
    json!({ "expr": r.expr, "conditions": r.conditions })
}

/// User rules (`'lhs -> rhs'` strings or `{ l, r, name? }` objects) from `args.rules`.
fn user_rules(a: &Map<String, Value>) -> Result<Vec<rewrite::Rule>> {
    let mut out = Vec::new();
    let src = a
        .get("rules")
        .or_else(|| a.get("options").and_then(|o| o.get("rules")));
    if let Some(rs) = src.and_then(|v| v.as_array()) {
        for (i, r) in rs.iter().enumerate() {
            let rule = if let Some(s) = r.as_str() {
                rewrite::parse_rule(&format!("rule{i}"), s)?
            } else if let (Some(l), Some(rr)) = (
                r.get("l").and_then(|v| v.as_str()),
                r.get("r").and_then(|v| v.as_str()),
            ) {
                let name = r
                    .get("name")
                    .and_then(|v| v.as_str())
                    .map(String::from)
                    .unwrap_or_else(|| format!("rule{i}"));
                rewrite::parse_rule(&name, &format!("{l} -> {rr}"))?
            } else {
                return Err(Error::invalid_arg(
                    &format!("rules[{i}]"),
                    "must be 'lhs -> rhs' or { l, r }",
                ));
            };
            out.push(rule);
        }
    }
    Ok(out)
}

fn rw_limits(a: &Map<String, Value>) -> rewrite::RewriteLimits {
    let mut l = rewrite::RewriteLimits::default();
    if let Some(o) = a.get("options").and_then(|o| o.get("limits")) {
        if let Some(x) = o.get("nodes").and_then(|v| v.as_u64()) {
            l.nodes = x as usize;
        }
        if let Some(x) = o.get("iterations").and_then(|v| v.as_u64()) {
            l.iterations = x as usize;
        }
        if let Some(x) = o.get("timeMs").and_then(|v| v.as_u64()) {
            l.time_ms = x;
        }
    }
    l
}

fn all_rules(user: Vec<rewrite::Rule>, with_defaults: bool) -> Vec<rewrite::Rule> {
    let mut r = if with_defaults {
        rewrite::default_rules()
    } else {
        Vec::new()
    };
    r.extend(user);
    r
}

fn steps_json(proof: &[rewrite::Step]) -> Vec<Value> {
    proof.iter().map(|s| json!({ "rule": s.rule, "direction": s.direction, "subterm": s.subterm, "result": s.result, "term": s.term })).collect()
}

fn unknown(reason: String) -> Value {
    json!({ "status": "unknown", "equal": "unknown", "reason": reason })
}

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
pub fn equivalent_full(
    a: &str,
    b: &str,
    opts: &Options,
    rules: &[rewrite::Rule],
    lim: &rewrite::RewriteLimits,
) -> Result<Value> {
    let start = Instant::now();
    let mut opts = opts.clone();
    let deadline = opts
        .limits
        .deadline
        .unwrap_or(start + Duration::from_millis(lim.time_ms));
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
    match rewrite::prove(&na, &nb, rules, &rl) {
        Ok(rewrite::Equal::Yes { proof, .. }) => {
            let st: Vec<(String, String)> = proof
                .iter()
                .map(|s| (s.rule.clone(), s.term.clone()))
                .collect();
            match rewrite::check(&na, &nb, &st, rules)? {
                Ok(()) => {
                    let conds = side_conditions(&na, &nb, &opts);
                    return Ok(
                        json!({ "status": "equal", "equal": true, "method": "rewrite", "proof": steps_json(&proof), "conditions": conds }),
                    );
                }
                Err(why) => rw_reason = format!("the rewrite proof did not replay ({why})"),
            }
        }
        Ok(rewrite::Equal::Unknown { reason }) => rw_reason = reason,
        Err(_) => {}
    }
    normal_form(a, b, &na, &nb, &opts).map(|mut v| {
        if v["status"] == json!("unknown") && !rw_reason.is_empty() {
            v["reason"] = json!(format!(
                "{}; {}",
                v["reason"].as_str().unwrap_or(""),
                rw_reason
            ));
        }
        v
    })
}

/// A numeric point where the two differ, as a `different` answer.
fn separate(na: &ast::Node, nb: &ast::Node) -> Option<Value> {
    let pt = ops::numeric_counterexample(na, nb, 24, 1e-9)?;
    let va = eval::eval(na, &pt).unwrap_or(f64::NAN);
    let vb = eval::eval(nb, &pt).unwrap_or(f64::NAN);
    Some(
        json!({ "status": "different", "equal": false, "counterexample": pt, "values": [ieee(va), ieee(vb)] }),
    )
}

/// Equivalence by numeric separation, then the canonical normal form.
pub fn equivalent(a: &str, b: &str, opts: &Options) -> Result<Value> {
    let na = ast::parse_with_depth(a, opts.limits.max_depth)?;
    let nb = ast::parse_with_depth(b, opts.limits.max_depth)?;
    if let Some(v) = separate(&na, &nb) {
        return Ok(v);
    }
    normal_form(a, b, &na, &nb, opts)
}

fn normal_form(a: &str, b: &str, na: &ast::Node, nb: &ast::Node, opts: &Options) -> Result<Value> {
    let sa = canon::simplify_node(na, opts);
    let sb = canon::simplify_node(nb, opts);
    match (sa, sb) {
        (Ok(x), Ok(y)) if x.expr == y.expr => {
            let mut conds = x.conditions.clone();
            for c in y.conditions {
                if !conds.contains(&c) {
                    conds.push(c)
                }
            }
            Ok(json!({
                "status": "equal",
                "equal": true,
                "method": "normal-form",
                "proof": [
                    { "rule": "normal-form", "subterm": a, "result": x.expr },
                    { "rule": "normal-form", "subterm": b, "result": y.expr, "direction": "backward" }
                ],
                "conditions": conds
            }))
        }
        (Err(e), _) | (_, Err(e)) if e.code == omnitide_common::code::LIMIT => {
            Ok(unknown(e.message))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
        _ => Ok(unknown(
            "no numeric point separates them and their normal forms differ".into(),
        )),
    }
}

/// Replays a proof: each step's `subterm` must normalise to its `result`, steps must chain
/// from `a` to `b`.
pub fn check_proof(
    a: &str,
    b: &str,
    proof: &Value,
    opts: &Options,
    rules: &[rewrite::Rule],
) -> Result<Value> {
    let steps = proof
        .as_array()
        .ok_or_else(|| Error::invalid_arg("proof", "must be an array of steps"))?;
    if steps.is_empty() {
        // no step: the two sides must be the same term
        let same = rewrite::same(
            &rewrite::node_to_term(&ast::parse(a)?)?,
            &rewrite::node_to_term(&ast::parse(b)?)?,
        );
        return Ok(if same {
            json!({ "valid": true })
        } else {
            json!({ "valid": false, "reason": "an empty proof only proves a term equal to itself" })
        });
    }
    if steps.iter().any(|s| s.get("term").is_some()) {
        let mut st = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let rule = s.get("rule").and_then(|v| v.as_str()).ok_or_else(|| {
                Error::invalid_arg(&format!("proof[{i}].rule"), "must be a string")
            })?;
            let term = s.get("term").and_then(|v| v.as_str()).ok_or_else(|| {
                Error::invalid_arg(&format!("proof[{i}].term"), "must be a string")
            })?;
            if let Some(res) = s.get("result").and_then(|v| v.as_str()) {
                let shown = rewrite::node_to_term(&ast::parse(res)?)?;
                if !rewrite::same(&shown, &rewrite::parse_sexpr(term)?) {
                    return Ok(
                        json!({ "valid": false, "reason": format!("step {i}: result '{res}' is not the step's term") }),
                    );
                }
            }
            st.push((rule.to_string(), term.to_string()));
        }
        return Ok(
            match rewrite::check(&ast::parse(a)?, &ast::parse(b)?, &st, rules)? {
                Ok(()) => json!({ "valid": true }),
                Err(reason) => json!({ "valid": false, "reason": reason }),
            },
        );
    }
    if steps.len() != 2 {
        return Ok(json!({ "valid": false, "reason": "expected two normal-form steps" }));
    }
    let mut results = Vec::new();
    for (i, (st, side)) in steps.iter().zip([a, b]).enumerate() {
        let rule = st.get("rule").and_then(|v| v.as_str()).unwrap_or("");
        if rule != "normal-form" {
            return Ok(
                json!({ "valid": false, "reason": format!("step {i}: unknown rule '{rule}'") }),
            );
        }
        let sub = st.get("subterm").and_then(|v| v.as_str()).unwrap_or("");
        if ast::parse(sub)? != ast::parse(side)? {
            return Ok(
                json!({ "valid": false, "reason": format!("step {i}: subterm is not the expression being proved") }),
            );
        }
        let res = st.get("result").and_then(|v| v.as_str()).unwrap_or("");
        let got = canon::simplify(sub, opts)?.expr;
        if got != res {
            return Ok(
                json!({ "valid": false, "reason": format!("step {i}: '{sub}' normalises to '{got}', not '{res}'") }),
            );
        }
        results.push(got);
    }
    if results[0] != results[1] {
        return Ok(json!({ "valid": false, "reason": "the two normal forms differ" }));
    }
    Ok(json!({ "valid": true }))
}

fn cnf_arg(a: &Map<String, Value>) -> Result<Option<sat::Cnf>> {
    if let Some(d) = a.get("dimacs").and_then(|v| v.as_str()) {
        return Ok(Some(sat::parse_dimacs(d)?));
    }
    if let Some(cs) = a.get("clauses").and_then(|v| v.as_array()) {
        let mut out = Vec::with_capacity(cs.len());
        for (i, c) in cs.iter().enumerate() {
            let arr = c.as_array().ok_or_else(|| {
                Error::invalid_arg(&format!("cnf[{i}]"), "must be an array of literals")
            })?;
            let mut cl = Vec::with_capacity(arr.len());
            for l in arr {
                let v = l
                    .as_i64()
                    .filter(|v| *v != 0 && v.abs() <= 50_000_000)
                    .ok_or_else(|| {
                        Error::invalid_arg(&format!("cnf[{i}]"), "literals are non-zero integers")
                    })?;
                cl.push(v as i32);
            }
            out.push(cl);
        }
        return Ok(Some(sat::from_clauses(out)?));
    }
    Ok(None)
}

pub fn call(op: &str, args: &str) -> Result<String> {
    let v: Value = serde_json::from_str(args)
        .map_err(|e| Error::invalid_arg("args", format!("invalid JSON: {e}")))?;
    let a = v
        .as_object()
        .ok_or_else(|| Error::invalid_arg("args", "must be an object"))?;
    let out = match op {
        "parse" => {
            let n = ast::parse_with_depth(s(a, "expr")?, options(a)?.limits.max_depth)?;
            json!({ "expr": ast::to_string(&n), "tex": ast::to_tex(&n), "variables": n.vars() })
        }
        "simplify" => {
            let user = user_rules(a)?;
            if user.is_empty() {
                simplified(canon::simplify(s(a, "expr")?, &options(a)?)?)
            } else {
                let input = ast::parse(s(a, "expr")?)?;
                let lim = rw_limits(a);
                let (e, _) = rewrite::rewrite(&input, &user, &lim)?;
                // the steps from the input to the result, as a replayable proof
                let steps = match rewrite::prove(&input, &ast::parse(&e)?, &user, &lim)? {
                    rewrite::Equal::Yes { proof, .. } => steps_json(&proof),
                    _ => Vec::new(),
                };
                json!({ "expr": e, "conditions": [], "steps": steps })
            }
        }
        "simplifyMany" => {
            let o = options(a)?;
            let exprs = a
                .get("exprs")
                .and_then(|v| v.as_array())
                .ok_or_else(|| Error::invalid_arg("exprs", "must be an array of strings"))?;
            let mut strs = Vec::with_capacity(exprs.len());
            for (i, e) in exprs.iter().enumerate() {
                strs.push(e.as_str().ok_or_else(|| {
                    Error::invalid_arg(&format!("exprs[{i}]"), "must be a string")
                })?);
            }
            use rayon::prelude::*;
            let out: Vec<Value> = strs
                .par_iter()
                .with_min_len(16)
                .map(|e| match canon::simplify(e, &o) {
                    Ok(r) => simplified(r),
                    Err(err) => json!({ "error": { "code": err.code, "message": err.message } }),
                })
                .collect();
            Value::Array(out)
        }
        "expand" => {
            let mut o = options(a)?;
            o.trig = false;
            simplified(canon::simplify(s(a, "expr")?, &o)?)
        }
        "rationalize" => {
            let (w, n, d) = canon::rationalize(s(a, "expr")?, &options(a)?)?;
            json!({ "expr": w, "numerator": n, "denominator": d })
        }
        "factor" => {
            let (e, complete) = ops::factor_full(s(a, "expr")?, &options(a)?)?;
            json!({ "expr": e, "complete": complete })
        }
        "derivative" => simplified(ops::derivative(
            s(a, "expr")?,
            s(a, "variable")?,
            &options(a)?,
        )?),
        "substitute" => {
            let m = a
                .get("map")
                .and_then(|v| v.as_object())
                .ok_or_else(|| Error::invalid_arg("map", "must be an object of strings"))?;
            let pairs: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|s| (k.clone(), s.to_string()))
                        .or_else(|| v.as_f64().map(|f| (k.clone(), format!("{f}"))))
                        .ok_or_else(|| {
                            Error::invalid_arg(&format!("map.{k}"), "must be a string or number")
                        })
                })
                .collect::<Result<_>>()?;
            json!({ "expr": ops::substitute(s(a, "expr")?, &pairs)? })
        }
        "evaluate" => json!({ "value": ieee(ops::evaluate(s(a, "expr")?, &scope(a)?)?) }),
        "equivalent" => {
            let rules = all_rules(
                user_rules(a)?,
                a.get("defaultRules")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
            );
            equivalent_full(s(a, "a")?, s(a, "b")?, &options(a)?, &rules, &rw_limits(a))?
        }
        "checkProof" => {
            let rules = all_rules(
                user_rules(a)?,
                a.get("defaultRules")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
            );
            check_proof(
                s(a, "a")?,
                s(a, "b")?,
                a.get("proof").unwrap_or(&Value::Null),
                &options(a)?,
                &rules,
            )?
        }
        "rewrite" => {
            let rules = all_rules(
                user_rules(a)?,
                a.get("defaultRules")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            );
            if rules.is_empty() {
                return Err(Error::invalid_arg("rules", "at least one rule is needed"));
            }
            let (e, stop) = rewrite::rewrite(&ast::parse(s(a, "expr")?)?, &rules, &rw_limits(a))?;
            json!({ "expr": e, "stopReason": stop })
        }
        "satSolve" => {
            let want_proof = a.get("proof").and_then(|v| v.as_bool()).unwrap_or(true);
            if let Some(cnf) = cnf_arg(a)? {
                match sat::solve(&cnf, want_proof)? {
                    sat::SatResult::Sat { model } => json!({ "sat": true, "model": model }),
                    sat::SatResult::Unsat { drat } if want_proof => {
                        json!({ "sat": false, "proof": { "format": "drat", "text": drat } })
                    }
                    sat::SatResult::Unsat { .. } => json!({ "sat": false, "proof": null }),
                }
            } else {
                match sat::solve_expr(s(a, "expr")?)? {
                    sat::ExprSat::Sat { model } => json!({ "sat": true, "model": model }),
                    sat::ExprSat::Unsat { drat, cnf } => {
                        json!({ "sat": false, "proof": { "format": "drat", "text": drat }, "cnf": cnf.to_dimacs() })
                    }
                }
            }
        }
        "satCheck" => {
            let cnf = cnf_arg(a)?
                .ok_or_else(|| Error::invalid_arg("cnf", "missing (dimacs or clauses)"))?;
            let r = sat::check_drat(&cnf, s(a, "proof")?);
            json!({ "valid": r.valid, "lemmas": r.lemmas, "reason": r.reason })
        }
        "boolCanonical" => json!({ "expr": sat::bool_canonical(s(a, "expr")?)? }),
        _ => {
            return Err(Error::invalid_arg(
                "op",
                format!("unknown operation '{op}'"),
            ))
        }
    };
    Ok(out.to_string())
}

/// A compiled expression: the canonical rational function in Horner form over its atoms,
/// each atom (`x`, `sin(x + 1)`, `sqrt(y)`, ...) computed once and kept in a register
/// (common subexpressions are shared because canonical atoms are hash-consed).
pub struct Compiled {
    pub vars: Vec<String>,
    code: Vec<Instr>,
    nregs: usize,
    /// Conditions under which the compiled (simplified) form equals the input.
    pub conditions: Vec<String>,
}

#[derive(Clone, Debug)]
enum Instr {
    Const(f64),
    Var(usize),
    Load(usize),
    Store(usize),
    Neg,
    Bin(ast::BinOp),
    Call(String, usize),
}

struct Emitter<'a> {
    ctx: canon::Ctx,
    vars: &'a [String],
    code: Vec<Instr>,
    regs: HashMap<u32, usize>,
}

impl Emitter<'_> {
    fn atom(&mut self, id: u32) -> Result<()> {
        if let Some(&r) = self.regs.get(&id) {
            self.code.push(Instr::Load(r));
            return Ok(());
        }
        let node = self.ctx.atoms[id as usize].node.clone();
        if let ast::Node::Sym(name) = &node {
            if let Some(i) = self.vars.iter().position(|v| v == name) {
                self.code.push(Instr::Var(i));
                return Ok(());
            }
        }
        self.node(&node)?;
        let r = self.regs.len();
        self.regs.insert(id, r);
        self.code.push(Instr::Store(r));
        Ok(())
    }
    fn node(&mut self, n: &ast::Node) -> Result<()> {
        use ast::Node;
        use num_traits::ToPrimitive;
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
            match n {
                Node::Num(r) => self.code.push(Instr::Const(r.to_f64().unwrap_or(f64::NAN))),
                Node::Sym(s) => match self.vars.iter().position(|v| v == s) {
                    Some(i) => self.code.push(Instr::Var(i)),
                    None => self
                        .code
                        .push(Instr::Const(eval::eval(n, &HashMap::new())?)),
                },
                Node::Call(f, args) => {
                    for a in args {
                        let r = self.ctx.to_rf(a)?;
                        self.rf(&r)?;
                    }
                    eval::apply(f, &vec![0.5; args.len()])?;
                    self.code.push(Instr::Call(f.clone(), args.len()));
                }
                Node::Bin(op @ (ast::BinOp::Pow | ast::BinOp::Mod), a, b) => {
                    let (ra, rb) = (self.ctx.to_rf(a)?, self.ctx.to_rf(b)?);
                    self.rf(&ra)?;
                    self.rf(&rb)?;
                    self.code.push(Instr::Bin(*op));
                }
                Node::Neg(a) => {
                    self.node(a)?;
                    self.code.push(Instr::Neg);
                }
                Node::Bin(op, a, b) => {
                    self.node(a)?;
                    self.node(b)?;
                    self.code.push(Instr::Bin(*op));
                }
                Node::Factorial(a) => {
                    self.node(a)?;
                    self.code.push(Instr::Call("factorial".into(), 1));
                }
                Node::Bool(b) => self.code.push(Instr::Const(*b as u8 as f64)),
                Node::Not(_) => {
                    return Err(Error::invalid_arg("expr", "cannot compile boolean 'not'"))
                }
            }
            Ok(())
        })
    }
    /// Horner form in the variable that occurs in the most terms.
    fn poly(&mut self, p: &crate::poly::Poly) -> Result<()> {
        use num_traits::ToPrimitive;
        if let Some(c) = p.const_value() {
            self.code.push(Instr::Const(c.to_f64().unwrap_or(f64::NAN)));
            return Ok(());
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for m in p.terms.keys() {
            for &(v, _) in m {
                *counts.entry(v).or_default() += 1;
            }
        }
        let v = counts
            .iter()
            .max_by_key(|(v, c)| (**c, std::cmp::Reverse(**v)))
            .map(|(v, _)| *v)
            .unwrap();
        let cs = p.coeffs_in(v);
        let d = cs.len() - 1;
        self.poly(&cs[d])?;
        for k in (0..d).rev() {
            self.atom(v)?;
            self.code.push(Instr::Bin(ast::BinOp::Mul));
            if !cs[k].is_zero() {
                self.poly(&cs[k])?;
                self.code.push(Instr::Bin(ast::BinOp::Add));
            }
        }
        Ok(())
    }
    fn rf(&mut self, r: &canon::Rf) -> Result<()> {
        self.poly(&r.num)?;
        if !r.den.is_one() {
            self.poly(&r.den)?;
            self.code.push(Instr::Bin(ast::BinOp::Div));
        }
        Ok(())
    }
}

pub fn compile(expr: &str, vars: &[String], opts: &Options) -> Result<Compiled> {
    let n = ast::parse_with_depth(expr, opts.limits.max_depth)?;
    canon::check_tree(&n, &opts.limits)?;
    for v in n.vars() {
        if !vars.contains(&v) {
            return Err(Error::invalid_arg(
                "variables",
                format!("'{v}' occurs in the expression but is not listed"),
            ));
        }
    }
    for (i, v) in vars.iter().enumerate() {
        if vars[..i].contains(v) {
            return Err(Error::invalid_arg(
                "variables",
                format!("'{v}' is listed twice"),
            ));
        }
    }
    let mut o = opts.clone();
    o.trig = false;
    let mut e = Emitter {
        ctx: canon::Ctx::new(o),
        vars,
        code: Vec::new(),
        regs: HashMap::new(),
    };
    let r = e.ctx.to_rf(&n)?;
    e.rf(&r)?;
    let conditions = e.ctx.conditions.clone();
    Ok(Compiled {
        vars: vars.to_vec(),
        code: e.code,
        nregs: e.regs.len(),
        conditions,
    })
}

impl Compiled {
    pub fn eval_row(&self, row: &[f64], stack: &mut Vec<f64>) -> f64 {
        let mut small = [0.0f64; 16];
        let mut heap: Vec<f64> = if self.nregs > 16 {
            vec![0.0; self.nregs]
        } else {
            Vec::new()
        };
        let regs: &mut [f64] = if self.nregs > 16 {
            &mut heap
        } else {
            &mut small
        };
        stack.clear();
        for ins in &self.code {
            match ins {
                Instr::Load(r) => stack.push(regs[*r]),
                Instr::Store(r) => regs[*r] = *stack.last().unwrap(),
                Instr::Const(c) => stack.push(*c),
                Instr::Var(i) => stack.push(row[*i]),
                Instr::Neg => {
                    let x = stack.pop().unwrap();
                    stack.push(-x)
                }
                Instr::Bin(op) => {
                    let y = stack.pop().unwrap();
                    let x = stack.pop().unwrap();
                    stack.push(match op {
                        ast::BinOp::Add => x + y,
                        ast::BinOp::Sub => x - y,
                        ast::BinOp::Mul => x * y,
                        ast::BinOp::Div => x / y,
                        ast::BinOp::Pow => eval::pow(x, y),
                        ast::BinOp::Mod => x - y * (x / y).floor(),
                        _ => f64::NAN,
                    })
                }
                Instr::Call(f, k) => {
                    let at = stack.len() - k;
                    let r = eval::apply(f, &stack[at..]).unwrap_or(f64::NAN);
                    stack.truncate(at);
                    stack.push(r)
                }
            }
        }
        stack.pop().unwrap_or(f64::NAN)
    }
    /// Evaluates over columns (one slice per variable, all of equal length).
    pub fn evaluate_many(&self, cols: &[&[f64]], out: &mut [f64]) -> Result<()> {
        if cols.len() != self.vars.len() {
            return Err(Error::invalid_arg(
                "columns",
                format!("expected {} columns, got {}", self.vars.len(), cols.len()),
            ));
        }
        for (i, c) in cols.iter().enumerate() {
            if c.len() != out.len() {
                return Err(Error::invalid_arg(
                    &format!("columns[{i}]"),
                    format!("length {} differs from {}", c.len(), out.len()),
                ));
            }
        }
        let mut row = vec![0.0; cols.len()];
        let mut stack = Vec::with_capacity(16);
        for r in 0..out.len() {
            for (j, c) in cols.iter().enumerate() {
                row[j] = c[r];
            }
            out[r] = self.eval_row(&row, &mut stack);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn compiled_matches_tree_evaluation() {
        let vars = vec!["x".to_string(), "y".to_string()];
        for e in [
            "(x+1)^5 - y",
            "sin(x)^2 + 3 sin(x) + 1",
            "1/(x^2+1) + y/(x-3)",
            "sqrt(x^2 + y^2) * exp(x) + exp(x)",
            "x^3 y^2 - 2 x y + 7",
        ] {
            let c = compile(e, &vars, &Options::default()).unwrap();
            let n = ast::parse(e).unwrap();
            let mut st = Vec::new();
            for (x, y) in [(0.3, -1.2), (1.7, 2.5), (-2.2, 0.4)] {
                let mut sc = HashMap::new();
                sc.insert("x".to_string(), x);
                sc.insert("y".to_string(), y);
                let want = eval::eval(&n, &sc).unwrap();
                let got = c.eval_row(&[x, y], &mut st);
                assert!(
                    (want - got).abs() <= 1e-9 * want.abs().max(1.0),
                    "{e}: {want} vs {got}"
                );
            }
        }
        // sin(x) is computed once
        let c = compile("sin(x)^2 + 3 sin(x) + 1", &vars, &Options::default()).unwrap();
        assert_eq!(
            c.code
                .iter()
                .filter(|i| matches!(i, Instr::Call(..)))
                .count(),
            1
        );
        assert!(compile("x + z", &vars, &Options::default()).is_err());
        let c = compile("x", &vars, &Options::default()).unwrap();
        let mut out = vec![0.0; 3];
        c.evaluate_many(&[&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]], &mut out)
            .unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        assert!(c.evaluate_many(&[&[1.0]], &mut out).is_err());
    }
}
