//! Bindings for `omnitide-learn`: models, drift detectors and the domain-adaptation helpers.
//! Rows cross as Float64Arrays (row-major for batches); one call per batch.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::{code, Error};
use omnitide_learn::{domain, preprocess, Detector, MetaTrainSpec, Model};

use crate::error::guard;
use crate::task;

/// The model sits behind a mutex so a batch can run on the libuv pool (`*Async`) while the JS
/// object stays usable. The rule: while an async call holds the model, every synchronous call
/// fails fast with `ERR_OMNI_BUSY` (it never waits and never blocks the event loop); async calls
/// wait for one another on the pool (the TS layer also queues them in call order).
#[napi]
pub struct LearnModel {
    inner: Arc<Mutex<Model>>,
}

fn busy() -> Error {
    Error::new(code::BUSY, "model: an asynchronous call (learnManyAsync, predictManyAsync, prequentialAsync, metaTrainAsync) is still running on it; await it first")
}
fn poisoned() -> Error {
    Error::internal("model: an earlier call panicked while holding it; its state is unknown")
}

/// Waits for the model on a pool thread.
fn lock(m: &Mutex<Model>) -> omnitide_common::Result<MutexGuard<'_, Model>> {
    m.lock().map_err(|_| poisoned())
}

impl LearnModel {
    fn new_inner(m: Model) -> Self {
        Self { inner: Arc::new(Mutex::new(m)) }
    }
    /// Runs `f` on the model now, or fails with ERR_OMNI_BUSY while an async call holds it.
    fn with<T>(&self, f: impl FnOnce(&mut Model) -> omnitide_common::Result<T>) -> Result<T> {
        guard(|| match self.inner.try_lock() {
            Ok(mut m) => f(&mut m),
            Err(TryLockError::WouldBlock) => Err(busy()),
            Err(TryLockError::Poisoned(_)) => Err(poisoned()),
        })
    }
    fn mlp(m: &mut Model) -> omnitide_common::Result<&mut omnitide_learn::mlp::Mlp> {
        m.mlp_mut().ok_or_else(|| Error::invalid_arg("model", "this operation needs an mlp model"))
    }
}

#[napi]
impl LearnModel {
    /// `spec` is JSON: `{ kind, nFeatures, params?, scale?, featureNames? }`.
    #[napi(constructor)]
    pub fn new(spec: String) -> Result<Self> {
        guard(|| Ok(Self::new_inner(Model::from_spec(&spec)?)))
    }

    /// Restores a model written by `save` (checks magic, version, length and checksum).
    #[napi(factory)]
    pub fn load(bytes: &[u8]) -> Result<Self> {
        guard(|| Ok(Self::new_inner(Model::load(bytes)?)))
    }

    #[napi]
    pub fn save(&self) -> Result<Uint8Array> {
        Ok(Uint8Array::new(self.with(|m| Ok(m.save()))?))
    }

    #[napi(getter)]
    pub fn kind(&self) -> Result<String> {
        self.with(|m| Ok(m.kind().to_string()))
    }

    #[napi(getter)]
    pub fn n_features(&self) -> Result<u32> {
        self.with(|m| Ok(m.n_features() as u32))
    }

    /// 'classification' | 'binary' | 'regression' | 'anomaly'.
    #[napi(getter)]
    pub fn task(&self) -> Result<String> {
        self.with(|m| Ok(format!("{:?}", m.task()).to_lowercase()))
    }

    #[napi]
    pub fn classes(&self) -> Result<Vec<f64>> {
        self.with(|m| Ok(m.classes()))
    }

    #[napi]
    pub fn learn_one(&self, x: &[f64], y: f64) -> Result<()> {
        self.with(|m| m.learn_one(x, y))
    }

    #[napi]
    pub fn predict_one(&self, x: &[f64]) -> Result<f64> {
        self.with(|m| m.predict_one(x))
    }

    #[napi]
    pub fn proba_one(&self, x: &[f64]) -> Result<Float64Array> {
        Ok(Float64Array::new(self.with(|m| m.proba_one(x))?))
    }

    #[napi]
    pub fn learn_many(&self, x: &[f64], y: &[f64]) -> Result<()> {
        self.with(|m| m.learn_many(x, y))
    }

