//! derivative, substitute, evaluate, factor, equivalence by numeric points.

use crate::ast::*;
use crate::canon::{simplify_node, Ctx, Options, Simplified};
use crate::poly::Poly;
use num_rational::BigRational;
use num_traits::One;
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

/// mathjs's function-call forms of the operators (`add(a, b, c)`, `multiply(a, b)`,
/// `subtract(a, b)`, `divide(a, b)`, `unaryMinus(a)`, `unaryPlus(a)`, `pow(a, b)`) as operator
/// trees; None for every other call.
pub fn operator_call(f: &str, args: &[Node]) -> Option<Node> {
    let fold = |op: BinOp| {
        let mut it = args.iter().cloned();
        let first = it.next()?;
        Some(it.fold(first, |acc, x| bin(op, acc, x)))
    };
    match (f, args.len()) {
        ("add", n) if n >= 1 => fold(BinOp::Add),
        ("multiply", n) if n >= 1 => fold(BinOp::Mul),
        ("subtract", 2) => fold(BinOp::Sub),
        ("divide", 2) => fold(BinOp::Div),
        ("pow", 2) => fold(BinOp::Pow),
        ("mod", 2) => fold(BinOp::Mod),
        ("unaryMinus", 1) => Some(neg(args[0].clone())),
        ("unaryPlus", 1) => Some(args[0].clone()),
        _ => None,
    }
}

