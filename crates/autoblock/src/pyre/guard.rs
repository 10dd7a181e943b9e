//! Negative look-aheads that guard a run of one character class, rewritten
//! into plain (linear-time) regex syntax with Python's exact match result.
//!
//! `(?!LIT)C+` (greedy), where every character of `LIT` is in the class `C`
//! (`\w` or `\S`) and whatever follows `C+` cannot start with a `C` character,
//! only ever succeeds with `C+` taking the whole run `r` of `C` characters at
//! that point (a shorter take is followed by a `C` character). `LIT` starts
//! the text there exactly when `r` starts with `LIT`, so the look-ahead is the
//! condition "`r` does not start with `LIT`" on the consumed run: a regular
//! language, written as an alternation of where `r` first departs from `LIT`.
//! `(?!LIT\b)\w+` is the same with "`r` is not `LIT`". Both keep the set of
//! successful paths and their order (one run, one path), hence Python's match
//! and captures. At the end of the pattern (nothing has to follow) `\b` pins
//! the run's end for `\w`; `\S` has no such assertion and is left alone.
//!
//! sshd's `__alg_match`, `(?:\w+ (?!found\b)){0,2}\w+`, has its guard at the
//! end of a repeated body; it is first rotated to `\w+(?: (?!found\b)\w+){0,2}`
//! (exact when the body's `\w+` is always followed by a non-word character:
//! then every path that iterates takes whole words and both forms list the
//! same paths in the same order), which puts the guard right before its run.

use super::Node;

/// What the next character can be, and whether the pattern can end there.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct First {
    word: bool,
    space: bool,
    /// a non-word, non-space character
    other: bool,
    end: bool,
}

impl First {
    const ALL: First = First { word: true, space: true, other: true, end: false };
    const END: First = First { word: false, space: false, other: false, end: true };

    fn union(self, o: First) -> First {
        First { word: self.word || o.word, space: self.space || o.space, other: self.other || o.other, end: self.end || o.end }
    }

    fn of_char(c: char) -> First {
        if c.is_ascii_alphanumeric() || c == '_' {
            First { word: true, ..Default::default() }
        } else if c.is_ascii_whitespace() {
            First { space: true, ..Default::default() }
        } else if c.is_ascii() {
            First { other: true, ..Default::default() }
        } else {
            First::ALL
        }
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
            Some('s' | 'n' | 't' | 'r' | 'f' | 'v') => (First { space: true, ..Default::default() }, false),
            Some('w' | 'd') => (First { word: true, ..Default::default() }, false),
            Some('W') => (First { space: true, other: true, ..Default::default() }, false),
            // zero-width: what follows them decides
            Some('b' | 'B' | 'A') => (First::default(), true),
            Some('z') => (First::END, true),
            Some(e) if !e.is_ascii_alphanumeric() => (First::of_char(e), false),
            _ => (First::ALL, false),
        },
        // an inline flag group, or a rewritten group: may be empty, may take anything
        '(' => (First::ALL, true),
        '^' => (First::default(), true),
        '$' => (First { space: true, end: true, ..Default::default() }, true),
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

/// The class a greedy `C+` repeats, when it is `\w` or `\S`.
fn run_class(n: &Node) -> Option<&'static str> {
    match n {
        Node::Repeat { node, min: 1, max: None, lazy: false } => match node.as_ref() {
            Node::Text(t) if t == r"\w" => Some(r"\w"),
            Node::Text(t) if t == r"\S" => Some(r"\S"),
            _ => None,
        },
        _ => None,
    }
}

/// Can a character of class `class` start `f`?
fn class_may_start(class: &str, f: First) -> bool {
    match class {
        r"\w" => f.word,
        _ => f.word || f.other,
    }
}

fn in_class(class: &str, c: char) -> bool {
    match class {
        r"\w" => c.is_ascii_alphanumeric() || c == '_',
        _ => !c.is_whitespace(),
    }
}

