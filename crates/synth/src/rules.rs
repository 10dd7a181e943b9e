//! Rule-based generation: a schema of tables whose fields each name a
//! generator. Columns are produced natively, one whole column at a time, with
//! an independent ChaCha stream per (table, field) so adding a field never
//! changes the others. Tables are generated parents first so a `ref` field
//! copies key values that exist (referential integrity by construction).
//! `faker` fields are left to the caller (JavaScript's `@faker-js/faker`).

use omnitide_common::{Error, Result};
use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::index;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Normal;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;

use crate::rng::{rng, rows_arg, stream_of};

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Gen {
    Int {
        min: f64,
        max: f64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    Enum {
        values: Vec<String>,
        weights: Option<Vec<f64>>,
    },
    /// Milliseconds since the epoch, whole, in [from, to].
    Date {
        from: f64,
        to: f64,
    },
    /// A regular expression; strings matching it are drawn (`rand_regex`).
    Pattern {
        pattern: String,
    },
    Sequence {
        start: Option<f64>,
        step: Option<f64>,
    },
    /// A value of `table.field` (a unique, non-null key of a table generated first).
    Ref {
        table: String,
        field: String,
    },
    /// Produced by the caller with Faker (`method` such as `person.fullName`).
    Faker {
        method: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    pub gen: Gen,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub not_null: bool,
    #[serde(default)]
    pub null_rate: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableSpec {
    pub name: String,
    pub rows: f64,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub tables: Vec<TableSpec>,
    /// Indices of `tables`, parents before children.
    pub order: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Num(Vec<f64>),
    Cat {
        codes: Vec<u32>,
        levels: Vec<String>,
    },
    /// UTF-8 strings back to back; `ends[i]` is the end offset of string i.
    Text {
        data: Vec<u8>,
        ends: Vec<u32>,
    },
    /// Filled by the caller (faker).
    External,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutColumn {
    pub name: String,
    pub data: Out,
    /// 1 where the value is null.
    pub nulls: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutTable {
    pub name: String,
    pub rows: usize,
    pub columns: Vec<OutColumn>,
}

impl OutTable {
    pub fn column(&self, name: &str) -> Option<&OutColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

impl Out {
    pub fn text(&self, i: usize) -> &[u8] {
        match self {
            Out::Text { data, ends } => &data[if i == 0 { 0 } else { ends[i - 1] as usize }..ends[i] as usize],
            _ => &[],
        }
    }
}

const MAX_EXACT: f64 = 9_007_199_254_740_991.0;

/// Parses and checks a schema given as JSON (every error names its path).
pub fn parse_schema(json: &str) -> Result<Schema> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::invalid_arg("schema", e))?;
    let list =
        v.get("tables").and_then(|t| t.as_array()).ok_or_else(|| Error::invalid_arg("schema.tables", "expected an array of tables"))?;
    if list.is_empty() {
        return Err(Error::invalid_arg("schema.tables", "is empty"));
    }
    let mut tables = Vec::new();
    for (ti, t) in list.iter().enumerate() {
        let at = format!("schema.tables[{ti}]");
        let fields = t
            .get("fields")
            .and_then(|f| f.as_array())
            .ok_or_else(|| Error::invalid_arg(&format!("{at}.fields"), "expected an array of fields"))?;
        let mut specs = Vec::new();
        for (fi, f) in fields.iter().enumerate() {
            let fat = format!("{at}.fields[{fi}]");
            specs.push(serde_json::from_value::<FieldSpec>(f.clone()).map_err(|e| Error::invalid_arg(&fat, e))?);
        }
        let mut t = t.clone();
        t["fields"] = serde_json::Value::Array(vec![]);
        let mut spec: TableSpec = serde_json::from_value(t).map_err(|e| Error::invalid_arg(&at, e))?;
        spec.fields = specs;
        tables.push(spec);
    }
    check_tables(&tables)?;
    let order = topological(&tables)?;
    Ok(Schema { tables, order })
}

fn check_tables(tables: &[TableSpec]) -> Result<()> {
    let mut names = FxHashSet::default();
    for t in tables {
        let at = format!("schema.{}", t.name);
        if t.name.is_empty() || !names.insert(t.name.as_str()) {
            return Err(Error::invalid_arg(&at, "table names must be non-empty and distinct"));
        }
        rows_arg(&format!("{at}.rows"), t.rows)?;
        if t.fields.is_empty() {
            return Err(Error::invalid_arg(&format!("{at}.fields"), "is empty"));
        }
        let mut fields = FxHashSet::default();
        for f in &t.fields {
            let fat = format!("{at}.{}", f.name);
            if f.name.is_empty() || !fields.insert(f.name.as_str()) {
                return Err(Error::invalid_arg(&fat, "field names must be non-empty and distinct"));
            }
            check_field(&fat, f, tables)?;
        }
    }
    Ok(())
}

fn check_field(at: &str, f: &FieldSpec, tables: &[TableSpec]) -> Result<()> {
    let bad = |what: &str, why: String| Err(Error::invalid_arg(&format!("{at}.{what}"), why));
    if !(0.0..1.0).contains(&f.null_rate) {
        return bad("nullRate", format!("must be in [0, 1), got {}", f.null_rate));
    }
    if f.not_null && f.null_rate > 0.0 {
        return bad("nullRate", "contradicts notNull".into());
    }
    if let (Some(lo), Some(hi)) = (f.min, f.max) {
        if lo > hi || !lo.is_finite() || !hi.is_finite() {
            return bad("min", format!("min {lo} / max {hi} is not a finite range"));
        }
    }
    let whole = |x: f64| x.is_finite() && x.fract() == 0.0 && x.abs() <= MAX_EXACT;
    match &f.gen {
        Gen::Int { min, max } | Gen::Date { from: min, to: max } => {
            if !whole(*min) || !whole(*max) || min > max {
                return bad("gen", format!("bounds must be integers with min <= max, got {min}..{max}"));
            }
        }
        Gen::Float { min, max } => {
            if !min.is_finite() || !max.is_finite() || min >= max {
                return bad("gen", format!("bounds must be finite with min < max, got {min}..{max}"));
            }
        }
        Gen::Normal { mean, std } => {
            if !mean.is_finite() || !std.is_finite() || *std <= 0.0 {
                return bad("gen", format!("needs a finite mean and std > 0, got {mean}, {std}"));
            }
        }
        Gen::Enum { values, weights } => {
            if values.is_empty() {
                return bad("gen.values", "is empty".into());
            }
            if let Some(w) = weights {
                if w.len() != values.len() || w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                    return bad("gen.weights", "needs one non-negative weight per value, not all zero".into());
                }
            }
        }
        Gen::Pattern { pattern } => {
            rand_regex::Regex::compile(pattern, 16).map_err(|e| Error::invalid_arg(&format!("{at}.gen.pattern"), e))?;
        }
        Gen::Sequence { start, step } => {
            if !start.unwrap_or(1.0).is_finite() || !step.unwrap_or(1.0).is_finite() {
                return bad("gen", "start and step must be finite".into());
            }
            if f.unique && step.unwrap_or(1.0) == 0.0 {
                return bad("gen.step", "a unique sequence needs a non-zero step".into());
            }
        }
        Gen::Ref { table, field } => {
            let t = tables.iter().find(|t| &t.name == table);
            let Some(p) = t.and_then(|t| t.fields.iter().find(|f| &f.name == field)) else {
                return bad("gen", format!("references {table}.{field}, which does not exist"));
            };
            if !p.unique || p.null_rate > 0.0 || matches!(p.gen, Gen::Faker { .. }) {
                return bad("gen", format!("references {table}.{field}, which must be a unique, non-null, natively generated key"));
            }
        }
        Gen::Faker { method } => {
            if method.is_empty() {
                return bad("gen.method", "is empty".into());
            }
        }
    }
    Ok(())
}

/// Parents before children; a cycle of foreign keys (a table referencing
/// itself included) is an error naming the tables on it.
fn topological(tables: &[TableSpec]) -> Result<Vec<usize>> {
    let index: FxHashMap<&str, usize> = tables.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let parents: Vec<Vec<usize>> = tables
        .iter()
        .map(|t| {
            let mut p: Vec<usize> = t
                .fields
                .iter()
                .filter_map(|f| if let Gen::Ref { table, .. } = &f.gen { index.get(table.as_str()).copied() } else { None })
                .collect();
            p.sort_unstable();
            p.dedup();
            p
        })
        .collect();
    // 0 = unvisited, 1 = on the DFS stack, 2 = done.
    let mut state = vec![0u8; tables.len()];
    let mut order = Vec::new();
    fn visit(i: usize, parents: &[Vec<usize>], state: &mut [u8], stack: &mut Vec<usize>, order: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[i] = 1;
        stack.push(i);
        for &p in &parents[i] {
            if state[p] == 1 {
                let from = stack.iter().position(|&s| s == p).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(p);
                return Some(cycle);
            }
            if state[p] == 0 {
                if let Some(c) = visit(p, parents, state, stack, order) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        state[i] = 2;
        order.push(i);
        None
    }
    for i in 0..tables.len() {
        if state[i] == 0 {
            if let Some(cycle) = visit(i, &parents, &mut state, &mut Vec::new(), &mut order) {
                let names: Vec<&str> = cycle.iter().rev().map(|&k| tables[k].name.as_str()).collect();
                return Err(Error::invalid_arg("schema.tables", format!("foreign keys form a cycle: {}", names.join(" -> "))));
            }
        }
    }
    Ok(order)
}

/// Generates every table of `schema` (in schema order), deterministic in `seed`.
pub fn generate(schema: &Schema, seed: u64) -> Result<Vec<OutTable>> {
    let mut done: Vec<Option<OutTable>> = vec![None; schema.tables.len()];
    for &ti in &schema.order {
        let t = &schema.tables[ti];
        let rows = t.rows as usize;
        let ready: Vec<&OutTable> = done.iter().flatten().collect();
        let columns = t.fields.par_iter().map(|f| field(&t.name, f, rows, seed, &ready)).collect::<Result<Vec<OutColumn>>>()?;
        done[ti] = Some(OutTable { name: t.name.clone(), rows, columns });
    }
    Ok(done.into_iter().flatten().collect())
}

fn field(table: &str, f: &FieldSpec, n: usize, seed: u64, ready: &[&OutTable]) -> Result<OutColumn> {
    let at = format!("schema.{table}.{}", f.name);
    let mut r = rng(seed, stream_of(&["rules", table, &f.name]));
    let data = match &f.gen {
        Gen::Int { min, max } | Gen::Date { from: min, to: max } => Out::Num(ints(&at, *min as i64, *max as i64, n, f.unique, &mut r)?),
        Gen::Float { min, max } => {
            let (lo, hi) = (*min, *max);
            Out::Num(distinct_floats(n, f.unique, &mut r, |r| r.gen_range(lo..hi)))
        }
        Gen::Normal { mean, std } => {
            let d = Normal::new(*mean, *std).map_err(|e| Error::invalid_arg(&format!("{at}.gen"), e))?;
            let (lo, hi) = (f.min.unwrap_or(f64::NEG_INFINITY), f.max.unwrap_or(f64::INFINITY));
            // Honour a declared range by redrawing (truncated normal); clamp after a few misses.
            Out::Num(distinct_floats(n, f.unique, &mut r, |r| {
                for _ in 0..16 {
                    let x = d.sample(r);
                    if (lo..=hi).contains(&x) {
                        return x;
                    }
                }
                d.sample(r).clamp(lo, hi)
            }))
        }
        Gen::Enum { values, weights } => {
            let codes = if f.unique {
                if values.len() < n {
                    return Err(Error::invalid_arg(&at, format!("{} distinct values cannot fill {n} unique rows", values.len())));
                }
                index::sample(&mut r, values.len(), n).into_iter().map(|i| i as u32).collect()
            } else {
                let w = weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
                let pick = WeightedIndex::new(&w).map_err(|e| Error::invalid_arg(&format!("{at}.gen.weights"), e))?;
                (0..n).map(|_| pick.sample(&mut r) as u32).collect()
            };
            Out::Cat { codes, levels: values.clone() }
        }
        Gen::Pattern { pattern } => pattern_column(&at, pattern, n, f.unique, &mut r)?,
        Gen::Sequence { start, step } => {
            let (s, d) = (start.unwrap_or(1.0), step.unwrap_or(1.0));
            Out::Num((0..n).map(|i| s + i as f64 * d).collect())
        }
        Gen::Ref { table: pt, field: pf } => {
            let parent = ready.iter().find(|t| &t.name == pt).ok_or_else(|| Error::internal(format!("{at}: parent {pt} not generated")))?;
            let col = &parent.column(pf).ok_or_else(|| Error::internal(format!("{at}: parent field {pf} missing")))?.data;
            let rows: Vec<usize> = if f.unique {
                if parent.rows < n {
                    return Err(Error::invalid_arg(&at, format!("a unique reference needs {n} parent rows, {pt} has {}", parent.rows)));
                }
                index::sample(&mut r, parent.rows, n).into_vec()
            } else {
                (0..n).map(|_| r.gen_range(0..parent.rows)).collect()
            };
            gather(col, &rows)
        }
        Gen::Faker { .. } => Out::External,
    };
    let nulls = (f.null_rate > 0.0).then(|| {
        let mut m = rng(seed, stream_of(&["rules.nulls", table, &f.name]));
        (0..n).map(|_| m.gen_bool(f.null_rate) as u8).collect::<Vec<u8>>()
    });
    let data = match (data, &nulls) {
        (Out::Num(mut v), Some(m)) => {
            v.iter_mut().zip(m).filter(|(_, &z)| z == 1).for_each(|(x, _)| *x = f64::NAN);
            Out::Num(v)
        }
        (d, _) => d,
    };
    Ok(OutColumn { name: f.name.clone(), data, nulls })
}

fn ints(at: &str, lo: i64, hi: i64, n: usize, unique: bool, r: &mut ChaCha8Rng) -> Result<Vec<f64>> {
    if !unique {
        return Ok((0..n).map(|_| r.gen_range(lo..=hi) as f64).collect());
    }
    let span = (hi as i128 - lo as i128 + 1).min(usize::MAX as i128) as usize;
    if span < n {
        return Err(Error::invalid_arg(at, format!("{span} distinct integers in {lo}..={hi} cannot fill {n} unique rows")));
    }
    Ok(index::sample(r, span, n).into_iter().map(|i| (lo + i as i64) as f64).collect())
}

fn distinct_floats(n: usize, unique: bool, r: &mut ChaCha8Rng, mut draw: impl FnMut(&mut ChaCha8Rng) -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).map(|_| draw(r)).collect();
    if unique {
        // Collisions of continuous draws are rare; redraw the repeats.
        let mut seen = FxHashSet::default();
        for x in v.iter_mut() {
            while !seen.insert(x.to_bits()) {
                *x = draw(r);
            }
        }
    }
    v
}

fn pattern_column(at: &str, pattern: &str, n: usize, unique: bool, r: &mut ChaCha8Rng) -> Result<Out> {
    let re = rand_regex::Regex::compile(pattern, 16).map_err(|e| Error::invalid_arg(&format!("{at}.gen.pattern"), e))?;
    let mut data = Vec::with_capacity(n * 8);
    let mut ends = Vec::with_capacity(n);
    let mut seen: FxHashSet<Vec<u8>> = FxHashSet::default();
    let mut attempts = 0usize;
    while ends.len() < n {
        let s: Vec<u8> = re.sample(r);
        if unique {
            attempts += 1;
            if attempts > n.saturating_mul(20).max(1000) {
                return Err(Error::limit(at, format!("pattern {pattern:?} did not yield {n} distinct strings")));
            }
            if !seen.insert(s.clone()) {
                continue;
            }
        }
        data.extend_from_slice(&s);
        ends.push(u32::try_from(data.len()).map_err(|_| Error::limit(at, "column text exceeds 4 GiB"))?);
    }
    Ok(Out::Text { data, ends })
}

fn gather(col: &Out, rows: &[usize]) -> Out {
    match col {
        Out::Num(v) => Out::Num(rows.iter().map(|&i| v[i]).collect()),
        Out::Cat { codes, levels } => Out::Cat { codes: rows.iter().map(|&i| codes[i]).collect(), levels: levels.clone() },
        Out::Text { .. } => {
            let mut data = Vec::new();
            let mut ends = Vec::with_capacity(rows.len());
            for &i in rows {
                data.extend_from_slice(col.text(i));
                ends.push(data.len() as u32);
            }
            Out::Text { data, ends }
        }
        Out::External => Out::External,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SHOP: &str = r#"{"tables":[
      {"name":"orders","rows":5000,"fields":[
        {"name":"id","gen":{"kind":"sequence"},"unique":true},
        {"name":"user","gen":{"kind":"ref","table":"users","field":"id"},"notNull":true},
        {"name":"amount","gen":{"kind":"normal","mean":50,"std":20},"min":0,"max":500},
        {"name":"status","gen":{"kind":"enum","values":["new","paid","shipped"],"weights":[1,3,6]}},
        {"name":"note","gen":{"kind":"pattern","pattern":"[A-Z]{3}-[0-9]{4}"},"nullRate":0.1}
      ]},
      {"name":"users","rows":1000,"fields":[
        {"name":"id","gen":{"kind":"int","min":1,"max":1000000},"unique":true},
        {"name":"code","gen":{"kind":"pattern","pattern":"u[0-9a-f]{8}"},"unique":true},
        {"name":"born","gen":{"kind":"date","from":0,"to":946684800000}},
        {"name":"name","gen":{"kind":"faker","method":"person.fullName"}}
      ]}]}"#;

    #[test]
    fn generates_parents_first_and_keeps_keys_valid() {
        let s = parse_schema(SHOP).unwrap();
        let out = generate(&s, 42).unwrap();
        assert_eq!(out.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["orders", "users"]);
        assert_eq!(out[1].column("name").unwrap().data, Out::External);
        let mut filled = out.clone();
        filled[1].columns[3].data = Out::Text { data: vec![b'x'; 1000], ends: (1..=1000).collect() };
        let report = crate::constraints::check(&s, &filled).unwrap();
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        let Out::Num(amount) = &out[0].column("amount").unwrap().data else { panic!() };
        assert!(amount.iter().all(|x| (0.0..=500.0).contains(x)));
        let Out::Cat { codes, .. } = &out[0].column("status").unwrap().data else { panic!() };
        let shipped = codes.iter().filter(|&&c| c == 2).count() as f64 / 5000.0;
        assert!((shipped - 0.6).abs() < 0.03, "{shipped}");
        let note = &out[0].column("note").unwrap();
        let text = note.data.text(0);
        assert!(note.nulls.as_ref().unwrap()[0] == 1 || (text.len() == 8 && text[3] == b'-'));
        assert_eq!(out, generate(&s, 42).unwrap());
        assert_ne!(out, generate(&s, 43).unwrap());
    }

    #[test]
    fn schema_errors_name_the_path() {
        let err = |j: &str| parse_schema(j).unwrap_err().message;
        let cyc = r#"{"tables":[{"name":"a","rows":1,"fields":[{"name":"id","gen":{"kind":"sequence"},"unique":true},{"name":"b","gen":{"kind":"ref","table":"b","field":"id"}}]},
                     {"name":"b","rows":1,"fields":[{"name":"id","gen":{"kind":"sequence"},"unique":true},{"name":"a","gen":{"kind":"ref","table":"a","field":"id"}}]}]}"#;
        let m = err(cyc);
        assert!(m.starts_with("schema.tables: foreign keys form a cycle") && m.contains("a -> b -> a") || m.contains("b -> a -> b"), "{m}");
        assert!(err(r#"{"tables":[{"name":"a","rows":0,"fields":[{"name":"x","gen":{"kind":"sequence"}}]}]}"#).starts_with("schema.a.rows"));
        assert!(err(r#"{"tables":[{"name":"a","rows":1,"fields":[{"name":"x","gen":{"kind":"uuid4"}}]}]}"#)
            .starts_with("schema.tables[0].fields[0]"));
        assert!(err(r#"{"tables":[{"name":"a","rows":1,"fields":[{"name":"x","gen":{"kind":"pattern","pattern":"("}}]}]}"#)
            .starts_with("schema.a.x.gen.pattern"));
        let few = r#"{"tables":[{"name":"a","rows":10,"fields":[{"name":"x","gen":{"kind":"int","min":1,"max":5},"unique":true}]}]}"#;
        assert!(generate(&parse_schema(few).unwrap(), 1).unwrap_err().message.starts_with("schema.a.x"));
    }
}
