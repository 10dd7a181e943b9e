//! Rate limits (per-key token buckets) and SLO evaluation over metric samples.

use crate::ast::*;
use crate::eval::Env;
use crate::value::{Entities, Request, Value};
use std::collections::HashMap;

/// Token-bucket state per (limit, key). Tokens are kept in milli-tokens so refills of a few
/// tokens per second stay exact at millisecond resolution.
#[derive(Default)]
pub struct Buckets {
    state: HashMap<(usize, String), (u64, u64)>,
    /// Keys above this count are refused (a flood of distinct keys must not exhaust memory).
    pub max_keys: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LimitHit {
    pub id: String,
    pub key: String,
    pub action: OnExceed,
}

impl Buckets {
    pub fn new(max_keys: usize) -> Buckets {
        Buckets {
            state: HashMap::new(),
            max_keys,
        }
    }

    /// Charges one token in every applicable limit at time `now_ms`; returns the limits that
    /// were exceeded. A key expression that errors is reported as an error (never a silent pass).
    pub fn take(
        &mut self,
        limits: &[RateLimit],
        req: &Request,
        store: &Entities,
        now_ms: u64,
    ) -> Result<Vec<LimitHit>, String> {
        let env = Env::new(req, store);
        let mut hits = Vec::new();
        for (i, l) in limits.iter().enumerate() {
            if let Some(w) = &l.when {
                match env.eval(w) {
                    Ok(Value::Bool(true)) => {}
                    Ok(Value::Bool(false)) => continue,
                    Ok(v) => {
                        return Err(format!(
                            "rate limit '{}': 'when' is {}, not bool",
                            l.id,
                            v.type_name()
                        ))
                    }
                    Err(e) => return Err(format!("rate limit '{}': {e}", l.id)),
                }
            }
            let key = env
                .eval(&l.key)
                .map_err(|e| format!("rate limit '{}': key: {e}", l.id))?;
            let key = serde_json::to_string(&key.to_json()).unwrap_or_default();
            let k = (i, key.clone());
            if !self.state.contains_key(&k) && self.state.len() >= self.max_keys {
                return Err(format!(
                    "rate limit '{}': more than {} distinct keys tracked",
                    l.id, self.max_keys
                ));
            }
            let cap = l.burst.saturating_mul(1000);
            let (tokens, last) = self.state.get(&k).copied().unwrap_or((cap, now_ms));
            let elapsed = now_ms.saturating_sub(last);
            let refill = (elapsed as u128 * l.refill as u128 * 1000 / l.per_ms as u128)
                .min(cap as u128) as u64;
            let tokens = (tokens + refill).min(cap);
            if tokens >= 1000 {
                self.state.insert(k, (tokens - 1000, now_ms));
            } else {
                self.state.insert(k, (tokens, now_ms));
                hits.push(LimitHit {
                    id: l.id.clone(),
                    key,
                    action: l.on_exceed,
                });
            }
        }
        Ok(hits)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SloReport {
    pub id: String,
    pub value: Option<f64>,
    pub breached: bool,
    pub action: Option<BreachAction>,
    pub reason: String,
}

/// `samples[metric]` is a list of (timestamp ms, value). Only samples within the window ending
/// at `now_ms` count. Latency: the percentile (nearest-rank) of the values; availability and
/// error rate: sums of the two counters.
pub fn evaluate_slos(
    slos: &[Slo],
    samples: &HashMap<String, Vec<(u64, f64)>>,
    now_ms: u64,
) -> Result<Vec<SloReport>, String> {
    let mut out = Vec::new();
    for s in slos {
        let start = now_ms.saturating_sub(s.window_ms);
        let series = |m: &str| -> Result<Vec<f64>, String> {
            let v = samples
                .get(m)
                .ok_or_else(|| format!("slo '{}': no samples for metric '{m}'", s.id))?;
            Ok(v.iter()
                .filter(|(t, _)| *t > start && *t <= now_ms)
                .map(|(_, x)| *x)
                .collect())
        };
        let (value, breached) = match &s.objective {
            Objective::Latency { percentile, max } => {
                let mut v = series(&s.metrics[0])?;
                if v.is_empty() {
                    (None, false)
                } else {
                    v.sort_by(|a, b| a.total_cmp(b));
                    let rank = ((percentile / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
                    let p = v[rank.min(v.len()) - 1];
                    (Some(p), p > *max)
                }
            }
            Objective::Availability { min } => {
                let good: f64 = series(&s.metrics[0])?.iter().sum();
                let total: f64 = series(&s.metrics[1])?.iter().sum();
                if total <= 0.0 {
                    (None, false)
                } else {
                    let r = good / total;
                    (Some(r), r < *min)
                }
            }
            Objective::ErrorRate { max } => {
                let errs: f64 = series(&s.metrics[0])?.iter().sum();
                let total: f64 = series(&s.metrics[1])?.iter().sum();
                if total <= 0.0 {
                    (None, false)
                } else {
                    let r = errs / total;
                    (Some(r), r > *max)
                }
            }
        };
        let reason = match value {
            None => "no data in the window".to_string(),
            Some(v) => format!(
                "{} = {v} ({})",
                s.metrics.join("/"),
                if breached {
                    "objective breached"
                } else {
                    "objective met"
                }
            ),
        };
        out.push(SloReport {
            id: s.id.clone(),
            value,
            breached,
            action: if breached { Some(s.on_breach) } else { None },
            reason,
        });
    }
    Ok(out)
}
