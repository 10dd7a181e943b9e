//! A fail2ban filter (`filter.d/*.conf`) compiled to the linear-time `regex`
//! crate, matching lines the way fail2ban 1.0 does (`maxlines` > 1: the
//! multi-line buffer of [`multiline`]; below, the single-line path):
//! date found and cut out, `prefregex` matched and its `<F-CONTENT>` handed
//! to the `failregex` list (first match wins), `ignoreregex` checked where
//! fail2ban checks it (`ignore_first`), `<F-NOFAIL>`
//! matches are not failures, `<F-ALT_*>` groups fill their plain names, and
//! lines sharing an `<F-MLFID>` are merged ([`crate::mlfid`]).
//!
//! Per line, only what the outcome needs is computed: the date by hand when it
//! is a leading syslog date, the prefregex prefix by a DFA `find` (no
//! captures), the failregex list as one leftmost-first search whose match
//! picks the failregex ([`first_fail`]; a `RegexSet` pass where a failregex is
//! not start-anchored); captures and group maps are built only for a line
//! some failregex matches, over that match's span.

use std::collections::HashMap;
use std::path::Path;

use omnitide_common::{Error, Result};
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::ascii::Twin;
use crate::conf::{Conf, Loc};
use crate::date::DateDetector;
use crate::mlfid::{self, Groups, MlfCache};
use crate::pyre;

mod first_fail;
mod multiline;

use first_fail::FirstFail;

/// fail2ban's host regexes (`failregex.py` R_HOST), in Python syntax.
const IP4: &str = r"(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})";
const IP6: &str = r"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|:){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))";
const DNS: &str = r"(?P<dns>[\w\-.^_]*\w)";
const CIDR: &str = r"(?P<cidr>\d+)";

fn host_tag(tag: &str, use_dns: bool) -> Option<String> {
    let addr = format!(r"\[?(?:{IP4}|{IP6})\]?");
    Some(match tag {
        "HOST" if use_dns => format!("(?:{addr}|{DNS})"),
        "HOST" | "ADDR" | "F-ADDR/" => addr,
        "IP4" | "F-IP4/" => IP4.into(),
        "IP6" | "F-IP6/" => IP6.into(),
        "DNS" | "F-DNS/" => DNS.into(),
        "CIDR" | "F-CIDR/" => CIDR.into(),
        "SUBNET" | "F-SUBNET/" => format!(r"\[?(?:{IP4}|{IP6})(?:/{CIDR})?\]?"),
        "F-ID/" => r"(?P<fid>\S+)".into(),
        "F-PORT/" => r"(?P<fport>\w+)".into(),
        _ => return None,
    })
}

