//! Column expressions: the native form of `mapColumns` / `filterColumns`
//! with `col('amount').mul(1.1)`-style arguments (as Polars, Arquero and
//! DuckDB evaluate them), compiled once per batch layout and run over whole
//! columns.
//!
//! An expression is JSON: a number is a literal, a string names a column
//! (`{ "col": name }` too), `true`/`false` are boolean literals, and an object
//! with one key applies an operator to a list of arguments:
//! `{ "mul": ["amount", 1.1] }`, `{ "gt": [{ "mul": ["amount", 1.1] }, 5] }`.
//! `{ "bits": "3ff199999999999a" }` is a number literal given by its IEEE bits
//! (exact, where a decimal may lose its last bit in parsing and `-0` its sign).
//!
//! Types: number (f64; Uint32 columns read as f64, exactly) and boolean.
//! - number, number -> number: `add sub mul div min max`; number -> number: `neg abs`
//! - number, number -> boolean: `gt ge lt le eq ne`
//! - boolean, boolean -> boolean: `and or`; boolean -> boolean: `not`
//!
//! Arithmetic is IEEE 754 double, as JavaScript's: `x / 0` is `±Infinity`,
//! `0 / 0` is NaN, NaN propagates; a comparison with NaN is false (`ne`:
//! true). `min` / `max` are `Math.min` / `Math.max`: NaN if either side is
//! NaN, and `-0 < 0`.
//!
//! A program is a list of stages over one batch: a map stage assigns numbers
//! to column names (all its expressions read the columns as they were before
//! the stage, as Polars' `with_columns`), a filter stage keeps the rows whose
//! predicate is true. Expressions have no side effects, so the program
//! evaluates every stage over every row of a block, branch-free (the loops
//! vectorise), and ANDs the filters into one mask; the selected rows become a
//! selection vector once, at the end, and only the columns a consumer asks
//! for are gathered through it. No column is copied per stage.

use std::collections::HashMap;

use omnitide_common::{code, Error};
use serde_json::Value;

mod eval;
pub use eval::{Inputs, Selection};

/// Rows evaluated together: registers of this many f64 stay in L1/L2.
pub const BLOCK: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Number,
    Boolean,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Number => "a number",
            Ty::Boolean => "a boolean",
        }
    }
}

/// The element type of an input column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    F64,
    U32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnOp {
    Neg,
    Abs,
    Not,
}

/// Where a value comes from: an input column (by index into the f64 or u32 inputs), a register, a literal.
/// Get one for a column name from [`Program::output`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Src {
    F64(usize),
    U32(usize),
    Reg(usize),
    Lit(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Instr {
    Bin { op: BinOp, a: Src, b: Src, dst: usize },
    Un { op: UnOp, a: Src, dst: usize },
}

/// One stage's instructions; a filter stage's predicate is in `mask`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stage {
    pub(crate) code: Vec<Instr>,
    pub(crate) mask: Option<Src>,
}

/// A compiled program over one batch layout.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) stages: Vec<Stage>,
    pub(crate) registers: usize,
    /// Column name -> where its value is after the last stage.
    columns: HashMap<String, (Src, Ty)>,
    /// Names assigned by a map stage, in first-assignment order.
    computed: Vec<String>,
    /// Filter stages, in order (for per-stage row counts).
    pub(crate) filters: usize,
    f64_inputs: usize,
    u32_inputs: usize,
}

/// A stage as the caller describes it (parsed from JSON).
#[derive(Debug, Clone)]
pub enum StageSpec {
    /// Assignments in order; each expression reads the columns before the stage.
    Map(Vec<(String, Value)>),
    Filter(Value),
}

fn bad(arg: &str, problem: impl std::fmt::Display) -> Error {
    Error::new(code::INVALID_ARGUMENT, format!("{arg}: {problem}"))
}

fn bin_op(name: &str) -> Option<(BinOp, Ty, Ty)> {
    use BinOp::*;
    let (op, arg, out) = match name {
        "add" => (Add, Ty::Number, Ty::Number),
        "sub" => (Sub, Ty::Number, Ty::Number),
        "mul" => (Mul, Ty::Number, Ty::Number),
        "div" => (Div, Ty::Number, Ty::Number),
        "min" => (Min, Ty::Number, Ty::Number),
        "max" => (Max, Ty::Number, Ty::Number),
        "gt" => (Gt, Ty::Number, Ty::Boolean),
        "ge" => (Ge, Ty::Number, Ty::Boolean),
        "lt" => (Lt, Ty::Number, Ty::Boolean),
        "le" => (Le, Ty::Number, Ty::Boolean),
        "eq" => (Eq, Ty::Number, Ty::Boolean),
        "ne" => (Ne, Ty::Number, Ty::Boolean),
        "and" => (And, Ty::Boolean, Ty::Boolean),
        "or" => (Or, Ty::Boolean, Ty::Boolean),
        _ => return None,
    };
    Some((op, arg, out))
}

