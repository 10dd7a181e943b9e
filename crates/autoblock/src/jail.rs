//! fail2ban's jail logic (FailManager + FailTicket + ban time increment of
//! fail2ban 1.0), reproduced exactly so the same failures give the same bans:
//! - a failure ID's ticket is dropped when its last failure is `findtime` old;
//! - when a new failure extends the window beyond `findtime`, the retry count
//!   is re-estimated from the rate so far (`Ticket.adjustTime`, with Python's
//!   round-half-to-even);
//! - `retry >= maxretry` bans and forgets the ticket;
//! - `bantime.increment`: `bantime * 2^min(n,20) * factor` or the multipliers,
//!   capped by `bantime.maxtime`, `n` = earlier bans of the ID.

use std::collections::HashMap;

use omnitide_common::{Error, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JailConfig {
    pub name: String,
    #[serde(default = "default_maxretry")]
    pub maxretry: u32,
    /// seconds
    #[serde(default = "default_findtime")]
    pub findtime: f64,
    /// seconds; negative = permanent
    #[serde(default = "default_bantime")]
    pub bantime: f64,
    #[serde(default)]
    pub increment: Option<Increment>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Increment {
    #[serde(default = "one")]
    pub factor: f64,
    #[serde(default)]
    pub multipliers: Vec<f64>,
    /// seconds; 0 = no cap
    #[serde(default)]
    pub maxtime: f64,
}

fn one() -> f64 {
    1.0
}
fn default_maxretry() -> u32 {
    5
}
fn default_findtime() -> f64 {
    600.0
}
fn default_bantime() -> f64 {
    600.0
}

impl JailConfig {
    pub fn validate(&self) -> Result<()> {
        if self.maxretry == 0 {
            return Err(Error::invalid_arg("jail.maxretry", "must be at least 1"));
        }
        if !(self.findtime.is_finite() && self.findtime > 0.0) {
            return Err(Error::invalid_arg("jail.findtime", "must be a positive number of seconds"));
        }
        if !self.bantime.is_finite() || self.bantime == 0.0 {
            return Err(Error::invalid_arg("jail.bantime", "must be non-zero seconds (negative = permanent)"));
        }
        if let Some(i) = &self.increment {
            if !(i.factor.is_finite() && i.factor > 0.0)
                || i.multipliers.iter().any(|m| !m.is_finite() || *m <= 0.0)
                || i.maxtime.is_nan()
                || i.maxtime < 0.0
            {
                return Err(Error::invalid_arg("jail.increment", "factor/multipliers must be positive, maxtime >= 0"));
            }
        }
        Ok(())
    }
}

/// fail2ban duration strings: `600`, `10m`, `1h30m`, `1d`, `1w`, `-1`.
pub fn parse_duration(arg: &str, s: &str) -> Result<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return Ok(v);
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let mult = match unit.to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" | "seconds" => 1.0,
            "m" | "mi" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 7.0 * 86400.0,
            "mo" | "month" | "months" => 30.4375 * 86400.0,
            "y" | "year" | "years" => 365.25 * 86400.0,
            _ => return Err(Error::invalid_arg(arg, format!("unknown time unit '{unit}' in '{s}'"))),
        };
        let n: f64 = if num.is_empty() { 1.0 } else { num.parse().map_err(|_| Error::invalid_arg(arg, format!("bad number in '{s}'")))? };
        total += n * mult;
        num.clear();
        any = true;
    }
    if !num.is_empty() {
        total += num.parse::<f64>().map_err(|_| Error::invalid_arg(arg, format!("bad number in '{s}'")))?;
        any = true;
    }
    if !any {
        return Err(Error::invalid_arg(arg, format!("expected a duration, got '{s}'")));
    }
    Ok(total)
}

#[derive(Debug, Clone)]
struct Ticket {
    first: f64,
    last: f64,
    retry: i64,
    /// event hashes that made up this ticket (evidence), newest last, bounded
    evidence: Vec<[u8; 32]>,
}

/// A ban produced by a jail.
#[derive(Debug, Clone, PartialEq)]
pub struct JailBan {
    pub id: String,
    pub time: f64,
    /// seconds, negative = permanent
    pub duration: f64,
    pub failures: i64,
    /// 0 for a first ban
    pub ban_count: u32,
    pub evidence: Vec<[u8; 32]>,
}

pub const MAX_EVIDENCE: usize = 32;

pub struct Jail {
    pub cfg: JailConfig,
    tickets: HashMap<String, Ticket>,
    /// id -> (ban end, earlier ban count)
    banned: HashMap<String, (f64, u32)>,
    ban_counts: HashMap<String, u32>,
}

/// Python 3 `round()`: half to even.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

