//! Verification and static analysis over a propositional abstraction of policies, solved with
//! the `omnitide-symbolic` SAT engine.
//!
//! Soundness argument (why "proved" is never wrong): every condition is abstracted to a
//! boolean formula over *atoms* (`term == literal`, `term in Uid`, `term < c`, `term has a`,
//! `term like p`, `term.isInRange(r)`, `term.contains(v)`, ...). Only facts that hold for every
//! request and every entity store are added as clauses (distinct literals are exclusive,
//! integer thresholds are ordered, `t == U` implies `t in U`, an atom on an attribute implies
//! the attribute is present). Anything else (arithmetic over attributes, `in` between two
//! attributes, ...) becomes a free *opaque* atom, and every policy that may raise an error
//! gets a free error variable (Cedar skips such a policy). The abstraction therefore admits
//! every concrete behaviour (an over-approximation): UNSAT is a proof, checked with the
//! engine's DRAT checker. A SAT model is turned into a concrete request + entity store and
//! *replayed* through the evaluator; only a replayed counterexample is reported as "refuted".
//! When the model cannot be realised (an opaque atom, an impossible combination the abstraction
//! does not know), the answer is `unknown` with the reason.

use crate::ast::*;
use crate::eval::{authorize, like, Env};
use crate::value::{Entities, IpNet, Request, Value};
use omnitide_symbolic::sat::{self, Cnf, SatResult};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Var(u8),
    Attr(Box<Term>, String),
}

