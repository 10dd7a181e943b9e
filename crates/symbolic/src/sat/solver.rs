//! Solving with varisat, DRAT proof output.

use super::Cnf;
use omnitide_common::{Error, Result};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

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
    let sat = solver
        .solve()
        .map_err(|e| Error::internal(format!("sat solver: {e}")))?;
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
            solver
                .close_proof()
                .map_err(|e| Error::internal(format!("sat proof: {e}")))?;
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
    cnf.clauses
        .iter()
        .all(|c| c.iter().any(|l| set.contains(l)))
}
