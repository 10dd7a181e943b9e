//! Python `re` syntax -> the linear-time `regex` crate.
//!
//! fail2ban filters are written for Python's backtracking engine. We never run a
//! backtracking engine (a catastrophic regex must not stall detection), so each
//! pattern is parsed into a small AST and re-emitted in `regex` syntax:
//! - conditionals `(?(name)yes|no)` are expanded: the pattern becomes a list of
//!   variants (group matched / not matched), tried in Python's preference order;
//! - the "tempered token" `(?:(?!LITERAL).)*` (and `*?`) becomes the regular
//!   language "no occurrence of LITERAL" (built from its KMP automaton);
//! - `(?<=:):` after a repetition that always ends in `:` (fail2ban's IPv6 RE) is
//!   dropped, which is exact there;
//! - a negative look-ahead guarding a run, `(?!LIT|..)C+` / `(?!WORD\b)\w+` with
//!   a non-run character after it (sshd's `__alg_match`, `cmnfailed-ignore`), or
//!   a `C*`/`.*`/`.*?` run with one literal character after it (recidive,
//!   apache-auth), becomes the regular language of runs the guard lets through
//!   ([`guard`]); a guard before an alternation is first put into each
//!   alternative (courier-auth), and a `(?=c)` that everything after it starts
//!   with is dropped (exim);
//! - a literal look-ahead moves past the literal characters after it, and one
//!   ending the pattern is checked on the text after the match ([`ahead`]);
//! - a positive look-ahead ending an alternative, followed by literals and a
//!   named `.+$`, moves into that group, the rest of the pattern copied into
//!   each alternative ([`ahead_rest`]);
//! - `\Z` -> `\z`, `{,n}` -> `{0,n}`, escapes of punctuation -> literals.
//!
//! - back-references `(?P=name)` become variants (a group of a few literal
//!   strings) or a hidden copy of the group that must capture the same text
//!   ([`backref`], where the cases it could differ from Python are spelled out).
//!
//! Anything else with no linear-time equivalent (numbered back-references,
//! other look-arounds, atomic groups) is reported with its offset and the problem.

use std::fmt::Write as _;

mod ahead;
mod ahead_rest;
mod backref;
mod guard;

pub use ahead::TAIL;
pub use ahead_rest::{alias_of, ALIAS};
pub use backref::{Same, HIDDEN};

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Already in `regex` syntax, one atom or literal run (no top-level `|`).
    Text(String),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    /// `open` is the opening text in `regex` syntax (`(`, `(?:`, `(?P<n>`, `(?i:`).
    Group {
        open: String,
        name: Option<String>,
        node: Box<Node>,
    },
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        lazy: bool,
    },
    Cond {
        name: String,
        yes: Box<Node>,
        no: Box<Node>,
    },
    /// A look-around we could not map (kind text like `(?!`), kept to report it.
    Look {
        kind: &'static str,
        node: Box<Node>,
        at: usize,
    },
}

/// A problem with its character offset in the pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct PyReError {
    pub offset: usize,
    pub problem: String,
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    /// named groups already closed (Python lets a back-reference name only those)
    closed: Vec<String>,
}

fn err<T>(offset: usize, problem: impl Into<String>) -> Result<T, PyReError> {
    Err(PyReError { offset, problem: problem.into() })
}

