//! Bindings for `omnitide-synth`: columns cross as typed arrays (one call per
//! table, never per row), fitting/sampling/generation run on the libuv pool,
//! reports come back as JSON text. Conversion and error mapping only.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::{Error as OmniErr, Result as OmniResult};
use omnitide_synth::constraints;
use omnitide_synth::rng::{rows_arg, seed_arg};
use omnitide_synth::rules::{self, Out, OutColumn, OutTable};
use omnitide_synth::{fidelity, Column, Copula, Mixture, MixtureOptions, Model, Table, Values};

use crate::error::guard;
use crate::task;

/// One column of a sample table: `kind` is `numeric` (`values`) or `categorical` (`codes` into `levels`).
#[napi(object)]
pub struct SynthColumnData {
    pub name: String,
    pub kind: String,
    pub values: Option<Float64Array>,
    pub codes: Option<Uint32Array>,
    pub levels: Option<Vec<String>>,
}

/// Sampled rows and how many were redrawn because they copied a real row.
#[napi(object)]
pub struct SynthSample {
    pub columns: Vec<SynthColumnData>,
    pub redrawn: u32,
}

#[napi(object)]
pub struct SynthFitOptions {
    pub components: Option<u32>,
    pub max_iterations: Option<u32>,
    pub tolerance: Option<f64>,
}

/// A generated column: `kind` is `number`, `category`, `text` (UTF-8 `textData`
/// with end offsets `textEnds`) or `external` (a faker field the caller fills).
#[napi(object)]
pub struct SynthGenColumn {
    pub name: String,
    pub kind: String,
    pub values: Option<Float64Array>,
    pub codes: Option<Uint32Array>,
    pub levels: Option<Vec<String>>,
    pub text_data: Option<Uint8Array>,
    pub text_ends: Option<Uint32Array>,
    /// 1 where the value is null.
    pub nulls: Option<Uint8Array>,
}

#[napi(object)]
pub struct SynthGenTable {
    pub name: String,
    pub rows: u32,
    pub columns: Vec<SynthGenColumn>,
}

fn table_from(arg: &str, cols: Vec<SynthColumnData>) -> OmniResult<Table> {
    let mut out = Vec::with_capacity(cols.len());
    for c in cols {
        let at = format!("{arg}.{}", c.name);
        let values = match (c.kind.as_str(), c.values, c.codes, c.levels) {
            ("numeric", Some(v), _, _) => Values::Numeric(v.to_vec()),
            ("categorical", _, Some(k), Some(l)) => Values::Categorical { codes: k.to_vec(), levels: l },
            (k @ ("numeric" | "categorical"), ..) => {
                return Err(OmniErr::invalid_arg(&at, format!("a {k} column needs its typed array(s)")))
            }
            (k, ..) => return Err(OmniErr::invalid_arg(&at, format!("unknown column kind '{k}' (expected numeric or categorical)"))),
        };
        out.push(Column { name: c.name, values });
    }
    Table::new(arg, out)
}

fn table_to(t: Table) -> Vec<SynthColumnData> {
    t.columns
        .into_iter()
        .map(|c| match c.values {
            Values::Numeric(v) => {
                SynthColumnData { name: c.name, kind: "numeric".into(), values: Some(v.into()), codes: None, levels: None }
            }
            Values::Categorical { codes, levels } => {
                SynthColumnData { name: c.name, kind: "categorical".into(), values: None, codes: Some(codes.into()), levels: Some(levels) }
            }
        })
        .collect()
}

/// A fitted model (Gaussian copula or Gaussian mixture); immutable, shared with sampling tasks.
#[napi]
pub struct SynthModel {
    inner: Arc<Model>,
}

