//! Expression tree, mathjs-syntax parser and printers (mathjs string and TeX).
//!
//! The parser follows the structure of mathjs's `parse.js` so mathjs strings mean the same
//! thing here: unary minus binds weaker than `^` (`-x^2` is `-(x^2)`), implicit
//! multiplication binds tighter than explicit `*`/`/`, except mathjs's "rule 2"
//! (`1/2x` is `(1/2)*x`: a number divided by a number followed by a symbol or `(`).

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use omnitide_common::{Error, Result};
use std::fmt::Write;

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

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
        match self {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => 1,
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => 1 + a.size(),
            Node::Bin(_, a, b) => 1 + a.size() + b.size(),
            Node::Call(_, args) => 1 + args.iter().map(|a| a.size()).sum::<usize>(),
        }
    }
    pub fn depth(&self) -> usize {
        match self {
            Node::Num(_) | Node::Bool(_) | Node::Sym(_) => 1,
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => 1 + a.depth(),
            Node::Bin(_, a, b) => 1 + a.depth().max(b.depth()),
            Node::Call(_, args) => 1 + args.iter().map(|a| a.depth()).max().unwrap_or(0),
        }
    }
    /// Free symbols (constants pi, e, i, true, false are not variables).
    pub fn variables(&self, out: &mut Vec<String>) {
        match self {
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
        }
    }
    pub fn vars(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.variables(&mut v);
        v.sort();
        v
    }
}

pub fn is_constant_name(s: &str) -> bool {
    matches!(s, "pi" | "e" | "i" | "E" | "PI" | "Infinity" | "NaN" | "tau" | "phi")
}

// ---------------------------------------------------------------- tokenizer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(BigRational, String),
    Sym(String),
    Op(&'static str),
    End,
}

