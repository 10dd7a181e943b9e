//! CNF formulas: DIMACS text and clause lists.

use omnitide_common::{Error, Result};

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
                return Err(Error::invalid_arg(
                    "cnf",
                    format!("line {}: expected 'p cnf <vars> <clauses>'", ln + 1),
                ));
            }
            cnf.num_vars = parts[2].parse().map_err(|_| {
                Error::invalid_arg("cnf", format!("line {}: bad variable count", ln + 1))
            })?;
            continue;
        }
        for tok in t.split_whitespace() {
            let v: i32 = tok.parse().map_err(|_| {
                Error::invalid_arg("cnf", format!("line {}: '{tok}' is not a literal", ln + 1))
            })?;
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
    Ok(Cnf {
        num_vars: n,
        clauses,
    })
}
