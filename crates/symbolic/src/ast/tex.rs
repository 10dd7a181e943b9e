//! LaTeX rendering.

use super::print::prec_of;
use super::*;
use num_traits::Signed;
/// LaTeX rendering (as mathjs `toTex()` renders the same tree).
pub fn to_tex(n: &Node) -> String {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || tex_inner(n))
}

/// `left op right` where `op` is a TeX command: a letter right after a command word would
/// be read as part of it (`\cdotx`), so a space separates them.
fn join_cmd(l: &str, cmd: &str, r: &str) -> String {
    if r.starts_with(|c: char| c.is_ascii_alphabetic()) {
        format!("{l}{cmd} {r}")
    } else {
        format!("{l}{cmd}{r}")
    }
}

fn tex_inner(n: &Node) -> String {
    match n {
        Node::Num(r) => {
            if r.is_integer() {
                r.numer().to_string()
            } else {
                let sign = if r.is_negative() { "-" } else { "" };
                format!("{sign}\\frac{{{}}}{{{}}}", r.numer().abs(), r.denom())
            }
        }
        Node::Bool(b) => format!("\\mathrm{{{b}}}"),
        Node::Sym(x) => match x.as_str() {
            "pi" => "\\pi".into(),
            "e" => "e".into(),
            "i" => "i".into(),
            "alpha" | "beta" | "gamma" | "delta" | "theta" | "lambda" | "mu" | "sigma" | "phi"
            | "omega" | "tau" => {
                format!("\\{x}")
            }
            _ if x.len() > 1 => format!("\\mathrm{{{x}}}"),
            _ => x.clone(),
        },
        Node::Neg(a) => {
            let inner = to_tex(a);
            if prec_of(a) < 7 {
                format!("-\\left({inner}\\right)")
            } else {
                format!("-{inner}")
            }
        }
        Node::Not(a) => format!("\\neg\\left({}\\right)", to_tex(a)),
        Node::Factorial(a) => format!("\\left({}\\right)!", to_tex(a)),
        Node::Call(f, args) => {
            let a: Vec<String> = args.iter().map(to_tex).collect();
            match (f.as_str(), a.len()) {
                ("sqrt", 1) => format!("\\sqrt{{{}}}", a[0]),
                ("abs", 1) => format!("\\left|{}\\right|", a[0]),
                ("exp", 1) => format!("e^{{{}}}", a[0]),
                ("log", 1) => format!("\\ln\\left({}\\right)", a[0]),
                ("sin" | "cos" | "tan" | "sec" | "csc" | "cot" | "sinh" | "cosh" | "tanh", _) => {
                    format!("\\{f}\\left({}\\right)", a.join(","))
                }
                _ => format!("\\mathrm{{{f}}}\\left({}\\right)", a.join(",")),
            }
        }
        Node::Bin(op, a, b) => {
            let p = op.prec();
            let l = to_tex(a);
            let r = to_tex(b);
            let lp = |x: String, need: bool| {
                if need {
                    format!("\\left({x}\\right)")
                } else {
                    x
                }
            };
            match op {
                BinOp::Div => format!("\\frac{{{l}}}{{{r}}}"),
                BinOp::Pow => format!("{{{}}}^{{{r}}}", lp(l, prec_of(a) <= p)),
                BinOp::Mul => join_cmd(&lp(l, prec_of(a) < p), "\\cdot", &lp(r, prec_of(b) < p)),
                BinOp::And => join_cmd(&lp(l, prec_of(a) < p), "\\wedge", &lp(r, prec_of(b) <= p)),
                BinOp::Or => join_cmd(&lp(l, prec_of(a) < p), "\\vee", &lp(r, prec_of(b) <= p)),
                BinOp::Xor => join_cmd(&lp(l, prec_of(a) < p), "\\veebar", &lp(r, prec_of(b) <= p)),
                BinOp::Mod => join_cmd(&lp(l, prec_of(a) < p), "\\mod", &lp(r, prec_of(b) <= p)),
                BinOp::Le => join_cmd(&l, "\\leq", &r),
                BinOp::Ge => join_cmd(&l, "\\geq", &r),
                BinOp::Ne => join_cmd(&l, "\\neq", &r),
                _ => {
                    let sym = op.symbol();
                    let sym = if sym == "==" { "=" } else { sym };
                    format!("{}{}{}", lp(l, prec_of(a) < p), sym, lp(r, prec_of(b) <= p))
                }
            }
        }
    }
}