fn lit(c: char) -> String {
    regex::escape(c.encode_utf8(&mut [0; 4]))
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn starts(&self, t: &str) -> bool {
        t.chars().enumerate().all(|(k, c)| self.s.get(self.i + k) == Some(&c))
    }

    fn alt(&mut self) -> Result<Node, PyReError> {
        let mut branches = vec![self.concat()?];
        while self.eat('|') {
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 { branches.pop().unwrap() } else { Node::Alt(branches) })
    }

    fn concat(&mut self) -> Result<Node, PyReError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom_at = self.i;
            let atom = self.atom()?;
            let atom = self.quantified(atom, atom_at)?;
            items.push(atom);
        }
        Ok(if items.len() == 1 { items.pop().unwrap() } else { Node::Concat(items) })
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while matches!(self.peek(), Some('0'..='9')) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        self.s[start..self.i].iter().collect::<String>().parse().ok()
    }

    fn quantified(&mut self, mut atom: Node, at: usize) -> Result<Node, PyReError> {
        loop {
            let save = self.i;
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.i += 1;
                    (0, None)
                }
                Some('+') => {
                    self.i += 1;
                    (1, None)
                }
                Some('?') => {
                    self.i += 1;
                    (0, Some(1))
                }
                Some('{') => {
                    self.i += 1;
                    let lo = self.number();
                    let (lo, hi) = if self.eat(',') {
                        (lo.unwrap_or(0), self.number())
                    } else {
                        match lo {
                            Some(n) => (n, Some(n)),
                            None => (u32::MAX, None),
                        }
                    };
                    if lo == u32::MAX || !self.eat('}') {
                        // Python treats a malformed `{` as a literal.
                        self.i = save + 1;
                        atom = Node::Concat(vec![atom, Node::Text(r"\{".into())]);
                        continue;
                    }
                    (lo, hi)
                }
                _ => return Ok(atom),
            };
            if matches!(atom, Node::Look { .. }) {
                return err(at, "a quantified look-around has no linear-time equivalent");
            }
            if self.peek() == Some('+') {
                return err(self.i, "possessive quantifiers have no equivalent in the linear-time engine");
            }
            let lazy = self.eat('?');
            atom = Node::Repeat { node: Box::new(atom), min, max, lazy };
            atom = tempered(atom);
        }
    }

    fn group_name(&mut self, close: char) -> Result<String, PyReError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == close {
                let name: String = self.s[start..self.i].iter().collect();
                self.i += 1;
                return Ok(name);
            }
            self.i += 1;
        }
        err(start, "unterminated group name")
    }

    fn atom(&mut self) -> Result<Node, PyReError> {
        let at = self.i;
        let c = self.peek().unwrap();
        self.i += 1;
        match c {
            '(' => self.group(at),
            '[' => self.class(at),
            '\\' => self.escape(at, false).map(Node::Text),
            '.' | '^' | '$' => Ok(Node::Text(c.to_string())),
            '*' | '+' | '?' => err(at, format!("nothing to repeat before '{c}'")),
            _ => Ok(Node::Text(lit(c))),
        }
    }

    fn group(&mut self, at: usize) -> Result<Node, PyReError> {
        let (open, name) = if self.eat('?') {
            if self.starts("P<") {
                self.i += 2;
                let n = self.group_name('>')?;
                if n.is_empty() || !n.chars().all(|c| c.is_alphanumeric() || c == '_') || n.starts_with(|c: char| c.is_ascii_digit()) {
                    return err(at, format!("bad group name '{n}'"));
                }
                (format!("(?P<{n}>"), Some(n))
            } else if self.starts("P=") {
                self.i += 2;
                let n = self.group_name(')')?;
                if !self.closed.contains(&n) {
                    return err(at, format!("back-reference (?P={n}) to a group that is not defined before it"));
                }
                return Ok(Node::Look { kind: backref::BACKREF, node: Box::new(Node::Text(n)), at });
            } else if self.eat(':') {
                ("(?:".into(), None)
            } else if self.eat('#') {
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == ')' {
                        return Ok(Node::Concat(vec![]));
                    }
                }
                return err(at, "unterminated comment");
            } else if self.eat('(') {
                let name = self.group_name(')')?;
                let body = self.alt()?;
                if !self.eat(')') {
                    return err(at, "missing ')'");
                }
                let (yes, no) = match body {
                    Node::Alt(mut b) if b.len() == 2 => {
                        let no = b.pop().unwrap();
                        (b.pop().unwrap(), no)
                    }
                    Node::Alt(_) => return err(at, "conditional group with more than two branches"),
                    other => (other, Node::Concat(vec![])),
                };
                return Ok(Node::Cond { name, yes: Box::new(yes), no: Box::new(no) });
            } else if self.starts("=") || self.starts("!") || self.starts("<=") || self.starts("<!") {
                let kind = if self.eat('=') {
                    "(?="
                } else if self.eat('!') {
                    "(?!"
                } else if self.starts("<=") {
                    self.i += 2;
                    "(?<="
                } else {
                    self.i += 2;
                    "(?<!"
                };
                let node = self.alt()?;
                if !self.eat(')') {
                    return err(at, "missing ')'");
                }
                return Ok(Node::Look { kind, node: Box::new(node), at });
            } else if self.eat('>') {
                return err(at, "atomic groups (?>...) have no equivalent in the linear-time engine");
            } else {
                // Inline flags: (?aiLmsux) or (?flags:...)
                let start = self.i;
                while matches!(self.peek(), Some('a'..='z' | 'A'..='Z' | '-')) {
                    self.i += 1;
                }
                let flags: String = self.s[start..self.i].iter().collect();
                if flags.is_empty() {
                    return err(at, "unknown group extension");
                }
                let mapped: String = flags.chars().filter(|c| matches!(c, 'i' | 'm' | 's' | 'x' | 'u' | '-')).collect();
                let mapped = mapped.replace('u', "");
                if self.eat(')') {
                    return Ok(Node::Text(if mapped.is_empty() { String::new() } else { format!("(?{mapped})") }));
                }
                if !self.eat(':') {
                    return err(at, "bad inline flag group");
                }
                (if mapped.is_empty() { "(?:".into() } else { format!("(?{mapped}:") }, None)
            }
        } else {
            ("(".into(), None)
        };
        let node = self.alt()?;
        if !self.eat(')') {
            return err(at, "missing ')'");
        }
        if let Some(n) = &name {
            self.closed.push(n.clone());
        }
        Ok(Node::Group { open, name, node: Box::new(node) })
    }

    /// An escape outside or inside a class, in `regex` syntax.
    fn escape(&mut self, at: usize, in_class: bool) -> Result<String, PyReError> {
        let Some(c) = self.peek() else {
            return err(at, "trailing backslash");
        };
        self.i += 1;
        Ok(match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => format!("\\{c}"),
            'b' if in_class => r"\x08".into(),
            'b' | 'B' | 'A' => format!("\\{c}"),
            'Z' => r"\z".into(),
            'n' | 't' | 'r' | 'f' | 'v' | 'a' => format!("\\{c}"),
            'x' => {
                let h: String = self.s.get(self.i..self.i + 2).map(|s| s.iter().collect()).unwrap_or_default();
                if h.len() != 2 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    return err(at, "bad \\x escape");
                }
                self.i += 2;
                format!("\\x{h}")
            }
            'u' | 'U' => {
                let n = if c == 'u' { 4 } else { 8 };
                let h: String = self.s.get(self.i..self.i + n).map(|s| s.iter().collect()).unwrap_or_default();
                if h.len() != n || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    return err(at, format!("bad \\{c} escape"));
                }
                self.i += n;
                format!("\\x{{{h}}}")
            }
            '0' => r"\x00".into(),
            '1'..='9' => return err(at, "back-references have no linear-time equivalent"),
            c if c.is_ascii_alphabetic() => return err(at, format!("bad escape \\{c}")),
            c => lit(c),
        })
    }

    /// A character class re-emitted with every member escaped (so `regex`'s
    /// nested classes and set operators `&&`, `--`, `~~` can never be triggered).
    fn class(&mut self, at: usize) -> Result<Node, PyReError> {
        let mut out = String::from("[");
        if self.eat('^') {
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return err(at, "unterminated character class");
            };
            self.i += 1;
            match c {
                ']' if !first => break,
                '\\' => {
                    let e = self.escape(at, true)?;
                    if e == r"\A" || e == r"\B" || e == r"\z" {
                        return err(at, format!("{e} inside a character class"));
                    }
                    out.push_str(&e);
                }
                '-' => out.push('-'),
                c => out.push_str(&lit(c)),
            }
            first = false;
        }
        // A '-' first or last is literal in Python; `regex` agrees except after '^['.
        out.push(']');
        Ok(Node::Text(out))
    }
}

