//! Rule-based rewriting with equality saturation (egg) and explanations, plus an independent
//! proof replayer that does not use egg.
//!
//! Rules use mathjs's rule-string form, `'n1*n3 + n2*n3 -> (n1+n2)*n3'`: names `n`, `n1`, ...
//! match any subterm, `c`, `c1`, ... only numbers, `v`, `v1`, ... only non-numbers.
//! Terms are s-expressions over `+ - * / ^ neg` and function names; numbers are leaves.

use crate::ast::{self, BinOp, Node};
use egg::{Applier, EGraph, Id, Pattern, PatternAst, RecExpr, Rewrite, Runner, Subst, Symbol, SymbolLang, Var};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use omnitide_common::{Error, Result};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

type EG = EGraph<SymbolLang, ()>;

// ---------------------------------------------------------------- term conversion

fn parse_num(s: &str) -> Option<BigRational> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == '/') {
        return None;
    }
    let r = match body.split_once('/') {
        Some((a, b)) => {
            let d: BigInt = b.parse().ok()?;
            if d.is_zero() {
                return None;
            }
            BigRational::new(a.parse().ok()?, d)
        }
        None => BigRational::from_integer(body.parse().ok()?),
    };
    Some(if neg { -r } else { r })
}

/// Normalised constant: `-(2)` is the number -2, `1/2` (two numbers) is the number 1/2.
fn const_of(n: &Node) -> Option<BigRational> {
    match n {
        Node::Num(r) => Some(r.clone()),
        Node::Neg(a) => const_of(a).map(|r| -r),
        Node::Bin(BinOp::Div, a, b) => match (a.as_ref(), b.as_ref()) {
            (Node::Num(x), Node::Num(y)) if !y.is_zero() => Some(x / y),
            _ => None,
        },
        _ => None,
    }
}

/// A plain tree used by both the egg side and the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub op: String,
    pub kids: Vec<Term>,
}

impl Term {
    pub fn leaf(s: &str) -> Term {
        Term { op: s.to_string(), kids: Vec::new() }
    }
    pub fn to_sexpr(&self) -> String {
        crate::ast::grow(|| {
            if self.kids.is_empty() {
                self.op.clone()
            } else {
                let ks: Vec<String> = self.kids.iter().map(|k| k.to_sexpr()).collect();
                format!("({} {})", self.op, ks.join(" "))
            }
        })
    }
    pub fn to_node(&self) -> Node {
        crate::ast::grow(|| {
            if self.kids.is_empty() {
                if let Some(r) = parse_num(&self.op) {
                    return Node::Num(r);
                }
                return Node::Sym(self.op.clone());
            }
            let k: Vec<Node> = self.kids.iter().map(|t| t.to_node()).collect();
            let b = |op| ast::bin(op, k[0].clone(), k[1].clone());
            match (self.op.as_str(), k.len()) {
                ("+", 2) => b(BinOp::Add),
                ("-", 2) => b(BinOp::Sub),
                ("*", 2) => b(BinOp::Mul),
                ("/", 2) => b(BinOp::Div),
                ("^", 2) => b(BinOp::Pow),
                ("neg", 1) => Node::Neg(Box::new(k[0].clone())),
                _ => Node::Call(self.op.clone(), k),
            }
        })
    }
    pub fn to_mathjs(&self) -> String {
        ast::to_string(&self.to_node())
    }
}

pub fn node_to_term(n: &Node) -> Result<Term> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
        if let Some(r) = const_of(n) {
            return Ok(Term::leaf(&ast::fmt_rational(&r)));
        }
        Ok(match n {
            Node::Sym(s) => Term::leaf(s),
            Node::Neg(a) => Term { op: "neg".into(), kids: vec![node_to_term(a)?] },
            Node::Bin(op, a, b) => {
                let o = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    BinOp::Pow => "^",
                    _ => return Err(Error::invalid_arg("expr", format!("operator '{}' is not supported in rewriting", op.symbol()))),
                };
                Term { op: o.into(), kids: vec![node_to_term(a)?, node_to_term(b)?] }
            }
            Node::Call(f, args) => Term { op: f.clone(), kids: args.iter().map(node_to_term).collect::<Result<_>>()? },
            _ => return Err(Error::invalid_arg("expr", "booleans and factorials are not supported in rewriting")),
        })
    })
}