/// Fits `strategy` (`copula` or `mixture`) on a table; `seed` makes the fit deterministic.
#[napi]
pub fn synth_fit_async<'e>(
    env: &'e Env,
    columns: Vec<SynthColumnData>,
    strategy: String,
    seed: f64,
    options: Option<SynthFitOptions>,
) -> Result<PromiseRaw<'e, SynthModel>> {
    let (table, seed, opts) = guard(|| {
        let seed = seed_arg("seed", seed)?;
        let mut o = MixtureOptions::default();
        if let Some(p) = options {
            o.components = p.components.map_or(o.components, |v| v as usize);
            o.max_iterations = p.max_iterations.map_or(o.max_iterations, |v| v as usize);
            if let Some(t) = p.tolerance {
                if !(t.is_finite() && t > 0.0) {
                    return Err(OmniErr::invalid_arg("tolerance", format!("must be a positive number, got {t}")));
                }
                o.tolerance = t;
            }
        }
        if strategy != "copula" && strategy != "mixture" {
            return Err(OmniErr::invalid_arg("strategy", format!("expected 'copula' or 'mixture', got '{strategy}'")));
        }
        Ok((table_from("table", columns)?, seed, o))
    })?;
    task::spawn(
        env,
        move || {
            Ok(if strategy == "copula" {
                Model::Copula(Copula::fit(&table, seed)?)
            } else {
                Model::Mixture(Mixture::fit(&table, opts, seed)?)
            })
        },
        |m| SynthModel { inner: Arc::new(m) },
    )
}

#[napi]
impl SynthModel {
    /// `rows` synthetic rows (same seed, same rows); with `rejectCopies`, rows equal to a real row are redrawn.
    #[napi]
    pub fn sample_async<'e>(&self, env: &'e Env, rows: f64, seed: f64, reject_copies: Option<bool>) -> Result<PromiseRaw<'e, SynthSample>> {
        let (rows, seed) = guard(|| Ok((rows_arg("rows", rows)?, seed_arg("seed", seed)?)))?;
        let m = Arc::clone(&self.inner);
        let private = reject_copies.unwrap_or(false);
        task::spawn(
            env,
            move || match (&*m, private) {
                (Model::Copula(c), true) => c.sample_private(rows, seed),
                (Model::Mixture(g), true) => g.sample_private(rows, seed),
                (Model::Copula(c), false) => Ok((c.sample(rows, seed)?, 0)),
                (Model::Mixture(g), false) => Ok((g.sample(rows, seed)?, 0)),
            },
            |(t, redrawn)| SynthSample { columns: table_to(t), redrawn: redrawn as u32 },
        )
    }

    /// The model as bytes (`OMNISYN` format: versioned, checksummed; see `omnitide_synth::saved`).
    #[napi]
    pub fn save(&self) -> Result<Uint8Array> {
        Ok(Uint8Array::new(guard(|| self.inner.to_bytes())?))
    }

    /// A model saved by `save`; damaged or foreign bytes are refused with the reason.
    #[napi(factory)]
    pub fn load(bytes: &[u8]) -> Result<SynthModel> {
        guard(|| Ok(SynthModel { inner: Arc::new(Model::from_bytes(bytes)?) }))
    }

    /// `copula` or `mixture`.
    #[napi(getter)]
    pub fn strategy(&self) -> String {
        self.inner.strategy().to_string()
    }

    /// What was fitted, as JSON: the strategy, columns and (copula) the
    /// normal-score correlation matrix or (mixture) the EM summary.
    #[napi]
    pub fn describe(&self) -> Result<String> {
        guard(|| {
            let v = match &*self.inner {
                Model::Copula(c) => serde_json::json!({
                    "strategy": "copula",
                    "columns": c.names,
                    "correlation": (0..c.names.len()).map(|i| c.correlation.row(i).iter().copied().collect::<Vec<f64>>()).collect::<Vec<_>>(),
                }),
                Model::Mixture(g) => serde_json::json!({ "strategy": "mixture", "fit": g.summary }),
            };
            Ok(v.to_string())
        })
    }
}

/// Fidelity and privacy of `synthetic` against `real`, as JSON.
#[napi]
pub fn synth_fidelity_async<'e>(
    env: &'e Env,
    real: Vec<SynthColumnData>,
    synthetic: Vec<SynthColumnData>,
) -> Result<PromiseRaw<'e, String>> {
    let (r, s) = guard(|| Ok((table_from("real", real)?, table_from("synthetic", synthetic)?)))?;
    task::spawn(env, move || Ok(serde_json::to_string(&fidelity::report(&r, &s)?).unwrap_or_default()), std::convert::identity)
}

