//! JavaScript target: a policy set compiles to the source of a self-contained JS module
//! expression. Evaluating it yields `load(entities)`, which closes the hierarchy once and
//! returns `{ decide(request) -> boolean, explain(request) -> {decision, reasons, errors} }`.
//! Semantics mirror `eval.rs` (the differential tests hold them together): typed operators
//! throw, a throwing policy is skipped, longs are exact 64-bit (numbers while safe, BigInt
//! beyond 2^53, overflow throws).

use crate::ast::*;
use std::fmt::Write;

const RUNTIME: &str = include_str!("jsgen_runtime.js");

struct Gen {
    consts: Vec<String>,
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn uid_key(u: &Uid) -> String {
    // The same key the runtime computes: type + "::" + JSON.stringify(id).
    js_str(&format!("{}::{}", u.ty, js_str(&u.id)))
}

fn long(n: i64) -> String {
    if n.unsigned_abs() < (1u64 << 53) {
        n.to_string()
    } else {
        format!("{n}n")
    }
}

fn regex(p: &[PatElem]) -> String {
    let mut s = String::from("^");
    for e in p {
        match e {
            PatElem::Wildcard => s.push_str("[\\s\\S]*"),
            PatElem::Char(c) => {
                if "\\^$.|?*+()[]{}/".contains(*c) {
                    s.push('\\');
                }
                s.push(*c);
            }
        }
    }
    s.push('$');
    s
}

impl Gen {
    fn konst(&mut self, code: String) -> String {
        if let Some(i) = self.consts.iter().position(|c| *c == code) {
            return format!("K{i}");
        }
        self.consts.push(code);
        format!("K{}", self.consts.len() - 1)
    }

    fn expr(&mut self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Long(n) => long(*n),
            ExprKind::Str(s) => js_str(s),
            ExprKind::Entity(u) => self.konst(format!("new Ent({}, {})", js_str(&u.ty), js_str(&u.id))),
            ExprKind::Var(v) => match v {
                Var::Principal => "P".into(),
                Var::Action => "A".into(),
                Var::Resource => "R".into(),
                Var::Context => "C".into(),
            },
            ExprKind::Not(x) => format!("!B({})", self.expr(x)),
            ExprKind::Neg(x) => format!("neg({})", self.expr(x)),
            ExprKind::And(a, b) => format!("(B({}) && B({}))", self.expr(a), self.expr(b)),
            ExprKind::Or(a, b) => format!("(B({}) || B({}))", self.expr(a), self.expr(b)),
            ExprKind::If(c, t, f) => format!("(B({}) ? {} : {})", self.expr(c), self.expr(t), self.expr(f)),
            ExprKind::Bin(op, a, b) => {
                let (x, y) = (self.expr(a), self.expr(b));
                match op {
                    BinOp::Eq => format!("eq({x}, {y})"),
                    BinOp::Ne => format!("!eq({x}, {y})"),
                    BinOp::In => format!("inV(S, {x}, {y})"),
                    BinOp::Lt => format!("(L({x}) < L({y}))"),
                    BinOp::Le => format!("(L({x}) <= L({y}))"),
                    BinOp::Gt => format!("(L({x}) > L({y}))"),
                    BinOp::Ge => format!("(L({x}) >= L({y}))"),
                    BinOp::Add => format!("arith(0, {x}, {y})"),
                    BinOp::Sub => format!("arith(1, {x}, {y})"),
                    BinOp::Mul => format!("arith(2, {x}, {y})"),
                }
            }
            ExprKind::Has(x, a) => format!("has(S, {}, {})", self.expr(x), js_str(a)),
            ExprKind::Attr(x, a) => format!("at(S, {}, {})", self.expr(x), js_str(a)),
            ExprKind::Like(x, p) => {
                let re = self.konst(format!("new RegExp({}, 'su')", js_str(&regex(p))));
                format!("{re}.test(Str({}))", self.expr(x))
            }
            ExprKind::Is(x, t, inn) => match inn {
                None => format!("(En({}).t === {})", self.expr(x), js_str(t)),
                Some(r) => {
                    let xv = self.expr(x);
                    format!("isIn(S, {xv}, {}, () => {})", js_str(t), self.expr(r))
                }
            },
            ExprKind::Method(r, name, args) => {
                let rv = self.expr(r);
                let av: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                format!("meth({}, {rv}, [{}])", js_str(name), av.join(", "))
            }
            ExprKind::Call(f, args) => {
                if let (true, [a]) = (f == "ip", args.as_slice()) {
                    if let ExprKind::Str(s) = &a.kind {
                        if crate::value::IpNet::parse(s).is_some() {
                            return self.konst(format!("ipf({})", js_str(s)));
                        }
                    }
                }
                let av: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                format!("call({}, [{}])", js_str(f), av.join(", "))
            }
            ExprKind::Set(items) => format!("mkset([{}])", items.iter().map(|i| self.expr(i)).collect::<Vec<_>>().join(", ")),
            ExprKind::Record(fields) => format!(
                "mkrec([{}])",
                fields.iter().map(|(k, v)| format!("[{}, {}]", js_str(k), self.expr(v))).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn scope(&mut self, var: &str, c: &ScopeCon) -> String {
        match c {
            ScopeCon::Any => "true".into(),
            ScopeCon::Eq(u) => format!("{var}.k === {}", uid_key(u)),
            ScopeCon::In(u) => format!("inK(S, {var}, {})", uid_key(u)),
            ScopeCon::Is(t) => format!("{var}.t === {}", js_str(t)),
            ScopeCon::IsIn(t, u) => format!("({var}.t === {} && inK(S, {var}, {}))", js_str(t), uid_key(u)),
        }
    }
}

/// The JS source (an expression evaluating to `load(entities)`).
pub fn generate(policies: &[Policy]) -> String {
    let mut g = Gen { consts: Vec::new() };
    let mut body = String::new();
    for p in policies {
        let mut parts = vec![g.scope("P", &p.principal), g.scope("R", &p.resource)];
        parts.push(match &p.action {
            ActionCon::Any => "true".into(),
            ActionCon::Eq(u) => format!("A.k === {}", uid_key(u)),
            ActionCon::In(us) => format!("({})", us.iter().map(|u| format!("inK(S, A, {})", uid_key(u))).collect::<Vec<_>>().join(" || ")),
        });
        let scope = parts.into_iter().filter(|s| s != "true").collect::<Vec<_>>();
        let conds: Vec<String> = p
            .conditions
            .iter()
            .map(|c| if c.when { format!("B({})", g.expr(&c.expr)) } else { format!("!B({})", g.expr(&c.expr)) })
            .collect();
        let _ = writeln!(
            body,
            "  {{ id: {}, permit: {}, f: (S, P, A, R, C) => {{ {}return {}; }} }},",
            js_str(&p.id),
            p.effect == Effect::Permit,
            if scope.is_empty() { String::new() } else { format!("if (!({})) return false; ", scope.join(" && ")) },
            if conds.is_empty() { "true".into() } else { conds.join(" && ") }
        );
    }
    let mut consts = String::new();
    for (i, c) in g.consts.iter().enumerate() {
        let _ = writeln!(consts, "const K{i} = {c};");
    }
    format!("(function () {{\n'use strict';\n{RUNTIME}\n{consts}const POLICIES = [\n{body}];\nreturn makeLoader(POLICIES);\n}})()")
}
