//! Canonical rational-function normal form over "atoms".
//!
//! An expression is mapped to `num/den` with `num`, `den` sparse polynomials over Q in atoms:
//! variables, constants (`pi`, `e`, `i`) and non-rational subterms (`sin(u)`, `sqrt(u)`,
//! `abs(u)`, `u^v`, ...) whose arguments are themselves put in canonical form first. `num/den`
//! is reduced by the polynomial GCD, so two expressions equal as rational functions in those
//! atoms print identically. The print order is graded-lexicographic over atom names, so it
//! does not depend on the order atoms were met.
//!
//! Atoms are hash-consed: an atom's node refers to the compound atoms below it by a
//! placeholder (`Ctx::placeholder`) instead of holding a copy of them, so interning
//! `sin(sin(...(x)))` costs O(1) per level, not a copy of everything below. Full trees are
//! rebuilt only for output ([`Ctx::poly_node`], [`Ctx::rf_node`]); atom names (the print
//! order) are computed on demand, only when two atoms of the same class must be ordered.

use crate::ast::*;
use crate::poly::{gcd_within, mono_deg, Deadline, Limits, Mono, Poly};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use omnitide_common::{Error, Result};
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Clone, Debug, PartialEq)]
pub enum AtomKind {
    Var,
    /// imaginary unit: i^2 = -1
    I,
    /// `abs(u)` with `u` a polynomial: abs(u)^2 = u^2 (real u)
    Abs(Poly),
    /// `u^(1/q)` with `u` a polynomial: (u^(1/q))^q = u
    Root(Poly, u32),
    Sin(Node),
    Cos(Node),
    Exp,
    Log,
    Other,
}

#[derive(Clone, Debug)]
pub struct Atom {
    /// The atom's own level: compound atoms below it appear as placeholders.
    pub node: Node,
    /// Interning key: `node` printed (placeholders included), O(1) per level.
    pub key: String,
    pub kind: AtomKind,
    /// The full printed form (the print-order name), built on first use.
    full: OnceCell<String>,
}

/// Marks a placeholder symbol; the lexer never produces it, so no user name collides.
const PLACEHOLDER: char = '\u{1}';

