//! Negative look-aheads that guard a run of one character class, rewritten
//! into plain (linear-time) regex syntax with Python's exact match result.
//!
//! `(?!LIT)C+` (greedy, `C` one character class), where whatever follows
//! `C+` cannot start with a `C` character, only ever succeeds with `C+` taking
//! the whole run `r` of `C` characters at that point (a shorter take is
//! followed by a `C` character). With `LIT = W T`, `W` its longest prefix of
//! `C` characters:
//! - `T` empty: `LIT` starts the text there exactly when `r` starts with `W`;
//! - `T` starting with a character the pattern always has right after the
//!   run (one literal character): exactly when `r` is `W`;
//! - `T` starting with a character that can never come right after the run
//!   (or `W` empty): never, and the look-ahead is dropped.
//!
//! When what follows may start with a `C` character (slapd's `(?!err)\S+=`),
//! the same holds for every take of `C+` if each literal lies within `C` and
//! none of its characters after the first can follow the run ([`backtracking_run`]).
//!
//! So the look-ahead is a condition on the consumed run: a regular language,
//! written as alternatives by where `r` departs from the literals (a trie).
//! `(?!WORD\b)\w+` is "`r` is not `WORD`"; `(?!A|B)` combines literals. Each
//! keeps the set of successful paths and their order (one run, one path),
//! hence Python's match and captures. At the end of the pattern (nothing has
//! to follow) `\b` pins the run's end for `\w`; other classes are left alone.
//!
//! sshd's `__alg_match`, `(?:\w+ (?!found\b)){0,2}\w+`, has its guard at the
//! end of a repeated body; it is first rotated to `\w+(?: (?!found\b)\w+){0,2}`
//! (exact when the body's `\w+` is always followed by a non-word character:
//! then every path that iterates takes whole words and both forms list the
//! same paths in the same order), which puts the guard right before its run.

use regex_syntax::hir::{Class, ClassUnicode, HirKind};

use super::Node;

/// What the next character can be, and whether the pattern can end there.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct First {
    word: bool,
    space: bool,
    /// a non-word, non-space character
    other: bool,
    end: bool,
    /// the ASCII literal characters among the first ones (bit = code point)
    lits: u128,
    /// some first character comes from a class or a non-ASCII literal
    classes: bool,
}

impl First {
    const ALL: First = First { word: true, space: true, other: true, end: false, lits: 0, classes: true };
    const END: First = First { word: false, space: false, other: false, end: true, lits: 0, classes: false };

    fn union(self, o: First) -> First {
        First {
            word: self.word || o.word,
            space: self.space || o.space,
            other: self.other || o.other,
            end: self.end || o.end,
            lits: self.lits | o.lits,
            classes: self.classes || o.classes,
        }
    }

    fn of_char(c: char) -> First {
        if !c.is_ascii() {
            return First::ALL;
        }
        let lits = 1u128 << (c as u32);
        if c.is_ascii_alphanumeric() || c == '_' {
            First { word: true, lits, ..Default::default() }
        } else if c.is_ascii_whitespace() {
            First { space: true, lits, ..Default::default() }
        } else {
            First { other: true, lits, ..Default::default() }
        }
    }

    fn class(word: bool, space: bool, other: bool) -> First {
        First { word, space, other, classes: true, ..Default::default() }
    }

    /// The next character is always `c` (and the pattern cannot end here).
    fn forces(&self, c: char) -> bool {
        !self.end && !self.classes && c.is_ascii() && self.lits == 1u128 << (c as u32)
    }

    /// The one character that always comes next, if there is one.
    fn forced(&self) -> Option<char> {
        let c = char::from(u8::try_from(self.lits.trailing_zeros()).ok()?);
        self.forces(c).then_some(c)
    }

    /// The next character can be `c` (or anything, when unknown).
    fn may_be(&self, c: char) -> bool {
        self.classes || (c.is_ascii() && self.lits & (1u128 << (c as u32)) != 0)
    }
}