/// fail2ban's `_resolveHostTag`: `<HOST>` & co. and `<F-NAME>...</F-NAME>` groups.
pub fn resolve_tags(regex: &str, use_dns: bool) -> String {
    let mut out = String::with_capacity(regex.len() * 2);
    let mut open: Vec<String> = Vec::new();
    let mut skiplines = 0;
    let mut rest = regex;
    while let Some(p) = rest.find('<') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let end = after.find('>').filter(|&e| e > 0 && after[..e].chars().all(|c| c.is_alphanumeric() || "_-/".contains(c)));
        let Some(end) = end else {
            out.push('<');
            rest = after;
            continue;
        };
        let tag = &after[..end];
        let replaced = if let Some(h) = host_tag(tag, use_dns) {
            Some(h)
        } else if tag == "SKIPLINES" {
            // lines between the parts of a multi-line failure (maxlines > 1)
            skiplines += 1;
            Some(format!(r"\n(?P<skiplines{}>(?:(?:.*\n)*?))", skiplines - 1))
        } else if let Some(name) = tag.strip_prefix("/F-") {
            if open.iter().any(|o| o == name) {
                Some(")".to_string())
            } else {
                None
            }
        } else if let Some(name) = tag
            .strip_prefix("F-")
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-'))
        {
            open.push(name.to_string());
            let g = match name.to_lowercase().as_str() {
                "id" => "fid".to_string(),
                "port" => "fport".to_string(),
                other => other.replace('-', "_"),
            };
            Some(format!("(?P<{g}>"))
        } else {
            None
        };
        match replaced {
            Some(r) => out.push_str(&r),
            None => {
                out.push('<');
                out.push_str(tag);
                out.push('>');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The failregex set (Unicode, ASCII twin) and each entry's (failregex, variant).
type FailSet = (RegexSet, RegexSet, Vec<(usize, usize)>);

/// One compiled Python pattern: its variants (conditional expansion) in order.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub loc: Loc,
    variants: Vec<Twin>,
    /// checked back-references: (group, hidden copy) must capture the same text
    same: Vec<pyre::Same>,
    ignore_case: bool,
    /// a named group has copies under hidden aliases (`pyre::ahead_rest`):
    /// only the capture engine, through [`named`] and [`collect`], reads them right
    aliases: bool,
}

impl Pattern {
    /// `multiline`: Python's `re.MULTILINE` (fail2ban's failregex when `maxlines` > 1).
    fn compile(python: &str, loc: Loc, use_dns: bool, multiline: bool) -> std::result::Result<Self, String> {
        let resolved = resolve_tags(python, use_dns);
        let t =
            pyre::translate_checked(&resolved).map_err(|e| format!("{} (at character {} of the expanded regex)", e.problem, e.offset))?;
        let variants = t
            .variants
            .iter()
            .map(|v| {
                let v = if multiline { format!("(?m){v}") } else { v.clone() };
                regex::RegexBuilder::new(&v).size_limit(64 << 20).build().map(|r| Twin::new(r, 64 << 20)).map_err(|e| format!("regex: {e}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let aliases = variants.iter().any(|v: &Twin| v.uni.capture_names().flatten().any(|n| pyre::alias_of(n).is_some()));
        Ok(Self { source: python.to_string(), loc, variants, same: t.same, ignore_case: t.ignore_case, aliases })
    }

    /// Whether the pattern has back-references checked after matching (the
    /// filter's fast paths, which do not check, are then left out).
    fn checks_backrefs(&self) -> bool {
        !self.same.is_empty() || self.aliases
    }

    /// A match's checked back-references hold: where the hidden copy took
    /// part, the group did too, with the same text (`pyre::backref`).
    fn same_holds(&self, c: &regex::Captures) -> bool {
        self.same.iter().all(|(g, h)| match c.name(h) {
            None => true,
            Some(copy) => c.name(g).is_some_and(|orig| {
                if self.ignore_case {
                    orig.as_str().to_lowercase() == copy.as_str().to_lowercase()
                } else {
                    orig.as_str() == copy.as_str()
                }
            }),
        })
    }

    /// The captures of the first variant that matches, with that variant.
    /// `ascii`: the text is ASCII (the ASCII twins answer the same, faster).
    pub fn captures<'t>(&self, text: &'t str, ascii: bool) -> Option<(&Regex, regex::Captures<'t>)> {
        self.variants.iter().map(|t| t.get(ascii)).find_map(|r| r.captures(text).filter(|c| self.same_holds(c)).map(|c| (r, c)))
    }

    pub fn is_match(&self, text: &str, ascii: bool) -> bool {
        if self.checks_backrefs() {
            return self.captures(text, ascii).is_some();
        }
        self.variants.iter().any(|r| r.get(ascii).is_match(text))
    }
}

/// A line that matched a failregex.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The failure ID (`fid`, else the address/host): what a jail counts.
    pub id: String,
    pub time: f64,
    /// Index of the failregex that matched.
    pub regex: usize,
    /// Named captures (`user`, `ip4`, ...).
    pub fields: Vec<(String, String)>,
    /// A `<F-NOFAIL>` match: seen, but not a failure.
    pub nofail: bool,
}

/// What happened to one line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineResult {
    Failure(Failure),
    Ignored,
    Missed,
}

/// A problem found while compiling a filter: where and what.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterProblem {
    pub loc: Loc,
    pub regex: String,
    pub problem: String,
}

pub struct Filter {
    pub name: String,
    prefregex: Option<Pattern>,
    failregex: Vec<Pattern>,
    /// Every failregex variant in one set: most lines match none, and the set
    /// says so in one DFA pass, where trying each variant's captures ran a
    /// backtracker per variant per line. The lowest matching index is the
    /// variant `failregex` order picks, the only one whose captures are run.
    /// Built only where `first_fail` does not apply.
    fail_set: Option<FailSet>,
    /// The same list as one leftmost-first search when every variant is
    /// start-anchored ([`first_fail`]); preferred over `fail_set`.
    first_fail: Option<FirstFail>,
    /// The prefregex without its trailing `<F-CONTENT>.+</F-CONTENT>$`: the
    /// content is the rest of the line after the prefix, so the capture engine
    /// need not walk the content (measured: the prefix captures were the
    /// largest cost per line). Used only when its match leaves at least one
    /// character — then the full pattern's leftmost-first match has the same
    /// prefix (`.+$` accepts any non-empty rest); otherwise the full pattern runs.
    /// One entry per prefregex variant.
    pref_fast: Vec<Option<Twin>>,
    /// For a fast prefix of the shape `^(?P<mlfid>HEAD)TAIL` with no other
    /// group and a TAIL that matches the empty string anywhere (no
    /// assertions), `^(?:HEAD)`: leftmost-first takes HEAD's first-preference
    /// match and TAIL cannot fail after it, so `mlfid` is exactly what this
    /// finds — a DFA `find` instead of running the capture engine.
    mlfid_head: Vec<Option<Twin>>,
    ignoreregex: Vec<Pattern>,
    dates: DateDetector,
    /// `<F-MLFID>` merging state, when the filter has an `mlfid` group.
    mlf: Option<MlfCache>,
    /// the line without its date, reused from line to line
    buf: String,
    /// fail2ban's `maxlines`: above 1, failregex runs (in multi-line mode) over
    /// the last `maxlines` lines joined by `\n` ([`multiline`])
    maxlines: usize,
    /// those lines (without their dates), as fail2ban's `__lineBuffer`
    lines: Vec<String>,
    /// Patterns that could not be mapped (the filter still runs without them
    /// only when built with `allow_partial`).
    pub problems: Vec<FilterProblem>,
}

/// Options a jail may pass to its filter (`filter = sshd[mode=aggressive]`).
#[derive(Debug, Clone, Default)]
pub struct FilterOptions {
    pub overrides: HashMap<String, String>,
    pub use_dns: bool,
    /// Keep going without patterns that cannot be mapped (they are listed in `problems`).
    pub allow_partial: bool,
    pub datepattern: Option<String>,
}

/// Largest `maxlines` accepted. fail2ban has no limit, but every line
/// searches the whole buffer (up to this many lines of `engine::MAX_LINE`
/// bytes); Debian's filters use at most 10.
const MAX_MAXLINES: usize = 100;

/// fail2ban's `maxlines`: a jail's filter option, else `[Init]`, else `[Definition]`.
fn maxlines_of(name: &str, conf: &Conf, opts: &FilterOptions) -> Result<usize> {
    let raw = match opts.overrides.get("maxlines") {
        Some(v) => Some(v.clone()),
        None => match conf.get("Init", "maxlines")? {
            Some(v) => Some(v),
            None => conf.get("Definition", "maxlines")?,
        },
    };
    let Some(raw) = raw else { return Ok(1) };
    let v = conf.substitute_tags("Definition", &raw)?;
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_MAXLINES).contains(&n) => Ok(n),
        _ => {
            Err(Error::invalid_arg("filter", format!("{name}: maxlines must be an integer from 1 to {MAX_MAXLINES} (got '{}')", v.trim())))
        }
    }
}

