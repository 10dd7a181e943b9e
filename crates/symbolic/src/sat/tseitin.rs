//! Boolean expressions to CNF (Tseitin) and solving them by name.

use super::{solve, Cnf, SatResult};
use crate::ast::{parse, BinOp, Node};
use omnitide_common::{Error, Result};
use std::collections::{BTreeMap, HashMap};

/// Every symbol is a boolean variable (in logic `e`, `i`, `pi` are ordinary names).
pub(super) fn bool_vars(n: &Node) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        match x {
            Node::Sym(s) => {
                if !out.contains(s) {
                    out.push(s.clone())
                }
            }
            Node::Num(_) | Node::Bool(_) => {}
            Node::Neg(a) | Node::Not(a) | Node::Factorial(a) => stack.push(a),
            Node::Bin(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            Node::Call(_, args) => stack.extend(args.iter()),
        }
    }
    out.sort();
    out
}

/// Tseitin encoding of a boolean expression. Returns the CNF and the variable names
/// (`names[k]` is DIMACS variable k+1).
pub fn tseitin(expr: &Node) -> Result<(Cnf, Vec<String>)> {
    let mut names: Vec<String> = Vec::new();
    let vars = bool_vars(expr);
    for v in &vars {
        names.push(v.clone());
    }
    let mut t = Tseitin {
        clauses: Vec::new(),
        next: names.len() as i32 + 1,
        map: names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as i32 + 1))
            .collect(),
    };
    let root = t.enc(expr)?;
    t.clauses.push(vec![root]);
    Ok((
        Cnf {
            num_vars: (t.next - 1) as u32,
            clauses: t.clauses,
        },
        names,
    ))
}

struct Tseitin {
    clauses: Vec<Vec<i32>>,
    next: i32,
    map: HashMap<String, i32>,
}

impl Tseitin {
    fn fresh(&mut self) -> i32 {
        self.next += 1;
        self.next - 1
    }
    fn enc(&mut self, n: &Node) -> Result<i32> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.enc_inner(n))
    }
    fn enc_inner(&mut self, n: &Node) -> Result<i32> {
        Ok(match n {
            Node::Sym(s) => self.map[s],
            Node::Bool(b) => {
                let v = self.fresh();
                self.clauses.push(vec![if *b { v } else { -v }]);
                v
            }
            Node::Num(r)
                if r.is_integer() && (r.numer() == &0.into() || r.numer() == &1.into()) =>
            {
                let v = self.fresh();
                self.clauses
                    .push(vec![if r.numer() == &1.into() { v } else { -v }]);
                v
            }
            Node::Not(a) => -self.enc(a)?,
            Node::Bin(op, a, b) => {
                let x = self.enc(a)?;
                let y = self.enc(b)?;
                let z = self.fresh();
                match op {
                    BinOp::And => {
                        self.clauses
                            .extend([vec![-z, x], vec![-z, y], vec![z, -x, -y]]);
                    }
                    BinOp::Or => {
                        self.clauses
                            .extend([vec![z, -x], vec![z, -y], vec![-z, x, y]]);
                    }
                    BinOp::Xor | BinOp::Ne => {
                        self.clauses.extend([
                            vec![-z, x, y],
                            vec![-z, -x, -y],
                            vec![z, -x, y],
                            vec![z, x, -y],
                        ]);
                    }
                    BinOp::Eq => {
                        self.clauses.extend([
                            vec![z, x, y],
                            vec![z, -x, -y],
                            vec![-z, -x, y],
                            vec![-z, x, -y],
                        ]);
                    }
                    _ => {
                        return Err(Error::invalid_arg(
                            "expr",
                            format!(
                                "operator '{}' is not boolean (use and, or, xor, not)",
                                op.symbol()
                            ),
                        ))
                    }
                }
                z
            }
            Node::Call(f, args) if (f == "implies" || f == "iff") && args.len() == 2 => {
                let x = self.enc(&args[0])?;
                let y = self.enc(&args[1])?;
                let z = self.fresh();
                if f == "implies" {
                    self.clauses
                        .extend([vec![-z, -x, y], vec![z, x], vec![z, -y]]);
                } else {
                    self.clauses.extend([
                        vec![z, x, y],
                        vec![z, -x, -y],
                        vec![-z, -x, y],
                        vec![-z, x, -y],
                    ]);
                }
                z
            }
            other => {
                return Err(Error::invalid_arg(
                    "expr",
                    format!(
                        "'{}' is not a boolean expression",
                        crate::ast::to_string(other)
                    ),
                ))
            }
        })
    }
}

/// Result of solving a boolean expression.
#[derive(Clone, Debug)]
pub enum ExprSat {
    Sat { model: BTreeMap<String, bool> },
    Unsat { drat: String, cnf: Cnf },
}

pub fn solve_expr(src: &str) -> Result<ExprSat> {
    let n = parse(src)?;
    let (cnf, names) = tseitin(&n)?;
    match solve(&cnf, true)? {
        SatResult::Sat { model } => {
            let mut m = BTreeMap::new();
            for (i, name) in names.iter().enumerate() {
                m.insert(name.clone(), model.get(i).map(|&l| l > 0).unwrap_or(false));
            }
            Ok(ExprSat::Sat { model: m })
        }
        SatResult::Unsat { drat } => Ok(ExprSat::Unsat { drat, cnf }),
    }
}