/// The atom id a placeholder symbol stands for.
pub fn placeholder_id(n: &Node) -> Option<u32> {
    match n {
        Node::Sym(s) => s.strip_prefix(PLACEHOLDER)?.parse().ok(),
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct Rf {
    pub num: Poly,
    pub den: Poly,
}

impl Rf {
    pub fn poly(p: Poly) -> Rf {
        Rf { num: p, den: Poly::one() }
    }
    pub fn constant(c: BigRational) -> Rf {
        Rf::poly(Poly::constant(c))
    }
    pub fn int(n: i64) -> Rf {
        Rf::poly(Poly::int(n))
    }
    pub fn const_value(&self) -> Option<BigRational> {
        match (self.num.const_value(), self.den.const_value()) {
            (Some(a), Some(b)) if !b.is_zero() => Some(a / b),
            _ => None,
        }
    }
    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub limits: Limits,
    /// Variables assumed positive (sqrt(x^2) = x, abs(x) = x).
    pub positive: HashSet<String>,
    /// Variables are real (log(exp(x)) = x, abs(x)^2 = x^2). Default true.
    pub real: bool,
    /// Cancel common factors of numerator and denominator. When true (default) the cancelled
    /// factors are reported in `conditions` as `g != 0`; when false, a non-trivial cancellation
    /// is refused with an error so the caller never silently widens the domain.
    pub allow_cancel: bool,
    /// Try trigonometric identities (sin^2 + cos^2 = 1) and keep the shorter form.
    pub trig: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { limits: Limits::default(), positive: HashSet::new(), real: true, allow_cancel: true, trig: true }
    }
}

pub struct Ctx {
    pub atoms: Vec<Atom>,
    index: HashMap<String, u32>,
    pub opts: Options,
    pub conditions: Vec<String>,
    recording: bool,
    depth: usize,
}

fn big(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

impl Ctx {
    pub fn new(opts: Options) -> Ctx {
        Ctx { atoms: Vec::new(), index: HashMap::new(), opts, conditions: Vec::new(), recording: true, depth: 0 }
    }

    /// Interns `node`, which must refer to compound atoms by placeholder (as the nodes built
    /// here do), so equal structures get equal keys.
    pub fn atom(&mut self, node: Node, kind: AtomKind) -> u32 {
        let key = to_string(&node);
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = self.atoms.len() as u32;
        let full = OnceCell::new();
        if !key.contains(PLACEHOLDER) {
            let _ = full.set(key.clone());
        }
        self.atoms.push(Atom { node, key: key.clone(), kind, full });
        self.index.insert(key, id);
        id
    }

    /// The node standing for atom `v` inside another atom's node: a variable or constant
    /// as itself, a compound atom by placeholder.
    fn atom_ref(&self, v: u32) -> Node {
        match &self.atoms[v as usize].node {
            n @ Node::Sym(_) => n.clone(),
            _ => Node::Sym(format!("{PLACEHOLDER}{v}")),
        }
    }

    /// `n` with every placeholder replaced by the full tree of its atom (for output).
    pub fn expand(&self, n: &Node) -> Node {
        grow(|| match n {
            Node::Sym(_) => match placeholder_id(n) {
                Some(id) => self.expand(&self.atoms[id as usize].node),
                None => n.clone(),
            },
            Node::Num(_) | Node::Bool(_) => n.clone(),
            Node::Neg(a) => Node::Neg(Box::new(self.expand(a))),
            Node::Not(a) => Node::Not(Box::new(self.expand(a))),
            Node::Factorial(a) => Node::Factorial(Box::new(self.expand(a))),
            Node::Bin(op, a, b) => bin(*op, self.expand(a), self.expand(b)),
            Node::Call(f, args) => Node::Call(f.clone(), args.iter().map(|a| self.expand(a)).collect()),
        })
    }

    /// Size of everything interned (nodes and keys): grows linearly with the input for
    /// nested calls because atoms share what is below them.
    pub fn interned_size(&self) -> usize {
        self.atoms.iter().map(|a| a.node.size() + a.key.len()).sum()
    }

    fn atom_rf(&mut self, node: Node, kind: AtomKind) -> Rf {
        let id = self.atom(node, kind);
        Rf::poly(Poly::var(id))
    }

    // ------------------------------------------------------------ arithmetic on Rf

    pub fn reduce(&mut self, num: Poly, den: Poly) -> Result<Rf> {
        if den.is_zero() {
            return Err(Error::invalid_arg("expr", "division by zero"));
        }
        if num.is_zero() {
            return Ok(Rf::int(0));
        }
        if let Some(c) = den.const_value() {
            return Ok(Rf::poly(num.scale(&c.recip())));
        }
        let g = gcd_within(&num, &den, Deadline(self.opts.limits.deadline))?;
        if g.is_const() {
            return Ok(Rf { num, den });
        }
        if self.recording {
            let cond = format!("{} != 0", to_string(&self.poly_node(&g)));
            if !self.opts.allow_cancel {
                return Err(Error::invalid_arg(
                    "expr",
                    format!("cancelling the common factor needs the condition {cond}; pass allowCancel: true to accept it"),
                ));
            }
            if !self.conditions.contains(&cond) {
                self.conditions.push(cond);
            }
        }
        let n = num.div_exact(&g).ok_or_else(|| Error::internal("gcd does not divide numerator"))?;
        let d = den.div_exact(&g).ok_or_else(|| Error::internal("gcd does not divide denominator"))?;
        if let Some(c) = d.const_value() {
            return Ok(Rf::poly(n.scale(&c.recip())));
        }
        Ok(Rf { num: n, den: d })
    }

    fn pmul(&mut self, a: &Poly, b: &Poly) -> Result<Poly> {
        let p = a.mul_lim(b, &self.opts.limits)?;
        self.reduce_special(p)
    }

    pub fn add(&mut self, a: &Rf, b: &Rf) -> Result<Rf> {
        if a.den == b.den {
            let n = a.num.add(&b.num);
            if a.den.is_one() {
                return Ok(Rf::poly(n));
            }
            return self.reduce(n, a.den.clone());
        }
        let n1 = self.pmul(&a.num, &b.den)?;
        let n2 = self.pmul(&b.num, &a.den)?;
        let d = self.pmul(&a.den, &b.den)?;
        self.reduce(n1.add(&n2), d)
    }
    pub fn neg(&self, a: &Rf) -> Rf {
        Rf { num: a.num.neg(), den: a.den.clone() }
    }
    pub fn sub(&mut self, a: &Rf, b: &Rf) -> Result<Rf> {
        let nb = self.neg(b);
        self.add(a, &nb)
    }
    pub fn mul(&mut self, a: &Rf, b: &Rf) -> Result<Rf> {
        let n = self.pmul(&a.num, &b.num)?;
        if a.den.is_one() && b.den.is_one() {
            return Ok(Rf::poly(n));
        }
        let d = self.pmul(&a.den, &b.den)?;
        self.reduce(n, d)
    }
    pub fn inv(&mut self, a: &Rf) -> Result<Rf> {
        if a.num.is_zero() {
            return Err(Error::invalid_arg("expr", "division by zero"));
        }
        self.reduce(a.den.clone(), a.num.clone())
    }
    pub fn div(&mut self, a: &Rf, b: &Rf) -> Result<Rf> {
        let ib = self.inv(b)?;
        self.mul(a, &ib)
    }
    pub fn powi(&mut self, a: &Rf, n: i64) -> Result<Rf> {
        let lim = self.opts.limits.clone();
        let m = n.unsigned_abs();
        if m > lim.max_exponent {
            return Err(Error::limit("expr", format!("exponent {n} exceeds maxExponent {}", lim.max_exponent)));
        }
        let has_special = a.num.vars().iter().chain(a.den.vars().iter()).any(|&v| self.atoms[v as usize].kind != AtomKind::Var);
        if a.num.len() > 1 {
            crate::poly::check_pow_estimate(a.num.len(), m, &lim)?;
        }
        if a.den.len() > 1 {
            crate::poly::check_pow_estimate(a.den.len(), m, &lim)?;
        }
        let (num, den) = if has_special && m > 1 {
            // repeated multiplication so that i^2, sqrt(u)^2 ... reduce on the way
            let mut rn = Poly::one();
            let mut rd = Poly::one();
            let mut bn = a.num.clone();
            let mut bd = a.den.clone();
            let mut e = m;
            while e > 0 {
                if e & 1 == 1 {
                    rn = self.pmul(&rn, &bn)?;
                    rd = self.pmul(&rd, &bd)?;
                }
                e >>= 1;
                if e > 0 {
                    bn = self.pmul(&bn, &bn)?;
                    bd = self.pmul(&bd, &bd)?;
                }
            }
            (rn, rd)
        } else {
            (a.num.pow_lim(m, &lim)?, a.den.pow_lim(m, &lim)?)
        };
        if n >= 0 {
            if den.is_one() {
                Ok(Rf::poly(num))
            } else {
                Ok(Rf { num, den })
            }
        } else {
            if num.is_zero() {
                return Err(Error::invalid_arg("expr", "division by zero (0 to a negative power)"));
            }
            self.reduce(den, num)
        }
    }

    /// i^2 = -1, abs(u)^2 = u^2, (u^(1/q))^q = u.
    fn reduce_special(&mut self, p: Poly) -> Result<Poly> {
        let needs = p.terms.keys().any(|m| {
            m.iter().any(|&(v, e)| match &self.atoms[v as usize].kind {
                AtomKind::I => e >= 2,
                AtomKind::Abs(_) => e >= 2 && self.opts.real,
                AtomKind::Root(_, q) => e >= *q,
                _ => false,
            })
        });
        if !needs {
            return Ok(p);
        }
        let mut out = Poly::zero();
        for (m, c) in p.terms {
            let mut plain: Mono = Vec::new();
            let mut factor = Poly::constant(c);
            for (v, e) in m {
                let kind = self.atoms[v as usize].kind.clone();
                match kind {
                    AtomKind::I if e >= 2 => {
                        let s = if (e / 2) % 2 == 1 { -1 } else { 1 };
                        factor = factor.scale(&big(s));
                        if e % 2 == 1 {
                            plain.push((v, 1));
                        }
                    }
                    AtomKind::Abs(u) if e >= 2 && self.opts.real => {
                        let up = u.pow_lim((e / 2 * 2) as u64, &self.opts.limits)?;
                        factor = factor.mul_lim(&up, &self.opts.limits)?;
                        if e % 2 == 1 {
                            plain.push((v, 1));
                        }
                    }
                    AtomKind::Root(u, q) if e >= q => {
                        let up = u.pow_lim((e / q) as u64, &self.opts.limits)?;
                        factor = factor.mul_lim(&up, &self.opts.limits)?;
                        if e % q > 0 {
                            plain.push((v, e % q));
                        }
                    }
                    _ => plain.push((v, e)),
                }
            }
            plain.sort();
            let t = factor.mul_lim(&Poly::monomial(plain, BigRational::one()), &self.opts.limits)?;
            out = out.add(&t);
        }
        // substituted polynomials may themselves contain special atoms
        self.reduce_special(out)
    }

    // ------------------------------------------------------------ Node -> Rf

    pub fn to_rf(&mut self, n: &Node) -> Result<Rf> {
        self.opts.limits.check_deadline()?;
        self.depth += 1;
        if self.depth > 100_000 {
            self.depth -= 1;
            return Err(Error::limit("expr", "expression nested too deeply"));
        }
        let r = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.to_rf_inner(n));
        self.depth -= 1;
        // Checked again on the way up: the work of a deep tree happens as the recursion returns.
        self.opts.limits.check_deadline()?;
        r
    }

    #[allow(clippy::wrong_self_convention)] // `self` is the converter's state, not the value converted
    fn to_rf_inner(&mut self, n: &Node) -> Result<Rf> {
        match n {
            Node::Num(r) => Ok(Rf::constant(r.clone())),
            Node::Bool(_) => Err(Error::invalid_arg("expr", "boolean value in an algebraic expression")),
            Node::Sym(_) if placeholder_id(n).is_some() => Ok(Rf::poly(Poly::var(placeholder_id(n).unwrap_or(0)))),
            Node::Sym(s) => Ok(match s.as_str() {
                "i" => self.atom_rf(sym("i"), AtomKind::I),
                "pi" | "PI" => self.atom_rf(sym("pi"), AtomKind::Var),
                "e" | "E" => self.atom_rf(sym("e"), AtomKind::Var),
                _ => self.atom_rf(n.clone(), AtomKind::Var),
            }),
            Node::Neg(a) => {
                let r = self.to_rf(a)?;
                Ok(self.neg(&r))
            }
            Node::Not(_) => Err(Error::invalid_arg("expr", "'not' in an algebraic expression")),
            Node::Factorial(a) => {
                let r = self.to_rf(a)?;
                if let Some(c) = r.const_value() {
                    if c.is_integer() && !c.is_negative() {
                        let k = c.to_integer().to_u64().unwrap_or(u64::MAX);
                        if k > 5000 {
                            return Err(Error::limit("expr", format!("factorial of {k} exceeds 5000")));
                        }
                        let mut f = BigInt::one();
                        for j in 2..=k {
                            f *= j;
                        }
                        return Ok(Rf::constant(BigRational::from_integer(f)));
                    }
                }
                let an = self.rf_node_s(&r);
                Ok(self.atom_rf(Node::Factorial(Box::new(an)), AtomKind::Other))
            }
            Node::Bin(op, a, b) => match op {
                BinOp::Add => {
                    // flatten long left-deep sums iteratively
                    let mut items = vec![(true, &**b)];
                    let mut cur: &Node = a;
                    while let Node::Bin(o @ (BinOp::Add | BinOp::Sub), l, r) = cur {
                        items.push((*o == BinOp::Add, &**r));
                        cur = l;
                    }
                    items.push((true, cur));
                    items.reverse();
                    self.sum_items(items)
                }
                BinOp::Sub => {
                    let mut items = vec![(false, &**b)];
                    let mut cur: &Node = a;
                    while let Node::Bin(o @ (BinOp::Add | BinOp::Sub), l, r) = cur {
                        items.push((*o == BinOp::Add, &**r));
                        cur = l;
                    }
                    items.push((true, cur));
                    items.reverse();
                    self.sum_items(items)
                }
                BinOp::Mul => {
                    let x = self.to_rf(a)?;
                    let y = self.to_rf(b)?;
                    self.mul(&x, &y)
                }
                BinOp::Div => {
                    let x = self.to_rf(a)?;
                    let y = self.to_rf(b)?;
                    self.div(&x, &y)
                }
                BinOp::Pow => self.pow_node(a, b),
                BinOp::Mod => {
                    let x = self.to_rf(a)?;
                    let y = self.to_rf(b)?;
                    if let (Some(p), Some(q)) = (x.const_value(), y.const_value()) {
                        if p.is_integer() && q.is_integer() && !q.is_zero() {
                            return Ok(Rf::constant(BigRational::from_integer(p.to_integer().mod_floor(&q.to_integer()))));
                        }
                    }
                    let (xn, yn) = (self.rf_node_s(&x), self.rf_node_s(&y));
                    Ok(self.atom_rf(call("mod", vec![xn, yn]), AtomKind::Other))
                }
                _ => Err(Error::invalid_arg(
                    "expr",
                    format!("operator '{}' is not algebraic (use sat/boolean functions for logic)", op.symbol()),
                )),
            },
            Node::Call(f, args) => self.call_rf(f, args),
        }
    }

    fn sum_items(&mut self, items: Vec<(bool, &Node)>) -> Result<Rf> {
        // polynomial summands are merged into one sorted map in place (n log n for n terms;
        // adding each to a fresh copy of the running sum was n^2); rational ones are added
        // as fractions
        let mut poly = Poly::zero();
        let mut frac: Option<Rf> = None;
        for (plus, it) in items {
            let r = self.to_rf(it)?;
            if r.den.is_one() {
                for (m, c) in r.num.terms {
                    poly.add_term(m, if plus { c } else { -c });
                }
                if poly.len() > self.opts.limits.max_terms {
                    return Err(Error::limit("expr", format!("sum exceeds maxTerms {}", self.opts.limits.max_terms)));
                }
            } else {
                let r = if plus { r } else { self.neg(&r) };
                frac = Some(match frac {
                    None => r,
                    Some(acc) => self.add(&acc, &r)?,
                });
            }
        }
        match frac {
            None => Ok(Rf::poly(poly)),
            Some(f) => self.add(&f, &Rf::poly(poly)),
        }
    }

    fn pow_node(&mut self, a: &Node, b: &Node) -> Result<Rf> {
        let e = self.to_rf(b)?;
        if let Node::Sym(s) = a {
            if s == "e" || s == "E" {
                if let Some(c) = e.const_value() {
                    if c.is_integer() {
                        let base = self.to_rf(a)?;
                        return self.powi(&base, c.to_integer().to_i64().unwrap_or(i64::MAX));
                    }
                }
                return self.exp_rf(&e);
            }
        }
        let base = self.to_rf(a)?;
        self.pow_rf(&base, &e)
    }

    pub fn pow_rf(&mut self, base: &Rf, e: &Rf) -> Result<Rf> {
        if let Some(c) = e.const_value() {
            if c.is_integer() {
                let n = c
                    .to_integer()
                    .to_i64()
                    .ok_or_else(|| Error::limit("expr", format!("exponent {c} exceeds maxExponent {}", self.opts.limits.max_exponent)))?;
                return self.powi(base, n);
            }
            // rational exponent p/q
            let p = c.numer().to_i64().ok_or_else(|| Error::limit("expr", "exponent numerator too large"))?;
            let q = c.denom().to_u32().filter(|&q| q <= 1000).ok_or_else(|| Error::limit("expr", "root index too large"))?;
            let root = self.root_rf(base, q)?;
            return self.powi(&root, p);
        }
        if let Some(bc) = base.const_value() {
            if bc.is_zero() {
                // 0^u = 0 only where u > 0 (at u = 0 it is 1, below it is undefined): with
                // that condition reported, or not at all when the caller refuses conditions
                let en = self.rf_node_s(e);
                if self.recording && self.opts.allow_cancel {
                    let cond = format!("{} > 0", to_string(&self.expand(&en)));
                    if !self.conditions.contains(&cond) {
                        self.conditions.push(cond);
                    }
                    return Ok(Rf::int(0));
                }
                return Ok(self.atom_rf(Node::pow(num(0), en), AtomKind::Other));
            }
            if bc.is_one() {
                return Ok(Rf::int(1));
            }
        }
        let bn = self.rf_node_s(base);
        let en = self.rf_node_s(e);
        Ok(self.atom_rf(Node::pow(bn, en), AtomKind::Other))
    }

    /// base^(1/q), domain-correct: (x^2)^(1/2) = abs(x) unless x is assumed positive.
    fn root_rf(&mut self, base: &Rf, q: u32) -> Result<Rf> {
        if base.is_zero() {
            return Ok(Rf::int(0));
        }
        if !base.den.is_one() {
            let n = self.root_rf(&Rf::poly(base.num.clone()), q)?;
            let d = self.root_rf(&Rf::poly(base.den.clone()), q)?;
            return self.div(&n, &d);
        }
        let p = &base.num;
        if p.len() == 1 {
            let (m, c) = p.terms.iter().next().unwrap();
            // exact root of the coefficient?
            let cr = rational_root(c, q);
            let all_div = m.iter().all(|&(v, e)| e % q == 0 && self.atoms[v as usize].kind == AtomKind::Var);
            if let (Some(cr), true) = (cr, all_div) {
                let mut r = Rf::constant(cr);
                for &(v, e) in m {
                    let k = e / q;
                    let atom = Rf::poly(Poly::var(v));
                    let name = self.atoms[v as usize].key.clone();
                    let positive = self.opts.positive.contains(&name) || name == "pi" || name == "e";
                    let f = if q.is_multiple_of(2) && k % 2 == 1 && !positive { self.abs_rf(&atom)? } else { atom };
                    let fk = self.powi(&f, k as i64)?;
                    r = self.mul(&r, &fk)?;
                }
                return Ok(r);
            }
            if let Some(cr) = rational_root(c, q) {
                if !cr.is_one() && !m.is_empty() {
                    let rest = self.root_rf(&Rf::poly(Poly::monomial(m.clone(), BigRational::one())), q)?;
                    return self.mul(&Rf::constant(cr), &rest);
                }
            }
        }
        // perfect powers of polynomials: sqrt((x+1)^2) = abs(x + 1)
        if p.len() > 1 && p.len() <= 64 && p.total_degree() <= 64 && p.total_degree() >= q as u64 {
            let (c, pp) = self.print_primitive(p);
            if let Some(cr) = rational_root(&c, q) {
                let fs = crate::factor::factor_poly(&pp, &self.opts.limits).factors;
                if !fs.is_empty() && fs.iter().all(|(_, m)| m % q == 0) {
                    let mut r = Rf::constant(cr);
                    for (f, m) in fs {
                        let k = m / q;
                        let base = Rf::poly(f);
                        let b = if q.is_multiple_of(2) && k % 2 == 1 { self.abs_rf(&base)? } else { base };
                        let bk = self.powi(&b, k as i64)?;
                        r = self.mul(&r, &bk)?;
                    }
                    return Ok(r);
                }
            }
        }
        let bn = self.poly_node_s(p);
        let node = if q == 2 { call("sqrt", vec![bn]) } else { Node::pow(bn, Node::Num(BigRational::new(BigInt::one(), BigInt::from(q)))) };
        Ok(self.atom_rf(node, AtomKind::Root(p.clone(), q)))
    }

    fn abs_rf(&mut self, a: &Rf) -> Result<Rf> {
        if let Some(c) = a.const_value() {
            return Ok(Rf::constant(c.abs()));
        }
        if !a.den.is_one() {
            let n = self.abs_rf(&Rf::poly(a.num.clone()))?;
            let d = self.abs_rf(&Rf::poly(a.den.clone()))?;
            return self.div(&n, &d);
        }
        // pull out the constant factor, normalise the sign
        let (c, pp) = self.print_primitive(&a.num);
        let c = c.abs();
        if pp.len() == 1 && pp.terms.keys().next().unwrap().len() == 1 {
            let (v, e) = pp.terms.keys().next().unwrap()[0];
            let at = self.atoms[v as usize].clone();
            if self.opts.positive.contains(&at.key)
                || at.key == "pi"
                || at.key == "e"
                || matches!(at.kind, AtomKind::Abs(_) | AtomKind::Exp)
                || (e % 2 == 0 && self.opts.real && at.kind == AtomKind::Var)
            {
                return Ok(Rf::poly(pp.scale(&c)));
            }
            if e > 1 {
                let inner = self.abs_rf(&Rf::poly(Poly::var(v)))?;
                let r = self.powi(&inner, e as i64)?;
                return self.mul(&Rf::constant(c), &r);
            }
        }
        let node = call("abs", vec![self.poly_node_s(&pp)]);
        let r = self.atom_rf(node, AtomKind::Abs(pp));
        Ok(Rf::poly(r.num.scale(&c)))
    }

    fn exp_rf(&mut self, u: &Rf) -> Result<Rf> {
        if u.is_zero() {
            return Ok(Rf::int(1));
        }
        if u.den.is_one() {
            // exp(a + b) = exp(a) exp(b); exp(k m) = exp(m)^k for integer k
            if u.num.len() > 1 || u.num.terms.values().next().map(|c| c.is_integer()).unwrap_or(false) {
                let mut r = Rf::int(1);
                let terms: Vec<(Mono, BigRational)> = u.num.terms.iter().map(|(m, c)| (m.clone(), c.clone())).collect();
                for (m, c) in terms {
                    let f = if m.is_empty() {
                        if c.is_integer() {
                            let e = self.atom_rf(sym("e"), AtomKind::Var);
                            self.powi(&e, c.to_integer().to_i64().unwrap_or(i64::MAX))?
                        } else {
                            self.exp_atom(&Rf::constant(c))?
                        }
                    } else if c.is_integer() {
                        // log atom: exp(k log(w)) = w^k
                        let base = self.exp_atom(&Rf::poly(Poly::monomial(m, BigRational::one())))?;
                        self.powi(&base, c.to_integer().to_i64().unwrap_or(i64::MAX))?
                    } else {
                        self.exp_atom(&Rf::poly(Poly::monomial(m, c)))?
                    };
                    r = self.mul(&r, &f)?;
                }
                return Ok(r);
            }
        }
        self.exp_atom(u)
    }

    fn exp_atom(&mut self, u: &Rf) -> Result<Rf> {
        // exp(log(w)) = w
        if u.den.is_one() && u.num.len() == 1 {
            let (m, c) = u.num.terms.iter().next().unwrap();
            if c.is_one() && m.len() == 1 && m[0].1 == 1 {
                let at = &self.atoms[m[0].0 as usize];
                if at.kind == AtomKind::Log {
                    if let Node::Call(_, args) = &at.node.clone() {
                        return self.to_rf(&args[0]);
                    }
                }
            }
        }
        let n = self.rf_node_s(u);
        Ok(self.atom_rf(call("exp", vec![n]), AtomKind::Exp))
    }

    fn call_rf(&mut self, f: &str, args: &[Node]) -> Result<Rf> {
        if let Some(op) = operator_call(f, args) {
            return self.to_rf(&op);
        }
        if f == "log" && args.len() == 2 {
            // log(x, b) = log(x) / log(b), so log(e, e) = 1 and log(8, 2) = log(8) / log(2)
            return self.to_rf(&bin(BinOp::Div, call("log", vec![args[0].clone()]), call("log", vec![args[1].clone()])));
        }
        let mut rs = Vec::with_capacity(args.len());
        for a in args {
            rs.push(self.to_rf(a)?);
        }
        let one = |k: &str| -> Result<()> {
            if args.len() != 1 {
                return Err(Error::invalid_arg("expr", format!("{k}() takes 1 argument, got {}", args.len())));
            }
            Ok(())
        };
        match f {
            "sqrt" => {
                one(f)?;
                self.root_rf(&rs[0], 2)
            }
            "abs" => {
                one(f)?;
                self.abs_rf(&rs[0])
            }
            "exp" => {
                one(f)?;
                self.exp_rf(&rs[0])
            }
            "pow" if args.len() == 2 => self.pow_rf(&rs[0], &rs[1]),
            "log" | "ln" if args.len() == 1 => {
                let u = &rs[0];
                if let Some(c) = u.const_value() {
                    if c.is_one() {
                        return Ok(Rf::int(0));
                    }
                }
                if u.den.is_one() && u.num.len() == 1 {
                    let (m, c) = u.num.terms.iter().next().unwrap();
                    if c.is_one() && m.len() == 1 {
                        let (v, e) = m[0];
                        let at = self.atoms[v as usize].clone();
                        if at.key == "e" {
                            return Ok(Rf::int(e as i64));
                        }
                        if at.kind == AtomKind::Exp && self.opts.real && e == 1 {
                            if let Node::Call(_, a) = &at.node {
                                return self.to_rf(&a[0]);
                            }
                        }
                    }
                }
                let n = self.rf_node_s(u);
                Ok(self.atom_rf(call("log", vec![n]), AtomKind::Log))
            }
            "sin" | "cos" | "tan" => {
                one(f)?;
                let u = &rs[0];
                if u.is_zero() {
                    return Ok(Rf::int(if f == "cos" { 1 } else { 0 }));
                }
                let un = self.rf_node_s(u);
                if matches!(&un, Node::Sym(s) if s == "pi") {
                    return Ok(Rf::int(if f == "cos" { -1 } else { 0 }));
                }
                // odd/even symmetry: put the argument's sign in canonical form
                let (lc_neg, pos) = self.sign_normalize(u);
                let pn = self.rf_node_s(&pos);
                let kind = match f {
                    "sin" => AtomKind::Sin(pn.clone()),
                    "cos" => AtomKind::Cos(pn.clone()),
                    _ => AtomKind::Other,
                };
                let r = self.atom_rf(call(f, vec![pn]), kind);
                if lc_neg && f != "cos" {
                    Ok(self.neg(&r))
                } else {
                    Ok(r)
                }
            }
            _ => {
                let ns: Vec<Node> = rs.iter().map(|r| self.rf_node_s(r)).collect();
                Ok(self.atom_rf(call(f, ns), AtomKind::Other))
            }
        }
    }

    fn sign_normalize(&self, u: &Rf) -> (bool, Rf) {
        let order = self.term_order(&u.num);
        let lead = &u.num.terms[&order[0]];
        if lead.is_negative() {
            (true, Rf { num: u.num.neg(), den: u.den.clone() })
        } else {
            (false, u.clone())
        }
    }

    // ------------------------------------------------------------ printing

    /// Print class: variables, then the constants pi, e, i, then compound atoms.
    fn atom_class(&self, v: u32) -> u8 {
        let a = &self.atoms[v as usize];
        match (&a.kind, &a.node) {
            (AtomKind::Var, Node::Sym(s)) if s == "pi" || s == "e" => 1,
            (AtomKind::I, _) => 1,
            (AtomKind::Var, _) => 0,
            _ => 2,
        }
    }

    /// The atom's full printed form (built once, on first use).
    fn atom_name(&self, v: u32) -> &str {
        let a = &self.atoms[v as usize];
        a.full.get_or_init(|| to_string(&self.expand(&a.node)))
    }

    /// Print order of atoms: class, then name. Names are only built when classes tie, so a
    /// chain of nested calls is never printed level by level.
    fn cmp_atoms(&self, a: u32, b: u32) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        self.atom_class(a).cmp(&self.atom_class(b)).then_with(|| self.atom_name(a).cmp(self.atom_name(b)))
    }

    /// Monomials of `p` in print order (graded, then lexicographic over atom names).
    pub fn term_order(&self, p: &Poly) -> Vec<Mono> {
        let mut ms: Vec<(u64, Mono, &Mono)> = p
            .terms
            .keys()
            .map(|m| {
                let mut k = m.clone();
                if k.len() > 1 {
                    k.sort_by(|x, y| self.cmp_atoms(x.0, y.0));
                }
                (mono_deg(m), k, m)
            })
            .collect();
        if ms.len() > 1 {
            ms.sort_by(|a, b| {
                b.0.cmp(&a.0).then_with(|| {
                    let (ka, kb) = (&a.1, &b.1);
                    for i in 0..ka.len().max(kb.len()) {
                        match (ka.get(i), kb.get(i)) {
                            (Some(x), Some(y)) => {
                                let c = self.cmp_atoms(x.0, y.0);
                                if c != Ordering::Equal {
                                    return c;
                                }
                                if x.1 != y.1 {
                                    return y.1.cmp(&x.1);
                                }
                            }
                            (Some(_), None) => return Ordering::Less,
                            (None, Some(_)) => return Ordering::Greater,
                            (None, None) => break,
                        }
                    }
                    Ordering::Equal
                })
            });
        }
        ms.into_iter().map(|t| t.2.clone()).collect()
    }

    /// (c, p/c) where p/c has coprime integer coefficients and positive leading coefficient
    /// in print order.
    pub fn print_primitive(&self, p: &Poly) -> (BigRational, Poly) {
        if p.is_zero() {
            return (BigRational::one(), Poly::zero());
        }
        let order = self.term_order(p);
        let mut c = p.content();
        if p.terms[&order[0]].is_negative() {
            c = -c;
        }
        (c.clone(), p.scale(&c.recip()))
    }

    /// A monomial's product node, compound atoms by placeholder.
    fn mono_node_s(&self, m: &Mono) -> Option<Node> {
        let mut fs: Vec<(u32, u32)> = m.clone();
        if fs.len() > 1 {
            fs.sort_by(|x, y| self.cmp_atoms(x.0, y.0));
        }
        let mut it = fs.into_iter().map(|(v, e)| {
            let a = self.atom_ref(v);
            if e == 1 {
                a
            } else {
                Node::pow(a, num(e as i64))
            }
        });
        let first = it.next()?;
        Some(it.fold(first, Node::mul))
    }

    /// A polynomial as a tree (full: every atom written out).
    pub fn poly_node(&self, p: &Poly) -> Node {
        self.expand(&self.poly_node_s(p))
    }

    /// A rational function as a tree (full: every atom written out).
    pub fn rf_node(&self, r: &Rf) -> Node {
        self.expand(&self.rf_node_s(r))
    }

    /// A polynomial as a tree, compound atoms by placeholder (for building atoms).
    fn poly_node_s(&self, p: &Poly) -> Node {
        let order = self.term_order(p);
        if order.is_empty() {
            return num(0);
        }
        let mut out: Option<Node> = None;
        for m in order {
            let c = &p.terms[&m];
            let neg = c.is_negative();
            let ca = c.abs();
            let mn = self.mono_node_s(&m);
            let term = match mn {
                None => Node::Num(ca.clone()),
                Some(mn) => {
                    let numr = ca.numer().clone();
                    let den = ca.denom().clone();
                    let top = if numr.is_one() { mn } else { mul_left(Node::Num(BigRational::from_integer(numr)), mn) };
                    if den.is_one() {
                        top
                    } else {
                        bin(BinOp::Div, top, Node::Num(BigRational::from_integer(den)))
                    }
                }
            };
            out = Some(match out {
                None => {
                    if neg {
                        match &term {
                            Node::Num(r) => Node::Num(-r.clone()),
                            _ => Node::Neg(Box::new(term)),
                        }
                    } else {
                        term
                    }
                }
                Some(acc) => bin(if neg { BinOp::Sub } else { BinOp::Add }, acc, term),
            });
        }
        out.unwrap()
    }

    fn rf_node_s(&self, r: &Rf) -> Node {
        if let Some(c) = r.den.const_value() {
            return self.poly_node_s(&r.num.scale(&c.recip()));
        }
        let (cn, pn) = self.print_primitive(&r.num);
        let (cd, pd) = self.print_primitive(&r.den);
        let k = cn / cd;
        let top = pn.scale(&BigRational::from_integer(k.numer().clone()));
        let bot = pd.scale(&BigRational::from_integer(k.denom().clone()));
        bin(BinOp::Div, self.poly_node_s(&top), self.poly_node_s(&bot))
    }

    /// cos(u)^2 -> 1 - sin(u)^2 (a canonical reduction modulo sin^2 + cos^2 = 1).
    pub fn trig_reduce(&mut self, r: &Rf) -> Result<Option<Rf>> {
        let has = |s: &Ctx, p: &Poly| {
            p.terms.keys().any(|m| m.iter().any(|&(v, e)| e >= 2 && matches!(s.atoms[v as usize].kind, AtomKind::Cos(_))))
        };
        if !has(self, &r.num) && !has(self, &r.den) {
            return Ok(None);
        }
        let n = self.trig_poly(&r.num)?;
        let d = self.trig_poly(&r.den)?;
        let saved = self.recording;
        self.recording = false;
        let out = self.reduce(n, d);
        self.recording = saved;
        Ok(Some(out?))
    }

    fn trig_poly(&mut self, p: &Poly) -> Result<Poly> {
        let mut out = Poly::zero();
        for (m, c) in p.terms.clone() {
            let mut t = Poly::constant(c);
            let mut plain: Mono = Vec::new();
            for (v, e) in m {
                if let AtomKind::Cos(u) = self.atoms[v as usize].kind.clone() {
                    if e >= 2 {
                        let s = self.atom(call("sin", vec![u.clone()]), AtomKind::Sin(u));
                        let one_minus = Poly::one().sub(&Poly::monomial(vec![(s, 2)], BigRational::one()));
                        t = t.mul_lim(&one_minus.pow_lim((e / 2) as u64, &self.opts.limits)?, &self.opts.limits)?;
                        if e % 2 == 1 {
                            plain.push((v, 1));
                        }
                        continue;
                    }
                }
                plain.push((v, e));
            }
            plain.sort();
            out = out.add(&t.mul_lim(&Poly::monomial(plain, BigRational::one()), &self.opts.limits)?);
        }
        Ok(out)
    }
}