/// The literal matched by `n` if it is a plain literal run.
fn literal_of(n: &Node) -> Option<String> {
    match n {
        Node::Text(t) => {
            let mut s = String::new();
            let mut it = t.chars();
            while let Some(c) = it.next() {
                if c == '\\' {
                    let e = it.next()?;
                    if e.is_ascii_alphanumeric() {
                        return None;
                    }
                    s.push(e);
                } else if "[](){}.*+?^$|".contains(c) {
                    return None;
                } else {
                    s.push(c);
                }
            }
            Some(s)
        }
        Node::Concat(v) => v.iter().map(literal_of).collect(),
        Node::Group { name: None, open, node } if open == "(?:" => literal_of(node),
        _ => None,
    }
}

/// `(?:(?!L).)*` / `*?` with a literal `L` -> "no occurrence of L".
fn tempered(rep: Node) -> Node {
    let Node::Repeat { node, min: 0, max: None, .. } = &rep else {
        return rep;
    };
    let Node::Group { name: None, open, node: inner } = node.as_ref() else {
        return rep;
    };
    if open != "(?:" {
        return rep;
    }
    let Node::Concat(parts) = inner.as_ref() else {
        return rep;
    };
    if parts.len() != 2 || parts[1] != Node::Text(".".into()) {
        return rep;
    }
    let Node::Look { kind: "(?!", node: look, .. } = &parts[0] else {
        return rep;
    };
    match literal_of(look) {
        Some(l) if !l.is_empty() && l.chars().count() <= 16 => {
            Node::Group { open: "(?:".into(), name: None, node: Box::new(Node::Text(avoid_literal(&l))) }
        }
        _ => rep,
    }
}

