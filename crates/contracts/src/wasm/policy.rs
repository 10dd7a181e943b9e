//! One policy -> one wasm function `() -> i32` (0 does not apply, 1 applies, 2 evaluation
//! error: Cedar skips the policy). Every expression leaves its value in a (tag, payload) pair
//! of locals; a type error, overflow or missing attribute branches straight out of the
//! function's outer block with 2.

use super::abi::*;
use super::func::{m, FnB};
use super::runtime::*;
use crate::ast::*;
use crate::diag::{Diag, Span};
use crate::value::IpNet;
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

type V = (u32, u32);

pub struct PGen<'a> {
    f: FnB,
    blob: &'a mut Blob,
}

fn unsupported(span: Span, what: &str) -> Diag {
    Diag::new(span, format!("the WebAssembly target cannot compile {what} yet"))
        .help("use the JS closure or the native engine for this contract, or rewrite the expression")
}

impl<'a> PGen<'a> {
    fn pair(&mut self) -> V {
        (self.f.local(ValType::I32), self.f.local(ValType::I64))
    }
    /// Leaves the policy with "error" (2).
    fn fail(&mut self) {
        let d = self.f.depth;
        self.f.all([I::I32Const(2), I::Br(d)]);
    }
    /// Fails unless the value has tag `t`.
    fn need(&mut self, v: V, t: u32) {
        self.f.all([I::LocalGet(v.0), I::I32Const(t as i32), I::I32Ne]);
        self.f.open_if();
        self.fail();
        self.f.close();
    }
    /// Fails when the i32 on the stack is non-zero.
    fn fail_if(&mut self) {
        self.f.open_if();
        self.fail();
        self.f.close();
    }
    fn set(&mut self, v: V, tag: u32, payload: I<'static>) {
        self.f.all([payload, I::LocalSet(v.1), I::I32Const(tag as i32), I::LocalSet(v.0)]);
    }
    /// Stores the i32 boolean on the stack into `v`.
    fn set_bool(&mut self, v: V) {
        self.f.all([I::I64ExtendI32U, I::LocalSet(v.1), I::I32Const(TAG_BOOL as i32), I::LocalSet(v.0)]);
    }
    fn ptr(&mut self, v: V) {
        self.f.all([I::LocalGet(v.1), I::I32WrapI64]);
    }
    fn copy(&mut self, from: V, to: V) {
        self.f.all([I::LocalGet(from.0), I::LocalSet(to.0), I::LocalGet(from.1), I::LocalSet(to.1)]);
    }
    fn konst_ptr(&mut self, v: V, tag: u32, ptr: u32) {
        self.set(v, tag, I::I64Const(ptr as i64));
    }
    /// Loads the cell at the i32 address on the stack into `v`.
    fn load_cell(&mut self, v: V) {
        let c = self.f.local(ValType::I32);
        self.f.all([I::LocalTee(c), I::I32Load(m(0)), I::LocalSet(v.0), I::LocalGet(c), I::I64Load(m(8)), I::LocalSet(v.1)]);
    }
    fn bool_of(&mut self, e: &Expr) -> Result<V, Diag> {
        let v = self.expr(e)?;
        self.need(v, TAG_BOOL);
        Ok(v)
    }
    fn long_of(&mut self, e: &Expr) -> Result<V, Diag> {
        let v = self.expr(e)?;
        self.need(v, TAG_LONG);
        Ok(v)
    }

