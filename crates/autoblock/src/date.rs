//! Date detection in log lines, as fail2ban does it: find the timestamp, turn it
//! into Unix seconds and remove it from the text the failregex sees.
//!
//! Built-in templates (tried in order, the last one that hit is tried first
//! next time, like fail2ban's template reordering): syslog (`Nov 30 10:00:01`,
//! optional weekday and year), ISO 8601 / RFC 3339, Apache/nginx CLF
//! (`30/Nov/2026:10:00:01 +0000`), Unix epoch. A `datepattern` in strptime
//! syntax (`%Y-%m-%d %H:%M:%S`) is compiled to a regex too. Times without a zone
//! are read as UTC; a syslog date without a year takes the reference year (and
//! the year before when that would put it more than a day in the future, as
//! fail2ban's `strptime.reGroupDictStrptime` does).
//!
//! Fast path: a line that starts with a syslog date (`Nov 30 10:00:01`, the
//! common case) while the syslog template is the one tried first is read by
//! hand ([`syslog_at_start`]), which gives the span the template's regex would
//! (a match at offset 0 is the leftmost one); anything it does not accept goes
//! the general way.

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
}

/// A compiled set of date templates.
pub struct DateDetector {
    templates: Vec<Template>,
    last_hit: usize,
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
    minute: Option<i64>,
    second: Option<i64>,
    year: Option<i64>,
    year2: Option<i64>,
    zone: Option<&'t str>,
}

/// A detected date: Unix seconds and the byte span it occupied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub time: f64,
    pub start: usize,
    pub end: usize,
}

const SYSLOG: &str = r"(?:(?P<a>Mon|Tue|Wed|Thu|Fri|Sat|Sun) )?(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)) {1,2}(?P<d>\d{1,2}) (?P<H>[ 0-2]?\d):(?P<M>[0-5]\d):(?P<S>[0-6]\d)(?:\.(?P<f>\d{1,6}))?(?: (?P<Y>\d{4}))?";
const ISO: &str =
    r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ](?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?(?P<z>Z|[+-]\d{2}:?\d{2})?";
const CLF: &str = r"(?P<d>\d{2})/(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))/(?P<Y>\d{4}):(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?: (?P<z>[+-]\d{4}))?";
const EPOCH: &str = r"(?P<E>\d{10})(?:\.(?P<f>\d{1,6}))?\b";

/// strptime directives -> regex fragments with the names `to_time` reads.
fn strptime_to_regex(p: &str) -> Result<String> {
    let mut out = String::new();
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            continue;
        }
        let d = it.next().ok_or_else(|| Error::invalid_arg("datepattern", "trailing '%'"))?;
        out.push_str(match d {
            'Y' => r"(?P<Y>\d{4})",
            'y' => r"(?P<y>\d{2})",
            'm' => r"(?P<m>\d{1,2})",
            'd' | 'e' => r"(?P<d>[ \d]?\d)",
            'H' | 'k' => r"(?P<H>[ \d]?\d)",
            'M' => r"(?P<M>\d{2})",
            'S' => r"(?P<S>\d{2})",
            'f' => r"(?P<f>\d{1,6})",
            'b' | 'B' | 'h' => r"(?P<b>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)",
            'a' | 'A' => r"(?:[A-Za-z]{3,9})",
            'z' => r"(?P<z>Z|[+-]\d{2}:?\d{2})",
            'Z' => r"(?:[A-Z]{2,5})",
            's' => r"(?P<E>\d{9,11})",
            '%' => "%",
            other => return Err(Error::invalid_arg("datepattern", format!("unsupported strptime directive %{other}"))),
        });
    }
    Ok(out)
}

fn compile(arg: &str, body: &str, anchored: bool) -> Result<Template> {
    let pat = if anchored { format!(r"^\s*(?:{body})") } else { body.to_string() };
    let re = Regex::new(&pat).map_err(|e| Error::invalid_arg(arg, e))?;
    Ok(Template { re })
}

impl DateDetector {
    /// `datepattern`: None/empty for the built-ins; `{^LN-BEG}` anchors the
    /// built-ins at line start; anything else is a strptime pattern (a leading
    /// `^` or `{^LN-BEG}` anchors it).
    pub fn new(datepattern: Option<&str>) -> Result<Self> {
        let p = datepattern.map(str::trim).unwrap_or("");
        let (anchored, rest) = match p.strip_prefix("{^LN-BEG}") {
            Some(r) => (true, r.trim()),
            None => match p.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, p),
            },
        };
        let templates = if rest.is_empty() {
            [SYSLOG, ISO, CLF, EPOCH].iter().map(|b| compile("datepattern", b, anchored)).collect::<Result<_>>()?
        } else if rest == "{NONE}" {
            vec![]
        } else if rest == "EPOCH" {
            vec![compile("datepattern", EPOCH, anchored)?]
        } else {
            vec![compile("datepattern", &strptime_to_regex(rest)?, anchored)?]
        };
        let syslog_first = rest.is_empty();
        Ok(Self { templates, last_hit: 0, syslog_first, year_cache: std::cell::Cell::new((f64::NAN, 0)) })
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
                    return Some(Found { time: t, start: 0, end });
                }
            }
        }
        let n = self.templates.len();
        for k in 0..n {
            let i = (self.last_hit + k) % n;
            if let Some(c) = self.templates[i].re.captures(line) {
                if let Some(t) = to_time(&parts_of(&c), reference, self.year(reference)) {
                    self.last_hit = i;
                    let m = c.get(0).unwrap();
                    let start = m.start() + (m.as_str().len() - m.as_str().trim_start().len());
                    return Some(Found { time: t, start, end: m.end() });
                }
            }
        }
        None
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
        minute: num(c, "M"),
        second: num(c, "S"),
        year: num(c, "Y"),
        year2: num(c, "y"),
        zone: c.name("z").map(|m| m.as_str()),
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
    if let Some(e) = c.epoch {
        let frac = c.frac.map(|f| format!("0.{f}").parse::<f64>().unwrap_or(0.0)).unwrap_or(0.0);
        return Some(e as f64 + frac);
    }
    // fail2ban's strptime reads `%f` but leaves it out of the time (its `msec` is unused)
    let month = match c.month_name {
        Some(b) => MONTHS.iter().position(|m| b[..3].eq_ignore_ascii_case(m))? as u32 + 1,
        None => c.month? as u32,
    };
    let day = c.day? as u32;
    let (h, mi, s) = (c.hour?, c.minute?, c.second?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let offset = match c.zone {
        None | Some("Z") => 0,
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let hh: i64 = digits.get(0..2)?.parse().ok()?;
            let mm: i64 = digits.get(2..4)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let secs = |y: i64| (days_from_civil(y, month, day) * 86400 + h * 3600 + mi * 60 + s - offset) as f64;
    if let Some(y) = c.year {
        return Some(secs(y));
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
        assert_eq!(d.find("1796032801.5 x", now).unwrap().time, now + 0.5);
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
}
