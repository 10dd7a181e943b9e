//! Scenarios in the shape of CrowdSec's leaky-bucket scenarios (YAML, one or
//! more documents per file):
//!
//! ```yaml
//! type: leaky            # leaky | trigger | counter | distinct
//! name: local/ssh-bf
//! filter: "evt.Meta.log_type == 'ssh_failed-auth'"
//! groupby: evt.Meta.source_ip
//! capacity: 5            # leaky: overflow on the event that finds it full
//! leakspeed: 10s         # one event leaks out per leakspeed
//! distinct: evt.Meta.user   # distinct: count distinct values (HyperLogLog)
//! duration: 1m           # counter / distinct window
//! blackhole: 1m          # silence a key after it overflowed
//! labels: { remediation: true, scope: ip, decision_duration: 4h }
//! ```
//!
//! Leaky semantics follow CrowdSec: the level leaks continuously at one event
//! per `leakspeed`; an event arriving when less than one slot is free overflows and the
//! bucket is emptied. `trigger` overflows on every (non-blackholed) event;
//! `counter` reports the count of a window when the window closes; `distinct`
//! overflows when the estimated number of distinct values exceeds `capacity`.
//!
//! `distinct:` on a `leaky` or `counter` scenario is CrowdSec's `Uniq`
//! processor: each bucket remembers the values it was poured, and an event
//! whose value the bucket already saw is not poured (an event without the
//! field has the value ""). The memory lives and dies with the bucket: an
//! overflow or the garbage collection of an empty bucket forgets it (CrowdSec
//! keeps it for the bucket's life likewise; its replay collects empty buckets
//! every 5,000 events, live mode after `(capacity + 1) * leakspeed` idle).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use omnitide_common::{Error, Result};
use serde::Deserialize;

use crate::expr::{self, Expr};
use crate::jail::parse_duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioYaml {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    groupby: Option<String>,
    #[serde(default)]
    capacity: Option<i64>,
    #[serde(default)]
    leakspeed: Option<String>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    distinct: Option<String>,
    #[serde(default)]
    blackhole: Option<String>,
    #[serde(default)]
    labels: HashMap<String, serde_yaml_ng::Value>,
    // CrowdSec fields accepted and ignored by this engine
    #[serde(default)]
    debug: Option<bool>,
    #[serde(default)]
    reprocess: Option<bool>,
    #[serde(default)]
    cache_size: Option<i64>,
    #[serde(default)]
    references: Option<Vec<String>>,
    #[serde(default)]
    format: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Leaky,
    Trigger,
    Counter,
    Distinct,
}

#[derive(Debug, Clone)]
pub struct ScenarioSpec {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub filter: Expr,
    /// field the buckets are keyed by (None: one bucket)
    pub groupby: Option<String>,
    pub capacity: i64,
    /// seconds per leaked event
    pub leakspeed: f64,
    pub duration: f64,
    pub distinct: Option<String>,
    pub blackhole: f64,
    pub labels: Vec<(String, String)>,
}

type Hll = HyperLogLogPlus<str, BuildHasherDefault<std::collections::hash_map::DefaultHasher>>;

struct Bucket {
    level: f64,
    last: f64,
    first: f64,
    count: u64,
    hll: Option<Hll>,
    /// values poured so far (`distinct:` on leaky/counter buckets)
    seen: HashSet<String>,
    evidence: Vec<[u8; 32]>,
}

/// Values a bucket remembers for `distinct:`; past this a value counts as new
/// (bounded memory for a bucket that leaks slower than it fills forever).
const MAX_SEEN: usize = 65_536;

/// A bucket overflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Overflow {
    pub scenario: String,
    pub key: String,
    pub time: f64,
    pub count: u64,
    pub evidence: Vec<[u8; 32]>,
}

pub struct Scenario {
    pub spec: ScenarioSpec,
    buckets: HashMap<String, Bucket>,
    blackholed: HashMap<String, f64>,
}

fn dur(name: &str, field: &str, v: &Option<String>, default: f64) -> Result<f64> {
    match v {
        None => Ok(default),
        Some(s) => {
            let d = parse_duration(&format!("{name}.{field}"), s)?;
            if d.is_nan() || d <= 0.0 {
                return Err(Error::invalid_arg(&format!("{name}.{field}"), "must be positive"));
            }
            Ok(d)
        }
    }
}

