//! Date detection in log lines, as fail2ban does it: find the timestamp, turn it
//! into Unix seconds and remove it from the text the failregex sees.
//!
//! Built-in templates: fail2ban 1.0's default list ([`BUILTINS`]: syslog,
//! ISO 8601 with `-`, `/` or `.`, CLF and `dd-Mon-yyyy`, `dd-mm-yyyy`, MySQL,
//! epoch, ...), tried in order, the last one that hit first next time; as in
//! fail2ban's `matchTime`, a match further into the line than the last date
//! sends the search on and the match nearest the line start wins (fail2ban also
//! reorders its list by hits, which only changes which template is tried first).
//! User patterns get fail2ban's word boundaries (`bounds.rs`). A `datepattern` is
//! read as fail2ban reads it: one template per line, a regex with strptime
//! directives (`%Y-%m-%d`, `%ExY`, ...), `{^LN-BEG}`, `{DATE}`, `{NONE}`.
//! Times without a zone are read as UTC, zones as fail2ban's fixed table
//! gives them (`zones.rs`: `PDT` is UTC-7, `CET+0100` UTC+2); a date without a year takes the
//! reference year (and the year before when that would put it more than a day
//! in the future), a time alone today's date (yesterday's when ahead), as
//! fail2ban's `strptime.reGroupDictStrptime` does.
//!
//! Fast path: a line that starts with a syslog date (`Nov 30 10:00:01`, the
//! common case) while the syslog template is the one tried first is read by
//! hand ([`syslog_at_start`]), which gives the span the template's regex would
//! (a match at offset 0 is the leftmost one); anything it does not accept goes
//! the general way.

mod bounds;
mod zones;
use bounds::{bounds, BOUNDARY};
use zones::zone_offset;

use omnitide_common::{Error, Result};
use regex::{Captures, Regex};

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The year of a Unix time (UTC).
pub fn year_of(t: f64) -> i64 {
    let days = (t / 86400.0).floor() as i64;
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(m <= 2)
}

struct Template {
    re: Regex,
    /// the date is the pattern's own first group, not the whole match
    own_group: bool,
}

/// A compiled set of date templates.
pub struct DateDetector {
    templates: Vec<Template>,
    last_hit: usize,
    /// where the last date's match started (fail2ban's `lastPos`)
    last_distance: usize,
    /// template 0 is the built-in syslog one (the hand-written reader applies)
    syslog_first: bool,
    /// (reference, its year): a batch uses one reference time
    year_cache: std::cell::Cell<(f64, i64)>,
}

/// The fields of a date as the templates capture them.
#[derive(Default)]
struct Parts<'t> {
    epoch: Option<i64>,
    frac: Option<&'t str>,
    month_name: Option<&'t str>,
    month: Option<i64>,
    day: Option<i64>,
    hour: Option<i64>,
    /// `%I` with `%p`
    hour12: Option<i64>,
    pm: bool,
    minute: Option<i64>,
    second: Option<i64>,
    year: Option<i64>,
    year2: Option<i64>,
    zone: Option<&'t str>,
    /// the 24 hex digits of a TAI64N label
    tai: Option<&'t str>,
}

/// A detected date: Unix seconds and the byte span it occupied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub time: f64,
    pub start: usize,
    pub end: usize,
}

const SYSLOG: &str = r"(?:(?P<a>Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)) {1,2}(?P<d>\d{1,2}) (?P<H>[ 0-2]?\d):(?P<M>[0-5]\d):(?P<S>[0-6]\d)(?:\.(?P<f>\d{1,6}))?(?: (?P<Y>\d{4}))?";
/// fail2ban's `DateEpoch`: 10–11 digits at line start, right after a `[` that
/// opens the line (nsd), or after `audit(` (SELinux). Its trailing
/// `(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))` always has an empty branch
/// that succeeds, so it asks nothing of the text after the digits, and is left
/// out. The digits are the template's own group (what is cut from the line).
const EPOCH: &str = r"(?:^|^\[|\baudit\()((?P<E>\d{10,11})\b(?:\.(?P<f>\d{3,6}))?)";
/// `{^LN-BEG}EPOCH`: the digits after at most two non-word characters.
const EPOCH_LINE_BEGIN: &str = r"(?P<E>\d{10,11})\b(?:\.(?P<f>\d{3,6}))?";

