//! Online generalised linear models: `LinearRegression` and `LogisticRegression` with River's
//! semantics (`river.linear_model`): one SGD/Adam step per sample on the weights, the intercept
//! updated separately with its own constant learning rate, the loss gradient clipped, L2 added to
//! the gradient of the features present, L1 as Tsuruoka's cumulative penalty.
//!
//! Features are dense; a NaN feature is *missing* (as an absent key in River): it adds nothing to
//! the dot product and its weight is neither stepped nor penalised for that sample.

use crate::codec::{Dec, Enc};
use omnitide_common::{Error, Result};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    Squared,
    Log,
}

impl Loss {
    #[inline]
    fn gradient(self, y: f64, raw: f64) -> f64 {
        match self {
            Loss::Squared => 2.0 * (raw - y),
            Loss::Log => {
                let yt = if y == 0.0 { -1.0 } else { 1.0 };
                let z = raw * yt;
                if z > 18.0 {
                    (-z).exp() * -yt
                } else if z < -18.0 {
                    -yt
                } else {
                    -yt / (z.exp() + 1.0)
                }
            }
        }
    }
}

/// River's `utils.math.sigmoid`.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x < -30.0 {
        0.0
    } else if x > 30.0 {
        1.0
    } else {
        1.0 / (1.0 + (-x).exp())
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerSpec {
    Sgd {
        #[serde(default = "default_sgd_lr")]
        lr: f64,
    },
    Adam {
        #[serde(default = "default_adam_lr")]
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
    },
}
fn default_sgd_lr() -> f64 {
    0.01
}
fn default_adam_lr() -> f64 {
    0.1
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

/// Hyper-parameters; the defaults are River's.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlmSpec {
    pub optimizer: Option<OptimizerSpec>,
    #[serde(default)]
    pub l2: f64,
    #[serde(default)]
    pub l1: f64,
    #[serde(default)]
    pub intercept_init: f64,
    #[serde(default = "default_sgd_lr")]
    pub intercept_lr: f64,
    #[serde(default = "default_clip")]
    pub clip_gradient: f64,
}
fn default_clip() -> f64 {
    1e12
}

#[derive(Clone, Debug)]
enum Optimizer {
    Sgd { lr: f64 },
    Adam { lr: f64, beta1: f64, beta2: f64, eps: f64, m: Vec<f64>, v: Vec<f64> },
}

impl Optimizer {
    fn lr(&self) -> f64 {
        match self {
            Optimizer::Sgd { lr } | Optimizer::Adam { lr, .. } => *lr,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Glm {
    loss: Loss,
    opt: Optimizer,
    l2: f64,
    l1: f64,
    intercept_lr: f64,
    clip: f64,
    pub weights: Vec<f64>,
    pub intercept: f64,
    n_iterations: u64,
    max_cum_l1: f64,
    cum_l1: Vec<f64>,
    grad: Vec<f64>,
}

fn finite(arg: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::invalid_arg(arg, "must be a finite number"))
    }
}

impl Glm {
    pub fn new(loss: Loss, spec: &GlmSpec, n_features: usize) -> Result<Self> {
        for (arg, v) in [("l2", spec.l2), ("l1", spec.l1), ("interceptLr", spec.intercept_lr), ("clipGradient", spec.clip_gradient)] {
            if finite(arg, v)? < 0.0 {
                return Err(Error::invalid_arg(arg, "must be >= 0"));
            }
        }
        finite("interceptInit", spec.intercept_init)?;
        if spec.l1 != 0.0 && spec.l2 != 0.0 {
            return Err(Error::invalid_arg("l1", "l1 and l2 cannot be combined (River does not support it either)"));
        }
        let opt = match spec.optimizer.clone().unwrap_or(OptimizerSpec::Sgd { lr: 0.01 }) {
            OptimizerSpec::Sgd { lr } => {
                if !(finite("optimizer.lr", lr)? > 0.0) {
                    return Err(Error::invalid_arg("optimizer.lr", "must be > 0"));
                }
                Optimizer::Sgd { lr }
            }
            OptimizerSpec::Adam { lr, beta1, beta2, eps } => {
                if !(finite("optimizer.lr", lr)? > 0.0) {
                    return Err(Error::invalid_arg("optimizer.lr", "must be > 0"));
                }
                for (a, b) in [("optimizer.beta1", beta1), ("optimizer.beta2", beta2)] {
                    if !(0.0..1.0).contains(&finite(a, b)?) {
                        return Err(Error::invalid_arg(a, "must be in [0, 1)"));
                    }
                }
                if !(finite("optimizer.eps", eps)? > 0.0) {
                    return Err(Error::invalid_arg("optimizer.eps", "must be > 0"));
                }
                Optimizer::Adam { lr, beta1, beta2, eps, m: vec![0.0; n_features], v: vec![0.0; n_features] }
            }
        };
        Ok(Self {
            loss,
            opt,
            l2: spec.l2,
            l1: spec.l1,
            intercept_lr: spec.intercept_lr,
            clip: spec.clip_gradient,
            weights: vec![0.0; n_features],
            intercept: spec.intercept_init,
            n_iterations: 0,
            max_cum_l1: 0.0,
            cum_l1: vec![0.0; n_features],
            grad: vec![0.0; n_features],
        })
    }

    #[inline]
    pub fn raw(&self, x: &[f64]) -> f64 {
        let mut s = 0.0;
        for (w, xi) in self.weights.iter().zip(x) {
            if !xi.is_nan() {
                s += w * xi;
            }
        }
        s + self.intercept
    }

    /// Logistic: P(y = 1). Regression: the prediction.
    #[inline]
    pub fn mean(&self, x: &[f64]) -> f64 {
        self.mean_of_raw(self.raw(x))
    }

    pub fn is_logistic(&self) -> bool {
        self.loss == Loss::Log
    }

    #[inline]
    pub fn mean_of_raw(&self, r: f64) -> f64 {
        match self.loss {
            Loss::Log => sigmoid(r),
            Loss::Squared => r,
        }
    }

    pub fn learn(&mut self, x: &[f64], y: f64, w: f64) {
        self.learn_from_raw(x, y, w, self.raw(x));
    }

    /// `learn` given `raw = self.raw(x)` already computed on the current weights: test-then-train
    /// predicts with the same weights it then steps from, so one dot product serves both.
    #[inline]
    pub fn learn_from_raw(&mut self, x: &[f64], y: f64, w: f64, raw: f64) {
        let lg = (self.loss.gradient(y, raw) * w).clamp(-self.clip, self.clip);
        self.intercept -= self.intercept_lr * lg;
        match &mut self.opt {
            // Plain SGD: one fused pass (gradient and step), the hot path of the batch API.
            Optimizer::Sgd { lr } => {
                let (lr, l2) = (*lr, self.l2);
                for (wi, &xi) in self.weights.iter_mut().zip(x) {
                    if !xi.is_nan() {
                        *wi -= lr * (lg * xi + l2 * *wi);
                    }
                }
            }
            Optimizer::Adam { lr, beta1, beta2, eps, m, v } => {
                // Gradients first (L2 reads the weights before the step), then the step.
                for i in 0..x.len() {
                    let xi = x[i];
                    self.grad[i] = if xi.is_nan() { 0.0 } else { lg * xi + self.l2 * self.weights[i] };
                }
                let t = (self.n_iterations + 1) as f64;
                let mut step = *lr * (1.0 - beta2.powf(t)).powf(0.5);
                step /= 1.0 - beta1.powf(t);
                for i in 0..x.len() {
                    if x[i].is_nan() {
                        continue;
                    }
                    let g = self.grad[i];
                    m[i] = *beta1 * m[i] + (1.0 - *beta1) * g;
                    v[i] = *beta2 * v[i] + (1.0 - *beta2) * g * g;
                    self.weights[i] -= step * m[i] / (v[i].powf(0.5) + *eps);
                }
            }
        }
        self.n_iterations += 1;
        if self.l1 != 0.0 {
            self.max_cum_l1 += self.l1 * self.opt.lr();
            for j in 0..x.len() {
                if x[j].is_nan() {
                    continue;
                }
                let before = self.weights[j];
                if before > 0.0 {
                    self.weights[j] = f64::max(0.0, before - (self.max_cum_l1 + self.cum_l1[j]));
                } else if before < 0.0 {
                    self.weights[j] = f64::min(0.0, before + (self.max_cum_l1 - self.cum_l1[j]));
                }
                self.cum_l1[j] += self.weights[j] - before;
            }
        }
    }

    pub fn save(&self, e: &mut Enc) {
        e.u8(match self.loss {
            Loss::Squared => 0,
            Loss::Log => 1,
        });
        match &self.opt {
            Optimizer::Sgd { lr } => {
                e.u8(0);
                e.f64(*lr);
            }
            Optimizer::Adam { lr, beta1, beta2, eps, m, v } => {
                e.u8(1);
                e.f64(*lr);
                e.f64(*beta1);
                e.f64(*beta2);
                e.f64(*eps);
                e.f64s(m);
                e.f64s(v);
            }
        }
        for v in [self.l2, self.l1, self.intercept_lr, self.clip, self.intercept, self.max_cum_l1] {
            e.f64(v);
        }
        e.u64(self.n_iterations);
        e.f64s(&self.weights);
        e.f64s(&self.cum_l1);
    }

    pub fn load(d: &mut Dec) -> Result<Self> {
        let loss = match d.u8()? {
            0 => Loss::Squared,
            _ => Loss::Log,
        };
        let opt = match d.u8()? {
            0 => Optimizer::Sgd { lr: d.f64()? },
            _ => Optimizer::Adam { lr: d.f64()?, beta1: d.f64()?, beta2: d.f64()?, eps: d.f64()?, m: d.f64s()?, v: d.f64s()? },
        };
        let (l2, l1, intercept_lr, clip, intercept, max_cum_l1) = (d.f64()?, d.f64()?, d.f64()?, d.f64()?, d.f64()?, d.f64()?);
        let n_iterations = d.u64()?;
        let weights = d.f64s()?;
        let cum_l1 = d.f64s()?;
        let n = weights.len();
        if cum_l1.len() != n || matches!(&opt, Optimizer::Adam { m, v, .. } if m.len() != n || v.len() != n) {
            return Err(Error::invalid_arg("bytes", "model file is malformed (vector lengths disagree)"));
        }
        Ok(Self { loss, opt, l2, l1, intercept_lr, clip, weights, intercept, n_iterations, max_cum_l1, cum_l1, grad: vec![0.0; n] })
    }

    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({
            "weights": self.weights,
            "intercept": self.intercept,
            "iterations": self.n_iterations,
            "optimizer": match self.opt { Optimizer::Sgd { .. } => "sgd", Optimizer::Adam { .. } => "adam" },
            "lr": self.opt.lr(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> GlmSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn logistic_step_matches_hand_computation() {
        let mut m = Glm::new(Loss::Log, &spec("{}"), 2).unwrap();
        m.learn(&[1.0, 2.0], 1.0, 1.0);
        // raw 0 -> gradient -1/(1+1) = -0.5; weights -= 0.01 * (-0.5 * x)
        assert_eq!(m.weights, vec![0.005, 0.01]);
        assert_eq!(m.intercept, 0.005);
        assert!(m.mean(&[0.0, 0.0]) > 0.5);
    }

    #[test]
    fn nan_features_are_missing() {
        let mut m = Glm::new(Loss::Squared, &spec(r#"{"l2": 0.1}"#), 2).unwrap();
        m.learn(&[1.0, 1.0], 3.0, 1.0);
        let w1 = m.weights[1];
        m.learn(&[1.0, f64::NAN], 3.0, 1.0);
        assert_eq!(m.weights[1], w1);
        assert!(m.raw(&[f64::NAN, f64::NAN]).is_finite());
    }

    #[test]
    fn l1_drives_useless_weights_to_zero() {
        let mut m = Glm::new(Loss::Squared, &spec(r#"{"l1": 0.5}"#), 2).unwrap();
        let mut rng = crate::stats::Rng::new(1);
        for _ in 0..2000 {
            let a = rng.normal();
            let noise = rng.normal();
            m.learn(&[a, noise], 3.0 * a, 1.0);
        }
        assert_eq!(m.weights[1], 0.0);
        assert!(m.weights[0] > 1.0);
    }

    #[test]
    fn bad_hyper_parameters_are_named() {
        let e = Glm::new(Loss::Log, &spec(r#"{"l1": 1, "l2": 1}"#), 1).unwrap_err();
        assert!(e.message.starts_with("l1:"));
        let e = Glm::new(Loss::Log, &spec(r#"{"optimizer": {"type": "sgd", "lr": -1}}"#), 1).unwrap_err();
        assert!(e.message.starts_with("optimizer.lr"));
        assert!(serde_json::from_str::<GlmSpec>(r#"{"lr2": 1}"#).is_err());
    }
}
