//! fail2ban's multi-line buffer (`maxlines` > 1), as `Filter.findFailure`
//! and `Regex.search` in fail2ban 1.0's `server/filter.py` and
//! `server/failregex.py` do it: each line (without its date) joins a buffer
//! of the last `maxlines` lines; failregex (compiled in multi-line mode, `^`
//! and `$` at every line) searches the lines joined by `\n` with a final `\n`;
//! the lines a failure matched leave the buffer (lines captured by
//! `<SKIPLINES>` stay), so they are not matched again. A prefregex with a
//! non-empty `<F-CONTENT>` replaces the whole buffer by that content, as
//! fail2ban does. ignoreregex runs before failregex only when there are fewer
//! of them than failregex minus 2, over the whole buffer; otherwise over the
//! lines the failure matched, and an ignored failure's lines leave the buffer.
//!
//! prefregex and ignoreregex are not multi-line in fail2ban; they see the
//! buffer without its final `\n` here, like a single line (Python's `$`
//! matches before that final `\n`; only a pattern that consumes it, such as a
//! trailing `\s*` group, could see a difference).

use super::{collect, Filter, LineResult};
use crate::mlfid::Groups;

/// Python's `str.splitlines()` line boundaries.
fn split_lines_py(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let sep = matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if sep {
            out.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' && it.peek().is_some_and(|&(_, n)| n == '\n') {
                it.next();
                end += 1;
            }
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `lines` joined as fail2ban's `_tupleLinesBuf`: each line followed by `\n`.
fn joined(lines: &[String]) -> String {
    let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// `Regex.search`'s split of the original buffer into the lines a match
/// covers (less those `<SKIPLINES>` took) and the lines that stay.
fn split_matched(text: &str, start: usize, end: usize, org: &[String], skipped: &str) -> (Vec<String>, Vec<String>) {
    if org.len() <= 1 {
        return (org.to_vec(), Vec::new());
    }
    let b = text.as_bytes();
    let len = b.len();
    // rindex("\n", 0, start + 1) + 1
    let line_start = b[..(start + 1).min(len)].iter().rposition(|&c| c == b'\n').map_or(0, |k| k + 1);
    // index("\n", end - 1) + 1, where a negative start counts from the end
    let from = if end == 0 { len.saturating_sub(1) } else { end - 1 };
    let line_end = b.get(from..).and_then(|t| t.iter().position(|&c| c == b'\n')).map_or(len, |k| from + k + 1);
    let count = |upto: usize| b[..upto].iter().filter(|&&c| c == b'\n').count();
    let (lc1, lc2) = (count(line_start).min(org.len()), count(line_end).min(org.len()));
    let mut matched: Vec<String> = org[lc1..lc2.max(lc1)].to_vec();
    let mut unmatched: Vec<String> = org[..lc1].to_vec();
    let mut n = 0;
    for skipped_line in split_lines_py(skipped) {
        if let Some(m) = matched[n..].iter().position(|l| l == skipped_line) {
            unmatched.push(matched.remove(n + m));
            n += m;
        }
    }
    unmatched.extend_from_slice(&org[lc2..]);
    (matched, unmatched)
}

impl Filter {
    /// One line through the multi-line buffer (`maxlines` > 1).
    pub(super) fn match_buffered(&mut self, line: &str, time: f64) -> LineResult {
        self.lines.push(line.to_string());
        if self.lines.len() > self.maxlines {
            let extra = self.lines.len() - self.maxlines;
            self.lines.drain(..extra);
        }
        let org = self.lines.clone();
        let whole = joined(&org);
        let single = &whole[..whole.len() - 1];
        let ascii = whole.is_ascii();
        let ignore_first = self.ignore_first();
        if ignore_first && self.ignoreregex.iter().any(|r| r.is_match(single, ascii)) {
            return LineResult::Ignored;
        }
        let mut pre: Groups = Vec::new();
        if let Some(p) = &self.prefregex {
            let Some((re, c)) = p.captures(single, ascii) else {
                return LineResult::Missed;
            };
            collect(re, &c, &mut pre);
            if let Some(k) = pre.iter().position(|(n, _)| n == "content") {
                if let (_, Some(content)) = pre.remove(k) {
                    if !content.is_empty() {
                        self.lines = vec![content];
                    }
                }
            }
        }
        let text = joined(&self.lines);
        let ascii = text.is_ascii();
        for i in 0..self.failregex.len() {
            let Some((re, c)) = self.failregex[i].captures(&text, ascii) else {
                continue;
            };
            let m = c.get(0).expect("group 0");
            let skipped: String = (0..)
                .map_while(|k| re.capture_names().any(|n| n == Some(&format!("skiplines{k}"))).then(|| c.name(&format!("skiplines{k}"))))
                .flatten()
                .map(|g| g.as_str())
                .collect();
            // an end look-ahead's hidden tail is text after the match (pyre::TAIL)
            let end = c.name(crate::pyre::TAIL).map_or(m.end(), |t| t.start());
            let (matched, unmatched) = split_matched(&text, m.start(), end, &org, &skipped);
            if !self.ignoreregex.is_empty() {
                let lines = joined(&matched);
                let lines = lines.strip_suffix('\n').unwrap_or(&lines);
                if self.ignoreregex.iter().any(|r| r.is_match(lines, lines.is_ascii())) {
                    self.lines = unmatched;
                    return LineResult::Ignored;
                }
            }
            self.lines = unmatched;
            let mut groups = pre;
            collect(re, &c, &mut groups);
            return self.outcome(groups, i, time);
        }
        LineResult::Missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{Failure, FilterOptions};

    const NOW: f64 = 1796032801.0;

    /// The real failures (not `<F-NOFAIL>`), with their line index.
    fn failures(f: &mut Filter, lines: &[&str]) -> Vec<(usize, Failure)> {
        let mut out = Vec::new();
        for (k, l) in lines.iter().enumerate() {
            if let LineResult::Failure(x) = f.match_line(l, NOW) {
                if !x.nofail {
                    out.push((k, x));
                }
            }
        }
        out
    }

    #[test]
    fn python_splitlines() {
        assert_eq!(split_lines_py("a\nb\r\nc\rd\x0ce"), ["a", "b", "c", "d", "e"]);
        assert_eq!(split_lines_py("a\n\nb\n"), ["a", "", "b"]);
        assert!(split_lines_py("").is_empty());
    }

    #[test]
    fn two_line_failure_and_matched_lines_leave_the_buffer() {
        let conf = "[Definition]\nfailregex = ^.*\\nWARNING: Authentication attempt from <HOST> for user \"<F-USER>[^\"]*</F-USER>\" failed\\.$\nmaxlines = 2\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        assert_eq!(f.maxlines(), 2);
        let got = failures(
            &mut f,
            &[
                "org.slf4j.impl.JCLLoggerAdapter warn",
                "WARNING: Authentication attempt from 192.0.2.1 for user \"bob\" failed.",
                // the previous two lines left the buffer: this one alone cannot match
                "WARNING: Authentication attempt from 192.0.2.2 for user \"eve\" failed.",
                "WARNING: Authentication attempt from 192.0.2.3 for user \"al\" failed.",
            ],
        );
        let ids: Vec<(usize, &str)> = got.iter().map(|(k, x)| (*k, x.id.as_str())).collect();
        assert_eq!(ids, [(1, "192.0.2.1"), (3, "192.0.2.3")]);
        assert!(got[0].1.fields.contains(&("user".into(), "bob".into())));
    }

    #[test]
    fn skiplines_stay_in_the_buffer() {
        let conf = "[Definition]\nfailregex = ^conn(?P<c>\\d+) auth failed for <F-USER>\\S+</F-USER><SKIPLINES>conn\\d+ closed from <HOST>$\nmaxlines = 4\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        let got = failures(
            &mut f,
            &[
                "conn1 auth failed for bob",
                "conn2 auth failed for eve",
                "noise",
                "conn1 closed from 10.0.0.1",
                "conn2 closed from 10.0.0.2",
            ],
        );
        // the first failure skipped "conn2 auth failed for eve", which stays and matches again
        let ids: Vec<(usize, &str)> = got.iter().map(|(k, x)| (*k, x.id.as_str())).collect();
        assert_eq!(ids, [(3, "10.0.0.1"), (4, "10.0.0.2")]);
        assert!(got[1].1.fields.contains(&("user".into(), "eve".into())));
    }

    #[test]
    fn bad_maxlines_is_reported() {
        for v in ["0", "x", "-1", "101"] {
            let conf = format!("[Definition]\nfailregex = ^x <HOST>$\nmaxlines = {v}\n");
            let e = Filter::from_str("t", &conf, None, &FilterOptions::default()).err().expect("rejected");
            assert!(e.message.contains("maxlines"), "{}", e.message);
        }
        let conf = "[Definition]\nfailregex = ^x <HOST>$\nmaxlines = 1\n[Init]\nmaxlines = 3\n";
        assert_eq!(Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap().maxlines(), 3);
    }
}
