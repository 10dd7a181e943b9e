//! SAT and boolean canonical forms.

use crate::sat::{self, DratCheck};
use omnitide_common::{Error, Result};
use std::collections::BTreeMap;

/// CNF input: clauses of non-zero literals, or DIMACS text.
#[derive(Clone, Debug)]
pub enum CnfIn {
    Clauses(Vec<Vec<i64>>),
    Dimacs(String),
}

/// What `sat.solve` takes: CNF, or a boolean expression (`a and not b or c`).
#[derive(Clone, Debug)]
pub enum SatIn {
    Cnf(CnfIn),
    Expr(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Model {
    /// One literal per variable (CNF input).
    Literals(Vec<i32>),
    /// Variable name to value (expression input).
    Named(BTreeMap<String, bool>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SatAnswer {
    Sat {
        model: Model,
    },
    /// `drat` is absent when no proof was asked for; `cnf` is the Tseitin CNF (DIMACS) the
    /// proof refers to, for expression input.
    Unsat {
        drat: Option<String>,
        cnf: Option<String>,
    },
}

fn cnf(input: &CnfIn) -> Result<sat::Cnf> {
    match input {
        CnfIn::Dimacs(d) => sat::parse_dimacs(d),
        CnfIn::Clauses(cs) => {
            let mut out = Vec::with_capacity(cs.len());
            for (i, c) in cs.iter().enumerate() {
                let mut cl = Vec::with_capacity(c.len());
                for &l in c {
                    if l == 0 || l.abs() > 50_000_000 {
                        return Err(Error::invalid_arg(&format!("cnf[{i}]"), "literals are non-zero integers"));
                    }
                    cl.push(l as i32);
                }
                out.push(cl);
            }
            sat::from_clauses(out)
        }
    }
}

pub fn sat_solve(input: &SatIn, want_proof: bool) -> Result<SatAnswer> {
    Ok(match input {
        SatIn::Cnf(c) => match sat::solve(&cnf(c)?, want_proof)? {
            sat::SatResult::Sat { model } => SatAnswer::Sat { model: Model::Literals(model) },
            sat::SatResult::Unsat { drat } => SatAnswer::Unsat { drat: want_proof.then_some(drat), cnf: None },
        },
        SatIn::Expr(e) => match sat::solve_expr(e)? {
            sat::ExprSat::Sat { model } => SatAnswer::Sat { model: Model::Named(model) },
            sat::ExprSat::Unsat { drat, cnf } => SatAnswer::Unsat { drat: Some(drat), cnf: Some(cnf.to_dimacs()) },
        },
    })
}

/// Independent forward DRAT check of an UNSAT proof.
pub fn sat_check(input: &CnfIn, drat: &str) -> Result<DratCheck> {
    Ok(sat::check_drat(&cnf(input)?, drat))
}

pub fn bool_canonical(expr: &str) -> Result<String> {
    sat::bool_canonical(expr)
}