/// First characters of a `Text` in `regex` syntax, and whether it can be empty.
fn first_of_text(t: &str) -> (First, bool) {
    let mut it = t.chars();
    let Some(c) = it.next() else {
        return (First::default(), true);
    };
    match c {
        '\\' => match it.next() {
            Some('s') => (First::class(false, true, false), false),
            Some(e @ ('n' | 't' | 'r' | 'f' | 'v')) => {
                let c = match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'f' => '\x0c',
                    _ => '\x0b',
                };
                (First::of_char(c), false)
            }
            Some('w' | 'd') => (First::class(true, false, false), false),
            Some('W') => (First::class(false, true, true), false),
            // zero-width: what follows them decides
            Some('b' | 'B' | 'A') => (First::default(), true),
            Some('z') => (First::END, true),
            Some(e) if !e.is_ascii_alphanumeric() => (First::of_char(e), false),
            _ => (First::ALL, false),
        },
        // an inline flag group, or a rewritten group: may be empty, may take anything
        '(' => (First::ALL, true),
        '^' => (First::default(), true),
        '$' => (First::of_char('\n').union(First::END), true),
        '[' | '.' => (First::ALL, false),
        c => (First::of_char(c), false),
    }
}

/// First characters of `n` and whether it can match the empty string.
fn first(n: &Node) -> (First, bool) {
    match n {
        Node::Text(t) => first_of_text(t),
        Node::Concat(v) => first_seq(v),
        Node::Alt(v) => v.iter().map(first).fold((First::default(), false), |(f, e), (g, h)| (f.union(g), e || h)),
        // under a case or verbose flag a literal may stand for other characters
        Node::Group { open, node, .. } if flagged(open, node) => (First::ALL, first(node).1),
        Node::Group { node, .. } => first(node),
        Node::Repeat { node, min, .. } => {
            let (f, e) = first(node);
            (f, e || *min == 0)
        }
        Node::Cond { yes, no, .. } => {
            let ((f, e), (g, h)) = (first(yes), first(no));
            (f.union(g), e || h)
        }
        // zero-width: the next character is what follows the look-around
        Node::Look { .. } => (First::default(), true),
    }
}

fn first_seq(v: &[Node]) -> (First, bool) {
    let mut acc = First::default();
    for x in v {
        let (f, e) = first(x);
        acc = acc.union(f);
        if !e {
            return (acc, false);
        }
    }
    (acc, true)
}

/// A run class: the text of `C` in a greedy `C+` (`\w`, `\S`, `\d` or `[...]`).
struct Run {
    text: String,
    set: ClassUnicode,
    /// `C*` (`.*`): the run may be empty
    min0: bool,
    /// `C*?`: shortest takes first
    lazy: bool,
}

impl Run {
    fn contains(&self, c: char) -> bool {
        self.set.ranges().iter().any(|r| r.start() <= c && c <= r.end())
    }

    /// Can a character of the run start `f`?
    fn may_start(&self, f: First) -> bool {
        if !f.classes {
            return (0..128u8).filter(|b| f.lits & (1u128 << b) != 0).any(|b| self.contains(b as char));
        }
        match self.text.as_str() {
            r"\w" | r"\d" => f.word,
            r"\S" => f.word || f.other,
            _ => true,
        }
    }

    /// `C` without the characters `not`, in `regex` syntax.
    fn except(&self, not: &[char]) -> String {
        if not.is_empty() {
            return self.text.clone();
        }
        let not: String = not.iter().map(|c| super::lit(*c)).collect();
        format!("[{}&&[^{not}]]", self.text)
    }
}

fn run_of(n: &Node) -> Option<Run> {
    let Node::Repeat { node, min: 1, max: None, lazy: false } = n else { return None };
    let Node::Text(t) = node.as_ref() else { return None };
    if !(matches!(t.as_str(), r"\w" | r"\S" | r"\d") || t.starts_with('[')) {
        return None;
    }
    let hir = regex_syntax::ParserBuilder::new().build().parse(t).ok()?;
    let HirKind::Class(Class::Unicode(set)) = hir.kind() else { return None };
    Some(Run { text: t.clone(), set: set.clone(), min0: false, lazy: false })
}

/// Any other run (for [`forced_follow_run`]): `.*`, `.+` (as a run of `[^\n]`)
/// and `C*`, lazy or not, bare or the only content of a group.
fn any_run_in(n: &Node) -> Option<Run> {
    let n = match n {
        Node::Group { open, node, .. } if open == "(" || open == "(?:" || open.starts_with("(?P<") => node.as_ref(),
        other => other,
    };
    let Node::Repeat { node, min: min @ (0 | 1), max: None, lazy } = n else { return None };
    let Node::Text(t) = node.as_ref() else { return None };
    let text = match t.as_str() {
        "." => r"[^\n]",
        r"\w" | r"\S" | r"\d" => t,
        _ if t.starts_with('[') => t,
        _ => return None,
    };
    let hir = regex_syntax::ParserBuilder::new().build().parse(text).ok()?;
    let HirKind::Class(Class::Unicode(set)) = hir.kind() else { return None };
    Some(Run { text: text.into(), set: set.clone(), min0: *min == 0, lazy: *lazy })
}

