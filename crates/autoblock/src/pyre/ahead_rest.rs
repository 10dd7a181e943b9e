//! A positive look-ahead ending an alternative, checked on the text after the
//! alternation (postfix's `mdpr-ddos`):
//! `(?:A|disconnect(?= from \S+ .. auth=0/\d+)|B) (?P<content>.+)$`.
//!
//! 1. **Distribute.** `(?:A|X|B) REST` becomes `(?:A REST|X REST|B REST)`:
//!    concatenation distributes over alternation and keeps the order of the
//!    paths (A's paths, each with REST's paths, then X's, then B's), which is
//!    the order both Python's backtracking and leftmost-first try them in; so
//!    the match and its captures are unchanged. Each copy of a named group of
//!    REST after the first gets a hidden alias name ([`ALIAS`], reported under
//!    the group's own name where it took part: `alias_of`).
//! 2. **Intersect.** Now the look-ahead is followed by the rest of the pattern:
//!    `(?=c..L') c..(?P<g>.+)$` with `c..` literal characters that both the
//!    look-ahead and REST start with, `L'` a capture-free regex that matches no
//!    newline and no empty string. `.+$` has at most one path (`.` takes no
//!    newline; a shorter take ends before a non-newline character, where `$`
//!    fails, also under `(?m)`), the text from `g` to there is a run of
//!    non-newline characters, and the look-ahead holds exactly when that run
//!    starts with a string of `L'`. Strings of `L'` are such runs themselves,
//!    so the pair is `c..(?P<g>(?:L').*)$` (`.*`: `L'` already took at least
//!    one character), with the same single span for `g`.
//!
//! Anything else keeps its look-ahead (and stays refused).

use regex_syntax::hir::{Hir, HirKind};

use super::{emit, literal_of, Node};

/// Prefix of the hidden alias of a copied named group: `{ALIAS}{k}_{name}`
/// (it starts with [`super::HIDDEN`], so a reader that knows no aliases skips it).
pub const ALIAS: &str = "__omni_samealias";

/// The group name a hidden alias stands for.
pub fn alias_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(ALIAS)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[digits..].strip_prefix('_').filter(|_| digits > 0)
}

/// Whether `n` ends (on some alternative) with a positive look-ahead.
fn ends_with_ahead(n: &Node) -> bool {
    match n {
        Node::Look { kind: "(?=", .. } => true,
        Node::Group { open, name: None, node } if open == "(?:" => ends_with_ahead(node),
        Node::Alt(v) => v.iter().any(ends_with_ahead),
        Node::Concat(v) => v.last().is_some_and(ends_with_ahead),
        _ => false,
    }
}

/// `n` followed by `rest`, with `rest` pushed into every alternative (see the module docs).
fn push(n: &Node, rest: &[Node]) -> Option<Node> {
    if !ends_with_ahead(n) {
        let mut v = vec![n.clone()];
        v.extend_from_slice(rest);
        return Some(Node::Concat(v));
    }
    Some(match n {
        Node::Look { node, .. } => Node::Concat(intersect(node, rest)?),
        Node::Group { open, node, .. } => Node::Group { open: open.clone(), name: None, node: Box::new(push(node, rest)?) },
        Node::Alt(v) => Node::Alt(v.iter().map(|b| push(b, rest)).collect::<Option<_>>()?),
        Node::Concat(v) => {
            let (last, head) = v.split_last()?;
            let mut out = head.to_vec();
            out.push(push(last, rest)?);
            Node::Concat(out)
        }
        _ => return None,
    })
}

/// Flattens nested `Concat`s and plain `(?:` groups of a concatenation into items.
fn items(n: &Node, out: &mut Vec<Node>) {
    match n {
        Node::Concat(v) => v.iter().for_each(|x| items(x, out)),
        Node::Group { open, name: None, node } if open == "(?:" && matches!(node.as_ref(), Node::Concat(_)) => items(node, out),
        other => out.push(other.clone()),
    }
}