const OPS: [&str; 22] = [
    "==", "!=", "<=", ">=", "&&", "||", ".*", "./", ".^", "+", "-", "*", "/", "^", "(", ")", ",",
    "<", ">", "!", "%", "'",
];

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i] == b'.' {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let mant_end = i;
            let mut exp: i64 = 0;
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    let es = j;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let digits = &src[es..j];
                    if digits.len() > 6 {
                        return Err(Error::limit("expr", format!("at position {start}: exponent of number literal too large")));
                    }
                    exp = digits.parse::<i64>().unwrap();
                    if b[i + 1] == b'-' {
                        exp = -exp;
                    }
                    i = j;
                }
            }
            let text = &src[start..mant_end];
            let (ip, fp) = match text.find('.') {
                Some(p) => (&text[..p], &text[p + 1..]),
                None => (text, ""),
            };
            if ip.len() + fp.len() > 10_000 || exp.abs() > 10_000 {
                return Err(Error::limit("expr", format!("at position {start}: number literal too long")));
            }
            let digits = format!("{ip}{fp}");
            let mant: BigInt = if digits.is_empty() { BigInt::zero() } else { digits.parse().unwrap() };
            let e10 = exp - fp.len() as i64;
            let ten = BigInt::from(10);
            let v = if e10 >= 0 {
                BigRational::from_integer(mant * num_traits::pow(ten, e10 as usize))
            } else {
                BigRational::new(mant, num_traits::pow(ten, (-e10) as usize))
            };
            out.push((Tok::Num(v, src[start..i].to_string()), start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            out.push((Tok::Sym(src[start..i].to_string()), start));
            continue;
        }
        let mut matched = false;
        for op in OPS {
            if src[i..].starts_with(op) {
                out.push((Tok::Op(op), start));
                i += op.len();
                matched = true;
                break;
            }
        }
        if !matched {
            let ch = src[i..].chars().next().unwrap();
            return Err(Error::invalid_arg(
                "expr",
                format!("syntax error at position {i}: unexpected character '{ch}', expected an operand or operator"),
            ));
        }
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

// ---------------------------------------------------------------- parser

pub const DEFAULT_MAX_DEPTH: usize = 500;

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
    max_depth: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(_, s) => format!("number {s}"),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::Op(o) => format!("'{o}'"),
        Tok::End => "end of input".to_string(),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(s, "and" | "or" | "xor" | "not" | "mod" | "to" | "in")
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn at(&self) -> usize {
        self.toks[self.pos].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Sym(s) if s == kw)
    }
    fn err(&self, expected: &str) -> Error {
        Error::invalid_arg(
            "expr",
            format!("syntax error at position {}: expected {expected}, got {}", self.at(), describe(self.peek())),
        )
    }
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(Error::limit(
                "expr",
                format!("nesting deeper than maxDepth {} at position {}", self.max_depth, self.at()),
            ));
        }
        Ok(())
    }

    fn parse_top(&mut self) -> Result<Node> {
        let n = self.parse_or()?;
        if *self.peek() != Tok::End {
            return Err(self.err("an operator or end of input"));
        }
        Ok(n)
    }
    fn parse_or(&mut self) -> Result<Node> {
        self.enter()?;
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.parse_or_inner())
    }
    fn parse_or_inner(&mut self) -> Result<Node> {
        let mut n = self.parse_xor()?;
        while self.is_kw("or") || self.is_op("||") {
            self.next();
            let r = self.parse_xor()?;
            n = bin(BinOp::Or, n, r);
        }
        self.depth -= 1;
        Ok(n)
    }
    fn parse_xor(&mut self) -> Result<Node> {
        let mut n = self.parse_and()?;
        while self.is_kw("xor") {
            self.next();
            let r = self.parse_and()?;
            n = bin(BinOp::Xor, n, r);
        }
        Ok(n)
    }
    fn parse_and(&mut self) -> Result<Node> {
        let mut n = self.parse_rel()?;
        while self.is_kw("and") || self.is_op("&&") {
            self.next();
            let r = self.parse_rel()?;
            n = bin(BinOp::And, n, r);
        }
        Ok(n)
    }
    fn parse_rel(&mut self) -> Result<Node> {
        let mut n = self.parse_add()?;
        loop {
            let op = match self.peek() {
                Tok::Op("==") => BinOp::Eq,
                Tok::Op("!=") => BinOp::Ne,
                Tok::Op("<") => BinOp::Lt,
                Tok::Op("<=") => BinOp::Le,
                Tok::Op(">") => BinOp::Gt,
                Tok::Op(">=") => BinOp::Ge,
                _ => break,
            };
            self.next();
            let r = self.parse_add()?;
            n = bin(op, n, r);
        }
        Ok(n)
    }
    fn parse_add(&mut self) -> Result<Node> {
        let mut n = self.parse_muldiv()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => break,
            };
            self.next();
            let r = self.parse_muldiv()?;
            n = bin(op, n, r);
        }
        Ok(n)
    }
    fn parse_muldiv(&mut self) -> Result<Node> {
        let mut n = self.parse_implicit()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") | Tok::Op(".*") => BinOp::Mul,
                Tok::Op("/") | Tok::Op("./") => BinOp::Div,
                Tok::Op("%") => BinOp::Mod,
                Tok::Sym(s) if s == "mod" => BinOp::Mod,
                _ => break,
            };
            self.next();
            let r = self.parse_implicit()?;
            n = bin(op, n, r);
        }
        Ok(n)
    }
    fn parse_implicit(&mut self) -> Result<Node> {
        let mut n = self.parse_rule2()?;
        let mut last_is_const = matches!(n, Node::Num(_));
        let mut last_is_op = matches!(n, Node::Neg(_) | Node::Bin(..) | Node::Not(_));
        loop {
            let go = match self.peek() {
                Tok::Sym(s) => !is_keyword(s),
                Tok::Op("(") => true,
                Tok::Num(..) => !last_is_const && !last_is_op,
                _ => false,
            };
            if !go {
                break;
            }
            self.enter()?;
            let r = self.parse_rule2()?;
            self.depth -= 1;
            last_is_const = matches!(r, Node::Num(_));
            last_is_op = matches!(r, Node::Neg(_) | Node::Bin(..) | Node::Not(_));
            n = Node::mul(n, r);
        }
        Ok(n)
    }
    fn rule2_node(n: &Node) -> bool {
        match n {
            Node::Num(_) => true,
            Node::Neg(a) => Self::rule2_node(a),
            _ => false,
        }
    }
    fn parse_rule2(&mut self) -> Result<Node> {
        let mut n = self.parse_unary()?;
        let mut last_is_r2 = Self::rule2_node(&n);
        while self.is_op("/") && last_is_r2 {
            // number / number (symbol | '(')  → divide binds tighter
            let save = self.pos;
            self.next();
            if matches!(self.peek(), Tok::Num(..)) {
                let save2 = self.pos;
                self.next();
                let ok = matches!(self.peek(), Tok::Sym(s) if !is_keyword(s)) || self.is_op("(");
                self.pos = save2;
                if ok {
                    let r = self.parse_unary()?;
                    last_is_r2 = Self::rule2_node(&r);
                    n = bin(BinOp::Div, n, r);
                    continue;
                }
            }
            self.pos = save;
            break;
        }
        Ok(n)
    }
    fn parse_unary(&mut self) -> Result<Node> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.parse_unary_inner())
    }
    fn parse_unary_inner(&mut self) -> Result<Node> {
        self.enter()?;
        let r = if self.is_op("-") {
            self.next();
            let a = self.parse_unary()?;
            Node::Neg(Box::new(a))
        } else if self.is_op("+") {
            self.next();
            self.parse_unary()?
        } else if self.is_kw("not") || self.is_op("!") {
            self.next();
            let a = self.parse_unary()?;
            Node::Not(Box::new(a))
        } else {
            self.parse_pow()?
        };
        self.depth -= 1;
        Ok(r)
    }
    fn parse_pow(&mut self) -> Result<Node> {
        let n = self.parse_postfix()?;
        if self.is_op("^") || self.is_op(".^") {
            self.next();
            let r = self.parse_unary()?;
            return Ok(Node::pow(n, r));
        }
        Ok(n)
    }
    fn parse_postfix(&mut self) -> Result<Node> {
        let mut n = self.parse_primary()?;
        loop {
            if self.is_op("!") {
                // factorial only if not followed by '=' (handled by tokenizer `!=`)
                self.next();
                n = Node::Factorial(Box::new(n));
            } else if self.is_op("'") {
                return Err(self.err("an operator (matrix transpose ' is not supported)"));
            } else {
                break;
            }
        }
        Ok(n)
    }
    fn parse_primary(&mut self) -> Result<Node> {
        match self.peek().clone() {
            Tok::Num(v, _) => {
                self.next();
                Ok(Node::Num(v))
            }
            Tok::Sym(s) if !is_keyword(&s) => {
                self.next();
                if self.is_op("(") {
                    self.next();
                    let mut args = Vec::new();
                    if !self.is_op(")") {
                        loop {
                            args.push(self.parse_or()?);
                            if self.is_op(",") {
                                self.next();
                                continue;
                            }
                            break;
                        }
                    }
                    if !self.is_op(")") {
                        return Err(self.err("',' or ')' to close the argument list"));
                    }
                    self.next();
                    Ok(Node::Call(s, args))
                } else if s == "true" || s == "false" {
                    Ok(Node::Bool(s == "true"))
                } else {
                    Ok(Node::Sym(s))
                }
            }
            Tok::Op("(") => {
                self.next();
                let n = self.parse_or()?;
                if !self.is_op(")") {
                    return Err(self.err("')'"));
                }
                self.next();
                Ok(n)
            }
            _ => Err(self.err("a number, symbol, function call or '('")),
        }
    }
}