/// fail2ban's `%ExY`: a year from 2000 to three years ahead (fail2ban builds
/// the same set of centuries/decades from its clock).
fn exact_year() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let decade = ((year_of(now) + 3) / 10 % 10).clamp(0, 9);
    format!(r"(?P<Y>20[0-{decade}]\d)")
}

/// One strptime directive as fail2ban's `strptime.timeRE` reads it (the
/// names are the ones `to_time` reads); `key` is `Y` or `ExY` etc.
fn directive(key: &str) -> Option<String> {
    Some(match key {
        "Y" => r"(?P<Y>\d{4})".into(),
        "y" | "Exy" => r"(?P<y>\d{2})".into(),
        "m" => r"(?P<m>0?[1-9]|1[0-2])".into(),
        "d" | "e" => r"(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])".into(),
        "H" => r"(?P<H>[0-1]?\d|2[0-3])".into(),
        "k" => r" ?(?P<H>[0-2]?\d)".into(),
        "I" => r"(?P<I>1[0-2]|0[1-9]|[1-9])".into(),
        "l" => r" ?(?P<I>1?\d)".into(),
        "M" => r"(?P<M>[0-5]?\d)".into(),
        "S" => r"(?P<S>[0-5]?\d|6[0-1])".into(),
        "f" => r"(?P<f>[0-9]{1,6})".into(),
        "p" => r"(?P<p>(?i:am|pm))".into(),
        "b" | "B" | "h" => r"(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)".into(),
        "a" | "A" => r"(?:(?i:mon|tue|wed|thu|fri|sat|sun)[a-z]*)".into(),
        "z" => r"(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)".into(),
        "Z" => r"(?P<Z>Z|[A-Z]{3,5})".into(),
        "Exz" => r"(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)".into(),
        "ExZ" => r"(?P<Z>[A-Z](?:[A-Z]{2,4})?)".into(),
        "s" => r"(?P<E>\d{9,11})".into(),
        "ExY" => exact_year(),
        "Exm" => r"(?P<m>0[1-9]|1[0-2])".into(),
        "Exd" => r"(?P<d>[1-2]\d|0[1-9]|3[0-1])".into(),
        "ExH" => r"(?P<H>[0-1]\d|2[0-3])".into(),
        "Exk" => r" ?(?P<H>[0-1]?\d|2[0-3])".into(),
        "Exl" => r" ?(?P<I>1[0-2]|\d)".into(),
        "ExM" => r"(?P<M>[0-5]\d)".into(),
        "ExS" => r"(?P<S>[0-5]\d|6[0-1])".into(),
        _ => return None,
    })
}

/// A fail2ban `datepattern` -> regex variants: as in fail2ban the pattern is
/// a (Python) regex whose strptime directives become groups; it then goes
/// through the same Python-to-`regex` translation as failregex (so e.g.
/// ejabberd's `(?P<_sep>[-/.])%m(?P=_sep)` becomes one variant per separator).
fn strptime_to_regex(p: &str) -> Result<Vec<String>> {
    let mut out = String::new();
    let mut rest = p;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
            continue;
        }
        let len = if after.starts_with("Ex") { 3 } else { 1 };
        let key = after
            .get(..len)
            .filter(|k| k.len() == len && k.is_char_boundary(len))
            .ok_or_else(|| Error::invalid_arg("datepattern", "trailing '%'"))?;
        let re = directive(key).ok_or_else(|| Error::invalid_arg("datepattern", format!("unsupported strptime directive %{key}")))?;
        out.push_str(&re);
        rest = &after[len..];
    }
    out.push_str(rest);
    let t = crate::pyre::translate(&out)
        .map_err(|e| Error::invalid_arg("datepattern", format!("{} (at character {} of '{out}')", e.problem, e.offset)))?;
    Ok(t)
}