fn var_index(v: Var) -> u8 {
    match v {
        Var::Principal => 0,
        Var::Action => 1,
        Var::Resource => 2,
        Var::Context => 3,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Long(i64),
    Str(String),
    Bool(bool),
    Entity(Uid),
    Ip(IpNet),
}

impl Lit {
    fn key(&self) -> String {
        match self {
            Lit::Long(n) => format!("L{n}"),
            Lit::Str(s) => format!("S{s}"),
            Lit::Bool(b) => format!("B{b}"),
            Lit::Entity(u) => format!("E{u}"),
            Lit::Ip(i) => format!("I{}", i.to_text()),
        }
    }
    fn value(&self) -> Value {
        match self {
            Lit::Long(n) => Value::Long(*n),
            Lit::Str(s) => Value::Str(Arc::from(s.as_str())),
            Lit::Bool(b) => Value::Bool(*b),
            Lit::Entity(u) => Value::Entity(Arc::new(u.clone())),
            Lit::Ip(i) => Value::Ip(*i),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Atom {
    Eq(Term, Lit),
    EqTerms(Term, Term),
    In(Term, Uid),
    Is(Term, String),
    /// term < c (c may lie outside i64: `t <= i64::MAX` is `t < 2^63`).
    Lt(Term, i128),
    Present(Term),
    Like(Term, Vec<PatElem>),
    InRange(Term, IpNet),
    Contains(Term, Lit),
    /// The term's runtime type is `KINDS[k]` (at most one holds; none when absent).
    Kind(Term, u8),
    Opaque(String),
    /// The opaque expression raises an error.
    OpaqueErr(String),
}

pub const K_LONG: u8 = 0;
pub const K_STR: u8 = 1;
pub const K_BOOL: u8 = 2;
pub const K_IP: u8 = 3;
pub const K_SET: u8 = 4;
pub const K_ENT: u8 = 5;
pub const K_REC: u8 = 6;

fn lit_kind(l: &Lit) -> u8 {
    match l {
        Lit::Long(_) => K_LONG,
        Lit::Str(_) => K_STR,
        Lit::Bool(_) => K_BOOL,
        Lit::Ip(_) => K_IP,
        Lit::Entity(_) => K_ENT,
    }
}

fn atom_key(a: &Atom) -> String {
    match a {
        Atom::Eq(t, l) => format!("eq {t:?} {}", l.key()),
        Atom::EqTerms(a, b) => format!("eqt {a:?} {b:?}"),
        Atom::In(t, u) => format!("in {t:?} {u}"),
        Atom::Is(t, ty) => format!("is {t:?} {ty}"),
        Atom::Lt(t, c) => format!("lt {t:?} {c}"),
        Atom::Present(t) => format!("has {t:?}"),
        Atom::Like(t, p) => format!("like {t:?} {p:?}"),
        Atom::InRange(t, r) => format!("range {t:?} {}", r.to_text()),
        Atom::Contains(t, l) => format!("contains {t:?} {}", l.key()),
        Atom::Kind(t, k) => format!("kind {t:?} {k}"),
        Atom::Opaque(s) => format!("opaque {s}"),
        Atom::OpaqueErr(s) => format!("opaqueerr {s}"),
    }
}

/// A CNF under construction with Tseitin gates.
pub struct Enc {
    pub clauses: Vec<Vec<i32>>,
    next: i32,
    atoms: Vec<(Atom, i32)>,
    atom_index: HashMap<String, i32>,
    tru: i32,
    /// Reasons the abstraction lost precision (reported with `unknown`).
    pub opaque: Vec<String>,
}

impl Default for Enc {
    fn default() -> Self {
        Self::new()
    }
}

impl Enc {
    pub fn new() -> Enc {
        let mut e = Enc { clauses: Vec::new(), next: 1, atoms: Vec::new(), atom_index: HashMap::new(), tru: 0, opaque: Vec::new() };
        e.tru = e.fresh();
        e.clauses.push(vec![e.tru]);
        e
    }
    pub fn fresh(&mut self) -> i32 {
        let v = self.next;
        self.next += 1;
        v
    }
    pub fn constant(&self, b: bool) -> i32 {
        if b {
            self.tru
        } else {
            -self.tru
        }
    }
    pub fn and(&mut self, xs: &[i32]) -> i32 {
        match xs.len() {
            0 => return self.tru,
            1 => return xs[0],
            _ => {}
        }
        let g = self.fresh();
        for &x in xs {
            self.clauses.push(vec![-g, x]);
        }
        let mut c: Vec<i32> = xs.iter().map(|x| -x).collect();
        c.push(g);
        self.clauses.push(c);
        g
    }
    pub fn or(&mut self, xs: &[i32]) -> i32 {
        let n: Vec<i32> = xs.iter().map(|x| -x).collect();
        -self.and(&n)
    }
    pub fn atom(&mut self, a: Atom) -> i32 {
        let k = atom_key(&a);
        if let Some(v) = self.atom_index.get(&k) {
            return *v;
        }
        let v = self.fresh();
        if let Atom::Opaque(s) = &a {
            self.opaque.push(s.clone());
        }
        self.atom_index.insert(k, v);
        self.atoms.push((a, v));
        v
    }
    fn present(&mut self, t: &Term) -> Option<i32> {
        match t {
            Term::Var(_) => None,
            Term::Attr(..) => Some(self.atom(Atom::Present(t.clone()))),
        }
    }

    /// Adds the facts that hold in every request and store (see the module notes).
    pub fn add_theory(&mut self) {
        let atoms = self.atoms.clone();
        let mut by_term: BTreeMap<String, Vec<(Atom, i32)>> = BTreeMap::new();
        for (a, v) in &atoms {
            let t = match a {
                Atom::Eq(t, _)
                | Atom::In(t, _)
                | Atom::Is(t, _)
                | Atom::Lt(t, _)
                | Atom::Like(t, _)
                | Atom::InRange(t, _)
                | Atom::Contains(t, _)
                | Atom::Kind(t, _) => t.clone(),
                Atom::Present(t) => {
                    // a present child means its parent is an entity or record
                    if let Term::Attr(p, _) = t {
                        let (e, r) = (self.kind(p, K_ENT), self.kind(p, K_REC));
                        self.clauses.push(vec![-v, e, r]);
                    }
                    continue;
                }
                _ => continue,
            };
            if let Atom::Kind(t, _) = a {
                if let Some(p) = self.present(t) {
                    self.clauses.push(vec![-v, p]);
                }
            }
            by_term.entry(format!("{t:?}")).or_default().push((a.clone(), *v));
        }
        for (_, list) in by_term {
            for i in 0..list.len() {
                for j in 0..list.len() {
                    if i == j {
                        continue;
                    }
                    let ((a, va), (b, vb)) = (&list[i], &list[j]);
                    match (a, b) {
                        (Atom::Eq(_, x), Atom::Eq(_, y)) if i < j && x != y => self.clauses.push(vec![-va, -vb]),
                        (Atom::Eq(_, l), Atom::Kind(_, k)) => self.clauses.push(vec![-va, if lit_kind(l) == *k { *vb } else { -vb }]),
                        (Atom::Kind(_, k1), Atom::Kind(_, k2)) if i < j && k1 != k2 => self.clauses.push(vec![-va, -vb]),
                        (Atom::Eq(_, Lit::Long(k)), Atom::Lt(_, c)) => {
                            self.clauses.push(vec![-va, if (*k as i128) < *c { *vb } else { -vb }])
                        }
                        (Atom::Eq(_, Lit::Str(s)), Atom::Like(_, p)) => self.clauses.push(vec![-va, if like(s, p) { *vb } else { -vb }]),
                        (Atom::Eq(_, Lit::Ip(n)), Atom::InRange(_, r)) => {
                            self.clauses.push(vec![-va, if n.in_range(r) { *vb } else { -vb }])
                        }
                        (Atom::Eq(_, Lit::Entity(u)), Atom::In(_, g)) if u == g => self.clauses.push(vec![-va, *vb]),
                        (Atom::Eq(_, Lit::Entity(u)), Atom::Is(_, ty)) => self.clauses.push(vec![-va, if u.ty == *ty { *vb } else { -vb }]),
                        (Atom::Lt(_, c1), Atom::Lt(_, c2)) if c1 < c2 => self.clauses.push(vec![-va, *vb]),
                        (Atom::Is(_, t1), Atom::Is(_, t2)) if i < j && t1 != t2 => self.clauses.push(vec![-va, -vb]),
                        _ => {}
                    }
                }
            }
        }
    }

    /// `term has kind k` (constant for the four variables).
    fn kind(&mut self, t: &Term, k: u8) -> i32 {
        match t {
            Term::Var(3) => self.constant(k == K_REC),
            Term::Var(_) => self.constant(k == K_ENT),
            _ => self.atom(Atom::Kind(t.clone(), k)),
        }
    }

    /// Error of evaluating a term: a missing attribute, or an access on a non-entity/record.
    fn term_err(&mut self, t: &Term) -> i32 {
        match t {
            Term::Var(_) => self.constant(false),
            Term::Attr(p, _) => {
                let pe = self.term_err(p);
                let (e, r) = (self.kind(p, K_ENT), self.kind(p, K_REC));
                let pres = self.present(t).unwrap_or(self.tru);
                let bad = self.and_not2(e, r);
                self.or(&[pe, -pres, bad])
            }
        }
    }

    fn and_not2(&mut self, a: i32, b: i32) -> i32 {
        self.and(&[-a, -b])
    }

    /// Error of an operation that needs `t` to be of kind `k`.
    fn typed_err(&mut self, t: &Term, k: u8) -> i32 {
        let e = self.term_err(t);
        let kk = self.kind(t, k);
        self.or(&[e, -kk])
    }
    pub fn cnf(&self) -> Cnf {
        Cnf { num_vars: (self.next - 1) as u32, clauses: self.clauses.clone() }
    }
}

fn term_of(e: &Expr) -> Option<Term> {
    match &e.kind {
        ExprKind::Var(v) => Some(Term::Var(var_index(*v))),
        ExprKind::Attr(x, a) => Some(Term::Attr(Box::new(term_of(x)?), a.clone())),
        _ => None,
    }
}

fn lit_of(e: &Expr) -> Option<Lit> {
    match &e.kind {
        ExprKind::Long(n) => Some(Lit::Long(*n)),
        ExprKind::Str(s) => Some(Lit::Str(s.clone())),
        ExprKind::Bool(b) => Some(Lit::Bool(*b)),
        ExprKind::Entity(u) => Some(Lit::Entity(u.clone())),
        ExprKind::Call(f, a) if f == "ip" && a.len() == 1 => match &a[0].kind {
            ExprKind::Str(s) => IpNet::parse(s).map(Lit::Ip),
            _ => None,
        },
        _ => None,
    }
}

fn lits_of_set(e: &Expr) -> Option<Vec<Lit>> {
    match &e.kind {
        ExprKind::Set(items) => items.iter().map(lit_of).collect(),
        _ => None,
    }
}

fn is_boolish(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Bool(_)
            | ExprKind::Not(_)
            | ExprKind::And(..)
            | ExprKind::Or(..)
            | ExprKind::Has(..)
            | ExprKind::Like(..)
            | ExprKind::Is(..)
            | ExprKind::Method(..)
    ) || matches!(e.kind, ExprKind::Bin(op, ..) if !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul))
}

fn attr_terms(e: &Expr, out: &mut Vec<Term>) {
    if let Some(t @ Term::Attr(..)) = term_of(e) {
        out.push(t);
    }
    match &e.kind {
        ExprKind::Not(a) | ExprKind::Neg(a) | ExprKind::Has(a, _) | ExprKind::Like(a, _) => attr_terms(a, out),
        ExprKind::Attr(a, _) => {
            if let Some(Term::Attr(..)) = term_of(a) {
            } else {
                attr_terms(a, out)
            }
        }
        ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::Bin(_, a, b) => {
            attr_terms(a, out);
            attr_terms(b, out)
        }
        ExprKind::If(a, b, c) => {
            attr_terms(a, out);
            attr_terms(b, out);
            attr_terms(c, out)
        }
        ExprKind::Is(a, _, r) => {
            attr_terms(a, out);
            if let Some(r) = r {
                attr_terms(r, out)
            }
        }
        ExprKind::Method(r, _, args) => {
            attr_terms(r, out);
            args.iter().for_each(|a| attr_terms(a, out))
        }
        ExprKind::Call(_, args) | ExprKind::Set(args) => args.iter().for_each(|a| attr_terms(a, out)),
        ExprKind::Record(f) => f.iter().for_each(|(_, a)| attr_terms(a, out)),
        _ => {}
    }
}

fn closed(e: &Expr) -> bool {
    let mut t = Vec::new();
    attr_terms(e, &mut t);
    t.is_empty() && !crate::fmt::expr(e).contains("principal") && !uses_var(e)
}

fn uses_var(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Var(_) => true,
        ExprKind::Bool(_) | ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Entity(_) => false,
        ExprKind::Not(a) | ExprKind::Neg(a) | ExprKind::Has(a, _) | ExprKind::Attr(a, _) | ExprKind::Like(a, _) => uses_var(a),
        ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::Bin(_, a, b) => uses_var(a) || uses_var(b),
        ExprKind::If(a, b, c) => uses_var(a) || uses_var(b) || uses_var(c),
        ExprKind::Is(a, _, r) => uses_var(a) || r.as_ref().map(|r| uses_var(r)).unwrap_or(false),
        ExprKind::Method(r, _, args) => uses_var(r) || args.iter().any(uses_var),
        ExprKind::Call(_, args) | ExprKind::Set(args) => args.iter().any(uses_var),
        ExprKind::Record(f) => f.iter().any(|(_, a)| uses_var(a)),
    }
}

impl Enc {
    /// Three-valued abstraction of a condition: `(value, error)`. The value matters only when
    /// `error` is false; errors follow Cedar's left-to-right short-circuit evaluation.
    pub fn cond3(&mut self, e: &Expr) -> (i32, i32) {
        let f = self.constant(false);
        match &e.kind {
            ExprKind::Bool(b) => (self.constant(*b), f),
            ExprKind::Not(a) if is_boolish(a) || term_of(a).is_some() => {
                let (v, er) = self.cond3(a);
                (-v, er)
            }
            ExprKind::And(a, b) if (is_boolish(a) || term_of(a).is_some()) && (is_boolish(b) || term_of(b).is_some()) => {
                let (va, ea) = self.cond3(a);
                let (vb, eb) = self.cond3(b);
                let later = self.and(&[va, eb]);
                (self.and(&[va, vb]), self.or(&[ea, later]))
            }
            ExprKind::Or(a, b) if (is_boolish(a) || term_of(a).is_some()) && (is_boolish(b) || term_of(b).is_some()) => {
                let (va, ea) = self.cond3(a);
                let (vb, eb) = self.cond3(b);
                let later = self.and(&[-va, eb]);
                (self.or(&[va, vb]), self.or(&[ea, later]))
            }
            ExprKind::If(c, t, el) if is_boolish(t) && is_boolish(el) && (is_boolish(c) || term_of(c).is_some()) => {
                let (c, ec) = self.cond3(c);
                let (t, et) = self.cond3(t);
                let (el, ee) = self.cond3(el);
                let a = self.and(&[c, t]);
                let b = self.and(&[-c, el]);
                let x = self.and(&[c, et]);
                let y = self.and(&[-c, ee]);
                (self.or(&[a, b]), self.or(&[ec, x, y]))
            }
            _ if closed(e) => {
                let req = Request {
                    principal: Arc::new(Uid { ty: "X".into(), id: String::new() }),
                    action: Arc::new(Uid { ty: "X".into(), id: String::new() }),
                    resource: Arc::new(Uid { ty: "X".into(), id: String::new() }),
                    context: Arc::new(BTreeMap::new()),
                };
                let store = Entities::default();
                match Env::new(&req, &store).eval(e) {
                    Ok(Value::Bool(b)) => (self.constant(b), f),
                    _ => (f, self.constant(true)),
                }
            }
            ExprKind::Var(_) | ExprKind::Attr(..) if term_of(e).is_some() => {
                let t = term_of(e).expect("checked");
                let v = self.atom(Atom::Eq(t.clone(), Lit::Bool(true)));
                (v, self.typed_err(&t, K_BOOL))
            }
            ExprKind::Bin(op @ (BinOp::Eq | BinOp::Ne), a, b) => {
                let (v, er) = match (term_of(a), term_of(b), lit_of(a), lit_of(b)) {
                    (Some(t), _, _, Some(l)) | (_, Some(t), Some(l), _) => (self.atom(Atom::Eq(t.clone(), l)), self.term_err(&t)),
                    (Some(x), Some(y), _, _) => {
                        let ex = self.term_err(&x);
                        let ey = self.term_err(&y);
                        let er = self.or(&[ex, ey]);
                        if x == y {
                            (self.constant(true), er)
                        } else {
                            let (x, y) = if x < y { (x, y) } else { (y, x) };
                            (self.atom(Atom::EqTerms(x, y)), er)
                        }
                    }
                    _ => self.opaque(e),
                };
                (if *op == BinOp::Eq { v } else { -v }, er)
            }
            ExprKind::Bin(BinOp::In, a, b) => match (term_of(a), &b.kind) {
                (Some(t), ExprKind::Entity(u)) => (self.atom(Atom::In(t.clone(), u.clone())), self.typed_err(&t, K_ENT)),
                (Some(t), ExprKind::Set(items)) if items.iter().all(|i| matches!(i.kind, ExprKind::Entity(_))) => {
                    let vs: Vec<i32> = items
                        .iter()
                        .map(|i| if let ExprKind::Entity(u) = &i.kind { self.atom(Atom::In(t.clone(), u.clone())) } else { 0 })
                        .collect();
                    (self.or(&vs), self.typed_err(&t, K_ENT))
                }
                _ => self.opaque(e),
            },
            ExprKind::Bin(op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge), a, b) => {
                let (t, c, op) = match (term_of(a), term_of(b), lit_of(a), lit_of(b)) {
                    (Some(t), _, _, Some(Lit::Long(c))) => (t, c as i128, *op),
                    (_, Some(t), Some(Lit::Long(c)), _) => (
                        t,
                        c as i128,
                        match op {
                            BinOp::Lt => BinOp::Gt,
                            BinOp::Le => BinOp::Ge,
                            BinOp::Gt => BinOp::Lt,
                            _ => BinOp::Le,
                        },
                    ),
                    _ => return self.opaque(e),
                };
                let er = self.typed_err(&t, K_LONG);
                let v = match op {
                    BinOp::Lt => self.atom(Atom::Lt(t, c)),
                    BinOp::Le => self.atom(Atom::Lt(t, c + 1)),
                    BinOp::Gt => -self.atom(Atom::Lt(t, c + 1)),
                    _ => -self.atom(Atom::Lt(t, c)),
                };
                (v, er)
            }
            ExprKind::Has(a, attr) => match term_of(a) {
                Some(t) => {
                    let te = self.term_err(&t);
                    let (k1, k2) = (self.kind(&t, K_ENT), self.kind(&t, K_REC));
                    let bad = self.and(&[-k1, -k2]);
                    (self.atom(Atom::Present(Term::Attr(Box::new(t), attr.clone()))), self.or(&[te, bad]))
                }
                None => self.opaque(e),
            },
            ExprKind::Like(a, p) => match term_of(a) {
                Some(t) => (self.atom(Atom::Like(t.clone(), p.clone())), self.typed_err(&t, K_STR)),
                None => self.opaque(e),
            },
            ExprKind::Is(a, ty, inn) => match term_of(a) {
                Some(t) => {
                    let is = self.atom(Atom::Is(t.clone(), ty.clone()));
                    let er = self.typed_err(&t, K_ENT);
                    match inn.as_deref().map(|r| &r.kind) {
                        None => (is, er),
                        Some(ExprKind::Entity(u)) => {
                            let i = self.atom(Atom::In(t, u.clone()));
                            (self.and(&[is, i]), er)
                        }
                        Some(_) => self.opaque(e),
                    }
                }
                None => self.opaque(e),
            },
            ExprKind::Method(r, name, args) => match (term_of(r), name.as_str(), args.as_slice()) {
                (Some(t), "contains", [x]) => match lit_of(x) {
                    Some(l) => (self.atom(Atom::Contains(t.clone(), l)), self.typed_err(&t, K_SET)),
                    None => self.opaque(e),
                },
                (Some(t), "containsAll" | "containsAny", [x]) => match lits_of_set(x) {
                    Some(ls) => {
                        let vs: Vec<i32> = ls.into_iter().map(|l| self.atom(Atom::Contains(t.clone(), l))).collect();
                        let er = self.typed_err(&t, K_SET);
                        (if name == "containsAll" { self.and(&vs) } else { self.or(&vs) }, er)
                    }
                    None => self.opaque(e),
                },
                (Some(t), "isInRange", [x]) => match lit_of(x) {
                    Some(Lit::Ip(n)) => (self.atom(Atom::InRange(t.clone(), n)), self.typed_err(&t, K_IP)),
                    _ => self.opaque(e),
                },
                _ => self.opaque(e),
            },
            _ => self.opaque(e),
        }
    }

    /// Value of a condition that evaluated without error (used where errors are irrelevant).
    pub fn cond(&mut self, e: &Expr) -> i32 {
        self.cond3(e).0
    }

    fn opaque(&mut self, e: &Expr) -> (i32, i32) {
        let s = crate::fmt::expr(e);
        (self.atom(Atom::Opaque(s.clone())), self.atom(Atom::OpaqueErr(s)))
    }

    fn scope(&mut self, var: u8, c: &ScopeCon) -> i32 {
        let t = Term::Var(var);
        match c {
            ScopeCon::Any => self.constant(true),
            ScopeCon::Eq(u) => self.atom(Atom::Eq(t, Lit::Entity(u.clone()))),
            ScopeCon::In(u) => self.atom(Atom::In(t, u.clone())),
            ScopeCon::Is(ty) => self.atom(Atom::Is(t, ty.clone())),
            ScopeCon::IsIn(ty, u) => {
                let a = self.atom(Atom::Is(t.clone(), ty.clone()));
                let b = self.atom(Atom::In(t, u.clone()));
                self.and(&[a, b])
            }
        }
    }

    /// `fires ⇔ scope ∧ ¬error ∧ value` of the conditions joined left to right.
    pub fn fires(&mut self, scope: [&ScopeCon; 2], action: &ActionCon, conds: &[(bool, &Expr)]) -> i32 {
        let mut parts = vec![self.scope(0, scope[0]), self.scope(2, scope[1])];
        parts.push(match action {
            ActionCon::Any => self.constant(true),
            ActionCon::Eq(u) => self.atom(Atom::Eq(Term::Var(1), Lit::Entity(u.clone()))),
            ActionCon::In(us) => {
                let vs: Vec<i32> = us.iter().map(|u| self.atom(Atom::In(Term::Var(1), u.clone()))).collect();
                self.or(&vs)
            }
        });
        let (mut val, mut err) = (self.constant(true), self.constant(false));
        for (when, e) in conds {
            let (v, er) = self.cond3(e);
            let v = if *when { v } else { -v };
            let later = self.and(&[val, er]);
            err = self.or(&[err, later]);
            val = self.and(&[val, v]);
        }
        parts.push(val);
        parts.push(-err);
        self.and(&parts)
    }
    pub fn policy(&mut self, p: &Policy) -> i32 {
        let conds: Vec<(bool, &Expr)> = p.conditions.iter().map(|c| (c.when, &c.expr)).collect();
        self.fires([&p.principal, &p.resource], &p.action, &conds)
    }

    /// `allow ⇔ (some permit fires) ∧ ¬(some forbid fires)`.
    pub fn allow(&mut self, ps: &[Policy]) -> i32 {
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        for p in ps {
            let f = self.policy(p);
            if p.effect == Effect::Permit {
                permits.push(f)
            } else {
                forbids.push(f)
            }
        }
        let any_p = self.or(&permits);
        let any_f = self.or(&forbids);
        self.and(&[any_p, -any_f])
    }

    /// Builds a concrete request and store from a model (see the module notes).
    pub fn concretize(&self, model: &[i32]) -> (Request, Entities) {
        let val = |v: i32| -> bool { model.get((v.unsigned_abs() - 1) as usize).map(|l| (*l > 0) == (v > 0)).unwrap_or(false) };
        let mut by_term: BTreeMap<Term, Vec<(&Atom, bool)>> = BTreeMap::new();
        let mut children: BTreeMap<Term, Vec<String>> = BTreeMap::new();
        for (a, v) in &self.atoms {
            let t = match a {
                Atom::Eq(t, _)
                | Atom::In(t, _)
                | Atom::Is(t, _)
                | Atom::Lt(t, _)
                | Atom::Like(t, _)
                | Atom::InRange(t, _)
                | Atom::Contains(t, _)
                | Atom::Kind(t, _) => t.clone(),
                Atom::EqTerms(x, y) => {
                    by_term.entry(y.clone()).or_default().push((a, val(*v)));
                    x.clone()
                }
                Atom::OpaqueErr(_) => continue,
                Atom::Present(t) => {
                    if let Term::Attr(p, n) = t {
                        if val(*v) {
                            let e = children.entry((**p).clone()).or_default();
                            if !e.contains(n) {
                                e.push(n.clone());
                            }
                        }
                    }
                    continue;
                }
                Atom::Opaque(_) => continue,
            };
            by_term.entry(t).or_default().push((a, val(*v)));
        }
        let mut present = std::collections::BTreeSet::new();
        for (a, v) in &self.atoms {
            if let (Atom::Present(t), true) = (a, val(*v)) {
                present.insert(t.clone());
            }
        }
        let mut cx = Concretizer { by_term, children, present, store: Entities::default(), values: BTreeMap::new(), fresh: 0 };
        let names = ["principal", "action", "resource"];
        let mut uids = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let t = Term::Var(i as u8);
            let u = cx.entity_for(&t, n);
            uids.push(u);
        }
        let ctx = match cx.value(&Term::Var(3)) {
            Some(Value::Record(m)) => m,
            _ => Arc::new(BTreeMap::new()),
        };
        let store = cx.store;
        (Request { principal: uids[0].clone(), action: uids[1].clone(), resource: uids[2].clone(), context: ctx }, store)
    }
}

