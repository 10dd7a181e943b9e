//! What the operations return.

use crate::{canon, rewrite};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub expr: String,
    pub tex: String,
    pub variables: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Simplified {
    pub expr: String,
    /// The result equals the input wherever these hold (cancelled factors are non-zero).
    pub conditions: Vec<String>,
    /// With user rules: the rewrite steps from the input to the result.
    pub steps: Option<Vec<ProofStep>>,
}

impl From<canon::Simplified> for Simplified {
    fn from(s: canon::Simplified) -> Self {
        Simplified { expr: s.expr, conditions: s.conditions, steps: None }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rationalized {
    pub expr: String,
    pub numerator: String,
    pub denominator: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Factored {
    pub expr: String,
    /// False when a limit left a factor unsplit (it may be reducible).
    pub complete: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// One proof step: the rule, the subterm it produced, the whole term after it (mathjs syntax,
/// and as the s-expression `checkProof` replays for rewrite proofs).
#[derive(Clone, Debug, PartialEq)]
pub struct ProofStep {
    pub rule: String,
    pub direction: Option<Direction>,
    pub subterm: String,
    pub result: String,
    pub term: Option<String>,
}

impl From<rewrite::Step> for ProofStep {
    fn from(s: rewrite::Step) -> Self {
        let direction = if s.direction == "backward" { Direction::Backward } else { Direction::Forward };
        ProofStep { rule: s.rule, direction: Some(direction), subterm: s.subterm, result: s.result, term: Some(s.term) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Rewrite,
    NormalForm,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Rewrite => "rewrite",
            Method::NormalForm => "normal-form",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Equivalence {
    Equal { method: Method, proof: Vec<ProofStep>, conditions: Vec<String> },
    Different { counterexample: BTreeMap<String, f64>, values: [f64; 2] },
    Unknown { reason: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProofCheck {
    pub valid: bool,
    pub reason: Option<String>,
}

impl ProofCheck {
    pub fn valid() -> Self {
        ProofCheck { valid: true, reason: None }
    }
    pub fn invalid(reason: impl Into<String>) -> Self {
        ProofCheck { valid: false, reason: Some(reason.into()) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rewritten {
    pub expr: String,
    /// `saturated`, `iterationLimit`, `nodeLimit`, `timeLimit` or `other`.
    pub stop_reason: String,
}