fn lines_of(conf: &Conf, key: &str) -> Result<Vec<(String, Loc)>> {
    let default_loc = conf.loc("Definition", key).unwrap_or(Loc { file: "?".into(), line: 0 });
    let Some(raw) = conf.get("Definition", key)? else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    expand(conf, &raw, &default_loc, &mut out)?;
    Ok(out)
}

/// Expands a value line by line, keeping each resulting regex's source location.
fn expand(conf: &Conf, text: &str, loc: &Loc, out: &mut Vec<(String, Loc)>) -> Result<()> {
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let here = conf.origin_of(l).unwrap_or_else(|| loc.clone());
        let sub = conf.substitute_tags("Definition", l)?;
        if sub.contains('\n') {
            // a tag whose value has several lines: each line is a regex
            for piece in sub.lines() {
                let p = piece.trim();
                if !p.is_empty() {
                    out.push((p.to_string(), conf.origin_of(p).unwrap_or_else(|| here.clone())));
                }
            }
        } else if !sub.trim().is_empty() {
            out.push((sub.trim().to_string(), here));
        }
    }
    Ok(())
}

impl Filter {
    /// Reads a filter file (with its includes) unchanged.
    pub fn from_file(path: &Path, opts: &FilterOptions) -> Result<Self> {
        let conf = Conf::read(path)?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Self::from_conf(&name, conf, opts)
    }

    pub fn from_str(name: &str, text: &str, dir: Option<&Path>, opts: &FilterOptions) -> Result<Self> {
        Self::from_conf(name, Conf::parse_str(name, text, dir)?, opts)
    }

    fn from_conf(name: &str, mut conf: Conf, opts: &FilterOptions) -> Result<Self> {
        if !conf.has_section("Definition") {
            return Err(Error::invalid_arg("filter", format!("{name}: no [Definition] section")));
        }
        if !opts.overrides.is_empty() {
            let mut extra = String::from("[Definition]\n");
            for (k, v) in &opts.overrides {
                extra.push_str(&format!("{k} = {v}\n"));
            }
            let over = Conf::parse_str("<jail filter options>", &extra, None)?;
            conf.overlay(over);
        }
        let maxlines = maxlines_of(name, &conf, opts)?;
        let mut problems = Vec::new();
        let mut compile = |key: &str, conf: &Conf| -> Result<Vec<Pattern>> {
            let mut v = Vec::new();
            let multiline = maxlines > 1 && key == "failregex";
            for (src, loc) in lines_of(conf, key)? {
                match Pattern::compile(&src, loc.clone(), opts.use_dns, multiline) {
                    Ok(p) => v.push(p),
                    Err(problem) => problems.push(FilterProblem { loc, regex: src, problem }),
                }
            }
            Ok(v)
        };
        let pref = compile("prefregex", &conf)?;
        let failregex = compile("failregex", &conf)?;
        let ignoreregex = compile("ignoreregex", &conf)?;
        if !problems.is_empty() && !opts.allow_partial {
            let p = &problems[0];
            return Err(Error::invalid_arg("filter", format!("{}: {} (regex: {})", p.loc, p.problem, p.regex)));
        }
        if failregex.is_empty() {
            return Err(Error::invalid_arg("filter", format!("{name}: no usable failregex")));
        }
        let datepattern = match &opts.datepattern {
            Some(d) => Some(d.clone()),
            None => conf
                .get("Definition", "datepattern")?
                .or(conf.get("Init", "datepattern")?)
                .map(|d| conf.substitute_tags("Definition", &d))
                .transpose()?,
        };
        let dates = DateDetector::new(datepattern.as_deref())
            .map_err(|e| Error::invalid_arg("filter", format!("{name}: datepattern: {}", e.message)))?;
        // the multi-line buffer keeps its own per-pattern search; checked
        // back-references need each pattern's own captures (no fast paths)
        let checked = failregex.iter().any(Pattern::checks_backrefs);
        let first_fail = if maxlines > 1 || checked { None } else { FirstFail::new(&failregex) };
        // the set only where the first-match search does not apply
        let fail_set = if first_fail.is_some() || checked { None } else { fail_set(&failregex) };
        let prefregex = pref.into_iter().next();
        let pref_fast: Vec<Option<Twin>> =
            prefregex.as_ref().filter(|p| !p.checks_backrefs()).map(|p| p.variants.iter().map(prefix_only).collect()).unwrap_or_default();
        let has_mlfid =
            prefregex.iter().chain(&failregex).flat_map(|p| &p.variants).any(|v| v.uni.capture_names().any(|n| n == Some("mlfid")));
        let mlf = has_mlfid.then(MlfCache::default);
        Ok(Self {
            name: name.to_string(),
            prefregex,
            failregex,
            first_fail,
            fail_set,
            mlfid_head: pref_fast.iter().map(|f| f.as_ref().and_then(|t| mlfid_head(t.uni.as_str()))).collect(),
            pref_fast,
            ignoreregex,
            dates,
            mlf,
            buf: String::new(),
            maxlines,
            lines: Vec::new(),
            problems,
        })
    }

