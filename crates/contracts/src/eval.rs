//! Cedar's evaluation semantics: typed operators with errors (a policy whose condition errors
//! is skipped), 64-bit arithmetic where overflow is an error, `in` over the store's hierarchy,
//! default deny, forbid overrides permit.

use crate::ast::*;
use crate::value::{Entities, IpNet, Request, Value};
use std::sync::Arc;

pub type EvalResult<T> = Result<T, String>;

pub struct Env<'a> {
    pub req: &'a Request,
    pub store: &'a Entities,
}

fn type_err(op: &str, want: &str, got: &Value) -> String {
    format!("type error: {op} expects {want}, got {}", got.type_name())
}

pub fn like(s: &str, pat: &[PatElem]) -> bool {
    // Greedy wildcard matching with backtracking to the last `*` (linear in practice).
    let s: Vec<char> = s.chars().collect();
    let (mut i, mut p) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while i < s.len() {
        match pat.get(p) {
            Some(PatElem::Char(c)) if *c == s[i] => {
                i += 1;
                p += 1;
            }
            Some(PatElem::Wildcard) => {
                star = Some(p);
                mark = i;
                p += 1;
            }
            _ => match star {
                Some(sp) => {
                    p = sp + 1;
                    mark += 1;
                    i = mark;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|e| matches!(e, PatElem::Wildcard))
}

impl<'a> Env<'a> {
    pub fn new(req: &'a Request, store: &'a Entities) -> Env<'a> {
        Env { req, store }
    }

    fn bool(&self, e: &Expr, op: &str) -> EvalResult<bool> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            v => Err(type_err(op, "bool", &v)),
        }
    }

    fn long(&self, e: &Expr, op: &str) -> EvalResult<i64> {
        match self.eval(e)? {
            Value::Long(n) => Ok(n),
            v => Err(type_err(op, "long", &v)),
        }
    }

    pub fn eval(&self, e: &Expr) -> EvalResult<Value> {
        Ok(match &e.kind {
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Long(n) => Value::Long(*n),
            ExprKind::Str(s) => Value::Str(Arc::from(s.as_str())),
            ExprKind::Entity(u) => Value::Entity(Arc::new(u.clone())),
            ExprKind::Var(v) => match v {
                Var::Principal => Value::Entity(self.req.principal.clone()),
                Var::Action => Value::Entity(self.req.action.clone()),
                Var::Resource => Value::Entity(self.req.resource.clone()),
                Var::Context => Value::Record(self.req.context.clone()),
            },
            ExprKind::Not(x) => Value::Bool(!self.bool(x, "!")?),
            ExprKind::Neg(x) => Value::Long(
                self.long(x, "-")?
                    .checked_neg()
                    .ok_or("integer overflow in negation")?,
            ),
            ExprKind::And(a, b) => Value::Bool(self.bool(a, "&&")? && self.bool(b, "&&")?),
            ExprKind::Or(a, b) => Value::Bool(self.bool(a, "||")? || self.bool(b, "||")?),
            ExprKind::If(c, t, f) => {
                if self.bool(c, "if")? {
                    self.eval(t)?
                } else {
                    self.eval(f)?
                }
            }
            ExprKind::Bin(op, a, b) => self.binary(*op, a, b)?,
            ExprKind::Has(x, attr) => match self.eval(x)? {
                Value::Record(m) => Value::Bool(m.contains_key(attr)),
                Value::Entity(u) => Value::Bool(
                    self.store
                        .map
                        .get(&*u)
                        .map(|d| d.attrs.contains_key(attr))
                        .unwrap_or(false),
                ),
                v => return Err(type_err("has", "an entity or record", &v)),
            },
            ExprKind::Attr(x, attr) => match self.eval(x)? {
                Value::Record(m) => m
                    .get(attr)
                    .cloned()
                    .ok_or_else(|| format!("record does not have the attribute '{attr}'"))?,
                Value::Entity(u) => {
                    let d = self
                        .store
                        .map
                        .get(&*u)
                        .ok_or_else(|| format!("entity {u} does not exist"))?;
                    d.attrs
                        .get(attr)
                        .cloned()
                        .ok_or_else(|| format!("entity {u} does not have the attribute '{attr}'"))?
                }
                v => return Err(type_err(&format!(".{attr}"), "an entity or record", &v)),
            },
            ExprKind::Like(x, pat) => match self.eval(x)? {
                Value::Str(s) => Value::Bool(like(&s, pat)),
                v => return Err(type_err("like", "string", &v)),
            },
            ExprKind::Is(x, ty, inn) => match self.eval(x)? {
                Value::Entity(u) => {
                    let is = u.ty == *ty;
                    match inn {
                        None => Value::Bool(is),
                        Some(r) => {
                            if !is {
                                Value::Bool(false)
                            } else {
                                Value::Bool(self.in_value(&u, &self.eval(r)?)?)
                            }
                        }
                    }
                }
                v => return Err(type_err("is", "entity", &v)),
            },
            ExprKind::Method(recv, name, args) => self.method(recv, name, args)?,
            ExprKind::Call(f, args) => match (f.as_str(), args.as_slice()) {
                ("ip", [a]) => match self.eval(a)? {
                    Value::Str(s) => Value::Ip(
                        IpNet::parse(&s)
                            .ok_or_else(|| format!("'{s}' is not an IP address or range"))?,
                    ),
                    v => return Err(type_err("ip()", "string", &v)),
                },
                _ => return Err(format!("unknown extension function {f}/{}", args.len())),
            },
            ExprKind::Set(items) => {
                let mut v: Vec<Value> = Vec::with_capacity(items.len());
                for i in items {
                    let x = self.eval(i)?;
                    if !v.contains(&x) {
                        v.push(x);
                    }
                }
                Value::Set(Arc::new(v))
            }
            ExprKind::Record(fields) => {
                let mut m = std::collections::BTreeMap::new();
                for (k, x) in fields {
                    m.insert(k.clone(), self.eval(x)?);
                }
                Value::Record(Arc::new(m))
            }
        })
    }

    fn in_value(&self, u: &crate::ast::Uid, rhs: &Value) -> EvalResult<bool> {
        match rhs {
            Value::Entity(g) => Ok(self.store.is_in(u, g)),
            Value::Set(items) => {
                let mut found = false;
                for i in items.iter() {
                    match i {
                        Value::Entity(g) => found = found || self.store.is_in(u, g),
                        v => return Err(type_err("in", "a set of entities", v)),
                    }
                }
                Ok(found)
            }
            v => Err(type_err("in", "an entity or a set of entities", v)),
        }
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr) -> EvalResult<Value> {
        let x = self.eval(a)?;
        let y = self.eval(b)?;
        Ok(match op {
            BinOp::Eq => Value::Bool(x == y),
            BinOp::Ne => Value::Bool(x != y),
            BinOp::In => match &x {
                Value::Entity(u) => Value::Bool(self.in_value(u, &y)?),
                v => return Err(type_err("in", "an entity on the left", v)),
            },
            _ => {
                let (m, n) = match (&x, &y) {
                    (Value::Long(m), Value::Long(n)) => (*m, *n),
                    (Value::Long(_), v) | (v, _) => return Err(type_err(op.text(), "long", v)),
                };
                match op {
                    BinOp::Lt => Value::Bool(m < n),
                    BinOp::Le => Value::Bool(m <= n),
                    BinOp::Gt => Value::Bool(m > n),
                    BinOp::Ge => Value::Bool(m >= n),
                    BinOp::Add => Value::Long(
                        m.checked_add(n)
                            .ok_or_else(|| format!("integer overflow: {m} + {n}"))?,
                    ),
                    BinOp::Sub => Value::Long(
                        m.checked_sub(n)
                            .ok_or_else(|| format!("integer overflow: {m} - {n}"))?,
                    ),
                    BinOp::Mul => Value::Long(
                        m.checked_mul(n)
                            .ok_or_else(|| format!("integer overflow: {m} * {n}"))?,
                    ),
                    _ => unreachable!("handled above"),
                }
            }
        })
    }

    fn method(&self, recv: &Expr, name: &str, args: &[Expr]) -> EvalResult<Value> {
        let r = self.eval(recv)?;
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{name} takes {n} argument(s), got {}", args.len()))
            }
        };
        Ok(match name {
            "contains" => {
                arity(1)?;
                let s = match &r {
                    Value::Set(s) => s.clone(),
                    v => return Err(type_err("contains", "set", v)),
                };
                let x = self.eval(&args[0])?;
                Value::Bool(s.contains(&x))
            }
            "containsAll" | "containsAny" => {
                arity(1)?;
                let s = match &r {
                    Value::Set(s) => s.clone(),
                    v => return Err(type_err(name, "set", v)),
                };
                let o = match self.eval(&args[0])? {
                    Value::Set(o) => o,
                    v => return Err(type_err(name, "a set argument", &v)),
                };
                Value::Bool(if name == "containsAll" {
                    o.iter().all(|x| s.contains(x))
                } else {
                    o.iter().any(|x| s.contains(x))
                })
            }
            "isEmpty" => {
                arity(0)?;
                match &r {
                    Value::Set(s) => Value::Bool(s.is_empty()),
                    v => return Err(type_err("isEmpty", "set", v)),
                }
            }
            "isInRange" => {
                arity(1)?;
                let a = match &r {
                    Value::Ip(a) => *a,
                    v => return Err(type_err("isInRange", "ipaddr", v)),
                };
                match self.eval(&args[0])? {
                    Value::Ip(b) => Value::Bool(a.in_range(&b)),
                    v => return Err(type_err("isInRange", "an ipaddr argument", &v)),
                }
            }
            "isIpv4" | "isIpv6" | "isLoopback" | "isMulticast" => {
                arity(0)?;
                let a = match &r {
                    Value::Ip(a) => *a,
                    v => return Err(type_err(name, "ipaddr", v)),
                };
                Value::Bool(match name {
                    "isIpv4" => a.addr.is_ipv4(),
                    "isIpv6" => a.addr.is_ipv6(),
                    "isLoopback" => a.in_range(
                        &IpNet::parse(if a.addr.is_ipv4() {
                            "127.0.0.0/8"
                        } else {
                            "::1/128"
                        })
                        .expect("constant"),
                    ),
                    _ => a.in_range(
                        &IpNet::parse(if a.addr.is_ipv4() {
                            "224.0.0.0/4"
                        } else {
                            "ff00::/8"
                        })
                        .expect("constant"),
                    ),
                })
            }
            _ => return Err(format!("unknown method '{name}'")),
        })
    }

    fn scope(&self, c: &ScopeCon, u: &Uid) -> bool {
        match c {
            ScopeCon::Any => true,
            ScopeCon::Eq(x) => u == x,
            ScopeCon::In(x) => self.store.is_in(u, x),
            ScopeCon::Is(t) => u.ty == *t,
            ScopeCon::IsIn(t, x) => u.ty == *t && self.store.is_in(u, x),
        }
    }

    /// Whether a policy applies: `Ok(true)` satisfied, `Ok(false)` not, `Err` evaluation error.
    pub fn policy(&self, p: &Policy) -> EvalResult<bool> {
        if !self.scope(&p.principal, &self.req.principal)
            || !self.scope(&p.resource, &self.req.resource)
        {
            return Ok(false);
        }
        let act = match &p.action {
            ActionCon::Any => true,
            ActionCon::Eq(x) => *self.req.action == *x,
            ActionCon::In(xs) => xs.iter().any(|x| self.store.is_in(&self.req.action, x)),
        };
        if !act {
            return Ok(false);
        }
        for c in &p.conditions {
            if self.bool(&c.expr, if c.when { "when" } else { "unless" })? != c.when {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub allow: bool,
    /// The policies that decided: satisfied forbids on deny, satisfied permits on allow.
    pub reasons: Vec<String>,
    /// Policies skipped because their condition raised an error: (id, message).
    pub errors: Vec<(String, String)>,
}

pub fn authorize(policies: &[Policy], req: &Request, store: &Entities) -> Decision {
    let env = Env::new(req, store);
    let (mut permits, mut forbids, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for p in policies {
        match env.policy(p) {
            Ok(true) => {
                if p.effect == Effect::Permit {
                    permits.push(p.id.clone())
                } else {
                    forbids.push(p.id.clone())
                }
            }
            Ok(false) => {}
            Err(e) => errors.push((p.id.clone(), e)),
        }
    }
    if !forbids.is_empty() {
        Decision {
            allow: false,
            reasons: forbids,
            errors,
        }
    } else if !permits.is_empty() {
        Decision {
            allow: true,
            reasons: permits,
            errors,
        }
    } else {
        Decision {
            allow: false,
            reasons: Vec::new(),
            errors,
        }
    }
}

/// Decision only (no explanation strings): the fast native path.
pub fn is_allowed(policies: &[Policy], req: &Request, store: &Entities) -> bool {
    let env = Env::new(req, store);
    let mut permit = false;
    for p in policies {
        if p.effect == Effect::Permit && permit {
            continue;
        }
        if let Ok(true) = env.policy(p) {
            if p.effect == Effect::Forbid {
                return false;
            }
            permit = true;
        }
    }
    permit
}
