//! Expression tree, mathjs-syntax parser and printers (mathjs string and TeX).
//!
//! The parser follows the structure of mathjs's `parse.js` so mathjs strings mean the same
//! thing here: unary minus binds weaker than `^` (`-x^2` is `-(x^2)`), implicit
//! multiplication binds tighter than explicit `*`/`/`, except mathjs's "rule 2"
//! (`1/2x` is `(1/2)*x`: a number divided by a number followed by a symbol or `(`).

mod lexer;
mod parser;
mod print;
mod tex;

pub use parser::{parse, parse_with_depth, DEFAULT_MAX_DEPTH};
pub use print::{fmt_rational, to_string};
pub use tex::to_tex;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::One;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Mod,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
            BinOp::Mod => "mod",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Xor => "xor",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
    /// Precedence as in mathjs (higher binds tighter).
    pub fn prec(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::Xor => 2,
            BinOp::And => 3,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 6,
            BinOp::Pow => 8,
        }
    }
}

// PartialEq is written by hand only so deep trees compare without overflowing the stack; it
// compares exactly what the derived Hash hashes, so the two stay consistent.
#[allow(clippy::derived_hash_with_manual_eq)]
#[derive(Debug, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// Exact numeric literal (decimals are read exactly: `0.1` is 1/10).
    Num(BigRational),
    Bool(bool),
    Sym(String),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
    Factorial(Box<Node>),
}

/// Recursive walks grow the stack on demand (`stacker`), so a tree as deep as the limits
/// allow never overflows the native stack, whichever thread runs it.
pub fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, f)
}

impl Clone for Node {
    fn clone(&self) -> Node {
        grow(|| match self {
            Node::Num(r) => Node::Num(r.clone()),
            Node::Bool(b) => Node::Bool(*b),
            Node::Sym(s) => Node::Sym(s.clone()),
            Node::Neg(a) => Node::Neg(a.clone()),
            Node::Not(a) => Node::Not(a.clone()),
            Node::Factorial(a) => Node::Factorial(a.clone()),
            Node::Bin(op, a, b) => Node::Bin(*op, a.clone(), b.clone()),
            Node::Call(f, args) => Node::Call(f.clone(), args.clone()),
        })
    }
}

impl PartialEq for Node {
    fn eq(&self, o: &Node) -> bool {
        grow(|| match (self, o) {
            (Node::Num(a), Node::Num(b)) => a == b,
            (Node::Bool(a), Node::Bool(b)) => a == b,
            (Node::Sym(a), Node::Sym(b)) => a == b,
            (Node::Neg(a), Node::Neg(b)) | (Node::Not(a), Node::Not(b)) | (Node::Factorial(a), Node::Factorial(b)) => a == b,
            (Node::Bin(p, a, b), Node::Bin(q, c, d)) => p == q && a == c && b == d,
            (Node::Call(f, a), Node::Call(g, b)) => f == g && a == b,
            _ => false,
        })
    }
}

impl Drop for Node {
    // Iterative drop: a million-term left-deep sum must not overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Node> = Vec::new();
        let take = |n: &mut Node, st: &mut Vec<Node>| match n {
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => st.push(std::mem::replace(&mut **a, Node::Bool(false))),
            Node::Bin(_, a, b) => {
                st.push(std::mem::replace(&mut **a, Node::Bool(false)));
                st.push(std::mem::replace(&mut **b, Node::Bool(false)));
            }
            Node::Call(_, args) => st.append(args),
            _ => {}
        };
        match self {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => return,
            _ => {}
        }
        take(self, &mut stack);
        while let Some(mut n) = stack.pop() {
            take(&mut n, &mut stack);
        }
    }
}

pub fn num(n: i64) -> Node {
    Node::Num(BigRational::from_integer(BigInt::from(n)))
}
pub fn sym(s: &str) -> Node {
    Node::Sym(s.to_string())
}
pub fn bin(op: BinOp, a: Node, b: Node) -> Node {
    Node::Bin(op, Box::new(a), Box::new(b))
}
pub fn call(f: &str, args: Vec<Node>) -> Node {
    Node::Call(f.to_string(), args)
}

/// `a * b` flattened to a left-deep product (prints without extra parentheses).
pub fn mul_left(a: Node, b: Node) -> Node {
    match b {
        Node::Bin(BinOp::Mul, ref x, ref y) => {
            let (x, y) = ((**x).clone(), (**y).clone());
            Node::mul(mul_left(a, x), y)
        }
        b => Node::mul(a, b),
    }
}