    pub fn failregex_count(&self) -> usize {
        self.failregex.len()
    }

    /// Matches one line; `now` (Unix s) supplies the year for syslog dates and
    /// the time of a line without a date. Stateful like fail2ban's filter: the
    /// date template that hit last is tried first, `<F-MLFID>` lines merge.
    pub fn match_line(&mut self, line: &str, now: f64) -> LineResult {
        let line = line.trim_end_matches(['\r', '\n']);
        let found = self.dates.find(line, now);
        if let (Some(f), 1) = (found, self.maxlines) {
            if f.start == 0 {
                // a leading date (the usual case): the rest of the line, not a copy
                return self.match_text(&line[f.end..], f.time);
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let time = match found {
            Some(f) => {
                buf.push_str(&line[..f.start]);
                buf.push_str(&line[f.end..]);
                f.time
            }
            None => {
                buf.push_str(line);
                now
            }
        };
        let r = if self.maxlines > 1 { self.match_buffered(&buf, time) } else { self.match_text(&buf, time) };
        self.buf = buf;
        r
    }

    pub fn maxlines(&self) -> usize {
        self.maxlines
    }

    /// fail2ban checks ignoreregex after a failregex matched, over what that
    /// searched (the prefregex content; in a buffer, the matched lines), and
    /// also before, over the whole line or buffer, when there are fewer of
    /// them than failregex minus 2.
    fn ignore_first(&self) -> bool {
        !self.ignoreregex.is_empty() && self.ignoreregex.len() + 2 < self.failregex.len()
    }

    fn match_text(&mut self, buf: &str, time: f64) -> LineResult {
        let ascii = buf.is_ascii();
        let ignore_first = self.ignore_first();
        if ignore_first && self.ignoreregex.iter().any(|r| r.is_match(buf, ascii)) {
            return LineResult::Ignored;
        }
        // which prefregex variant matched, and how (captures only for a failure)
        let mut prefix: Option<(usize, bool)> = None;
        let mut full_caps: Option<regex::Captures> = None;
        let content: &str = match &self.prefregex {
            Some(p) => {
                let mut content = None;
                for (k, full) in p.variants.iter().enumerate() {
                    let full = full.get(ascii);
                    if let Some(fast) = self.pref_fast.get(k).and_then(Option::as_ref).map(|t| t.get(ascii)) {
                        if let Some(m) = fast.find(buf) {
                            if m.end() < buf.len() {
                                prefix = Some((k, true));
                                content = Some(m.end()..buf.len());
                                break;
                            }
                        }
                    }
                    if let Some(c) = full.captures(buf).filter(|c| p.same_holds(c)) {
                        content = Some(named(full, &c, "content").map_or(0..buf.len(), |m| m.range()));
                        prefix = Some((k, false));
                        full_caps = Some(c);
                        break;
                    }
                }
                match content {
                    Some(r) if !r.is_empty() => &buf[r],
                    // fail2ban: an empty content leaves failregex the whole line
                    Some(_) => buf,
                    None => return LineResult::Missed,
                }
            }
            None => buf,
        };
        if let Some(ff) = &mut self.first_fail {
            let Some((i, _)) = ff.search(content, ascii) else {
                return LineResult::Missed;
            };
            if self.ignoreregex.iter().any(|r| r.is_match(content, ascii)) {
                return LineResult::Ignored;
            }
            let mut groups = self.prefix_groups(buf, ascii, prefix, full_caps.as_ref());
            if let Some(ff) = &mut self.first_fail {
                ff.collect(content, &mut groups);
            }
            return self.outcome(groups, i, time);
        }
        let first = match &self.fail_set {
            Some((uni, ascii_set, at)) => match (if ascii { ascii_set } else { uni }).matches(content).iter().next() {
                Some(k) => {
                    let (i, v) = at[k];
                    let re = self.failregex[i].variants[v].get(ascii);
                    re.captures(content).map(|c| (i, re, c))
                }
                None => return LineResult::Missed,
            },
            None => self.failregex.iter().enumerate().find_map(|(i, r)| r.captures(content, ascii).map(|(re, c)| (i, re, c))),
        };
        let Some((i, re, c)) = first else {
            return LineResult::Missed;
        };
        if self.ignoreregex.iter().any(|r| r.is_match(content, ascii)) {
            return LineResult::Ignored;
        }
        let mut groups = self.prefix_groups(buf, ascii, prefix, full_caps.as_ref());
        collect(re, &c, &mut groups);
        self.outcome(groups, i, time)
    }

    /// fail2ban: the prefregex's groups (without `content`), which the
    /// failregex's then overlay. `prefix`: the prefregex variant that matched
    /// and whether by its fast prefix; `full_caps`: the full variant's captures.
    fn prefix_groups(&self, buf: &str, ascii: bool, prefix: Option<(usize, bool)>, full_caps: Option<&regex::Captures>) -> Groups {
        let mut groups: Groups = Vec::with_capacity(8); // room for the failregex groups too
        if let (Some((k, fast)), Some(p)) = (prefix, &self.prefregex) {
            if let (true, Some(Some(head))) = (fast, self.mlfid_head.get(k)) {
                // the prefix's only group is `mlfid` = the match of its head
                if let Some(m) = head.get(ascii).find(buf) {
                    groups.push((mlfid::name("mlfid"), Some(buf[..m.end()].to_string())));
                }
            } else if fast {
                let r = self.pref_fast[k].as_ref().expect("fast prefix").get(ascii);
                if let Some(pc) = r.captures(buf) {
                    collect(r, &pc, &mut groups);
                }
            } else if let Some(pc) = full_caps {
                collect(p.variants[k].get(ascii), pc, &mut groups);
            }
            groups.retain(|(n, _)| n != "content");
        }
        groups
    }

    /// From a failregex match's groups (prefregex's overlaid by the
    /// failregex's) to the line's result: alternate names, `<F-MLFID>`
    /// merging, the failure ID.
    pub(crate) fn outcome(&mut self, mut groups: Groups, i: usize, time: f64) -> LineResult {
        alt_values(&mut groups);
        let mut merged_cached = false;
        let mlfid = mlfid::get(&groups, "mlfid").map(str::to_string);
        if let (Some(id), Some(cache)) = (&mlfid, &mut self.mlf) {
            let m = cache.merge(id, groups);
            groups = m.groups;
            merged_cached = m.cached;
        }
        let nofail = mlfid::truthy(&groups, "nofail");
        let id = ["fid", "ip4", "ip6", "dns"]
            .iter()
            .find_map(|k| mlfid::get(&groups, k).map(|v| if *k == "ip6" { canonical_ip6(v) } else { v.to_string() }));
        let Some(id) = id else {
            // fail2ban: no host yet on this connection: the failure is pending
            if let (Some(m), Some(cache), true) = (&mlfid, &mut self.mlf, merged_cached && !nofail) {
                cache.mark_pending(m);
            }
            return LineResult::Ignored;
        };
        let fields = groups
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_ref(), "content" | "mlfid" | "mlfforget" | "mlfgained" | "mlfpending" | "nofail"))
            .filter_map(|(k, v)| v.map(|v| (k.into_owned(), v)))
            .collect();
        LineResult::Failure(Failure { id, time, regex: i, fields, nofail })
    }
}

