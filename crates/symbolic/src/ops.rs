//! derivative, substitute, evaluate, factor, equivalence by numeric points.

use crate::ast::*;
use crate::canon::{simplify_node, Ctx, Options, Rf, Simplified};
use crate::poly::Poly;
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use omnitide_common::{Error, Result};
use std::collections::HashMap;

fn neg(a: Node) -> Node {
    Node::Neg(Box::new(a))
}
fn mul(a: Node, b: Node) -> Node {
    Node::mul(a, b)
}
fn div(a: Node, b: Node) -> Node {
    bin(BinOp::Div, a, b)
}

/// Symbolic derivative d/dv (unsimplified tree).
pub fn diff(n: &Node, v: &str) -> Result<Node> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || diff_inner(n, v))
}

fn diff_inner(n: &Node, v: &str) -> Result<Node> {
    Ok(match n {
        Node::Num(_) | Node::Bool(_) => num(0),
        Node::Sym(s) => num((s == v) as i64),
        Node::Neg(a) => neg(diff(a, v)?),
        Node::Bin(op, a, b) => {
            let (da, db) = (diff(a, v)?, diff(b, v)?);
            let (a, b) = ((**a).clone(), (**b).clone());
            match op {
                BinOp::Add => Node::add(da, db),
                BinOp::Sub => bin(BinOp::Sub, da, db),
                BinOp::Mul => Node::add(mul(da, b), mul(a, db)),
                BinOp::Div => div(bin(BinOp::Sub, mul(da, b.clone()), mul(a, db)), Node::pow(b, num(2))),
                BinOp::Pow => {
                    let mut vs = Vec::new();
                    b.variables(&mut vs);
                    if !vs.iter().any(|x| x == v) {
                        // a^c: c a^(c-1) a'
                        mul(mul(b.clone(), Node::pow(a, bin(BinOp::Sub, b, num(1)))), da)
                    } else {
                        // a^b (b' log a + b a'/a)
                        mul(
                            Node::pow(a.clone(), b.clone()),
                            Node::add(mul(db, call("log", vec![a.clone()])), div(mul(b, da), a)),
                        )
                    }
                }
                _ => return Err(Error::invalid_arg("expr", format!("cannot differentiate operator '{}'", op.symbol()))),
            }
        }
        Node::Call(f, args) if args.len() == 1 => {
            let u = args[0].clone();
            let du = diff(&u, v)?;
            let outer = match f.as_str() {
                "sin" => call("cos", vec![u]),
                "cos" => neg(call("sin", vec![u])),
                "tan" => Node::pow(call("sec", vec![u]), num(2)),
                "sec" => mul(call("sec", vec![u.clone()]), call("tan", vec![u])),
                "csc" => neg(mul(call("csc", vec![u.clone()]), call("cot", vec![u]))),
                "cot" => neg(Node::pow(call("csc", vec![u]), num(2))),
                "exp" => call("exp", vec![u]),
                "log" | "ln" => div(num(1), u),
                "sqrt" => div(num(1), mul(num(2), call("sqrt", vec![u]))),
                "abs" => call("sign", vec![u]),
                "asin" => div(num(1), call("sqrt", vec![bin(BinOp::Sub, num(1), Node::pow(u, num(2)))])),
                "acos" => neg(div(num(1), call("sqrt", vec![bin(BinOp::Sub, num(1), Node::pow(u, num(2)))]))),
                "atan" => div(num(1), Node::add(num(1), Node::pow(u, num(2)))),
                "sinh" => call("cosh", vec![u]),
                "cosh" => call("sinh", vec![u]),
                "tanh" => bin(BinOp::Sub, num(1), Node::pow(call("tanh", vec![u]), num(2))),
                "sign" => num(0),
                _ => return Err(Error::invalid_arg("expr", format!("cannot differentiate function '{f}'"))),
            };
            mul(outer, du)
        }
        Node::Call(f, args) if f == "pow" && args.len() == 2 => diff(&Node::pow(args[0].clone(), args[1].clone()), v)?,
        Node::Call(f, _) => return Err(Error::invalid_arg("expr", format!("cannot differentiate function '{f}'"))),
        _ => return Err(Error::invalid_arg("expr", "cannot differentiate this expression")),
    })
}

