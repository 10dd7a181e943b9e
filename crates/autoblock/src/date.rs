//! Date detection in log lines, as fail2ban does it: find the timestamp, turn it
//! into Unix seconds and remove it from the text the failregex sees.
//!
//! Built-in templates (tried in order, the last one that hit is tried first
//! next time, like fail2ban's template reordering): syslog (`Nov 30 10:00:01`,
//! optional weekday and year), ISO 8601 / RFC 3339, Apache/nginx CLF
//! (`30/Nov/2026:10:00:01 +0000`), Unix epoch. A `datepattern` in strptime
//! syntax (`%Y-%m-%d %H:%M:%S`) is compiled to a regex too. Times without a zone
//! are read as UTC; a syslog date without a year takes the reference year (and
//! the year before when that would put it more than two days in the future).

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
        Ok(Self { templates, last_hit: 0 })
    }

    /// Finds the date in `line`; `reference` (Unix s) supplies a missing year.
    pub fn find(&mut self, line: &str, reference: f64) -> Option<Found> {
        let n = self.templates.len();
        for k in 0..n {
            let i = (self.last_hit + k) % n;
            if let Some(c) = self.templates[i].re.captures(line) {
                if let Some(t) = to_time(&c, reference) {
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

fn to_time(c: &Captures, reference: f64) -> Option<f64> {
    let frac = c.name("f").map(|m| format!("0.{}", m.as_str()).parse::<f64>().unwrap_or(0.0)).unwrap_or(0.0);
    if let Some(e) = num(c, "E") {
        return Some(e as f64 + frac);
    }
    let month = match c.name("b") {
        Some(b) => MONTHS.iter().position(|m| b.as_str()[..3].eq_ignore_ascii_case(m))? as u32 + 1,
        None => num(c, "m")? as u32,
    };
    let day = num(c, "d")? as u32;
    let (h, mi, s) = (num(c, "H")?, num(c, "M")?, num(c, "S")?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let offset = match c.name("z").map(|z| z.as_str()) {
        None | Some("Z") => 0,
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let hh: i64 = digits.get(0..2)?.parse().ok()?;
            let mm: i64 = digits.get(2..4)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let secs = |y: i64| (days_from_civil(y, month, day) * 86400 + h * 3600 + mi * 60 + s - offset) as f64 + frac;
    if let Some(y) = num(c, "Y") {
        return Some(secs(y));
    }
    if let Some(y) = num(c, "y") {
        return Some(secs(2000 + y));
    }
    let y = year_of(reference);
    let t = secs(y);
    Some(if t > reference + 2.0 * 86400.0 { secs(y - 1) } else { t })
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
