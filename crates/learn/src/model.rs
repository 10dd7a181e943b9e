//! A model: an optional online standard scaler in front of one estimator, over dense rows of a
//! fixed width. This is the unit the binding, the CLI and the save format deal with.
//!
//! Input policy (documented in the README and tested):
//! - NaN in a feature means *missing*: the scaler and the estimators skip it (River's absent key).
//! - +/-Infinity in a feature, a row of the wrong width, or a label of the wrong kind is an
//!   `ERR_OMNI_INVALID_ARGUMENT` naming the row and column; a batch is checked entirely before
//!   any sample is learnt, so a rejected batch leaves the model untouched.

use crate::adaptive::AdaptiveTree;
use crate::anomaly::{HalfSpaceTrees, HstSpec};
use crate::classes::{argmax, Proba};
use crate::codec::{self, Dec, Enc};
use crate::linear::{Glm, GlmSpec, Loss};
use crate::metrics::Metrics;
use crate::mlp::{Mlp, MlpSpec};
use crate::naive_bayes::{GaussianNb, MultinomialNb};
use crate::preprocess::StandardScaler;
use crate::tree::{HoeffdingTree, TreeSpec};
use omnitide_common::{Error, Result};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Classification,
    /// Binary classification with labels 0 and 1 only.
    Binary,
    Regression,
    Anomaly,
}

// One estimator per model, never in a hot collection: the size spread between variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Est {
    Linear(Glm),
    Logistic(Glm),
    GaussianNb(GaussianNb),
    MultinomialNb(MultinomialNb),
    Tree(HoeffdingTree),
    AdaptiveTree(AdaptiveTree),
    Hst(HalfSpaceTrees),
    Mlp(Mlp),
}

pub const KINDS: &[&str] = &[
    "linear-regression",
    "logistic-regression",
    "gaussian-nb",
    "multinomial-nb",
    "hoeffding-tree",
    "adaptive-hoeffding-tree",
    "half-space-trees",
    "mlp",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    kind: String,
    #[serde(default)]
    params: Option<Value>,
    n_features: usize,
    #[serde(default)]
    scale: bool,
    #[serde(default)]
    feature_names: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MnbSpec {
    #[serde(default = "one")]
    alpha: f64,
}
fn one() -> f64 {
    1.0
}

fn params<T: for<'de> Deserialize<'de>>(v: &Option<Value>) -> Result<T> {
    serde_json::from_value(v.clone().unwrap_or_else(|| json!({}))).map_err(|e| Error::invalid_arg("params", e.to_string()))
}

/// Reptile options (`Model::meta_train`), JSON with camelCase names.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetaTrainSpec {
    pub iterations: usize,
    #[serde(default = "three")]
    pub inner_steps: usize,
    #[serde(default = "half")]
    pub epsilon: f64,
    #[serde(default)]
    pub seed: u64,
}
fn three() -> usize {
    3
}
fn half() -> f64 {
    0.5
}

#[derive(Clone, Debug)]
pub struct Model {
    kind: String,
    n_features: usize,
    feature_names: Vec<String>,
    scaler: Option<StandardScaler>,
    est: Est,
    scratch: Vec<f64>,
    learnt: u64,
    metrics: Option<Metrics>,
}

/// What a prediction yields for metrics: the label/value, the probability of the true class and
/// of class 1 (binary), NaN where not applicable.
struct Inference {
    pred: f64,
    proba: Option<Proba>,
    p1: f64,
}