pub fn derivative(src: &str, v: &str, opts: &Options) -> Result<Simplified> {
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) || !v.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(Error::invalid_arg("variable", format!("'{v}' is not a variable name")));
    }
    let n = parse_with_depth(src, opts.limits.max_depth)?;
    let d = diff(&n, v)?;
    simplify_node(&d, opts)
}

pub fn substitute_node(n: &Node, map: &HashMap<String, Node>) -> Node {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || match n {
        Node::Sym(s) => map.get(s).cloned().unwrap_or_else(|| n.clone()),
        Node::Num(_) | Node::Bool(_) => n.clone(),
        Node::Neg(a) => Node::Neg(Box::new(substitute_node(a, map))),
        Node::Not(a) => Node::Not(Box::new(substitute_node(a, map))),
        Node::Factorial(a) => Node::Factorial(Box::new(substitute_node(a, map))),
        Node::Bin(op, a, b) => bin(*op, substitute_node(a, map), substitute_node(b, map)),
        Node::Call(f, args) => Node::Call(f.clone(), args.iter().map(|a| substitute_node(a, map)).collect()),
    })
}

/// Replaces variables by expressions (strings in mathjs syntax); the result is printed as is
/// (call `simplify` for the canonical form).
pub fn substitute(src: &str, map: &[(String, String)]) -> Result<String> {
    let n = parse(src)?;
    let mut m = HashMap::new();
    for (k, v) in map {
        m.insert(k.clone(), parse(v).map_err(|e| Error::new(e.code, format!("substitution for {k}: {}", e.message)))?);
    }
    Ok(to_string(&substitute_node(&n, &m)))
}

pub fn evaluate(src: &str, scope: &HashMap<String, f64>) -> Result<f64> {
    let n = parse(src)?;
    crate::eval::eval(&n, scope)
}

// ---------------------------------------------------------------- factor