struct Concretizer<'a> {
    by_term: BTreeMap<Term, Vec<(&'a Atom, bool)>>,
    children: BTreeMap<Term, Vec<String>>,
    present: std::collections::BTreeSet<Term>,
    store: Entities,
    values: BTreeMap<Term, Option<Value>>,
    fresh: usize,
}

impl<'a> Concretizer<'a> {
    fn atoms(&self, t: &Term) -> Vec<(&'a Atom, bool)> {
        self.by_term.get(t).cloned().unwrap_or_default()
    }

    fn entity_for(&mut self, t: &Term, hint: &str) -> Arc<Uid> {
        let atoms = self.atoms(t);
        let mut uid = None;
        for (a, b) in &atoms {
            match a {
                Atom::Eq(_, Lit::Entity(u)) if *b => uid = Some(u.clone()),
                Atom::EqTerms(x, y) if *b => {
                    let other = if x == t { y } else { x };
                    if let Some(Some(Value::Entity(u))) = self.values.get(other) {
                        uid = Some((**u).clone());
                    }
                }
                _ => {}
            }
        }
        let uid = uid.unwrap_or_else(|| {
            let ty = atoms
                .iter()
                .find_map(|(a, b)| if let (Atom::Is(_, ty), true) = (a, b) { Some(ty.clone()) } else { None })
                .or_else(|| {
                    atoms.iter().find_map(|(a, _)| match a {
                        Atom::Eq(_, Lit::Entity(u)) => Some(u.ty.clone()),
                        _ => None,
                    })
                })
                .unwrap_or_else(|| if hint == "action" { "Action".into() } else { "Entity".into() });
            // never pick a type that an `is` atom ruled out
            let ty = if atoms.iter().any(|(a, b)| matches!(a, Atom::Is(_, x) if *x == ty) && !b) { format!("{ty}X") } else { ty };
            self.fresh += 1;
            Uid { ty, id: format!("cx-{hint}-{}", self.fresh) }
        });
        let mut data = self.store.map.remove(&uid).unwrap_or_default();
        for (a, b) in &atoms {
            if let (Atom::In(_, g), true) = (a, b) {
                if *g != uid && !data.parents.contains(g) {
                    data.parents.push(g.clone());
                    data.ancestors.insert(g.clone());
                }
            }
        }
        for n in self.children.get(t).cloned().unwrap_or_default() {
            let ct = Term::Attr(Box::new(t.clone()), n.clone());
            if let Some(v) = self.value(&ct) {
                data.attrs.insert(n, v);
            }
        }
        self.store.map.insert(uid.clone(), data);
        let u = Arc::new(uid);
        self.values.insert(t.clone(), Some(Value::Entity(u.clone())));
        u
    }