/// The run `C+` at `n`, bare or as the only content of a group (a capture
/// or `(?:`: a flag group could change how the rewritten text reads).
fn run_in(n: &Node) -> Option<Run> {
    match n {
        Node::Group { open, node, .. } if open == "(" || open == "(?:" || open.starts_with("(?P<") => run_of(node),
        Node::Group { .. } => None,
        other => run_of(other),
    }
}

/// The literals of a look-ahead, each with whether it ends in `\b`.
fn guarded_literals(look: &Node) -> Option<Vec<(Vec<char>, bool)>> {
    let one = |n: &Node| -> Option<(Vec<char>, bool)> {
        if let Some(l) = super::literal_of(n) {
            return Some((l.chars().collect(), false));
        }
        let Node::Concat(v) = n else { return None };
        let (last, head) = v.split_last()?;
        if *last != Node::Text(r"\b".into()) {
            return None;
        }
        let l: String = head.iter().map(super::literal_of).collect::<Option<String>>()?;
        Some((l.chars().collect(), true))
    };
    match look {
        Node::Alt(branches) => branches.iter().map(one).collect(),
        n => one(n).map(|x| vec![x]),
    }
}

/// Runs of `C` that start with none of `starts` and are none of `whole`
/// (nothing in either is empty), by a trie walk over the literals.
fn runs_avoiding(run: &Run, starts: &[Vec<char>], whole: &[Vec<char>]) -> String {
    fn node(run: &Run, prefix: &[char], starts: &[Vec<char>], whole: &[Vec<char>]) -> String {
        let j = prefix.len();
        let longer = |l: &&Vec<char>| l.len() > j && l[..j] == *prefix;
        let mut next: Vec<char> = starts.iter().chain(whole).filter(longer).map(|l| l[j]).collect();
        next.sort_unstable();
        next.dedup();
        let q = if run.lazy { "?" } else { "" };
        let mut alts = vec![format!("{}{}*{q}", run.except(&next), run.text)];
        for c in next {
            let mut p = prefix.to_vec();
            p.push(c);
            if starts.contains(&p) {
                continue;
            }
            alts.push(format!("{}{}", super::lit(c), node(run, &p, starts, whole)));
        }
        let body = alts.join("|");
        // the run may end here unless that makes it one of `whole` (or it is empty)
        let may_end = j > 0 && !whole.iter().any(|l| l[..] == *prefix);
        if may_end {
            // greedy: ending here is tried after going on; lazy: before
            format!("(?:{body})?{q}")
        } else {
            format!("(?:{body})")
        }
    }
    node(run, &[], starts, whole)
}

/// The replacement of `(?!lits)C+` before something starting with `follow`:
/// Some(None) when the look-ahead always holds there, Some(Some(re)) for the run.
fn guarded_run(run: &Run, lits: &[(Vec<char>, bool)], follow: First) -> Option<Option<String>> {
    if lits.iter().any(|(l, _)| l.is_empty() || l.len() > 64) {
        return None;
    }
    if run.min0 || run.lazy {
        return forced_follow_run(run, lits, follow);
    }
    if run.may_start(follow) {
        return backtracking_run(run, lits, follow).or_else(|| forced_follow_run(run, lits, follow));
    }
    let word = run.text == r"\w";
    let (mut starts, mut whole) = (Vec::new(), Vec::new());
    for (l, word_end) in lits {
        let w = l.iter().take_while(|c| run.contains(**c)).count();
        let (head, tail) = l.split_at(w);
        match (tail.first(), word_end) {
            // the run starts with a character outside LIT's first one: never there
            _ if head.is_empty() => {}
            (None, false) => starts.push(head.to_vec()),
            (None, true) if word => whole.push(head.to_vec()),
            (Some(&t), false) if tail.len() == 1 && follow.forces(t) => whole.push(head.to_vec()),
            // LIT goes on with a character that never comes right after the run
            (Some(&t), _) if !follow.may_be(t) => {}
            _ => return None,
        }
    }
    if starts.is_empty() && whole.is_empty() {
        return Some(None);
    }
    // the run's end must be pinned when nothing has to follow it
    let pin = match (follow.end, word) {
        (false, _) => "",
        (true, true) => r"\b",
        (true, false) => return None,
    };
    Some(Some(format!("{}{pin}", runs_avoiding(run, &starts, &whole))))
}