fn ri(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

/// Square-free decomposition (Yun) of a primitive univariate polynomial in `v`.
fn square_free(p: &Poly, v: u32) -> Vec<(Poly, u32)> {
    let mut out = Vec::new();
    let dp = p.derivative(v);
    let mut a = crate::poly::gcd(p, &dp);
    let mut b = p.div_exact(&a).unwrap();
    let mut c = dp.div_exact(&a).unwrap();
    let mut d = c.sub(&b.derivative(v));
    let mut i = 1;
    while !b.is_const() {
        a = crate::poly::gcd(&b, &d);
        if !a.is_const() {
            out.push((a.clone(), i));
        }
        b = b.div_exact(&a).unwrap();
        c = d.div_exact(&a).unwrap();
        d = c.sub(&b.derivative(v));
        i += 1;
        if i > 100_000 {
            break;
        }
    }
    out
}

fn divisors(n: &BigInt, cap: usize) -> Option<Vec<BigInt>> {
    let n = n.abs();
    if n.is_zero() {
        return Some(vec![BigInt::one()]);
    }
    if n.bits() > 60 {
        return None;
    }
    let m: u64 = n.try_into().ok()?;
    let mut out = Vec::new();
    let mut k = 1u64;
    while k * k <= m {
        if m % k == 0 {
            out.push(BigInt::from(k));
            if k != m / k {
                out.push(BigInt::from(m / k));
            }
            if out.len() > cap {
                return None;
            }
        }
        k += 1;
        if k > 10_000_000 {
            return None;
        }
    }
    Some(out)
}

fn eval_univ(p: &Poly, v: u32, x: &BigRational) -> BigRational {
    let cs = p.coeffs_in(v);
    let mut acc = BigRational::zero();
    for c in cs.iter().rev() {
        acc = acc * x + c.const_value().unwrap_or_else(BigRational::zero);
    }
    acc
}

/// Factors a primitive square-free univariate integer polynomial: linear factors by the
/// rational root test, then the rest completely by [`crate::zfactor`]; if its limits are hit,
/// quadratic factors by Kronecker's method and the remainder as is.
fn factor_sqfree(mut p: Poly, v: u32, lim: &crate::zfactor::FactorLimits) -> Vec<Poly> {
    let mut out = Vec::new();
    let x = Poly::var(v);
    // rational roots
    loop {
        let d = p.degree_in(v);
        if d <= 1 {
            break;
        }
        let cs = p.coeffs_in(v);
        let a0 = cs[0].const_value().unwrap_or_default().to_integer();
        let an = cs[d as usize].const_value().unwrap_or_default().to_integer();
        if a0.is_zero() {
            out.push(x.clone());
            p = p.div_exact(&x).unwrap();
            continue;
        }
        let (Some(ps), Some(qs)) = (divisors(&a0, 2000), divisors(&an, 2000)) else { break };
        let mut found = None;
        'o: for q in &qs {
            for pp in &ps {
                for s in [1i64, -1] {
                    let r = BigRational::new(pp * s, q.clone());
                    if eval_univ(&p, v, &r).is_zero() {
                        found = Some(r);
                        break 'o;
                    }
                }
            }
        }
        match found {
            Some(r) => {
                // q x - p
                let f = x.scale(&BigRational::from_integer(r.denom().clone())).sub(&Poly::constant(BigRational::from_integer(r.numer().clone())));
                out.push(f.clone());
                p = p.div_exact(&f).unwrap();
            }
            None => break,
        }
    }
    // complete factorization of the rest (Zassenhaus over a large prime); degree <= 3 without a
    // rational root is already irreducible
    if p.degree_in(v) >= 4 {
        let cs: Option<Vec<BigInt>> = p.coeffs_in(v).iter().map(|c| c.const_value().filter(|c| c.is_integer()).map(|c| c.to_integer())).collect();
        if let Some(cs) = cs {
            if let Some(fs) = crate::zfactor::factor_sqfree_z(&cs, lim) {
                for f in fs {
                    let cp: Vec<Poly> = f.into_iter().map(|c| Poly::constant(BigRational::from_integer(c))).collect();
                    out.push(Poly::from_coeffs(v, &cp));
                }
                return out;
            }
        }
    }
    // fallback when a limit was hit: quadratic factors (Kronecker) for small degree
    let mut guard = 0;
    while p.degree_in(v) >= 4 && guard < 4 {
        guard += 1;
        let pts = [ri(0), ri(1), ri(-1)];
        let vals: Vec<BigInt> = pts.iter().map(|t| eval_univ(&p, v, t).to_integer()).collect();
        let ds: Vec<Vec<BigInt>> = match vals.iter().map(|x| divisors(x, 64)).collect::<Option<Vec<_>>>() {
            Some(d) => d,
            None => break,
        };
        let mut found = None;
        'k: for d0 in &ds[0] {
            for d1 in &ds[1] {
                for d2 in &ds[2] {
                    for s in 0..8 {
                        let y0 = if s & 1 == 0 { d0.clone() } else { -d0.clone() };
                        let y1 = if s & 2 == 0 { d1.clone() } else { -d1.clone() };
                        let y2 = if s & 4 == 0 { d2.clone() } else { -d2.clone() };
                        // q(t) = a t^2 + b t + c through (0,y0), (1,y1), (-1,y2)
                        let c = y0.clone();
                        let two_a: BigInt = &y1 + &y2 - BigInt::from(2) * &y0;
                        let two_b: BigInt = &y1 - &y2;
                        if two_a.is_odd() || two_b.is_odd() {
                            continue;
                        }
                        let a: BigInt = two_a / BigInt::from(2);
                        let b: BigInt = two_b / BigInt::from(2);
                        if !a.is_positive() {
                            continue;
                        }
                        let q = Poly::from_coeffs(v, &[Poly::constant(BigRational::from_integer(c)), Poly::constant(BigRational::from_integer(b)), Poly::constant(BigRational::from_integer(a))]);
                        if let Some(rest) = p.div_exact(&q) {
                            if rest.content().is_integer() && rest.terms.values().all(|c| c.is_integer()) && !rest.is_const() {
                                found = Some((q, rest));
                                break 'k;
                            }
                        }
                    }
                }
            }
        }
        match found {
            Some((q, rest)) => {
                out.push(q);
                p = rest;
            }
            None => break,
        }
    }
    if !p.is_const() {
        out.push(p);
    }
    out
}