/// fail2ban's `_getGroupsWithAlt`: `alt_user` (or `alt_user_2`) fills `user`
/// when `user` is empty, in the sorted order of the group names.
fn alt_values(groups: &mut Groups) {
    if !groups.iter().any(|(n, _)| n.starts_with("alt_")) {
        return;
    }
    let mut alts: Vec<(String, String)> = groups
        .iter()
        .filter_map(|(n, _)| {
            let rest = n.strip_prefix("alt_").filter(|r| !r.is_empty())?;
            // `alt_(.*?)(?:_\d+)?$`: a trailing `_<digits>` is an index
            let base = match rest.rsplit_once('_') {
                Some((b, d)) if !b.is_empty() && !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()) => b,
                _ => rest,
            };
            let base = match base {
                "id" => "fid",
                "port" => "fport",
                b => b,
            };
            Some((n.to_string(), base.to_string()))
        })
        .collect();
    alts.sort();
    for (k, n) in alts {
        let v = mlfid::get(groups, &k).filter(|v| !v.is_empty()).map(str::to_string);
        if v.is_some() && !mlfid::truthy(groups, &n) {
            mlfid::set(groups, &n, v);
        }
    }
}

/// A prefregex variant without its trailing content group, when it is anchored at the start.
fn prefix_only(v: &Twin) -> Option<Twin> {
    let src = v.uni.as_str();
    let head = ["(?P<content>.+)$", "(?P<content>(?:.)+)$", "(?P<content>.+)(?:$)"].iter().find_map(|t| src.strip_suffix(t))?;
    if !head.starts_with('^') {
        return None;
    }
    regex::RegexBuilder::new(head).size_limit(64 << 20).build().ok().map(|r| Twin::new(r, 64 << 20))
}

fn mlfid_head(prefix: &str) -> Option<Twin> {
    use regex_syntax::hir::{HirKind, Look};
    let hir = regex_syntax::ParserBuilder::new().build().parse(prefix).ok()?;
    if hir.properties().explicit_captures_len() != 1 {
        return None;
    }
    let HirKind::Concat(parts) = hir.kind() else { return None };
    let [start, group, tail @ ..] = parts.as_slice() else { return None };
    if !matches!(start.kind(), HirKind::Look(Look::Start)) {
        return None;
    }
    let HirKind::Capture(c) = group.kind() else { return None };
    if c.name.as_deref() != Some("mlfid") {
        return None;
    }
    let tail = regex_syntax::hir::Hir::concat(tail.to_vec());
    if tail.properties().minimum_len() != Some(0) || !tail.properties().look_set().is_empty() {
        return None;
    }
    let head = format!("^(?:{})", c.sub);
    regex::RegexBuilder::new(&head).size_limit(64 << 20).build().ok().map(|r| Twin::new(r, 64 << 20))
}

/// Every failregex variant in order: the Unicode sources, the ASCII sources
/// and each one's (pattern, variant) — what both multi-pattern searches
/// (`fail_set`, [`first_fail`]) are built from.
fn variant_sources(failregex: &[Pattern]) -> (Vec<&str>, Vec<&str>, Vec<(usize, usize)>) {
    let mut uni = Vec::new();
    let mut ascii = Vec::new();
    let mut at = Vec::new();
    for (i, p) in failregex.iter().enumerate() {
        for (v, re) in p.variants.iter().enumerate() {
            uni.push(re.uni.as_str());
            ascii.push(re.ascii.as_str());
            at.push((i, v));
        }
    }
    (uni, ascii, at)
}

/// fail2ban reports an IPv6 address in its canonical form (Python's
/// `ipaddress` compressed, lowercase: `2001:DB8:0::1` -> `2001:db8::1`),
/// which Rust's RFC 5952 display is, except for IPv4-mapped addresses (Rust
/// writes `::ffff:1.2.3.4`, Python `::ffff:102:304`): those stay as written.
fn canonical_ip6(v: &str) -> String {
    match v.parse::<std::net::Ipv6Addr>() {
        Ok(a) if a.to_ipv4_mapped().is_none() => a.to_string(),
        _ => v.to_string(),
    }
}