impl Jail {
    pub fn new(cfg: JailConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self { cfg, tickets: HashMap::new(), banned: HashMap::new(), ban_counts: HashMap::new() })
    }

    /// Is `id` banned at time `t`?
    pub fn is_banned(&self, id: &str, t: f64) -> bool {
        self.banned.get(id).is_some_and(|(end, _)| *end < 0.0 || t < *end)
    }

    /// Current retry count of `id` (for `explain`).
    pub fn retries(&self, id: &str) -> i64 {
        self.tickets.get(id).map_or(0, |t| t.retry)
    }

    /// Records one failure of `id` at `t`; returns a ban when it reaches maxretry.
    pub fn add_failure(&mut self, id: &str, t: f64, evidence: [u8; 32]) -> Option<JailBan> {
        let findtime = self.cfg.findtime;
        // FailManager.cleanup: a ticket whose last failure is findtime old is gone.
        if self.tickets.get(id).is_some_and(|k| k.last <= t - findtime) {
            self.tickets.remove(id);
        }
        let retry = match self.tickets.get_mut(id) {
            Some(k) => {
                // Ticket.adjustTime
                if t > k.last {
                    if k.first < t - findtime {
                        k.retry = py_round(k.retry as f64 / (t - k.first) * findtime);
                        k.first = t - findtime;
                    }
                    k.last = t;
                }
                k.retry += 1;
                if k.evidence.len() == MAX_EVIDENCE {
                    k.evidence.remove(0);
                }
                k.evidence.push(evidence);
                k.retry
            }
            None => {
                self.tickets.insert(id.to_string(), Ticket { first: t, last: t, retry: 1, evidence: vec![evidence] });
                1
            }
        };
        if retry < self.cfg.maxretry as i64 {
            return None;
        }
        let ticket = self.tickets.remove(id).unwrap();
        if self.is_banned(id, t) {
            // fail2ban: "already banned"
            return None;
        }
        let count = *self.ban_counts.get(id).unwrap_or(&0);
        let duration = self.ban_duration(count);
        self.ban_counts.insert(id.to_string(), count + 1);
        self.banned.insert(id.to_string(), (if duration < 0.0 { -1.0 } else { t + duration }, count));
        Some(JailBan { id: id.to_string(), time: t, duration, failures: ticket.retry, ban_count: count, evidence: ticket.evidence })
    }

    /// The ban time of the `count`-th earlier ban (fail2ban's default formula
    /// `bantime * 2^min(count,20) * factor`, or `bantime * multipliers[count]`).
    pub fn ban_duration(&self, count: u32) -> f64 {
        let base = self.cfg.bantime;
        let Some(inc) = &self.cfg.increment else {
            return base;
        };
        if base < 0.0 {
            return base;
        }
        let mut d = if inc.multipliers.is_empty() {
            base * f64::from(1u32 << count.min(20)) * inc.factor
        } else {
            base * inc.multipliers[(count as usize).min(inc.multipliers.len() - 1)]
        };
        if inc.maxtime > 0.0 && d > inc.maxtime {
            d = inc.maxtime;
        }
        d
    }

    /// Removes a ban (unban); returns whether it existed.
    pub fn unban(&mut self, id: &str) -> bool {
        self.banned.remove(id).is_some()
    }

    /// Drops expired bans and stale tickets; returns ids whose ban ended.
    pub fn expire(&mut self, now: f64) -> Vec<String> {
        let ended: Vec<String> = self.banned.iter().filter(|(_, (end, _))| *end >= 0.0 && now >= *end).map(|(k, _)| k.clone()).collect();
        for k in &ended {
            self.banned.remove(k);
        }
        let findtime = self.cfg.findtime;
        self.tickets.retain(|_, k| k.last > now - findtime);
        ended
    }

    pub fn tickets(&self) -> usize {
        self.tickets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jail(maxretry: u32, findtime: f64, bantime: f64) -> Jail {
        Jail::new(JailConfig { name: "t".into(), maxretry, findtime, bantime, increment: None }).unwrap()
    }

    #[test]
    fn bans_at_maxretry_within_findtime() {
        let mut j = jail(3, 60.0, 100.0);
        assert!(j.add_failure("a", 0.0, [0; 32]).is_none());
        assert!(j.add_failure("a", 10.0, [1; 32]).is_none());
        let b = j.add_failure("a", 20.0, [2; 32]).unwrap();
        assert_eq!((b.failures, b.duration, b.evidence.len()), (3, 100.0, 3));
        assert!(j.is_banned("a", 119.0) && !j.is_banned("a", 120.0));
        assert_eq!(j.expire(120.0), vec!["a".to_string()]);
    }

    #[test]
    fn slow_attack_rate_estimate_like_fail2ban() {
        // failures every 40 s with findtime 60: adjustTime rescales the count
        let mut j = jail(3, 60.0, 100.0);
        j.add_failure("a", 0.0, [0; 32]);
        j.add_failure("a", 40.0, [0; 32]); // retry 2
                                           // t=80: first=0 < 20 -> retry = round(2/80*60)=round(1.5)=2, +1 = 3 -> ban
        assert!(j.add_failure("a", 80.0, [0; 32]).is_some());
        let mut k = jail(3, 60.0, 100.0);
        k.add_failure("b", 0.0, [0; 32]);
        // 61 s later the ticket is stale (cleanup) -> starts over
        assert!(k.add_failure("b", 61.0, [0; 32]).is_none());
        assert_eq!(k.retries("b"), 1);
    }

    #[test]
    fn increment_and_durations() {
        let mut j = Jail::new(JailConfig {
            name: "t".into(),
            maxretry: 1,
            findtime: 60.0,
            bantime: 10.0,
            increment: Some(Increment { factor: 1.0, multipliers: vec![], maxtime: 35.0 }),
        })
        .unwrap();
        assert_eq!(j.add_failure("a", 0.0, [0; 32]).unwrap().duration, 10.0);
        assert!(j.add_failure("a", 5.0, [0; 32]).is_none()); // already banned
        assert_eq!(j.add_failure("a", 10.0, [0; 32]).unwrap().duration, 20.0);
        assert_eq!(j.add_failure("a", 30.0, [0; 32]).unwrap().duration, 35.0);
        assert_eq!(parse_duration("d", "1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("d", "-1").unwrap(), -1.0);
        assert!(parse_duration("d", "3 parsecs").is_err());
        assert!(Jail::new(JailConfig { name: "x".into(), maxretry: 0, findtime: 1.0, bantime: 1.0, increment: None }).is_err());
    }
}
