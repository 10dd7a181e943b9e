//! Back-references `(?P=name)` without a backtracking engine.
//!
//! The parser keeps a back-reference as `Node::Look { kind: BACKREF, node: Text(name) }`
//! (a look-around is opaque to every other rewrite, which is what a
//! back-reference must be). [`resolve`] then removes each one in one of two ways:
//!
//! 1. **Finite group, exact.** When the referenced group's language is a few
//!    literal strings (selinux's `(?P<_quote_acct>"?)`), the pattern becomes one
//!    variant per string, in Python's order of trying them (greedy `?`: present
//!    first): group and back-reference both become that literal. Python tries
//!    the same strings in the same order, each with full backtracking of the
//!    rest, so the first variant that matches gives Python's match and groups
//!    (as with the conditional expansion, for a pattern anchored with `^`; an
//!    unanchored one could find an earlier start with a later string).
//! 2. **Otherwise, checked.** The back-reference becomes a copy of the group's
//!    pattern (its own groups made non-capturing) captured under a hidden name,
//!    and a match counts only when the two captures are equal (case-folded
//!    under `(?i)`); the hidden group is never reported. Every match of the
//!    relaxed pattern that passes the check is a match of Python's pattern, so
//!    this never reports a line Python would not. When the relaxed pattern's
//!    first match (the one Python would reach first, as its search order is
//!    the same) passes, it *is* Python's match, with the same groups. It can
//!    differ in one way: the relaxed first match fails the check while a parse
//!    Python reaches later (another split of a `.*`, a later line after a lazy
//!    `<SKIPLINES>`) would pass; then we miss a line Python matches. A group
//!    captured again after its back-reference (inside one repetition) is
//!    compared by its last value.

use super::{err, literal_of, Node, PyReError};

/// The `kind` of the `Node::Look` that stands for a back-reference.
pub(super) const BACKREF: &str = "(?P=";

/// Prefix of the hidden groups of checked back-references (never reported).
pub const HIDDEN: &str = "__omni_same";

/// Most strings a referenced group may have for the exact expansion.
const MAX_VALUES: usize = 16;

/// A back-reference that must equal its group: (group, hidden group).
pub type Same = (String, String);

fn first_backref(n: &Node) -> Option<(String, usize)> {
    match n {
        Node::Look { kind, node, at } if *kind == BACKREF => match node.as_ref() {
            Node::Text(name) => Some((name.clone(), *at)),
            _ => None,
        },
        Node::Text(_) => None,
        Node::Concat(v) | Node::Alt(v) => v.iter().find_map(first_backref),
        Node::Group { node, .. } | Node::Repeat { node, .. } | Node::Look { node, .. } => first_backref(node),
        Node::Cond { yes, no, .. } => first_backref(yes).or_else(|| first_backref(no)),
    }
}

fn group_body<'n>(n: &'n Node, g: &str) -> Option<&'n Node> {
    match n {
        Node::Group { name: Some(name), node, .. } if name == g => Some(node),
        Node::Text(_) => None,
        Node::Concat(v) | Node::Alt(v) => v.iter().find_map(|x| group_body(x, g)),
        Node::Group { node, .. } | Node::Repeat { node, .. } | Node::Look { node, .. } => group_body(node, g),
        Node::Cond { yes, no, .. } => group_body(yes, g).or_else(|| group_body(no, g)),
    }
}

/// The strings `n` matches, in Python's order of trying them; None when not
/// a small set of literals (or when it holds a capturing group).
fn values(n: &Node) -> Option<Vec<String>> {
    let out = match n {
        Node::Text(t) if t.starts_with('[') => class_members(t)?,
        Node::Text(_) => vec![literal_of(n)?],
        Node::Concat(v) => {
            let mut acc = vec![String::new()];
            for x in v {
                let vals = values(x)?;
                acc = acc.iter().flat_map(|a| vals.iter().map(move |b| format!("{a}{b}"))).collect();
                if acc.len() > MAX_VALUES {
                    return None;
                }
            }
            acc
        }
        Node::Alt(v) => v.iter().map(values).collect::<Option<Vec<_>>>()?.concat(),
        Node::Group { name: None, open, node } if open == "(?:" => values(node)?,
        Node::Repeat { node, min, max: Some(max), lazy } => {
            let one = values(node)?;
            let counts: Vec<u32> = if *lazy { (*min..=*max).collect() } else { (*min..=*max).rev().collect() };
            let mut out = Vec::new();
            for k in counts {
                let mut acc = vec![String::new()];
                for _ in 0..k {
                    acc = acc.iter().flat_map(|a| one.iter().map(move |b| format!("{a}{b}"))).collect();
                    if acc.len() > MAX_VALUES {
                        return None;
                    }
                }
                out.extend(acc);
            }
            out
        }
        _ => return None,
    };
    (out.len() <= MAX_VALUES).then_some(out)
}

