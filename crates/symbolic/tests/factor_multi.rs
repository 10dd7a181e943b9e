//! Multivariate factorization over Z, cross-checked against SymPy's `factor_list` (installed by
//! .ci/run; outside CI a missing SymPy skips loudly, under CI=true it fails).

use omnitide_symbolic::ast::parse;
use omnitide_symbolic::canon::{rationalize, simplify, Ctx, Options};
use omnitide_symbolic::factor::factor_poly;
use omnitide_symbolic::ops::factor_full;
use std::process::Command;

fn opts() -> Options {
    let mut o = Options::default();
    o.limits.factor_time_ms = u64::MAX;
    o
}

/// A factor up to sign: the smaller of the canonical forms of `f` and `-f`.
fn key(f: &str) -> String {
    let a = simplify(f, &opts()).unwrap().expr;
    let b = simplify(&format!("-({f})"), &opts()).unwrap().expr;
    a.min(b)
}

fn ours(src: &str) -> Vec<(String, u32)> {
    let o = opts();
    let mut ctx = Ctx::new(o.clone());
    let r = ctx.to_rf(&parse(src).unwrap()).unwrap();
    let f = factor_poly(&r.num, &o.limits);
    assert!(f.complete, "{src}: a limit was hit {:?}", f.factors.len());
    let mut v: Vec<(String, u32)> = f
        .factors
        .iter()
        .map(|(g, m)| (key(&omnitide_symbolic::to_string(&ctx.poly_node(g))), *m))
        .collect();
    v.sort();
    v
}

const SYMPY: &str = r#"
import sys
import sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations, convert_xor
for line in sys.stdin.read().split("\n"):
    if not line.strip():
        continue
    e = parse_expr(line, transformations=standard_transformations + (convert_xor,))
    c, fs = sympy.factor_list(e)
    print(";".join("%d|%s" % (m, str(f)) for f, m in fs))
"#;

/// SymPy's factor lists for `exprs` (one per input), or None when SymPy is missing.
fn sympy(exprs: &[&str]) -> Option<Vec<Vec<(String, u32)>>> {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", SYMPY])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(exprs.join("\n").as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        eprintln!("sympy failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(
        text.lines()
            .map(|l| {
                let mut v: Vec<(String, u32)> = l
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let (m, f) = s.split_once('|').unwrap();
                        (key(&f.replace("**", "^")), m.parse().unwrap())
                    })
                    .collect();
                v.sort();
                v
            })
            .collect(),
    )
}

const CASES: &[&str] = &[
    // the issue's cases (each came back unfactored)
    "x^2 - y^2 + x - y",
    "x^2*y + x*y^2 + x + y",
    "x^2 + 2*x*y + y^2 - z^2",
    "y^2*z - 2*y*z^2 + 3*y - 6*z",
    "x^3 - 3*x^2*y + 3*x*y^2 - y^3 - z^3",
    // more shapes: repeated factors, content, irreducible, non-monic, three factors
    "(x + y)^2*(x - y)*(x*y + 1)",
    "x^4 - y^4",
    "(x^2 + y^2 + 1)*(x*y - 3)",
    "(2*x*y + 3*z)*(x - y*z + 2)*(z^2 + x)",
    "x^2 + y^2 + 1",
    "x^3*y + x*y^3 + x^2 + y^2",
    "(3*x^2*y - 2*z + 1)*(x*z^2 - 5*y^3)",
    "x^4 + x^2*y^2 + y^4",
    "(a*b - c*d)*(a*c + b*d)",
];

#[test]
fn multivariate_factors_agree_with_sympy() {
    let ours: Vec<Vec<(String, u32)>> = CASES.iter().map(|c| ours(c)).collect();
    // our factors multiply back to the input
    for c in CASES {
        let (f, complete) = factor_full(c, &opts()).unwrap();
        assert!(complete, "{c}");
        assert_eq!(
            rationalize(&f, &opts()).unwrap().0,
            rationalize(c, &opts()).unwrap().0,
            "{c} = {f}"
        );
    }
    // the issue's cases really split
    for (c, want) in CASES.iter().zip([2, 2, 2, 2, 2]) {
        assert_eq!(
            ours[CASES.iter().position(|x| x == c).unwrap()].len(),
            want,
            "{c}"
        );
    }
    let Some(theirs) = sympy(CASES) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("SymPy is required under CI (.ci/run installs it with pip)");
        }
        eprintln!("SKIPPED multivariate_factors_agree_with_sympy: python3 with sympy not available (pip install sympy)");
        return;
    };
    assert_eq!(theirs.len(), CASES.len());
    for ((c, a), b) in CASES.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "factor_list({c}): ours {a:?}, SymPy {b:?}");
    }
}