pub fn parse_sexpr(s: &str) -> Result<Term> {
    let toks: Vec<String> = s.replace('(', " ( ").replace(')', " ) ").split_whitespace().map(String::from).collect();
    let mut pos = 0;
    fn go(t: &[String], pos: &mut usize) -> Result<Term> {
        let bad = || Error::invalid_arg("proof", "malformed s-expression term");
        let tok = t.get(*pos).ok_or_else(bad)?;
        *pos += 1;
        if tok == "(" {
            let op = t.get(*pos).ok_or_else(bad)?.clone();
            *pos += 1;
            let mut kids = Vec::new();
            while t.get(*pos).ok_or_else(bad)? != ")" {
                kids.push(go(t, pos)?);
            }
            *pos += 1;
            Ok(Term { op, kids })
        } else if tok == ")" {
            Err(bad())
        } else {
            Ok(Term::leaf(tok))
        }
    }
    let r = go(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(Error::invalid_arg("proof", "trailing tokens in s-expression"));
    }
    Ok(r)
}

fn term_to_recexpr(t: &Term, out: &mut RecExpr<SymbolLang>) -> Id {
    crate::ast::grow(|| {
        let kids: Vec<Id> = t.kids.iter().map(|k| term_to_recexpr(k, out)).collect();
        out.add(SymbolLang::new(t.op.as_str(), kids))
    })
}

fn recexpr_to_term(e: &RecExpr<SymbolLang>) -> Term {
    fn go(e: &RecExpr<SymbolLang>, id: Id) -> Term {
        let n = &e[id];
        Term { op: n.op.to_string(), kids: n.children.iter().map(|&c| go(e, c)).collect() }
    }
    go(e, Id::from(e.as_ref().len() - 1))
}

// ---------------------------------------------------------------- rules

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub lhs: Term,
    pub rhs: Term,
    /// Also usable right-to-left.
    pub bidirectional: bool,
}

fn is_wild(s: &str) -> Option<char> {
    let c = s.chars().next()?;
    if matches!(c, 'n' | 'c' | 'v') && s[1..].chars().all(|d| d.is_ascii_digit()) {
        Some(c)
    } else {
        None
    }
}

fn pat_string(t: &Term) -> String {
    if t.kids.is_empty() {
        if is_wild(&t.op).is_some() {
            return format!("?{}", t.op);
        }
        return t.op.clone();
    }
    let ks: Vec<String> = t.kids.iter().map(pat_string).collect();
    format!("({} {})", t.op, ks.join(" "))
}

/// Parses `'lhs -> rhs'` (or `'lhs <-> rhs'` for both directions).
pub fn parse_rule(name: &str, s: &str) -> Result<Rule> {
    let (l, r, bi) = if let Some((l, r)) = s.split_once("<->") {
        (l, r, true)
    } else if let Some((l, r)) = s.split_once("->") {
        (l, r, false)
    } else {
        return Err(Error::invalid_arg("rules", format!("rule '{s}' needs 'lhs -> rhs'")));
    };
    let lhs =
        node_to_term(&ast::parse(l.trim()).map_err(|e| Error::invalid_arg("rules", format!("rule '{s}' left side: {}", e.message)))?)?;
    let rhs =
        node_to_term(&ast::parse(r.trim()).map_err(|e| Error::invalid_arg("rules", format!("rule '{s}' right side: {}", e.message)))?)?;
    let mut lv = Vec::new();
    wilds(&lhs, &mut lv);
    let mut rv = Vec::new();
    wilds(&rhs, &mut rv);
    if let Some(v) = rv.iter().find(|v| !lv.contains(v)) {
        return Err(Error::invalid_arg("rules", format!("rule '{s}': '{v}' appears only on the right side")));
    }
    if bi {
        if let Some(v) = lv.iter().find(|v| !rv.contains(v)) {
            return Err(Error::invalid_arg("rules", format!("rule '{s}': '{v}' appears only on the left side of a two-way rule")));
        }
    }
    if lhs.kids.is_empty() && is_wild(&lhs.op).is_some() {
        return Err(Error::invalid_arg("rules", format!("rule '{s}': the left side may not be a bare wildcard")));
    }
    Ok(Rule { name: name.to_string(), lhs, rhs, bidirectional: bi })
}

