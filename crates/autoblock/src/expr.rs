//! The filter expressions of scenarios: the subset of CrowdSec's `expr` that
//! scenario filters use on event fields — `==`, `!=`, `in [..]`, `contains`,
//! `startsWith`, `matches` (linear-time regex), `&&`/`and`, `||`/`or`,
//! `!`/`not`, parentheses, string/number literals. `evt.Meta.x`,
//! `evt.Parsed.x` and `x` all name the event field `x`.

use omnitide_common::{Error, Result};
use regex::Regex;

#[derive(Debug, Clone)]
pub enum Expr {
    True,
    Cmp { field: String, op: Op, value: String },
    In { field: String, values: Vec<String> },
    Match { field: String, re: Regex },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
}

fn lex(s: &str) -> std::result::Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = c[i..(i + 2).min(c.len())].iter().collect();
        match two.as_str() {
            "==" | "!=" | "&&" | "||" => {
                out.push(Tok::Op(match two.as_str() {
                    "==" => "==",
                    "!=" => "!=",
                    "&&" => "&&",
                    _ => "||",
                }));
                i += 2;
                continue;
            }
            _ => {}
        }
        match ch {
            '(' => out.push(Tok::LParen),
            ')' => out.push(Tok::RParen),
            '[' => out.push(Tok::LBrack),
            ']' => out.push(Tok::RBrack),
            ',' => out.push(Tok::Comma),
            '!' => out.push(Tok::Op("!")),
            '\'' | '"' => {
                let q = ch;
                let mut v = String::new();
                i += 1;
                while i < c.len() && c[i] != q {
                    if c[i] == '\\' && i + 1 < c.len() {
                        i += 1;
                    }
                    v.push(c[i]);
                    i += 1;
                }
                if i >= c.len() {
                    return Err("unterminated string".into());
                }
                out.push(Tok::Str(v));
            }
            c0 if c0.is_alphanumeric() || c0 == '_' || c0 == '.' || c0 == '-' => {
                let st = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.' || c[i] == '-') {
                    i += 1;
                }
                let w: String = c[st..i].iter().collect();
                if w.chars().next().is_some_and(|x| x.is_ascii_digit() || x == '-') {
                    out.push(Tok::Str(w));
                } else {
                    out.push(Tok::Ident(w));
                }
                continue;
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
        i += 1;
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == w)
    }
    fn or(&mut self) -> std::result::Result<Expr, String> {
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Op("||")) || self.is_word("or") {
            self.i += 1;
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> std::result::Result<Expr, String> {
        let mut l = self.unary()?;
        while self.peek() == Some(&Tok::Op("&&")) || self.is_word("and") {
            self.i += 1;
            l = Expr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> std::result::Result<Expr, String> {
        if self.peek() == Some(&Tok::Op("!")) || self.is_word("not") {
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err("missing ')'".into());
            }
            return Ok(e);
        }
        if self.is_word("true") {
            self.i += 1;
            return Ok(Expr::True);
        }
        let field = match self.next() {
            Some(Tok::Ident(f)) => field_name(&f),
            other => return Err(format!("expected a field, got {other:?}")),
        };
        let op = self.next();
        let op = match op {
            Some(Tok::Op("==")) => Op::Eq,
            Some(Tok::Op("!=")) => Op::Ne,
            Some(Tok::Ident(w)) if w == "in" => {
                if self.next() != Some(Tok::LBrack) {
                    return Err("expected '[' after 'in'".into());
                }
                let mut values = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::Str(s)) => values.push(s),
                        Some(Tok::RBrack) if values.is_empty() => break,
                        other => return Err(format!("expected a literal in list, got {other:?}")),
                    }
                    match self.next() {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RBrack) => break,
                        other => return Err(format!("expected ',' or ']', got {other:?}")),
                    }
                }
                return Ok(Expr::In { field, values });
            }
            Some(Tok::Ident(w)) if w == "contains" => Op::Contains,
            Some(Tok::Ident(w)) if w == "startsWith" => Op::StartsWith,
            Some(Tok::Ident(w)) if w == "endsWith" => Op::EndsWith,
            Some(Tok::Ident(w)) if w == "matches" => {
                let Some(Tok::Str(p)) = self.next() else {
                    return Err("expected a regex string after 'matches'".into());
                };
                let re = Regex::new(&p).map_err(|e| format!("matches: {e}"))?;
                return Ok(Expr::Match { field, re });
            }
            other => return Err(format!("expected an operator after '{field}', got {other:?}")),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => s,
            other => return Err(format!("expected a literal, got {other:?}")),
        };
        Ok(Expr::Cmp { field, op, value })
    }
}

fn field_name(path: &str) -> String {
    let p = path.strip_prefix("evt.").unwrap_or(path);
    for pre in ["Meta.", "Parsed.", "Enriched.", "Unmarshaled."] {
        if let Some(r) = p.strip_prefix(pre) {
            return r.to_string();
        }
    }
    p.to_string()
}

/// Parses a filter expression; `arg` names it in errors.
pub fn parse(arg: &str, s: &str) -> Result<Expr> {
    if s.trim().is_empty() {
        return Ok(Expr::True);
    }
    let toks = lex(s).map_err(|e| Error::invalid_arg(arg, e))?;
    let mut p = P { t: toks, i: 0 };
    let e = p.or().map_err(|e| Error::invalid_arg(arg, e))?;
    if p.i != p.t.len() {
        return Err(Error::invalid_arg(arg, format!("unexpected trailing input at token {}", p.i + 1)));
    }
    Ok(e)
}

pub fn field_of(path: &str) -> String {
    field_name(path)
}

impl Expr {
    pub fn eval<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        match self {
            Expr::True => true,
            Expr::Cmp { field, op, value } => {
                let v = get(field);
                match op {
                    Op::Eq => v == Some(value.as_str()),
                    Op::Ne => v != Some(value.as_str()),
                    Op::Contains => v.is_some_and(|v| v.contains(value.as_str())),
                    Op::StartsWith => v.is_some_and(|v| v.starts_with(value.as_str())),
                    Op::EndsWith => v.is_some_and(|v| v.ends_with(value.as_str())),
                }
            }
            Expr::In { field, values } => get(field).is_some_and(|v| values.iter().any(|x| x == v)),
            Expr::Match { field, re } => get(field).is_some_and(|v| re.is_match(v)),
            Expr::And(a, b) => a.eval(get) && b.eval(get),
            Expr::Or(a, b) => a.eval(get) || b.eval(get),
            Expr::Not(a) => !a.eval(get),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crowdsec_style_filters() {
        let e = parse("f", "evt.Meta.log_type == 'ssh_failed-auth' && (evt.Meta.service in ['ssh', \"sshd\"] or not evt.Meta.x != '1')")
            .unwrap();
        let ok = |k: &str| match k {
            "log_type" => Some("ssh_failed-auth"),
            "service" => Some("sshd"),
            _ => None,
        };
        assert!(e.eval(&ok));
        let no = |k: &str| if k == "log_type" { Some("other") } else { None };
        assert!(!e.eval(&no));
        assert!(parse("f", "evt.Meta.a ==").is_err());
        assert!(parse("f", "a == 'x' b").is_err());
        let m = parse("f", "evt.Parsed.path matches '^/wp-'").unwrap();
        assert!(m.eval(&|_| Some("/wp-login.php")));
    }
}
