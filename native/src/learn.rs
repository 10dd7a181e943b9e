//! Bindings for `omnitide-learn`: models, drift detectors and the domain-adaptation helpers.
//! Rows cross as Float64Arrays (row-major for batches); one call per batch.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_learn::{domain, preprocess, Detector, Model};

use crate::error::guard;

#[napi]
pub struct LearnModel {
    inner: Model,
}

#[napi]
impl LearnModel {
    /// `spec` is JSON: `{ kind, nFeatures, params?, scale?, featureNames? }`.
    #[napi(constructor)]
    pub fn new(spec: String) -> Result<Self> {
        guard(|| Ok(Self { inner: Model::from_spec(&spec)? }))
    }

    /// Restores a model written by `save` (checks magic, version, length and checksum).
    #[napi(factory)]
    pub fn load(bytes: &[u8]) -> Result<Self> {
        guard(|| Ok(Self { inner: Model::load(bytes)? }))
    }

    #[napi]
    pub fn save(&self) -> Result<Uint8Array> {
        Ok(Uint8Array::new(guard(|| Ok(self.inner.save()))?))
    }

    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.inner.kind().to_string()
    }

    #[napi(getter)]
    pub fn n_features(&self) -> u32 {
        self.inner.n_features() as u32
    }

    /// 'classification' | 'binary' | 'regression' | 'anomaly'.
    #[napi(getter)]
    pub fn task(&self) -> String {
        format!("{:?}", self.inner.task()).to_lowercase()
    }

    #[napi]
    pub fn classes(&self) -> Result<Vec<f64>> {
        guard(|| Ok(self.inner.classes()))
    }

    #[napi]
    pub fn learn_one(&mut self, x: &[f64], y: f64) -> Result<()> {
        guard(|| self.inner.learn_one(x, y))
    }

    #[napi]
    pub fn predict_one(&mut self, x: &[f64]) -> Result<f64> {
        guard(|| self.inner.predict_one(x))
    }

    #[napi]
    pub fn proba_one(&mut self, x: &[f64]) -> Result<Float64Array> {
        Ok(Float64Array::new(guard(|| self.inner.proba_one(x))?))
    }

    #[napi]
    pub fn learn_many(&mut self, x: &[f64], y: &[f64]) -> Result<()> {
        guard(|| self.inner.learn_many(x, y))
    }

    #[napi]
    pub fn predict_many(&mut self, x: &[f64], mut out: Float64Array) -> Result<()> {
        // SAFETY: `out` is a JS-owned buffer alive for this synchronous call; nothing else
        // touches it meanwhile, and it does not alias `x` (the TS layer allocates it).
        let out = unsafe { out.as_mut() };
        guard(|| self.inner.predict_many(x, out))
    }

    /// Row-major probabilities over `classes()`.
    #[napi]
    pub fn proba_many(&mut self, x: &[f64]) -> Result<Float64Array> {
        Ok(Float64Array::new(guard(|| self.inner.proba_many(x))?.1))
    }

    /// Test-then-train: `out[i]` is the prediction for row i made before learning it. With
    /// `window` set (0 = cumulative) the model's running metrics are updated as well.
    #[napi]
    pub fn prequential(&mut self, x: &[f64], y: &[f64], mut out: Float64Array, window: Option<u32>) -> Result<()> {
        // SAFETY: as in `predict_many`.
        let out = unsafe { out.as_mut() };
        let metrics = window.map(|w| if w == 0 { None } else { Some(w as usize) });
        guard(|| self.inner.prequential(x, y, out, metrics))
    }

    /// Running metrics as JSON (`null` before `prequential` was called with a window).
    #[napi]
    pub fn metrics(&self) -> Result<String> {
        guard(|| Ok(self.inner.metrics().to_string()))
    }

    #[napi]
    pub fn reset_metrics(&mut self) {
        self.inner.reset_metrics();
    }

    #[napi]
    pub fn inspect(&self) -> Result<String> {
        guard(|| Ok(self.inner.inspect().to_string()))
    }

    /// MLP only: selects the output head (multi-task).
    #[napi]
    pub fn set_task(&mut self, task: u32) -> Result<()> {
        guard(|| self.mlp()?.set_task(task as usize))
    }

    /// MLP only: train the heads only (transfer: fine-tune the head).
    #[napi]
    pub fn freeze_trunk(&mut self, on: bool) -> Result<()> {
        guard(|| {
            self.mlp()?.set_freeze_trunk(on);
            Ok(())
        })
    }

    /// MLP only: re-initialises the active head.
    #[napi]
    pub fn reset_head(&mut self) -> Result<()> {
        guard(|| {
            self.mlp()?.reset_head();
            Ok(())
        })
    }

    /// MLP only: EWC task boundary over a sample of the finished task.
    #[napi]
    pub fn consolidate(&mut self, x: &[f64], y: &[f64]) -> Result<()> {
        guard(|| self.mlp()?.consolidate(x, y))
    }

    /// One online step per row scaled by `weights[i]` (importance weighting); linear models,
    /// Hoeffding trees and MLPs.
    #[napi]
    pub fn learn_weighted_many(&mut self, x: &[f64], y: &[f64], weights: &[f64]) -> Result<()> {
        guard(|| self.inner.learn_weighted_many(x, y, weights))
    }

    fn mlp(&mut self) -> omnitide_common::Result<&mut omnitide_learn::mlp::Mlp> {
        self.inner.mlp_mut().ok_or_else(|| omnitide_common::Error::invalid_arg("model", "this operation needs an mlp model"))
    }
}

