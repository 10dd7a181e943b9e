//! Compiled evaluators: the canonical rational function in Horner form.

use crate::canon::{self, Options};
use crate::{ast, eval};
use omnitide_common::{Error, Result};
use std::collections::HashMap;

/// A compiled expression: the canonical rational function in Horner form over its atoms,
/// each atom (`x`, `sin(x + 1)`, `sqrt(y)`, ...) computed once and kept in a register
/// (common subexpressions are shared because canonical atoms are hash-consed).
pub struct Compiled {
    pub vars: Vec<String>,
    code: Vec<Instr>,
    nregs: usize,
    /// Conditions under which the compiled (simplified) form equals the input.
    pub conditions: Vec<String>,
}

#[derive(Clone, Debug)]
enum Instr {
    Const(f64),
    Var(usize),
    Load(usize),
    Store(usize),
    Neg,
    Bin(ast::BinOp),
    Call(String, usize),
}

struct Emitter<'a> {
    ctx: canon::Ctx,
    vars: &'a [String],
    code: Vec<Instr>,
    regs: HashMap<u32, usize>,
}

impl Emitter<'_> {
    fn atom(&mut self, id: u32) -> Result<()> {
        if let Some(&r) = self.regs.get(&id) {
            self.code.push(Instr::Load(r));
            return Ok(());
        }
        let node = self.ctx.atoms[id as usize].node.clone();
        if let ast::Node::Sym(name) = &node {
            if let Some(i) = self.vars.iter().position(|v| v == name) {
                self.code.push(Instr::Var(i));
                return Ok(());
            }
        }
        self.node(&node)?;
        let r = self.regs.len();
        self.regs.insert(id, r);
        self.code.push(Instr::Store(r));
        Ok(())
    }
    fn node(&mut self, n: &ast::Node) -> Result<()> {
        use ast::Node;
        use num_traits::ToPrimitive;
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
            match n {
                Node::Num(r) => self.code.push(Instr::Const(r.to_f64().unwrap_or(f64::NAN))),
                // an atom's node names the compound atoms below it by placeholder
                Node::Sym(_) if canon::placeholder_id(n).is_some() => self.atom(canon::placeholder_id(n).unwrap_or(0))?,
                Node::Sym(s) => match self.vars.iter().position(|v| v == s) {
                    Some(i) => self.code.push(Instr::Var(i)),
                    None => self.code.push(Instr::Const(eval::eval(n, &HashMap::new())?)),
                },
                Node::Call(f, args) => {
                    for a in args {
                        let r = self.ctx.to_rf(a)?;
                        self.rf(&r)?;
                    }
                    eval::apply(f, &vec![0.5; args.len()])?;
                    self.code.push(Instr::Call(f.clone(), args.len()));
                }
                Node::Bin(op @ (ast::BinOp::Pow | ast::BinOp::Mod), a, b) => {
                    let (ra, rb) = (self.ctx.to_rf(a)?, self.ctx.to_rf(b)?);
                    self.rf(&ra)?;
                    self.rf(&rb)?;
                    self.code.push(Instr::Bin(*op));
                }
                Node::Neg(a) => {
                    self.node(a)?;
                    self.code.push(Instr::Neg);
                }
                Node::Bin(op, a, b) => {
                    self.node(a)?;
                    self.node(b)?;
                    self.code.push(Instr::Bin(*op));
                }
                Node::Factorial(a) => {
                    self.node(a)?;
                    self.code.push(Instr::Call("factorial".into(), 1));
                }
                Node::Bool(b) => self.code.push(Instr::Const(*b as u8 as f64)),
                Node::Not(_) => return Err(Error::invalid_arg("expr", "cannot compile boolean 'not'")),
            }
            Ok(())
        })
    }
    /// Horner form in the variable that occurs in the most terms.
    fn poly(&mut self, p: &crate::poly::Poly) -> Result<()> {
        use num_traits::ToPrimitive;
        if let Some(c) = p.const_value() {
            self.code.push(Instr::Const(c.to_f64().unwrap_or(f64::NAN)));
            return Ok(());
        }
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for m in p.terms.keys() {
            for &(v, _) in m {
                *counts.entry(v).or_default() += 1;
            }
        }
        let v = counts.iter().max_by_key(|(v, c)| (**c, std::cmp::Reverse(**v))).map(|(v, _)| *v).unwrap();
        let cs = p.coeffs_in(v);
        let d = cs.len() - 1;
        self.poly(&cs[d])?;
        for k in (0..d).rev() {
            self.atom(v)?;
            self.code.push(Instr::Bin(ast::BinOp::Mul));
            if !cs[k].is_zero() {
                self.poly(&cs[k])?;
                self.code.push(Instr::Bin(ast::BinOp::Add));
            }
        }
        Ok(())
    }
    fn rf(&mut self, r: &canon::Rf) -> Result<()> {
        self.poly(&r.num)?;
        if !r.den.is_one() {
            self.poly(&r.den)?;
            self.code.push(Instr::Bin(ast::BinOp::Div));
        }
        Ok(())
    }
}