/// A regex for the strings of non-newline chars not containing `l`, by state
/// elimination over the KMP automaton of `l` (all live states accept).
pub(crate) fn avoid_literal(l: &str) -> String {
    let p: Vec<char> = l.chars().collect();
    let n = p.len();
    // failure function
    let mut fail = vec![0usize; n];
    let mut k = 0;
    for i in 1..n {
        while k > 0 && p[i] != p[k] {
            k = fail[k - 1];
        }
        if p[i] == p[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let delta = |mut s: usize, c: char| -> usize {
        loop {
            if p[s] == c {
                return s + 1;
            }
            if s == 0 {
                return 0;
            }
            s = fail[s - 1];
        }
    };
    // Distinct chars of the pattern; every other char sends any state to 0.
    let mut alphabet: Vec<char> = p.clone();
    alphabet.sort();
    alphabet.dedup();
    let others = {
        let mut c = String::from("[^\\n");
        for a in &alphabet {
            c.push_str(&lit(*a));
        }
        c.push(']');
        c
    };
    // edges[i][j]: regex from live state i to live state j (None = no edge).
    // A virtual final state F = n (from every live state by epsilon).
    let size = n + 1;
    let mut e: Vec<Vec<Option<String>>> = vec![vec![None; size]; size];
    let add = |e: &mut Vec<Vec<Option<String>>>, i: usize, j: usize, r: String| {
        e[i][j] = Some(match e[i][j].take() {
            None => r,
            Some(old) => format!("{old}|{r}"),
        });
    };
    for s in 0..n {
        for &c in &alphabet {
            let t = delta(s, c);
            if t < n {
                add(&mut e, s, t, lit(c));
            }
        }
        add(&mut e, s, 0, others.clone());
        add(&mut e, s, n, String::new());
    }
    // Eliminate states n-1 .. 1, keeping 0 (start) and n (final).
    for k in (1..n).rev() {
        let loop_k = e[k][k].take().map(|r| format!("(?:{r})*"));
        let ins: Vec<(usize, String)> = (0..size).filter(|&i| i != k).filter_map(|i| e[i][k].take().map(|r| (i, r))).collect();
        let outs: Vec<(usize, String)> = (0..size).filter(|&j| j != k).filter_map(|j| e[k][j].take().map(|r| (j, r))).collect();
        for (i, ri) in &ins {
            for (j, rj) in &outs {
                let mut r = format!("(?:{ri})");
                if let Some(l) = &loop_k {
                    r.push_str(l);
                }
                if !rj.is_empty() {
                    let _ = write!(r, "(?:{rj})");
                }
                add(&mut e, *i, *j, r);
            }
        }
    }
    let start_loop = e[0][0].take().map(|r| format!("(?:{r})*")).unwrap_or_default();
    let to_final = e[0][n].take().unwrap_or_default();
    format!("{start_loop}(?:{to_final})")
}

fn contains_group(n: &Node, g: &str) -> bool {
    match n {
        Node::Text(_) => false,
        Node::Concat(v) | Node::Alt(v) => v.iter().any(|x| contains_group(x, g)),
        Node::Group { name, node, .. } => name.as_deref() == Some(g) || contains_group(node, g),
        Node::Repeat { node, .. } | Node::Look { node, .. } => contains_group(node, g),
        Node::Cond { yes, no, .. } => contains_group(yes, g) || contains_group(no, g),
    }
}

fn first_cond(n: &Node) -> Option<&str> {
    match n {
        Node::Text(_) => None,
        Node::Concat(v) | Node::Alt(v) => v.iter().find_map(first_cond),
        Node::Group { node, .. } | Node::Repeat { node, .. } | Node::Look { node, .. } => first_cond(node),
        Node::Cond { name, .. } => Some(name),
    }
}

/// `n` restricted to matches where group `g` participated (`matched`) or not.
/// None: no such match. Err: `g` is inside an unbounded repetition.
fn specialize(n: &Node, g: &str, matched: bool) -> Result<Option<Node>, String> {
    Ok(match n {
        Node::Text(_) => Some(n.clone()),
        Node::Concat(v) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v {
                match specialize(x, g, matched)? {
                    Some(y) => out.push(y),
                    None => return Ok(None),
                }
            }
            Some(Node::Concat(out))
        }
        Node::Alt(v) => {
            let mut out = Vec::new();
            for x in v {
                if let Some(y) = specialize(x, g, matched)? {
                    out.push(y);
                }
            }
            match out.len() {
                0 => None,
                1 => out.pop(),
                _ => Some(Node::Alt(out)),
            }
        }
        Node::Group { open, name, node } => {
            if name.as_deref() == Some(g) {
                if matched {
                    Some(n.clone())
                } else {
                    None
                }
            } else {
                specialize(node, g, matched)?.map(|x| Node::Group { open: open.clone(), name: name.clone(), node: Box::new(x) })
            }
        }
        Node::Repeat { node, min, max, lazy } => {
            if !contains_group(node, g) {
                specialize(node, g, matched)?.map(|x| Node::Repeat { node: Box::new(x), min: *min, max: *max, lazy: *lazy })
            } else if *max == Some(1) {
                let once = specialize(node, g, matched)?;
                if matched {
                    once
                } else if *min == 0 {
                    Some(match once {
                        Some(x) => Node::Repeat { node: Box::new(x), min: 0, max: Some(1), lazy: *lazy },
                        None => Node::Concat(vec![]),
                    })
                } else {
                    once
                }
            } else {
                return Err(format!("conditional on group '{g}' which is inside a repetition"));
            }
        }
        Node::Cond { name, yes, no } => {
            if name == g {
                specialize(if matched { yes } else { no }, g, matched)?
            } else {
                let y = specialize(yes, g, matched)?.unwrap_or(Node::Text("[^\\s\\S]".into()));
                let nn = specialize(no, g, matched)?.unwrap_or(Node::Text("[^\\s\\S]".into()));
                Some(Node::Cond { name: name.clone(), yes: Box::new(y), no: Box::new(nn) })
            }
        }
        Node::Look { kind, node, at } => specialize(node, g, matched)?.map(|x| Node::Look { kind, node: Box::new(x), at: *at }),
    })
}

/// Python's preference: an optional group is tried present first unless its `?` is lazy.
fn prefers_absent(n: &Node, g: &str) -> bool {
    match n {
        Node::Repeat { node, lazy, .. } if contains_group(node, g) => *lazy,
        Node::Concat(v) | Node::Alt(v) => v.iter().any(|x| prefers_absent(x, g)),
        Node::Group { node, .. } | Node::Look { node, .. } | Node::Repeat { node, .. } => prefers_absent(node, g),
        Node::Cond { yes, no, .. } => prefers_absent(yes, g) || prefers_absent(no, g),
        Node::Text(_) => false,
    }
}

fn emit(n: &Node, out: &mut String) -> Result<(), PyReError> {
    match n {
        Node::Text(t) => out.push_str(t),
        Node::Concat(v) => v.iter().try_for_each(|x| emit(x, out))?,
        Node::Alt(v) => {
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                emit(x, out)?;
            }
        }
        Node::Group { open, node, .. } => {
            out.push_str(open);
            emit(node, out)?;
            out.push(')');
        }
        Node::Repeat { node, min, max, lazy } => {
            out.push_str("(?:");
            emit(node, out)?;
            out.push(')');
            match (min, max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (a, None) => {
                    let _ = write!(out, "{{{a},}}");
                }
                (a, Some(b)) if a == b => {
                    let _ = write!(out, "{{{a}}}");
                }
                (a, Some(b)) => {
                    let _ = write!(out, "{{{a},{b}}}");
                }
            }
            if *lazy {
                out.push('?');
            }
        }
        Node::Cond { name, .. } => return err(0, format!("conditional on unknown group '{name}'")),
        Node::Look { kind, at, .. } => {
            return err(
                *at,
                format!(
                    "look-around '{kind}...)' has no linear-time equivalent (mapped: (?:(?!literal).)*, a (?!literal) guarding a \\w+/\\S+ run, fail2ban's IPv6 (?<=:))"
                ),
            );
        }
    }
    Ok(())
}