impl Model {
    pub fn from_spec(json: &str) -> Result<Self> {
        let s: Spec = serde_json::from_str(json).map_err(|e| Error::invalid_arg("spec", e.to_string()))?;
        let n = s.n_features;
        if n == 0 || n > 1 << 24 {
            return Err(Error::invalid_arg("nFeatures", "must be in [1, 16777216]"));
        }
        let names = match s.feature_names {
            Some(v) if v.len() != n => return Err(Error::invalid_arg("featureNames", format!("has {} names for {n} features", v.len()))),
            Some(v) => v,
            None => Vec::new(),
        };
        let est = match s.kind.as_str() {
            "linear-regression" => Est::Linear(Glm::new(Loss::Squared, &params::<GlmSpec>(&s.params)?, n)?),
            "logistic-regression" => Est::Logistic(Glm::new(Loss::Log, &params::<GlmSpec>(&s.params)?, n)?),
            "gaussian-nb" => {
                params::<Empty>(&s.params)?;
                Est::GaussianNb(GaussianNb::new(n))
            }
            "multinomial-nb" => Est::MultinomialNb(MultinomialNb::new(n, params::<MnbSpec>(&s.params)?.alpha)?),
            "hoeffding-tree" => {
                if let Some(Value::Object(o)) = &s.params {
                    for k in ["driftDelta", "switchGrace"] {
                        if o.contains_key(k) {
                            return Err(Error::invalid_arg(&format!("params.{k}"), "only applies to adaptive-hoeffding-tree"));
                        }
                    }
                }
                Est::Tree(HoeffdingTree::new(params::<TreeSpec>(&s.params)?, n)?)
            }
            "adaptive-hoeffding-tree" => Est::AdaptiveTree(AdaptiveTree::new(params::<TreeSpec>(&s.params)?, n)?),
            "half-space-trees" => Est::Hst(HalfSpaceTrees::new(&params::<HstSpec>(&s.params)?, n)?),
            "mlp" => Est::Mlp(Mlp::new(&params::<MlpSpec>(&s.params)?, n)?),
            other => return Err(Error::invalid_arg("kind", format!("unknown model {other:?} (expected one of {})", KINDS.join(", ")))),
        };
        Ok(Self {
            kind: s.kind,
            n_features: n,
            feature_names: names,
            scaler: if s.scale { Some(StandardScaler::new(n)) } else { None },
            est,
            scratch: vec![0.0; n],
            learnt: 0,
            metrics: None,
        })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn task(&self) -> Task {
        match &self.est {
            Est::Linear(_) => Task::Regression,
            Est::Logistic(_) => Task::Binary,
            Est::Hst(_) => Task::Anomaly,
            Est::Mlp(m) if m.is_regression() => Task::Regression,
            _ => Task::Classification,
        }
    }

    /// Classes seen so far, sorted (empty for regression and anomaly detection).
    pub fn classes(&self) -> Vec<f64> {
        let mut c = match &self.est {
            Est::Logistic(_) => vec![0.0, 1.0],
            Est::GaussianNb(m) => m.classes(),
            Est::MultinomialNb(m) => m.classes(),
            Est::Tree(m) => m.classes(),
            Est::AdaptiveTree(m) => m.classes(),
            Est::Mlp(m) if !m.is_regression() => (0..m.n_outputs()).map(|i| i as f64).collect(),
            _ => Vec::new(),
        };
        c.sort_by(f64::total_cmp);
        c
    }

    fn check_row(&self, x: &[f64], row: Option<usize>) -> Result<()> {
        let at = |c: usize| match row {
            Some(r) => format!("x[{r}][{c}]"),
            None => format!("x[{c}]"),
        };
        if x.len() != self.n_features {
            return Err(Error::invalid_arg(
                &row.map_or("x".into(), |r| format!("x[{r}]")),
                format!("expected {} features, got {}", self.n_features, x.len()),
            ));
        }
        for (c, v) in x.iter().enumerate() {
            if v.is_infinite() {
                return Err(Error::invalid_arg(&at(c), "is infinite (NaN marks a missing feature; infinities are rejected)"));
            }
        }
        if let Est::MultinomialNb(_) = self.est {
            if let Some(c) = x.iter().position(|v| *v < 0.0) {
                return Err(Error::invalid_arg(&at(c), "multinomial naive Bayes needs non-negative frequencies"));
            }
        }
        Ok(())
    }

    fn check_label(&self, y: f64, row: Option<usize>) -> Result<()> {
        Self::check_label_for(self.task(), self.mlp_outputs(), y, row)
    }

    /// The MLP's output count (labels must index an output), for the label check.
    fn mlp_outputs(&self) -> Option<usize> {
        match &self.est {
            Est::Mlp(m) => Some(m.n_outputs()),
            _ => None,
        }
    }

    // The argument name is only formatted on failure: this runs once per row of every batch.
    fn check_label_for(task: Task, mlp_outputs: Option<usize>, y: f64, row: Option<usize>) -> Result<()> {
        let arg = || row.map_or("y".to_string(), |r| format!("y[{r}]"));
        match task {
            Task::Anomaly => Ok(()),
            Task::Regression if y.is_finite() => Ok(()),
            Task::Regression => Err(Error::invalid_arg(&arg(), "must be a finite number")),
            Task::Binary if y == 0.0 || y == 1.0 => Ok(()),
            Task::Binary => Err(Error::invalid_arg(&arg(), "logistic regression takes labels 0/1 (or booleans)")),
            Task::Classification => {
                if y.is_finite() && y >= 0.0 && y.fract() == 0.0 && y < 4_294_967_296.0 {
                    match mlp_outputs {
                        Some(n) if y as usize >= n => {
                            Err(Error::invalid_arg(&arg(), format!("class {y} is outside the network's {n} outputs")))
                        }
                        _ => Ok(()),
                    }
                } else {
                    Err(Error::invalid_arg(&arg(), "class labels must be non-negative integers"))
                }
            }
        }
    }

    /// Checks a whole batch before anything is learnt. The common case (every value finite or
    /// NaN, every label valid) costs one flat scan of `x` and of `y`: a row is only re-checked
    /// one by one to name the offending cell once a flat scan found a problem.
    fn check_batch(&self, x: &[f64], y: Option<&[f64]>) -> Result<usize> {
        let n = self.n_features;
        if !x.len().is_multiple_of(n) {
            return Err(Error::invalid_arg("x", format!("length {} is not a multiple of nFeatures {n}", x.len())));
        }
        let rows = x.len() / n;
        if let Some(y) = y {
            if y.len() != rows {
                return Err(Error::invalid_arg("y", format!("has {} labels for {rows} rows", y.len())));
            }
        }
        let multinomial = matches!(self.est, Est::MultinomialNb(_));
        // Branch-free per block (vectorises); the offending row is found only after a hit.
        let bad = |v: &f64| v.abs() == f64::INFINITY || (multinomial && *v < 0.0);
        let hit = x.chunks(64).any(|b| b.iter().fold(false, |acc, v| acc | bad(v)));
        if hit {
            if let Some(i) = x.iter().position(bad) {
                let r = i / n;
                self.check_row(&x[r * n..(r + 1) * n], Some(r))?;
            }
        }
        if let Some(y) = y {
            let (task, outputs) = (self.task(), self.mlp_outputs());
            for (r, &v) in y.iter().enumerate() {
                Self::check_label_for(task, outputs, v, Some(r))?;
            }
        }
        Ok(rows)
    }

    /// Scales `x` into the scratch buffer (if a scaler is configured) and returns the row to use.
    #[inline]
    fn prepared<'a>(scaler: &Option<StandardScaler>, scratch: &'a mut [f64], x: &'a [f64]) -> &'a [f64] {
        match scaler {
            Some(s) => {
                s.transform(x, scratch);
                scratch
            }
            None => x,
        }
    }

    fn learn_unchecked(&mut self, x: &[f64], y: f64) {
        if let Some(s) = self.scaler.as_mut() {
            s.learn(x);
        }
        let row = Self::prepared(&self.scaler, &mut self.scratch, x);
        match &mut self.est {
            Est::Linear(m) | Est::Logistic(m) => m.learn(row, y, 1.0),
            Est::GaussianNb(m) => m.learn(row, y),
            Est::MultinomialNb(m) => m.learn(row, y),
            Est::Tree(m) => m.learn(row, y, 1.0),
            Est::AdaptiveTree(m) => m.learn(row, y),
            Est::Hst(m) => m.learn(row),
            Est::Mlp(m) => m.learn(row, y),
        }
        self.learnt += 1;
    }

    fn infer(&mut self, x: &[f64]) -> Inference {
        let row = Self::prepared(&self.scaler, &mut self.scratch, x);
        let from = |p: Proba| {
            let p1 = if p.iter().all(|e| e.0 == 0.0 || e.0 == 1.0) { p.iter().find(|e| e.0 == 1.0).map_or(0.0, |e| e.1) } else { f64::NAN };
            Inference { pred: argmax(&p), p1, proba: Some(p) }
        };
        match &self.est {
            Est::Linear(m) => Inference { pred: m.mean(row), proba: None, p1: f64::NAN },
            Est::Logistic(m) => {
                let p = m.mean(row);
                // River: max({False: 1 - p, True: p}) keeps False on ties.
                Inference { pred: if p > 1.0 - p { 1.0 } else { 0.0 }, proba: None, p1: p }
            }
            Est::GaussianNb(m) => from(m.proba(row)),
            Est::MultinomialNb(m) => from(m.proba(row)),
            Est::Tree(m) => from(m.proba(row)),
            Est::AdaptiveTree(m) => from(m.proba(row)),
            Est::Hst(m) => Inference { pred: m.score(row), proba: None, p1: f64::NAN },
            Est::Mlp(m) if m.is_regression() => Inference { pred: m.predict_value(row), proba: None, p1: f64::NAN },
            Est::Mlp(m) => from(m.proba(row)),
        }
    }

    pub fn learn_one(&mut self, x: &[f64], y: f64) -> Result<()> {
        self.check_row(x, None)?;
        self.check_label(y, None)?;
        self.learn_unchecked(x, y);
        Ok(())
    }

    /// Class label (NaN before any class was seen), regression value, or anomaly score.
    pub fn predict_one(&mut self, x: &[f64]) -> Result<f64> {
        self.check_row(x, None)?;
        Ok(self.infer(x).pred)
    }

    /// Probabilities over `classes()` (sorted), zeros for classes the estimator has no opinion on.
    pub fn proba_one(&mut self, x: &[f64]) -> Result<Vec<f64>> {
        self.check_row(x, None)?;
        let classes = self.classes();
        Ok(self.proba_row(x, &classes))
    }

    fn proba_row(&mut self, x: &[f64], classes: &[f64]) -> Vec<f64> {
        let inf = self.infer(x);
        match inf.proba {
            Some(p) => classes.iter().map(|c| p.iter().find(|e| e.0 == *c).map_or(0.0, |e| e.1)).collect(),
            None if self.task() == Task::Binary => vec![1.0 - inf.p1, inf.p1],
            None => Vec::new(),
        }
    }

    pub fn learn_many(&mut self, x: &[f64], y: &[f64]) -> Result<()> {
        let rows = self.check_batch(x, Some(y))?;
        let n = self.n_features;
        for r in 0..rows {
            self.learn_unchecked(&x[r * n..(r + 1) * n], y[r]);
        }
        Ok(())
    }

    /// As `learn_many`, each step scaled by `w[i]` (importance weighting).
    pub fn learn_weighted_many(&mut self, x: &[f64], y: &[f64], w: &[f64]) -> Result<()> {
        let rows = self.check_batch(x, Some(y))?;
        if w.len() != rows {
            return Err(Error::invalid_arg("weights", format!("has {} weights for {rows} rows", w.len())));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::invalid_arg(&format!("weights[{i}]"), "must be a finite number >= 0"));
        }
        if !matches!(self.est, Est::Linear(_) | Est::Logistic(_) | Est::Tree(_) | Est::Mlp(_)) {
            return Err(Error::invalid_arg("weights", format!("{} does not take sample weights", self.kind)));
        }
        let n = self.n_features;
        for r in 0..rows {
            let x = &x[r * n..(r + 1) * n];
            if let Some(s) = self.scaler.as_mut() {
                s.learn(x);
            }
            let row = Self::prepared(&self.scaler, &mut self.scratch, x);
            match &mut self.est {
                Est::Linear(m) | Est::Logistic(m) => m.learn(row, y[r], w[r]),
                Est::Tree(m) => m.learn(row, y[r], w[r]),
                Est::Mlp(m) => m.learn_weighted(row, y[r], w[r]),
                _ => unreachable!("checked above"),
            }
            self.learnt += 1;
        }
        Ok(())
    }