/// `(?!LIT)C+` where `C+` may give characters back to what follows (slapd's
/// `(?!err)\S+=`): whatever `C+` takes, the text starts with `LIT` exactly when
/// the take does, provided every literal lies within `C` and no character of
/// it after the first can follow the run (a shorter take is followed by a
/// character that is not the literal's next one). Then the guard is a condition
/// on the take, the same language as before; its alternatives keep the takes
/// of one text longest first, as the greedy `C+` tries them.
fn backtracking_run(run: &Run, lits: &[(Vec<char>, bool)], follow: First) -> Option<Option<String>> {
    if follow.end || follow.classes {
        return None;
    }
    let mut starts = Vec::new();
    for (l, word_end) in lits {
        if *word_end || !l.iter().all(|c| run.contains(*c)) || l[1..].iter().any(|c| follow.may_be(*c)) {
            return None;
        }
        starts.push(l.clone());
    }
    Some(Some(runs_avoiding(run, &starts, &[])))
}

/// `(?!LIT)C+` or `C*` always followed by one literal character `c` (recidive's
/// `\[(?!recidive\])(?:.*)\]`). The run may give characters back; for any take
/// `t` that `c` follows, the text starts with `LIT` exactly when `t` starts with
/// it (`LIT` within `C`), or `t` is the proper prefix `LIT[..k]` with `LIT[k] = c`
/// and `k` its last index (then `c` completes it: `t` is excluded whole). When
/// `LIT[k] = c` at an earlier index, whether `LIT` follows depends on text past
/// `c`, which the take does not decide: no rewrite. So, for every take that can
/// lead to a match, the guard holds exactly when the take is allowed; the
/// allowed takes keep the run's order (longest first, or shortest first for a
/// lazy run: [`runs_avoiding`] has one path per take, its only choices being to
/// end or go on, made greedy or lazy as the run's).
fn forced_follow_run(run: &Run, lits: &[(Vec<char>, bool)], follow: First) -> Option<Option<String>> {
    let c = follow.forced()?;
    let (mut starts, mut whole, mut no_empty) = (Vec::new(), Vec::new(), false);
    for (l, word_end) in lits {
        if *word_end {
            return None;
        }
        let w = l.iter().take_while(|x| run.contains(**x)).count();
        if w == l.len() {
            starts.push(l.clone());
        }
        for k in 0..=w.min(l.len() - 1) {
            match (l[k] == c, k + 1 == l.len()) {
                (false, _) => {}
                (true, true) if k == 0 => no_empty = true,
                (true, true) => whole.push(l[..k].to_vec()),
                (true, false) => return None,
            }
        }
    }
    let no_empty = no_empty && run.min0;
    if starts.is_empty() && whole.is_empty() && !no_empty {
        return Some(None);
    }
    let re = runs_avoiding(run, &starts, &whole);
    let q = if run.lazy { "?" } else { "" };
    Some(Some(if run.min0 && !no_empty { format!("(?:{re})?{q}") } else { re }))
}

fn has_captures(n: &Node) -> bool {
    match n {
        Node::Text(_) => false,
        Node::Concat(v) | Node::Alt(v) => v.iter().any(has_captures),
        Node::Group { open, node, .. } => open == "(" || open.starts_with("(?P<") || has_captures(node),
        Node::Repeat { node, .. } | Node::Look { node, .. } => has_captures(node),
        Node::Cond { .. } => true,
    }
}

/// `(?:X S.. (?!..)){a,b} X` -> `X (?:S.. (?!..) X){a,b}` when `X` is a
/// capture-free greedy `C+` and `S` cannot start with a `C` character.
fn rotate(v: &mut Vec<Node>) {
    let mut i = 0;
    while i + 1 < v.len() {
        if let Some(rotated) = rotated(&v[i], &v[i + 1]) {
            v.splice(i..i + 2, rotated);
        }
        i += 1;
    }
}