pub fn compile(expr: &str, vars: &[String], opts: &Options) -> Result<Compiled> {
    let n = ast::parse_with_depth(expr, opts.limits.max_depth)?;
    canon::check_tree(&n, &opts.limits)?;
    for v in n.vars() {
        if !vars.contains(&v) {
            return Err(Error::invalid_arg("variables", format!("'{v}' occurs in the expression but is not listed")));
        }
    }
    for (i, v) in vars.iter().enumerate() {
        if vars[..i].contains(v) {
            return Err(Error::invalid_arg("variables", format!("'{v}' is listed twice")));
        }
    }
    let mut o = opts.clone();
    o.trig = false;
    let mut e = Emitter { ctx: canon::Ctx::new(o), vars, code: Vec::new(), regs: HashMap::new() };
    let r = e.ctx.to_rf(&n)?;
    e.rf(&r)?;
    let conditions = e.ctx.conditions.clone();
    Ok(Compiled { vars: vars.to_vec(), code: e.code, nregs: e.regs.len(), conditions })
}

impl Compiled {
    pub fn eval_row(&self, row: &[f64], stack: &mut Vec<f64>) -> f64 {
        let mut small = [0.0f64; 16];
        let mut heap: Vec<f64> = if self.nregs > 16 { vec![0.0; self.nregs] } else { Vec::new() };
        let regs: &mut [f64] = if self.nregs > 16 { &mut heap } else { &mut small };
        stack.clear();
        for ins in &self.code {
            match ins {
                Instr::Load(r) => stack.push(regs[*r]),
                Instr::Store(r) => regs[*r] = *stack.last().unwrap(),
                Instr::Const(c) => stack.push(*c),
                Instr::Var(i) => stack.push(row[*i]),
                Instr::Neg => {
                    let x = stack.pop().unwrap();
                    stack.push(-x)
                }
                Instr::Bin(op) => {
                    let y = stack.pop().unwrap();
                    let x = stack.pop().unwrap();
                    stack.push(match op {
                        ast::BinOp::Add => x + y,
                        ast::BinOp::Sub => x - y,
                        ast::BinOp::Mul => x * y,
                        ast::BinOp::Div => x / y,
                        ast::BinOp::Pow => eval::pow(x, y),
                        ast::BinOp::Mod => x - y * (x / y).floor(),
                        _ => f64::NAN,
                    })
                }
                Instr::Call(f, k) => {
                    let at = stack.len() - k;
                    let r = eval::apply(f, &stack[at..]).unwrap_or(f64::NAN);
                    stack.truncate(at);
                    stack.push(r)
                }
            }
        }
        stack.pop().unwrap_or(f64::NAN)
    }
    /// Evaluates over columns (one slice per variable, all of equal length).
    pub fn evaluate_many(&self, cols: &[&[f64]], out: &mut [f64]) -> Result<()> {
        if cols.len() != self.vars.len() {
            return Err(Error::invalid_arg("columns", format!("expected {} columns, got {}", self.vars.len(), cols.len())));
        }
        for (i, c) in cols.iter().enumerate() {
            if c.len() != out.len() {
                return Err(Error::invalid_arg(&format!("columns[{i}]"), format!("length {} differs from {}", c.len(), out.len())));
            }
        }
        let mut row = vec![0.0; cols.len()];
        let mut stack = Vec::with_capacity(16);
        for r in 0..out.len() {
            for (j, c) in cols.iter().enumerate() {
                row[j] = c[r];
            }
            out[r] = self.eval_row(&row, &mut stack);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn compiled_matches_tree_evaluation() {
        let vars = vec!["x".to_string(), "y".to_string()];
        for e in
            ["(x+1)^5 - y", "sin(x)^2 + 3 sin(x) + 1", "1/(x^2+1) + y/(x-3)", "sqrt(x^2 + y^2) * exp(x) + exp(x)", "x^3 y^2 - 2 x y + 7"]
        {
            let c = compile(e, &vars, &Options::default()).unwrap();
            let n = ast::parse(e).unwrap();
            let mut st = Vec::new();
            for (x, y) in [(0.3, -1.2), (1.7, 2.5), (-2.2, 0.4)] {
                let mut sc = HashMap::new();
                sc.insert("x".to_string(), x);
                sc.insert("y".to_string(), y);
                let want = eval::eval(&n, &sc).unwrap();
                let got = c.eval_row(&[x, y], &mut st);
                assert!((want - got).abs() <= 1e-9 * want.abs().max(1.0), "{e}: {want} vs {got}");
            }
        }
        // sin(x) is computed once
        let c = compile("sin(x)^2 + 3 sin(x) + 1", &vars, &Options::default()).unwrap();
        assert_eq!(c.code.iter().filter(|i| matches!(i, Instr::Call(..))).count(), 1);
        assert!(compile("x + z", &vars, &Options::default()).is_err());
        let c = compile("x", &vars, &Options::default()).unwrap();
        let mut out = vec![0.0; 3];
        c.evaluate_many(&[&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]], &mut out).unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        assert!(c.evaluate_many(&[&[1.0]], &mut out).is_err());
    }
}
