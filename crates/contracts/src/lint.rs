//! Static analysis findings, each backed by the SAT engine: a DRAT-checked proof for "never"
//! claims, a replayed request for "overlap" claims. Pairwise checks are bounded by
//! `max_queries`; when the bound is hit the report says so.

use crate::analysis::{fires, holds, solve, Enc, Outcome};
use crate::ast::*;
use crate::value::{Entities, Request};

#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: &'static str,
    pub ids: Vec<String>,
    pub message: String,
    /// "proved" (DRAT-checked UNSAT) or "witness" (replayed request).
    pub evidence: &'static str,
    pub witness: Option<(Request, Entities)>,
}

pub struct LintReport {
    pub findings: Vec<Finding>,
    pub queries: usize,
    pub truncated: bool,
}

fn actions_may_overlap(a: &ActionCon, b: &ActionCon) -> bool {
    match (a, b) {
        (ActionCon::Eq(x), ActionCon::Eq(y)) => x == y,
        _ => true,
    }
}

fn scope_may_overlap(a: &ScopeCon, b: &ScopeCon) -> bool {
    match (a, b) {
        (ScopeCon::Eq(x), ScopeCon::Eq(y)) => x == y,
        (ScopeCon::Eq(x), ScopeCon::Is(t)) | (ScopeCon::Is(t), ScopeCon::Eq(x)) => x.ty == *t,
        (ScopeCon::Is(s), ScopeCon::Is(t)) => s == t,
        _ => true,
    }
}

pub fn lint(c: &Contract, max_queries: usize) -> LintReport {
    let ps = &c.policies;
    let mut r = LintReport {
        findings: Vec::new(),
        queries: 0,
        truncated: false,
    };
    let mut dead = vec![false; ps.len()];
    for (i, p) in ps.iter().enumerate() {
        let mut enc = Enc::new();
        let f = enc.policy(p);
        r.queries += 1;
        if let Outcome::Proved { .. } = solve(&mut enc, f, &|req, s| fires(p, req, s)) {
            dead[i] = true;
            r.findings.push(Finding {
                kind: "never-fires",
                ids: vec![p.id.clone()],
                message: format!(
                    "policy '{}' can never apply (its scope and conditions are contradictory)",
                    p.id
                ),
                evidence: "proved",
                witness: None,
            });
            continue;
        }
        for (k, cnd) in p.conditions.iter().enumerate() {
            let mut enc = Enc::new();
            let v = enc.cond(&cnd.expr);
            r.queries += 1;
            if let Outcome::Proved { .. } = solve(&mut enc, -v, &|req, s| !holds(&cnd.expr, req, s))
            {
                r.findings.push(Finding {
                    kind: "always-true",
                    ids: vec![p.id.clone()],
                    message: format!("condition {} of policy '{}' is always true whenever it evaluates without error; {}", k + 1, p.id, if cnd.when { "drop it" } else { "the 'unless' makes the policy never apply" }),
                    evidence: "proved",
                    witness: None,
                });
            }
        }
    }
    'pairs: for i in 0..ps.len() {
        for j in 0..ps.len() {
            if i == j || dead[i] || dead[j] {
                continue;
            }
            let (p, q) = (&ps[i], &ps[j]);
            if !actions_may_overlap(&p.action, &q.action)
                || !scope_may_overlap(&p.principal, &q.principal)
                || !scope_may_overlap(&p.resource, &q.resource)
            {
                continue;
            }
            if r.queries >= max_queries {
                r.truncated = true;
                break 'pairs;
            }
            // p shadowed by q: whenever p applies, q applies too
            let shadow_kind = match (p.effect, q.effect) {
                (Effect::Permit, Effect::Forbid) => Some("overridden"),
                (Effect::Permit, Effect::Permit) if i > j => Some("redundant"),
                (Effect::Forbid, Effect::Forbid) if i > j => Some("redundant"),
                _ => None,
            };
            if let Some(kind) = shadow_kind {
                let mut enc = Enc::new();
                let (fp, fq) = (enc.policy(p), enc.policy(q));
                let t = enc.and(&[fp, -fq]);
                r.queries += 1;
                if let Outcome::Proved { .. } =
                    solve(&mut enc, t, &|req, s| fires(p, req, s) && !fires(q, req, s))
                {
                    let message = if kind == "overridden" {
                        format!(
                            "permit '{}' never takes effect: forbid '{}' applies whenever it does",
                            p.id, q.id
                        )
                    } else {
                        format!("policy '{}' is shadowed by '{}' (it applies only where '{}' already does)", p.id, q.id, q.id)
                    };
                    r.findings.push(Finding {
                        kind: if kind == "overridden" {
                            "shadowed-by-forbid"
                        } else {
                            "shadowed"
                        },
                        ids: vec![p.id.clone(), q.id.clone()],
                        message,
                        evidence: "proved",
                        witness: None,
                    });
                    continue;
                }
            }
            if p.effect == Effect::Permit && q.effect == Effect::Forbid {
                let mut enc = Enc::new();
                let (fp, fq) = (enc.policy(p), enc.policy(q));
                let t = enc.and(&[fp, fq]);
                r.queries += 1;
                if let Outcome::Witness { request, entities } =
                    solve(&mut enc, t, &|req, s| fires(p, req, s) && fires(q, req, s))
                {
                    r.findings.push(Finding {
                        kind: "overlap",
                        ids: vec![p.id.clone(), q.id.clone()],
                        message: format!("permit '{}' and forbid '{}' both apply to some requests (the forbid wins)", p.id, q.id),
                        evidence: "witness",
                        witness: Some((request, entities)),
                    });
                }
            }
        }
    }
    for l in &c.rate_limits {
        if let Some(w) = &l.when {
            let mut enc = Enc::new();
            let v = enc.fires(
                [&ScopeCon::Any, &ScopeCon::Any],
                &ActionCon::Any,
                &[(true, w)],
            );
            r.queries += 1;
            if let Outcome::Proved { .. } = solve(&mut enc, v, &|req, s| holds(w, req, s)) {
                r.findings.push(Finding {
                    kind: "limit-never-triggers",
                    ids: vec![l.id.clone()],
                    message: format!(
                        "rate limit '{}' can never trigger: its 'when' condition is never true",
                        l.id
                    ),
                    evidence: "proved",
                    witness: None,
                });
            }
        }
    }
    r
}

/// SLOs that read metrics the caller does not export.
pub fn unknown_metrics(c: &Contract, known: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &c.slos {
        for m in &s.metrics {
            if !known.contains(m) {
                let sug = crate::diag::did_you_mean(m, known.iter().map(|k| k.as_str()));
                out.push(Finding {
                    kind: "unknown-metric",
                    ids: vec![s.id.clone()],
                    message: format!(
                        "slo '{}' reads metric '{m}', which is not among the known metrics{}",
                        s.id,
                        sug.map(|x| format!(" (did you mean '{x}'?)"))
                            .unwrap_or_default()
                    ),
                    evidence: "static",
                    witness: None,
                });
            }
        }
    }
    out
}