    fn value(&mut self, t: &Term) -> Option<Value> {
        if let Some(v) = self.values.get(t) {
            return v.clone();
        }
        let atoms = self.atoms(t);
        let kids = self.children.get(t).cloned().unwrap_or_default();
        if let Term::Attr(..) = t {
            if !self.present.contains(t) {
                self.values.insert(t.clone(), None);
                return None;
            }
        }
        if let Some(v) = atoms.iter().find_map(|(a, b)| if let (Atom::Eq(_, l), true) = (a, b) { Some(l.value()) } else { None }) {
            if let Value::Entity(_) = v {
                let u = self.entity_for(t, "attr");
                return Some(Value::Entity(u));
            }
            self.values.insert(t.clone(), Some(v.clone()));
            return Some(v);
        }
        let kind = atoms.iter().find_map(|(a, b)| if let (Atom::Kind(_, k), true) = (a, b) { Some(*k) } else { None });
        let not_kind = |k: u8| atoms.iter().any(|(a, b)| matches!(a, Atom::Kind(_, x) if *x == k) && !b);
        let has = |f: &dyn Fn(&Atom) -> bool| atoms.iter().any(|(a, _)| f(a));
        let is = |k: u8, f: &dyn Fn(&Atom) -> bool| kind == Some(k) || (kind.is_none() && !not_kind(k) && has(f));
        let v = if is(K_ENT, &|a| matches!(a, Atom::In(..) | Atom::Is(..) | Atom::Eq(_, Lit::Entity(_)) | Atom::EqTerms(..))) {
            return Some(Value::Entity(self.entity_for(t, "attr")));
        } else if is(K_SET, &|a| matches!(a, Atom::Contains(..))) {
            Value::Set(Arc::new(
                atoms.iter().filter_map(|(a, b)| if let (Atom::Contains(_, l), true) = (a, b) { Some(l.value()) } else { None }).collect(),
            ))
        } else if is(K_IP, &|a| matches!(a, Atom::InRange(..) | Atom::Eq(_, Lit::Ip(_)))) {
            Value::Ip(pick_ip(&atoms))
        } else if is(K_STR, &|a| matches!(a, Atom::Like(..) | Atom::Eq(_, Lit::Str(_)))) {
            let s = atoms.iter().find_map(|(a, b)| {
                if let (Atom::Like(_, p), true) = (a, b) {
                    Some(p.iter().filter_map(|e| if let PatElem::Char(c) = e { Some(*c) } else { None }).collect::<String>())
                } else {
                    None
                }
            });
            Value::Str(Arc::from(s.unwrap_or_else(|| "cx-other".into()).as_str()))
        } else if is(K_LONG, &|a| matches!(a, Atom::Lt(..) | Atom::Eq(_, Lit::Long(_)))) {
            let mut lo = i64::MIN as i128;
            let mut hi = i64::MAX as i128 + 1;
            for (a, b) in &atoms {
                if let Atom::Lt(_, c) = a {
                    if *b {
                        hi = hi.min(*c)
                    } else {
                        lo = lo.max(*c)
                    }
                }
            }
            let mut v = if lo > i64::MIN as i128 { lo } else { hi - 1 };
            // avoid literals the model says are unequal
            while atoms.iter().any(|(a, b)| matches!(a, Atom::Eq(_, Lit::Long(k)) if *k as i128 == v) && !b) && v + 1 < hi {
                v += 1;
            }
            Value::Long(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        } else if is(K_BOOL, &|a| matches!(a, Atom::Eq(_, Lit::Bool(_)))) {
            let t_false = atoms.iter().any(|(a, b)| matches!(a, Atom::Eq(_, Lit::Bool(true))) && !b);
            let f_false = atoms.iter().any(|(a, b)| matches!(a, Atom::Eq(_, Lit::Bool(false))) && !b);
            match (t_false, f_false) {
                (true, true) => Value::Long(0),
                (true, false) => Value::Bool(false),
                _ => Value::Bool(true),
            }
        } else {
            let mut m = BTreeMap::new();
            for n in kids {
                let ct = Term::Attr(Box::new(t.clone()), n.clone());
                if let Some(v) = self.value(&ct) {
                    m.insert(n, v);
                }
            }
            Value::Record(Arc::new(m))
        };
        self.values.insert(t.clone(), Some(v.clone()));
        Some(v)
    }
}

fn pick_ip(atoms: &[(&Atom, bool)]) -> IpNet {
    let ranges_in: Vec<IpNet> =
        atoms.iter().filter_map(|(a, b)| if let (Atom::InRange(_, r), true) = (a, b) { Some(*r) } else { None }).collect();
    let ranges_out: Vec<IpNet> =
        atoms.iter().filter_map(|(a, b)| if let (Atom::InRange(_, r), false) = (a, b) { Some(*r) } else { None }).collect();
    let mut cands: Vec<IpNet> = Vec::new();
    for r in &ranges_in {
        let (net, w) = r.network();
        for off in [1u128, 0, 7, 255] {
            let v = net + off;
            let addr = if w == 32 {
                std::net::IpAddr::V4(std::net::Ipv4Addr::from(v as u32))
            } else {
                std::net::IpAddr::V6(std::net::Ipv6Addr::from(v))
            };
            cands.push(IpNet { addr, prefix: w });
        }
    }
    for s in ["203.0.113.7", "198.51.100.9", "2001:db8::7", "10.1.2.3", "192.168.1.1", "127.0.0.1"] {
        cands.push(IpNet::parse(s).expect("constant"));
    }
    cands
        .into_iter()
        .find(|c| ranges_in.iter().all(|r| c.in_range(r)) && !ranges_out.iter().any(|r| c.in_range(r)))
        .unwrap_or_else(|| IpNet::parse("203.0.113.7").expect("constant"))
}

/// Outcome of one query.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// UNSAT; the DRAT proof was checked (`lemmas` checked lemmas, `vars`/`clauses` of the CNF).
    Proved {
        lemmas: usize,
        vars: u32,
        clauses: usize,
    },
    /// A concrete request (and store) that replays to the expected behaviour.
    Witness {
        request: Request,
        entities: Entities,
    },
    Unknown {
        reason: String,
    },
}