/// Parses every YAML document of `text`; errors name `file` and the line.
pub fn parse_scenarios(file: &str, text: &str) -> Result<Vec<ScenarioSpec>> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let y = ScenarioYaml::deserialize(doc).map_err(|e| {
            let at = e.location().map(|l| format!("{file}:{}", l.line())).unwrap_or_else(|| file.to_string());
            Error::invalid_arg("scenario", format!("{at}: {e}"))
        })?;
        out.push(spec_of(file, y)?);
    }
    if out.is_empty() {
        return Err(Error::invalid_arg("scenario", format!("{file}: no scenario document")));
    }
    Ok(out)
}

fn spec_of(file: &str, y: ScenarioYaml) -> Result<ScenarioSpec> {
    let n = format!("{file}: scenario '{}'", y.name);
    let kind = match y.kind.as_str() {
        "leaky" => Kind::Leaky,
        "trigger" => Kind::Trigger,
        "counter" => Kind::Counter,
        "distinct" => Kind::Distinct,
        other => return Err(Error::invalid_arg("scenario", format!("{n}: unknown type '{other}' (leaky, trigger, counter, distinct)"))),
    };
    let filter = expr::parse(&format!("{n}: filter"), y.filter.as_deref().unwrap_or(""))?;
    let capacity = y.capacity.unwrap_or(match kind {
        Kind::Trigger => 0,
        Kind::Counter => -1,
        _ => 5,
    });
    if matches!(kind, Kind::Leaky | Kind::Distinct) && capacity < 1 {
        return Err(Error::invalid_arg("scenario", format!("{n}: capacity must be at least 1")));
    }
    let leakspeed = dur(&n, "leakspeed", &y.leakspeed, 10.0)?;
    if kind == Kind::Leaky && y.leakspeed.is_none() {
        return Err(Error::invalid_arg("scenario", format!("{n}: a leaky scenario needs leakspeed")));
    }
    let duration = dur(&n, "duration", &y.duration, leakspeed * capacity.max(1) as f64)?;
    if kind == Kind::Distinct && y.distinct.is_none() {
        return Err(Error::invalid_arg("scenario", format!("{n}: a distinct scenario needs 'distinct' (the field to count)")));
    }
    let blackhole = match &y.blackhole {
        None => 0.0,
        Some(s) => parse_duration(&format!("{n}: blackhole"), s)?,
    };
    let mut labels: Vec<(String, String)> = y
        .labels
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_yaml_ng::Value::String(s) => s,
                other => serde_yaml_ng::to_string(&other).unwrap_or_default().trim().to_string(),
            };
            (k, s)
        })
        .collect();
    labels.sort();
    let _ = (y.debug, y.reprocess, y.cache_size, y.references, y.format);
    Ok(ScenarioSpec {
        name: y.name,
        description: y.description.unwrap_or_default(),
        kind,
        filter,
        groupby: y.groupby.as_deref().map(expr::field_of),
        capacity,
        leakspeed,
        duration,
        distinct: y.distinct.as_deref().map(expr::field_of),
        blackhole,
        labels,
    })
}

const MAX_EVIDENCE: usize = 32;

impl Scenario {
    pub fn new(spec: ScenarioSpec) -> Self {
        Self { spec, buckets: HashMap::new(), blackholed: HashMap::new() }
    }