fn sq(u: &Node) -> Node {
    Node::pow(u.clone(), num(2))
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
                BinOp::Div => div(
                    bin(BinOp::Sub, mul(da, b.clone()), mul(a, db)),
                    Node::pow(b, num(2)),
                ),
                BinOp::Pow => {
                    let mut vs = Vec::new();
                    b.variables(&mut vs);
                    let mut va = Vec::new();
                    a.variables(&mut va);
                    if !vs.iter().any(|x| x == v) {
                        // a^c: c a^(c-1) a'
                        mul(mul(b.clone(), Node::pow(a, bin(BinOp::Sub, b, num(1)))), da)
                    } else if !va.iter().any(|x| x == v) {
                        // c^b: c^b log(c) b' (no a'/a term, so a constant base 0 divides nothing)
                        mul(mul(Node::pow(a.clone(), b), call("log", vec![a])), db)
                    } else {
                        // a^b (b' log a + b a'/a)
                        mul(
                            Node::pow(a.clone(), b.clone()),
                            Node::add(mul(db, call("log", vec![a.clone()])), div(mul(b, da), a)),
                        )
                    }
                }
                _ => {
                    return Err(Error::invalid_arg(
                        "expr",
                        format!("cannot differentiate operator '{}'", op.symbol()),
                    ))
                }
            }
        }
        Node::Call(f, args) if operator_call(f, args).is_some() => {
            diff(&operator_call(f, args).unwrap(), v)?
        }
        // log(u, b) = log(u) / log(b); nthRoot(u, n) = u^(1/n)
        Node::Call(f, args) if f == "log" && args.len() == 2 => diff(
            &div(
                call("log", vec![args[0].clone()]),
                call("log", vec![args[1].clone()]),
            ),
            v,
        )?,
        Node::Call(f, args) if f == "nthRoot" && args.len() == 2 => {
            diff(&Node::pow(args[0].clone(), div(num(1), args[1].clone())), v)?
        }
        Node::Call(f, args) if f == "nthRoot" && args.len() == 1 => {
            diff(&call("sqrt", vec![args[0].clone()]), v)?
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
                "asin" => div(
                    num(1),
                    call("sqrt", vec![bin(BinOp::Sub, num(1), Node::pow(u, num(2)))]),
                ),
                "acos" => neg(div(
                    num(1),
                    call("sqrt", vec![bin(BinOp::Sub, num(1), Node::pow(u, num(2)))]),
                )),
                "atan" => div(num(1), Node::add(num(1), Node::pow(u, num(2)))),
                "sinh" => call("cosh", vec![u]),
                "cosh" => call("sinh", vec![u]),
                "tanh" => bin(BinOp::Sub, num(1), Node::pow(call("tanh", vec![u]), num(2))),
                "sign" => num(0),
                "cbrt" => div(num(1), mul(num(3), sq(&call("cbrt", vec![u])))),
                "log10" => div(num(1), mul(u, call("log", vec![num(10)]))),
                "log2" => div(num(1), mul(u, call("log", vec![num(2)]))),
                "asec" => div(
                    num(1),
                    mul(
                        call("abs", vec![u.clone()]),
                        call("sqrt", vec![bin(BinOp::Sub, sq(&u), num(1))]),
                    ),
                ),
                "acsc" => neg(div(
                    num(1),
                    mul(
                        call("abs", vec![u.clone()]),
                        call("sqrt", vec![bin(BinOp::Sub, sq(&u), num(1))]),
                    ),
                )),
                "acot" => neg(div(num(1), Node::add(num(1), sq(&u)))),
                "sech" => neg(mul(call("sech", vec![u.clone()]), call("tanh", vec![u]))),
                "csch" => neg(mul(call("csch", vec![u.clone()]), call("coth", vec![u]))),
                "coth" => neg(sq(&call("csch", vec![u]))),
                "asinh" => div(num(1), call("sqrt", vec![Node::add(sq(&u), num(1))])),
                "acosh" => div(num(1), call("sqrt", vec![bin(BinOp::Sub, sq(&u), num(1))])),
                "atanh" | "acoth" => div(num(1), bin(BinOp::Sub, num(1), sq(&u))),
                "asech" => neg(div(
                    num(1),
                    mul(
                        u.clone(),
                        call("sqrt", vec![bin(BinOp::Sub, num(1), sq(&u))]),
                    ),
                )),
                "acsch" => neg(div(
                    num(1),
                    mul(
                        call("abs", vec![u.clone()]),
                        call("sqrt", vec![Node::add(sq(&u), num(1))]),
                    ),
                )),
                _ => {
                    return Err(Error::invalid_arg(
                        "expr",
                        format!("cannot differentiate function '{f}'"),
                    ))
                }
            };
            mul(outer, du)
        }
        Node::Call(f, _) => {
            return Err(Error::invalid_arg(
                "expr",
                format!("cannot differentiate function '{f}'"),
            ))
        }
        _ => {
            return Err(Error::invalid_arg(
                "expr",
                "cannot differentiate this expression",
            ))
        }
    })
}

pub fn derivative(src: &str, v: &str, opts: &Options) -> Result<Simplified> {
    if v.is_empty()
        || v.starts_with(|c: char| c.is_ascii_digit())
        || !v.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(Error::invalid_arg(
            "variable",
            format!("'{v}' is not a variable name"),
        ));
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
        Node::Call(f, args) => Node::Call(
            f.clone(),
            args.iter().map(|a| substitute_node(a, map)).collect(),
        ),
    })
}

/// Replaces variables by expressions (strings in mathjs syntax); the result is printed as is
/// (call `simplify` for the canonical form).
pub fn substitute(src: &str, map: &[(String, String)]) -> Result<String> {
    let n = parse(src)?;
    let mut m = HashMap::new();
    for (k, v) in map {
        m.insert(
            k.clone(),
            parse(v)
                .map_err(|e| Error::new(e.code, format!("substitution for {k}: {}", e.message)))?,
        );
    }
    Ok(to_string(&substitute_node(&n, &m)))
}

pub fn evaluate(src: &str, scope: &HashMap<String, f64>) -> Result<f64> {
    let n = parse(src)?;
    crate::eval::eval(&n, scope)
}

// ---------------------------------------------------------------- factor