/// `(?=look) rest` as plain syntax, when `rest` is literal characters, a
/// named `.+` or `.*`, and the end (`$` or `\z`).
fn intersect(look: &Node, rest: &[Node]) -> Option<Vec<Node>> {
    let (end, body) = rest.split_last()?;
    if !matches!(end, Node::Text(t) if t == "$" || t == r"\z") {
        return None;
    }
    let (group, lits) = body.split_last()?;
    let Node::Group { open, name: Some(gname), node: dot } = group else { return None };
    let Node::Repeat { node: any, min, max: None, lazy: false } = dot.as_ref() else { return None };
    if **any != Node::Text(".".into()) || *min > 1 {
        return None;
    }
    let mut ahead = Vec::new();
    items(look, &mut ahead);
    // the literal characters before the group: the look-ahead must start with them
    let mut k = 0;
    for l in lits {
        let c = literal_of(l)?;
        for c in c.chars() {
            let first = ahead.get(k).and_then(literal_of)?;
            if first.chars().count() != 1 || !first.starts_with(c) {
                return None;
            }
            k += 1;
        }
    }
    let tail = Node::Concat(ahead[k..].to_vec());
    let mut text = String::new();
    emit(&tail, &mut text).ok()?;
    let hir = regex_syntax::ParserBuilder::new().build().parse(&text).ok()?;
    if hir.properties().minimum_len().unwrap_or(0) == 0 || hir.properties().explicit_captures_len() > 0 || may_take_newline(&hir) {
        return None;
    }
    let mut out = lits.to_vec();
    let inner = Node::Concat(vec![
        Node::Group { open: "(?:".into(), name: None, node: Box::new(Node::Text(text)) },
        Node::Repeat { node: Box::new(Node::Text(".".into())), min: 0, max: None, lazy: false },
    ]);
    out.push(Node::Group { open: open.clone(), name: Some(gname.clone()), node: Box::new(inner) });
    out.push(end.clone());
    Some(out)
}

/// Whether some string of `h` holds a newline (or `h` asserts something we do not read).
fn may_take_newline(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Empty => false,
        HirKind::Literal(l) => l.0.contains(&b'\n'),
        HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => c.ranges().iter().any(|r| r.start() <= '\n' && '\n' <= r.end()),
        HirKind::Class(regex_syntax::hir::Class::Bytes(c)) => c.ranges().iter().any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        HirKind::Look(_) => true,
        HirKind::Repetition(r) => may_take_newline(&r.sub),
        HirKind::Capture(c) => may_take_newline(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(may_take_newline),
    }
}

/// Gives every named group seen before (a copy) a fresh hidden alias.
fn alias_copies(n: &mut Node, seen: &mut Vec<String>, k: &mut usize) {
    match n {
        Node::Group { open, name, node } => {
            if let Some(g) = name.clone() {
                if seen.contains(&g) {
                    let alias = format!("{ALIAS}{k}_{g}");
                    *k += 1;
                    *open = format!("(?P<{alias}>");
                    *name = Some(alias);
                } else {
                    seen.push(g);
                }
            }
            alias_copies(node, seen, k);
        }
        Node::Concat(v) | Node::Alt(v) => v.iter_mut().for_each(|x| alias_copies(x, seen, k)),
        Node::Repeat { node, .. } | Node::Look { node, .. } => alias_copies(node, seen, k),
        Node::Cond { yes, no, .. } => {
            alias_copies(yes, seen, k);
            alias_copies(no, seen, k);
        }
        Node::Text(_) => {}
    }
}

/// Rewrites the first top-level item that ends an alternative with a positive
/// look-ahead, when the rest of the pattern allows it (else leaves `ast` alone).
pub(super) fn distribute(ast: &mut Node) {
    // copies of groups a conditional or a back-reference names would need those renamed too
    if super::first_cond(ast).is_some() || has_backref(ast) {
        return;
    }
    let Node::Concat(v) = ast else { return };
    let Some(i) = v.iter().position(ends_with_ahead) else { return };
    let Some(pushed) = push(&v[i], &v[i + 1..]) else { return };
    v.truncate(i);
    v.push(pushed);
    alias_copies(ast, &mut Vec::new(), &mut 0);
}

fn has_backref(n: &Node) -> bool {
    match n {
        Node::Look { kind, node, .. } => *kind == super::backref::BACKREF || has_backref(node),
        Node::Text(_) => false,
        Node::Concat(v) | Node::Alt(v) => v.iter().any(has_backref),
        Node::Group { node, .. } | Node::Repeat { node, .. } => has_backref(node),
        Node::Cond { yes, no, .. } => has_backref(yes) || has_backref(no),
    }
}