/// fail2ban 1.0's default templates (`datedetector.DEFAULT_TEMPLATES`) in
/// its order, as strptime patterns, with two of ours: [`SYSLOG`] first (it
/// has a hand-written reader, see [`syslog_at_start`]) standing for its
/// asctime template, and [`EPOCH`] for its epoch one.
const BUILTINS: [&str; 16] = [
    SYSLOG,
    r"%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?",
    r"%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S",
    r"%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?",
    r"%m/%d/%ExY:%H:%M:%S",
    r"%m-%d-%ExY %k:%M:%S(?:\.%f)?",
    EPOCH,
    r"{^LN-BEG}%H:%M:%S",
    r"^<%m/%d/%Exy@%H:%M:%S>",
    r"%Exy%Exm%Exd  ?%H:%M:%S",
    r"%b %d, %ExY %I:%M:%S %p",
    r"^%b-%d-%Exy %k:%M:%S",
    r"%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?",
    r"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    TAI64N,
];

/// daemontools' TAI64N label (dovecot under multilog): `@` and 24 hex digits.
const TAI64N: &str = r"@(?P<T>[0-9a-f]{24})";

/// The built-in templates, all anchored at line start or as written.
///
/// fail2ban puts `(?=^|\b|\W)` before a template that is not anchored and
/// `(?=\b|\W|$)` after every one (so `16-11-07 22:21:20` inside
/// `2016-11-07 22:21:20` is no date). Every built-in starts and ends with a
/// word character (a digit, a month or zone name), where those look-arounds
/// are exactly `\b`; `^<%m/%d/%Exy@%H:%M:%S>` is anchored and ends with `>`,
/// after which fail2ban's look-ahead always holds; TAI64N has no word-begin
/// boundary in fail2ban (and starts with `@`).
fn builtins(line_begin: bool) -> Result<Vec<Template>> {
    let mut out = Vec::new();
    for b in BUILTINS {
        if b == EPOCH {
            // anchored as written (no word boundaries)
            out.push(compile("datepattern", if line_begin { EPOCH_LINE_BEGIN } else { EPOCH }, line_begin)?);
            continue;
        }
        let (own_begin, body) = match b.strip_prefix("{^LN-BEG}") {
            Some(r) => (true, r),
            None => (false, b),
        };
        let begin = if line_begin || own_begin || body.starts_with(['^', '@']) { "" } else { r"\b" };
        let end = if body.ends_with('>') { "" } else { r"\b" };
        for v in strptime_to_regex(body)? {
            out.push(compile("datepattern", &format!("{begin}(?:{v}){end}"), line_begin || own_begin)?);
        }
    }
    Ok(out)
}

/// The group that spans the date when the pattern has no group of its own.
const DATE_GROUP: &str = "omni_date";

/// fail2ban's template regex: `{^LN-BEG}` allows up to two non-word
/// characters before the date (`^(?:\W{0,2})?`); the date is the pattern's
/// first group when it has an unnamed one (`^[^\[]*\[({DATE})`), else all of it.
fn compile(arg: &str, body: &str, line_begin: bool) -> Result<Template> {
    let pat = if line_begin { format!(r"^(?:\W{{0,2}})?(?P<{DATE_GROUP}>{body})") } else { format!("(?P<{DATE_GROUP}>{body})") };
    let re = Regex::new(&pat).map_err(|e| Error::invalid_arg(arg, e))?;
    // groups 0 (the match) and 1 (ours) come first: an unnamed group after them is the pattern's own
    let own_group = re.capture_names().enumerate().any(|(i, n)| i >= 2 && n.is_none());
    Ok(Template { re, own_group })
}

