//! Syntax tree of a contract: access policies (Cedar's grammar), rate limits, SLOs,
//! assertions and schema declarations.

use crate::diag::Span;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid {
    /// Entity type path, e.g. `User` or `App::Group`.
    pub ty: String,
    pub id: String,
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.ty, quote(&self.id))
    }
}

pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    Principal,
    Action,
    Resource,
    Context,
}

impl Var {
    pub fn name(self) -> &'static str {
        match self {
            Var::Principal => "principal",
            Var::Action => "action",
            Var::Resource => "resource",
            Var::Context => "context",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
        }
    }
}

/// One element of a `like` pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum PatElem {
    Char(char),
    Wildcard,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Long(i64),
    Str(String),
    Entity(Uid),
    Var(Var),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Has(Box<Expr>, String),
    Attr(Box<Expr>, String),
    Like(Box<Expr>, Vec<PatElem>),
    Is(Box<Expr>, String, Option<Box<Expr>>),
    /// `recv.name(args)`: contains, containsAll, containsAny, isEmpty, isInRange, isIpv4, ...
    Method(Box<Expr>, String, Vec<Expr>),
    /// Extension constructor: `ip("10.0.0.0/8")`.
    Call(String, Vec<Expr>),
    Set(Vec<Expr>),
    Record(Vec<(String, Expr)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Permit,
    Forbid,
}

/// A scope constraint on principal or resource.
#[derive(Clone, Debug, PartialEq)]
pub enum ScopeCon {
    Any,
    Eq(Uid),
    In(Uid),
    Is(String),
    IsIn(String, Uid),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionCon {
    Any,
    Eq(Uid),
    In(Vec<Uid>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub when: bool,
    pub expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub id: String,
    pub annotations: Vec<(String, String)>,
    pub effect: Effect,
    pub principal: ScopeCon,
    pub action: ActionCon,
    pub resource: ScopeCon,
    pub conditions: Vec<Condition>,
    pub span: Span,
    /// Span of the `principal`/`action`/`resource` scope words, for diagnostics.
    pub scope_spans: [Span; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExceed {
    Deny,
    Throttle,
    Log,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RateLimit {
    pub id: String,
    pub key: Expr,
    pub burst: u64,
    pub refill: u64,
    /// Refill period in milliseconds.
    pub per_ms: u64,
    pub on_exceed: OnExceed,
    pub when: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Objective {
    /// The `percentile`-th percentile of `metric` stays at or below `max`.
    Latency { percentile: f64, max: f64 },
    /// good / total stays at or above `min` (0..1).
    Availability { min: f64 },
    /// errors / total stays at or below `max` (0..1).
    ErrorRate { max: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachAction {
    Alert,
    Throttle,
    Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub id: String,
    /// The metric names the objective reads (latency: one; availability: good,total; error rate: errors,total).
    pub metrics: Vec<String>,
    pub objective: Objective,
    pub window_ms: u64,
    pub on_breach: BreachAction,
    pub span: Span,
    /// Source text of the fields, kept for `fmt`.
    pub fields: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub id: String,
    /// `never permit when {..}` (true) or `always permit when {..}` (false: never deny).
    pub never_permit: bool,
    pub cond: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Bool,
    Long,
    String,
    Ip,
    Entity(String),
    Set(Box<Type>),
    Record(Vec<AttrDecl>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttrDecl {
    pub name: String,
    pub ty: Type,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EntityDecl {
    pub names: Vec<String>,
    pub parents: Vec<String>,
    pub attrs: Vec<AttrDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDecl {
    pub names: Vec<String>,
    pub parents: Vec<String>,
    pub principals: Vec<String>,
    pub resources: Vec<String>,
    pub context: Vec<AttrDecl>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Contract {
    pub policies: Vec<Policy>,
    pub rate_limits: Vec<RateLimit>,
    pub slos: Vec<Slo>,
    pub assertions: Vec<Assertion>,
    pub entities: Vec<EntityDecl>,
    pub actions: Vec<ActionDecl>,
}