fn un_op(name: &str) -> Option<(UnOp, Ty, Ty)> {
    match name {
        "neg" => Some((UnOp::Neg, Ty::Number, Ty::Number)),
        "abs" => Some((UnOp::Abs, Ty::Number, Ty::Number)),
        "not" => Some((UnOp::Not, Ty::Boolean, Ty::Boolean)),
        _ => None,
    }
}

const OPERATORS: &str = "add, sub, mul, div, min, max, neg, abs, gt, ge, lt, le, eq, ne, and, or, not";

struct Compiler<'a> {
    env: &'a HashMap<String, (Src, Ty)>,
    code: Vec<Instr>,
    registers: usize,
}

impl Compiler<'_> {
    /// Compiles `e` (at argument path `path`) and returns its operand and type.
    fn expr(&mut self, e: &Value, path: &str, depth: usize) -> Result<(Src, Ty), Error> {
        if depth > 64 {
            return Err(bad(path, "expression nested deeper than 64 levels"));
        }
        match e {
            Value::Number(n) => Ok((Src::Lit(n.as_f64().ok_or_else(|| bad(path, format!("{n} is not a double")))?), Ty::Number)),
            Value::Bool(b) => Ok((Src::Lit(if *b { 1.0 } else { 0.0 }), Ty::Boolean)),
            Value::String(name) => self.column(name, path),
            Value::Object(m) if m.len() == 1 => {
                let (name, args) = m.iter().next().expect("one entry");
                if name == "col" {
                    return match args {
                        Value::String(c) => self.column(c, path),
                        other => Err(bad(&format!("{path}.col"), format!("expected a column name, got {other}"))),
                    };
                }
                if name == "bits" {
                    // An exact literal: the IEEE bits as 16 hex digits. The TypeScript layer sends every
                    // number this way: a decimal JSON number may lose its last bit in parsing, and -0 its sign.
                    return match args.as_str().filter(|h| h.len() == 16).and_then(|h| u64::from_str_radix(h, 16).ok()) {
                        Some(b) => Ok((Src::Lit(f64::from_bits(b)), Ty::Number)),
                        None => Err(bad(&format!("{path}.bits"), format!("expected 16 hex digits, got {args}"))),
                    };
                }
                if name == "lit" {
                    return self.expr(args, &format!("{path}.lit"), depth + 1).and_then(|(s, t)| match s {
                        Src::Lit(_) => Ok((s, t)),
                        _ => Err(bad(&format!("{path}.lit"), "expected a number or a boolean")),
                    });
                }
                let list: Vec<&Value> = match args {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                if let Some((op, want, out)) = bin_op(name) {
                    if list.len() != 2 {
                        return Err(bad(&format!("{path}.{name}"), format!("takes 2 arguments, got {}", list.len())));
                    }
                    let a = self.typed(list[0], &format!("{path}.{name}[0]"), want, name, depth)?;
                    let b = self.typed(list[1], &format!("{path}.{name}[1]"), want, name, depth)?;
                    let dst = self.reg();
                    self.code.push(Instr::Bin { op, a, b, dst });
                    return Ok((Src::Reg(dst), out));
                }
                if let Some((op, want, out)) = un_op(name) {
                    if list.len() != 1 {
                        return Err(bad(&format!("{path}.{name}"), format!("takes 1 argument, got {}", list.len())));
                    }
                    let a = self.typed(list[0], &format!("{path}.{name}[0]"), want, name, depth)?;
                    let dst = self.reg();
                    self.code.push(Instr::Un { op, a, dst });
                    return Ok((Src::Reg(dst), out));
                }
                Err(bad(path, format!("unknown operator '{name}' (one of {OPERATORS}, col, lit)")))
            }
            other => Err(bad(path, format!("expected a number, a column name or {{ operator: [arguments] }}, got {other}"))),
        }
    }

    fn typed(&mut self, e: &Value, path: &str, want: Ty, op: &str, depth: usize) -> Result<Src, Error> {
        let (s, t) = self.expr(e, path, depth + 1)?;
        if t != want {
            return Err(bad(path, format!("type mismatch: '{op}' needs {}, this is {}", want.name(), t.name())));
        }
        Ok(s)
    }

    fn column(&self, name: &str, path: &str) -> Result<(Src, Ty), Error> {
        self.env.get(name).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.env.keys().map(String::as_str).collect();
            known.sort_unstable();
            bad(path, format!("unknown column '{name}' (columns: {})", known.join(", ")))
        })
    }

    fn reg(&mut self) -> usize {
        self.registers += 1;
        self.registers - 1
    }
}