fn rotated(rep: &Node, next: &Node) -> Option<[Node; 2]> {
    let Node::Repeat { node, min, max, lazy: false } = rep else { return None };
    let body = match node.as_ref() {
        Node::Group { open, name: None, node } if open == "(?:" => node.as_ref(),
        other => other,
    };
    let Node::Concat(parts) = body else { return None };
    let (x, rest) = parts.split_first()?;
    let run = run_of(x)?;
    if x != next || has_captures(x) || !matches!(rest.last(), Some(Node::Look { kind: "(?!", .. })) {
        return None;
    }
    let (f, empty) = first_seq(rest);
    if empty || f.end || run.may_start(f) {
        return None;
    }
    let mut body = rest.to_vec();
    body.push(x.clone());
    let loop_ = Node::Repeat {
        node: Box::new(Node::Group { open: "(?:".into(), name: None, node: Box::new(Node::Concat(body)) }),
        min: *min,
        max: *max,
        lazy: false,
    };
    Some([x.clone(), loop_])
}

fn flags_i(t: &str) -> bool {
    t.starts_with("(?")
        && !t.starts_with("(?:")
        && !t.starts_with("(?P")
        && t[2..].split([':', ')']).next().is_some_and(|f| f.split('-').next().is_some_and(|on| on.contains(['i', 'x'])))
}

/// Whether `n` switches case-insensitive or verbose matching on for the rest
/// of its own group (a flag text among its items, not inside a sub-group).
fn sets_flags(n: &Node) -> bool {
    let item = |x: &Node| matches!(x, Node::Text(t) if flags_i(t));
    match n {
        Node::Concat(v) => v.iter().any(item),
        Node::Alt(v) => v.iter().any(|b| item(b) || matches!(b, Node::Concat(w) if w.iter().any(item))),
        x => item(x),
    }
}

/// A group whose content reads case-insensitively or verbosely: `(?i:..)`, or
/// `(..)` with a `(?i)` in it (scoped to the group, as fail2ban rewrites it).
fn flagged(open: &str, node: &Node) -> bool {
    flags_i(open) || sets_flags(node)
}

/// Whether case-insensitive or verbose matching is switched on anywhere (for
/// the comparison of back-referenced captures).
pub(super) fn case_insensitive(n: &Node) -> bool {
    match n {
        Node::Text(t) => flags_i(t),
        Node::Concat(v) | Node::Alt(v) => v.iter().any(case_insensitive),
        Node::Group { open, node, .. } => flags_i(open) || case_insensitive(node),
        Node::Repeat { node, .. } | Node::Look { node, .. } => case_insensitive(node),
        Node::Cond { yes, no, .. } => case_insensitive(yes) || case_insensitive(no),
    }
}

/// Whether the flags reach the whole pattern (a flag text at its top level):
/// the literal comparisons here are case-sensitive and the rewritten text is
/// not verbose-safe, so such patterns are left alone; a flagged group is
/// skipped by [`rewrite`] and seen as "anything" from outside.
pub(super) fn flags_everywhere(n: &Node) -> bool {
    sets_flags(n)
}

/// Replaces the run `C+` in `n` (bare or inside its group) by `re`.
fn replace_run(n: &mut Node, re: String) {
    match n {
        Node::Group { node, .. } => **node = Node::Text(re),
        other => *other = Node::Text(re),
    }
}

/// Rewrites every guard it can prove exact; `follow`: what may come after `n`.
pub(super) fn rewrite(n: &mut Node, follow: First) {
    match n {
        Node::Text(_) | Node::Look { .. } => {}
        Node::Concat(v) => {
            spread_guards(v);
            super::ahead::push_over_literals(v);
            rotate(v);
            let mut after = follow;
            for i in (0..v.len()).rev() {
                if always_holds(&v[i], after) {
                    v[i] = Node::Concat(vec![]);
                }
                rewrite(&mut v[i], after);
                let (f, empty) = first(&v[i]);
                if i > 0 {
                    if let (Node::Look { kind: "(?!", node, .. }, Some(run)) = (&v[i - 1], run_in(&v[i]).or_else(|| any_run_in(&v[i]))) {
                        if let Some(r) = guarded_literals(node).and_then(|lits| guarded_run(&run, &lits, after)) {
                            v[i - 1] = Node::Concat(vec![]);
                            if let Some(re) = r {
                                replace_run(&mut v[i], re);
                            }
                        }
                    }
                }
                after = if empty { f.union(after) } else { f };
            }
        }
        Node::Alt(v) => v.iter_mut().for_each(|x| rewrite(x, follow)),
        Node::Group { open, node, .. } if flagged(open, node) => {}
        Node::Group { node, .. } => rewrite(node, follow),
        Node::Repeat { node, max, .. } => {
            let again = *max != Some(1);
            let f = if again { first(node).0.union(follow) } else { follow };
            rewrite(node, f);
        }
        Node::Cond { yes, no, .. } => {
            rewrite(yes, follow);
            rewrite(no, follow);
        }
    }
}