/// The set of all failregex variants, in order, with each one's (pattern, variant); None when the set does not build (size limits).
fn fail_set(failregex: &[Pattern]) -> Option<FailSet> {
    let (sources, ascii, at) = variant_sources(failregex);
    let set = RegexSetBuilder::new(&sources).size_limit(256 << 20).build().ok()?;
    let ascii_set = RegexSetBuilder::new(&ascii).size_limit(256 << 20).build().unwrap_or_else(|_| set.clone());
    Some((set, ascii_set, at))
}

/// A match's groups in the pattern's order (`None`: did not take part); a
/// name seen again (a later pattern) replaces the earlier value, as a Python
/// dict update does.
fn collect(r: &Regex, c: &regex::Captures, out: &mut Groups) {
    for (i, n) in r.capture_names().enumerate() {
        if let Some(n) = n.filter(|n| !n.starts_with(pyre::HIDDEN)) {
            mlfid::update(out, n, c.get(i).map(|m| m.as_str()));
        } else if let (Some(n), Some(m)) = (n.and_then(pyre::alias_of), c.get(i)) {
            // a copy of group `n` (one alternative of the pattern): the one that took part
            mlfid::update(out, n, Some(m.as_str()));
        }
    }
}

/// Group `name` of a match, or the hidden alias of it that took part (`pyre::ahead_rest`).
fn named<'t>(r: &Regex, c: &regex::Captures<'t>, name: &str) -> Option<regex::Match<'t>> {
    c.name(name)
        .or_else(|| r.capture_names().enumerate().find_map(|(i, n)| n.and_then(pyre::alias_of).filter(|n| *n == name).and(c.get(i))))
}