    /// Feeds one event (already past the allowlist); returns an overflow.
    pub fn feed<'a>(&mut self, time: f64, get: &impl Fn(&str) -> Option<&'a str>, evidence: [u8; 32]) -> Option<Overflow> {
        let s = &self.spec;
        if !s.filter.eval(get) {
            return None;
        }
        let key = match &s.groupby {
            Some(g) => get(g)?,
            None => "",
        };
        if let Some(until) = self.blackholed.get(key) {
            if time < *until {
                return None;
            }
            self.blackholed.remove(key);
        }
        let (kind, name, cap, leak, dur) = (s.kind, s.name.clone(), s.capacity, s.leakspeed, s.duration);
        let distinct_value = match kind {
            Kind::Distinct => Some(s.distinct.as_ref().and_then(|d| get(d))?),
            _ => None,
        };
        // CrowdSec's Uniq: a value this bucket was already poured is discarded
        if let (Kind::Leaky | Kind::Counter, Some(field)) = (kind, &s.distinct) {
            let value = get(field).unwrap_or("");
            let b = self.bucket(key, time);
            if b.seen.contains(value) {
                return None;
            }
            if b.seen.len() < MAX_SEEN {
                b.seen.insert(value.to_string());
            }
        }
        let overflow = match kind {
            Kind::Trigger => Some(Overflow { scenario: name, key: key.to_string(), time, count: 1, evidence: vec![evidence] }),
            Kind::Leaky => {
                let b = self.bucket(key, time);
                b.level = (b.level - (time - b.last).max(0.0) / leak).max(0.0);
                b.last = time.max(b.last);
                push_evidence(b, evidence);
                b.count += 1;
                // rate-limiter view: overflow when less than one token is left
                if b.level > cap as f64 - 1.0 {
                    let b = self.buckets.remove(key).unwrap();
                    Some(Overflow { scenario: name, key: key.to_string(), time, count: b.count, evidence: b.evidence })
                } else {
                    b.level += 1.0;
                    None
                }
            }
            Kind::Counter => {
                let b = self.bucket(key, time);
                let done = if time - b.first >= dur {
                    let out =
                        Overflow { scenario: name, key: key.to_string(), time, count: b.count, evidence: std::mem::take(&mut b.evidence) };
                    b.first = time;
                    b.count = 0;
                    Some(out)
                } else {
                    None
                };
                b.count += 1;
                push_evidence(b, evidence);
                done
            }
            Kind::Distinct => {
                let value = distinct_value.unwrap_or_default();
                let b = self.bucket(key, time);
                if time - b.first >= dur {
                    *b = fresh(time);
                }
                push_evidence(b, evidence);
                b.count += 1;
                let h =
                    b.hll.get_or_insert_with(|| HyperLogLogPlus::new(14, BuildHasherDefault::default()).expect("precision 14 is valid"));
                h.insert(value);
                let distinct = h.count().round() as i64;
                if distinct > cap {
                    let b = self.buckets.remove(key).unwrap();
                    Some(Overflow { scenario: name, key: key.to_string(), time, count: distinct as u64, evidence: b.evidence })
                } else {
                    None
                }
            }
        };
        if overflow.is_some() && self.spec.blackhole > 0.0 {
            self.blackholed.insert(key.to_string(), time + self.spec.blackhole);
        }
        overflow
    }

    fn bucket(&mut self, key: &str, time: f64) -> &mut Bucket {
        if !self.buckets.contains_key(key) {
            self.buckets.insert(key.to_string(), fresh(time));
        }
        self.buckets.get_mut(key).unwrap()
    }

    /// Current fill of `key`'s bucket at `time` (for `explain`).
    pub fn level(&self, key: &str, time: f64) -> Option<f64> {
        self.buckets.get(key).map(|b| match self.spec.kind {
            Kind::Leaky => (b.level - (time - b.last).max(0.0) / self.spec.leakspeed).max(0.0),
            _ => b.count as f64,
        })
    }

    /// Drops empty leaky buckets and finished windows (bounded memory).
    pub fn gc(&mut self, now: f64) {
        let s = &self.spec;
        let (kind, leak, dur) = (s.kind, s.leakspeed, s.duration);
        self.buckets.retain(|_, b| match kind {
            Kind::Leaky => b.level - (now - b.last) / leak > 0.0,
            _ => now - b.first < dur * 2.0,
        });
        self.blackholed.retain(|_, until| *until > now);
    }

    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }
}

fn fresh(time: f64) -> Bucket {
    Bucket { level: 0.0, last: time, first: time, count: 0, hll: None, seen: HashSet::new(), evidence: Vec::new() }
}