fn gen_column(c: OutColumn) -> SynthGenColumn {
    let mut g = SynthGenColumn {
        name: c.name,
        kind: String::new(),
        values: None,
        codes: None,
        levels: None,
        text_data: None,
        text_ends: None,
        nulls: c.nulls.map(Uint8Array::new),
    };
    match c.data {
        Out::Num(v) => (g.kind, g.values) = ("number".into(), Some(v.into())),
        Out::Cat { codes, levels } => (g.kind, g.codes, g.levels) = ("category".into(), Some(codes.into()), Some(levels)),
        Out::Text { data, ends } => (g.kind, g.text_data, g.text_ends) = ("text".into(), Some(data.into()), Some(ends.into())),
        Out::External => g.kind = "external".into(),
    }
    g
}

fn out_table(t: SynthGenTable) -> OmniResult<OutTable> {
    let rows = t.rows as usize;
    let mut columns = Vec::new();
    for c in t.columns {
        let at = format!("tables.{}.{}", t.name, c.name);
        let need = |n: usize| {
            if n == rows {
                Ok(())
            } else {
                Err(OmniErr::invalid_arg(&at, format!("has {n} values, the table has {rows} rows")))
            }
        };
        let data = match (c.kind.as_str(), c.values, c.codes, c.levels, c.text_data, c.text_ends) {
            ("number", Some(v), ..) => {
                need(v.len())?;
                Out::Num(v.to_vec())
            }
            ("category", _, Some(k), Some(l), ..) => {
                need(k.len())?;
                if k.iter().any(|&x| x as usize >= l.len()) {
                    return Err(OmniErr::invalid_arg(&at, "a code is past its levels"));
                }
                Out::Cat { codes: k.to_vec(), levels: l }
            }
            ("text", _, _, _, Some(d), Some(e)) => {
                need(e.len())?;
                if e.windows(2).any(|w| w[0] > w[1]) || e.last().is_some_and(|&x| x as usize > d.len()) {
                    return Err(OmniErr::invalid_arg(&at, "textEnds must be ascending offsets into textData"));
                }
                Out::Text { data: d.to_vec(), ends: e.to_vec() }
            }
            ("external", ..) => Out::External,
            (k, ..) => return Err(OmniErr::invalid_arg(&at, format!("kind '{k}' without its arrays"))),
        };
        let nulls = c.nulls.map(|m| m.to_vec());
        if let Some(m) = &nulls {
            need(m.len())?;
        }
        columns.push(OutColumn { name: c.name, data, nulls });
    }
    Ok(OutTable { name: t.name, rows, columns })
}

/// Generates every table of a rule-based schema (JSON) natively; faker fields come back as `external`.
#[napi]
pub fn synth_generate_async<'e>(env: &'e Env, schema: String, seed: f64) -> Result<PromiseRaw<'e, Vec<SynthGenTable>>> {
    let (schema, seed) = guard(|| Ok((rules::parse_schema(&schema)?, seed_arg("seed", seed)?)))?;
    task::spawn(
        env,
        move || rules::generate(&schema, seed),
        |ts| {
            ts.into_iter()
                .map(|t| SynthGenTable { name: t.name, rows: t.rows as u32, columns: t.columns.into_iter().map(gen_column).collect() })
                .collect()
        },
    )
}

/// Checks a schema's constraints (unique, notNull, min/max, foreign keys) on tables; the report as JSON.
#[napi]
pub fn synth_check_async<'e>(env: &'e Env, schema: String, tables: Vec<SynthGenTable>) -> Result<PromiseRaw<'e, String>> {
    let (schema, tables) =
        guard(|| Ok((rules::parse_schema(&schema)?, tables.into_iter().map(out_table).collect::<OmniResult<Vec<_>>>()?)))?;
    task::spawn(env, move || Ok(serde_json::to_string(&constraints::check(&schema, &tables)?).unwrap_or_default()), std::convert::identity)
}