// Constructors named after the operator they build (`Node::add(a, b)`), not operator impls.
#[allow(clippy::should_implement_trait)]
impl Node {
    pub fn add(a: Node, b: Node) -> Node {
        bin(BinOp::Add, a, b)
    }
    pub fn mul(a: Node, b: Node) -> Node {
        bin(BinOp::Mul, a, b)
    }
    pub fn pow(a: Node, b: Node) -> Node {
        bin(BinOp::Pow, a, b)
    }
    pub fn is_num(&self) -> bool {
        matches!(self, Node::Num(_))
    }
    /// Number of nodes in the tree.
    pub fn size(&self) -> usize {
        grow(|| match self {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => 1,
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => 1 + a.size(),
            Node::Bin(_, a, b) => 1 + a.size() + b.size(),
            Node::Call(_, args) => 1 + args.iter().map(|a| a.size()).sum::<usize>(),
        })
    }
    pub fn depth(&self) -> usize {
        grow(|| match self {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => 1,
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => 1 + a.depth(),
            Node::Bin(_, a, b) => 1 + a.depth().max(b.depth()),
            Node::Call(_, args) => 1 + args.iter().map(|a| a.depth()).max().unwrap_or(0),
        })
    }
    /// Free symbols (constants pi, e, i, true, false are not variables).
    pub fn variables(&self, out: &mut Vec<String>) {
        grow(|| match self {
            Node::Sym(s) => {
                if !is_constant_name(s) && !out.contains(s) {
                    out.push(s.clone())
                }
            }
            Node::Num(_) | Node::Bool(_) => {}
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => a.variables(out),
            Node::Bin(_, a, b) => {
                a.variables(out);
                b.variables(out)
            }
            Node::Call(_, args) => args.iter().for_each(|a| a.variables(out)),
        })
    }
    pub fn vars(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.variables(&mut v);
        v.sort();
        v
    }
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
        ("unaryMinus", 1) => Some(Node::Neg(Box::new(args[0].clone()))),
        ("unaryPlus", 1) => Some(args[0].clone()),
        _ => None,
    }
}

pub fn is_constant_name(s: &str) -> bool {
    matches!(s, "pi" | "e" | "i" | "E" | "PI" | "Infinity" | "NaN" | "tau" | "phi")
}

pub fn rat(n: i64, d: i64) -> BigRational {
    BigRational::new(BigInt::from(n), BigInt::from(d))
}
pub fn is_one(r: &BigRational) -> bool {
    r.is_one()
}

#[cfg(test)]
mod tests {
    use super::*;
    fn p(s: &str) -> String {
        to_string(&parse(s).unwrap())
    }
    #[test]
    fn mathjs_quirks() {
        assert_eq!(p("1/2x"), "1 / 2 * x");
        assert_eq!(parse("1/2x").unwrap(), Node::mul(bin(BinOp::Div, num(1), num(2)), sym("x")));
        assert_eq!(parse("-x^2").unwrap(), Node::Neg(Box::new(Node::pow(sym("x"), num(2)))));
        assert_eq!(parse("2x y").unwrap(), Node::mul(Node::mul(num(2), sym("x")), sym("y")));
        assert_eq!(parse("x/2y").unwrap(), bin(BinOp::Div, sym("x"), Node::mul(num(2), sym("y"))));
        assert_eq!(parse("2^-3").unwrap(), Node::pow(num(2), Node::Neg(Box::new(num(3)))));
        assert_eq!(parse("2^3^2").unwrap(), Node::pow(num(2), Node::pow(num(3), num(2))));
        assert_eq!(parse("(x+1)(x-1)").unwrap().size(), 7);
        assert_eq!(parse("sin(x)^2").unwrap(), Node::pow(call("sin", vec![sym("x")]), num(2)));
        assert_eq!(parse("0.25").unwrap(), Node::Num(rat(1, 4)));
        assert_eq!(parse("1e3").unwrap(), num(1000));
        assert_eq!(p("a and not b or c"), "a and not b or c");
        assert_eq!(p("x - (y - z)"), "x - (y - z)");
        assert_eq!(p("(x^2)^(1/2)"), "(x ^ 2) ^ (1 / 2)");
        assert_eq!(p("-(x+1)"), "-(x + 1)");
        assert_eq!(p("2 pi"), "2 * pi");
    }
    #[test]
    fn syntax_errors_have_position() {
        let e = parse("x + * 2").unwrap_err();
        assert!(e.message.contains("position 4"), "{}", e.message);
        assert!(e.message.contains("expected"), "{}", e.message);
        let e = parse("sin(x").unwrap_err();
        assert!(e.message.contains("position 5") && e.message.contains("')'"), "{}", e.message);
        let e = parse("x # y").unwrap_err();
        assert!(e.message.contains("position 2"), "{}", e.message);
    }
    #[test]
    fn depth_limit() {
        let s = "(".repeat(100_000) + "x" + &")".repeat(100_000);
        let e = parse(&s).unwrap_err();
        assert_eq!(e.code, omnitide_common::code::LIMIT);
        let s = "-".repeat(100_000) + "x";
        assert!(parse(&s).is_err());
        let s = "x^".repeat(100_000) + "x";
        assert!(parse(&s).is_err());
    }
    #[test]
    fn tex() {
        assert_eq!(to_tex(&parse("x^2/2").unwrap()), "\\frac{{x}^{2}}{2}");
        assert_eq!(to_tex(&parse("sqrt(x)").unwrap()), "\\sqrt{x}");
    }
}