/// Drops `(?<=:)` directly after a repetition whose every iteration ends with `:`
/// (fail2ban's `IP_6_RE`): there the look-behind always holds.
fn drop_redundant_lookbehind(n: &mut Node) {
    match n {
        Node::Concat(v) | Node::Alt(v) => v.iter_mut().for_each(drop_redundant_lookbehind),
        Node::Group { node, .. } | Node::Repeat { node, .. } => drop_redundant_lookbehind(node),
        Node::Cond { yes, no, .. } => {
            drop_redundant_lookbehind(yes);
            drop_redundant_lookbehind(no);
        }
        _ => {}
    }
    if let Node::Concat(v) = n {
        for i in 1..v.len() {
            if let Node::Repeat { node, min, .. } = &v[i - 1] {
                if *min >= 1 && always_ends_with_colon(node) {
                    if let Node::Group { node: g, .. } = &mut v[i] {
                        if let Node::Alt(branches) = g.as_mut() {
                            for b in branches.iter_mut() {
                                if let Node::Concat(parts) = b {
                                    if matches!(parts.first(), Some(Node::Look { kind: "(?<=", node, .. }) if literal_of(node).as_deref() == Some(":"))
                                    {
                                        parts.remove(0);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn always_ends_with_colon(n: &Node) -> bool {
    match n {
        Node::Text(t) => t == ":",
        Node::Concat(v) => v.last().is_some_and(|x| {
            always_ends_with_colon(x) || matches!(x, Node::Repeat { min: 0, .. }) && v.len() >= 2 && always_ends_with_colon(&v[v.len() - 2])
        }),
        Node::Alt(v) => v.iter().all(always_ends_with_colon),
        Node::Group { node, .. } => always_ends_with_colon(node),
        _ => false,
    }
}

/// Translates a Python pattern into one or more `regex` patterns (variants from
/// conditional expansion, in Python's preference order).
pub fn translate(pattern: &str) -> Result<Vec<String>, PyReError> {
    let t = translate_checked(pattern)?;
    if let Some((g, _)) = t.same.first() {
        return err(
            0,
            format!("back-reference (?P={g}) to a group of more than a few strings: only a filter checks it (after matching); as one regex it has no linear-time equivalent"),
        );
    }
    Ok(t.variants)
}

/// A translated pattern: its variants and the captures a match of any of
/// them must have equal (checked back-references; none for most patterns).
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub variants: Vec<String>,
    pub same: Vec<Same>,
    /// the pattern is case-insensitive (`(?i)`): captures compare case-folded
    pub ignore_case: bool,
}

/// [`translate`], with back-references resolved (see [`backref`]).
pub fn translate_checked(pattern: &str) -> Result<Translated, PyReError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut p = Parser { s: &chars, i: 0, closed: Vec::new() };
    let mut ast = p.alt()?;
    if p.i < chars.len() {
        return err(p.i, "unbalanced ')'");
    }
    drop_redundant_lookbehind(&mut ast);
    let ignore_case = guard::case_insensitive(&ast);
    if !guard::flags_everywhere(&ast) {
        ahead_rest::distribute(&mut ast);
        guard::rewrite(&mut ast, guard::AT_END);
        ahead::end_tail(&mut ast);
    }
    let (mut variants, same) = backref::resolve(ast)?;
    while let Some(g) = variants.iter().find_map(|v| first_cond(v).map(str::to_string)) {
        let mut next = Vec::new();
        for v in variants {
            if first_cond(&v).is_none() && !contains_group(&v, &g) {
                next.push(v);
                continue;
            }
            let order = if prefers_absent(&v, &g) { [false, true] } else { [true, false] };
            for m in order {
                if let Some(x) = specialize(&v, &g, m).map_err(|problem| PyReError { offset: 0, problem })? {
                    next.push(x);
                }
            }
        }
        if next.len() > 64 {
            return err(0, "conditional groups expand to more than 64 variants");
        }
        variants = next;
    }
    let variants = variants
        .iter()
        .map(|v| {
            let mut s = String::new();
            emit(v, &mut s)?;
            Ok(s)
        })
        .collect::<Result<_, _>>()?;
    Ok(Translated { variants, same, ignore_case })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t1(p: &str) -> String {
        let v = translate(p).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        v[0].clone()
    }

    #[test]
    fn basics_map() {
        assert_eq!(t1(r"a{,3}\Z"), r"(?:a){0,3}\z");
        assert!(regex::Regex::new(&t1(r"[]a-z\[&&~~]+")).unwrap().is_match("]&~["));
        assert!(regex::Regex::new(&t1(r"(?P<user>\S+) from \<x\>")).unwrap().is_match("bob from <x>"));
        assert_eq!(t1("(?#c)x"), "x");
    }

    #[test]
    fn unsupported_reported_with_offset() {
        let e = translate(r"ab(?P<x>c)\1").unwrap_err();
        assert_eq!(e.offset, 10);
        assert!(e.problem.contains("back-reference"));
        let e = translate(r"ab(?P=x)(?P<x>c)").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(e.problem.contains("not defined before"));
        assert!(translate(r"x(?=y)").unwrap_err().problem.contains("look-around"));
        assert!(translate(r"(?>a)").is_err());
        assert!(translate(r"a++").is_err());
        assert!(translate(r"(a").is_err());
    }

    #[test]
    fn tempered_token_is_exact_on_its_own() {
        let r = regex::Regex::new(&format!("^{}$", t1(r"(?:(?! from ).)*"))).unwrap();
        for s in ["", "bob", "a from", "x fro m y", "from from", " from", "  fro"] {
            assert!(r.is_match(s), "{s}");
        }
        for s in [" from ", "a from b", "x  from  y", "  from "] {
            assert!(!r.is_match(s), "{s}");
        }
        // exhaustive check over a small alphabet against the naive definition
        let lits = ["aab", "aba", "aa"];
        for l in lits {
            let r = regex::Regex::new(&format!("^(?:{})$", avoid_literal(l))).unwrap();
            for len in 0..8 {
                for code in 0..(3usize.pow(len)) {
                    let mut s = String::new();
                    let mut c = code;
                    for _ in 0..len {
                        s.push(['a', 'b', 'c'][c % 3]);
                        c /= 3;
                    }
                    assert_eq!(r.is_match(&s), !s.contains(l), "{l} {s}");
                }
            }
        }
    }

    #[test]
    fn conditionals_expand_in_preference_order() {
        let v = translate(r"^(?P<inv>invalid )?user (?(inv)\d+|[a-z]+)$").unwrap();
        assert_eq!(v.len(), 2);
        let r0 = regex::Regex::new(&v[0]).unwrap();
        let r1 = regex::Regex::new(&v[1]).unwrap();
        assert!(r0.is_match("invalid user 12") && !r0.is_match("user bob"));
        assert!(r1.is_match("user bob") && !r1.is_match("invalid user 12"));
    }

    #[test]
    fn ipv6_lookbehind_dropped() {
        let v = t1(r"(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)");
        let r = regex::Regex::new(&format!("^{v}$")).unwrap();
        assert!(r.is_match("2001:db8::1") && r.is_match("::1") && r.is_match("fe80::"));
    }

    #[test]
    fn backreference_to_a_few_literals_becomes_variants_in_python_order() {
        // selinux-common's (?P<_quote_acct>"?)\S+(?P=_quote_acct): quoted first (greedy ?), then not
        let t = translate_checked(r#"acct=(?P<q>"?)\S+(?P=q) exe"#).unwrap();
        assert_eq!(t.variants, vec![r#"acct=(?P<q>")(?:\S)+" exe"#.to_string(), r"acct=(?P<q>)(?:\S)+ exe".to_string()]);
        assert!(t.same.is_empty());
        let t = translate_checked(r"(?P<s>[-/])?x(?P<a>ab|c)(?P=a)").unwrap();
        assert_eq!(t.variants.len(), 2);
        assert!(t.variants[0].contains("(?P<a>ab)x") || t.variants[0].ends_with("(?P<a>ab)ab"), "{:?}", t.variants);
        assert!(t.variants[1].ends_with("(?P<a>c)c"), "{:?}", t.variants);
    }

    #[test]
    fn other_backreferences_become_a_checked_hidden_copy() {
        let t = translate_checked(r"error:(?P<CODE>[\dA-F]+): x:(?P=CODE):").unwrap();
        assert_eq!(t.variants, vec![format!(r"error:(?P<CODE>(?:[\dA-F])+): x:(?P<{HIDDEN}0_CODE>(?:[\dA-F])+):")]);
        assert_eq!(t.same, vec![("CODE".to_string(), format!("{HIDDEN}0_CODE"))]);
        // the copy's own groups do not capture (names stay unique)
        let t = translate_checked(r"(?P<p>(?P<h>\w+) (\d+))-(?P=p)").unwrap();
        assert_eq!(t.variants, vec![format!(r"(?P<p>(?P<h>(?:\w)+) ((?:\d)+))\-(?P<{HIDDEN}0_p>(?:(?:\w)+) (?:(?:\d)+))")]);
        assert!(translate(r"(?P<x>\d+)(?P=x)").unwrap_err().problem.contains("only a filter checks it"));
    }
}
