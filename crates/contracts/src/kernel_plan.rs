//! Kernel target: the parts of a contract a packet filter can enforce, planned for
//! `omnitide/kernel` (the TS module applies the plan through its public API).
//!
//! - `forbid(principal, action, resource) when { context.<ip>.isInRange(ip("c")) || context.<ip> == ip("a") }`
//!   -> XDP blocklist entries for those ranges;
//! - `forbid ... when { context.<port> == N || [N, M].contains(context.<port>) }` -> cgroup
//!   connect policy denied ports;
//! - `ratelimit { key: context.<ip>, burst: B, refill: R, per: P }` (optionally `when` over
//!   source ranges) -> XDP per-source token buckets (`pps = R / P`, burst `B`): one packet
//!   counts as one request.
//!
//! Everything else (permits: the default-deny decision stays in userspace; scoped policies:
//! the kernel sees packets, not principals; other conditions, log-only limits, fractional
//! rates) is listed in `unsupported` with its position and reason: never dropped silently.

use crate::ast::*;
use crate::diag::{line_col, Span};
use crate::value::IpNet;
use serde_json::{json, Value};

pub struct Names<'a> {
    /// The context attribute holding the packet's source address.
    pub ip: &'a str,
    /// The context attribute holding the destination port.
    pub port: &'a str,
}

fn cidr(ip: &IpNet) -> String {
    let (net, width) = ip.network();
    let addr = if width == 32 {
        std::net::IpAddr::V4(std::net::Ipv4Addr::from(net as u32))
    } else {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(net))
    };
    format!("{addr}/{}", ip.prefix)
}

fn is_ctx_attr(e: &Expr, name: &str) -> bool {
    matches!(&e.kind, ExprKind::Attr(x, a) if a == name && matches!(x.kind, ExprKind::Var(Var::Context)))
}

fn ip_literal(e: &Expr) -> Option<IpNet> {
    match &e.kind {
        ExprKind::Call(f, args) if f == "ip" && args.len() == 1 => match &args[0].kind {
            ExprKind::Str(s) => IpNet::parse(s),
            _ => None,
        },
        _ => None,
    }
}

enum Atom {
    Range(IpNet),
    Port(u16),
}