/// `(?!L)(?:A|B)` -> `(?:(?!L)A|(?!L)B)` (also through a capture, which starts
/// where the look-ahead looks): the same assertion at the same place on the
/// same paths in the same order, now right before each alternative's run.
fn spread_guards(v: &mut Vec<Node>) {
    let mut i = 0;
    while i + 1 < v.len() {
        if matches!(v[i], Node::Look { kind: "(?!", .. }) {
            let look = v[i].clone();
            if spread_into(&mut v[i + 1], &look) {
                v.remove(i);
                continue;
            }
        }
        i += 1;
    }
}

fn spread_into(n: &mut Node, look: &Node) -> bool {
    match n {
        Node::Group { open, node, .. } if open == "(" || open == "(?:" || open.starts_with("(?P<") => spread_into(node, look),
        Node::Alt(branches) => {
            for b in branches.iter_mut() {
                let mut items = vec![look.clone()];
                match std::mem::replace(b, Node::Concat(vec![])) {
                    Node::Concat(v) => items.extend(v),
                    other => items.push(other),
                }
                *b = Node::Concat(items);
            }
            true
        }
        _ => false,
    }
}

/// `(?=c)` (one literal character) where whatever follows starts with `c`
/// (exim's `(?:"+[^"]*(?="))*?"`): any path that goes on has `c` next, so the
/// look-ahead holds on every path that can match, and goes.
fn always_holds(n: &Node, after: First) -> bool {
    let Node::Look { kind: "(?=", node, .. } = n else { return false };
    let Some(l) = super::literal_of(node) else { return false };
    let mut cs = l.chars();
    matches!((cs.next(), cs.next()), (Some(c), None) if after.forces(c))
}

/// The follow set at the end of a whole pattern.
pub(super) const AT_END: First = First::END;