/// The templates of one line of a `datepattern`.
fn templates_of(line: &str) -> Result<Vec<Template>> {
    let (line_begin, rest) = match line.strip_prefix("{^LN-BEG}") {
        Some(r) => (true, r.trim()),
        None => (false, line),
    };
    let bounded = bounds(rest);
    let rest = bounded.pattern.as_ref();
    if rest.is_empty() {
        return builtins(line_begin);
    }
    if rest == "{NONE}" {
        return Ok(vec![]);
    }
    if rest == "EPOCH" {
        return Ok(vec![compile("datepattern", if line_begin { EPOCH_LINE_BEGIN } else { EPOCH }, line_begin)?]);
    }
    if rest == "TAI64N" {
        return Ok(vec![compile("datepattern", &format!(r"{TAI64N}\b"), line_begin)?]);
    }
    // `{DATE}`: the default templates at that place (one template each; the
    // epoch one unanchored, as it cannot be at line start after a prefix)
    let patterns: Vec<String> = if rest.contains("{DATE}") {
        BUILTINS
            .iter()
            .map(|b| if *b == EPOCH { EPOCH_LINE_BEGIN } else { b.trim_start_matches("{^LN-BEG}") })
            .map(|b| rest.replace("{DATE}", b))
            .collect()
    } else {
        vec![rest.to_string()]
    };
    // fail2ban's word boundaries (`{^LN-BEG}` stands for the begin one)
    let begin = if bounded.begin && !line_begin { BOUNDARY } else { "" };
    let end = if bounded.end { BOUNDARY } else { "" };
    let mut out = Vec::new();
    for p in patterns {
        for v in strptime_to_regex(&p)? {
            out.push(compile("datepattern", &format!("{begin}(?:{v}){end}"), line_begin)?);
        }
    }
    Ok(out)
}

impl DateDetector {
    /// `datepattern`: None/empty for the built-ins; else one template per
    /// line, as fail2ban reads them: `{^LN-BEG}` alone is the built-ins
    /// anchored at line start, `{^LN-BEG}PATTERN` anchors a pattern, `{DATE}`
    /// inside a pattern stands for the built-ins, `{NONE}` for no date, and
    /// anything else is a regex with strptime directives (`%Y-%m-%d`).
    pub fn new(datepattern: Option<&str>) -> Result<Self> {
        let lines: Vec<&str> = datepattern.unwrap_or("").lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let (templates, syslog_first) = if lines.is_empty() {
            (builtins(false)?, true)
        } else {
            let mut t = Vec::new();
            for l in &lines {
                t.extend(templates_of(l)?);
            }
            (t, lines[0] == "{^LN-BEG}")
        };
        Ok(Self { templates, last_hit: 0, last_distance: 1, syslog_first, year_cache: std::cell::Cell::new((f64::NAN, 0)) })
    }

    fn year(&self, reference: f64) -> i64 {
        let (r, y) = self.year_cache.get();
        if r == reference {
            return y;
        }
        let y = year_of(reference);
        self.year_cache.set((reference, y));
        y
    }

    /// Finds the date in `line`; `reference` (Unix s) supplies a missing year.
    pub fn find(&mut self, line: &str, reference: f64) -> Option<Found> {
        if self.syslog_first && self.last_hit == 0 {
            if let Some((parts, end)) = syslog_at_start(line.as_bytes()) {
                if let Some(t) = to_time(&parts, reference, self.year(reference)) {
                    self.last_distance = 0;
                    return Some(Found { time: t, start: 0, end });
                }
            }
        }
        // fail2ban's `matchTime`: a template matching no further into the line than
        // the last date was (1 at first) wins at once; one matching further may have
        // found a date in the message body, so the others are tried and the match
        // nearest the line start is taken (`[PDT Apr 16 ...]`: the zone template at 0
        // rather than the syslog one at 5)
        let n = self.templates.len();
        let mut nearest: Option<(usize, usize, Found)> = None;
        for k in 0..n {
            let i = (self.last_hit + k) % n;
            if let Some(c) = self.templates[i].re.captures(line) {
                let whole = c.get(0).expect("a match has group 0");
                let m = if self.templates[i].own_group { c.get(2) } else { c.name(DATE_GROUP) };
                let m = m.unwrap_or(whole);
                // fail2ban cuts what the template matched out of the line even
                // when it is no valid date (year 0, an empty group): the line
                // then has the current time
                let t = to_time(&parts_of(&c), reference, self.year(reference)).unwrap_or(reference);
                let found = Found { time: t, start: m.start(), end: m.end() };
                if whole.start() <= self.last_distance {
                    nearest = Some((whole.start(), i, found));
                    break;
                }
                if nearest.as_ref().is_none_or(|(d, _, _)| whole.start() < *d) {
                    nearest = Some((whole.start(), i, found));
                }
            }
        }
        let (distance, i, found) = nearest?;
        self.last_hit = i;
        self.last_distance = distance;
        Some(found)
    }
}