fn push_evidence(b: &mut Bucket, e: [u8; 32]) {
    if b.evidence.len() == MAX_EVIDENCE {
        b.evidence.remove(0);
    }
    b.evidence.push(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(y: &str) -> ScenarioSpec {
        parse_scenarios("t.yaml", y).unwrap().remove(0)
    }

    #[test]
    fn leaky_overflows_on_event_that_finds_it_full() {
        let mut s = Scenario::new(spec("type: leaky\nname: bf\nfilter: \"evt.Meta.kind == 'fail'\"\ngroupby: evt.Meta.ip\ncapacity: 3\nleakspeed: 10s\nblackhole: 1m\nlabels:\n  remediation: true\n"));
        let ev = |ip: &'static str| {
            move |k: &str| match k {
                "kind" => Some("fail"),
                "ip" => Some(ip),
                _ => None,
            }
        };
        let a = ev("1.1.1.1");
        assert!(s.feed(0.0, &a, [0; 32]).is_none());
        assert!(s.feed(1.0, &a, [1; 32]).is_none());
        assert!(s.feed(2.0, &a, [2; 32]).is_none());
        let o = s.feed(3.0, &a, [3; 32]).unwrap();
        assert_eq!((o.key.as_str(), o.count, o.evidence.len()), ("1.1.1.1", 4, 4));
        // blackholed for a minute
        for t in 4..10 {
            assert!(s.feed(t as f64, &a, [0; 32]).is_none());
        }
        // slow source: leaks faster than it fills
        let b = ev("2.2.2.2");
        for t in 0..20 {
            assert!(s.feed(t as f64 * 10.0, &b, [0; 32]).is_none());
        }
        // filter
        assert!(s.feed(0.0, &|k: &str| if k == "ip" { Some("3.3.3.3") } else { None }, [0; 32]).is_none());
    }

    #[test]
    fn distinct_counts_with_hll() {
        let mut s = Scenario::new(spec("type: distinct\nname: scan\ngroupby: ip\ndistinct: port\ncapacity: 20\nduration: 1m\n"));
        let mut fired = None;
        for p in 0..100u32 {
            let port = p.to_string();
            // repeated values don't count
            for _ in 0..3 {
                let get = |k: &str| match k {
                    "ip" => Some("9.9.9.9"),
                    "port" => Some(port.as_str()),
                    _ => None,
                };
                if let Some(o) = s.feed(p as f64 * 0.1, &get, [0; 32]) {
                    fired.get_or_insert((p, o.count));
                }
            }
        }
        assert_eq!(fired, Some((20, 21)));
    }

    #[test]
    fn distinct_on_a_leaky_bucket_pours_each_value_once() {
        let mut s =
            Scenario::new(spec("type: leaky\nname: enum\ngroupby: evt.Meta.ip\ndistinct: evt.Meta.user\ncapacity: 3\nleakspeed: 10s\n"));
        let ev = |user: &'static str| {
            move |k: &str| match k {
                "ip" => Some("1.1.1.1"),
                "user" => Some(user),
                _ => None,
            }
        };
        // the same user again and again never fills the bucket
        for t in 0..20 {
            assert!(s.feed(t as f64 * 0.1, &ev("root"), [0; 32]).is_none());
        }
        assert_eq!(s.level("1.1.1.1", 2.0).map(|l| l.round()), Some(1.0));
        assert!(s.feed(2.0, &ev("a"), [0; 32]).is_none());
        assert!(s.feed(2.1, &ev("b"), [0; 32]).is_none());
        assert!(s.feed(2.2, &ev("a"), [0; 32]).is_none());
        // the fourth distinct user finds three in the bucket: overflow, and the bucket (and its memory) is gone
        let o = s.feed(2.3, &ev("c"), [0; 32]).unwrap();
        assert_eq!(o.count, 4);
        assert!(s.feed(2.4, &ev("root"), [0; 32]).is_none());
        assert_eq!(s.level("1.1.1.1", 2.4).map(|l| l.round()), Some(1.0));
        // an event without the field counts as the value ""
        let none = |k: &str| if k == "ip" { Some("2.2.2.2") } else { None };
        assert!(s.feed(0.0, &none, [0; 32]).is_none());
        assert!(s.feed(0.1, &none, [0; 32]).is_none());
        assert_eq!(s.level("2.2.2.2", 0.1).map(|l| l.round()), Some(1.0));
    }

    #[test]
    fn bad_scenarios_name_file_and_problem() {
        let e = parse_scenarios("s.yaml", "type: leaky\nname: x\ncapacity: 'five'\nleakspeed: 1s\n").unwrap_err();
        assert!(e.message.contains("s.yaml:3"), "{}", e.message);
        assert!(parse_scenarios("s.yaml", "type: bogus\nname: x\n").unwrap_err().message.contains("unknown type"));
        assert!(parse_scenarios("s.yaml", "type: leaky\nname: x\ncapacity: 3\n").unwrap_err().message.contains("leakspeed"));
        assert!(parse_scenarios("s.yaml", "type: leaky\nname: x\nleakspeed: 1s\nfilter: \"a ==\"\n").is_err());
        assert!(parse_scenarios("s.yaml", "type: leaky\nname: x\nleakspeed: 1s\nunknownkey: 1\n").is_err());
    }

    #[test]
    fn trigger_and_counter() {
        let mut t = Scenario::new(spec("type: trigger\nname: t\ngroupby: ip\nblackhole: 10s\n"));
        let g = |k: &str| if k == "ip" { Some("1.2.3.4") } else { None };
        assert!(t.feed(0.0, &g, [0; 32]).is_some());
        assert!(t.feed(5.0, &g, [0; 32]).is_none());
        assert!(t.feed(10.0, &g, [0; 32]).is_some());
        let mut c = Scenario::new(spec("type: counter\nname: c\ngroupby: ip\nduration: 10s\n"));
        for i in 0..5 {
            assert!(c.feed(i as f64, &g, [0; 32]).is_none());
        }
        assert_eq!(c.feed(10.0, &g, [0; 32]).unwrap().count, 5);
    }
}
