//! Conceptual scaling: a many-valued context (objects x many-valued
//! attributes) becomes a formal context, one scale per attribute.

use omnitide_common::{Error, Result};

use crate::context::Context;

#[derive(Clone, Debug)]
pub enum Value {
    Missing,
    Num(f64),
    Text(String),
}

#[derive(Clone, Debug)]
pub enum Scale {
    /// One attribute `name=value` per distinct value.
    Nominal,
    /// `name<=t` for each threshold (ascending), or `name>=t` when `descending`.
    Ordinal { thresholds: Vec<f64>, descending: bool },
    /// Both `name<=t` and `name>=t` for each threshold.
    Interordinal { thresholds: Vec<f64> },
    /// `name in [lo,hi)` for consecutive boundaries (the last interval is closed).
    Interval { bounds: Vec<f64> },
}

pub struct Column {
    pub name: String,
    pub values: Vec<Value>,
    pub scale: Scale,
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn num(col: &Column, g: usize, objects: &[String]) -> Result<Option<f64>> {
    match &col.values[g] {
        Value::Missing => Ok(None),
        Value::Num(x) if x.is_finite() => Ok(Some(*x)),
        v => Err(Error::invalid_arg(
            &format!("columns.{}", col.name),
            format!("object '{}': the {:?} scale needs a finite number, got {v:?}", objects[g], col.scale),
        )),
    }
}

fn check_sorted(col: &Column, xs: &[f64], what: &str) -> Result<()> {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) || xs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid_arg(
            &format!("columns.{}.{what}", col.name),
            "must be a non-empty strictly ascending list of finite numbers",
        ));
    }
    Ok(())
}

/// Scales every column; attribute names are `<column><op><value>`.
pub fn scale(objects: Vec<String>, columns: &[Column]) -> Result<Context> {
    let n = objects.len();
    let mut attributes: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n];
    for col in columns {
        if col.values.len() != n {
            return Err(Error::invalid_arg(
                &format!("columns.{}.values", col.name),
                format!("expected {n} values (one per object), got {}", col.values.len()),
            ));
        }
        let mut add = |name: String, has: &dyn Fn(usize) -> Result<bool>| -> Result<()> {
            let id = attributes.len() as u32;
            attributes.push(name);
            for (g, r) in rows.iter_mut().enumerate() {
                if has(g)? {
                    r.push(id);
                }
            }
            Ok(())
        };
        match &col.scale {
            Scale::Nominal => {
                let mut distinct: Vec<String> = Vec::new();
                let key = |v: &Value| match v {
                    Value::Missing => None,
                    Value::Num(x) => Some(fmt_num(*x)),
                    Value::Text(s) => Some(s.clone()),
                };
                for v in &col.values {
                    if let Some(k) = key(v) {
                        if !distinct.contains(&k) {
                            distinct.push(k);
                        }
                    }
                }
                for d in distinct {
                    add(format!("{}={d}", col.name), &|g| Ok(key(&col.values[g]).as_deref() == Some(d.as_str())))?;
                }
            }
            Scale::Ordinal { thresholds, descending } => {
                check_sorted(col, thresholds, "thresholds")?;
                for &t in thresholds {
                    let op = if *descending { ">=" } else { "<=" };
                    add(format!("{}{op}{}", col.name, fmt_num(t)), &|g| {
                        Ok(num(col, g, &objects)?.is_some_and(|x| if *descending { x >= t } else { x <= t }))
                    })?;
                }
            }
            Scale::Interordinal { thresholds } => {
                check_sorted(col, thresholds, "thresholds")?;
                for &t in thresholds {
                    add(format!("{}<={}", col.name, fmt_num(t)), &|g| Ok(num(col, g, &objects)?.is_some_and(|x| x <= t)))?;
                }
                for &t in thresholds {
                    add(format!("{}>={}", col.name, fmt_num(t)), &|g| Ok(num(col, g, &objects)?.is_some_and(|x| x >= t)))?;
                }
            }
            Scale::Interval { bounds } => {
                check_sorted(col, bounds, "bounds")?;
                if bounds.len() < 2 {
                    return Err(Error::invalid_arg(&format!("columns.{}.bounds", col.name), "needs at least two boundaries"));
                }
                let k = bounds.len() - 1;
                for i in 0..k {
                    let (lo, hi) = (bounds[i], bounds[i + 1]);
                    let last = i + 1 == k;
                    let close = if last { ']' } else { ')' };
                    add(format!("{} in [{},{}{close}", col.name, fmt_num(lo), fmt_num(hi)), &|g| {
                        Ok(num(col, g, &objects)?.is_some_and(|x| x >= lo && (x < hi || (last && x <= hi))))
                    })?;
                }
            }
        }
    }
    Context::new(objects, attributes, &rows)
}