    /// `learnMany` on the libuv pool. The rows are copied first, so the caller may reuse its
    /// arrays at once.
    #[napi]
    pub fn learn_many_async<'e>(&self, env: &'e Env, x: &[f64], y: &[f64]) -> Result<PromiseRaw<'e, ()>> {
        let (model, x, y) = (self.inner.clone(), x.to_vec(), y.to_vec());
        task::spawn(env, move || lock(&model)?.learn_many(&x, &y), std::convert::identity)
    }

    #[napi]
    pub fn predict_many(&self, x: &[f64], mut out: Float64Array) -> Result<()> {
        // SAFETY: `out` is a JS-owned buffer alive for this synchronous call; nothing else
        // touches it meanwhile, and it does not alias `x` (the TS layer allocates it).
        let out = unsafe { out.as_mut() };
        self.with(|m| m.predict_many(x, out))
    }

    /// `predictMany` on the libuv pool; resolves with one prediction per row.
    #[napi]
    pub fn predict_many_async<'e>(&self, env: &'e Env, x: &[f64]) -> Result<PromiseRaw<'e, Float64Array>> {
        let (model, x) = (self.inner.clone(), x.to_vec());
        task::spawn(
            env,
            move || {
                let mut m = lock(&model)?;
                let mut out = vec![0.0; x.len() / m.n_features()];
                m.predict_many(&x, &mut out)?;
                Ok(out)
            },
            Float64Array::new,
        )
    }

    /// Row-major probabilities over `classes()`.
    #[napi]
    pub fn proba_many(&self, x: &[f64]) -> Result<Float64Array> {
        Ok(Float64Array::new(self.with(|m| m.proba_many(x))?.1))
    }

    /// Test-then-train: `out[i]` is the prediction for row i made before learning it. With
    /// `window` set (0 = cumulative) the model's running metrics are updated as well.
    #[napi]
    pub fn prequential(&self, x: &[f64], y: &[f64], mut out: Float64Array, window: Option<u32>) -> Result<()> {
        // SAFETY: as in `predict_many`.
        let out = unsafe { out.as_mut() };
        let metrics = window.map(|w| if w == 0 { None } else { Some(w as usize) });
        self.with(|m| m.prequential(x, y, out, metrics))
    }

    /// `prequential` on the libuv pool; resolves with the predictions.
    #[napi]
    pub fn prequential_async<'e>(&self, env: &'e Env, x: &[f64], y: &[f64], window: Option<u32>) -> Result<PromiseRaw<'e, Float64Array>> {
        let (model, x, y) = (self.inner.clone(), x.to_vec(), y.to_vec());
        let metrics = window.map(|w| if w == 0 { None } else { Some(w as usize) });
        task::spawn(
            env,
            move || {
                let mut out = vec![0.0; y.len()];
                lock(&model)?.prequential(&x, &y, &mut out, metrics)?;
                Ok(out)
            },
            Float64Array::new,
        )
    }

    /// Reptile meta-training (MLP) on the libuv pool. Task `t` is rows `ends[t-1]..ends[t]`
    /// of `x`/`y`; `opts` is JSON `{ iterations, innerSteps?, epsilon?, seed? }`.
    #[napi]
    pub fn meta_train_async<'e>(&self, env: &'e Env, x: &[f64], y: &[f64], ends: &[u32], opts: String) -> Result<PromiseRaw<'e, ()>> {
        let spec: MetaTrainSpec = guard(|| serde_json::from_str(&opts).map_err(|e| Error::invalid_arg("opts", e.to_string())))?;
        let (model, x, y, ends) = (self.inner.clone(), x.to_vec(), y.to_vec(), ends.to_vec());
        task::spawn(env, move || lock(&model)?.meta_train(&x, &y, &ends, &spec), std::convert::identity)
    }

    /// Few-shot adaptation: `steps` passes of `learnMany` over (x, y).
    #[napi]
    pub fn adapt(&self, x: &[f64], y: &[f64], steps: u32) -> Result<()> {
        self.with(|m| m.adapt(x, y, steps as usize))
    }

    /// Running metrics as JSON (`null` before `prequential` was called with a window).
    #[napi]
    pub fn metrics(&self) -> Result<String> {
        self.with(|m| Ok(m.metrics().to_string()))
    }

    #[napi]
    pub fn reset_metrics(&self) -> Result<()> {
        self.with(|m| {
            m.reset_metrics();
            Ok(())
        })
    }

    #[napi]
    pub fn inspect(&self) -> Result<String> {
        self.with(|m| Ok(m.inspect().to_string()))
    }

    /// MLP only: selects the output head (multi-task).
    #[napi]
    pub fn set_task(&self, task: u32) -> Result<()> {
        self.with(|m| Self::mlp(m)?.set_task(task as usize))
    }

    /// MLP only: train the heads only (transfer: fine-tune the head).
    #[napi]
    pub fn freeze_trunk(&self, on: bool) -> Result<()> {
        self.with(|m| {
            Self::mlp(m)?.set_freeze_trunk(on);
            Ok(())
        })
    }

    /// MLP only: re-initialises the active head.
    #[napi]
    pub fn reset_head(&self) -> Result<()> {
        self.with(|m| {
            Self::mlp(m)?.reset_head();
            Ok(())
        })
    }

    /// MLP only: EWC task boundary over a sample of the finished task.
    #[napi]
    pub fn consolidate(&self, x: &[f64], y: &[f64]) -> Result<()> {
        self.with(|m| Self::mlp(m)?.consolidate(x, y))
    }

    /// One online step per row scaled by `weights[i]` (importance weighting); linear models,
    /// Hoeffding trees and MLPs.
    #[napi]
    pub fn learn_weighted_many(&self, x: &[f64], y: &[f64], weights: &[f64]) -> Result<()> {
        self.with(|m| m.learn_weighted_many(x, y, weights))
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
            return Err(Error::invalid_arg("values", "needs one value per token"));
        }
        let pairs: Vec<(&str, f64)> = tokens.iter().map(String::as_str).zip(values.iter().copied()).collect();
        let mut out = vec![0.0; n as usize];
        preprocess::hash_features(&pairs, n as usize, &mut out)?;
        Ok(out)
    })?;
    Ok(Float64Array::new(out))
}