impl Program {
    /// Compiles `stages` for a batch whose columns are `inputs` (name, type); the i-th
    /// F64 input is f64 column i of [`Inputs`], the i-th U32 input its u32 column i.
    /// Errors name the stage and the argument path (`stages[1].filter.gt[0]`).
    pub fn compile(inputs: &[(String, ColumnType)], stages: &[StageSpec]) -> Result<Program, Error> {
        let mut env = HashMap::new();
        let (mut nf, mut nu) = (0, 0);
        for (name, ty) in inputs {
            let src = match ty {
                ColumnType::F64 => {
                    nf += 1;
                    Src::F64(nf - 1)
                }
                ColumnType::U32 => {
                    nu += 1;
                    Src::U32(nu - 1)
                }
            };
            if env.insert(name.clone(), (src, Ty::Number)).is_some() {
                return Err(bad("inputs", format!("column '{name}' appears twice")));
            }
        }
        let mut out = Vec::with_capacity(stages.len());
        let mut registers = 0;
        let mut computed: Vec<String> = Vec::new();
        let mut filters = 0;
        for (i, st) in stages.iter().enumerate() {
            let mut c = Compiler { env: &env, code: Vec::new(), registers };
            match st {
                StageSpec::Map(assign) => {
                    let mut results = Vec::with_capacity(assign.len());
                    for (name, e) in assign {
                        let path = format!("stages[{i}].map.{name}");
                        let (s, t) = c.expr(e, &path, 0)?;
                        if t != Ty::Number {
                            return Err(bad(&path, "type mismatch: a map computes numbers; a boolean belongs in a filter"));
                        }
                        results.push((name.clone(), s));
                    }
                    registers = c.registers;
                    out.push(Stage { code: c.code, mask: None });
                    for (name, s) in results {
                        if !computed.contains(&name) {
                            computed.push(name.clone());
                        }
                        env.insert(name, (s, Ty::Number));
                    }
                }
                StageSpec::Filter(e) => {
                    let path = format!("stages[{i}].filter");
                    let (s, t) = c.expr(e, &path, 0)?;
                    if t != Ty::Boolean {
                        return Err(bad(&path, "type mismatch: a filter needs a boolean predicate (a comparison), this is a number"));
                    }
                    registers = c.registers;
                    out.push(Stage { code: c.code, mask: Some(s) });
                    filters += 1;
                }
            }
        }
        Ok(Program { stages: out, registers, columns: env, computed, filters, f64_inputs: nf, u32_inputs: nu })
    }

    /// Parses stages from JSON: `[{ "map": { name: expr, ... } }, { "filter": expr }, ...]`.
    pub fn parse_stages(v: &Value) -> Result<Vec<StageSpec>, Error> {
        let Value::Array(list) = v else { return Err(bad("stages", "expected a list of { map } / { filter } stages")) };
        list.iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(m) if m.len() == 1 && m.contains_key("filter") => Ok(StageSpec::Filter(m["filter"].clone())),
                Value::Object(m) if m.len() == 1 && m.contains_key("map") => match &m["map"] {
                    Value::Object(a) if !a.is_empty() => Ok(StageSpec::Map(a.iter().map(|(k, e)| (k.clone(), e.clone())).collect())),
                    _ => Err(bad(&format!("stages[{i}].map"), "expected { column: expression, ... } with at least one column")),
                },
                _ => Err(bad(&format!("stages[{i}]"), "expected { map: {...} } or { filter: expression }")),
            })
            .collect()
    }

    /// Where column `name` is after the last stage (for [`Program::run`]'s `emit`).
    pub fn output(&self, name: &str, arg: &str) -> Result<Src, Error> {
        match self.columns.get(name) {
            Some((s, _)) => Ok(*s),
            None => {
                let mut known: Vec<&str> = self.columns.keys().map(String::as_str).collect();
                known.sort_unstable();
                Err(bad(arg, format!("unknown column '{name}' (columns: {})", known.join(", "))))
            }
        }
    }

    /// The columns a map stage assigned, in first-assignment order.
    pub fn computed(&self) -> &[String] {
        &self.computed
    }

    /// Number of filter stages.
    pub fn filters(&self) -> usize {
        self.filters
    }

    pub(crate) fn check_inputs(&self, inputs: &Inputs) -> Result<(), Error> {
        if inputs.f64s.len() != self.f64_inputs || inputs.u32s.len() != self.u32_inputs {
            return Err(bad(
                "columns",
                format!(
                    "{} Float64 and {} Uint32 columns given, the program was compiled for {} and {}",
                    inputs.f64s.len(),
                    inputs.u32s.len(),
                    self.f64_inputs,
                    self.u32_inputs
                ),
            ));
        }
        let n = inputs.len;
        if inputs.f64s.iter().any(|c| c.len() != n) || inputs.u32s.iter().any(|c| c.len() != n) {
            return Err(bad("columns", format!("every column must have the batch's {n} rows")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