fn wilds(t: &Term, out: &mut Vec<String>) {
    if t.kids.is_empty() && is_wild(&t.op).is_some() && !out.contains(&t.op) {
        out.push(t.op.clone());
    }
    t.kids.iter().for_each(|k| wilds(k, out));
}

/// The default algebra rules (each a named, checkable equation).
pub fn default_rules() -> Vec<Rule> {
    let r = |name: &str, s: &str| parse_rule(name, s).expect("built-in rule");
    vec![
        r("comm-add", "n1 + n2 -> n2 + n1"),
        r("comm-mul", "n1 * n2 -> n2 * n1"),
        r("assoc-add", "n1 + (n2 + n3) <-> (n1 + n2) + n3"),
        r("assoc-mul", "n1 * (n2 * n3) <-> (n1 * n2) * n3"),
        r("distribute", "n1 * (n2 + n3) <-> n1 * n2 + n1 * n3"),
        r("sub-def", "n1 - n2 <-> n1 + -1 * n2"),
        r("neg-def", "-n1 <-> -1 * n1"),
        r("add-zero", "n1 + 0 -> n1"),
        r("mul-one", "n1 * 1 -> n1"),
        r("mul-zero", "n1 * 0 -> 0"),
        r("add-self", "n1 + n1 <-> 2 * n1"),
        r("pow-one", "n1 ^ 1 -> n1"),
        r("pow-two", "n1 ^ 2 <-> n1 * n1"),
        r("pow-mul", "n1 ^ n2 * n1 <-> n1 ^ (n2 + 1)"),
        r("div-def", "n1 / n2 <-> n1 * n2 ^ -1"),
        r("pythagoras", "sin(n1) ^ 2 + cos(n1) ^ 2 -> 1"),
        r("exp-add", "exp(n1 + n2) <-> exp(n1) * exp(n2)"),
    ]
}

/// Constant folding is a rule too: `c1 op c2 -> value`, checked by exact arithmetic.
pub const FOLD_RULES: [&str; 3] = ["fold-add", "fold-mul", "fold-pow"];

fn num_of(eg: &EG, id: Id) -> Option<BigRational> {
    eg[id].nodes.iter().find_map(|n| if n.children.is_empty() { parse_num(n.op.as_str()) } else { None })
}

fn fold(op: &str, a: &BigRational, b: &BigRational) -> Option<BigRational> {
    match op {
        "+" => Some(a + b),
        "*" => Some(a * b),
        "^" => {
            if !b.is_integer() {
                return None;
            }
            let e = b.to_integer().to_i32()?;
            // 0^0 is left alone: folding it to 1 next to `mul-zero` and `pow-mul` (0^-1 * 0 is
            // both 0 and 0^0) would derive 0 = 1 and collapse the whole e-graph into one class.
            if e.abs() > 64 || (a.is_zero() && e <= 0) {
                return None;
            }
            let p = num_traits::pow(a.clone(), e.unsigned_abs() as usize);
            Some(if e < 0 { p.recip() } else { p })
        }
        _ => None,
    }
}

struct FoldApplier {
    op: &'static str,
}

impl Applier<SymbolLang, ()> for FoldApplier {
    fn apply_one(&self, eg: &mut EG, eclass: Id, subst: &Subst, ast: Option<&PatternAst<SymbolLang>>, rule: Symbol) -> Vec<Id> {
        let a: Var = "?a".parse().unwrap();
        let b: Var = "?b".parse().unwrap();
        let (Some(x), Some(y)) = (num_of(eg, subst[a]), num_of(eg, subst[b])) else {
            return vec![];
        };
        let Some(v) = fold(self.op, &x, &y) else {
            return vec![];
        };
        if v.numer().bits() > 256 || v.denom().bits() > 256 {
            return vec![];
        }
        if !eg.are_explanations_enabled() {
            let p: Pattern<SymbolLang> = ast::fmt_rational(&v).parse().unwrap();
            return p.apply_one(eg, eclass, subst, ast, rule);
        }
        // The step is justified on the literal term `(op x y)`, not on the matched e-node:
        // its children may be explained by other terms (`(* 2 1)` for 2), and the checker
        // (rightly) only folds literal numbers. The matched node joins this one by
        // congruence, which the explanation spells out as steps inside the children.
        let lit = |r: &BigRational| ast::fmt_rational(r);
        let from: PatternAst<SymbolLang> = format!("({} {} {})", self.op, lit(&x), lit(&y)).parse().unwrap();
        let to: PatternAst<SymbolLang> = lit(&v).parse().unwrap();
        let (id, changed) = eg.union_instantiations(&from, &to, &Subst::default(), rule);
        let _ = eclass;
        if changed {
            vec![id]
        } else {
            vec![]
        }
    }
}