/// Solves `target` (a literal that must hold) over `enc`; `check` replays a candidate.
pub fn solve(enc: &mut Enc, target: i32, check: &dyn Fn(&Request, &Entities) -> bool) -> Outcome {
    enc.add_theory();
    enc.clauses.push(vec![target]);
    let mut blocked = false;
    for _round in 0..8 {
        let cnf = enc.cnf();
        match sat::solve(&cnf, !blocked) {
            Err(e) => return Outcome::Unknown { reason: format!("SAT engine error: {}", e.message) },
            Ok(SatResult::Unsat { drat }) => {
                if blocked {
                    return Outcome::Unknown {
                        reason: format!("no concrete counterexample found and the abstraction is imprecise for: {}", reasons(enc)),
                    };
                }
                let chk = sat::check_drat(&cnf, &drat);
                if !chk.valid {
                    return Outcome::Unknown { reason: format!("the DRAT proof did not check: {}", chk.reason) };
                }
                return Outcome::Proved { lemmas: chk.lemmas, vars: cnf.num_vars, clauses: cnf.clauses.len() };
            }
            Ok(SatResult::Sat { model }) => {
                let (req, store) = enc.concretize(&model);
                if check(&req, &store) {
                    return Outcome::Witness { request: req, entities: store };
                }
                // block this assignment of the atoms and look for another candidate
                let block: Vec<i32> = enc
                    .atoms
                    .iter()
                    .map(|(_, v)| if model.get((*v - 1) as usize).map(|l| *l > 0).unwrap_or(false) { -*v } else { *v })
                    .collect();
                enc.clauses.push(block);
                blocked = true;
            }
        }
    }
    Outcome::Unknown { reason: format!("candidate counterexamples did not replay; the abstraction is imprecise for: {}", reasons(enc)) }
}