fn num(c: &Captures, n: &str) -> Option<i64> {
    c.name(n).and_then(|m| m.as_str().trim().parse().ok())
}

fn parts_of<'t>(c: &Captures<'t>) -> Parts<'t> {
    Parts {
        epoch: num(c, "E"),
        frac: c.name("f").map(|m| m.as_str()),
        month_name: c.name("b").map(|m| m.as_str()),
        month: num(c, "m"),
        day: num(c, "d"),
        hour: num(c, "H"),
        hour12: num(c, "I"),
        pm: c.name("p").is_some_and(|m| m.as_str().eq_ignore_ascii_case("pm")),
        minute: num(c, "M"),
        second: num(c, "S"),
        year: num(c, "Y"),
        year2: num(c, "y"),
        // `%z` or `%Z`: fail2ban reads both through the same zone2offset
        zone: c.name("z").or_else(|| c.name("Z")).map(|m| m.as_str()),
        tai: c.name("T").map(|m| m.as_str()),
    }
}

/// `SYSLOG` matched at offset 0 by hand, following the regex's preferences
/// (greedy optionals, backtracking where it could succeed): the parts and the
/// match end, or None when the line does not start with a month name (a
/// leading weekday or blank goes the general way too).
fn syslog_at_start(b: &[u8]) -> Option<(Parts<'_>, usize)> {
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let val = |from: usize, to: usize| b[from..to].iter().fold(0i64, |a, &d| if d == b' ' { a } else { a * 10 + i64::from(d - b'0') });
    let month = b.get(..3)?;
    if !MONTHS.iter().any(|m| month.eq_ignore_ascii_case(m.as_bytes())) {
        return None;
    }
    // ` {1,2}` then `\d{1,2}` then a blank: the only way through is greedy
    let mut i = 3;
    let spaces = b[i..].iter().take(2).take_while(|&&c| c == b' ').count();
    if spaces == 0 {
        return None;
    }
    i += spaces;
    let d0 = i;
    while i < d0 + 2 && digit(i) {
        i += 1;
    }
    if i == d0 || b.get(i) != Some(&b' ') {
        return None;
    }
    let day = val(d0, i);
    i += 1;
    // `[ 0-2]?\d` then `:`
    let h0 = i;
    if matches!(b.get(i), Some(b' ' | b'0'..=b'2')) && digit(i + 1) && b.get(i + 2) == Some(&b':') {
        i += 2;
    } else if digit(i) && b.get(i + 1) == Some(&b':') {
        i += 1;
    } else {
        return None;
    }
    let hour = val(h0, i);
    // `:[0-5]\d:[0-6]\d`
    if !(matches!(b.get(i + 1), Some(b'0'..=b'5')) && digit(i + 2) && b.get(i + 3) == Some(&b':')) {
        return None;
    }
    let minute = val(i + 1, i + 3);
    if !(matches!(b.get(i + 4), Some(b'0'..=b'6')) && digit(i + 5)) {
        return None;
    }
    let second = val(i + 4, i + 6);
    i += 6;
    let text = std::str::from_utf8(b).ok()?;
    let mut frac = None;
    if b.get(i) == Some(&b'.') && digit(i + 1) {
        let f0 = i + 1;
        i = f0;
        while i < f0 + 6 && digit(i) {
            i += 1;
        }
        frac = Some(&text[f0..i]);
    }
    let mut year = None;
    if b.get(i) == Some(&b' ') && (1..=4).all(|k| digit(i + k)) {
        year = Some(val(i + 1, i + 5));
        i += 5;
    }
    // the template ends with `\b` (fail2ban's word-end look-ahead): a word
    // character right after the date is for the regex to sort out
    if b.get(i).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80) {
        return None;
    }
    let parts = Parts {
        month_name: Some(&text[..3]),
        day: Some(day),
        hour: Some(hour),
        minute: Some(minute),
        second: Some(second),
        frac,
        year,
        ..Parts::default()
    };
    Some((parts, i))
}

