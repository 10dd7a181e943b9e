//! Options as the TS layer validated them, turned into the engine's option types.

use crate::canon::Options;
use crate::rewrite::{self, RewriteLimits, Rule};
use omnitide_common::Result;
use std::time::{Duration, Instant};

/// `limits` (every field optional; the engine's defaults fill the rest).
#[derive(Clone, Debug, Default)]
pub struct LimitsIn {
    pub max_terms: Option<u64>,
    pub max_exponent: Option<u64>,
    pub max_depth: Option<u64>,
    pub nodes: Option<u64>,
    pub iterations: Option<u64>,
    pub time_ms: Option<u64>,
    pub factor_max_degree: Option<u64>,
    pub factor_time_ms: Option<u64>,
}

/// A user rewrite rule: `'lhs -> rhs'` (or `<->`) text, or its two sides.
#[derive(Clone, Debug)]
pub enum RuleIn {
    Text(String),
    Sides { l: String, r: String, name: Option<String> },
}

/// The options every operation takes (`assume`, `allowCancel`, `trig`, `rules`, `limits`,
/// and `defaultRules` for the proof operations).
#[derive(Clone, Debug, Default)]
pub struct OptionsIn {
    pub real: Option<bool>,
    pub positive: Vec<String>,
    pub allow_cancel: Option<bool>,
    pub trig: Option<bool>,
    pub rules: Vec<RuleIn>,
    pub limits: LimitsIn,
    pub default_rules: Option<bool>,
}

impl OptionsIn {
    /// The canonical-form options. `limits.timeMs` becomes a deadline counted from now, so
    /// call this where the work starts (on the worker thread for async calls).
    pub fn canon(&self) -> Options {
        let mut o = Options::default();
        if let Some(r) = self.real {
            o.real = r;
        }
        o.positive.extend(self.positive.iter().cloned());
        if let Some(b) = self.allow_cancel {
            o.allow_cancel = b;
        }
        if let Some(b) = self.trig {
            o.trig = b;
        }
        let l = &self.limits;
        if let Some(x) = l.max_terms {
            o.limits.max_terms = x as usize;
        }
        if let Some(x) = l.max_exponent {
            o.limits.max_exponent = x;
        }
        if let Some(x) = l.max_depth {
            o.limits.max_depth = x as usize;
        }
        if let Some(x) = l.factor_max_degree {
            o.limits.factor_max_degree = x as usize;
        }
        if let Some(x) = l.factor_time_ms {
            o.limits.factor_time_ms = x;
        }
        if let Some(x) = l.time_ms {
            o.limits.deadline = Some(Instant::now() + Duration::from_millis(x));
        }
        o
    }

    /// E-graph limits: `nodes`, `iterations`, `timeMs` (default 2000 ms).
    pub fn rewrite_limits(&self) -> RewriteLimits {
        let mut r = RewriteLimits::default();
        if let Some(x) = self.limits.nodes {
            r.nodes = x as usize;
        }
        if let Some(x) = self.limits.iterations {
            r.iterations = x as usize;
        }
        if let Some(x) = self.limits.time_ms {
            r.time_ms = x;
        }
        r
    }

    /// The user's rules, parsed (unnamed rules are `rule<i>`).
    pub fn user_rules(&self) -> Result<Vec<Rule>> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                RuleIn::Text(s) => rewrite::parse_rule(&format!("rule{i}"), s),
                RuleIn::Sides { l, r, name } => {
                    let name = name.clone().unwrap_or_else(|| format!("rule{i}"));
                    rewrite::parse_rule(&name, &format!("{l} -> {r}"))
                }
            })
            .collect()
    }

    /// The default algebra rules (unless `defaultRules` says otherwise; `default` when
    /// unset) followed by the user's.
    pub fn rules(&self, default: bool) -> Result<Vec<Rule>> {
        let mut all = if self.default_rules.unwrap_or(default) { rewrite::default_rules() } else { Vec::new() };
        all.extend(self.user_rules()?);
        Ok(all)
    }
}