    pub fn predict_many(&mut self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let rows = self.check_batch(x, None)?;
        if out.len() != rows {
            return Err(Error::invalid_arg("out", format!("has length {}, expected {rows}", out.len())));
        }
        let n = self.n_features;
        for r in 0..rows {
            out[r] = self.infer(&x[r * n..(r + 1) * n]).pred;
        }
        Ok(())
    }

    /// Row-major `rows x classes().len()` probabilities and the class order.
    pub fn proba_many(&mut self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let rows = self.check_batch(x, None)?;
        let classes = self.classes();
        let n = self.n_features;
        let mut out = Vec::with_capacity(rows * classes.len());
        for r in 0..rows {
            out.extend(self.proba_row(&x[r * n..(r + 1) * n], &classes));
        }
        Ok((classes, out))
    }

    /// Test-then-train over a batch: `out[i]` is the prediction for row i made before learning it.
    /// With `window` the model's running metrics are updated too (created on first use).
    pub fn prequential(&mut self, x: &[f64], y: &[f64], out: &mut [f64], metrics: Option<Option<usize>>) -> Result<()> {
        let rows = self.check_batch(x, Some(y))?;
        if out.len() != rows {
            return Err(Error::invalid_arg("out", format!("has length {}, expected {rows}", out.len())));
        }
        let n = self.n_features;
        let classification = matches!(self.task(), Task::Classification | Task::Binary);
        if let Some(w) = metrics {
            if self.metrics.is_none() {
                self.metrics = Some(Metrics::new(classification, w));
            }
        }
        if self.scaler.is_none() && metrics.is_none() {
            if let Est::Linear(m) | Est::Logistic(m) = &mut self.est {
                Self::prequential_glm(m, x, y, out, n);
                self.learnt += rows as u64;
                return Ok(());
            }
        }
        for r in 0..rows {
            let row = &x[r * n..(r + 1) * n];
            let inf = self.infer(row);
            out[r] = inf.pred;
            if let (Some(m), true) = (self.metrics.as_mut(), metrics.is_some()) {
                let yr = y[r];
                let p_true = match &inf.proba {
                    Some(p) => p.iter().find(|e| e.0 == yr).map_or(0.0, |e| e.1),
                    None if yr == 1.0 => inf.p1,
                    None => 1.0 - inf.p1,
                };
                m.update(yr, inf.pred, p_true, inf.p1);
            }
            self.learn_unchecked(row, y[r]);
        }
        Ok(())
    }