/// The guarded literal of a look-ahead: `(?!LIT)` -> (LIT, false), `(?!LIT\b)` -> (LIT, true).
fn guarded_literal(look: &Node) -> Option<(String, bool)> {
    if let Some(l) = super::literal_of(look) {
        return Some((l, false));
    }
    let Node::Concat(v) = look else { return None };
    let (last, head) = v.split_last()?;
    if *last != Node::Text(r"\b".into()) {
        return None;
    }
    let l: String = head.iter().map(super::literal_of).collect::<Option<String>>()?;
    Some((l, true))
}

/// `C+` runs not starting with `lit` (all of `lit` in `C`), as alternatives by
/// the first position where the run departs from `lit` or ends.
fn runs_not_starting_with(class: &str, lit: &[char]) -> String {
    let complement = if class == r"\w" { r"\W" } else { r"\s" };
    let mut alts = Vec::new();
    for j in 0..lit.len() {
        let prefix: String = lit[..j].iter().map(|c| super::lit(*c)).collect();
        let departs = format!("[^{complement}{}]{class}*", super::lit(lit[j]));
        alts.push(if j == 0 { departs } else { format!("{prefix}(?:{departs})?") });
    }
    alts.join("|")
}

/// The replacement of `(?!lit[\b])C+` before something starting with `follow`.
fn guarded_run(class: &str, lit: &str, word_end: bool, follow: First) -> Option<String> {
    let chars: Vec<char> = lit.chars().collect();
    if chars.is_empty() || chars.len() > 64 || !chars.iter().all(|c| in_class(class, *c)) || class_may_start(class, follow) {
        return None;
    }
    if word_end && class != r"\w" {
        return None;
    }
    // the run's end must be pinned when nothing has to follow it
    let pin = match (follow.end, class) {
        (false, _) => "",
        (true, r"\w") => r"\b",
        (true, _) => return None,
    };
    let mut body = runs_not_starting_with(class, &chars);
    if word_end {
        // not the word `lit` itself, but longer words starting with it are fine
        let whole: String = chars.iter().map(|c| super::lit(*c)).collect();
        body = format!("{body}|{whole}\\w+");
    }
    Some(format!("(?:{body}){pin}"))
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
    let class = run_class(x)?;
    if x != next || has_captures(x) || !matches!(rest.last(), Some(Node::Look { kind: "(?!", .. })) {
        return None;
    }
    let (f, empty) = first_seq(rest);
    if empty || class_may_start(class, f) {
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

/// Whether case-insensitive matching is switched on anywhere (the literal
/// comparisons above are case-sensitive, so such patterns are left alone).
pub(super) fn case_insensitive(n: &Node) -> bool {
    let flags_i = |t: &str| {
        t.starts_with("(?")
            && !t.starts_with("(?:")
            && !t.starts_with("(?P")
            && t[2..].split([':', ')']).next().is_some_and(|f| f.split('-').next().is_some_and(|on| on.contains('i')))
    };
    match n {
        Node::Text(t) => flags_i(t),
        Node::Concat(v) | Node::Alt(v) => v.iter().any(case_insensitive),
        Node::Group { open, node, .. } => flags_i(open) || case_insensitive(node),
        Node::Repeat { node, .. } | Node::Look { node, .. } => case_insensitive(node),
        Node::Cond { yes, no, .. } => case_insensitive(yes) || case_insensitive(no),
    }
}

/// Rewrites every guard it can prove exact; `follow`: what may come after `n`.
pub(super) fn rewrite(n: &mut Node, follow: First) {
    match n {
        Node::Text(_) | Node::Look { .. } => {}
        Node::Concat(v) => {
            rotate(v);
            let mut after = follow;
            for i in (0..v.len()).rev() {
                rewrite(&mut v[i], after);
                let (f, empty) = first(&v[i]);
                if i > 0 {
                    if let (Node::Look { kind: "(?!", node, .. }, Some(class)) = (&v[i - 1], run_class(&v[i])) {
                        if let Some(r) = guarded_literal(node).and_then(|(l, b)| guarded_run(class, &l, b, after)) {
                            v[i - 1] = Node::Concat(vec![]);
                            v[i] = Node::Text(r);
                        }
                    }
                }
                after = if empty { f.union(after) } else { f };
            }
        }
        Node::Alt(v) => v.iter_mut().for_each(|x| rewrite(x, follow)),
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

/// The follow set at the end of a whole pattern.
pub(super) const AT_END: First = First::END;

#[cfg(test)]
mod tests {
    use super::super::translate;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    /// Python `re.search` of each pattern over each text: (span, named groups) or null.
    fn python(patterns: &[&str], texts: &[String]) -> Option<serde_json::Value> {
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

    /// Ours: the first variant that matches, with its span and named groups (char offsets).
    fn ours(variants: &[regex::Regex], text: &str) -> serde_json::Value {
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

    /// Seeded texts built from tokens that sit on both sides of each guard.
    fn texts(prefixes: &[&str], seed: u64, n: usize) -> Vec<String> {
        let tokens = [
            "found",
            "foun",
            "founds",
            "f",
            "fou",
            "cipher",
            "mac",
            "key",
            "exchange",
            "method",
            "publickey",
            "publickeys",
            "public",
            "password",
            "pub",
            " ",
            " ",
            " ",
            ":",
            ".",
            "x",
            "_",
            "é",
            "\t",
            "for",
            "bob",
            "from",
            "1.2.3.4",
        ];
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
        let cases: [(&str, &[&str]); 5] = [
            (
                r"^Unable to negotiate with (?P<h>\S+)(?: (?:port \d+|on \S+)){0,2}: no matching (?:(?:\w+ (?!found\b)){0,2}\w+) found.",
                &["Unable to negotiate with 1.2.3.4: no matching ", "Unable to negotiate with h port 22: no matching cipher "],
            ),
            (r"^Unable to negotiate a (?:(?:\w+ (?!found\b)){0,2}\w+)", &["Unable to negotiate a ", "Unable to negotiate a key "]),
            (r"^no matching (?:(?:\w+ (?!found\b)){0,2}\w+) found:", &["no matching ", "no matching host key "]),
            (r"^Failed \b(?!publickey)\S+ for (?P<user>\S+) from (?P<h>\S+)", &["Failed ", "Failed pass", "Failed publickey"]),
            // not anchored, a guard inside a repetition, and a word guard before the end
            (r"(?:x (?!foun\b)\w+ )+(?P<t>\w+)?$", &["x ", "x x ", "a x f"]),
        ];
        let patterns: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let mut all = Vec::new();
        for (k, (_, prefixes)) in cases.iter().enumerate() {
            all.extend(texts(prefixes, 0x9e37_79b9_7f4a_7c15 ^ k as u64, 3000));
        }
        let Some(want) = python(&patterns, &all) else {
            eprintln!("SKIP: python3 not available");
            return;
        };
        let mut matched = 0;
        for (i, p) in patterns.iter().enumerate() {
            let variants: Vec<regex::Regex> =
                translate(p).unwrap_or_else(|e| panic!("{p}: {e:?}")).iter().map(|v| regex::Regex::new(v).unwrap()).collect();
            for (j, t) in all.iter().enumerate() {
                let w = &want[i][j];
                matched += usize::from(!w.is_null());
                assert_eq!(&ours(&variants, t), w, "{p} on {t:?}");
            }
        }
        assert!(matched > 2000, "the texts exercise the patterns ({matched} matches)");
    }

    #[test]
    fn guards_without_an_exact_form_are_still_reported() {
        // the run may be followed by a run character, or end where \S has no boundary
        for p in [r"(?!ab)\w+x", r"(?!ab)\S+$", r"(?!ab)\S+", r"(?!a.)\w+ ", r"(?i)(?!ab)\w+ ", r"(?!ab)\w+? "] {
            let e = translate(p).unwrap_err();
            assert!(e.problem.contains("look-around"), "{p}: {e:?}");
        }
        assert!(translate(r"(?!ab)\w+ ").is_ok());
        assert!(translate(r"(?!ab\b)\w+").is_ok());
    }
}
