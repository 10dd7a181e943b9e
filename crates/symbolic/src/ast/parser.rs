//! Recursive-descent parser following mathjs's `parse.js` precedence ladder.

use super::lexer::{tokenize, Tok};
use super::*;
use omnitide_common::{Error, Result};

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
            format!(
                "syntax error at position {}: expected {expected}, got {}",
                self.at(),
                describe(self.peek())
            ),
        )
    }
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(Error::limit(
                "expr",
                format!(
                    "nesting deeper than maxDepth {} at position {}",
                    self.max_depth,
                    self.at()
                ),
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
    // The nesting depth is counted once per level, in parse_unary (every parenthesis,
    // argument list, unary operator and exponent passes through it exactly once).
    fn parse_or(&mut self) -> Result<Node> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.parse_or_inner())
    }
    fn parse_or_inner(&mut self) -> Result<Node> {
        let mut n = self.parse_xor()?;
        while self.is_kw("or") || self.is_op("||") {
            self.next();
            let r = self.parse_xor()?;
            n = bin(BinOp::Or, n, r);
        }
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
            let r = self.parse_rule2()?;
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
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        max_depth,
    };
    // Deep recursion guard: run on a thread-sized stack budget via depth counter.
    p.parse_top()
}