    /// The linear models' test-then-train loop: one dot product per row serves the prediction
    /// and the step (both read the weights before the step), so the result is exactly that of
    /// `infer` then `learn_unchecked`.
    fn prequential_glm(m: &mut Glm, x: &[f64], y: &[f64], out: &mut [f64], n: usize) {
        let logistic = m.is_logistic();
        for ((row, &yr), o) in x.chunks_exact(n).zip(y).zip(out.iter_mut()) {
            let raw = m.raw(row);
            *o = if logistic {
                let p = m.mean_of_raw(raw);
                // As in `infer`: River keeps False on ties.
                if p > 1.0 - p {
                    1.0
                } else {
                    0.0
                }
            } else {
                raw
            };
            m.learn_from_raw(row, yr, 1.0, raw);
        }
    }

    pub fn metrics(&self) -> Value {
        self.metrics.as_ref().map_or(Value::Null, |m| m.report())
    }
    pub fn reset_metrics(&mut self) {
        self.metrics = None;
    }

    pub fn inspect(&self) -> Value {
        let est = match &self.est {
            Est::Linear(m) | Est::Logistic(m) => m.inspect(),
            Est::GaussianNb(m) => m.inspect(),
            Est::MultinomialNb(m) => m.inspect(),
            Est::Tree(m) => m.summary(),
            Est::AdaptiveTree(m) => m.summary(),
            Est::Hst(_) => json!({}),
            Est::Mlp(m) => m.inspect(),
        };
        json!({
            "kind": self.kind,
            "nFeatures": self.n_features,
            "featureNames": if self.feature_names.is_empty() { Value::Null } else { json!(self.feature_names) },
            "scaled": self.scaler.is_some(),
            "samplesLearnt": self.learnt,
            "classes": self.classes(),
            "formatVersion": codec::FORMAT_VERSION,
            "state": est,
        })
    }