#[cfg(test)]
pub(super) mod tests {
    use super::super::translate;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    /// Python `re.search` of each pattern over each text: (span, named groups) or null.
    pub(in super::super) fn python(patterns: &[&str], texts: &[String]) -> Option<serde_json::Value> {
        let script = r#"
import json, re, sys
d = json.load(sys.stdin)
out = []
for p in d["patterns"]:
    r = re.compile(p)
    row = []
    for t in d["texts"]:
        m = r.search(t)
        row.append(None if m is None else [[m.start(), m.end()], m.groupdict()])
    out.append(row)
json.dump(out, sys.stdout)
"#;
        let mut child = Command::new("python3").args(["-c", script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
        let input = serde_json::json!({ "patterns": patterns, "texts": texts }).to_string();
        child.stdin.take()?.write_all(input.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        assert!(out.status.success(), "python3 failed");
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Python's answers (one row per pattern, one entry per text) and each
    /// pattern's translated variants; each pattern must match more than
    /// `min_hits` texts (so the texts exercise it). None without python3.
    pub(in super::super) fn oracle(
        patterns: &[&str],
        texts: &[String],
        min_hits: usize,
    ) -> Option<(Vec<serde_json::Value>, Vec<Vec<regex::Regex>>)> {
        let Some(want) = python(patterns, texts) else {
            eprintln!("SKIP: python3 not available");
            return None;
        };
        let rows: Vec<serde_json::Value> = want.as_array().expect("one row per pattern").clone();
        let mut variants = Vec::new();
        for (p, row) in patterns.iter().zip(&rows) {
            let hits = row.as_array().unwrap().iter().filter(|w| !w.is_null()).count();
            assert!(hits > min_hits, "the texts exercise {p} ({hits} matches)");
            variants.push(translate(p).unwrap_or_else(|e| panic!("{p}: {e:?}")).iter().map(|v| regex::Regex::new(v).unwrap()).collect());
        }
        Some((rows, variants))
    }

    /// Ours: the first variant that matches, with its span and named groups (char offsets).
    pub(in super::super) fn ours(variants: &[regex::Regex], text: &str) -> serde_json::Value {
        for re in variants {
            if let Some(c) = re.captures(text) {
                let chars = |b: usize| text[..b].chars().count();
                let m = c.get(0).unwrap();
                let mut groups = serde_json::Map::new();
                for n in re.capture_names().flatten() {
                    groups.insert(n.into(), c.name(n).map_or(serde_json::Value::Null, |g| g.as_str().into()));
                }
                return serde_json::json!([[chars(m.start()), chars(m.end())], groups]);
            }
        }
        serde_json::Value::Null
    }

    /// Seeded texts: a prefix, then tokens (`|`-separated in `tokens`, and spaces).
    fn texts(prefixes: &[&str], tokens: &str, seed: u64, n: usize) -> Vec<String> {
        let tokens: Vec<&str> = tokens.split('|').chain([" ", " ", " ", "\t", "é", ":", "."]).collect();
        let mut s = seed;
        let mut next = |m: usize| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % m as u64) as usize
        };
        (0..n)
            .map(|_| {
                let mut t = prefixes[next(prefixes.len())].to_string();
                for _ in 0..next(9) {
                    t.push_str(tokens[next(tokens.len())]);
                }
                t
            })
            .collect()
    }

    #[test]
    fn guarded_runs_match_like_python() {
        const FOUND: &str = "found|foun|founds|f|fou|cipher|mac|key|x|_|found:| found:| found.";
        let cases: &[(&str, &[&str], &str)] = &[
            (
                r"^Unable to negotiate with (?P<h>\S+)(?: (?:port \d+|on \S+)){0,2}: no matching (?:(?:\w+ (?!found\b)){0,2}\w+) found.",
                &["Unable to negotiate with 1.2.3.4: no matching ", "Unable to negotiate with h port 22: no matching cipher "],
                FOUND,
            ),
            (r"^Unable to negotiate a (?:(?:\w+ (?!found\b)){0,2}\w+)", &["Unable to negotiate a ", "Unable to negotiate a key "], FOUND),
            (r"^no matching (?:(?:\w+ (?!found\b)){0,2}\w+) found:", &["no matching ", "no matching host key "], FOUND),
            (
                r"^Failed \b(?!publickey)\S+ for (?P<user>\S+) from (?P<h>\S+)",
                &["Failed ", "Failed pass", "Failed publickey"],
                "publickey|publickeys|public|password|pub| for bob from 1.2.3.4| for x y from h|for|from",
            ),
            // not anchored, a guard inside a repetition, and a word guard before the end
            (r"(?:x (?!foun\b)\w+ )+(?P<t>\w+)?$", &["x ", "x x ", "a x f"], FOUND),
            // named-refused: several literals, a bracket class, inside an optional group
            (
                r"^client (?P<h>\S+): (?:(?!error|info)[\w-]+: )?query (?P<q>\S*)",
                &["client h: ", "client 1.2.3.4: info", "client h: x-y: "],
                "error|errors|info|inf|-|-x|query |: |err|x",
            ),
            // asterisk: the literal goes on past the run with the character that always follows it
            (
                r#"^x(?:,(?!RemoteAddress=)\w+="[^"]*")*,RemoteAddress="(?P<a>[^"]*)""#,
                &["x,", "x,a=\"b\",", "x,RemoteAddress=\""],
                "RemoteAddress|RemoteAddres|RemoteAddressX|=|\"|,|a|=\"v\"|,RemoteAddress=\"|,a=\"b\"",
            ),
            // traefik: a guard before a captured run
            (r"^(?P<h>\S+) \S+ (?!- )(?P<user>\S+) \[", &["h - ", "h x ", "1.2.3.4 - -"], "-|-x|x|[|bob| ["),
            // look-aheads that never hold: the run cannot start them, or they go on with a character that never follows
            (r"^(?:(?!-x)\w+ |(?!ab=)\w+,)+(?P<t>\w*)", &["a ", "ab,", "abc "], "a|ab|abc|-x|=|,"),
            // slapd: the run gives characters back to `=`, which no literal has after its first
            (r"^(?:\s(?!err|ok)\S+=\S*)*\s(?P<e>err=\d+)", &[" ", " a=1", " e=", " er=2"], "err|er|e|ok|o|=|=1|err=0|err=49|x|ok="),
            // a word run giving back its last characters to `x`
            (r"^(?:(?!ab|cd)\w+x )+(?P<t>\w*)", &["", "ax ", "abx "], "ab|abx|a|x|cd|cdx|ax|xx|b"),
            // literals that are prefixes of each other
            (r"^(?:(?!ab|abc|d)[a-d]+ )*(?P<t>[a-d]+)$", &["a ", "ab ", "cd "], "a|ab|abc|cd|d|b"),
            // recidive: a guard on `.*` that a literal character continues, the literal ending with it
            (
                r"^NOTICE\s+\[(?!recidive\])(?:.*)\]\s+Ban\s+(?P<h>\S+)",
                &["NOTICE [", "NOTICE  [recidive", "NOTICE [recidive]", "NOTICE [sshd] "],
                "recidive|recidive]|recidiv|]|] Ban 1.2.3.4|] Ban h|Ban|x|[|r|]]",
            ),
            // a run giving back to the literal's last character; a `.*` whose empty take is excluded
            (r"^(?:(?!ab|b)\w+b )+(?P<t>\w*)", &["", "ab ", "b "], "a|ab|b|bb|abb|x|c|ba"),
            (r"^x(?!a|ba)(?P<r>.*)a(?P<t>.*)$", &["x", "xa", "xba", "xb"], "a|b|ba|ab|c"),
            // apache-auth: a guard over an alternation of a `\S*` and a lazy `.*?` run
            (
                r"^user (?!`)(?P<user>(?:\S*|.*?)) (?:auth(?:oriz|entic)ation failure|not found)\b",
                &["user ", "user `", "user x", "user ` "],
                "`|`x|not found|not founds|authentication failure|x|bob| | |",
            ),
            // courier-auth: a guard over an alternation (one branch a capture) inside a repetition
            (
                r"^LOGIN FAILED, (?:(?!ip=)(?:user=(?P<user>[^,]*)|\w+=[^,]*), )*ip=\[(?P<h>[^\]]*)\]",
                &["LOGIN FAILED, ", "LOGIN FAILED, user=bob, ", "LOGIN FAILED, ip=[1], "],
                "ip=[1.2.3.4]|ip=[h]|user=|user=x|, |, |method=PLAIN|ipx=1|ip=|ip|=|ip=[",
            ),
            // exim: `(?=")` where every way on starts with `"`, in a lazy repetition
            (
                r#"^SMTP protocol error in "[^"]+(?:"+[^"]*(?="))*?" (?P<h>\S+) AUTH"#,
                &["SMTP protocol error in \"", "SMTP protocol error in \"a\"", "SMTP protocol error in \"a\"\"b"],
                "\"|x|\" h AUTH|\" h AUTH|\"\" h AUTH| AUTH|\"\"|a b|h",
            ),
        ];
        let patterns: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let mut all = Vec::new();
        for (k, (_, prefixes, tokens)) in cases.iter().enumerate() {
            all.extend(texts(prefixes, tokens, 0x9e37_79b9_7f4a_7c15 ^ k as u64, 3000));
        }
        // every guard was rewritten (none reported)
        let Some((want, variants)) = oracle(&patterns, &all, 40) else { return };
        for (i, (p, variants)) in patterns.iter().zip(&variants).enumerate() {
            for (j, t) in all.iter().enumerate() {
                assert_eq!(&ours(variants, t), &want[i][j], "{p} on {t:?}");
            }
        }
    }

    #[test]
    fn guards_without_an_exact_form_are_still_reported() {
        // the run may be followed by a run character, or end where \S has no boundary
        for p in [
            // the literal goes on past the character that follows the run
            r"(?!abc)\w+b",
            r"(?!ba)(?:.*)b",
            // a positive look-ahead that what follows does not decide
            r"(?:a(?=b))*?c",
            r"(?:a(?=b)|c)b?",
            r"(?!a\b)\w+x",
            r"(?!ab)\S+$",
            r"(?!ab)\S+",
            r"(?!a.)\w+ ",
            r"(?i)(?!ab)\w+ ",
            r"(?x)(?!ab)\w+ ",
        ] {
            let e = translate(p).unwrap_err();
            assert!(e.problem.contains("look-around"), "{p}: {e:?}");
        }
        assert!(translate(r"(?!ab)\w+ ").is_ok());
        // the run may give characters back, but never to a literal's next character
        assert!(translate(r"(?!ab)\w+x").is_ok());
        // the character after the run completes the literal: that take is excluded
        assert!(translate(r"(?!ab)\w+b").is_ok());
        // a lazy run: the same takes, shortest first
        assert!(translate(r"(?!ab)\w+? ").is_ok());
        assert!(translate(r"(?!ab\b)\w+").is_ok());
    }
}