#[napi]
pub struct LearnDetector {
    inner: Detector,
}

#[napi]
impl LearnDetector {
    #[napi(constructor)]
    pub fn new(kind: String, params: String) -> Result<Self> {
        guard(|| Ok(Self { inner: Detector::from_json(&kind, &params)? }))
    }
    #[napi]
    pub fn update(&mut self, x: f64) -> Result<bool> {
        guard(|| self.inner.update(x))
    }
    /// Indices (into `values`) where drift was flagged.
    #[napi]
    pub fn update_many(&mut self, values: &[f64]) -> Result<Uint32Array> {
        Ok(Uint32Array::new(guard(|| self.inner.update_many(values))?))
    }
    #[napi(getter)]
    pub fn drift(&self) -> bool {
        self.inner.drift()
    }
    #[napi(getter)]
    pub fn warning(&self) -> bool {
        self.inner.warning()
    }
    #[napi]
    pub fn state(&self) -> Result<String> {
        guard(|| Ok(self.inner.state().to_string()))
    }
}

#[napi]
pub struct LearnCoral {
    inner: domain::Coral,
}

#[napi]
impl LearnCoral {
    /// Fits the CORAL map from `source` to `target` (row-major, `nFeatures` columns).
    #[napi(constructor)]
    pub fn new(source: &[f64], target: &[f64], n_features: u32) -> Result<Self> {
        guard(|| Ok(Self { inner: domain::Coral::fit(source, target, n_features as usize)? }))
    }
    #[napi]
    pub fn transform(&self, x: &[f64]) -> Result<Float64Array> {
        Ok(Float64Array::new(guard(|| self.inner.transform(x))?))
    }
}

/// Importance weights of source rows from a logistic domain classifier.
#[napi]
pub fn learn_importance_weights(
    source: &[f64],
    target: &[f64],
    n_features: u32,
    epochs: u32,
    clip: f64,
    seed: u32,
) -> Result<Float64Array> {
    Ok(Float64Array::new(guard(|| domain::importance_weights(source, target, n_features as usize, epochs as usize, clip, seed as u64))?))
}

/// Signed feature hashing of `tokens[i]` with `values[i]` into `n` buckets.
#[napi]
pub fn learn_hash_features(tokens: Vec<String>, values: &[f64], n: u32) -> Result<Float64Array> {
    let out = guard(|| {
        if tokens.len() != values.len() {
            return Err(omnitide_common::Error::invalid_arg("values", "needs one value per token"));
        }
        let pairs: Vec<(&str, f64)> = tokens.iter().map(String::as_str).zip(values.iter().copied()).collect();
        let mut out = vec![0.0; n as usize];
        preprocess::hash_features(&pairs, n as usize, &mut out)?;
        Ok(out)
    })?;
    Ok(Float64Array::new(out))
}
