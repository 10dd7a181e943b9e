//! Schema-based type checker (in the spirit of Cedar's validator). Every finding is a
//! positioned [`Diag`] with an explanation and, for misspelt names, a `did you mean`.
//! Without `entity`/`action` declarations only schema-free checks run (operator types of
//! literals, unknown methods and functions).

use crate::ast::*;
use crate::diag::{did_you_mean, Diag, Span};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Any,
    Bool,
    Long,
    Str,
    Ip,
    /// Possible entity types (empty = unknown type).
    Entity(BTreeSet<String>),
    Set(Box<Ty>),
    Record(BTreeMap<String, (Ty, bool)>),
}

impl Ty {
    fn name(&self) -> String {
        match self {
            Ty::Any => "unknown".into(),
            Ty::Bool => "Bool".into(),
            Ty::Long => "Long".into(),
            Ty::Str => "String".into(),
            Ty::Ip => "ipaddr".into(),
            Ty::Entity(s) if s.is_empty() => "entity".into(),
            Ty::Entity(s) => s.iter().cloned().collect::<Vec<_>>().join(" | "),
            Ty::Set(t) => format!("Set<{}>", t.name()),
            Ty::Record(_) => "record".into(),
        }
    }
    fn from_decl(t: &Type) -> Ty {
        match t {
            Type::Bool => Ty::Bool,
            Type::Long => Ty::Long,
            Type::String => Ty::Str,
            Type::Ip => Ty::Ip,
            Type::Entity(n) => Ty::Entity([n.clone()].into_iter().collect()),
            Type::Set(i) => Ty::Set(Box::new(Ty::from_decl(i))),
            Type::Record(a) => Ty::Record(record(a)),
        }
    }
    fn compatible(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (Ty::Entity(_), Ty::Entity(_)) => true,
            (Ty::Set(a), Ty::Set(b)) => a.compatible(b),
            (Ty::Record(_), Ty::Record(_)) => true,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

fn record(a: &[AttrDecl]) -> BTreeMap<String, (Ty, bool)> {
    a.iter().map(|d| (d.name.clone(), (Ty::from_decl(&d.ty), d.required))).collect()
}

/// Attribute name -> (type, required).
type Attrs = BTreeMap<String, (Ty, bool)>;

pub struct Schema {
    entities: BTreeMap<String, Attrs>,
    /// Action -> (principal types, resource types, context attributes).
    actions: BTreeMap<String, (Vec<String>, Vec<String>, Attrs)>,
}

impl Schema {
    pub fn from_contract(c: &Contract) -> Option<Schema> {
        if c.entities.is_empty() && c.actions.is_empty() {
            return None;
        }
        let mut s = Schema { entities: BTreeMap::new(), actions: BTreeMap::new() };
        for e in &c.entities {
            for n in &e.names {
                s.entities.insert(n.clone(), record(&e.attrs));
            }
        }
        for a in &c.actions {
            for n in &a.names {
                s.actions.insert(n.clone(), (a.principals.clone(), a.resources.clone(), record(&a.context)));
            }
        }
        Some(s)
    }
}

struct Checker<'a> {
    schema: Option<&'a Schema>,
    diags: Vec<Diag>,
    principal: Ty,
    resource: Ty,
    context: Ty,
    /// Attribute paths proven present by an enclosing `has` (e.g. "principal.manager").
    guards: Vec<String>,
}

/// Type-checks every policy, rate-limit key and assertion. Returns all findings.
pub fn check(c: &Contract) -> Vec<Diag> {
    let schema = Schema::from_contract(c);
    let mut ck =
        Checker { schema: schema.as_ref(), diags: Vec::new(), principal: Ty::Any, resource: Ty::Any, context: Ty::Any, guards: Vec::new() };
    if let Some(s) = &schema {
        for e in &c.entities {
            for p in &e.parents {
                if !s.entities.contains_key(p) {
                    ck.diags.push(
                        Diag::new(e.span, format!("entity type '{}' names an undeclared parent type '{p}'", e.names.join(", ")))
                            .suggest(did_you_mean(p, s.entities.keys().map(|k| k.as_str()))),
                    );
                }
            }
        }
        for a in &c.actions {
            for t in a.principals.iter().chain(a.resources.iter()) {
                if !s.entities.contains_key(t) {
                    ck.diags.push(
                        Diag::new(
                            a.span,
                            format!(
                                "action {} applies to an undeclared entity type '{t}'",
                                a.names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .suggest(did_you_mean(t, s.entities.keys().map(|k| k.as_str()))),
                    );
                }
            }
        }
    }
    for p in &c.policies {
        ck.policy(p);
    }
    ck.principal = ck.all_types(0);
    ck.resource = ck.all_types(1);
    ck.context = Ty::Any;
    for r in &c.rate_limits {
        ck.expr(&r.key);
        if let Some(w) = &r.when {
            ck.expect(w, Ty::Bool, "a rate-limit 'when' condition");
        }
    }
    for a in &c.assertions {
        ck.expect(&a.cond, Ty::Bool, "an assertion");
    }
    ck.diags
}

impl<'a> Checker<'a> {
    fn all_types(&self, which: usize) -> Ty {
        match self.schema {
            None => Ty::Any,
            Some(s) => Ty::Entity(s.actions.values().flat_map(|a| if which == 0 { a.0.clone() } else { a.1.clone() }).collect()),
        }
    }

    fn check_uid(&mut self, u: &Uid, span: Span) {
        let Some(s) = self.schema else { return };
        if u.ty == "Action" {
            if !s.actions.contains_key(&u.id) {
                self.diags.push(
                    Diag::new(span, format!("unknown action {u}"))
                        .help("declare it with `action \"...\" appliesTo { ... };`")
                        .suggest(did_you_mean(&u.id, s.actions.keys().map(|k| k.as_str())).map(|n| format!("Action::{}", quote(&n)))),
                );
            }
        } else if !s.entities.contains_key(&u.ty) {
            self.diags.push(
                Diag::new(span, format!("unknown entity type '{}'", u.ty))
                    .help("declare it with `entity Name { ... };`")
                    .suggest(did_you_mean(&u.ty, s.entities.keys().map(|k| k.as_str()))),
            );
        }
    }

    fn check_type_name(&mut self, t: &str, span: Span) {
        let Some(s) = self.schema else { return };
        if t != "Action" && !s.entities.contains_key(t) {
            self.diags.push(
                Diag::new(span, format!("unknown entity type '{t}'")).suggest(did_you_mean(t, s.entities.keys().map(|k| k.as_str()))),
            );
        }
    }

    fn policy(&mut self, p: &Policy) {
        let [psp, asp, rsp] = p.scope_spans;
        let mut actions: Vec<String> = Vec::new();
        match &p.action {
            ActionCon::Any => {}
            ActionCon::Eq(u) => {
                self.check_uid(u, asp);
                actions.push(u.id.clone());
            }
            ActionCon::In(v) => {
                for u in v {
                    self.check_uid(u, asp);
                    actions.push(u.id.clone());
                }
            }
        }
        let narrow = |c: &ScopeCon, from: Ty| -> Ty {
            match c {
                ScopeCon::Eq(u) => Ty::Entity([u.ty.clone()].into_iter().collect()),
                ScopeCon::Is(t) | ScopeCon::IsIn(t, _) => Ty::Entity([t.clone()].into_iter().collect()),
                _ => from,
            }
        };
        for (c, sp) in [(&p.principal, psp), (&p.resource, rsp)] {
            match c {
                ScopeCon::Eq(u) | ScopeCon::In(u) => self.check_uid(u, sp),
                ScopeCon::Is(t) => self.check_type_name(t, sp),
                ScopeCon::IsIn(t, u) => {
                    self.check_type_name(t, sp);
                    self.check_uid(u, sp)
                }
                ScopeCon::Any => {}
            }
        }
        let (mut pt, mut rt, mut ct) = (Ty::Any, Ty::Any, Ty::Any);
        if let Some(s) = self.schema {
            let mut known: Vec<&String> = actions.iter().filter(|a| s.actions.contains_key(*a)).collect();
            if known.is_empty() {
                // no (known) action named: every declared action is possible
                known = s.actions.keys().collect();
            }
            let mut ps = BTreeSet::new();
            let mut rs = BTreeSet::new();
            let mut ctx: BTreeMap<String, (Ty, bool)> = BTreeMap::new();
            for (i, a) in known.iter().enumerate() {
                let (pp, rr, cc) = &s.actions[*a];
                ps.extend(pp.iter().cloned());
                rs.extend(rr.iter().cloned());
                for (k, v) in cc {
                    // An attribute missing from some action's context is optional for this policy.
                    let required = v.1 && (i == 0 || ctx.get(k).map(|x| x.1).unwrap_or(false));
                    ctx.insert(k.clone(), (v.0.clone(), required));
                }
                if i > 0 {
                    for (k, v) in ctx.iter_mut() {
                        if !cc.contains_key(k) {
                            v.1 = false;
                        }
                    }
                }
            }
            pt = Ty::Entity(ps);
            rt = Ty::Entity(rs);
            ct = Ty::Record(ctx);
        }
        self.principal = narrow(&p.principal, pt);
        self.resource = narrow(&p.resource, rt);
        self.context = ct;
        for c in &p.conditions {
            self.guards.clear();
            self.expect(&c.expr, Ty::Bool, if c.when { "a 'when' condition" } else { "an 'unless' condition" });
        }
    }

    fn expect(&mut self, e: &Expr, want: Ty, what: &str) -> Ty {
        let t = self.expr(e);
        if !t.compatible(&want) {
            self.diags.push(Diag::new(e.span, format!("{what} must be {}, but this is {}", want.name(), t.name())));
        }
        t
    }

    fn path_of(e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Var(v) => Some(v.name().to_string()),
            ExprKind::Attr(x, a) => Some(format!("{}.{a}", Self::path_of(x)?)),
            _ => None,
        }
    }

    /// `has` facts that hold whenever `e` is true.
    fn facts(e: &Expr, out: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Has(x, a) => {
                if let Some(p) = Self::path_of(x) {
                    out.push(format!("{p}.{a}"));
                }
            }
            ExprKind::And(a, b) => {
                Self::facts(a, out);
                Self::facts(b, out);
            }
            _ => {}
        }
    }

    fn attr(&mut self, e: &Expr, x: &Expr, a: &str) -> Ty {
        let t = self.expr(x);
        let guarded = Self::path_of(x).map(|p| self.guards.contains(&format!("{p}.{a}"))).unwrap_or(false);
        let found: Option<(Ty, bool)> = match &t {
            Ty::Record(m) => {
                if m.is_empty() && self.schema.is_none() {
                    return Ty::Any;
                }
                match m.get(a) {
                    Some(v) => Some(v.clone()),
                    None => {
                        self.diags.push(
                            Diag::new(e.span, format!("record has no attribute '{a}'"))
                                .help("declared attributes are checked against the schema")
                                .suggest(did_you_mean(a, m.keys().map(|k| k.as_str()))),
                        );
                        return Ty::Any;
                    }
                }
            }
            Ty::Entity(types) => {
                let Some(s) = self.schema else { return Ty::Any };
                if types.is_empty() {
                    return Ty::Any;
                }
                let mut hit = None;
                let mut names: Vec<&str> = Vec::new();
                for ty in types {
                    if let Some(attrs) = s.entities.get(ty) {
                        names.extend(attrs.keys().map(|k| k.as_str()));
                        if let Some(v) = attrs.get(a) {
                            hit = Some(v.clone());
                        }
                    }
                }
                match hit {
                    Some(v) => Some(v),
                    None => {
                        self.diags.push(
                            Diag::new(e.span, format!("entity type {} has no attribute '{a}'", t.name())).suggest(did_you_mean(a, names)),
                        );
                        return Ty::Any;
                    }
                }
            }
            Ty::Any => return Ty::Any,
            other => {
                self.diags
                    .push(Diag::new(x.span, format!("attribute access '.{a}' needs an entity or record, but this is {}", other.name())));
                return Ty::Any;
            }
        };
        let (ty, required) = found.unwrap_or((Ty::Any, true));
        if !required && !guarded {
            let p = Self::path_of(x).unwrap_or_else(|| "expr".into());
            self.diags.push(
                Diag::new(e.span, format!("attribute '{a}' is optional and may be missing here"))
                    .help(&format!("guard it: `{p} has {a} && ...`")),
            );
        }
        ty
    }

    fn expr(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Long(_) => Ty::Long,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::Entity(u) => {
                self.check_uid(u, e.span);
                Ty::Entity([u.ty.clone()].into_iter().collect())
            }
            ExprKind::Var(v) => match v {
                Var::Principal => self.principal.clone(),
                Var::Resource => self.resource.clone(),
                Var::Action => Ty::Entity(["Action".to_string()].into_iter().collect()),
                Var::Context => {
                    if self.schema.is_none() {
                        Ty::Any
                    } else {
                        self.context.clone()
                    }
                }
            },
            ExprKind::Not(x) => {
                self.expect(x, Ty::Bool, "the operand of '!'");
                Ty::Bool
            }
            ExprKind::Neg(x) => {
                self.expect(x, Ty::Long, "the operand of unary '-'");
                Ty::Long
            }
            ExprKind::And(a, b) => {
                self.expect(a, Ty::Bool, "the left operand of '&&'");
                let saved = self.guards.len();
                let mut f = Vec::new();
                Self::facts(a, &mut f);
                self.guards.extend(f);
                self.expect(b, Ty::Bool, "the right operand of '&&'");
                self.guards.truncate(saved);
                Ty::Bool
            }
            ExprKind::Or(a, b) => {
                self.expect(a, Ty::Bool, "the left operand of '||'");
                self.expect(b, Ty::Bool, "the right operand of '||'");
                Ty::Bool
            }
            ExprKind::If(c, t, f) => {
                self.expect(c, Ty::Bool, "an 'if' condition");
                let saved = self.guards.len();
                let mut fs = Vec::new();
                Self::facts(c, &mut fs);
                self.guards.extend(fs);
                let a = self.expr(t);
                self.guards.truncate(saved);
                let b = self.expr(f);
                if !a.compatible(&b) {
                    self.diags
                        .push(Diag::new(e.span, format!("the branches of 'if' have different types ({} and {})", a.name(), b.name())));
                }
                a
            }
            ExprKind::Bin(op, a, b) => match op {
                BinOp::Eq | BinOp::Ne => {
                    let x = self.expr(a);
                    let y = self.expr(b);
                    if !x.compatible(&y) {
                        self.diags.push(
                            Diag::new(e.span, format!("comparing {} with {} is always {}", x.name(), y.name(), *op == BinOp::Ne))
                                .help("values of different types are never equal"),
                        );
                    }
                    Ty::Bool
                }
                BinOp::In => {
                    self.expect(a, Ty::Entity(BTreeSet::new()), "the left operand of 'in'");
                    let y = self.expr(b);
                    if !matches!(y, Ty::Any | Ty::Entity(_)) && !matches!(&y, Ty::Set(i) if matches!(**i, Ty::Any | Ty::Entity(_))) {
                        self.diags.push(Diag::new(
                            b.span,
                            format!("the right operand of 'in' must be an entity or a set of entities, but this is {}", y.name()),
                        ));
                    }
                    Ty::Bool
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    self.expect(a, Ty::Long, &format!("the left operand of '{}'", op.text()));
                    self.expect(b, Ty::Long, &format!("the right operand of '{}'", op.text()));
                    Ty::Bool
                }
                _ => {
                    self.expect(a, Ty::Long, &format!("the left operand of '{}'", op.text()));
                    self.expect(b, Ty::Long, &format!("the right operand of '{}'", op.text()));
                    Ty::Long
                }
            },
            ExprKind::Has(x, _) => {
                let t = self.expr(x);
                if !matches!(t, Ty::Any | Ty::Entity(_) | Ty::Record(_)) {
                    self.diags.push(Diag::new(x.span, format!("'has' needs an entity or record, but this is {}", t.name())));
                }
                Ty::Bool
            }
            ExprKind::Attr(x, a) => self.attr(e, x, a),
            ExprKind::Like(x, _) => {
                self.expect(x, Ty::Str, "the left operand of 'like'");
                Ty::Bool
            }
            ExprKind::Is(x, t, inn) => {
                self.expect(x, Ty::Entity(BTreeSet::new()), "the left operand of 'is'");
                self.check_type_name(t, e.span);
                if let Some(r) = inn {
                    self.expr(r);
                }
                Ty::Bool
            }
            ExprKind::Method(r, name, args) => {
                let rt = self.expr(r);
                let ats: Vec<Ty> = args.iter().map(|a| self.expr(a)).collect();
                let (recv, ret, n): (Ty, Ty, usize) = match name.as_str() {
                    "contains" => (Ty::Set(Box::new(Ty::Any)), Ty::Bool, 1),
                    "containsAll" | "containsAny" => (Ty::Set(Box::new(Ty::Any)), Ty::Bool, 1),
                    "isEmpty" => (Ty::Set(Box::new(Ty::Any)), Ty::Bool, 0),
                    "isInRange" => (Ty::Ip, Ty::Bool, 1),
                    "isIpv4" | "isIpv6" | "isLoopback" | "isMulticast" => (Ty::Ip, Ty::Bool, 0),
                    _ => {
                        const METHODS: [&str; 9] = [
                            "contains",
                            "containsAll",
                            "containsAny",
                            "isEmpty",
                            "isInRange",
                            "isIpv4",
                            "isIpv6",
                            "isLoopback",
                            "isMulticast",
                        ];
                        self.diags.push(Diag::new(e.span, format!("unknown method '{name}'")).suggest(did_you_mean(name, METHODS)));
                        return Ty::Any;
                    }
                };
                if !rt.compatible(&recv) {
                    self.diags.push(Diag::new(r.span, format!("'{name}' needs a {} receiver, but this is {}", recv.name(), rt.name())));
                }
                if ats.len() != n {
                    self.diags.push(Diag::new(e.span, format!("'{name}' takes {n} argument(s), got {}", ats.len())));
                } else if matches!(name.as_str(), "containsAll" | "containsAny") && !ats[0].compatible(&Ty::Set(Box::new(Ty::Any))) {
                    self.diags.push(Diag::new(args[0].span, format!("'{name}' needs a set argument, but this is {}", ats[0].name())));
                } else if name == "isInRange" && !ats[0].compatible(&Ty::Ip) {
                    self.diags
                        .push(Diag::new(args[0].span, format!("'isInRange' needs an ipaddr argument, but this is {}", ats[0].name())));
                }
                ret
            }
            ExprKind::Call(f, args) => {
                if f != "ip" {
                    self.diags.push(
                        Diag::new(e.span, format!("unknown function '{f}'"))
                            .help("the supported extension function is ip(\"...\")")
                            .suggest(did_you_mean(f, ["ip"])),
                    );
                    return Ty::Any;
                }
                if args.len() != 1 {
                    self.diags.push(Diag::new(e.span, format!("ip() takes 1 argument, got {}", args.len())));
                    return Ty::Ip;
                }
                if let ExprKind::Str(s) = &args[0].kind {
                    if crate::value::IpNet::parse(s).is_none() {
                        self.diags.push(Diag::new(args[0].span, format!("\"{s}\" is not an IP address or CIDR range")));
                    }
                } else {
                    self.expect(&args[0], Ty::Str, "the argument of ip()");
                }
                Ty::Ip
            }
            ExprKind::Set(items) => {
                let mut elem = Ty::Any;
                for i in items {
                    let t = self.expr(i);
                    if elem == Ty::Any {
                        elem = t;
                    }
                }
                Ty::Set(Box::new(elem))
            }
            ExprKind::Record(fields) => Ty::Record(fields.iter().map(|(k, v)| (k.clone(), (self.expr(v), true))).collect()),
        }
    }
}