/// The characters of a class such as `[-/\.]` (the parser escapes every
/// member but `-`); None for negated classes, ranges and class escapes (`\\d`).
fn class_members(t: &str) -> Option<Vec<String>> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('^') {
        return None;
    }
    let mut out = Vec::new();
    let last = inner.chars().count().saturating_sub(1);
    let mut it = inner.chars().enumerate();
    while let Some((i, c)) = it.next() {
        let c = match c {
            '\\' => it.next().map(|(_, e)| e).filter(|e| !e.is_ascii_alphanumeric())?,
            // a '-' first or last is itself; elsewhere it makes a range
            '-' if i == 0 || i == last => '-',
            '-' | '[' | ']' => return None,
            c => c,
        };
        if !out.iter().any(|o: &String| o.starts_with(c)) {
            out.push(c.to_string());
        }
    }
    (!out.is_empty() && out.len() <= MAX_VALUES).then_some(out)
}

/// `n` with group `g`'s body and every back-reference to `g` replaced.
fn replace(n: &Node, g: &str, body: &dyn Fn() -> Node, backref: &mut dyn FnMut() -> Node) -> Node {
    match n {
        Node::Look { kind, node, .. } if *kind == BACKREF && matches!(node.as_ref(), Node::Text(x) if x == g) => backref(),
        Node::Group { open, name: Some(name), .. } if name == g => {
            Node::Group { open: open.clone(), name: Some(name.clone()), node: Box::new(body()) }
        }
        Node::Text(_) => n.clone(),
        Node::Concat(v) => Node::Concat(v.iter().map(|x| replace(x, g, body, backref)).collect()),
        Node::Alt(v) => Node::Alt(v.iter().map(|x| replace(x, g, body, backref)).collect()),
        Node::Group { open, name, node } => {
            Node::Group { open: open.clone(), name: name.clone(), node: Box::new(replace(node, g, body, backref)) }
        }
        Node::Repeat { node, min, max, lazy } => {
            Node::Repeat { node: Box::new(replace(node, g, body, backref)), min: *min, max: *max, lazy: *lazy }
        }
        Node::Look { kind, node, at } => Node::Look { kind, node: Box::new(replace(node, g, body, backref)), at: *at },
        Node::Cond { name, yes, no } => {
            Node::Cond { name: name.clone(), yes: Box::new(replace(yes, g, body, backref)), no: Box::new(replace(no, g, body, backref)) }
        }
    }
}

/// A copy of a group's pattern whose own groups do not capture.
fn decapture(n: &Node) -> Node {
    match n {
        Node::Group { open, name, node } => {
            let open = if name.is_some() || open == "(" { "(?:".to_string() } else { open.clone() };
            Node::Group { open, name: None, node: Box::new(decapture(node)) }
        }
        Node::Text(_) => n.clone(),
        Node::Concat(v) => Node::Concat(v.iter().map(decapture).collect()),
        Node::Alt(v) => Node::Alt(v.iter().map(decapture).collect()),
        Node::Repeat { node, min, max, lazy } => Node::Repeat { node: Box::new(decapture(node)), min: *min, max: *max, lazy: *lazy },
        Node::Look { kind, node, at } => Node::Look { kind, node: Box::new(decapture(node)), at: *at },
        Node::Cond { name, yes, no } => Node::Cond { name: name.clone(), yes: Box::new(decapture(yes)), no: Box::new(decapture(no)) },
    }
}

/// Removes every back-reference: the variants (in order) and the equalities a
/// match must satisfy (see the module docs).
pub(super) fn resolve(ast: Node) -> Result<(Vec<Node>, Vec<Same>), PyReError> {
    let mut done = Vec::new();
    let mut todo = vec![ast];
    let mut same = Vec::new();
    while let Some(n) = todo.pop() {
        let Some((g, at)) = first_backref(&n) else {
            done.push(n);
            continue;
        };
        let Some(body) = group_body(&n, &g).cloned() else {
            return err(at, format!("back-reference (?P={g}) to a group that is not defined before it"));
        };
        match values(&body) {
            Some(vals) => {
                // pushed in reverse: the stack pops them in Python's order
                for v in vals.iter().rev() {
                    let text = || Node::Text(regex::escape(v));
                    todo.push(replace(&n, &g, &text, &mut || Node::Text(regex::escape(v))));
                }
            }
            None => {
                let copy = decapture(&body);
                let mut made = Vec::new();
                let k0 = same.len();
                let keep = || body.clone();
                let replaced = replace(&n, &g, &keep, &mut || {
                    let hidden = format!("{HIDDEN}{}_{g}", k0 + made.len());
                    made.push(hidden.clone());
                    Node::Group { open: format!("(?P<{hidden}>"), name: Some(hidden), node: Box::new(copy.clone()) }
                });
                same.extend(made.into_iter().map(|h| (g.clone(), h)));
                todo.push(replaced);
            }
        }
        if done.len() + todo.len() > 64 {
            return err(at, "back-references expand to more than 64 variants");
        }
    }
    Ok((done, same))
}