/// Factors over the integers. Returns (constant, [(factor, multiplicity)]).
pub fn factor_poly(ctx: &mut Ctx, p: &Poly) -> Vec<(Poly, u32)> {
    let mut out: Vec<(Poly, u32)> = Vec::new();
    if p.is_const() {
        return out;
    }
    // monomial content
    let vars = p.vars();
    let mut mono: Vec<(u32, u32)> = Vec::new();
    for &v in &vars {
        let mn = p.terms.keys().map(|m| m.iter().find(|x| x.0 == v).map(|x| x.1).unwrap_or(0)).min().unwrap_or(0);
        if mn > 0 {
            mono.push((v, mn));
        }
    }
    let mut q = p.clone();
    for &(v, e) in &mono {
        q = q.div_exact(&Poly::monomial(vec![(v, e)], BigRational::one())).unwrap();
        out.push((Poly::var(v), e));
    }
    let q = ctx.print_primitive(&q).1;
    if q.is_const() {
        return out;
    }
    let qv = q.vars();
    if qv.len() == 1 {
        let v = qv[0];
        let lim = crate::zfactor::FactorLimits::from(&ctx.opts.limits);
        for (f, m) in square_free(&q, v) {
            for g in factor_sqfree(ctx.print_primitive(&f).1, v, &lim) {
                out.push((ctx.print_primitive(&g).1, m));
            }
        }
        return out;
    }
    // multivariate: content in each variable, then difference of squares
    for &v in &qv {
        let c = q.content_in(v);
        if !c.is_const() {
            let rest = q.div_exact(&c).unwrap();
            out.extend(factor_poly(ctx, &c));
            out.extend(factor_poly(ctx, &rest));
            return out;
        }
    }
    // square-free part via gcd with a partial derivative
    let v = qv[0];
    let g = crate::poly::gcd(&q, &q.derivative(v));
    if !g.is_const() {
        let rest = q.div_exact(&g).unwrap();
        let mut all = factor_poly(ctx, &g);
        all.extend(factor_poly(ctx, &rest));
        // merge equal factors
        let mut merged: Vec<(Poly, u32)> = Vec::new();
        for (f, m) in all {
            let f = ctx.print_primitive(&f).1;
            if let Some(x) = merged.iter_mut().find(|x| x.0 == f) {
                x.1 += m;
            } else {
                merged.push((f, m));
            }
        }
        out.extend(merged);
        return out;
    }
    if q.len() == 2 {
        let ts: Vec<(&Vec<(u32, u32)>, &BigRational)> = q.terms.iter().collect();
        let (m1, c1) = ts[0];
        let (m2, c2) = ts[1];
        if c1.is_negative() != c2.is_negative() && m1.iter().all(|x| x.1 % 2 == 0) && m2.iter().all(|x| x.1 % 2 == 0) {
            if let (Some(r1), Some(r2)) = (crate::canon::rational_root(&c1.abs(), 2), crate::canon::rational_root(&c2.abs(), 2)) {
                let a = Poly::monomial(m1.iter().map(|&(v, e)| (v, e / 2)).collect(), r1);
                let b = Poly::monomial(m2.iter().map(|&(v, e)| (v, e / 2)).collect(), r2);
                out.extend(factor_poly(ctx, &a.add(&b)));
                out.extend(factor_poly(ctx, &a.sub(&b)));
                return out;
            }
        }
    }
    // homogeneous in two variables: factor q(x, 1) and homogenise the factors back
    if qv.len() == 2 {
        let degs: Vec<u64> = q.terms.keys().map(crate::poly::mono_deg).collect();
        if degs.iter().all(|&d| d == degs[0]) {
            let (x, y) = (qv[0], qv[1]);
            let mut uni = Poly::zero();
            for (m, c) in &q.terms {
                uni.add_term(m.iter().filter(|p| p.0 != y).cloned().collect(), c.clone());
            }
            let parts = factor_poly(ctx, &uni);
            let mut total = 0u64;
            let mut res = Vec::new();
            for (f, mult) in parts {
                let d = f.degree_in(x) as u64;
                total += d * mult as u64;
                let mut h = Poly::zero();
                for (m, c) in &f.terms {
                    let ex = m.iter().find(|p| p.0 == x).map(|p| p.1).unwrap_or(0) as u64;
                    let mut mm = m.clone();
                    if d > ex {
                        mm.push((y, (d - ex) as u32));
                        mm.sort();
                    }
                    h.add_term(mm, c.clone());
                }
                res.push((ctx.print_primitive(&h).1, mult));
            }
            let deg = degs[0];
            if deg > total {
                res.push((Poly::var(y), (deg - total) as u32));
            }
            out.extend(res);
            return out;
        }
    }
    out.push((q, 1));
    out
}