    /// Reptile meta-training over a set of tasks sent back to back: task `t` is rows
    /// `ends[t-1]..ends[t]` of `x`/`y`. Each of `iterations` draws a task at random (`seed`),
    /// takes `inner_steps` SGD passes over it and moves the initialisation `epsilon` of the way
    /// to the result. MLP models only; the whole input is checked before anything is learnt.
    pub fn meta_train(&mut self, x: &[f64], y: &[f64], ends: &[u32], opts: &MetaTrainSpec) -> Result<()> {
        self.mlp_mut().ok_or_else(|| Error::invalid_arg("model", "meta-training (Reptile) needs an mlp model"))?;
        if self.scaler.is_some() {
            // Reptile steps the network directly; a scaler would see the tasks in a different order.
            return Err(Error::invalid_arg("model", "meta-training (Reptile) needs a model without `scale`"));
        }
        let rows = self.check_batch(x, Some(y))?;
        if ends.is_empty() {
            return Err(Error::invalid_arg("tasks", "needs at least one task"));
        }
        let mut start = 0usize;
        for (t, &e) in ends.iter().enumerate() {
            let e = e as usize;
            if e <= start || e > rows {
                return Err(Error::invalid_arg(&format!("tasks[{t}]"), "is empty or its rows run past the data"));
            }
            start = e;
        }
        if start != rows {
            return Err(Error::invalid_arg("tasks", format!("cover {start} of the {rows} rows")));
        }
        if opts.iterations == 0 || opts.inner_steps == 0 {
            return Err(Error::invalid_arg("opts", "iterations and innerSteps must be >= 1"));
        }
        if !(opts.epsilon > 0.0 && opts.epsilon <= 1.0) {
            return Err(Error::invalid_arg("opts.epsilon", "must be in (0, 1]"));
        }
        let n = self.n_features;
        let mlp = self.mlp_mut().expect("checked above");
        crate::domain::reptile(
            mlp,
            opts.iterations,
            opts.inner_steps,
            opts.epsilon,
            |rng| {
                let t = rng.below(ends.len());
                let (a, b) = (if t == 0 { 0 } else { ends[t - 1] as usize }, ends[t] as usize);
                (x[a * n..b * n].to_vec(), y[a..b].to_vec())
            },
            opts.seed,
        )?;
        self.learnt += (opts.iterations * opts.inner_steps) as u64;
        Ok(())
    }