fn egg_rules(rules: &[Rule]) -> Result<Vec<Rewrite<SymbolLang, ()>>> {
    let mut out = Vec::new();
    for r in rules {
        for (dir, l, rh) in [("", &r.lhs, &r.rhs), ("-rev", &r.rhs, &r.lhs)] {
            if dir == "-rev" && !r.bidirectional {
                continue;
            }
            let lp: Pattern<SymbolLang> = pat_string(l).parse().map_err(|e| Error::invalid_arg("rules", format!("{}: {e}", r.name)))?;
            let rp: Pattern<SymbolLang> = pat_string(rh).parse().map_err(|e| Error::invalid_arg("rules", format!("{}: {e}", r.name)))?;
            let mut cs: Vec<(Var, char)> = Vec::new();
            let mut ws = Vec::new();
            wilds(l, &mut ws);
            for w in ws {
                let k = is_wild(&w).unwrap();
                if k != 'n' {
                    cs.push((format!("?{w}").parse().unwrap(), k));
                }
            }
            let name = format!("{}{}", r.name, dir);
            let rw = if cs.is_empty() {
                Rewrite::new(name.clone(), lp, rp)
            } else {
                let cond = move |eg: &mut EG, _id: Id, s: &Subst| cs.iter().all(|(v, k)| (num_of(eg, s[*v]).is_some()) == (*k == 'c'));
                Rewrite::new(name.clone(), lp, egg::ConditionalApplier { condition: cond, applier: rp })
            };
            out.push(rw.map_err(|e| Error::invalid_arg("rules", format!("{name}: {e}")))?);
        }
    }
    for (name, op) in [("fold-add", "+"), ("fold-mul", "*"), ("fold-pow", "^")] {
        let lp: Pattern<SymbolLang> = format!("({op} ?a ?b)").parse().unwrap();
        out.push(Rewrite::new(name, lp, FoldApplier { op }).map_err(|e| Error::internal(e.to_string()))?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- saturation

#[derive(Clone, Debug)]
pub struct RewriteLimits {
    pub nodes: usize,
    pub iterations: usize,
    pub time_ms: u64,
}

impl Default for RewriteLimits {
    fn default() -> Self {
        RewriteLimits { nodes: 20_000, iterations: 30, time_ms: 2_000 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub rule: String,
    pub direction: String,
    /// The rewritten subterm after the step (mathjs syntax).
    pub subterm: String,
    /// The whole term after the step, mathjs syntax and s-expression.
    pub result: String,
    pub term: String,
}

#[derive(Clone, Debug)]
pub enum Equal {
    Yes { proof: Vec<Step>, start: String },
    Unknown { reason: String },
}

fn find_rewrite(ft: &egg::FlatTerm<SymbolLang>) -> Option<(String, String, Term)> {
    if let Some(r) = ft.forward_rule {
        return Some((r.to_string(), "forward".into(), recexpr_to_term(&ft.get_recexpr())));
    }
    if let Some(r) = ft.backward_rule {
        return Some((r.to_string(), "backward".into(), recexpr_to_term(&ft.get_recexpr())));
    }
    ft.children.iter().find_map(find_rewrite)
}

/// Tries to prove `a = b` by equality saturation with `rules` (plus the defaults if asked).
pub fn prove(a: &Node, b: &Node, rules: &[Rule], lim: &RewriteLimits) -> Result<Equal> {
    let ta = node_to_term(a)?;
    let tb = node_to_term(b)?;
    let mut ea = RecExpr::default();
    term_to_recexpr(&ta, &mut ea);
    let mut eb = RecExpr::default();
    term_to_recexpr(&tb, &mut eb);
    let rws = egg_rules(rules)?;
    let mut runner: Runner<SymbolLang, ()> = Runner::default()
        .with_explanations_enabled()
        .with_node_limit(lim.nodes)
        .with_iter_limit(lim.iterations)
        .with_time_limit(Duration::from_millis(lim.time_ms))
        .with_expr(&ea)
        .with_expr(&eb)
        .with_hook(|r| {
            if r.egraph.find(r.roots[0]) == r.egraph.find(r.roots[1]) {
                Err("proved".into())
            } else if has_contradiction(&r.egraph) {
                Err(CONTRADICTION.into())
            } else {
                Ok(())
            }
        });
    runner = runner.run(&rws);
    // Rules that hold only away from singularities can equate two different numbers; from then on
    // every term is "equal" to every other, so no proof from this e-graph means anything.
    if has_contradiction(&runner.egraph) {
        return Ok(Equal::Unknown { reason: format!("no rewrite proof: the rules {CONTRADICTION}") });
    }
    if runner.egraph.find(runner.roots[0]) != runner.egraph.find(runner.roots[1]) {
        let reason = stop_name(runner.stop_reason.as_ref());
        return Ok(Equal::Unknown { reason: format!("no rewrite proof within the limits (stopped: {reason})") });
    }
    let mut expl = runner.explain_equivalence(&ea, &eb);
    // Flattening a tree explanation can be exponential in its size (shared sub-proofs are
    // copied at every use): measure first, and refuse what would not fit.
    let steps = flat_len_upper_bound(&expl.explanation_trees, &mut HashMap::new());
    if steps > MAX_PROOF_STEPS {
        return Ok(Equal::Unknown {
            reason: format!("the rewrite proof found is longer than {MAX_PROOF_STEPS} steps ({steps}), too long to hand out"),
        });
    }
    let flat = expl.make_flat_explanation().clone();
    let mut steps = Vec::new();
    for ft in flat.iter().skip(1) {
        let whole = recexpr_to_term(&ft.get_recexpr());
        let (rule, dir, sub) = find_rewrite(ft).ok_or_else(|| Error::internal("explanation step without a rule"))?;
        steps.push(Step { rule, direction: dir, subterm: sub.to_mathjs(), result: whole.to_mathjs(), term: whole.to_sexpr() });
    }
    Ok(Equal::Yes { proof: steps, start: ta.to_sexpr() })
}

const CONTRADICTION: &str = "derived two different numbers equal (they hold only where every denominator is non-zero)";

/// A proof longer than this is not flattened (its flat form would cost memory, not insight).
pub const MAX_PROOF_STEPS: usize = 2_000;

/// True when an e-class holds two different numerals: the e-graph has proved 0 = 1.
fn has_contradiction(eg: &EG) -> bool {
    eg.classes().any(|c| {
        let mut nums = c.nodes.iter().filter(|n| n.children.is_empty()).filter_map(|n| parse_num(n.op.as_str()));
        match nums.next() {
            Some(first) => nums.any(|n| n != first),
            None => false,
        }
    })
}

/// An upper bound on the number of steps `make_flat_explanation` would produce, computed
/// on the shared tree (memoised by node identity) without materialising anything.
fn flat_len_upper_bound(proof: &[Rc<egg::TreeTerm<SymbolLang>>], memo: &mut HashMap<*const egg::TreeTerm<SymbolLang>, usize>) -> usize {
    proof.iter().fold(0usize, |acc, t| acc.saturating_add(tree_flat_len(t, memo)))
}

fn tree_flat_len(t: &Rc<egg::TreeTerm<SymbolLang>>, memo: &mut HashMap<*const egg::TreeTerm<SymbolLang>, usize>) -> usize {
    let key = Rc::as_ptr(t);
    if let Some(&n) = memo.get(&key) {
        return n;
    }
    // one term for the node itself, then each child's steps after its first
    let n = ast::grow(|| t.child_proofs.iter().fold(1usize, |acc, c| acc.saturating_add(flat_len_upper_bound(c, memo).saturating_sub(1))));
    memo.insert(key, n);
    n
}

/// Why saturation stopped, as the documented names: `saturated` (no rule applies any more:
/// the result is the smallest term of the whole class), `iterationLimit`, `nodeLimit`,
/// `timeLimit`, or `other`.
pub fn stop_name(r: Option<&egg::StopReason>) -> &'static str {
    match r {
        Some(egg::StopReason::Saturated) => "saturated",
        Some(egg::StopReason::IterationLimit(_)) => "iterationLimit",
        Some(egg::StopReason::NodeLimit(_)) => "nodeLimit",
        Some(egg::StopReason::TimeLimit(_)) => "timeLimit",
        Some(egg::StopReason::Other(_)) | None => "other",
    }
}

/// Rewrites `expr` with `rules` and extracts the smallest equivalent term.
pub fn rewrite(expr: &Node, rules: &[Rule], lim: &RewriteLimits) -> Result<(String, String)> {
    let t = node_to_term(expr)?;
    let mut e = RecExpr::default();
    term_to_recexpr(&t, &mut e);
    let rws = egg_rules(rules)?;
    let runner: Runner<SymbolLang, ()> = Runner::default()
        .with_node_limit(lim.nodes)
        .with_iter_limit(lim.iterations)
        .with_time_limit(Duration::from_millis(lim.time_ms))
        .with_expr(&e)
        .run(&rws);
    let ex = egg::Extractor::new(&runner.egraph, egg::AstSize);
    let (_, best) = ex.find_best(runner.roots[0]);
    Ok((recexpr_to_term(&best).to_mathjs(), stop_name(runner.stop_reason.as_ref()).to_string()))
}

// ---------------------------------------------------------------- independent checker

fn matches(p: &Term, t: &Term, s: &mut Vec<(String, Term)>) -> bool {
    crate::ast::grow(|| {
        if p.kids.is_empty() {
            if let Some(k) = is_wild(&p.op) {
                let isnum = t.kids.is_empty() && parse_num(&t.op).is_some();
                if (k == 'c' && !isnum) || (k == 'v' && isnum) {
                    return false;
                }
                if let Some((_, b)) = s.iter().find(|(n, _)| *n == p.op) {
                    return b == t;
                }
                s.push((p.op.clone(), t.clone()));
                return true;
            }
            return t.kids.is_empty() && (t.op == p.op || matches!((parse_num(&t.op), parse_num(&p.op)), (Some(x), Some(y)) if x == y));
        }
        p.op == t.op && p.kids.len() == t.kids.len() && p.kids.iter().zip(&t.kids).all(|(a, b)| matches(a, b, s))
    })
}

fn instantiate(p: &Term, s: &[(String, Term)]) -> Term {
    crate::ast::grow(|| {
        if p.kids.is_empty() {
            if let Some((_, b)) = s.iter().find(|(n, _)| *n == p.op) {
                return b.clone();
            }
            return p.clone();
        }
        Term { op: p.op.clone(), kids: p.kids.iter().map(|k| instantiate(k, s)).collect() }
    })
}

pub fn same(a: &Term, b: &Term) -> bool {
    crate::ast::grow(|| {
        if a.kids.is_empty() && b.kids.is_empty() {
            return a.op == b.op || matches!((parse_num(&a.op), parse_num(&b.op)), (Some(x), Some(y)) if x == y);
        }
        a.op == b.op && a.kids.len() == b.kids.len() && a.kids.iter().zip(&b.kids).all(|(x, y)| same(x, y))
    })
}

fn root_step(before: &Term, after: &Term, rule: &str, rules: &[Rule]) -> bool {
    // constant folding
    let fold_op = match rule {
        "fold-add" => Some("+"),
        "fold-mul" => Some("*"),
        "fold-pow" => Some("^"),
        _ => None,
    };
    if let Some(op) = fold_op {
        let check = |x: &Term, y: &Term| {
            if x.op != op || x.kids.len() != 2 || !y.kids.is_empty() {
                return false;
            }
            match (parse_num(&x.kids[0].op), parse_num(&x.kids[1].op), parse_num(&y.op)) {
                (Some(a), Some(b), Some(v)) if x.kids[0].kids.is_empty() && x.kids[1].kids.is_empty() => fold(op, &a, &b) == Some(v),
                _ => false,
            }
        };
        return check(before, after) || check(after, before);
    }
    let (base, rev) = match rule.strip_suffix("-rev") {
        Some(b) => (b, true),
        None => (rule, false),
    };
    let Some(r) = rules.iter().find(|r| r.name == base) else {
        return false;
    };
    if rev && !r.bidirectional {
        return false;
    }
    let (l, rh) = if rev { (&r.rhs, &r.lhs) } else { (&r.lhs, &r.rhs) };
    // egg explanations may present a step in either direction
    for (x, y) in [(before, after), (after, before)] {
        let mut s = Vec::new();
        if matches(l, x, &mut s) && same(&instantiate(rh, &s), y) {
            return true;
        }
    }
    false
}

fn step_ok(before: &Term, after: &Term, rule: &str, rules: &[Rule]) -> bool {
    crate::ast::grow(|| {
        if root_step(before, after, rule, rules) {
            return true;
        }
        if before.op != after.op || before.kids.len() != after.kids.len() {
            return false;
        }
        let diff: Vec<usize> = (0..before.kids.len()).filter(|&i| !same(&before.kids[i], &after.kids[i])).collect();
        diff.len() == 1 && step_ok(&before.kids[diff[0]], &after.kids[diff[0]], rule, rules)
    })
}

/// Replays a proof without egg: every step must be one application of its named rule (or an
/// exact constant fold) at one subterm, chaining `a` to `b`.
pub fn check(a: &Node, b: &Node, steps: &[(String, String)], rules: &[Rule]) -> Result<std::result::Result<(), String>> {
    let mut cur = node_to_term(a)?;
    let target = node_to_term(b)?;
    for (i, (rule, term)) in steps.iter().enumerate() {
        let next = parse_sexpr(term)?;
        if !step_ok(&cur, &next, rule, rules) {
            return Ok(Err(format!("step {i}: '{}' does not turn {} into {}", rule, cur.to_mathjs(), next.to_mathjs())));
        }
        cur = next;
    }
    if !same(&cur, &target) {
        return Ok(Err(format!("the proof ends at {}, not at {}", cur.to_mathjs(), target.to_mathjs())));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn p(s: &str) -> Node {
        ast::parse(s).unwrap()
    }
    fn proves(a: &str, b: &str, rules: &[Rule]) -> Vec<Step> {
        match prove(&p(a), &p(b), rules, &RewriteLimits::default()).unwrap() {
            Equal::Yes { proof, .. } => {
                let st: Vec<(String, String)> = proof.iter().map(|s| (s.rule.clone(), s.term.clone())).collect();
                check(&p(a), &p(b), &st, rules).unwrap().unwrap();
                proof
            }
            Equal::Unknown { reason } => panic!("{a} = {b}: {reason}"),
        }
    }
    #[test]
    fn proofs_replay() {
        let d = default_rules();
        let pr = proves("x*y", "y*x", &d);
        assert_eq!(pr.len(), 1);
        assert_eq!(pr[0].rule, "comm-mul");
        proves("a + b + c", "c + b + a", &d);
        proves("2*x + 3*x", "5*x", &d);
        proves("sin(x)^2 + cos(x)^2 + y", "y + 1", &d);
        proves("(x+1)*(x+1)", "x*x + 2*x + 1", &d);
        let user = vec![parse_rule("factor", "n1*n3 + n2*n3 -> (n1+n2)*n3").unwrap()];
        let pr = proves("a*x + b*x", "(a+b)*x", &user);
        assert_eq!(pr[0].rule, "factor");
    }
    #[test]
    fn checker_rejects_forgeries() {
        let d = default_rules();
        // claims x + 1 -> x by comm-add
        let bad = vec![("comm-add".to_string(), "x".to_string())];
        assert!(check(&p("x + 1"), &p("x"), &bad, &d).unwrap().is_err());
        let bad = vec![("fold-add".to_string(), "4".to_string())];
        assert!(check(&p("2 + 3"), &p("4"), &bad, &d).unwrap().is_err());
        let ok = vec![("fold-add".to_string(), "5".to_string())];
        assert!(check(&p("2 + 3"), &p("5"), &ok, &d).unwrap().is_ok());
    }
    #[test]
    fn limits_give_unknown_and_rewrite_extracts() {
        let d = default_rules();
        let lim = RewriteLimits { nodes: 200, iterations: 3, time_ms: 200 };
        match prove(&p("(a+b+c+d)^2"), &p("(a+b+c+e)^2"), &d, &lim).unwrap() {
            Equal::Unknown { .. } => {}
            _ => panic!(),
        }
        let user = vec![parse_rule("f", "n1*n3 + n2*n3 -> (n1+n2)*n3").unwrap()];
        let (r, _) = rewrite(&p("a*x + b*x"), &user, &RewriteLimits::default()).unwrap();
        assert_eq!(r, "(a + b) * x");
        assert!(parse_rule("bad", "n1 -> n2").is_err());
        assert!(parse_rule("bad", "x + ").is_err());
    }
}
