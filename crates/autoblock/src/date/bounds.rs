//! The word boundaries fail2ban puts around a `datepattern`
//! (`DateTemplate.setRegex`): `(?=^|\b|\W)` before it and `(?=\b|\W|$)` after
//! it, so a date is never taken from inside a longer word or number. Both hold
//! exactly when the characters on the two sides are not both word characters,
//! which the regex crate says without look-arounds as
//! `(?:\b{start-half}|\b{end-half})` (the previous character is no word
//! character, or the next one is not).
//!
//! A pattern opts out as in fail2ban: `{UNB}` in front drops both, `**` at an
//! end drops that end's (and is removed), a pattern anchored with `^` gets no
//! begin boundary, one ending in `$`, `\b` or `\s` no end boundary.

use regex::Regex;
use std::sync::LazyLock;

/// fail2ban's look-arounds, exactly (see the module comment).
pub(super) const BOUNDARY: &str = r"(?:\b{start-half}|\b{end-half})";

/// A user pattern with its opt-outs read and removed.
#[derive(Debug, PartialEq)]
pub(super) struct Bounded<'p> {
    pub pattern: std::borrow::Cow<'p, str>,
    pub begin: bool,
    pub end: bool,
}

/// Reads `{UNB}` and `**`, and whether the pattern is anchored, as fail2ban's
/// `RE_EXLINE_NO_BOUNDS`, `RE_NO_WRD_BOUND_BEG/END` and `RE_DEL_WRD_BOUNDS` do.
pub(super) fn bounds(pattern: &str) -> Bounded<'_> {
    if let Some(rest) = pattern.strip_prefix("{UNB}") {
        return Bounded { pattern: rest.into(), begin: false, end: false };
    }
    // fail2ban's own begin checks (no look-behind in them, so the regex crate reads them alike)
    static NO_BEGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)").expect("valid"));
    static STARS_BEGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\(*(?:\(\?\w+\))?\(*\*\*").expect("valid"));
    let star_begin = STARS_BEGIN.find(pattern).map(|m| m.end() - 2);
    let anchored = NO_BEGIN.is_match(pattern);
    // `(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$`
    let tail = pattern.trim_end_matches(')');
    let star_end = tail.ends_with("**") && !escaped_before(tail, tail.len() - 2);
    let closed_dollar = pattern.ends_with('$') || pattern.ends_with("$)");
    let dollar_at = if pattern.ends_with("$)") { pattern.len() - 2 } else { pattern.len().saturating_sub(1) };
    let end_anchor =
        closed_dollar && !escaped_before(pattern, dollar_at) || ends_with_escape(pattern, 'b') || ends_with_escape(pattern, 's');
    let star_end_at = star_end.then(|| tail.len() - 2);
    let mut p = pattern.to_string();
    // the later one first, so the earlier index still holds; `**` alone is both
    if let Some(at) = star_end_at {
        p.replace_range(at..at + 2, "");
    }
    if let Some(at) = star_begin.filter(|b| Some(*b) != star_end_at) {
        p.replace_range(at..at + 2, "");
    }
    Bounded {
        pattern: if star_begin.is_some() || star_end { p.into() } else { pattern.into() },
        begin: !anchored,
        end: !(end_anchor || star_end),
    }
}

/// Whether the character at byte `at` is escaped (an odd run of `\` before it).
fn escaped_before(s: &str, at: usize) -> bool {
    s.as_bytes()[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// Whether the pattern ends with the escape `\c` (not with `\\c`).
fn ends_with_escape(s: &str, c: char) -> bool {
    s.len() >= 2 && s.ends_with(c) && s.as_bytes()[s.len() - 2] == b'\\' && escaped_before(s, s.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(p: &str) -> (String, bool, bool) {
        let x = bounds(p);
        (x.pattern.into_owned(), x.begin, x.end)
    }

    /// fail2ban 1.0's answers (its RE_NO_WRD_BOUND_BEG/END and RE_DEL_WRD_BOUNDS on the same patterns).
    #[test]
    fn opt_outs_as_fail2ban_reads_them() {
        assert_eq!(b("%d/%m/%Y"), ("%d/%m/%Y".into(), true, true));
        assert_eq!(b("^%d/%m/%Y"), ("^%d/%m/%Y".into(), false, true));
        assert_eq!(b("(?i)^%d"), ("(?i)^%d".into(), false, true));
        assert_eq!(b("(?:^x)%d"), ("(?:^x)%d".into(), false, true));
        assert_eq!(b("**%d/%m**"), ("%d/%m".into(), false, false));
        assert_eq!(b("(**%d)"), ("(%d)".into(), false, true));
        assert_eq!(b("%d$"), ("%d$".into(), true, false));
        assert_eq!(b("%d\\$"), ("%d\\$".into(), true, true));
        assert_eq!(b("%d\\s"), ("%d\\s".into(), true, false));
        assert_eq!(b("%d\\\\s"), ("%d\\\\s".into(), true, true));
        assert_eq!(b("{UNB}%d"), ("%d".into(), false, false));
        assert_eq!(b("**"), ("".into(), false, false));
        assert_eq!(b("(**)"), ("()".into(), false, false));
    }
}
