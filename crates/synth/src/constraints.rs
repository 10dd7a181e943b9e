//! Constraints declared on schema fields, checked on generated (or any) tables:
//! `unique` (non-null values distinct), `notNull`, `min`/`max` ranges and
//! foreign keys (`ref` values present in the parent key).

use omnitide_common::{Error, Result};
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::rules::{Gen, Out, OutTable, Schema};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    pub table: String,
    pub field: String,
    /// `unique`, `notNull`, `range` or `foreignKey`.
    pub constraint: &'static str,
    pub count: usize,
    pub first_row: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintReport {
    pub checked: usize,
    pub violations: Vec<Violation>,
}

/// A value as a hashable key (numbers by bits with -0 folded into 0).
fn key(d: &Out, i: usize) -> Vec<u8> {
    match d {
        Out::Num(v) => (if v[i] == 0.0 { 0.0f64 } else { v[i] }).to_bits().to_le_bytes().to_vec(),
        Out::Cat { codes, levels } => levels[codes[i] as usize].as_bytes().to_vec(),
        Out::Text { .. } => d.text(i).to_vec(),
        Out::External => Vec::new(),
    }
}

fn is_null(c: &crate::rules::OutColumn, i: usize) -> bool {
    c.nulls.as_ref().is_some_and(|m| m[i] == 1) || matches!(&c.data, Out::Num(v) if v[i].is_nan())
}

pub fn check(schema: &Schema, tables: &[OutTable]) -> Result<ConstraintReport> {
    let mut violations = Vec::new();
    let mut checked = 0;
    let table = |name: &str| tables.iter().find(|t| t.name == name);
    for spec in &schema.tables {
        let t = table(&spec.name).ok_or_else(|| Error::invalid_arg(&format!("tables.{}", spec.name), "is missing"))?;
        for f in &spec.fields {
            let at = format!("tables.{}.{}", spec.name, f.name);
            let c = t.column(&f.name).ok_or_else(|| Error::invalid_arg(&at, "is missing"))?;
            if c.data == Out::External {
                return Err(Error::invalid_arg(&at, "has no values (faker columns must be filled in before the check)"));
            }
            let mut report = |constraint: &'static str, bad: &mut dyn Iterator<Item = usize>| {
                let rows: Vec<usize> = bad.collect();
                if let Some(&first_row) = rows.first() {
                    violations.push(Violation {
                        table: spec.name.clone(),
                        field: f.name.clone(),
                        constraint,
                        count: rows.len(),
                        first_row,
                    });
                }
            };
            if f.not_null {
                checked += 1;
                report("notNull", &mut (0..t.rows).filter(|&i| is_null(c, i)));
            }
            if f.unique {
                checked += 1;
                let mut seen = FxHashSet::default();
                report("unique", &mut (0..t.rows).filter(|&i| !is_null(c, i) && !seen.insert(key(&c.data, i))));
            }
            if f.min.is_some() || f.max.is_some() {
                checked += 1;
                let (lo, hi) = (f.min.unwrap_or(f64::NEG_INFINITY), f.max.unwrap_or(f64::INFINITY));
                if let Out::Num(v) = &c.data {
                    report("range", &mut (0..t.rows).filter(|&i| !is_null(c, i) && !(lo..=hi).contains(&v[i])));
                } else {
                    return Err(Error::invalid_arg(&at, "min/max apply to numeric fields only"));
                }
            }
            if let Gen::Ref { table: pt, field: pf } = &f.gen {
                checked += 1;
                let pc =
                    table(pt).and_then(|p| p.column(pf)).ok_or_else(|| Error::invalid_arg(&format!("tables.{pt}.{pf}"), "is missing"))?;
                let p = table(pt).map_or(0, |p| p.rows);
                let keys: FxHashSet<Vec<u8>> = (0..p).map(|i| key(&pc.data, i)).collect();
                report("foreignKey", &mut (0..t.rows).filter(|&i| !is_null(c, i) && !keys.contains(&key(&c.data, i))));
            }
        }
    }
    Ok(ConstraintReport { checked, violations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{generate, parse_schema};

    #[test]
    fn reports_each_broken_constraint() {
        let s = parse_schema(
            r#"{"tables":[{"name":"p","rows":10,"fields":[{"name":"id","gen":{"kind":"sequence"},"unique":true,"max":5}]},
              {"name":"c","rows":50,"fields":[{"name":"pid","gen":{"kind":"ref","table":"p","field":"id"}},{"name":"x","gen":{"kind":"int","min":1,"max":3},"unique":false}]}]}"#,
        )
        .unwrap();
        let mut out = generate(&s, 1).unwrap();
        let r = check(&s, &out).unwrap();
        assert_eq!(r.violations, vec![Violation { table: "p".into(), field: "id".into(), constraint: "range", count: 5, first_row: 5 }]);
        // Break the foreign key and the parent's uniqueness by hand.
        if let Out::Num(v) = &mut out[1].columns[0].data {
            v[7] = 999.0;
        }
        if let Out::Num(v) = &mut out[0].columns[0].data {
            v[1] = 1.0;
        }
        let kinds: Vec<&str> = check(&s, &out).unwrap().violations.iter().map(|v| v.constraint).collect();
        assert!(kinds.contains(&"unique") && kinds.contains(&"foreignKey"), "{kinds:?}");
    }
}