impl Conf {
    /// Applies jail-given filter options on top of the file's `[Definition]`.
    pub fn overlay(&mut self, other: Conf) {
        self.merge_from(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1796032801.0;

    #[test]
    fn tags_resolve_like_fail2ban() {
        assert_eq!(resolve_tags("<F-USER>x</F-USER> <F-ID/>", false), r"(?P<user>x) (?P<fid>\S+)");
        assert_eq!(resolve_tags("</F-USER>", false), "</F-USER>");
        assert!(resolve_tags("<HOST>", true).contains("(?P<dns>"));
    }

    #[test]
    fn simple_filter_matches() {
        let mut f = Filter::from_str(
            "t",
            "[Definition]\nfailregex = ^\\s*\\S+ app: login failed for <F-USER>\\S+</F-USER> from <HOST>$\nignoreregex = from 10\\.9\\.\n",
            None,
            &FilterOptions::default(),
        )
        .unwrap();
        match f.match_line("Nov 30 10:00:01 srv app: login failed for bob from 192.0.2.7", NOW) {
            LineResult::Failure(x) => {
                assert_eq!(x.id, "192.0.2.7");
                assert_eq!(x.time, NOW);
                assert!(x.fields.contains(&("user".into(), "bob".into())));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f.match_line("Nov 30 10:00:01 srv app: login failed for bob from 10.9.0.1", NOW), LineResult::Ignored);
        assert_eq!(f.match_line("Nov 30 10:00:01 srv app: ok", NOW), LineResult::Missed);
        // IPv6
        match f.match_line("Nov 30 10:00:01 srv app: login failed for a from 2001:db8::7", NOW) {
            LineResult::Failure(x) => assert_eq!(x.id, "2001:db8::7"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ignoreregex_applies_where_fail2ban_applies_it() {
        let conf =
            "[Definition]\nprefregex = ^\\s*app: <F-CONTENT>.+</F-CONTENT>$\nfailregex = ^bad <HOST>\nignoreregex = ^\\s*app: bad\n  x\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        // as many ignoreregex as failregex: checked after the failregex, over the content only
        assert!(matches!(f.match_line("Nov 30 10:00:01 app: bad 192.0.2.1", NOW), LineResult::Failure(_)));
        assert_eq!(f.match_line("Nov 30 10:00:01 app: bad 192.0.2.1 x", NOW), LineResult::Ignored);
        assert_eq!(f.match_line("Nov 30 10:00:01 app: x", NOW), LineResult::Missed);
        // fewer than failregex - 2: checked first, over the whole line
        let conf = "[Definition]\nprefregex = ^\\s*app: <F-CONTENT>.+</F-CONTENT>$\nfailregex = ^bad <HOST>$\n  ^b <HOST>$\n  ^c <HOST>$\n  ^d <HOST>$\nignoreregex = ^\\s*app: bad\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        assert_eq!(f.match_line("Nov 30 10:00:01 app: bad 192.0.2.1", NOW), LineResult::Ignored);
        assert!(matches!(f.match_line("Nov 30 10:00:01 app: b 192.0.2.1", NOW), LineResult::Failure(_)));
    }

    /// stunnel's `(?P<CODE>[\dA-F]+): error:(?P=CODE):` and openwebmail's `(?P<USER>\S+) ... loginname=(?P=USER)`
    /// (checked copies), selinux's `(?P<q>"?)\S+(?P=q)` (variants): Python's answers on the same lines.
    #[test]
    fn back_references_match_what_python_matches() {
        let conf = "[Definition]\nfailregex = ^ tls from <HOST> : (?P<CODE>[\\dA-F]+): error:(?P=CODE):$\n  ^ \\(<HOST>\\) (?P<USER>\\S+) - (?:no such user - loginname=(?P=USER)|bad password)$\n  ^ acct=(?P<q>\"?)<F-USER>\\S+</F-USER>(?P=q) addr=<HOST>$\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        let fail = |f: &mut Filter, l: &str| match f.match_line(&format!("Nov 30 10:00:01 {l}"), NOW) {
            LineResult::Failure(x) => Some((x.regex, x.fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))),
            _ => None,
        };
        assert_eq!(fail(&mut f, "tls from 192.0.2.1 : 1408A0C1: error:1408A0C1:").map(|x| x.0), Some(0));
        assert_eq!(fail(&mut f, "tls from 192.0.2.1 : 1408A0C1: error:1408A0C2:"), None);
        let (i, fields) = fail(&mut f, "(192.0.2.2) bob - no such user - loginname=bob").unwrap();
        assert_eq!(i, 1);
        assert!(!fields.contains(pyre::HIDDEN), "{fields}");
        assert_eq!(fail(&mut f, "(192.0.2.2) bob - no such user - loginname=eve"), None);
        assert_eq!(fail(&mut f, "(192.0.2.2) bob - bad password").map(|x| x.0), Some(1));
        // "? keeps a leading quote only when a closing one follows (else the quote is part of the user)
        assert!(fail(&mut f, "acct=\"root\" addr=192.0.2.3").unwrap().1.contains("user=root"));
        assert!(fail(&mut f, "acct=root addr=192.0.2.3").unwrap().1.contains("user=root"));
        assert!(fail(&mut f, "acct=\"root addr=192.0.2.3").unwrap().1.contains("user=\"root"));
    }

    /// postfix's mdpr-ddos: the prefregex's look-ahead moves into the content, copied per alternative
    /// (`pyre::ahead_rest`); the content and the fields come from whichever copy took part.
    #[test]
    fn content_copied_per_alternative_is_read_under_its_name() {
        let conf = "[Definition]\nprefregex = ^\\s*app: (?:warning:|(?:lost after(?! DATA) [A-Z]+|disconnect(?= from \\S+(?: \\S+=\\d+)* auth=0/\\d+))) <F-CONTENT>.+</F-CONTENT>$\nfailregex = ^from <F-USER>[^[]+</F-USER>\\[<HOST>\\]\n";
        let mut f = Filter::from_str("t", conf, None, &FilterOptions::default()).unwrap();
        let fail = |f: &mut Filter, l: &str| match f.match_line(&format!("Nov 30 10:00:01 app: {l}"), NOW) {
            LineResult::Failure(x) => Some(x.fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")),
            _ => None,
        };
        let fields = fail(&mut f, "disconnect from h[192.0.2.1] ehlo=1 auth=0/1").unwrap();
        assert!(fields.contains("user=h") && fields.contains("192.0.2.1") && !fields.contains(pyre::HIDDEN), "{fields}");
        assert_eq!(fail(&mut f, "disconnect from h[192.0.2.1] ehlo=1 auth=1/1"), None);
        assert_eq!(fail(&mut f, "disconnect from h[192.0.2.1]"), None);
        assert!(fail(&mut f, "warning: from w[192.0.2.2]").unwrap().contains("user=w"));
        assert!(fail(&mut f, "lost after RCPT from r[192.0.2.3]").unwrap().contains("user=r"));
        assert_eq!(fail(&mut f, "lost after DATA from r[192.0.2.3]"), None);
    }

    #[test]
    fn unmappable_regex_reports_file_and_line() {
        let e = match Filter::from_str(
            "bad.conf",
            "[Definition]\nfailregex = ^ok <HOST>$\n  ^(?P<a>x)\\1 <HOST>\n",
            None,
            &FilterOptions::default(),
        ) {
            Err(e) => e,
            Ok(_) => panic!("accepted a numbered back-reference"),
        };
        assert!(e.message.contains("bad.conf:3") && e.message.contains("back-reference"), "{}", e.message);
        let f = Filter::from_str(
            "bad.conf",
            "[Definition]\nfailregex = ^ok <HOST>$\n  ^(?P<a>x)\\1 <HOST>\n",
            None,
            &FilterOptions { allow_partial: true, ..Default::default() },
        )
        .unwrap();
        assert_eq!(f.failregex_count(), 1);
        assert_eq!(f.problems.len(), 1);
    }

    #[test]
    fn debian_sshd_filter_compiles_and_matches() {
        let path = Path::new("/etc/fail2ban/filter.d/sshd.conf");
        if !path.exists() {
            eprintln!("SKIP: fail2ban filters not installed");
            return;
        }
        let mut f = Filter::from_file(path, &FilterOptions::default()).unwrap();
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let cases = [
            ("Nov 30 10:00:01 srv sshd[101]: Failed password for root from 10.0.0.1 port 22 ssh2", Some(("10.0.0.1", "root"))),
            ("Nov 30 10:00:02 srv sshd[102]: Failed password for invalid user bob from 10.0.0.2 port 22 ssh2", Some(("10.0.0.2", "bob"))),
            ("Nov 30 10:00:04 srv sshd[104]: Invalid user x from 10.0.0.4 port 5", Some(("10.0.0.4", "x"))),
            ("Nov 30 10:00:05 srv sshd[105]: Accepted password for bob from 10.0.0.5 port 22 ssh2", None),
        ];
        for (line, want) in cases {
            let r = f.match_line(line, NOW);
            match (want, r) {
                (Some((ip, user)), LineResult::Failure(x)) if !x.nofail => {
                    assert_eq!(x.id, ip, "{line}");
                    assert!(x.fields.contains(&("user".into(), user.into())), "{line}: {:?}", x.fields);
                }
                (None, LineResult::Failure(x)) if x.nofail => {}
                (None, LineResult::Missed | LineResult::Ignored) => {}
                (w, r) => panic!("{line}: wanted {w:?}, got {r:?}"),
            }
        }
        let r = f.match_line("Nov 30 10:00:03 srv sshd[103]: Connection closed by 10.0.0.3 port 22 [preauth]", NOW);
        assert!(matches!(r, LineResult::Failure(Failure { nofail: true, .. })), "{r:?}");
    }

    #[test]
    fn fast_paths_agree_with_the_plain_patterns() {
        let path = Path::new("/etc/fail2ban/filter.d/sshd.conf");
        if !path.exists() {
            eprintln!("SKIP: fail2ban filters not installed");
            return;
        }
        let mut fast = Filter::from_file(path, &FilterOptions::default()).unwrap();
        let sources: Vec<&str> = fast.prefregex.iter().flat_map(|p| p.variants.iter().map(|v| v.uni.as_str())).collect();
        assert!(
            fast.pref_fast.iter().all(Option::is_some)
                && fast.fail_set.is_none()
                && fast.first_fail.is_some()
                && fast.mlfid_head.iter().all(Option::is_some),
            "the sshd filter takes both fast paths: {sources:?}"
        );
        let mut plain = Filter::from_file(path, &FilterOptions::default()).unwrap();
        plain.pref_fast = vec![];
        plain.fail_set = None;
        plain.first_fail = None;
        // the RegexSet path alone (where the first-match search does not apply)
        let mut by_set = Filter::from_file(path, &FilterOptions::default()).unwrap();
        by_set.first_fail = None;
        by_set.fail_set = fail_set(&by_set.failregex);
        assert!(by_set.fail_set.is_some());
        // and the ASCII twins answer as the Unicode regexes do
        let mut uni_only = Filter::from_file(path, &FilterOptions::default()).unwrap();
        for p in uni_only.prefregex.iter_mut().chain(uni_only.failregex.iter_mut()).chain(uni_only.ignoreregex.iter_mut()) {
            for t in &mut p.variants {
                t.ascii = t.uni.clone();
            }
        }
        for t in uni_only.pref_fast.iter_mut().chain(uni_only.mlfid_head.iter_mut()).flatten() {
            t.ascii = t.uni.clone();
        }
        uni_only.first_fail = FirstFail::new(&uni_only.failregex);
        plain.mlfid_head = vec![];
        let lines = [
            "Nov 30 10:00:01 srv sshd[101]: Failed password for root from 10.0.0.1 port 22 ssh2",
            "Nov 30 10:00:02 srv sshd[102]: Failed password for invalid user bob from 10.0.0.2 port 22 ssh2",
            "Nov 30 10:00:04 srv sshd[104]: Invalid user x from 10.0.0.4 port 5",
            "Nov 30 10:00:05 srv sshd[105]: Accepted password for bob from 10.0.0.5 port 22 ssh2",
            "Nov 30 10:00:03 srv sshd[103]: Connection closed by 10.0.0.3 port 22 [preauth]",
            "Nov 30 10:00:06 srv sshd[106]: error: maximum authentication attempts exceeded for root from 10.0.0.6 port 22 ssh2 [preauth]",
            "Nov 30 10:00:07 srv sshd[107]: Disconnecting invalid user admin 10.0.0.7 port 22: Too many authentication failures [preauth]",
            "Nov 30 10:00:08 srv sshd[108]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.8  user=root",
            "Nov 30 10:00:09 srv sshd[109]: Did not receive identification string from 10.0.0.9",
            "Nov 30 10:00:10 srv sshd[110]: ",
            "Nov 30 10:00:10 srv sshd[110]:",
            "Nov 30 10:00:10 srv sshd[110]: x",
            "Nov 30 10:00:11 srv CRON[111]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            "Nov 30 10:00:12 srv sshd[112]: Received disconnect from 10.0.0.12 port 22:11: Bye Bye [preauth]",
            "Nov 30 10:00:13 srv sshd: Failed password for root from 10.0.0.13 port 22 ssh2",
            "Nov 30 10:00:14 srv kernel: [ 12.345678]: sshd[114]: Failed password for root from 10.0.0.14 port 22 ssh2",
            "Nov 30 10:00:15 srv sshd[115]: [ID 800047 auth.info] Failed password for root from 10.0.0.15 port 22 ssh2",
            "no date sshd[116]: Failed password for root from 10.0.0.16 port 22 ssh2",
            "Nov 30 10:00:20 srv sshd[120]: Failed password for invalid user jürgen from 10.0.0.20 port 22 ssh2",
            "Nov 30 10:00:21 hôte sshd[121]: Invalid user ß from 10.0.0.21 port 5",
            "",
        ];
        for line in lines {
            // the mlfid head finds what the prefix's captures say
            for (head, pref) in fast.mlfid_head.iter().zip(&fast.pref_fast) {
                let (head, pref) = (head.as_ref().unwrap(), pref.as_ref().unwrap());
                for ascii in [false, true] {
                    let text = line.get(15..).unwrap_or("");
                    let by_caps = pref.get(ascii).captures(text).and_then(|c| c.name("mlfid").map(|m| m.range()));
                    assert_eq!(head.get(ascii).find(text).map(|m| m.range()), by_caps, "{line:?}");
                }
            }
            let want = plain.match_line(line, NOW);
            assert_eq!(fast.match_line(line, NOW), want, "{line:?}");
            assert_eq!(uni_only.match_line(line, NOW), want, "{line:?}");
            assert_eq!(by_set.match_line(line, NOW), want, "{line:?}");
        }
    }
}