    /// Few-shot adaptation: `steps` passes of `learn_many` over (x, y).
    pub fn adapt(&mut self, x: &[f64], y: &[f64], steps: usize) -> Result<()> {
        self.check_batch(x, Some(y))?;
        for _ in 0..steps {
            self.learn_many(x, y)?;
        }
        Ok(())
    }

    /// Access to the MLP for the cross-domain helpers.
    pub fn mlp_mut(&mut self) -> Option<&mut Mlp> {
        match &mut self.est {
            Est::Mlp(m) => Some(m),
            _ => None,
        }
    }

    pub fn save(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.str(&self.kind);
        e.usize(self.n_features);
        e.usize(self.feature_names.len());
        for n in &self.feature_names {
            e.str(n);
        }
        e.u64(self.learnt);
        e.bool(self.scaler.is_some());
        if let Some(s) = &self.scaler {
            s.save(&mut e);
        }
        let tag = match &self.est {
            Est::Linear(m) | Est::Logistic(m) => {
                m.save(&mut e);
                0
            }
            Est::GaussianNb(m) => {
                m.save(&mut e);
                1
            }
            Est::MultinomialNb(m) => {
                m.save(&mut e);
                2
            }
            Est::Tree(m) => {
                m.save(&mut e);
                3
            }
            Est::AdaptiveTree(m) => {
                m.save(&mut e);
                4
            }
            Est::Hst(m) => {
                m.save(&mut e);
                5
            }
            Est::Mlp(m) => {
                m.save(&mut e);
                6
            }
        };
        codec::seal(tag, &e.buf)
    }

