//! ASCII twins of regexes: the same pattern with every character class cut
//! down to ASCII. On an ASCII line it gives exactly the answers of the
//! original (a class can only match the line's ASCII characters anyway; `\b`,
//! `^`, `$` and literals are kept), but Unicode `\S`, `\w`, `.` and
//! case-folded classes no longer expand to large UTF-8 automata, which is
//! where the capture engine (a bounded backtracker over the NFA) spent most of
//! its time on log lines. Lines with any non-ASCII byte use the original.

use regex::Regex;
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Repetition};

fn ascii_only(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            Hir::class(Class::Unicode(c))
        }
        HirKind::Class(Class::Bytes(_)) | HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => h.clone(),
        HirKind::Repetition(r) => Hir::repetition(Repetition { sub: Box::new(ascii_only(&r.sub)), ..r.clone() }),
        HirKind::Capture(c) => {
            let mut c = c.clone();
            c.sub = Box::new(ascii_only(&c.sub));
            Hir::capture(c)
        }
        HirKind::Concat(xs) => Hir::concat(xs.iter().map(ascii_only).collect()),
        HirKind::Alternation(xs) => Hir::alternation(xs.iter().map(ascii_only).collect()),
    }
}

/// The ASCII-class source of `pattern`, when it can be derived (else None: use the original).
pub fn ascii_source(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    Some(ascii_only(&hir).to_string())
}

/// A regex and its ASCII twin.
#[derive(Debug, Clone)]
pub struct Twin {
    pub uni: Regex,
    pub ascii: Regex,
}

impl Twin {
    pub fn new(uni: Regex, size_limit: usize) -> Self {
        let ascii = ascii_source(uni.as_str())
            .and_then(|s| regex::RegexBuilder::new(&s).size_limit(size_limit).build().ok())
            .filter(|a| a.capture_names().eq(uni.capture_names()))
            .unwrap_or_else(|| uni.clone());
        Self { uni, ascii }
    }

    pub fn get(&self, ascii: bool) -> &Regex {
        if ascii {
            &self.ascii
        } else {
            &self.uni
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_agree_on_ascii_and_keep_groups() {
        let t = Twin::new(Regex::new(r"^(?P<user>\S+) (?i:from) (?P<h>[\w.]+)\b.*$").unwrap(), 1 << 20);
        assert_ne!(t.uni.as_str(), t.ascii.as_str());
        for line in ["root FROM host.example x", "a from b", "üser from x", "nope"] {
            if !line.is_ascii() {
                continue;
            }
            let (a, u) = (t.ascii.captures(line), t.uni.captures(line));
            assert_eq!(
                a.as_ref().map(|c| (c.name("user").map(|m| m.range()), c.name("h").map(|m| m.range()))),
                u.as_ref().map(|c| (c.name("user").map(|m| m.range()), c.name("h").map(|m| m.range()))),
                "{line}"
            );
        }
        assert!(t.get(false).is_match("üser from x"));
    }
}
