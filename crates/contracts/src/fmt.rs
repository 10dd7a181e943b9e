//! Canonical printer. `fmt(parse(fmt(x))) == fmt(x)` (idempotent) because printing depends
//! only on the tree, and parentheses are emitted exactly where precedence needs them.
//! Comments are not preserved (documented in the README).

use crate::ast::*;

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) => 0,
        ExprKind::Or(..) => 1,
        ExprKind::And(..) => 2,
        ExprKind::Bin(BinOp::Add | BinOp::Sub, ..) => 4,
        ExprKind::Bin(BinOp::Mul, ..) => 5,
        ExprKind::Bin(..) | ExprKind::Has(..) | ExprKind::Like(..) | ExprKind::Is(..) => 3,
        ExprKind::Not(_) | ExprKind::Neg(_) => 6,
        ExprKind::Long(n) if *n < 0 => 6,
        _ => 7,
    }
}

fn wrap(e: &Expr, min: u8) -> String {
    let s = expr(e);
    if prec(e) < min {
        format!("({s})")
    } else {
        s
    }
}

fn attr_name(a: &str) -> String {
    let ident = a.chars().next().map(|c| c.is_ascii_alphabetic() || c == '_').unwrap_or(false)
        && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident && !RESERVED.contains(&a) {
        a.to_string()
    } else {
        quote(a)
    }
}

const RESERVED: [&str; 12] = ["true", "false", "if", "then", "else", "in", "is", "like", "has", "principal", "action", "resource"];

fn pattern(p: &[PatElem]) -> String {
    let mut s = String::from("\"");
    for e in p {
        match e {
            PatElem::Wildcard => s.push('*'),
            PatElem::Char('*') => s.push_str("\\*"),
            PatElem::Char(c) => {
                let q = quote(&c.to_string());
                s.push_str(&q[1..q.len() - 1]);
            }
        }
    }
    s.push('"');
    s
}

pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Long(n) => n.to_string(),
        ExprKind::Str(s) => quote(s),
        ExprKind::Entity(u) => u.to_string(),
        ExprKind::Var(v) => v.name().to_string(),
        ExprKind::Not(x) => format!("!{}", wrap(x, 6)),
        ExprKind::Neg(x) => {
            // `-(5)` must not print as `-5` (a literal): keep the parentheses for literals.
            if matches!(x.kind, ExprKind::Long(_)) {
                format!("-({})", expr(x))
            } else {
                format!("-{}", wrap(x, 6))
            }
        }
        ExprKind::And(a, b) => format!("{} && {}", wrap(a, 2), wrap(b, 3)),
        ExprKind::Or(a, b) => format!("{} || {}", wrap(a, 1), wrap(b, 2)),
        ExprKind::If(c, t, f) => format!("if {} then {} else {}", expr(c), expr(t), expr(f)),
        ExprKind::Bin(op, a, b) => match op {
            BinOp::Add | BinOp::Sub => format!("{} {} {}", wrap(a, 4), op.text(), wrap(b, 5)),
            BinOp::Mul => format!("{} * {}", wrap(a, 5), wrap(b, 6)),
            _ => format!("{} {} {}", wrap(a, 4), op.text(), wrap(b, 4)),
        },
        ExprKind::Has(x, a) => format!("{} has {}", wrap(x, 4), attr_name(a)),
        ExprKind::Attr(x, a) => {
            let n = attr_name(a);
            if n.starts_with('"') {
                format!("{}[{}]", wrap(x, 7), n)
            } else {
                format!("{}.{}", wrap(x, 7), n)
            }
        }
        ExprKind::Like(x, p) => format!("{} like {}", wrap(x, 4), pattern(p)),
        ExprKind::Is(x, t, inn) => match inn {
            None => format!("{} is {}", wrap(x, 4), t),
            Some(r) => format!("{} is {} in {}", wrap(x, 4), t, wrap(r, 4)),
        },
        ExprKind::Method(r, n, args) => format!("{}.{}({})", wrap(r, 7), n, args.iter().map(expr).collect::<Vec<_>>().join(", ")),
        ExprKind::Call(f, args) => format!("{}({})", f, args.iter().map(expr).collect::<Vec<_>>().join(", ")),
        ExprKind::Set(items) => format!("[{}]", items.iter().map(expr).collect::<Vec<_>>().join(", ")),
        ExprKind::Record(fields) => {
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.iter().map(|(k, v)| format!("{}: {}", attr_name(k), expr(v))).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

fn scope(var: &str, c: &ScopeCon) -> String {
    match c {
        ScopeCon::Any => var.to_string(),
        ScopeCon::Eq(u) => format!("{var} == {u}"),
        ScopeCon::In(u) => format!("{var} in {u}"),
        ScopeCon::Is(t) => format!("{var} is {t}"),
        ScopeCon::IsIn(t, u) => format!("{var} is {t} in {u}"),
    }
}

fn ty(t: &Type) -> String {
    match t {
        Type::Bool => "Bool".into(),
        Type::Long => "Long".into(),
        Type::String => "String".into(),
        Type::Ip => "ipaddr".into(),
        Type::Entity(n) => n.clone(),
        Type::Set(i) => format!("Set<{}>", ty(i)),
        Type::Record(a) => record_type(a),
    }
}

fn record_type(attrs: &[AttrDecl]) -> String {
    if attrs.is_empty() {
        return "{}".into();
    }
    format!(
        "{{ {} }}",
        attrs
            .iter()
            .map(|a| format!("{}{}: {}", attr_name(&a.name), if a.required { "" } else { "?" }, ty(&a.ty)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn annotations(out: &mut String, anns: &[(String, String)]) {
    for (k, v) in anns {
        out.push_str(&format!("@{k}({})\n", quote(v)));
    }
}

pub fn policy(p: &Policy) -> String {
    let mut s = String::new();
    annotations(&mut s, &p.annotations);
    let action = match &p.action {
        ActionCon::Any => "action".to_string(),
        ActionCon::Eq(u) => format!("action == {u}"),
        ActionCon::In(v) if v.len() == 1 => format!("action in {}", v[0]),
        ActionCon::In(v) => format!("action in [{}]", v.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(", ")),
    };
    s.push_str(&format!(
        "{}(\n  {},\n  {},\n  {}\n)",
        if p.effect == Effect::Permit { "permit" } else { "forbid" },
        scope("principal", &p.principal),
        action,
        scope("resource", &p.resource)
    ));
    for c in &p.conditions {
        s.push_str(&format!("\n{} {{ {} }}", if c.when { "when" } else { "unless" }, expr(&c.expr)));
    }
    s.push_str(";\n");
    s
}

fn duration(ms: u64) -> String {
    for (unit, n) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms.is_multiple_of(n) {
            return format!("\"{}{}\"", ms / n, unit);
        }
    }
    format!("\"{ms}ms\"")
}

/// Formats a whole contract: schema first, then policies, rate limits, SLOs and assertions,
/// each in source order.
pub fn contract(c: &Contract) -> String {
    let mut parts = Vec::new();
    for e in &c.entities {
        let mut s = format!("entity {}", e.names.join(", "));
        if !e.parents.is_empty() {
            s.push_str(&format!(" in [{}]", e.parents.join(", ")));
        }
        if !e.attrs.is_empty() {
            s.push(' ');
            s.push_str(&record_type(&e.attrs));
        }
        s.push_str(";\n");
        parts.push(s);
    }
    for a in &c.actions {
        let mut s = format!("action {}", a.names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", "));
        if !a.parents.is_empty() {
            s.push_str(&format!(" in [{}]", a.parents.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")));
        }
        s.push_str(&format!(
            " appliesTo {{ principal: [{}], resource: [{}], context: {} }};\n",
            a.principals.join(", "),
            a.resources.join(", "),
            record_type(&a.context)
        ));
        parts.push(s);
    }
    for p in &c.policies {
        parts.push(policy(p));
    }
    for r in &c.rate_limits {
        let exceed = match r.on_exceed {
            OnExceed::Deny => "deny",
            OnExceed::Throttle => "throttle",
            OnExceed::Log => "log",
        };
        let mut s = format!(
            "@id({})\nratelimit {{ key: {}, burst: {}, refill: {}, per: {}, exceed: \"{exceed}\" }}",
            quote(&r.id),
            expr(&r.key),
            r.burst,
            r.refill,
            duration(r.per_ms)
        );
        if let Some(w) = &r.when {
            s.push_str(&format!("\nwhen {{ {} }}", expr(w)));
        }
        s.push_str(";\n");
        parts.push(s);
    }
    for o in &c.slos {
        parts.push(format!(
            "@id({})\nslo {{ {} }};\n",
            quote(&o.id),
            o.fields.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
        ));
    }
    for a in &c.assertions {
        parts.push(format!(
            "@id({})\nassert {} permit when {{ {} }};\n",
            quote(&a.id),
            if a.never_permit { "never" } else { "always" },
            expr(&a.cond)
        ));
    }
    parts.join("\n")
}
