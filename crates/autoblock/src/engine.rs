//! The detection engine: jails over log lines (fail2ban filters), scenarios
//! over structured events, allowlists before everything. Batch in, detections
//! out; it holds no decisions (signing, the ledger and enforcement live above).
//!
//! Structured events travel in a packed form so a batch crosses N-API once
//! and is read without allocating: events separated by `\n`, each
//! `time` then `\x1f key \x1e value` per field (keys and values free of `\n`,
//! `\x1e`, `\x1f`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use omnitide_common::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::allow::Allowlist;
use crate::filter::{Filter, FilterOptions, LineResult};
use crate::jail::{parse_duration, Increment, Jail, JailConfig};
use crate::scenario::{parse_scenarios, Scenario};

/// Longest line matched; the rest of a longer line is ignored (counted).
pub const MAX_LINE: usize = 64 * 1024;
const DEFAULT_DECISION: f64 = 4.0 * 3600.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Dur {
    Secs(f64),
    Text(String),
}

impl Dur {
    fn secs(&self, arg: &str) -> Result<f64> {
        match self {
            Dur::Secs(s) if s.is_finite() => Ok(*s),
            Dur::Secs(_) => Err(Error::invalid_arg(arg, "must be a finite number of seconds")),
            Dur::Text(t) => parse_duration(arg, t),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilterSource {
    /// a fail2ban filter file (its includes are read beside it)
    pub path: Option<String>,
    /// or its text
    pub text: Option<String>,
    #[serde(default)]
    pub options: HashMap<String, String>,
    #[serde(default)]
    pub allow_partial: bool,
    pub datepattern: Option<String>,
    #[serde(default)]
    pub use_dns: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IncrementSpec {
    pub factor: Option<f64>,
    #[serde(default)]
    pub multipliers: Vec<f64>,
    pub maxtime: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JailSpec {
    pub name: String,
    pub filter: FilterSource,
    pub maxretry: Option<u32>,
    pub findtime: Option<Dur>,
    pub bantime: Option<Dur>,
    pub increment: Option<IncrementSpec>,
    /// "ban" (default) or "throttle"
    pub action: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioSource {
    /// name used in errors (a file name)
    pub file: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EngineConfig {
    #[serde(default)]
    pub jails: Vec<JailSpec>,
    #[serde(default)]
    pub scenarios: Vec<ScenarioSource>,
    #[serde(default)]
    pub allowlist: Vec<String>,
}

/// Something a jail or scenario decided should be blocked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// "jail" or "scenario"
    pub origin: &'static str,
    pub name: String,
    /// "ban" or "throttle"
    pub action: String,
    /// "ip", "range" or "user"
    pub scope: String,
    pub value: String,
    pub time: f64,
    /// seconds, negative = permanent
    pub duration: f64,
    pub reason: String,
    /// hex BLAKE3 of the triggering events (raw line / packed event bytes)
    pub evidence: Vec<String>,
    pub count: u64,
    pub labels: Vec<(String, String)>,
}

/// One line as a filter sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineMatch {
    /// 1-based line number
    pub line: usize,
    /// "failure", "nofail", "ignored" or "missed"
    pub kind: &'static str,
    pub id: Option<String>,
    pub time: Option<f64>,
    pub regex: Option<usize>,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub lines: u64,
    pub failures: u64,
    pub ignored: u64,
    pub missed: u64,
    pub nofail: u64,
    pub truncated: u64,
    pub events: u64,
    pub malformed_events: u64,
    pub allowlisted: u64,
    pub detections: u64,
}

struct JailRt {
    jail: Jail,
    filter: Filter,
    action: String,
}

pub struct Engine {
    jails: Vec<JailRt>,
    scenarios: Vec<Scenario>,
    allow: Allowlist,
    pub stats: Stats,
}

/// `String::from_utf8_lossy`, with the (vectorised) validity check first: log
/// lines are nearly always valid, and walking them chunk by chunk cost more.
/// `bytes.split(|&b| b == b'\n')`, finding the newlines with `memchr` (a
/// byte-at-a-time closure was a visible share of the line path).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(k) => {
                rest = Some(&r[k + 1..]);
                Some(&r[..k])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

fn utf8_lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Lowercase hex of an evidence hash, by table: one `format!` per byte cost
/// more than the rest of turning an event into a detection.
fn hex32(b: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for x in b {
        s.push(DIGITS[usize::from(x >> 4)] as char);
        s.push(DIGITS[usize::from(x & 15)] as char);
    }
    s
}

fn action_of(arg: &str, a: Option<&str>) -> Result<String> {
    match a.unwrap_or("ban") {
        "ban" | "throttle" => Ok(a.unwrap_or("ban").to_string()),
        other => Err(Error::invalid_arg(arg, format!("unknown action '{other}' (ban, throttle)"))),
    }
}

impl Engine {
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: EngineConfig = serde_json::from_str(json).map_err(|e| Error::invalid_arg("config", e))?;
        Self::new(cfg)
    }

    pub fn new(cfg: EngineConfig) -> Result<Self> {
        let mut jails = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, j) in cfg.jails.into_iter().enumerate() {
            let arg = format!("jails[{i}]");
            if !names.insert(j.name.clone()) {
                return Err(Error::invalid_arg(&arg, format!("duplicate jail name '{}'", j.name)));
            }
            let fo = FilterOptions {
                overrides: j.filter.options.clone(),
                use_dns: j.filter.use_dns,
                allow_partial: j.filter.allow_partial,
                datepattern: j.filter.datepattern.clone(),
            };
            let filter = match (&j.filter.path, &j.filter.text) {
                (Some(p), None) => Filter::from_file(Path::new(p), &fo)?,
                (None, Some(t)) => Filter::from_str(&j.name, t, None, &fo)?,
                _ => return Err(Error::invalid_arg(&format!("{arg}.filter"), "exactly one of path or text is required")),
            };
            let inc = match &j.increment {
                None => None,
                Some(s) => Some(Increment {
                    factor: s.factor.unwrap_or(1.0),
                    multipliers: s.multipliers.clone(),
                    maxtime: s.maxtime.as_ref().map(|d| d.secs(&format!("{arg}.increment.maxtime"))).transpose()?.unwrap_or(0.0),
                }),
            };
            let jc = JailConfig {
                name: j.name.clone(),
                maxretry: j.maxretry.unwrap_or(5),
                findtime: j.findtime.as_ref().map(|d| d.secs(&format!("{arg}.findtime"))).transpose()?.unwrap_or(600.0),
                bantime: j.bantime.as_ref().map(|d| d.secs(&format!("{arg}.bantime"))).transpose()?.unwrap_or(600.0),
                increment: inc,
            };
            let jail = Jail::new(jc).map_err(|e| Error::new(e.code, format!("{arg}: {}", e.message)))?;
            jails.push(JailRt { jail, filter, action: action_of(&format!("{arg}.action"), j.action.as_deref())? });
        }
        let mut scenarios = Vec::new();
        for s in &cfg.scenarios {
            for spec in parse_scenarios(&s.file, &s.text)? {
                if !names.insert(spec.name.clone()) {
                    return Err(Error::invalid_arg("scenarios", format!("{}: duplicate name '{}'", s.file, spec.name)));
                }
                scenarios.push(Scenario::new(spec));
            }
        }
        Ok(Self { jails, scenarios, allow: Allowlist::new(&cfg.allowlist)?, stats: Stats::default() })
    }

    pub fn allowlist_mut(&mut self) -> &mut Allowlist {
        &mut self.allow
    }

    pub fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    fn allowed_id(&self, id: &str) -> bool {
        id.parse::<IpAddr>().map(|ip| self.allow.contains_ip(ip)).unwrap_or(false)
    }

    /// Log lines (`\n`-separated bytes; invalid UTF-8 replaced) through every
    /// jail, or only `jail`. `now` supplies the year of syslog dates.
    pub fn process_lines(&mut self, bytes: &[u8], jail: Option<&str>, now: f64) -> Result<Vec<Detection>> {
        if let Some(j) = jail {
            if !self.jails.iter().any(|r| r.jail.cfg.name == j) {
                return Err(Error::invalid_arg("jail", format!("no jail named '{j}'")));
            }
        }
        let mut out = Vec::new();
        for raw in lines(bytes) {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            self.stats.lines += 1;
            let clipped = if raw.len() > MAX_LINE {
                self.stats.truncated += 1;
                &raw[..MAX_LINE]
            } else {
                raw
            };
            let line = utf8_lossy(clipped);
            // the evidence hash, only for lines that are failures (most are not)
            let mut hashed: Option<[u8; 32]> = None;
            for k in 0..self.jails.len() {
                if jail.is_some_and(|j| self.jails[k].jail.cfg.name != j) {
                    continue;
                }
                let r = self.jails[k].filter.match_line(&line, now);
                match r {
                    LineResult::Missed => self.stats.missed += 1,
                    LineResult::Ignored => self.stats.ignored += 1,
                    LineResult::Failure(f) if f.nofail => self.stats.nofail += 1,
                    LineResult::Failure(f) => {
                        if self.allowed_id(&f.id) || f.fields.iter().any(|(k, v)| k == "user" && self.allow.contains_user(v)) {
                            self.stats.allowlisted += 1;
                            continue;
                        }
                        self.stats.failures += 1;
                        let hash = *hashed.get_or_insert_with(|| *blake3::hash(raw).as_bytes());
                        let name = self.jails[k].jail.cfg.name.clone();
                        if let Some(b) = self.jails[k].jail.add_failure(&f.id, f.time, hash) {
                            self.stats.detections += 1;
                            let scope = if b.id.parse::<IpAddr>().is_ok() { "ip" } else { "user" };
                            out.push(Detection {
                                origin: "jail",
                                name: name.clone(),
                                action: self.jails[k].action.clone(),
                                scope: scope.into(),
                                value: if scope == "user" { format!("user:{}", b.id) } else { b.id.clone() },
                                time: b.time,
                                duration: b.duration,
                                reason: format!(
                                    "{} failures within {}s (maxretry {}), ban #{}",
                                    b.failures,
                                    self.jails[k].jail.cfg.findtime,
                                    self.jails[k].jail.cfg.maxretry,
                                    b.ban_count + 1
                                ),
                                evidence: b.evidence.iter().map(hex32).collect(),
                                count: b.failures as u64,
                                labels: vec![],
                            });
                        }
                        // the failure is also an event for scenarios
                        if !self.scenarios.is_empty() {
                            let log_type = format!("{name}_failed");
                            let fields = &f.fields;
                            let get = |key: &str| -> Option<&str> {
                                match key {
                                    "source_ip" => Some(f.id.as_str()),
                                    "log_type" => Some(log_type.as_str()),
                                    "jail" => Some(name.as_str()),
                                    _ => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
                                }
                            };
                            Self::feed_scenarios(&mut self.scenarios, &mut self.stats, &self.allow, f.time, &get, hash, &mut out);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn feed_scenarios<'a>(
        scenarios: &mut [Scenario],
        stats: &mut Stats,
        allow: &Allowlist,
        time: f64,
        get: &impl Fn(&str) -> Option<&'a str>,
        hash: [u8; 32],
        out: &mut Vec<Detection>,
    ) {
        for s in scenarios.iter_mut() {
            if let Some(o) = s.feed(time, get, hash) {
                let label = |k: &str| s.spec.labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
                let scope = label("scope").unwrap_or("ip").to_string();
                let value = match scope.as_str() {
                    "user" => format!("user:{}", o.key),
                    "range" => match o.key.parse::<IpAddr>() {
                        Ok(IpAddr::V4(v4)) => {
                            format!("{}/24", ipnet::Ipv4Net::new(v4, 24).map(|n| n.trunc().network().to_string()).unwrap_or_default())
                        }
                        Ok(IpAddr::V6(v6)) => {
                            format!("{}/64", ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc().network().to_string()).unwrap_or_default())
                        }
                        Err(_) => o.key.clone(),
                    },
                    _ => o.key.clone(),
                };
                if value.is_empty() || allow.covers(&value) {
                    stats.allowlisted += 1;
                    continue;
                }
                if scope != "user" && crate::allow::parse_net("value", &value).is_err() {
                    // a scenario grouped by something that is not an address
                    continue;
                }
                let duration =
                    label("decision_duration").and_then(|d| parse_duration("decision_duration", d).ok()).unwrap_or(DEFAULT_DECISION);
                let action = match label("type") {
                    Some("throttle") => "throttle",
                    _ => "ban",
                };
                stats.detections += 1;
                out.push(Detection {
                    origin: "scenario",
                    name: s.spec.name.clone(),
                    action: action.into(),
                    scope,
                    value,
                    time: o.time,
                    duration,
                    reason: format!("scenario {} overflowed ({} events)", s.spec.name, o.count),
                    evidence: o.evidence.iter().map(hex32).collect(),
                    count: o.count,
                    labels: s.spec.labels.clone(),
                });
            }
        }
    }

    /// Packed structured events (see the module docs) through the scenarios.
    /// A malformed event is counted and skipped; the rest of the batch runs.
    pub fn process_packed(&mut self, buf: &[u8]) -> Vec<Detection> {
        let mut out = Vec::new();
        let mut fields: Vec<(&str, &str)> = Vec::with_capacity(16);
        for ev in buf.split(|&b| b == b'\n') {
            if ev.is_empty() {
                continue;
            }
            self.stats.events += 1;
            let Ok(text) = std::str::from_utf8(ev) else {
                self.stats.malformed_events += 1;
                continue;
            };
            let mut parts = text.split('\x1f');
            let Some(time) = parts.next().and_then(|t| t.parse::<f64>().ok()).filter(|t| t.is_finite()) else {
                self.stats.malformed_events += 1;
                continue;
            };
            fields.clear();
            let mut bad = false;
            for p in parts {
                match p.split_once('\x1e') {
                    Some(kv) => fields.push(kv),
                    None => bad = true,
                }
            }
            if bad {
                self.stats.malformed_events += 1;
                continue;
            }
            let get = |k: &str| -> Option<&str> { fields.iter().find(|(a, _)| *a == k).map(|(_, v)| *v) };
            let src = get("source_ip").or_else(|| get("ip"));
            if src.is_some_and(|s| self.allowed_id(s)) || get("user").is_some_and(|u| self.allow.contains_user(u)) {
                self.stats.allowlisted += 1;
                continue;
            }
            let hash = *blake3::hash(ev).as_bytes();
            Self::feed_scenarios(&mut self.scenarios, &mut self.stats, &self.allow, time, &get, hash, &mut out);
        }
        out
    }

    /// Why `value` (an address or `user:name`) is where it is, per jail and scenario.
    pub fn explain(&self, value: &str, now: f64) -> serde_json::Value {
        let key = value.strip_prefix("user:").unwrap_or(value);
        let jails: Vec<serde_json::Value> = self
            .jails
            .iter()
            .map(|j| serde_json::json!({ "jail": j.jail.cfg.name, "failures": j.jail.retries(key), "maxretry": j.jail.cfg.maxretry, "findtime": j.jail.cfg.findtime, "banned": j.jail.is_banned(key, now) }))
            .collect();
        let scenarios: Vec<serde_json::Value> = self
            .scenarios
            .iter()
            .map(|s| serde_json::json!({ "scenario": s.spec.name, "level": s.level(key, now), "capacity": s.spec.capacity }))
            .collect();
        serde_json::json!({ "value": value, "allowlisted": self.allow.covers(value), "jails": jails, "scenarios": scenarios })
    }

    /// Forgets a jail ban (after an unban), so the jail may ban again.
    pub fn unban(&mut self, value: &str) -> bool {
        let key = value.strip_prefix("user:").unwrap_or(value);
        let mut any = false;
        for j in &mut self.jails {
            any |= j.jail.unban(key);
        }
        any
    }

    /// What `jail`'s filter makes of each line, without touching jail state
    /// (the `fail2ban-regex` view: line number, failure ID, time, fields). The
    /// filter's own state carries on as in a fail2ban filter: the date template
    /// tried first and the `<F-MLFID>` connections it is merging.
    pub fn match_lines(&mut self, bytes: &[u8], jail: &str, now: f64) -> Result<Vec<LineMatch>> {
        let j = self
            .jails
            .iter_mut()
            .find(|r| r.jail.cfg.name == jail)
            .ok_or_else(|| Error::invalid_arg("jail", format!("no jail named '{jail}'")))?;
        let mut out = Vec::new();
        for (n, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let line = utf8_lossy(&raw[..raw.len().min(MAX_LINE)]);
            let (kind, failure) = match j.filter.match_line(&line, now) {
                LineResult::Failure(f) => (if f.nofail { "nofail" } else { "failure" }, Some(f)),
                LineResult::Ignored => ("ignored", None),
                LineResult::Missed => ("missed", None),
            };
            out.push(LineMatch {
                line: n + 1,
                kind,
                id: failure.as_ref().map(|f| f.id.clone()),
                time: failure.as_ref().map(|f| f.time),
                regex: failure.as_ref().map(|f| f.regex),
                fields: failure.map(|f| f.fields).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Bounded memory: drops stale tickets, ended bans, empty buckets.
    pub fn gc(&mut self, now: f64) {
        for j in &mut self.jails {
            j.jail.expire(now);
        }
        for s in &mut self.scenarios {
            s.gc(now);
        }
    }

    pub fn jail_names(&self) -> Vec<String> {
        self.jails.iter().map(|j| j.jail.cfg.name.clone()).collect()
    }

    /// Patterns of the jails' filters that could not be mapped (allowPartial).
    pub fn problems(&self) -> Vec<String> {
        self.jails.iter().flat_map(|j| j.filter.problems.iter().map(|p| format!("{}: {} (regex: {})", p.loc, p.problem, p.regex))).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_split_like_slice_split() {
        for text in [&b""[..], b"\n", b"a", b"a\n", b"a\nb", b"\n\na\r\n\nbc\n", b"x\n\n"] {
            let want: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            assert_eq!(super::lines(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }

    use super::*;
    #[test]
    fn evidence_hex_is_lowercase_hex() {
        assert_eq!(hex32(blake3::hash(b"").as_bytes()), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        let all: [u8; 32] = std::array::from_fn(|i| (i * 8 + 7) as u8);
        assert_eq!(hex32(&all), all.iter().map(|x| format!("{x:02x}")).collect::<String>());
    }

    const NOW: f64 = 1796032801.0;

    fn engine() -> Engine {
        Engine::from_json(
            r#"{"jails":[{"name":"app","filter":{"text":"[Definition]\nfailregex = ^\\s*\\S+ app: fail <F-USER>\\S+</F-USER> from <HOST>$\n"},"maxretry":3,"findtime":"10m","bantime":"1h"}],
                "scenarios":[{"file":"s.yaml","text":"type: distinct\nname: scan\ngroupby: source_ip\ndistinct: port\ncapacity: 5\nduration: 1m\nlabels:\n  scope: range\n"}],
                "allowlist":["192.0.2.0/24","user:ops"]}"#,
        )
        .unwrap()
    }

    #[test]
    fn lines_to_ban_with_evidence_and_allowlist() {
        let mut e = engine();
        let mut log = String::new();
        for s in 1..=3 {
            log.push_str(&format!("Nov 30 10:00:0{s} srv app: fail root from 198.51.100.9\n"));
            log.push_str(&format!("Nov 30 10:00:0{s} srv app: fail root from 192.0.2.1\n"));
            log.push_str(&format!("Nov 30 10:00:0{s} srv app: fail ops from 203.0.113.1\n"));
        }
        log.push_str("\u{0}\u{1}\u{ff} garbage\n");
        let d = e.process_lines(log.as_bytes(), None, NOW).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].value.as_str(), d[0].duration, d[0].evidence.len()), ("198.51.100.9", 3600.0, 3));
        assert_eq!(d[0].evidence[0], hex32(blake3::hash(b"Nov 30 10:00:01 srv app: fail root from 198.51.100.9").as_bytes()));
        assert_eq!(e.stats.allowlisted, 6);
        assert!(e.process_lines(b"x", Some("nope"), NOW).is_err());
        let x = e.explain("198.51.100.9", NOW);
        assert_eq!(x["jails"][0]["banned"], true);
        // a 1 MB line is clipped, not fatal
        let big = vec![b'a'; 1 << 20];
        e.process_lines(&big, None, NOW).unwrap();
        assert_eq!(e.stats.truncated, 1);
    }

    #[test]
    fn packed_events_through_scenarios() {
        let mut e = engine();
        let mut buf = Vec::new();
        for p in 0..10 {
            buf.extend_from_slice(format!("{}\x1fsource_ip\x1e198.51.100.77\x1fport\x1e{}\n", NOW + p as f64, 1000 + p).as_bytes());
            buf.extend_from_slice(format!("{}\x1fsource_ip\x1e192.0.2.5\x1fport\x1e{}\n", NOW + p as f64, 1000 + p).as_bytes());
        }
        buf.extend_from_slice(b"notatime\x1fa\x1eb\n1\x1fnovalue\n");
        let d = e.process_packed(&buf);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].scope.as_str(), d[0].value.as_str(), d[0].count), ("range", "198.51.100.0/24", 6));
        assert_eq!(e.stats.malformed_events, 2);
        assert_eq!(e.stats.allowlisted, 10);
    }

    #[test]
    fn config_errors_are_named() {
        let err = |j: &str| Engine::from_json(j).err().expect("config accepted");
        assert!(err("{\"bogus\":1}").message.contains("bogus"));
        let e = err(r#"{"jails":[{"name":"a","filter":{"text":"[Definition]\nfailregex = <HOST>\n"},"maxretry":0}]}"#);
        assert!(e.message.contains("jails[0]") && e.message.contains("maxretry"), "{}", e.message);
        let e = err(r#"{"jails":[{"name":"a","filter":{"text":"[Definition]\nfailregex = <HOST>\n"},"findtime":"5 parsecs"}]}"#);
        assert!(e.message.contains("jails[0].findtime"), "{}", e.message);
    }
}