/// Exact q-th root of a non-negative rational, if it exists (negative with odd q allowed).
pub fn rational_root(c: &BigRational, q: u32) -> Option<BigRational> {
    if c.is_negative() {
        if q.is_multiple_of(2) {
            return None;
        }
        return rational_root(&-c.clone(), q).map(|r| -r);
    }
    let n = c.numer().nth_root(q);
    let d = c.denom().nth_root(q);
    if num_traits::pow(n.clone(), q as usize) == *c.numer() && num_traits::pow(d.clone(), q as usize) == *c.denom() {
        Some(BigRational::new(n, d))
    } else {
        None
    }
}

/// Result of a simplification.
#[derive(Clone, Debug)]
pub struct Simplified {
    pub expr: String,
    pub node: Node,
    /// Conditions under which the result equals the input (cancelled factors are non-zero).
    pub conditions: Vec<String>,
}

pub fn check_tree(n: &Node, lim: &Limits) -> Result<()> {
    let d = crate::util::depth_walk(n, true);
    if d > lim.max_depth.max(1) * 200 {
        return Err(Error::limit("expr", format!("expression tree depth {d} is too deep")));
    }
    Ok(())
}

/// Canonical simplification.
pub fn simplify_node(n: &Node, opts: &Options) -> Result<Simplified> {
    check_tree(n, &opts.limits)?;
    let mut ctx = Ctx::new(opts.clone());
    let r = ctx.to_rf(n)?;
    let mut node = ctx.rf_node(&r);
    if opts.trig {
        if let Some(t) = ctx.trig_reduce(&r)? {
            let alt = ctx.rf_node(&t);
            let (a, b) = (to_string(&alt), to_string(&node));
            if a.len() < b.len() {
                node = alt;
            }
        }
    }
    Ok(Simplified { expr: to_string(&node), node, conditions: ctx.conditions })
}

