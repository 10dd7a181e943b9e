//! SAT: CNF (DIMACS) or boolean expressions (Tseitin), solved with varisat; UNSAT answers carry a
//! DRAT proof that [`check_drat`] (an independent forward RUP/RAT checker) verifies.
//! Also a reduced ordered BDD giving a canonical form for boolean expressions.

use crate::ast::{parse, BinOp, Node};
use omnitide_common::{Error, Result};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::rc::Rc;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cnf {
    pub num_vars: u32,
    pub clauses: Vec<Vec<i32>>,
}

impl Cnf {
    pub fn to_dimacs(&self) -> String {
        let mut s = format!("p cnf {} {}\n", self.num_vars, self.clauses.len());
        for c in &self.clauses {
            for l in c {
                s.push_str(&l.to_string());
                s.push(' ');
            }
            s.push_str("0\n");
        }
        s
    }
}

pub fn parse_dimacs(text: &str) -> Result<Cnf> {
    let mut cnf = Cnf::default();
    let mut cur = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('c') || t.starts_with('%') {
            continue;
        }
        if t.starts_with('p') {
            let parts: Vec<&str> = t.split_whitespace().collect();
            if parts.len() != 4 || parts[1] != "cnf" {
                return Err(Error::invalid_arg("cnf", format!("line {}: expected 'p cnf <vars> <clauses>'", ln + 1)));
            }
            cnf.num_vars = parts[2].parse().map_err(|_| Error::invalid_arg("cnf", format!("line {}: bad variable count", ln + 1)))?;
            continue;
        }
        for tok in t.split_whitespace() {
            let v: i32 = tok.parse().map_err(|_| Error::invalid_arg("cnf", format!("line {}: '{tok}' is not a literal", ln + 1)))?;
            if v == 0 {
                cnf.clauses.push(std::mem::take(&mut cur));
            } else {
                if v.unsigned_abs() > 50_000_000 {
                    return Err(Error::limit("cnf", "variable index over 50,000,000"));
                }
                cnf.num_vars = cnf.num_vars.max(v.unsigned_abs());
                cur.push(v);
            }
        }
    }
    if !cur.is_empty() {
        cnf.clauses.push(cur);
    }
    Ok(cnf)
}

pub fn from_clauses(clauses: Vec<Vec<i32>>) -> Result<Cnf> {
    let mut n = 0;
    for c in &clauses {
        for &l in c {
            if l == 0 {
                return Err(Error::invalid_arg("cnf", "literal 0 inside a clause"));
            }
            n = n.max(l.unsigned_abs());
        }
    }
    Ok(Cnf { num_vars: n, clauses })
}

#[derive(Clone, Debug)]
pub enum SatResult {
    Sat { model: Vec<i32> },
    Unsat { drat: String },
}

#[derive(Clone)]
struct SharedBuf(Rc<RefCell<Vec<u8>>>);
impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Solves with varisat. With `proof`, an UNSAT answer carries a DRAT proof (text format).
pub fn solve(cnf: &Cnf, proof: bool) -> Result<SatResult> {
    use varisat::{ExtendFormula, Lit, Solver};
    let buf = SharedBuf(Rc::new(RefCell::new(Vec::new())));
    let mut solver = Solver::new();
    if proof {
        solver.write_proof(buf.clone(), varisat::ProofFormat::Drat);
    }
    let mut lits = Vec::new();
    for c in &cnf.clauses {
        lits.clear();
        lits.extend(c.iter().map(|&l| Lit::from_dimacs(l as isize)));
        solver.add_clause(&lits);
    }
    let sat = solver.solve().map_err(|e| Error::internal(format!("sat solver: {e}")))?;
    if sat {
        let model = solver.model().unwrap_or_default();
        let mut m: Vec<i32> = model.iter().map(|l| l.to_dimacs() as i32).collect();
        m.sort_by_key(|l| l.abs());
        // variables the solver never saw are free: report them false
        let seen: std::collections::HashSet<u32> = m.iter().map(|l| l.unsigned_abs()).collect();
        for v in 1..=cnf.num_vars {
            if !seen.contains(&v) {
                m.push(-(v as i32));
            }
        }
        m.sort_by_key(|l| l.abs());
        Ok(SatResult::Sat { model: m })
    } else {
        if proof {
            solver.close_proof().map_err(|e| Error::internal(format!("sat proof: {e}")))?;
        }
        drop(solver);
        let bytes = buf.0.borrow().clone();
        let mut drat = String::from_utf8(bytes).map_err(|_| Error::internal("non-utf8 proof"))?;
        if proof && !drat.lines().any(|l| l.trim() == "0") {
            drat.push_str("0\n");
        }
        Ok(SatResult::Unsat { drat })
    }
}