/// Parses a mathjs expression.
pub fn parse(src: &str) -> Result<Node> {
    parse_with_depth(src, DEFAULT_MAX_DEPTH)
}

pub fn parse_with_depth(src: &str, max_depth: usize) -> Result<Node> {
    if src.len() > 10_000_000 {
        return Err(Error::limit("expr", "longer than 10 MB"));
    }
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, depth: 0, max_depth };
    // Deep recursion guard: run on a thread-sized stack budget via depth counter.
    p.parse_top()
}

// ---------------------------------------------------------------- printing

pub fn fmt_rational(r: &BigRational) -> String {
    if r.is_integer() {
        r.numer().to_string()
    } else {
        format!("{}/{}", r.numer(), r.denom())
    }
}

fn prec_of(n: &Node) -> u8 {
    match n {
        Node::Num(r) => {
            if r.is_negative() {
                7
            } else if !r.is_integer() {
                6
            } else {
                10
            }
        }
        Node::Bool(_) | Node::Sym(_) | Node::Call(..) => 10,
        Node::Neg(_) | Node::Not(_) => 7,
        Node::Bin(op, ..) => op.prec(),
        Node::Factorial(_) => 9,
    }
}

/// Prints in mathjs syntax (the same spacing as mathjs's `toString()`).
pub fn to_string(n: &Node) -> String {
    let mut s = String::new();
    write_node(n, &mut s);
    s
}