#[cfg(test)]
mod tests {
    use super::super::guard::tests::{oracle, ours};
    use super::super::translate;
    use super::alias_of;

    #[test]
    fn aliases_name_their_group() {
        assert_eq!(alias_of(&format!("{}12_content", super::ALIAS)), Some("content"));
        assert_eq!(alias_of(&format!("{}_content", super::ALIAS)), None);
        assert_eq!(alias_of("content"), None);
    }

    /// Python's groups, with each alias reported under its group's name where it took part.
    fn ours_folded(variants: &[regex::Regex], t: &str) -> serde_json::Value {
        let mut got = ours(variants, t);
        if let Some(g) = got.get_mut(1).and_then(|g| g.as_object_mut()) {
            let names: Vec<String> = g.keys().cloned().collect();
            for n in names {
                if let Some(real) = alias_of(&n).map(str::to_string) {
                    let v = g.remove(&n).unwrap();
                    if !v.is_null() {
                        g.insert(real, v);
                    }
                }
            }
        }
        got
    }

    #[test]
    fn lookahead_ending_an_alternative_matches_like_python() {
        let patterns = [
            // postfix's mdpr-ddos, with a prefix that may or may not be there
            r"^(?:\S+ )?(?:x: (?:warning:|(?:\w+: reject:)|(?:lost connection after(?! DATA) [A-Z]+|disconnect(?= from \S+(?: \S+=\d+)* auth=0/(?:[1-9]|\d\d+))|HANGUP after \S+))) (?P<content>.+)$",
            // an unanchored search over text with newlines, `.*` content, `\Z`
            r"(?:ab|a(?= bc)|q) (?P<content>.*)\Z",
        ];
        let heads = ["x: ", "h x: ", "hx: ", "a", "q", "", "x: x: "];
        let mids = [
            "disconnect",
            "warning:",
            "disconnect: reject:",
            "lost connection after DATA",
            "lost connection after RCPT",
            "HANGUP after 3",
            "b",
            "bc",
            "",
        ];
        let tails = [
            " from h auth=0/1",
            " from h[1.2.3.4] ehlo=1 auth=0/12 quit=1",
            " from h auth=0/0",
            " from h auth=1/1",
            " from h ehlo=x auth=0/1",
            " from h\nauth=0/1",
            " from",
            " from h auth=0/1\nx",
            " bc d",
            " c",
            " ",
            "",
            " x",
        ];
        // (no text ends in a newline: Python's `$` also matches before a final one, the engine's not; lines never have one)
        let mut texts = Vec::new();
        for h in heads {
            for m in mids {
                for t in tails {
                    texts.push(format!("{h}{m}{t}"));
                }
            }
        }
        let Some((want, variants)) = oracle(&patterns, &texts, 10) else { return };
        for (i, (p, variants)) in patterns.iter().zip(&variants).enumerate() {
            let mut rejected = 0;
            for (j, t) in texts.iter().enumerate() {
                let got = ours_folded(variants, t);
                assert_eq!(&got, &want[i][j], "{p} on {t:?}");
                rejected += usize::from(want[i][j].is_null() && t.contains(" from h"));
            }
            assert!(i > 0 || rejected > 10, "the look-ahead must reject some texts ({rejected})");
        }
    }

    #[test]
    fn lookaheads_it_cannot_place_are_still_refused() {
        for p in [
            // what follows is not literals and a named `.+` to the end
            r"(?:a|b(?=cd))c(?P<x>.+)",
            r"(?:a|b(?=c))(?P<x>.+)y$",
            // the look-ahead may take a newline, or nothing
            r"(?:a|b(?=\s))(?P<x>.+)$",
            r"(?:a|b(?=x?))(?P<x>.+)$",
            // it does not start with the literal that follows
            r"(?:a|b(?= c)):(?P<x>.+)$",
        ] {
            let e = translate(p).unwrap_err();
            assert!(e.problem.contains("look-around"), "{p}: {e:?}");
        }
    }
}