pub fn simplify(src: &str, opts: &Options) -> Result<Simplified> {
    let n = parse_with_depth(src, opts.limits.max_depth)?;
    simplify_node(&n, opts)
}

/// Numerator / denominator form (`rationalize`): `{ num, den }` strings, both expanded.
pub fn rationalize(src: &str, opts: &Options) -> Result<(String, String, String)> {
    let n = parse_with_depth(src, opts.limits.max_depth)?;
    check_tree(&n, &opts.limits)?;
    let mut ctx = Ctx::new(opts.clone());
    let r = ctx.to_rf(&n)?;
    let node = ctx.rf_node(&r);
    let (numn, denn) = match &node {
        Node::Bin(BinOp::Div, a, b) if !r.den.is_const() => ((**a).clone(), (**b).clone()),
        _ => {
            // polynomial: clear rational coefficients into an integer denominator
            let c = r.num.content();
            let d = BigRational::from_integer(c.denom().clone());
            let top = r.num.scale(&d);
            (ctx.poly_node(&top), Node::Num(d))
        }
    };
    let whole = if matches!(&denn, Node::Num(d) if d.is_one()) { numn.clone() } else { bin(BinOp::Div, numn.clone(), denn.clone()) };
    Ok((to_string(&whole), to_string(&numn), to_string(&denn)))
}

/// Groups equal monomials of an expanded polynomial as a map from printed monomial to coefficient.
pub fn coefficients(src: &str, opts: &Options) -> Result<BTreeMap<String, String>> {
    let n = parse(src)?;
    let mut ctx = Ctx::new(opts.clone());
    let r = ctx.to_rf(&n)?;
    let mut out = BTreeMap::new();
    for (m, c) in &r.num.terms {
        let k = ctx.mono_node_s(m).map(|x| to_string(&ctx.expand(&x))).unwrap_or_else(|| "1".into());
        out.insert(k, fmt_rational(c));
    }
    Ok(out)
}
