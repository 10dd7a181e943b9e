//! SAT: CNF (DIMACS) or boolean expressions (Tseitin), solved with varisat; UNSAT answers carry a
//! DRAT proof that [`check_drat`] (an independent forward RUP/RAT checker) verifies.
//! Also a reduced ordered BDD giving a canonical form for boolean expressions.

mod bdd;
mod cnf;
mod drat;
mod solver;
mod tseitin;

pub use bdd::{bool_canonical, Bdd};
pub use cnf::{from_clauses, parse_dimacs, Cnf};
pub use drat::{check_drat, DratCheck};
pub use solver::{check_model, solve, SatResult};
pub use tseitin::{solve_expr, tseitin, ExprSat};
