use omnitide_symbolic::ast::parse;
use omnitide_symbolic::canon::{rationalize, simplify, Options};
use omnitide_symbolic::eval::eval;
use omnitide_symbolic::ops::*;
use std::collections::HashMap;

fn o() -> Options {
    Options::default()
}

#[test]
fn derivatives() {
    assert_eq!(
        derivative("x^3 + 2x", "x", &o()).unwrap().expr,
        "3 * x ^ 2 + 2"
    );
    assert_eq!(
        derivative("sin(x)^2", "x", &o()).unwrap().expr,
        "2 * cos(x) * sin(x)"
    );
    assert_eq!(derivative("1/x", "x", &o()).unwrap().expr, "-1 / x ^ 2");
    assert_eq!(derivative("x*y", "y", &o()).unwrap().expr, "x");
    assert_eq!(
        derivative("exp(2x)", "x", &o()).unwrap().expr,
        "2 * exp(x) ^ 2"
    );
    assert_eq!(derivative("log(x)", "x", &o()).unwrap().expr, "1 / x");
    assert!(derivative("x", "1x", &o()).is_err());
}

#[test]
fn factoring() {
    for (a, b) in [
        ("x^2 - 1", "(x + 1) * (x - 1)"),
        ("x^2 + 2x + 1", "(x + 1) ^ 2"),
        ("2x^2 - 2", "2 * (x + 1) * (x - 1)"),
        ("x^3 - x", "x * (x + 1) * (x - 1)"),
        ("x^4 - 1", "(x + 1) * (x - 1) * (x ^ 2 + 1)"),
        ("6x^2 + 5x + 1", "(2 * x + 1) * (3 * x + 1)"),
        ("x^2 - y^2", "(x + y) * (x - y)"),
        ("x^2 y + x y^2", "x * y * (x + y)"),
        ("(x^2 - 1)/(x^2 + 2x + 1)", "(x - 1) / (x + 1)"),
        ("x^4 + 5x^2 + 6", "(x ^ 2 + 2) * (x ^ 2 + 3)"),
        ("0", "0"),
        ("6", "6"),
        ("x^2 + 3x y + 2y^2", "(x + y) * (x + 2 * y)"),
        ("x^3 y - x y^3", "x * y * (x + y) * (x - y)"),
        ("x^2 y^2 - 2 x y^3 + y^4", "y ^ 2 * (x - y) ^ 2"),
    ] {
        assert_eq!(factor(a, &o()).unwrap(), b, "factor({a})");
    }
}

#[test]
fn rationalize_and_substitute() {
    let (w, n, d) = rationalize("1/x + 1/y", &o()).unwrap();
    assert_eq!(
        (w.as_str(), n.as_str(), d.as_str()),
        ("(x + y) / (x * y)", "x + y", "x * y")
    );
    let (w, _, _) = rationalize("(x+1)^5", &o()).unwrap();
    assert_eq!(w, "x ^ 5 + 5 * x ^ 4 + 10 * x ^ 3 + 10 * x ^ 2 + 5 * x + 1");
    let (w, _, d) = rationalize("x/2 + 1/3", &o()).unwrap();
    assert_eq!((w.as_str(), d.as_str()), ("(3 * x + 2) / 6", "6"));
    assert_eq!(
        substitute("x^2 + y", &[("x".into(), "a+1".into())]).unwrap(),
        "(a + 1) ^ 2 + y"
    );
    let mut sc = HashMap::new();
    sc.insert("x".to_string(), 2.0);
    assert_eq!(evaluate("x^2 + 1/2x", &sc).unwrap(), 5.0);
    assert!(evaluate("y", &sc).is_err());
    assert_eq!(evaluate("10^400", &sc).unwrap(), f64::INFINITY);
    assert_eq!(evaluate("2^0.5", &sc).unwrap(), 2f64.sqrt());
}

/// A generated corpus: every simplified result evaluates equal to its input.
#[test]
fn numeric_equivalence_corpus() {
    let mut s: u64 = 12345;
    let mut rnd = |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n
    };
    let atoms = ["x", "y", "z", "2", "3", "1/2"];
    let mut gen_cnt = 0;
    let mut compared = 0;
    for _ in 0..1000 {
        // random expression tree as a string
        fn g(depth: u32, r: &mut dyn FnMut(u64) -> u64, atoms: &[&str]) -> String {
            if depth == 0 || r(4) == 0 {
                return atoms[r(atoms.len() as u64) as usize].to_string();
            }
            match r(11) {
                0 | 1 => format!("({} + {})", g(depth - 1, r, atoms), g(depth - 1, r, atoms)),
                2 => format!("({} - {})", g(depth - 1, r, atoms), g(depth - 1, r, atoms)),
                3 | 4 => format!("{} * {}", g(depth - 1, r, atoms), g(depth - 1, r, atoms)),
                5 => format!(
                    "({}) / ({} + 3)",
                    g(depth - 1, r, atoms),
                    g(depth - 1, r, atoms)
                ),
                6 => format!("({})^{}", g(depth - 1, r, atoms), r(4)),
                7 => {
                    let u = g(1, r, atoms);
                    format!("sin({u})^2 + cos({u})^2 + {}", g(depth - 1, r, atoms))
                }
                8 => format!("exp({})", g(1, r, atoms)),
                9 => format!("sqrt(({})^2)", g(depth - 1, r, atoms)),
                _ => format!("log(({})^2 + 1)", g(depth - 1, r, atoms)),
            }
        }
        let src = g(4, &mut rnd, &atoms);
        let res = match simplify(&src, &o()) {
            Ok(r) => r,
            Err(e) => panic!("{src}: {e}"),
        };
        let a = parse(&src).unwrap();
        let b = parse(&res.expr).unwrap();
        gen_cnt += 1;
        for k in 0..5 {
            let mut sc = HashMap::new();
            sc.insert("x".to_string(), 0.37 + k as f64 * 0.61);
            sc.insert("y".to_string(), -1.3 + k as f64 * 0.47);
            sc.insert("z".to_string(), 0.9 - k as f64 * 0.33);
            let (x, y) = (eval(&a, &sc).unwrap(), eval(&b, &sc).unwrap());
            if !x.is_finite() || !y.is_finite() || x.abs() > 1e12 {
                continue;
            }
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{src} -> {} at {sc:?}: {x} vs {y}",
                res.expr
            );
            compared += 1;
        }
    }
    assert_eq!(gen_cnt, 1000);
    assert!(compared > 2500, "only {compared} points compared");
}

/// Generated pairs equal as rational functions print identically.
#[test]
fn canonicity_of_generated_pairs() {
    let polys = ["x + 1", "x - y", "2x + 3y - 1", "x^2 + y", "z - 1/2"];
    for i in 0..polys.len() {
        for j in 0..polys.len() {
            for k in 0..polys.len() {
                let (a, b, c) = (polys[i], polys[j], polys[k]);
                // (a*b + a*c) == a*(c+b) ; (a*b)/(b*c) == a/c
                let e1 = format!("({a})*({b}) + ({a})*({c})");
                let e2 = format!("({c} + {b})*({a})");
                assert_eq!(
                    simplify(&e1, &o()).unwrap().expr,
                    simplify(&e2, &o()).unwrap().expr,
                    "{e1} vs {e2}"
                );
                if i != k {
                    let e3 = format!("(({a})*({b}))/(({b})*({c}))");
                    let e4 = format!("({a})/({c})");
                    assert_eq!(
                        simplify(&e3, &o()).unwrap().expr,
                        simplify(&e4, &o()).unwrap().expr,
                        "{e3} vs {e4}"
                    );
                }
            }
        }
    }
}