/// The disjuncts of `e` when each is a source-range or port test, else `None`.
fn atoms(e: &Expr, n: &Names, out: &mut Vec<Atom>) -> bool {
    match &e.kind {
        ExprKind::Or(a, b) => atoms(a, n, out) && atoms(b, n, out),
        ExprKind::Method(recv, m, args) if m == "isInRange" && args.len() == 1 && is_ctx_attr(recv, n.ip) => match ip_literal(&args[0]) {
            Some(r) => {
                out.push(Atom::Range(r));
                true
            }
            None => false,
        },
        ExprKind::Method(recv, m, args) if m == "contains" && args.len() == 1 && is_ctx_attr(&args[0], n.port) => match &recv.kind {
            ExprKind::Set(items) => items.iter().all(|i| match &i.kind {
                ExprKind::Long(p) if (1..=65535).contains(p) => {
                    out.push(Atom::Port(*p as u16));
                    true
                }
                _ => false,
            }),
            _ => false,
        },
        ExprKind::Bin(BinOp::Eq, a, b) => {
            let (x, y) = if is_ctx_attr(b, n.ip) || is_ctx_attr(b, n.port) { (b, a) } else { (a, b) };
            if is_ctx_attr(x, n.ip) {
                match ip_literal(y) {
                    // `==` compares the whole value: a source address (/32 or /128) equals only
                    // a literal of full length.
                    Some(r) if r.prefix == if r.addr.is_ipv4() { 32 } else { 128 } => {
                        out.push(Atom::Range(r));
                        true
                    }
                    _ => false,
                }
            } else if is_ctx_attr(x, n.port) {
                match &y.kind {
                    ExprKind::Long(p) if (1..=65535).contains(p) => {
                        out.push(Atom::Port(*p as u16));
                        true
                    }
                    _ => false,
                }
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Packets per second of a limit, when it is a whole number >= 1 (the XDP bucket's unit).
fn pps_of(r: &RateLimit) -> Option<u64> {
    let per_s = r.refill.checked_mul(1000)?;
    if r.per_ms == 0 || !per_s.is_multiple_of(r.per_ms) || per_s / r.per_ms == 0 {
        return None;
    }
    Some(per_s / r.per_ms)
}

fn unsupported(src: &str, id: &str, kind: &str, span: Span, reason: &str) -> Value {
    let (line, column) = line_col(src, span.start);
    json!({"id": id, "kind": kind, "line": line, "column": column, "reason": reason})
}

/// The kernel plan of a parsed, type-checked contract (`src` for positions).
pub fn plan(c: &Contract, src: &str, n: &Names) -> Value {
    let (mut block, mut ports, mut limits, mut skipped) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in &c.policies {
        if p.effect == Effect::Permit {
            skipped.push(unsupported(
                src,
                &p.id,
                "permit",
                p.span,
                "permits are not enforced in the kernel (the default-deny decision stays in userspace)",
            ));
            continue;
        }
        if p.principal != ScopeCon::Any || p.resource != ScopeCon::Any || p.action != ActionCon::Any {
            skipped.push(unsupported(
                src,
                &p.id,
                "forbid",
                p.span,
                "a scoped forbid is not enforceable in the kernel (it sees packets, not principals, actions or resources)",
            ));
            continue;
        }
        let mut found = Vec::new();
        let ok = match p.conditions.as_slice() {
            [c] if c.when => atoms(&c.expr, n, &mut found),
            _ => false,
        };
        if !ok {
            let why = format!("only one `when` that is a disjunction of context.{}.isInRange(ip(\"...\")), context.{} == ip(\"...\") and context.{} == PORT is enforceable in the kernel", n.ip, n.ip, n.port);
            skipped.push(unsupported(src, &p.id, "forbid", p.span, &why));
            continue;
        }
        for a in found {
            match a {
                Atom::Range(r) => block.push(json!({"cidr": cidr(&r), "policy": p.id})),
                Atom::Port(x) => ports.push(json!({"port": x, "policy": p.id})),
            }
        }
    }
    for r in &c.rate_limits {
        let why = if !is_ctx_attr(&r.key, n.ip) {
            Some(format!("the kernel keys rate limits by source address: the key must be context.{}", n.ip))
        } else if r.on_exceed == OnExceed::Log {
            Some("a log-only limit drops nothing: it stays in userspace".to_string())
        } else if pps_of(r).is_none() {
            Some(format!("a refill of {} per {} ms is not a whole number of packets per second", r.refill, r.per_ms))
        } else {
            None
        };
        let mut ranges = Vec::new();
        let why = why.or_else(|| match &r.when {
            None => None,
            Some(w) => {
                let mut found = Vec::new();
                if atoms(w, n, &mut found) && found.iter().all(|a| matches!(a, Atom::Range(_))) {
                    ranges.extend(found.into_iter().filter_map(|a| if let Atom::Range(x) = a { Some(x) } else { None }));
                    None
                } else {
                    Some(format!("the limit's `when` must be a disjunction of source ranges (context.{}.isInRange(ip(\"...\")))", n.ip))
                }
            }
        });
        if let Some(w) = why {
            skipped.push(unsupported(src, &r.id, "ratelimit", r.span, &w));
            continue;
        }
        let pps = pps_of(r).expect("checked above");
        if ranges.is_empty() {
            ranges = vec![IpNet::parse("0.0.0.0/0").expect("constant"), IpNet::parse("::/0").expect("constant")];
        }
        for x in ranges {
            limits.push(
                json!({"id": r.id, "cidr": cidr(&x), "pps": pps, "burst": r.burst, "action": format!("{:?}", r.on_exceed).to_lowercase()}),
            );
        }
    }
    json!({"block": block, "denyPorts": ports, "rateLimits": limits, "unsupported": skipped})
}