    pub fn expr(&mut self, e: &Expr) -> Result<V, Diag> {
        let r = self.pair();
        match &e.kind {
            ExprKind::Bool(b) => self.set(r, TAG_BOOL, I::I64Const(*b as i64)),
            ExprKind::Long(n) => self.set(r, TAG_LONG, I::I64Const(*n)),
            ExprKind::Str(s) => {
                let p = self.blob.str(s);
                self.konst_ptr(r, TAG_STR, p)
            }
            ExprKind::Entity(u) => {
                let p = self.blob.uid(u);
                self.konst_ptr(r, TAG_ENTITY, p)
            }
            ExprKind::Var(v) => {
                let (g, tag) = match v {
                    Var::Principal => (G_P, TAG_ENTITY),
                    Var::Action => (G_A, TAG_ENTITY),
                    Var::Resource => (G_R, TAG_ENTITY),
                    Var::Context => (G_C, TAG_RECORD),
                };
                self.f.all([I::GlobalGet(g), I::I64ExtendI32U, I::LocalSet(r.1), I::I32Const(tag as i32), I::LocalSet(r.0)]);
            }
            ExprKind::Not(x) => {
                let v = self.bool_of(x)?;
                self.f.all([I::LocalGet(v.1), I::I64Eqz]);
                self.set_bool(r);
            }
            ExprKind::Neg(x) => {
                let v = self.long_of(x)?;
                self.f.all([I::LocalGet(v.1), I::I64Const(i64::MIN), I::I64Eq]);
                self.fail_if();
                self.set(r, TAG_LONG, I::I64Const(0));
                self.f.all([I::LocalGet(r.1), I::LocalGet(v.1), I::I64Sub, I::LocalSet(r.1)]);
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let va = self.bool_of(a)?;
                self.copy(va, r);
                // && evaluates b only when a is true; || only when a is false.
                self.f.i(I::LocalGet(va.1));
                if is_and {
                    self.f.i(I::I32WrapI64);
                } else {
                    self.f.i(I::I64Eqz);
                }
                self.f.open_if();
                let vb = self.bool_of(b)?;
                self.copy(vb, r);
                self.f.close();
            }
            ExprKind::If(c, t, x) => {
                let vc = self.bool_of(c)?;
                self.f.all([I::LocalGet(vc.1), I::I32WrapI64]);
                self.f.open_if();
                let vt = self.expr(t)?;
                self.copy(vt, r);
                self.f.els();
                let vx = self.expr(x)?;
                self.copy(vx, r);
                self.f.close();
            }
            ExprKind::Bin(op, a, b) => self.binary(*op, a, b, r)?,
            ExprKind::Has(x, attr) => {
                let v = self.expr(x)?;
                let key = self.blob.str(attr);
                // record: has the key; entity: exists in the store and has the attribute.
                self.f.all([I::LocalGet(v.0), I::I32Const(TAG_RECORD as i32), I::I32Eq]);
                self.f.open_if();
                self.ptr(v);
                self.f.all([I::I32Const(key as i32), I::Call(F_RECGET), I::I32Const(0), I::I32Ne]);
                self.set_bool(r);
                self.f.els();
                self.need(v, TAG_ENTITY);
                let s = self.f.local(ValType::I32);
                self.ptr(v);
                self.f.all([I::Call(F_FIND), I::LocalTee(s), I::If(BlockType::Result(ValType::I32))]);
                self.f.all([I::LocalGet(s), I::I32Load(m(4)), I::I32Const(key as i32), I::Call(F_RECGET), I::I32Const(0), I::I32Ne]);
                self.f.all([I::Else, I::I32Const(0), I::End]);
                self.set_bool(r);
                self.f.close();
            }
            ExprKind::Attr(x, attr) => {
                let v = self.expr(x)?;
                let key = self.blob.str(attr);
                let rec = self.f.local(ValType::I32);
                self.f.all([I::LocalGet(v.0), I::I32Const(TAG_RECORD as i32), I::I32Eq]);
                self.f.open_if();
                self.ptr(v);
                self.f.i(I::LocalSet(rec));
                self.f.els();
                self.need(v, TAG_ENTITY);
                self.ptr(v);
                self.f.all([I::Call(F_FIND), I::LocalTee(rec), I::I32Eqz]);
                self.fail_if(); // entity does not exist
                self.f.all([I::LocalGet(rec), I::I32Load(m(4)), I::LocalSet(rec)]);
                self.f.close();
                let c = self.f.local(ValType::I32);
                self.f.all([I::LocalGet(rec), I::I32Const(key as i32), I::Call(F_RECGET), I::LocalTee(c), I::I32Eqz]);
                self.fail_if(); // no such attribute
                self.f.i(I::LocalGet(c));
                self.load_cell(r);
            }
            ExprKind::Like(x, pat) => {
                let v = self.expr(x)?;
                self.need(v, TAG_STR);
                let p = self.blob.pattern(pat);
                self.ptr(v);
                self.f.all([I::I32Const(p as i32), I::Call(F_LIKE)]);
                self.set_bool(r);
            }
            ExprKind::Is(x, ty, inn) => {
                let v = self.expr(x)?;
                self.need(v, TAG_ENTITY);
                let pre = self.blob.str(&format!("{ty}::\""));
                self.ptr(v);
                self.f.all([I::I32Load(m(0)), I::I32Const(pre as i32), I::Call(F_PREFIX)]);
                self.set_bool(r);
                if let Some(g) = inn {
                    self.f.all([I::LocalGet(r.1), I::I32WrapI64]);
                    self.f.open_if();
                    let vg = self.expr(g)?;
                    self.in_value(v, vg, r);
                    self.f.close();
                }
            }
            ExprKind::Method(recv, name, args) => self.method(recv, name, args, r, e.span)?,
            ExprKind::Call(fun, args) => match (fun.as_str(), args.as_slice()) {
                ("ip", [a]) => match &a.kind {
                    ExprKind::Str(s) => match IpNet::parse(s) {
                        Some(ip) => {
                            let p = self.blob.ip(&ip);
                            self.konst_ptr(r, TAG_IP, p)
                        }
                        // Not an address: an evaluation error every time, as in eval.rs.
                        None => self.fail(),
                    },
                    _ => return Err(unsupported(e.span, "ip() of a computed string (only ip(\"literal\"))")),
                },
                _ => return Err(unsupported(e.span, &format!("the extension function {fun}"))),
            },
            ExprKind::Set(items) => {
                let vs = items.iter().map(|x| self.expr(x)).collect::<Result<Vec<V>, Diag>>()?;
                let p = self.alloc(8 + 16 * vs.len() as u32);
                self.f.all([I::LocalGet(p), I::I32Const(vs.len() as i32), I::I32Store(m(0))]);
                for (k, v) in vs.iter().enumerate() {
                    self.store_cell(p, 8 + 16 * k as u64, *v);
                }
                self.f.all([I::LocalGet(p), I::I64ExtendI32U, I::LocalSet(r.1), I::I32Const(TAG_SET as i32), I::LocalSet(r.0)]);
            }
            ExprKind::Record(fields) => {
                let vs = fields.iter().map(|(_, x)| self.expr(x)).collect::<Result<Vec<V>, Diag>>()?;
                // Keys sorted bytewise, the last duplicate wins (as BTreeMap::insert in eval.rs).
                let mut by_key: std::collections::BTreeMap<&str, V> = std::collections::BTreeMap::new();
                for ((k, _), v) in fields.iter().zip(vs) {
                    by_key.insert(k.as_str(), v);
                }
                let p = self.alloc(8 + 24 * by_key.len() as u32);
                self.f.all([I::LocalGet(p), I::I32Const(by_key.len() as i32), I::I32Store(m(0))]);
                for (k, (key, v)) in by_key.into_iter().enumerate() {
                    let ks = self.blob.str(key);
                    let at = 8 + 24 * k as u64;
                    self.f.all([I::LocalGet(p), I::I32Const(ks as i32), I::I32Store(m(at))]);
                    self.store_cell(p, at + 8, v);
                }
                self.f.all([I::LocalGet(p), I::I64ExtendI32U, I::LocalSet(r.1), I::I32Const(TAG_RECORD as i32), I::LocalSet(r.0)]);
            }
        }
        Ok(r)
    }