    pub fn load(bytes: &[u8]) -> Result<Self> {
        let (tag, payload) = codec::open(bytes)?;
        let mut d = Dec::new(payload);
        let kind = d.str()?;
        let n_features = d.usize()?;
        let bad = |what: &str| Error::invalid_arg("bytes", format!("model file is malformed ({what})"));
        if !KINDS.contains(&kind.as_str()) {
            return Err(bad("unknown model kind"));
        }
        if n_features == 0 || n_features > 1 << 24 {
            return Err(bad("feature count"));
        }
        let k = d.usize()?;
        let feature_names = (0..k).map(|_| d.str()).collect::<Result<Vec<_>>>()?;
        let learnt = d.u64()?;
        let scaler = if d.bool()? { Some(StandardScaler::load(&mut d)?) } else { None };
        let est = match (tag, kind.as_str()) {
            (0, "linear-regression") => Est::Linear(Glm::load(&mut d)?),
            (0, "logistic-regression") => Est::Logistic(Glm::load(&mut d)?),
            (1, "gaussian-nb") => Est::GaussianNb(GaussianNb::load(&mut d)?),
            (2, "multinomial-nb") => Est::MultinomialNb(MultinomialNb::load(&mut d)?),
            (3, "hoeffding-tree") => Est::Tree(HoeffdingTree::load(&mut d)?),
            (4, "adaptive-hoeffding-tree") => Est::AdaptiveTree(AdaptiveTree::load(&mut d)?),
            (5, "half-space-trees") => Est::Hst(HalfSpaceTrees::load(&mut d, n_features)?),
            (6, "mlp") => Est::Mlp(Mlp::load(&mut d)?),
            _ => return Err(bad("kind and payload disagree")),
        };
        d.done()?;
        let m = Self { kind, n_features, feature_names, scaler, est, scratch: vec![0.0; n_features], learnt, metrics: None };
        if m.state_width() != Some(n_features) && m.state_width().is_some() {
            return Err(bad("state width differs from the feature count"));
        }
        if m.scaler.as_ref().is_some_and(|s| s.means().len() != n_features) {
            return Err(bad("scaler width"));
        }
        Ok(m)
    }

    /// The feature count the estimator's state was built for, where it has one.
    fn state_width(&self) -> Option<usize> {
        match &self.est {
            Est::Linear(m) | Est::Logistic(m) => Some(m.weights.len()),
            Est::Mlp(m) => Some(m.n_inputs()),
            Est::GaussianNb(m) => Some(m.n_features()),
            Est::MultinomialNb(m) => Some(m.n_features()),
            Est::Tree(m) => Some(m.n_features()),
            Est::AdaptiveTree(m) => Some(m.n_features()),
            Est::Hst(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Rng;

    /// The fused test-then-train loop of the linear models gives bit-identical predictions and
    /// weights to predicting then learning one row at a time (NaN features included).
    #[test]
    fn fused_prequential_equals_one_at_a_time() {
        for spec in [
            r#"{"kind":"logistic-regression","nFeatures":5}"#,
            r#"{"kind":"logistic-regression","nFeatures":5,"params":{"optimizer":{"type":"adam"},"l2":0.01}}"#,
            r#"{"kind":"linear-regression","nFeatures":5,"params":{"l1":0.001}}"#,
        ] {
            let mut rng = Rng::new(3);
            let rows = 2000;
            let x: Vec<f64> = (0..rows * 5).map(|i| if i % 17 == 0 { f64::NAN } else { rng.normal() }).collect();
            let y: Vec<f64> = (0..rows).map(|r| if x[r * 5 + 1] + 0.3 * x[r * 5 + 2] > 0.0 { 1.0 } else { 0.0 }).collect();
            let (mut fused, mut single) = (Model::from_spec(spec).unwrap(), Model::from_spec(spec).unwrap());
            let mut out = vec![0.0; rows];
            fused.prequential(&x, &y, &mut out, None).unwrap();
            for r in 0..rows {
                let row = &x[r * 5..(r + 1) * 5];
                assert_eq!(single.predict_one(row).unwrap().to_bits(), out[r].to_bits(), "{spec} row {r}");
                single.learn_one(row, y[r]).unwrap();
            }
            assert_eq!(fused.save(), single.save(), "{spec}");
        }
    }

    #[test]
    fn a_bad_batch_names_the_cell_and_changes_nothing() {
        let mut m = Model::from_spec(r#"{"kind":"logistic-regression","nFeatures":3}"#).unwrap();
        let before = m.save();
        let mut x = vec![0.5; 300];
        x[200] = f64::NEG_INFINITY;
        let e = m.learn_many(&x, &[1.0; 100]).unwrap_err();
        assert!(e.message.starts_with("x[66][2]:"), "{}", e.message);
        x[200] = 0.0;
        let mut y = vec![1.0; 100];
        y[42] = 2.0;
        let e = m.learn_many(&x, &y).unwrap_err();
        assert!(e.message.starts_with("y[42]:"), "{}", e.message);
        assert_eq!(m.save(), before);
    }
}