/// Factors over the integers (see [`crate::factor`]); factors in print-primitive form.
pub fn factor_poly(ctx: &mut Ctx, p: &Poly) -> Vec<(Poly, u32)> {
    let f = crate::factor::factor_poly(p, &ctx.opts.limits);
    f.factors
        .into_iter()
        .map(|(g, m)| (ctx.print_primitive(&g).1, m))
        .collect()
}

/// `factor` with a flag: false when a limit (`factorMaxDegree`, `factorTimeMs`, `timeMs`) left
/// some factor unsplit, so the result need not be a product of irreducibles.
pub fn factor_full(src: &str, opts: &Options) -> Result<(String, bool)> {
    let n = parse_with_depth(src, opts.limits.max_depth)?;
    crate::canon::check_tree(&n, &opts.limits)?;
    let mut ctx = Ctx::new(opts.clone());
    let r = ctx.to_rf(&n)?;
    if r.num.is_zero() {
        return Ok(("0".into(), true));
    }
    let nf = crate::factor::factor_poly(&r.num, &ctx.opts.limits);
    let df = if r.den.is_const() {
        crate::factor::Factored {
            factors: Vec::new(),
            complete: true,
        }
    } else {
        crate::factor::factor_poly(&r.den, &ctx.opts.limits)
    };
    let complete = nf.complete && df.complete;
    let norm = |ctx: &Ctx, fs: Vec<(Poly, u32)>| -> Vec<(Poly, u32)> {
        fs.into_iter()
            .map(|(g, m)| (ctx.print_primitive(&g).1, m))
            .collect()
    };
    let (nf, df) = (norm(&ctx, nf.factors), norm(&ctx, df.factors));
    // the constant: input over the product of the factors, read off one monomial
    let product = |fs: &[(Poly, u32)]| {
        fs.iter()
            .fold(Poly::one(), |a, (g, m)| a.mul(&g.pow(*m as u64)))
    };
    let lead = |p: &Poly, q: &Poly| -> BigRational {
        let (m, c) = p.terms.iter().next().expect("non-zero");
        c / q.terms.get(m).expect("same monomials")
    };
    let mut c = lead(&r.num, &product(&nf));
    if !r.den.is_const() || !r.den.is_one() {
        c /= lead(&r.den, &product(&df));
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
            let t = if m == 1 {
                n
            } else {
                Node::pow(n, num(m as i64))
            };
            acc = Some(match acc {
                None => t,
                Some(a) => mul(a, t),
            });
        }
        acc
    };
    let top = render(&ctx, &nf);
    let bot = render(&ctx, &df);
    let numer_c = BigRational::from_integer(c.numer().clone());
    let denom_c = BigRational::from_integer(c.denom().clone());
    let top = match top {
        None => Node::Num(numer_c),
        Some(t) if numer_c.is_one() => t,
        Some(t) if numer_c == -BigRational::one() => Node::Neg(Box::new(t)),
        Some(t) => mul_left(Node::Num(numer_c), t),
    };
    let bot = match bot {
        None if denom_c.is_one() => None,
        None => Some(Node::Num(denom_c)),
        Some(b) if denom_c.is_one() => Some(b),
        Some(b) => Some(mul_left(Node::Num(denom_c), b)),
    };
    let out = to_string(&match bot {
        None => top,
        Some(b) => div(top, b),
    });
    Ok((out, complete))
}

/// Factors over the integers (numerator and denominator); see [`factor_full`].
pub fn factor(src: &str, opts: &Options) -> Result<String> {
    factor_full(src, opts).map(|r| r.0)
}

// ---------------------------------------------------------------- numeric equivalence

/// Deterministic pseudo-random points; returns the first point where the two differ by more
/// than `tol` relative (both finite), or None.
pub fn numeric_counterexample(
    a: &Node,
    b: &Node,
    trials: usize,
    tol: f64,
) -> Option<HashMap<String, f64>> {
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
        let (Ok(x), Ok(y)) = (crate::eval::eval(a, &scope), crate::eval::eval(b, &scope)) else {
            continue;
        };
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
