//! Recursive-descent parser. Access policies follow Cedar's grammar (so the same text can be
//! handed to Cedar); rate limits, SLOs, assertions and schema declarations are extra items.
//! Nesting is bounded ([`MAX_DEPTH`]) so deep inputs give a diagnostic, not a stack overflow.

use crate::ast::*;
use crate::diag::{did_you_mean, Diag, Span};
use crate::lexer::{lex, Tok, Token};

pub const MAX_DEPTH: usize = 128;

pub struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    policy_count: usize,
}

type PResult<T> = Result<T, Diag>;

const ITEM_WORDS: [&str; 7] = [
    "permit",
    "forbid",
    "ratelimit",
    "slo",
    "assert",
    "entity",
    "action",
];

pub fn parse(src: &str) -> PResult<Contract> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        policy_count: 0,
    };
    p.contract()
}

/// Parses a single expression (used for assertions given on the command line and in tests).
pub fn parse_expr(src: &str) -> PResult<Expr> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        policy_count: 0,
    };
    let e = p.expr()?;
    p.expect_eof()?;
    Ok(e)
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }
    fn span(&self) -> Span {
        self.toks[self.pos].span
    }
    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w)
    }
    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn describe(t: &Tok) -> String {
        match t {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Str(s) => format!("string {}", quote(s)),
            Tok::Int(v) => format!("integer {v}"),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "end of input".into(),
        }
    }
    fn err_expected(&self, what: &str) -> Diag {
        Diag::new(
            self.span(),
            format!("expected {what}, found {}", Self::describe(self.peek())),
        )
    }
    fn expect_punct(&mut self, p: &str) -> PResult<Span> {
        if self.is_punct(p) {
            Ok(self.bump().span)
        } else {
            Err(self.err_expected(&format!("'{p}'")))
        }
    }
    fn expect_word(&mut self, w: &str) -> PResult<Span> {
        if self.is_word(w) {
            Ok(self.bump().span)
        } else {
            let d = self.err_expected(&format!("'{w}'"));
            let sug = if let Tok::Ident(s) = self.peek() {
                did_you_mean(s, [w])
            } else {
                None
            };
            Err(d.suggest(sug))
        }
    }
    fn ident(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek().clone() {
            Tok::Ident(s) => {
                let sp = self.bump().span;
                Ok((s, sp))
            }
            _ => Err(self.err_expected(what)),
        }
    }
    fn string(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek().clone() {
            Tok::Str(s) => {
                let sp = self.bump().span;
                Ok((s, sp))
            }
            _ => Err(self.err_expected(what)),
        }
    }
    fn expect_eof(&self) -> PResult<()> {
        if matches!(self.peek(), Tok::Eof) {
            Ok(())
        } else {
            Err(self.err_expected("end of input"))
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diag::new(
                self.span(),
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            )
            .help("split the condition into several policies or flatten it"));
        }
        Ok(())
    }

    fn contract(&mut self) -> PResult<Contract> {
        let mut c = Contract::default();
        while !matches!(self.peek(), Tok::Eof) {
            let start = self.span();
            let annotations = self.annotations()?;
            let word =
                match self.peek() {
                    Tok::Ident(w) => w.clone(),
                    _ => return Err(self.err_expected(
                        "'permit', 'forbid', 'ratelimit', 'slo', 'assert', 'entity' or 'action'",
                    )),
                };
            let id_ann = annotations
                .iter()
                .find(|(k, _)| k == "id")
                .map(|(_, v)| v.clone());
            match word.as_str() {
                "permit" | "forbid" => {
                    let n = self.policy_count;
                    self.policy_count += 1;
                    let mut p = self.policy(start, annotations)?;
                    p.id = id_ann.unwrap_or_else(|| format!("policy{n}"));
                    c.policies.push(p);
                }
                "ratelimit" => {
                    let n = c.rate_limits.len();
                    let r =
                        self.rate_limit(start, id_ann.unwrap_or_else(|| format!("ratelimit{n}")))?;
                    c.rate_limits.push(r);
                }
                "slo" => {
                    let n = c.slos.len();
                    let s = self.slo(start, id_ann.unwrap_or_else(|| format!("slo{n}")))?;
                    c.slos.push(s);
                }
                "assert" => {
                    let n = c.assertions.len();
                    let a =
                        self.assertion(start, id_ann.unwrap_or_else(|| format!("assert{n}")))?;
                    c.assertions.push(a);
                }
                "entity" => c.entities.push(self.entity_decl(start)?),
                "action" => c.actions.push(self.action_decl(start)?),
                other => {
                    let sug = did_you_mean(other, ITEM_WORDS);
                    return Err(Diag::new(self.span(), format!("unknown item '{other}'"))
                        .help("a contract holds permit/forbid policies, ratelimit, slo, assert, entity and action declarations")
                        .suggest(sug));
                }
            }
        }
        Ok(c)
    }

    fn annotations(&mut self) -> PResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        while self.eat_punct("@") {
            let (k, ksp) = self.ident("an annotation name")?;
            self.expect_punct("(")?;
            let (v, _) = self.string("an annotation value (a string)")?;
            self.expect_punct(")")?;
            if out.iter().any(|(a, _): &(String, String)| *a == k) {
                return Err(Diag::new(ksp, format!("duplicate annotation '@{k}'")));
            }
            out.push((k, v));
        }
        Ok(out)
    }

    fn policy(&mut self, start: Span, annotations: Vec<(String, String)>) -> PResult<Policy> {
        let effect = if self.eat_word("permit") {
            Effect::Permit
        } else {
            self.bump();
            Effect::Forbid
        };
        self.expect_punct("(")?;
        let psp = self.expect_word("principal")?;
        let principal = self.scope_con("principal")?;
        self.expect_punct(",")?;
        let asp = self.expect_word("action")?;
        let action = self.action_con()?;
        self.expect_punct(",")?;
        let rsp = self.expect_word("resource")?;
        let resource = self.scope_con("resource")?;
        self.expect_punct(")")?;
        let mut conditions = Vec::new();
        loop {
            let when = if self.eat_word("when") {
                true
            } else if self.eat_word("unless") {
                false
            } else {
                break;
            };
            self.expect_punct("{")?;
            let expr = self.expr()?;
            self.expect_punct("}")?;
            conditions.push(Condition { when, expr });
        }
        if !self.is_punct(";") {
            let d = self.err_expected("';' after the policy");
            let sug = if let Tok::Ident(s) = self.peek() {
                did_you_mean(s, ["when", "unless"])
            } else {
                None
            };
            return Err(d.suggest(sug));
        }
        let end = self.bump().span;
        Ok(Policy {
            id: String::new(),
            annotations,
            effect,
            principal,
            action,
            resource,
            conditions,
            span: start.to(end),
            scope_spans: [psp, asp, rsp],
        })
    }

    fn path(&mut self) -> PResult<(String, Span)> {
        let (mut s, mut sp) = self.ident("a type name")?;
        while self.is_punct("::") && matches!(self.peek_at(1), Tok::Ident(_)) {
            self.bump();
            let (n, nsp) = self.ident("a type name")?;
            s.push_str("::");
            s.push_str(&n);
            sp = sp.to(nsp);
        }
        Ok((s, sp))
    }

    fn entity_ref(&mut self) -> PResult<Uid> {
        let (ty, _) = self.path()?;
        self.expect_punct("::")?;
        let (id, _) = self.string("an entity id (a string)")?;
        Ok(Uid { ty, id })
    }

    fn scope_con(&mut self, _var: &str) -> PResult<ScopeCon> {
        if self.eat_punct("==") {
            return Ok(ScopeCon::Eq(self.entity_ref()?));
        }
        if self.eat_word("in") {
            return Ok(ScopeCon::In(self.entity_ref()?));
        }
        if self.eat_word("is") {
            let (ty, _) = self.path()?;
            if self.eat_word("in") {
                return Ok(ScopeCon::IsIn(ty, self.entity_ref()?));
            }
            return Ok(ScopeCon::Is(ty));
        }
        Ok(ScopeCon::Any)
    }

    fn action_con(&mut self) -> PResult<ActionCon> {
        if self.eat_punct("==") {
            return Ok(ActionCon::Eq(self.entity_ref()?));
        }
        if self.eat_word("in") {
            if self.eat_punct("[") {
                let mut v = Vec::new();
                if !self.is_punct("]") {
                    loop {
                        v.push(self.entity_ref()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                self.expect_punct("]")?;
                return Ok(ActionCon::In(v));
            }
            return Ok(ActionCon::In(vec![self.entity_ref()?]));
        }
        Ok(ActionCon::Any)
    }

    pub fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = if self.is_word("if") {
            let sp = self.bump().span;
            let c = self.expr()?;
            self.expect_word("then")?;
            let t = self.expr()?;
            self.expect_word("else")?;
            let e = self.expr()?;
            let end = e.span;
            Ok(Expr::new(
                ExprKind::If(Box::new(c), Box::new(t), Box::new(e)),
                sp.to(end),
            ))
        } else {
            self.or()
        };
        self.depth -= 1;
        r
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut l = self.and()?;
        while self.eat_punct("||") {
            let r = self.and()?;
            let sp = l.span.to(r.span);
            l = Expr::new(ExprKind::Or(Box::new(l), Box::new(r)), sp);
        }
        Ok(l)
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut l = self.relation()?;
        while self.eat_punct("&&") {
            let r = self.relation()?;
            let sp = l.span.to(r.span);
            l = Expr::new(ExprKind::And(Box::new(l), Box::new(r)), sp);
        }
        Ok(l)
    }

    fn relation(&mut self) -> PResult<Expr> {
        let l = self.add()?;
        let op = match self.peek() {
            Tok::Punct("==") => Some(BinOp::Eq),
            Tok::Punct("!=") => Some(BinOp::Ne),
            Tok::Punct("<") => Some(BinOp::Lt),
            Tok::Punct("<=") => Some(BinOp::Le),
            Tok::Punct(">") => Some(BinOp::Gt),
            Tok::Punct(">=") => Some(BinOp::Ge),
            Tok::Ident(w) if w == "in" => Some(BinOp::In),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let r = self.add()?;
            let sp = l.span.to(r.span);
            return Ok(Expr::new(ExprKind::Bin(op, Box::new(l), Box::new(r)), sp));
        }
        if self.eat_word("has") {
            let (a, asp) = match self.peek().clone() {
                Tok::Ident(s) => (s, self.bump().span),
                Tok::Str(s) => (s, self.bump().span),
                _ => return Err(self.err_expected("an attribute name after 'has'")),
            };
            return Ok(Expr::new(
                ExprKind::Has(Box::new(l.clone()), a),
                l.span.to(asp),
            ));
        }
        if self.eat_word("like") {
            let (pat, psp) = self.string("a pattern string after 'like'")?;
            return Ok(Expr::new(
                ExprKind::Like(Box::new(l.clone()), pattern(&pat)),
                l.span.to(psp),
            ));
        }
        if self.eat_word("is") {
            let (ty, tsp) = self.path()?;
            let mut sp = l.span.to(tsp);
            let inn = if self.eat_word("in") {
                let r = self.add()?;
                sp = sp.to(r.span);
                Some(Box::new(r))
            } else {
                None
            };
            return Ok(Expr::new(ExprKind::Is(Box::new(l), ty, inn), sp));
        }
        Ok(l)
    }

    fn add(&mut self) -> PResult<Expr> {
        let mut l = self.mul()?;
        loop {
            let op = if self.is_punct("+") {
                BinOp::Add
            } else if self.is_punct("-") {
                BinOp::Sub
            } else {
                break;
            };
            self.bump();
            let r = self.mul()?;
            let sp = l.span.to(r.span);
            l = Expr::new(ExprKind::Bin(op, Box::new(l), Box::new(r)), sp);
        }
        Ok(l)
    }

    fn mul(&mut self) -> PResult<Expr> {
        let mut l = self.unary()?;
        while self.eat_punct("*") {
            let r = self.unary()?;
            let sp = l.span.to(r.span);
            l = Expr::new(ExprKind::Bin(BinOp::Mul, Box::new(l), Box::new(r)), sp);
        }
        Ok(l)
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> PResult<Expr> {
        let sp = self.span();
        if self.eat_punct("!") {
            let e = self.unary()?;
            let s = sp.to(e.span);
            return Ok(Expr::new(ExprKind::Not(Box::new(e)), s));
        }
        if self.eat_punct("-") {
            if let Tok::Int(v) = *self.peek() {
                let isp = self.bump().span;
                let n = if v == 9_223_372_036_854_775_808 {
                    i64::MIN
                } else {
                    -(v as i64)
                };
                return self.member(Expr::new(ExprKind::Long(n), sp.to(isp)));
            }
            let e = self.unary()?;
            let s = sp.to(e.span);
            return Ok(Expr::new(ExprKind::Neg(Box::new(e)), s));
        }
        let p = self.primary()?;
        self.member(p)
    }

    fn member(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if self.eat_punct(".") {
                let (name, nsp) = self.ident("an attribute or method name after '.'")?;
                if self.eat_punct("(") {
                    let args = self.expr_list(")")?;
                    let end = self.expect_punct(")")?;
                    let sp = e.span.to(end);
                    e = Expr::new(ExprKind::Method(Box::new(e), name, args), sp);
                } else {
                    let sp = e.span.to(nsp);
                    e = Expr::new(ExprKind::Attr(Box::new(e), name), sp);
                }
            } else if self.is_punct("[") {
                self.bump();
                let (name, _) = self.string("an attribute name (a string) inside [ ]")?;
                let end = self.expect_punct("]")?;
                let sp = e.span.to(end);
                e = Expr::new(ExprKind::Attr(Box::new(e), name), sp);
            } else {
                return Ok(e);
            }
        }
    }

    fn expr_list(&mut self, close: &str) -> PResult<Vec<Expr>> {
        let mut v = Vec::new();
        if self.is_punct(close) {
            return Ok(v);
        }
        loop {
            v.push(self.expr()?);
            if !self.eat_punct(",") {
                return Ok(v);
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let sp = self.span();
        match self.peek().clone() {
            Tok::Int(v) => {
                self.bump();
                if v > i64::MAX as u64 {
                    return Err(Diag::new(
                        sp,
                        "integer literal does not fit a 64-bit signed integer".into(),
                    ));
                }
                Ok(Expr::new(ExprKind::Long(v as i64), sp))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::new(ExprKind::Str(unescape_star(&s)), sp))
            }
            Tok::Punct("(") => {
                self.bump();
                let e = self.expr()?;
                self.expect_punct(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                self.bump();
                let v = self.expr_list("]")?;
                let end = self.expect_punct("]")?;
                Ok(Expr::new(ExprKind::Set(v), sp.to(end)))
            }
            Tok::Punct("{") => {
                self.bump();
                let mut fields: Vec<(String, Expr)> = Vec::new();
                if !self.is_punct("}") {
                    loop {
                        let (k, ksp) = match self.peek().clone() {
                            Tok::Ident(s) => (s, self.bump().span),
                            Tok::Str(s) => (s, self.bump().span),
                            _ => return Err(self.err_expected("a record field name")),
                        };
                        if fields.iter().any(|(f, _)| *f == k) {
                            return Err(Diag::new(ksp, format!("duplicate record field '{k}'")));
                        }
                        self.expect_punct(":")?;
                        let v = self.expr()?;
                        fields.push((k, v));
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                let end = self.expect_punct("}")?;
                Ok(Expr::new(ExprKind::Record(fields), sp.to(end)))
            }
            Tok::Ident(w) => {
                match w.as_str() {
                    "true" | "false" => {
                        self.bump();
                        return Ok(Expr::new(ExprKind::Bool(w == "true"), sp));
                    }
                    "principal" | "action" | "resource" | "context" => {
                        self.bump();
                        let v = match w.as_str() {
                            "principal" => Var::Principal,
                            "action" => Var::Action,
                            "resource" => Var::Resource,
                            _ => Var::Context,
                        };
                        return Ok(Expr::new(ExprKind::Var(v), sp));
                    }
                    _ => {}
                }
                if matches!(self.peek_at(1), Tok::Punct("(")) {
                    self.bump();
                    self.bump();
                    let args = self.expr_list(")")?;
                    let end = self.expect_punct(")")?;
                    return Ok(Expr::new(ExprKind::Call(w, args), sp.to(end)));
                }
                if matches!(self.peek_at(1), Tok::Punct("::")) {
                    let (ty, _) = self.path()?;
                    self.expect_punct("::")?;
                    let (id, isp) = self.string("an entity id (a string)")?;
                    return Ok(Expr::new(ExprKind::Entity(Uid { ty, id }), sp.to(isp)));
                }
                let sug = did_you_mean(
                    &w,
                    [
                        "principal",
                        "action",
                        "resource",
                        "context",
                        "true",
                        "false",
                    ],
                );
                Err(Diag::new(sp, format!("unknown variable '{w}'")).help("conditions can use principal, action, resource, context, literals and entity references like User::\"alice\"").suggest(sug))
            }
            _ => Err(self.err_expected("an expression")),
        }
    }

    fn fields(&mut self) -> PResult<Vec<(String, Token, Span)>> {
        self.expect_punct("{")?;
        let mut out = Vec::new();
        while !self.is_punct("}") {
            let (k, ksp) = self.ident("a field name")?;
            self.expect_punct(":")?;
            let t = self.bump();
            out.push((k, t, ksp));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("}")?;
        Ok(out)
    }

    fn rate_limit(&mut self, start: Span, id: String) -> PResult<RateLimit> {
        self.bump();
        self.expect_punct("{")?;
        let (mut key, mut burst, mut refill, mut per, mut exceed) =
            (None, None, None, None, OnExceed::Deny);
        while !self.is_punct("}") {
            let (k, ksp) = self.ident("a rate-limit field (key, burst, refill, per, exceed)")?;
            self.expect_punct(":")?;
            match k.as_str() {
                "key" => key = Some(self.expr()?),
                "burst" | "refill" => {
                    let sp = self.span();
                    let v = match self.bump().tok {
                        Tok::Int(v) if v > 0 && v <= 1 << 40 => v,
                        _ => {
                            return Err(Diag::new(
                                sp,
                                format!("'{k}' must be a positive integer up to 2^40"),
                            ))
                        }
                    };
                    if k == "burst" {
                        burst = Some(v)
                    } else {
                        refill = Some(v)
                    }
                }
                "per" => {
                    let (s, sp) = self.string("a duration string like \"1s\"")?;
                    per = Some(duration_ms(&s).ok_or_else(|| {
                        Diag::new(sp, format!("bad duration \"{s}\""))
                            .help("use a positive number with ms, s, m, h or d, e.g. \"1s\"")
                    })?);
                }
                "exceed" => {
                    let (s, sp) = self.string("\"deny\", \"throttle\" or \"log\"")?;
                    exceed = match s.as_str() {
                        "deny" => OnExceed::Deny,
                        "throttle" => OnExceed::Throttle,
                        "log" => OnExceed::Log,
                        _ => {
                            return Err(Diag::new(sp, format!("unknown exceed action \"{s}\""))
                                .suggest(did_you_mean(&s, ["deny", "throttle", "log"])))
                        }
                    };
                }
                _ => {
                    return Err(
                        Diag::new(ksp, format!("unknown rate-limit field '{k}'")).suggest(
                            did_you_mean(&k, ["key", "burst", "refill", "per", "exceed"]),
                        ),
                    )
                }
            }
            if !self.eat_punct(",") {
                break;
            }
        }
        let close = self.expect_punct("}")?;
        let when = if self.eat_word("when") {
            self.expect_punct("{")?;
            let e = self.expr()?;
            self.expect_punct("}")?;
            Some(e)
        } else {
            None
        };
        let end = self.expect_punct(";")?;
        let missing = |n: &str| {
            Diag::new(
                start.to(close),
                format!("rate limit '{id}' is missing the '{n}' field"),
            )
        };
        Ok(RateLimit {
            key: key.ok_or_else(|| missing("key"))?,
            burst: burst.ok_or_else(|| missing("burst"))?,
            refill: refill.ok_or_else(|| missing("refill"))?,
            per_ms: per.ok_or_else(|| missing("per"))?,
            on_exceed: exceed,
            when,
            span: start.to(end),
            id,
        })
    }

    fn slo(&mut self, start: Span, id: String) -> PResult<Slo> {
        self.bump();
        let fields = self.fields()?;
        let end = self.expect_punct(";")?;
        let span = start.to(end);
        let get = |n: &str| fields.iter().find(|(k, _, _)| k == n);
        for (k, _, ksp) in &fields {
            const KNOWN: [&str; 10] = [
                "objective",
                "metric",
                "max",
                "min",
                "good",
                "total",
                "errors",
                "window",
                "breach",
                "percentile",
            ];
            if !KNOWN.contains(&k.as_str()) {
                return Err(Diag::new(*ksp, format!("unknown slo field '{k}'"))
                    .suggest(did_you_mean(k, KNOWN)));
            }
        }
        let text = |n: &str| -> PResult<String> {
            match get(n) {
                Some((
                    _,
                    Token {
                        tok: Tok::Str(s), ..
                    },
                    _,
                )) => Ok(s.clone()),
                Some((
                    _,
                    Token {
                        tok: Tok::Int(v), ..
                    },
                    _,
                )) => Ok(v.to_string()),
                Some((_, t, _)) => Err(Diag::new(
                    t.span,
                    format!("slo field '{n}' must be a string or integer"),
                )),
                None => Err(Diag::new(
                    span,
                    format!("slo '{id}' is missing the '{n}' field"),
                )),
            }
        };
        let num = |n: &str| -> PResult<f64> {
            let s = text(n)?;
            let sp = get(n).map(|f| f.1.span).unwrap_or(span);
            parse_number(&s).ok_or_else(|| {
                Diag::new(
                    sp,
                    format!("slo field '{n}' must be a number or a percentage like \"99.9%\""),
                )
            })
        };
        let objective_name = text("objective")?;
        let (objective, metrics) = match objective_name.as_str() {
            "latency" => (
                Objective::Latency {
                    percentile: get("percentile")
                        .map(|_| num("percentile"))
                        .transpose()?
                        .unwrap_or(99.0),
                    max: num("max")?,
                },
                vec![text("metric")?],
            ),
            "availability" => (
                Objective::Availability { min: num("min")? },
                vec![text("good")?, text("total")?],
            ),
            "error_rate" => (
                Objective::ErrorRate { max: num("max")? },
                vec![text("errors")?, text("total")?],
            ),
            other => {
                let sp = get("objective").map(|f| f.1.span).unwrap_or(span);
                return Err(Diag::new(sp, format!("unknown objective \"{other}\""))
                    .help("use latency, availability or error_rate")
                    .suggest(did_you_mean(
                        other,
                        ["latency", "availability", "error_rate"],
                    )));
            }
        };
        let wsp = get("window").map(|f| f.1.span).unwrap_or(span);
        let window_ms = duration_ms(&text("window")?).ok_or_else(|| {
            Diag::new(wsp, "bad window duration".into()).help("use e.g. \"5m\", \"1h\", \"30d\"")
        })?;
        let breach = text("breach")?;
        let on_breach = match breach.as_str() {
            "alert" => BreachAction::Alert,
            "throttle" => BreachAction::Throttle,
            "block" => BreachAction::Block,
            _ => {
                return Err(Diag::new(
                    get("breach").map(|f| f.1.span).unwrap_or(span),
                    format!("unknown breach action \"{breach}\""),
                )
                .suggest(did_you_mean(&breach, ["alert", "throttle", "block"])))
            }
        };
        let fields_text = fields
            .iter()
            .map(|(k, t, _)| {
                (
                    k.clone(),
                    match &t.tok {
                        Tok::Str(s) => quote(s),
                        Tok::Int(v) => v.to_string(),
                        _ => String::new(),
                    },
                )
            })
            .collect();
        Ok(Slo {
            id,
            metrics,
            objective,
            window_ms,
            on_breach,
            span,
            fields: fields_text,
        })
    }

    fn assertion(&mut self, start: Span, id: String) -> PResult<Assertion> {
        self.bump();
        let never_permit = if self.eat_word("never") {
            true
        } else if self.eat_word("always") {
            false
        } else {
            return Err(self.err_expected("'never' or 'always'"));
        };
        self.expect_word("permit")?;
        self.expect_word("when")?;
        self.expect_punct("{")?;
        let cond = self.expr()?;
        self.expect_punct("}")?;
        let end = self.expect_punct(";")?;
        Ok(Assertion {
            id,
            never_permit,
            cond,
            span: start.to(end),
        })
    }

    fn name_list(&mut self, quoted: bool) -> PResult<Vec<String>> {
        let mut v = Vec::new();
        loop {
            v.push(if quoted {
                self.string("an action name (a string)")?.0
            } else {
                self.path()?.0
            });
            if !self.eat_punct(",") {
                return Ok(v);
            }
        }
    }

    fn bracket_names(&mut self, quoted: bool) -> PResult<Vec<String>> {
        if self.eat_punct("[") {
            let v = if self.is_punct("]") {
                Vec::new()
            } else {
                self.name_list(quoted)?
            };
            self.expect_punct("]")?;
            Ok(v)
        } else {
            Ok(vec![if quoted {
                self.string("an action name")?.0
            } else {
                self.path()?.0
            }])
        }
    }

    fn entity_decl(&mut self, start: Span) -> PResult<EntityDecl> {
        self.bump();
        let names = self.name_list(false)?;
        let parents = if self.eat_word("in") {
            self.bracket_names(false)?
        } else {
            Vec::new()
        };
        let attrs = if self.is_punct("{") {
            self.record_type()?
        } else {
            Vec::new()
        };
        let end = self.expect_punct(";")?;
        Ok(EntityDecl {
            names,
            parents,
            attrs,
            span: start.to(end),
        })
    }

    fn action_decl(&mut self, start: Span) -> PResult<ActionDecl> {
        self.bump();
        let names = self.name_list(true)?;
        let parents = if self.eat_word("in") {
            self.bracket_names(true)?
        } else {
            Vec::new()
        };
        let (mut principals, mut resources, mut context) = (Vec::new(), Vec::new(), Vec::new());
        if self.eat_word("appliesTo") {
            self.expect_punct("{")?;
            while !self.is_punct("}") {
                let (k, ksp) = self.ident("principal, resource or context")?;
                self.expect_punct(":")?;
                match k.as_str() {
                    "principal" => principals = self.bracket_names(false)?,
                    "resource" => resources = self.bracket_names(false)?,
                    "context" => context = self.record_type()?,
                    _ => {
                        return Err(Diag::new(ksp, format!("unknown appliesTo field '{k}'"))
                            .suggest(did_you_mean(&k, ["principal", "resource", "context"])))
                    }
                }
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct("}")?;
        }
        let end = self.expect_punct(";")?;
        Ok(ActionDecl {
            names,
            parents,
            principals,
            resources,
            context,
            span: start.to(end),
        })
    }

    fn record_type(&mut self) -> PResult<Vec<AttrDecl>> {
        self.enter()?;
        self.expect_punct("{")?;
        let mut v: Vec<AttrDecl> = Vec::new();
        while !self.is_punct("}") {
            let (name, nsp) = match self.peek().clone() {
                Tok::Ident(s) => (s, self.bump().span),
                Tok::Str(s) => (s, self.bump().span),
                _ => return Err(self.err_expected("an attribute name")),
            };
            if v.iter().any(|a| a.name == name) {
                return Err(Diag::new(nsp, format!("duplicate attribute '{name}'")));
            }
            let required = !self.eat_punct("?");
            self.expect_punct(":")?;
            let ty = self.type_expr()?;
            v.push(AttrDecl { name, ty, required });
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_punct("}")?;
        self.depth -= 1;
        Ok(v)
    }

    fn type_expr(&mut self) -> PResult<Type> {
        if self.is_punct("{") {
            return Ok(Type::Record(self.record_type()?));
        }
        let (name, sp) = self.path()?;
        Ok(match name.as_str() {
            "String" => Type::String,
            "Long" => Type::Long,
            "Bool" | "Boolean" => Type::Bool,
            "ipaddr" | "__cedar::ipaddr" => Type::Ip,
            "Set" => {
                self.expect_punct("<")?;
                let inner = self.type_expr()?;
                self.expect_punct(">")?;
                Type::Set(Box::new(inner))
            }
            _ => {
                let _ = sp;
                Type::Entity(name)
            }
        })
    }
}

/// `*` is a wildcard; `\*` (kept escaped by the lexer) a literal star.
fn pattern(s: &str) -> Vec<PatElem> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' && it.peek() == Some(&'*') {
            it.next();
            out.push(PatElem::Char('*'));
        } else if c == '*' {
            out.push(PatElem::Wildcard);
        } else {
            out.push(PatElem::Char(c));
        }
    }
    out
}

fn unescape_star(s: &str) -> String {
    s.replace("\\*", "*")
}

pub fn duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    let mul = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(mul)
}

fn parse_number(s: &str) -> Option<f64> {
    let (t, pct) = match s.strip_suffix('%') {
        Some(t) => (t, true),
        None => (s, false),
    };
    let v: f64 = t
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    Some(if pct { v / 100.0 } else { v })
}