    /// Scratch memory (released by `authorize`/`policy` on return); out of memory is an error.
    fn alloc(&mut self, n: u32) -> u32 {
        let p = self.f.local(ValType::I32);
        self.f.all([I::I32Const(n as i32), I::Call(F_ALLOC), I::LocalTee(p), I::I32Eqz]);
        self.fail_if();
        p
    }
    fn store_cell(&mut self, p: u32, at: u64, v: V) {
        self.f.all([I::LocalGet(p), I::LocalGet(v.0), I::I32Store(m(at)), I::LocalGet(p), I::LocalGet(v.1), I::I64Store(m(at + 8))]);
    }

    /// `u in g` where u is an entity: g an entity, or a set of entities (else a type error).
    fn in_value(&mut self, u: V, g: V, r: V) {
        let t = self.f.local(ValType::I32);
        self.f.all([I::LocalGet(g.0), I::I32Const(TAG_ENTITY as i32), I::I32Eq]);
        self.f.open_if();
        self.ptr(u);
        self.ptr(g);
        self.f.i(I::Call(F_ISIN));
        self.set_bool(r);
        self.f.els();
        self.need(g, TAG_SET);
        self.ptr(u);
        self.ptr(g);
        self.f.all([I::Call(F_INSET), I::LocalTee(t), I::I32Const(2), I::I32Eq]);
        self.fail_if();
        self.f.i(I::LocalGet(t));
        self.set_bool(r);
        self.f.close();
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, r: V) -> Result<(), Diag> {
        let x = self.expr(a)?;
        let y = self.expr(b)?;
        match op {
            BinOp::Eq | BinOp::Ne => {
                self.f.all([I::LocalGet(x.0), I::LocalGet(x.1), I::LocalGet(y.0), I::LocalGet(y.1), I::Call(F_EQ)]);
                if op == BinOp::Ne {
                    self.f.i(I::I32Eqz);
                }
                self.set_bool(r);
            }
            BinOp::In => {
                self.need(x, TAG_ENTITY);
                self.in_value(x, y, r);
            }
            _ => {
                self.need(x, TAG_LONG);
                self.need(y, TAG_LONG);
                let (xa, ya) = (I::LocalGet(x.1), I::LocalGet(y.1));
                match op {
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        let cmp = match op {
                            BinOp::Lt => I::I64LtS,
                            BinOp::Le => I::I64LeS,
                            BinOp::Gt => I::I64GtS,
                            _ => I::I64GeS,
                        };
                        self.f.all([xa, ya, cmp]);
                        self.set_bool(r);
                    }
                    BinOp::Add | BinOp::Sub => {
                        let z = self.f.local(ValType::I64);
                        let arith = if op == BinOp::Add { I::I64Add } else { I::I64Sub };
                        self.f.all([xa.clone(), ya.clone(), arith, I::LocalSet(z)]);
                        // add overflows iff both operands differ in sign from the result;
                        // sub iff the operands differ in sign and the result differs from x.
                        if op == BinOp::Add {
                            self.f.all([xa, I::LocalGet(z), I::I64Xor, ya, I::LocalGet(z), I::I64Xor]);
                        } else {
                            self.f.all([xa.clone(), ya, I::I64Xor, xa, I::LocalGet(z), I::I64Xor]);
                        }
                        self.f.all([I::I64And, I::I64Const(0), I::I64LtS]);
                        self.fail_if();
                        self.set(r, TAG_LONG, I::LocalGet(z));
                    }
                    _ => {
                        // mul: x == -1 overflows only for MIN; otherwise x != 0 and z / x != y.
                        let z = self.f.local(ValType::I64);
                        self.f.all([xa.clone(), ya.clone(), I::I64Mul, I::LocalSet(z)]);
                        self.f.all([xa.clone(), I::I64Const(-1), I::I64Eq]);
                        self.f.open_if();
                        self.f.all([ya.clone(), I::I64Const(i64::MIN), I::I64Eq]);
                        self.fail_if();
                        self.f.els();
                        self.f.all([xa.clone(), I::I64Const(0), I::I64Ne]);
                        self.f.open_if();
                        self.f.all([I::LocalGet(z), xa, I::I64DivS, ya, I::I64Ne]);
                        self.fail_if();
                        self.f.close();
                        self.f.close();
                        self.set(r, TAG_LONG, I::LocalGet(z));
                    }
                }
            }
        }
        Ok(())
    }

    fn method(&mut self, recv: &Expr, name: &str, args: &[Expr], r: V, span: Span) -> Result<(), Diag> {
        let v = self.expr(recv)?;
        match (name, args) {
            ("contains", [a]) => {
                self.need(v, TAG_SET);
                let x = self.expr(a)?;
                self.ptr(v);
                self.f.all([I::LocalGet(x.0), I::LocalGet(x.1), I::Call(F_SETHAS)]);
                self.set_bool(r);
            }
            ("containsAll" | "containsAny", [a]) => {
                self.need(v, TAG_SET);
                let x = self.expr(a)?;
                self.need(x, TAG_SET);
                self.ptr(v);
                self.ptr(x);
                self.f.i(I::Call(if name == "containsAll" { F_SETALL } else { F_SETANY }));
                self.set_bool(r);
            }
            ("isEmpty", []) => {
                self.need(v, TAG_SET);
                self.ptr(v);
                self.f.all([I::I32Load(m(0)), I::I32Eqz]);
                self.set_bool(r);
            }
            ("isInRange", [a]) => {
                self.need(v, TAG_IP);
                let x = self.expr(a)?;
                self.need(x, TAG_IP);
                self.ptr(v);
                self.ptr(x);
                self.f.i(I::Call(F_IPIN));
                self.set_bool(r);
            }
            ("isIpv4" | "isIpv6", []) => {
                self.need(v, TAG_IP);
                self.ptr(v);
                self.f.all([I::I32Load(m(0)), I::I32Const(if name == "isIpv4" { 32 } else { 128 }), I::I32Eq]);
                self.set_bool(r);
            }
            ("isLoopback" | "isMulticast", []) => {
                self.need(v, TAG_IP);
                let (v4, v6) = if name == "isLoopback" { ("127.0.0.0/8", "::1/128") } else { ("224.0.0.0/4", "ff00::/8") };
                let (p4, p6) = (self.blob.ip(&IpNet::parse(v4).expect("constant")), self.blob.ip(&IpNet::parse(v6).expect("constant")));
                self.ptr(v);
                self.f.all([I::I32Const(p4 as i32), I::I32Const(p6 as i32)]);
                self.ptr(v);
                self.f.all([I::I32Load(m(0)), I::I32Const(32), I::I32Eq, I::Select, I::Call(F_IPIN)]);
                self.set_bool(r);
            }
            _ => return Err(unsupported(span, &format!("the method {name}/{}", args.len()))),
        }
        Ok(())
    }

    fn scope(&mut self, c: &ScopeCon, g: u32) {
        let uid = |s: &mut Self, u: &Uid| s.blob.uid(u) as i32;
        match c {
            ScopeCon::Any => return,
            ScopeCon::Eq(u) => {
                let k = uid(self, u);
                self.f.all([I::GlobalGet(g), I::I32Const(k), I::Call(F_UIDEQ)]);
            }
            ScopeCon::In(u) => {
                let k = uid(self, u);
                self.f.all([I::GlobalGet(g), I::I32Const(k), I::Call(F_ISIN)]);
            }
            ScopeCon::Is(t) | ScopeCon::IsIn(t, _) => {
                let pre = self.blob.str(&format!("{t}::\"")) as i32;
                self.f.all([I::GlobalGet(g), I::I32Load(m(0)), I::I32Const(pre), I::Call(F_PREFIX)]);
                if let ScopeCon::IsIn(_, u) = c {
                    let k = uid(self, u);
                    self.f.all([I::GlobalGet(g), I::I32Const(k), I::Call(F_ISIN), I::I32And]);
                }
            }
        }
        self.not_applies_unless_top();
    }

    /// Leaves the policy with "does not apply" (0) when the i32 on the stack is zero.
    fn not_applies_unless_top(&mut self) {
        self.f.i(I::I32Eqz);
        self.f.open_if();
        let d = self.f.depth;
        self.f.all([I::I32Const(0), I::Br(d)]);
        self.f.close();
    }

    /// Compiles one policy into its function.
    pub fn policy(blob: &'a mut Blob, p: &Policy) -> Result<Function, Diag> {
        let mut g = PGen { f: FnB::new(0), blob };
        g.f.i(I::Block(BlockType::Result(ValType::I32)));
        g.scope(&p.principal, G_P);
        g.scope(&p.resource, G_R);
        match &p.action {
            ActionCon::Any => {}
            ActionCon::Eq(u) => {
                let k = g.blob.uid(u) as i32;
                g.f.all([I::GlobalGet(G_A), I::I32Const(k), I::Call(F_UIDEQ)]);
                g.not_applies_unless_top();
            }
            ActionCon::In(us) => {
                g.f.i(I::I32Const(0));
                for u in us {
                    let k = g.blob.uid(u) as i32;
                    g.f.all([I::GlobalGet(G_A), I::I32Const(k), I::Call(F_ISIN), I::I32Or]);
                }
                g.not_applies_unless_top();
            }
        }
        for c in &p.conditions {
            let v = g.bool_of(&c.expr)?;
            g.f.i(I::LocalGet(v.1));
            if c.when {
                g.f.i(I::I64Eqz);
            } else {
                g.f.i(I::I32WrapI64);
            }
            g.f.open_if();
            let d = g.f.depth;
            g.f.all([I::I32Const(0), I::Br(d)]);
            g.f.close();
        }
        g.f.all([I::I32Const(1), I::End]);
        Ok(g.f.finish())
    }
}
