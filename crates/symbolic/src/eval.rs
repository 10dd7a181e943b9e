//! Numeric (f64) evaluation of expression trees.
use crate::ast::*;
use num_traits::ToPrimitive;
use omnitide_common::{Error, Result};
use std::collections::HashMap;

pub fn eval(n: &Node, scope: &HashMap<String, f64>) -> Result<f64> {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || eval_inner(n, scope))
}

fn eval_inner(n: &Node, scope: &HashMap<String, f64>) -> Result<f64> {
    Ok(match n {
        Node::Num(r) => r.to_f64().unwrap_or(f64::NAN),
        Node::Bool(b) => *b as u8 as f64,
        Node::Sym(s) => match scope.get(s) {
            Some(v) => *v,
            None => match s.as_str() {
                "pi" | "PI" => std::f64::consts::PI,
                "e" | "E" => std::f64::consts::E,
                "tau" => std::f64::consts::TAU,
                "phi" => 1.618_033_988_749_895,
                "Infinity" => f64::INFINITY,
                "NaN" => f64::NAN,
                "true" => 1.0,
                "false" => 0.0,
                "i" => {
                    return Err(Error::invalid_arg(
                        "expr",
                        "the imaginary unit i has no real value",
                    ))
                }
                _ => {
                    return Err(Error::invalid_arg(
                        "scope",
                        format!("undefined symbol '{s}'"),
                    ))
                }
            },
        },
        Node::Neg(a) => -eval(a, scope)?,
        Node::Not(a) => (eval(a, scope)? == 0.0) as u8 as f64,
        Node::Factorial(a) => gamma(eval(a, scope)? + 1.0),
        Node::Bin(op, a, b) => {
            let x = eval(a, scope)?;
            let y = eval(b, scope)?;
            match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Pow => pow(x, y),
                BinOp::Mod => x - y * (x / y).floor(),
                BinOp::And => ((x != 0.0) && (y != 0.0)) as u8 as f64,
                BinOp::Or => ((x != 0.0) || (y != 0.0)) as u8 as f64,
                BinOp::Xor => ((x != 0.0) != (y != 0.0)) as u8 as f64,
                BinOp::Eq => (x == y) as u8 as f64,
                BinOp::Ne => (x != y) as u8 as f64,
                BinOp::Lt => (x < y) as u8 as f64,
                BinOp::Le => (x <= y) as u8 as f64,
                BinOp::Gt => (x > y) as u8 as f64,
                BinOp::Ge => (x >= y) as u8 as f64,
            }
        }
        Node::Call(f, args) => {
            let v: Vec<f64> = args.iter().map(|a| eval(a, scope)).collect::<Result<_>>()?;
            apply(f, &v)?
        }
    })
}

/// Real power as mathjs computes it for reals: odd roots of negatives stay real only for
/// integer exponents; otherwise NaN (outside the real domain).
pub fn pow(x: f64, y: f64) -> f64 {
    if y.fract() == 0.0 && y.abs() <= i32::MAX as f64 {
        return x.powi(y as i32);
    }
    x.powf(y)
}

pub fn apply(f: &str, v: &[f64]) -> Result<f64> {
    let a = |i: usize| {
        v.get(i).copied().ok_or_else(|| {
            Error::invalid_arg("expr", format!("{f}() is missing argument {}", i + 1))
        })
    };
    Ok(match f {
        "sin" => a(0)?.sin(),
        "cos" => a(0)?.cos(),
        "tan" => a(0)?.tan(),
        "sec" => 1.0 / a(0)?.cos(),
        "csc" => 1.0 / a(0)?.sin(),
        "cot" => 1.0 / a(0)?.tan(),
        "asin" => a(0)?.asin(),
        "acos" => a(0)?.acos(),
        "atan" => a(0)?.atan(),
        "atan2" => a(0)?.atan2(a(1)?),
        "sinh" => a(0)?.sinh(),
        "cosh" => a(0)?.cosh(),
        "tanh" => a(0)?.tanh(),
        "exp" => a(0)?.exp(),
        "log" | "ln" => {
            if v.len() == 2 {
                a(0)?.ln() / a(1)?.ln()
            } else {
                a(0)?.ln()
            }
        }
        "log10" => a(0)?.log10(),
        "log2" => a(0)?.log2(),
        "sqrt" => a(0)?.sqrt(),
        "cbrt" => a(0)?.cbrt(),
        "abs" => a(0)?.abs(),
        "sign" => {
            let x = a(0)?;
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        "floor" => a(0)?.floor(),
        "ceil" => a(0)?.ceil(),
        "round" => a(0)?.round(),
        "pow" => pow(a(0)?, a(1)?),
        "mod" => {
            let (x, y) = (a(0)?, a(1)?);
            x - y * (x / y).floor()
        }
        "add" => v.iter().sum(),
        "multiply" => v.iter().product(),
        "subtract" => a(0)? - a(1)?,
        "divide" => a(0)? / a(1)?,
        "unaryMinus" => -a(0)?,
        "unaryPlus" => a(0)?,
        "nthRoot" => {
            let (x, n) = (a(0)?, if v.len() > 1 { a(1)? } else { 2.0 });
            // odd roots of negatives are real (mathjs nthRoot)
            if x < 0.0 && n.fract() == 0.0 && (n as i64) % 2 != 0 {
                -(-x).powf(1.0 / n)
            } else {
                x.powf(1.0 / n)
            }
        }
        "asec" => (1.0 / a(0)?).acos(),
        "acsc" => (1.0 / a(0)?).asin(),
        "acot" => (1.0 / a(0)?).atan(),
        "sech" => 1.0 / a(0)?.cosh(),
        "csch" => 1.0 / a(0)?.sinh(),
        "coth" => 1.0 / a(0)?.tanh(),
        "asinh" => a(0)?.asinh(),
        "acosh" => a(0)?.acosh(),
        "atanh" => a(0)?.atanh(),
        "asech" => (1.0 / a(0)?).acosh(),
        "acsch" => (1.0 / a(0)?).asinh(),
        "acoth" => (1.0 / a(0)?).atanh(),
        "min" => v.iter().cloned().fold(f64::INFINITY, f64::min),
        "max" => v.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        "factorial" | "gamma" => {
            if f == "factorial" {
                gamma(a(0)? + 1.0)
            } else {
                gamma(a(0)?)
            }
        }
        _ => {
            return Err(Error::invalid_arg(
                "expr",
                format!("unknown function '{f}'"),
            ))
        }
    })
}

fn gamma(x: f64) -> f64 {
    if x.fract() == 0.0 && x > 0.0 && x < 171.0 {
        let mut r = 1.0;
        for k in 2..(x as u64) {
            r *= k as f64;
        }
        return r;
    }
    // Lanczos approximation
    if x < 0.5 {
        return std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x));
    }
    let g = 7.0;
    let c = [
        0.999_999_999_999_809_9,
        676.5203681218851,
        -1259.1392167224028,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507343278686905,
        -0.13857109526572012,
        9.984_369_578_019_572e-6,
        1.5056327351493116e-7,
    ];
    let x = x - 1.0;
    let mut s = c[0];
    for (i, ci) in c.iter().enumerate().skip(1) {
        s += ci / (x + i as f64);
    }
    let t = x + g + 0.5;
    (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * s
}
