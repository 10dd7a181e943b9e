//! Independent forward DRAT checker (RUP and RAT lemmas).

use super::Cnf;
use std::collections::HashMap;

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
        let Some(ids) = self.index.get(&c) else {
            return;
        };
        let Some(pos) = ids.iter().position(|&id| !self.deleted[id]) else {
            return;
        };
        let id = ids[pos];
        // keep clauses that are reasons for root assignments
        let cl = &self.clauses[id];
        let reason = cl.iter().filter(|&&l| self.value(l) == 1).count() == 1
            && cl.iter().filter(|&&l| self.value(l) == -1).count() == cl.len() - 1;
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
        let cands: Vec<usize> = (0..self.clauses.len())
            .filter(|&i| !self.deleted[i] && self.clauses[i].contains(&-p))
            .collect();
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
                Err(_) => {
                    return DratCheck {
                        valid: false,
                        lemmas,
                        reason: format!("line {}: bad literal '{tok}'", ln + 1),
                    }
                }
            }
        }
        if del {
            ch.delete(lits);
            continue;
        }
        lemmas += 1;
        if ch.inconsistent {
            return DratCheck {
                valid: true,
                lemmas,
                reason: "empty clause derived".into(),
            };
        }
        if !ch.rup(&lits) && !ch.rat(&lits) {
            return DratCheck {
                valid: false,
                lemmas,
                reason: format!("line {}: lemma {:?} is neither RUP nor RAT", ln + 1, lits),
            };
        }
        if lits.is_empty() {
            return DratCheck {
                valid: true,
                lemmas,
                reason: "empty clause derived".into(),
            };
        }
        ch.add(lits);
    }
    if ch.inconsistent || ch.rup(&[]) {
        DratCheck {
            valid: true,
            lemmas,
            reason: "empty clause derived".into(),
        }
    } else {
        DratCheck {
            valid: false,
            lemmas,
            reason: "proof ends without deriving the empty clause".into(),
        }
    }
}