fn reasons(enc: &Enc) -> String {
    if enc.opaque.is_empty() {
        "entity-store or type-error combinations the encoding does not model".into()
    } else {
        let mut v = enc.opaque.clone();
        v.truncate(5);
        format!("{} (not encoded: arithmetic, non-literal operands or unsupported operators are unbounded)", v.join("; "))
    }
}

/// Evaluates a standalone condition against a request: `Some(true)` only when it evaluates to true.
pub fn holds(e: &Expr, req: &Request, store: &Entities) -> bool {
    matches!(Env::new(req, store).eval(e), Ok(Value::Bool(true)))
}

pub fn fires(p: &Policy, req: &Request, store: &Entities) -> bool {
    matches!(Env::new(req, store).policy(p), Ok(true))
}

pub fn allowed(ps: &[Policy], req: &Request, store: &Entities) -> bool {
    authorize(ps, req, store).allow
}

/// Prove or refute an assertion against a policy set.
pub fn prove(ps: &[Policy], a: &Assertion) -> Outcome {
    let mut enc = Enc::new();
    let allow = enc.allow(ps);
    let c = enc.fires([&ScopeCon::Any, &ScopeCon::Any], &ActionCon::Any, &[(true, &a.cond)]);
    let target = if a.never_permit { enc.and(&[allow, c]) } else { enc.and(&[-allow, c]) };
    let never = a.never_permit;
    solve(&mut enc, target, &|r, s| holds(&a.cond, r, s) && allowed(ps, r, s) == never)
}

/// Requests one version allows and the other denies (`None` target side = any difference).
pub fn diff(a: &[Policy], b: &[Policy]) -> Outcome {
    let mut enc = Enc::new();
    let x = enc.allow(a);
    let y = enc.allow(b);
    let d1 = enc.and(&[x, -y]);
    let d2 = enc.and(&[-x, y]);
    let target = enc.or(&[d1, d2]);
    solve(&mut enc, target, &|r, s| allowed(a, r, s) != allowed(b, r, s))
}

pub fn empty_store_entity(d: &mut Entities, u: Uid) {
    d.map.entry(u).or_default();
}