fn to_time(c: &Parts, reference: f64, ref_year: i64) -> Option<f64> {
    if let Some(t) = c.tai {
        // fail2ban reads the label's characters 2..17 (after `@4`) as the Unix seconds
        return i64::from_str_radix(t.get(1..16)?, 16).ok().map(|s| s as f64);
    }
    if let Some(e) = c.epoch {
        let frac = c.frac.map(|f| format!("0.{f}").parse::<f64>().unwrap_or(0.0)).unwrap_or(0.0);
        return Some(e as f64 + frac);
    }
    // fail2ban's strptime reads `%f` but leaves it out of the time (its `msec` is unused)
    // fail2ban's strptime: a time without month and day is today's (or
    // yesterday's when that would be ahead of now: a rollover at midnight)
    let today = c.month_name.is_none() && c.month.is_none() && c.day.is_none() && c.epoch.is_none();
    if today {
        let midnight = (reference / 86400.0).floor() * 86400.0;
        let mut t =
            midnight + (c.hour.or(c.hour12.map(|i| i % 12 + if c.pm { 12 } else { 0 }))? * 3600 + c.minute? * 60 + c.second?) as f64;
        if t > reference {
            t -= 86400.0;
        }
        return Some(t);
    }
    let month = match c.month_name {
        Some(b) => MONTHS.iter().position(|m| b[..3].eq_ignore_ascii_case(m))? as u32 + 1,
        None => c.month? as u32,
    };
    let day = c.day? as u32;
    let h = match (c.hour, c.hour12) {
        (Some(h), _) => h,
        (None, Some(i)) => i % 12 + if c.pm { 12 } else { 0 },
        (None, None) => return None,
    };
    let (mi, s) = (c.minute?, c.second?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let offset = match c.zone {
        None => 0,
        Some(z) => zone_offset(z)?,
    };
    let secs = |y: i64| (days_from_civil(y, month, day) * 86400 + h * 3600 + mi * 60 + s - offset) as f64;
    if let Some(y) = c.year {
        // Python's datetime has no year 0 (fail2ban then finds no date)
        return (y >= 1).then(|| secs(y));
    }
    if let Some(y) = c.year2 {
        return Some(secs(2000 + y));
    }
    let y = ref_year;
    let t = secs(y);
    // fail2ban: more than a day ahead of now (timezone slack) is last year's
    Some(if t > reference + 86400.0 { secs(y - 1) } else { t })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 30) * 86400 + 36001, 1796032801);
        assert_eq!(year_of(1796032801.0), 2026);
        assert_eq!(year_of(0.0), 1970);
    }

    #[test]
    fn finds_common_formats() {
        let now = 1796032801.0;
        let mut d = DateDetector::new(None).unwrap();
        let f = d.find("Nov 30 10:00:01 srv sshd[101]: x", now).unwrap();
        assert_eq!((f.time, f.start, f.end), (1796032801.0, 0, 15));
        assert_eq!(d.find("Nov  3 10:00:01 srv", now).unwrap().time, (days_from_civil(2026, 11, 3) * 86400 + 36001) as f64);
        // a December syslog date read in January belongs to the previous year
        assert_eq!(year_of(d.find("Dec 31 23:00:00 h", (days_from_civil(2027, 1, 1) * 86400) as f64).unwrap().time), 2026);
        assert_eq!(d.find("2026-11-30T10:00:01Z host x", now).unwrap().time, now);
        assert_eq!(d.find("2026-11-30T11:00:01+01:00 host x", now).unwrap().time, now);
        let clf = d.find(r#"1.2.3.4 - - [30/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1""#, now).unwrap();
        assert_eq!(clf.time, now);
        assert_eq!(d.find("1796032801.500 x", now).unwrap().time, now + 0.5);
        assert_eq!(d.find("1796032801.5 x", now).unwrap().time, now, "fail2ban's epoch fraction has 3 to 6 digits");
        assert!(d.find("no date here", now).is_none());
        assert!(d.find("Nov 31 25:99:99 bad", now).is_none());
    }

    #[test]
    fn anchored_and_strptime() {
        let now = 1796032801.0;
        let mut d = DateDetector::new(Some("{^LN-BEG}")).unwrap();
        assert!(d.find("x Nov 30 10:00:01", now).is_none());
        assert!(d.find("Nov 30 10:00:01 x", now).is_some());
        let mut p = DateDetector::new(Some("^%Y/%m/%d %H:%M:%S")).unwrap();
        assert_eq!(p.find("2026/11/30 10:00:01 [error]", now).unwrap().time, now);
        assert!(DateDetector::new(Some("%Q")).is_err());
    }

    /// Debian filters' own datepatterns (after configparser's `%%` -> `%`): a
    /// regex with strptime directives, `%Ex*`, `%I`/`%p`, a separator
    /// back-reference, a time without a date.
    #[test]
    fn debian_datepatterns() {
        let now = 1796032801.0; // 2026-11-30 10:00:01 UTC
        let at = |p: &str, line: &str| DateDetector::new(Some(p)).unwrap().find(line, now).map(|f| (f.time, f.start, f.end));
        // kerio: regex escapes kept as regex
        assert_eq!(at(r"^\[%d/%b/%Y %H:%M:%S\]", "[30/Nov/2026 10:00:01] x"), Some((now, 0, 22)));
        // nginx-botsearch/sogo (ejabberd): one separator, the same twice
        let sep = r"^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\s*%z)?)";
        assert_eq!(at(sep, "2026.11.30 10:00:01 x").map(|x| x.0), Some(now));
        assert_eq!(at(sep, "2026/11/30 10:00:01 x").map(|x| x.0), Some(now));
        assert_eq!(at(sep, "2026/11.30 10:00:01 x"), None);
        assert_eq!(at(sep, "1999/11/30 10:00:01 x"), None, "%ExY: 2000 to three years ahead");
        // assp: month name, %Exy
        assert_eq!(at("{^LN-BEG}%b-%d-%Exy %H:%M:%S", "Nov-30-26 10:00:01 [SSL-out]").map(|x| x.0), Some(now));
        // guacamole: 12-hour clock
        assert_eq!(at("^%b %d, %ExY %I:%M:%S %p", "Nov 30, 2026 10:00:01 PM x").map(|x| x.0), Some(now + 12.0 * 3600.0));
        assert_eq!(at("^%b %d, %ExY %I:%M:%S %p", "Nov 30, 2026 12:00:01 AM x").map(|x| x.0), Some(now - 10.0 * 3600.0));
        // guacamole webapp: a time alone is today's, or yesterday's when ahead of now
        assert_eq!(at("^%H:%M:%S.%f", "09:00:01.907 [x]").map(|x| x.0), Some(now - 3600.0));
        assert_eq!(at("^%H:%M:%S.%f", "11:00:01.907 [x]").map(|x| x.0), Some(now + 3600.0 - 86400.0));
        // zones: names, UTC, hours only; fail2ban's abbreviations (monit's `[PDT Apr 16 ...]`)
        assert_eq!(at("^%Y-%m-%d %H:%M:%S %Exz", "2026-11-30 12:00:01 CEST x").map(|x| x.0), Some(now));
        assert_eq!(at("^%Y-%m-%d %H:%M:%S %Exz", "2026-11-30 11:00:01 CET+0100 x").map(|x| x.0), Some(now - 3600.0));
        assert_eq!(
            DateDetector::new(None).unwrap().find("[PDT Nov 30 03:00:01] error", now).map(|f| (f.time, f.start, f.end)),
            Some((now, 1, 20))
        );
        assert_eq!(
            DateDetector::new(None).unwrap().find("[ABCD Nov 30 03:00:01] x", now).map(|f| f.time),
            Some(now),
            "an unknown abbreviation: the current time"
        );
        assert_eq!(at("^%Y-%m-%d %H:%M:%S %z", "2026-11-30 10:00:01 UTC x").map(|x| x.0), Some(now));
        assert_eq!(at("^%Y-%m-%d %H:%M:%S %z", "2026-11-30 18:00:01 +08 x").map(|x| x.0), Some(now));
        assert_eq!(at("^%Y-%m-%d %H:%M:%S", "0000-12-30 00:00:00 x"), Some((now, 0, 19)), "no year 0 in Python: the current time");
        // several lines: apache-badbots' `{DATE}` in brackets (the date is the group), then the built-ins at line start
        let clf = "^[^\\[]*\\[({DATE})\n{^LN-BEG}";
        let line = "192.0.2.1 - - [30/Nov/2026:10:00:01 +0000] \"GET /";
        assert_eq!(at(clf, line), Some((now, 15, 41)));
        assert_eq!(at(clf, "[Nov 30 10:00:01] x").map(|x| (x.1, x.2)), Some((1, 16)));
        assert_eq!(at(clf, "Nov 30 10:00:01 x").map(|x| (x.1, x.2)), Some((0, 15)));
        // no date inside a longer number or word (fail2ban's word boundaries)
        let mut d = DateDetector::new(None).unwrap();
        assert_eq!(d.find("2026-11-30 10:00:01 x", now).map(|f| (f.time, f.start)), Some((now, 0)));
        assert_eq!(d.find("30-11-26 10:00:01 x", now).map(|f| (f.time, f.start)), Some((now, 0)));
        assert_eq!(d.find("2026-11-30 10:00:01 x", now).map(|f| (f.time, f.start)), Some((now, 0)), "not 26-11-30 after the dd-mm-yy hit");
        assert_eq!(d.find("Nov 30 10:00:01x", now), None);
        // epochs only where fail2ban's DateEpoch looks: line start, `^[`, `audit(`; not inside a message
        let mut d = DateDetector::new(None).unwrap();
        assert_eq!(d.find("1796032801 x", now).map(|f| (f.time, f.start, f.end)), Some((now, 0, 10)));
        assert_eq!(d.find("[1796032801.250] x", now).map(|f| (f.time, f.start, f.end)), Some((now + 0.25, 1, 15)));
        assert_eq!(d.find("type=AVC msg=audit(1796032801.250:41): x", now).map(|f| f.start), Some(19));
        assert_eq!(d.find("x 1796032801 y", now), None);
        // domino: a message id of ten digits before the date is no epoch (fail2ban takes the date)
        let line = "[28325:00010-3735542592] 22-06-2014 09:56:12   smtp: x";
        assert_eq!(DateDetector::new(None).unwrap().find(line, now).map(|f| (f.time, f.start)), Some((1403430972.0, 25)));
        // the template nearest the line start wins over one that matched further in (fail2ban's distance rule)
        let mut d = DateDetector::new(None).unwrap();
        assert_eq!(d.find("2026-11-30 10:00:01 x", now).map(|f| f.start), Some(0));
        assert_eq!(d.find("[PDT Nov 30 03:00:01] seen 2026-11-29 00:00:00", now).map(|f| (f.time, f.start)), Some((now, 1)));
        // a user pattern is bounded by word boundaries, as in fail2ban, unless it opts out with `**`
        assert_eq!(at("%d/%m/%Y %H:%M:%S", "x 30/11/2026 10:00:01 y").map(|x| x.1), Some(2));
        assert_eq!(at("%d/%m/%Y %H:%M:%S", "x130/11/2026 10:00:01 y"), None);
        assert_eq!(at("%d/%m/%Y %H:%M:%S", "x 30/11/2026 10:00:015 y"), None);
        assert_eq!(at("**%d/%m/%Y %H:%M:%S", "x130/11/2026 10:00:01 y").map(|x| x.1), Some(2));
        assert_eq!(at(r"\[%d/%m/%Y %H:%M:%S\]", "a[30/11/2026 10:00:01]b").map(|x| x.1), Some(1));
        // dovecot under multilog: TAI64N labels
        assert_eq!(at("{^LN-BEG}TAI64N\n{^LN-BEG}", "@400000004c91b044077a9e94 imap-login: x"), Some((1284616260.0, 0, 25)));
        assert_eq!(DateDetector::new(None).unwrap().find("x @400000004c91b044077a9e94 y", now).map(|f| f.time), Some(1284616260.0));
        // guacamole: a template whose match holds no date gives the current time (and cuts nothing)
        assert_eq!(at("^%b %d, %ExY %I:%M:%S %p\n^WARNING:()**", "WARNING: x"), Some((now, 8, 8)));
    }
}