pub fn check_model(cnf: &Cnf, model: &[i32]) -> bool {
    let set: std::collections::HashSet<i32> = model.iter().cloned().collect();
    cnf.clauses.iter().all(|c| c.iter().any(|l| set.contains(l)))
}

// ---------------------------------------------------------------- DRAT checker

struct Checker {
    clauses: Vec<Vec<i32>>,
    deleted: Vec<bool>,
    watches: Vec<Vec<usize>>,
    val: Vec<i8>,
    trail: Vec<i32>,
    qhead: usize,
    index: HashMap<Vec<i32>, Vec<usize>>,
    inconsistent: bool,
}

fn li(l: i32) -> usize {
    (l.unsigned_abs() as usize) * 2 + (l < 0) as usize
}

impl Checker {
    fn new(nv: usize) -> Checker {
        Checker {
            clauses: Vec::new(),
            deleted: Vec::new(),
            watches: vec![Vec::new(); 2 * nv + 2],
            val: vec![0; nv + 1],
            trail: Vec::new(),
            qhead: 0,
            index: HashMap::new(),
            inconsistent: false,
        }
    }
    fn grow(&mut self, v: usize) {
        if v >= self.val.len() {
            self.val.resize(v + 1, 0);
            self.watches.resize(2 * v + 2, Vec::new());
        }
    }
    fn value(&self, l: i32) -> i8 {
        let v = self.val[l.unsigned_abs() as usize];
        if l > 0 {
            v
        } else {
            -v
        }
    }
    fn assign(&mut self, l: i32) {
        self.val[l.unsigned_abs() as usize] = if l > 0 { 1 } else { -1 };
        self.trail.push(l);
    }
    fn undo(&mut self, len: usize) {
        while self.trail.len() > len {
            let l = self.trail.pop().unwrap();
            self.val[l.unsigned_abs() as usize] = 0;
        }
        self.qhead = self.qhead.min(len);
    }
    /// Returns true on conflict.
    fn propagate(&mut self) -> bool {
        while self.qhead < self.trail.len() {
            let fl = -self.trail[self.qhead];
            self.qhead += 1;
            let ws = std::mem::take(&mut self.watches[li(fl)]);
            let mut keep = Vec::with_capacity(ws.len());
            let mut conflict = false;
            let mut it = ws.into_iter();
            for cid in it.by_ref() {
                if self.deleted[cid] {
                    continue;
                }
                let c = &mut self.clauses[cid];
                if c[0] == fl {
                    c.swap(0, 1);
                }
                let first = c[0];
                if self.val[first.unsigned_abs() as usize] * first.signum() as i8 == 1 {
                    keep.push(cid);
                    continue;
                }
                let mut moved = false;
                for k in 2..c.len() {
                    let l = c[k];
                    if self.val[l.unsigned_abs() as usize] * l.signum() as i8 != -1 {
                        c.swap(1, k);
                        let nl = c[1];
                        self.watches[li(nl)].push(cid);
                        moved = true;
                        break;
                    }
                }
                if moved {
                    continue;
                }
                keep.push(cid);
                if self.value(first) == -1 {
                    conflict = true;
                    break;
                }
                self.assign(first);
            }
            keep.extend(it);
            let w = &mut self.watches[li(fl)];
            keep.append(w);
            *w = keep;
            if conflict {
                return true;
            }
        }
        false
    }
    /// Adds a clause at the root level.
    fn add(&mut self, mut c: Vec<i32>) {
        c.sort_by_key(|l| (l.unsigned_abs(), *l));
        c.dedup();
        if c.windows(2).any(|w| w[0] == -w[1]) {
            return; // tautology
        }
        for &l in &c {
            self.grow(l.unsigned_abs() as usize);
        }
        if self.inconsistent {
            return;
        }
        // order: non-false literals first
        c.sort_by_key(|&l| match self.value(l) {
            1 => 0,
            0 => 1,
            _ => 2,
        });
        let key = {
            let mut k = c.clone();
            k.sort();
            k
        };
        let nonfalse = c.iter().filter(|&&l| self.value(l) != -1).count();
        if c.is_empty() || nonfalse == 0 {
            self.inconsistent = true;
            return;
        }
        let cid = self.clauses.len();
        if c.len() >= 2 {
            self.watches[li(c[0])].push(cid);
            self.watches[li(c[1])].push(cid);
        }
        let unit = nonfalse == 1 && self.value(c[0]) == 0;
        let first = c[0];
        self.clauses.push(c);
        self.deleted.push(false);
        self.index.entry(key).or_default().push(cid);
        if unit {
            self.assign(first);
            if self.propagate() {
                self.inconsistent = true;
            }
        }
    }
    fn delete(&mut self, mut c: Vec<i32>) {
        c.sort();
        c.dedup();
        if c.len() <= 1 {
            return; // unit deletions are ignored (as drat-trim does)
        }
        let Some(ids) = self.index.get(&c) else { return };
        let Some(pos) = ids.iter().position(|&id| !self.deleted[id]) else { return };
        let id = ids[pos];
        // keep clauses that are reasons for root assignments
        let cl = &self.clauses[id];
        let reason = cl.iter().filter(|&&l| self.value(l) == 1).count() == 1 && cl.iter().filter(|&&l| self.value(l) == -1).count() == cl.len() - 1;
        if !reason {
            self.deleted[id] = true;
            self.index.get_mut(&c).unwrap().remove(pos);
        }
    }
    fn rup(&mut self, c: &[i32]) -> bool {
        if self.inconsistent {
            return true;
        }
        let save = self.trail.len();
        let mut ok = false;
        for &l in c {
            self.grow(l.unsigned_abs() as usize);
            match self.value(l) {
                1 => {
                    ok = true;
                    break;
                }
                -1 => {}
                _ => self.assign(-l),
            }
        }
        if !ok {
            ok = self.propagate();
        }
        self.undo(save);
        ok
    }
    fn rat(&mut self, c: &[i32]) -> bool {
        let Some(&p) = c.first() else { return false };
        let cands: Vec<usize> = (0..self.clauses.len()).filter(|&i| !self.deleted[i] && self.clauses[i].contains(&-p)).collect();
        for id in cands {
            let mut r: Vec<i32> = c.to_vec();
            r.extend(self.clauses[id].iter().filter(|&&l| l != -p));
            if !self.rup(&r) {
                return false;
            }
        }
        true
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DratCheck {
    pub valid: bool,
    pub lemmas: usize,
    pub reason: String,
}

/// Forward DRAT check: every added lemma must be RUP (or RAT on its first literal) and the
/// empty clause must be derived.
pub fn check_drat(cnf: &Cnf, proof: &str) -> DratCheck {
    let mut ch = Checker::new(cnf.num_vars as usize);
    for c in &cnf.clauses {
        ch.add(c.clone());
    }
    let mut lemmas = 0;
    for (ln, line) in proof.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('c') {
            continue;
        }
        let (del, body) = match t.strip_prefix('d') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let mut lits = Vec::new();
        for tok in body.split_whitespace() {
            match tok.parse::<i32>() {
                Ok(0) => break,
                Ok(v) => lits.push(v),
                Err(_) => return DratCheck { valid: false, lemmas, reason: format!("line {}: bad literal '{tok}'", ln + 1) },
            }
        }
        if del {
            ch.delete(lits);
            continue;
        }
        lemmas += 1;
        if ch.inconsistent {
            return DratCheck { valid: true, lemmas, reason: "empty clause derived".into() };
        }
        if !ch.rup(&lits) && !ch.rat(&lits) {
            return DratCheck { valid: false, lemmas, reason: format!("line {}: lemma {:?} is neither RUP nor RAT", ln + 1, lits) };
        }
        if lits.is_empty() {
            return DratCheck { valid: true, lemmas, reason: "empty clause derived".into() };
        }
        ch.add(lits);
    }
    if ch.inconsistent || ch.rup(&[]) {
        DratCheck { valid: true, lemmas, reason: "empty clause derived".into() }
    } else {
        DratCheck { valid: false, lemmas, reason: "proof ends without deriving the empty clause".into() }
    }
}

// ---------------------------------------------------------------- boolean expressions

/// Every symbol is a boolean variable (in logic `e`, `i`, `pi` are ordinary names).
fn bool_vars(n: &Node) -> Vec<String> {
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
    let mut t = Tseitin { clauses: Vec::new(), next: names.len() as i32 + 1, map: names.iter().enumerate().map(|(i, n)| (n.clone(), i as i32 + 1)).collect() };
    let root = t.enc(expr)?;
    t.clauses.push(vec![root]);
    Ok((Cnf { num_vars: (t.next - 1) as u32, clauses: t.clauses }, names))
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
            Node::Num(r) if r.is_integer() && (r.numer() == &0.into() || r.numer() == &1.into()) => {
                let v = self.fresh();
                self.clauses.push(vec![if r.numer() == &1.into() { v } else { -v }]);
                v
            }
            Node::Not(a) => -self.enc(a)?,
            Node::Bin(op, a, b) => {
                let x = self.enc(a)?;
                let y = self.enc(b)?;
                let z = self.fresh();
                match op {
                    BinOp::And => {
                        self.clauses.extend([vec![-z, x], vec![-z, y], vec![z, -x, -y]]);
                    }
                    BinOp::Or => {
                        self.clauses.extend([vec![z, -x], vec![z, -y], vec![-z, x, y]]);
                    }
                    BinOp::Xor | BinOp::Ne => {
                        self.clauses.extend([vec![-z, x, y], vec![-z, -x, -y], vec![z, -x, y], vec![z, x, -y]]);
                    }
                    BinOp::Eq => {
                        self.clauses.extend([vec![z, x, y], vec![z, -x, -y], vec![-z, -x, y], vec![-z, x, -y]]);
                    }
                    _ => return Err(Error::invalid_arg("expr", format!("operator '{}' is not boolean (use and, or, xor, not)", op.symbol()))),
                }
                z
            }
            Node::Call(f, args) if (f == "implies" || f == "iff") && args.len() == 2 => {
                let x = self.enc(&args[0])?;
                let y = self.enc(&args[1])?;
                let z = self.fresh();
                if f == "implies" {
                    self.clauses.extend([vec![-z, -x, y], vec![z, x], vec![z, -y]]);
                } else {
                    self.clauses.extend([vec![z, x, y], vec![z, -x, -y], vec![-z, -x, y], vec![-z, x, -y]]);
                }
                z
            }
            other => return Err(Error::invalid_arg("expr", format!("'{}' is not a boolean expression", crate::ast::to_string(other)))),
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

// ---------------------------------------------------------------- generators (tests, bench)

/// Deterministic xorshift random 3-SAT instance.
pub fn random_3sat(vars: u32, clauses: usize, seed: u64) -> Cnf {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut cs = Vec::with_capacity(clauses);
    for _ in 0..clauses {
        let mut c: Vec<i32> = Vec::with_capacity(3);
        while c.len() < 3 {
            let v = (next() % vars as u64) as i32 + 1;
            if c.iter().any(|l: &i32| l.abs() == v) {
                continue;
            }
            c.push(if next() & 1 == 1 { v } else { -v });
        }
        cs.push(c);
    }
    Cnf { num_vars: vars, clauses: cs }
}

/// Pigeonhole: `p` pigeons into `h` holes (UNSAT when p > h).
pub fn pigeonhole(p: u32, h: u32) -> Cnf {
    let var = |i: u32, j: u32| (i * h + j + 1) as i32;
    let mut cs = Vec::new();
    for i in 0..p {
        cs.push((0..h).map(|j| var(i, j)).collect());
    }
    for j in 0..h {
        for a in 0..p {
            for b in a + 1..p {
                cs.push(vec![-var(a, j), -var(b, j)]);
            }
        }
    }
    Cnf { num_vars: p * h, clauses: cs }
}

// ---------------------------------------------------------------- ROBDD canonical form

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
        Bdd { nodes: vec![(u32::MAX, 0, 0), (u32::MAX, 1, 1)], unique: HashMap::new(), memo: HashMap::new(), max_nodes: 1_000_000 }
    }
    fn mk(&mut self, v: u32, lo: u32, hi: u32) -> Result<u32> {
        if lo == hi {
            return Ok(lo);
        }
        if let Some(&id) = self.unique.get(&(v, lo, hi)) {
            return Ok(id);
        }
        if self.nodes.len() >= self.max_nodes {
            return Err(Error::limit("expr", format!("BDD exceeds {} nodes", self.max_nodes)));
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
        let (alo, ahi) = if ta == v { (self.nodes[a as usize].1, self.nodes[a as usize].2) } else { (a, a) };
        let (blo, bhi) = if tb == v { (self.nodes[b as usize].1, self.nodes[b as usize].2) } else { (b, b) };
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
                    _ => Err(Error::invalid_arg("expr", format!("operator '{}' is not boolean", op.symbol()))),
                }
            }
            other => Err(Error::invalid_arg("expr", format!("'{}' is not a boolean expression", crate::ast::to_string(other)))),
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
                    return Err(Error::limit("expr", format!("canonical form has more than {limit} cubes")));
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
            let lits: Vec<String> = c.iter().map(|&(v, pos)| if pos { names[v as usize].clone() } else { format!("not {}", names[v as usize]) }).collect();
            lits.join(" and ")
        })
        .collect();
    Ok(parts.join(" or "))
}
