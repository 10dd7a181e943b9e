//! ROBDD canonical form of boolean expressions.

use super::tseitin::bool_vars;
use crate::ast::{parse, BinOp, Node};
use omnitide_common::{Error, Result};
use std::collections::HashMap;

pub struct Bdd {
    nodes: Vec<(u32, u32, u32)>, // (var, low, high); 0 = false, 1 = true
    unique: HashMap<(u32, u32, u32), u32>,
    memo: HashMap<(u8, u32, u32), u32>,
    pub max_nodes: usize,
}

impl Default for Bdd {
    fn default() -> Self {
        Self::new()
    }
}

impl Bdd {
    pub fn new() -> Bdd {
        Bdd {
            nodes: vec![(u32::MAX, 0, 0), (u32::MAX, 1, 1)],
            unique: HashMap::new(),
            memo: HashMap::new(),
            max_nodes: 1_000_000,
        }
    }
    fn mk(&mut self, v: u32, lo: u32, hi: u32) -> Result<u32> {
        if lo == hi {
            return Ok(lo);
        }
        if let Some(&id) = self.unique.get(&(v, lo, hi)) {
            return Ok(id);
        }
        if self.nodes.len() >= self.max_nodes {
            return Err(Error::limit(
                "expr",
                format!("BDD exceeds {} nodes", self.max_nodes),
            ));
        }
        let id = self.nodes.len() as u32;
        self.nodes.push((v, lo, hi));
        self.unique.insert((v, lo, hi), id);
        Ok(id)
    }
    pub fn var(&mut self, v: u32) -> Result<u32> {
        self.mk(v, 0, 1)
    }
    fn top(&self, a: u32) -> u32 {
        self.nodes[a as usize].0
    }
    /// op: 0 and, 1 or, 2 xor
    pub fn apply(&mut self, op: u8, a: u32, b: u32) -> Result<u32> {
        match op {
            0 => {
                if a == 0 || b == 0 {
                    return Ok(0);
                }
                if a == 1 {
                    return Ok(b);
                }
                if b == 1 || a == b {
                    return Ok(a);
                }
            }
            1 => {
                if a == 1 || b == 1 {
                    return Ok(1);
                }
                if a == 0 {
                    return Ok(b);
                }
                if b == 0 || a == b {
                    return Ok(a);
                }
            }
            _ => {
                if a == b {
                    return Ok(0);
                }
                if a == 0 {
                    return Ok(b);
                }
                if b == 0 {
                    return Ok(a);
                }
            }
        }
        let key = (op, a.min(b), a.max(b));
        if let Some(&r) = self.memo.get(&key) {
            return Ok(r);
        }
        let (ta, tb) = (self.top(a), self.top(b));
        let v = ta.min(tb);
        let (alo, ahi) = if ta == v {
            (self.nodes[a as usize].1, self.nodes[a as usize].2)
        } else {
            (a, a)
        };
        let (blo, bhi) = if tb == v {
            (self.nodes[b as usize].1, self.nodes[b as usize].2)
        } else {
            (b, b)
        };
        let lo = self.apply(op, alo, blo)?;
        let hi = self.apply(op, ahi, bhi)?;
        let r = self.mk(v, lo, hi)?;
        self.memo.insert(key, r);
        Ok(r)
    }
    pub fn not(&mut self, a: u32) -> Result<u32> {
        self.apply(2, a, 1)
    }
    pub fn build(&mut self, n: &Node, names: &[String]) -> Result<u32> {
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || self.build_inner(n, names))
    }
    fn build_inner(&mut self, n: &Node, names: &[String]) -> Result<u32> {
        match n {
            Node::Sym(s) => {
                let i = names.iter().position(|x| x == s).unwrap() as u32;
                self.var(i)
            }
            Node::Bool(b) => Ok(*b as u32),
            Node::Not(a) => {
                let x = self.build(a, names)?;
                self.not(x)
            }
            Node::Bin(op, a, b) => {
                let x = self.build(a, names)?;
                let y = self.build(b, names)?;
                match op {
                    BinOp::And => self.apply(0, x, y),
                    BinOp::Or => self.apply(1, x, y),
                    BinOp::Xor | BinOp::Ne => self.apply(2, x, y),
                    BinOp::Eq => {
                        let z = self.apply(2, x, y)?;
                        self.not(z)
                    }
                    _ => Err(Error::invalid_arg(
                        "expr",
                        format!("operator '{}' is not boolean", op.symbol()),
                    )),
                }
            }
            other => Err(Error::invalid_arg(
                "expr",
                format!(
                    "'{}' is not a boolean expression",
                    crate::ast::to_string(other)
                ),
            )),
        }
    }
    /// Disjoint cubes (paths to true) in variable order.
    pub fn cubes(&self, root: u32, limit: usize) -> Result<Vec<Vec<(u32, bool)>>> {
        let mut out = Vec::new();
        let mut stack = vec![(root, Vec::new())];
        while let Some((n, path)) = stack.pop() {
            if n == 1 {
                out.push(path);
                if out.len() > limit {
                    return Err(Error::limit(
                        "expr",
                        format!("canonical form has more than {limit} cubes"),
                    ));
                }
                continue;
            }
            if n == 0 {
                continue;
            }
            let (v, lo, hi) = self.nodes[n as usize];
            let mut p0 = path.clone();
            p0.push((v, false));
            let mut p1 = path;
            p1.push((v, true));
            stack.push((lo, p0));
            stack.push((hi, p1));
        }
        Ok(out)
    }
}

/// Canonical form of a boolean expression: the disjoint-path DNF of its ROBDD with variables
/// in name order. Equivalent expressions give identical strings.
pub fn bool_canonical(src: &str) -> Result<String> {
    let n = parse(src)?;
    let names = bool_vars(&n);
    let mut b = Bdd::new();
    let root = b.build(&n, &names)?;
    if root == 0 {
        return Ok("false".into());
    }
    if root == 1 {
        return Ok("true".into());
    }
    let cubes = b.cubes(root, 10_000)?;
    let parts: Vec<String> = cubes
        .iter()
        .map(|c| {
            let lits: Vec<String> = c
                .iter()
                .map(|&(v, pos)| {
                    if pos {
                        names[v as usize].clone()
                    } else {
                        format!("not {}", names[v as usize])
                    }
                })
                .collect();
            lits.join(" and ")
        })
        .collect();
    Ok(parts.join(" or "))
}