fn wrap(n: &Node, need_paren: bool, s: &mut String) {
    if need_paren {
        s.push('(');
        write_node(n, s);
        s.push(')');
    } else {
        write_node(n, s);
    }
}

fn write_node(n: &Node, s: &mut String) {
    match n {
        Node::Num(r) => {
            if r.is_negative() {
                s.push('-');
                s.push_str(&fmt_rational(&-r.clone()));
            } else {
                s.push_str(&fmt_rational(r));
            }
        }
        Node::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Node::Sym(x) => s.push_str(x),
        Node::Neg(a) => {
            s.push('-');
            wrap(a, prec_of(a) < 7 || matches!(**a, Node::Neg(_)), s);
        }
        Node::Not(a) => {
            s.push_str("not ");
            wrap(a, prec_of(a) < 7, s);
        }
        Node::Factorial(a) => {
            wrap(a, prec_of(a) < 10, s);
            s.push('!');
        }
        Node::Call(f, args) => {
            s.push_str(f);
            s.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_node(a, s);
            }
            s.push(')');
        }
        Node::Bin(op, a, b) => {
            let p = op.prec();
            if *op == BinOp::Pow {
                // right-associative; a unary/negative base needs parens
                wrap(a, prec_of(a) <= p || matches!(**a, Node::Num(ref r) if !r.is_integer() || r.is_negative()), s);
                s.push_str(" ^ ");
                wrap(b, prec_of(b) < p && !matches!(**b, Node::Neg(_)), s);
            } else {
                wrap(a, prec_of(a) < p, s);
                let _ = write!(s, " {} ", op.symbol());
                // right operands of equal precedence keep their parentheses so the tree
                // round-trips exactly (a + (b + c) is not printed as a + b + c)
                let right_paren = prec_of(b) <= p;
                wrap(b, right_paren, s);
            }
        }
    }
}

/// LaTeX rendering (as mathjs `toTex()` renders the same tree).
pub fn to_tex(n: &Node) -> String {
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
            "alpha" | "beta" | "gamma" | "delta" | "theta" | "lambda" | "mu" | "sigma" | "phi" | "omega" | "tau" => {
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
            let lp = |x: String, need: bool| if need { format!("\\left({x}\\right)") } else { x };
            match op {
                BinOp::Div => format!("\\frac{{{l}}}{{{r}}}"),
                BinOp::Pow => format!("{{{}}}^{{{r}}}", lp(l, prec_of(a) <= p)),
                BinOp::Mul => format!("{}\\cdot{}", lp(l, prec_of(a) < p), lp(r, prec_of(b) < p)),
                BinOp::And => format!("{}\\wedge{}", lp(l, prec_of(a) < p), lp(r, prec_of(b) <= p)),
                BinOp::Or => format!("{}\\vee{}", lp(l, prec_of(a) < p), lp(r, prec_of(b) <= p)),
                BinOp::Xor => format!("{}\\veebar{}", lp(l, prec_of(a) < p), lp(r, prec_of(b) <= p)),
                BinOp::Mod => format!("{}\\mod{}", lp(l, prec_of(a) < p), lp(r, prec_of(b) <= p)),
                BinOp::Le => format!("{l}\\leq{r}"),
                BinOp::Ge => format!("{l}\\geq{r}"),
                BinOp::Ne => format!("{l}\\neq{r}"),
                _ => {
                    let sym = op.symbol();
                    let sym = if sym == "==" { "=" } else { sym };
                    format!("{}{}{}", lp(l, prec_of(a) < p), sym, lp(r, prec_of(b) <= p))
                }
            }
        }
    }
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
