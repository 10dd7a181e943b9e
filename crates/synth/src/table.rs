//! A column-major table: numeric columns as `f64`, categorical ones as codes
//! into a list of levels (dictionary encoding, as Arrow does).

use omnitide_common::{Error, Result};
use rustc_hash::FxHashSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Numeric(Vec<f64>),
    Categorical { codes: Vec<u32>, levels: Vec<String> },
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Numeric(v) => v.len(),
            Values::Categorical { codes, .. } => codes.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
}

impl Table {
    /// Checks the table (`arg` names it in errors): at least one column and one
    /// row, equal lengths, distinct names, finite numbers, codes within levels.
    pub fn new(arg: &str, columns: Vec<Column>) -> Result<Table> {
        if columns.is_empty() {
            return Err(Error::invalid_arg(arg, "has no columns"));
        }
        let rows = columns[0].values.len();
        if rows == 0 {
            return Err(Error::invalid_arg(arg, "is empty (0 rows)"));
        }
        let mut names = FxHashSet::default();
        for c in &columns {
            let at = format!("{arg}.{}", c.name);
            if c.name.is_empty() {
                return Err(Error::invalid_arg(arg, "a column has an empty name"));
            }
            if !names.insert(c.name.as_str()) {
                return Err(Error::invalid_arg(&at, "column name appears twice"));
            }
            if c.values.len() != rows {
                return Err(Error::invalid_arg(&at, format!("has {} rows, the first column has {rows}", c.values.len())));
            }
            match &c.values {
                Values::Numeric(v) => {
                    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                        return Err(Error::invalid_arg(&at, format!("row {i} is {} (numbers must be finite)", v[i])));
                    }
                }
                Values::Categorical { codes, levels } => {
                    if let Some(i) = codes.iter().position(|&k| k as usize >= levels.len()) {
                        return Err(Error::invalid_arg(&at, format!("row {i} has code {} but only {} levels", codes[i], levels.len())));
                    }
                }
            }
        }
        Ok(Table { columns })
    }

    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Rejects a column with one distinct value: it carries no distribution to fit
/// (zero variance breaks correlations and covariances).
pub fn reject_constant(arg: &str, c: &Column) -> Result<()> {
    let constant = match &c.values {
        Values::Numeric(v) => v.iter().all(|x| *x == v[0]),
        Values::Categorical { codes, .. } => codes.iter().all(|k| *k == codes[0]),
    };
    if constant {
        return Err(Error::invalid_arg(
            &format!("{arg}.{}", c.name),
            "is constant (one distinct value): drop it or generate it with a rule",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_tables_naming_the_column() {
        let num = |n: &str, v: Vec<f64>| Column { name: n.into(), values: Values::Numeric(v) };
        assert!(Table::new("t", vec![]).unwrap_err().message.contains("no columns"));
        assert!(Table::new("t", vec![num("a", vec![])]).unwrap_err().message.contains("empty"));
        let e = Table::new("t", vec![num("a", vec![1.0, f64::NAN])]).unwrap_err();
        assert!(e.message.starts_with("t.a:") && e.message.contains("NaN"), "{}", e.message);
        assert!(Table::new("t", vec![num("a", vec![1.0]), num("b", vec![1.0, 2.0])]).unwrap_err().message.starts_with("t.b"));
        let cat = Column { name: "c".into(), values: Values::Categorical { codes: vec![0, 3], levels: vec!["x".into()] } };
        assert!(Table::new("t", vec![cat]).unwrap_err().message.contains("code 3"));
    }
}