pub fn factor(src: &str, opts: &Options) -> Result<String> {
    let n = parse_with_depth(src, opts.limits.max_depth)?;
    crate::canon::check_tree(&n, &opts.limits)?;
    let mut ctx = Ctx::new(opts.clone());
    let r = ctx.to_rf(&n)?;
    if r.num.is_zero() {
        return Ok("0".into());
    }
    let (cn, _) = ctx.print_primitive(&r.num);
    let (cd, _) = if r.den.is_const() { (BigRational::one(), Poly::one()) } else { ctx.print_primitive(&r.den) };
    let mut c = cn / cd;
    if let Some(dc) = r.den.const_value() {
        c /= dc;
    }
    let render = |ctx: &Ctx, fs: &[(Poly, u32)]| -> Option<Node> {
        let mut sorted: Vec<(String, Node, u32)> = fs
            .iter()
            .map(|(f, m)| {
                let n = ctx.poly_node(f);
                (to_string(&n), n, *m)
            })
            .collect();
        sorted.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
        let mut acc: Option<Node> = None;
        for (_, n, m) in sorted {
            let t = if m == 1 { n } else { Node::pow(n, num(m as i64)) };
            acc = Some(match acc {
                None => t,
                Some(a) => mul(a, t),
            });
        }
        acc
    };
    let nf = factor_poly(&mut ctx, &r.num);
    let df = if r.den.is_const() { Vec::new() } else { factor_poly(&mut ctx, &r.den) };
    let top = render(&ctx, &nf);
    let bot = render(&ctx, &df);
    let cnode = |x: BigRational| Node::Num(x);
    let numer_c = BigRational::from_integer(c.numer().clone());
    let denom_c = BigRational::from_integer(c.denom().clone());
    let top = match top {
        None => cnode(numer_c),
        Some(t) if numer_c.is_one() => t,
        Some(t) if numer_c == -BigRational::one() => Node::Neg(Box::new(t)),
        Some(t) => mul_left(cnode(numer_c), t),
    };
    let bot = match bot {
        None if denom_c.is_one() => None,
        None => Some(cnode(denom_c)),
        Some(b) if denom_c.is_one() => Some(b),
        Some(b) => Some(mul_left(cnode(denom_c), b)),
    };
    let _ = Rf::int(0);
    Ok(to_string(&match bot {
        None => top,
        Some(b) => div(top, b),
    }))
}

// ---------------------------------------------------------------- numeric equivalence

/// Deterministic pseudo-random points; returns the first point where the two differ by more
/// than `tol` relative (both finite), or None.
pub fn numeric_counterexample(a: &Node, b: &Node, trials: usize, tol: f64) -> Option<HashMap<String, f64>> {
    let mut vars = a.vars();
    for v in b.vars() {
        if !vars.contains(&v) {
            vars.push(v);
        }
    }
    let mut s: u64 = 0x2545F4914F6CDD1D;
    let mut rnd = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut differing = 0;
    let mut first = None;
    for _ in 0..trials {
        let mut scope = HashMap::new();
        for v in &vars {
            scope.insert(v.clone(), (rnd() * 4.0 - 2.0) * 1.3 + 0.05);
        }
        let (Ok(x), Ok(y)) = (crate::eval::eval(a, &scope), crate::eval::eval(b, &scope)) else { continue };
        if !x.is_finite() || !y.is_finite() {
            continue;
        }
        if (x - y).abs() > tol * x.abs().max(y.abs()).max(1.0) {
            differing += 1;
            if first.is_none() {
                first = Some(scope);
            }
        }
    }
    // demand a clear separation (not one rounding outlier)
    if differing >= 2 || (differing == 1 && trials < 4) {
        first
    } else {
        None
    }
}
