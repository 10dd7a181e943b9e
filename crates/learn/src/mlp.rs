//! A small multi-layer perceptron trained online by backpropagation (one SGD step per sample),
//! with what the cross-domain tools need: several output heads over one shared trunk
//! (multi-task), a frozen trunk (fine-tune the head only), elastic weight consolidation and an
//! experience-replay buffer (continual learning), and raw parameter access (Reptile).
//!
//! Classification heads use softmax + cross-entropy, regression heads a linear output + squared
//! error. Weights start Glorot-uniform from our seeded generator.

use crate::classes::Proba;
use crate::codec::{Dec, Enc};
use crate::stats::Rng;
use omnitide_common::{Error, Result};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Tanh,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MlpTask {
    Classification,
    Regression,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MlpSpec {
    #[serde(default = "d_hidden")]
    pub hidden: Vec<usize>,
    /// Classes (classification) or 1 (regression).
    #[serde(default = "d_outputs")]
    pub outputs: usize,
    #[serde(default = "d_task")]
    pub task: MlpTask,
    #[serde(default = "d_lr")]
    pub lr: f64,
    #[serde(default = "d_act")]
    pub activation: Activation,
    #[serde(default)]
    pub seed: u64,
    /// Output heads over the shared trunk (multi-task); `setTask` picks the active one.
    #[serde(default = "d_heads")]
    pub heads: usize,
    /// EWC strength (0 = off); `consolidate` records the Fisher information at a task boundary.
    #[serde(default)]
    pub ewc_lambda: f64,
    /// Experience replay: buffer capacity (0 = off) and replayed samples per learnt sample.
    #[serde(default)]
    pub replay_capacity: usize,
    #[serde(default = "d_replay_k")]
    pub replay_k: usize,
}
fn d_hidden() -> Vec<usize> {
    vec![32]
}
fn d_outputs() -> usize {
    2
}
fn d_task() -> MlpTask {
    MlpTask::Classification
}
fn d_lr() -> f64 {
    0.01
}
fn d_act() -> Activation {
    Activation::Relu
}
fn d_heads() -> usize {
    1
}
fn d_replay_k() -> usize {
    1
}

#[derive(Clone, Debug)]
struct Layer {
    n_in: usize,
    n_out: usize,
    w: Vec<f64>,
    b: Vec<f64>,
}

impl Layer {
    fn new(n_in: usize, n_out: usize, rng: &mut Rng) -> Self {
        let lim = (6.0 / (n_in + n_out) as f64).sqrt();
        Self { n_in, n_out, w: (0..n_in * n_out).map(|_| rng.uniform(-lim, lim)).collect(), b: vec![0.0; n_out] }
    }
    fn forward(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        for o in 0..self.n_out {
            let row = &self.w[o * self.n_in..(o + 1) * self.n_in];
            let mut s = self.b[o];
            for (w, xi) in row.iter().zip(x) {
                if !xi.is_nan() {
                    s += w * xi;
                }
            }
            out.push(s);
        }
    }
    fn params(&self) -> usize {
        self.w.len() + self.b.len()
    }
}

#[derive(Clone, Debug)]
pub struct Mlp {
    spec: MlpSpec,
    n_inputs: usize,
    trunk: Vec<Layer>,
    heads: Vec<Layer>,
    task: usize,
    freeze_trunk: bool,
    rng: Rng,
    /// EWC: anchor parameters and (summed) Fisher diagonal, flattened like `params()`.
    ewc_anchor: Vec<f64>,
    ewc_fisher: Vec<f64>,
    replay: Vec<(Vec<f64>, f64, usize)>,
    replay_seen: u64,
}

impl Mlp {
    pub fn new(spec: &MlpSpec, n_inputs: usize) -> Result<Self> {
        if spec.hidden.is_empty() || spec.hidden.iter().any(|h| *h == 0 || *h > 4096) || spec.hidden.len() > 8 {
            return Err(Error::invalid_arg("hidden", "must list 1 to 8 layer sizes in [1, 4096]"));
        }
        if spec.outputs == 0 || spec.outputs > 4096 || (spec.task == MlpTask::Classification && spec.outputs < 2) {
            return Err(Error::invalid_arg("outputs", "must be >= 2 for classification (>= 1 for regression) and <= 4096"));
        }
        if !(spec.lr.is_finite() && spec.lr > 0.0) {
            return Err(Error::invalid_arg("lr", "must be a finite number > 0"));
        }
        if spec.heads == 0 || spec.heads > 256 {
            return Err(Error::invalid_arg("heads", "must be in [1, 256]"));
        }
        if !(spec.ewc_lambda.is_finite() && spec.ewc_lambda >= 0.0) {
            return Err(Error::invalid_arg("ewcLambda", "must be >= 0"));
        }
        let mut rng = Rng::new(spec.seed);
        let mut trunk = Vec::new();
        let mut prev = n_inputs;
        for &h in &spec.hidden {
            trunk.push(Layer::new(prev, h, &mut rng));
            prev = h;
        }
        let heads = (0..spec.heads).map(|_| Layer::new(prev, spec.outputs, &mut rng)).collect();
        Ok(Self {
            spec: spec.clone(),
            n_inputs,
            trunk,
            heads,
            task: 0,
            freeze_trunk: false,
            rng,
            ewc_anchor: Vec::new(),
            ewc_fisher: Vec::new(),
            replay: Vec::new(),
            replay_seen: 0,
        })
    }

    pub fn is_regression(&self) -> bool {
        self.spec.task == MlpTask::Regression
    }
    pub fn n_outputs(&self) -> usize {
        self.spec.outputs
    }
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    pub fn set_task(&mut self, t: usize) -> Result<()> {
        if t >= self.heads.len() {
            return Err(Error::invalid_arg("task", format!("must be below the number of heads ({})", self.heads.len())));
        }
        self.task = t;
        Ok(())
    }
    /// Transfer: train only the output heads from now on (the trunk keeps the source's features).
    pub fn set_freeze_trunk(&mut self, on: bool) {
        self.freeze_trunk = on;
    }
    /// Transfer: re-initialise the active head (a new label space on top of a learnt trunk).
    pub fn reset_head(&mut self) {
        let h = &self.heads[self.task];
        self.heads[self.task] = Layer::new(h.n_in, h.n_out, &mut self.rng);
    }

    fn act(&self, v: f64) -> f64 {
        match self.spec.activation {
            Activation::Relu => v.max(0.0),
            Activation::Tanh => v.tanh(),
        }
    }
    fn act_grad(&self, out: f64) -> f64 {
        match self.spec.activation {
            Activation::Relu => (out > 0.0) as u8 as f64,
            Activation::Tanh => 1.0 - out * out,
        }
    }

    /// Activations of every layer (input first) and the head's raw outputs.
    fn forward(&self, x: &[f64], head: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        let mut acts = vec![x.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect::<Vec<f64>>()];
        for l in &self.trunk {
            let mut z = Vec::with_capacity(l.n_out);
            l.forward(acts.last().unwrap(), &mut z);
            for v in z.iter_mut() {
                *v = self.act(*v);
            }
            acts.push(z);
        }
        let mut out = Vec::new();
        self.heads[head].forward(acts.last().unwrap(), &mut out);
        (acts, out)
    }

    fn softmax(v: &mut [f64]) {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for x in v.iter_mut() {
            *x = (*x - m).exp();
            s += *x;
        }
        for x in v.iter_mut() {
            *x /= s;
        }
    }

    pub fn proba(&self, x: &[f64]) -> Proba {
        let (_, mut out) = self.forward(x, self.task);
        Self::softmax(&mut out);
        out.into_iter().enumerate().map(|(i, p)| (i as f64, p)).collect()
    }
    pub fn predict_value(&self, x: &[f64]) -> f64 {
        self.forward(x, self.task).1[0]
    }

    /// Gradient of the loss for one sample, flattened like `params()` (trunk then every head;
    /// other heads' entries stay 0). Returns the loss.
    fn gradient(&self, x: &[f64], y: f64, head: usize, g: &mut [f64]) -> f64 {
        let (acts, mut out) = self.forward(x, head);
        let (mut delta, loss) = if self.is_regression() {
            let e = out[0] - y;
            (vec![e], 0.5 * e * e)
        } else {
            Self::softmax(&mut out);
            let yi = y as usize;
            let loss = -out[yi].max(1e-300).ln();
            out[yi] -= 1.0;
            (out, loss)
        };
        // Offsets of each layer in the flat vector.
        let mut offs = Vec::new();
        let mut at = 0;
        for l in &self.trunk {
            offs.push(at);
            at += l.params();
        }
        for h in 0..self.heads.len() {
            if h == head {
                offs.push(at);
            }
            at += self.heads[h].params();
        }
        let layers: Vec<&Layer> = self.trunk.iter().chain(std::iter::once(&self.heads[head])).collect();
        for li in (0..layers.len()).rev() {
            let l = layers[li];
            let input = &acts[li];
            let off = offs[li];
            for o in 0..l.n_out {
                let d = delta[o];
                for i in 0..l.n_in {
                    g[off + o * l.n_in + i] = d * input[i];
                }
                g[off + l.w.len() + o] = d;
            }
            if li > 0 {
                let mut prev = vec![0.0; l.n_in];
                for o in 0..l.n_out {
                    let d = delta[o];
                    let row = &l.w[o * l.n_in..(o + 1) * l.n_in];
                    for i in 0..l.n_in {
                        prev[i] += row[i] * d;
                    }
                }
                for i in 0..l.n_in {
                    prev[i] *= self.act_grad(acts[li][i]);
                }
                delta = prev;
            }
        }
        loss
    }

    pub fn n_params(&self) -> usize {
        self.trunk.iter().chain(&self.heads).map(|l| l.params()).sum()
    }
    pub fn params(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.n_params());
        for l in self.trunk.iter().chain(&self.heads) {
            v.extend_from_slice(&l.w);
            v.extend_from_slice(&l.b);
        }
        v
    }
    pub fn set_params(&mut self, p: &[f64]) -> Result<()> {
        if p.len() != self.n_params() {
            return Err(Error::invalid_arg("params", format!("expected {} values, got {}", self.n_params(), p.len())));
        }
        let mut at = 0;
        for l in self.trunk.iter_mut().chain(self.heads.iter_mut()) {
            let (nw, nb) = (l.w.len(), l.b.len());
            l.w.copy_from_slice(&p[at..at + nw]);
            l.b.copy_from_slice(&p[at + nw..at + nw + nb]);
            at += nw + nb;
        }
        Ok(())
    }

    fn step(&mut self, x: &[f64], y: f64, head: usize, weight: f64) {
        let mut g = vec![0.0; self.n_params()];
        self.gradient(x, y, head, &mut g);
        let trunk_len: usize = self.trunk.iter().map(|l| l.params()).sum();
        let mut p = self.params();
        let lr = self.spec.lr * weight;
        let ewc = self.spec.ewc_lambda;
        let start = if self.freeze_trunk { trunk_len } else { 0 };
        let penalised = ewc > 0.0 && !self.ewc_fisher.is_empty();
        for i in start..p.len() {
            p[i] -= lr * g[i];
            if penalised {
                // The EWC penalty as a proximal step (exact minimiser of the quadratic around the
                // anchor): stable for any lambda, where a plain gradient step on a large
                // lambda * Fisher overshoots and diverges.
                let a = self.ewc_anchor[i];
                p[i] = a + (p[i] - a) / (1.0 + lr * ewc * self.ewc_fisher[i]);
            }
        }
        self.set_params(&p).expect("same shape");
    }

    /// One online step on (x, y) for the active head, plus `replay_k` replayed past samples.
    pub fn learn(&mut self, x: &[f64], y: f64) {
        self.learn_weighted(x, y, 1.0)
    }

    /// As `learn`, the step scaled by `weight` (importance weighting).
    pub fn learn_weighted(&mut self, x: &[f64], y: f64, weight: f64) {
        let head = self.task;
        self.step(x, y, head, weight);
        if self.spec.replay_capacity > 0 {
            for _ in 0..self.spec.replay_k.min(self.replay.len()) {
                let i = self.rng.below(self.replay.len());
                let (rx, ry, rh) = self.replay[i].clone();
                self.step(&rx, ry, rh, 1.0);
            }
            // Reservoir sampling keeps a uniform sample of everything seen.
            self.replay_seen += 1;
            if self.replay.len() < self.spec.replay_capacity {
                self.replay.push((x.to_vec(), y, head));
            } else {
                let j = (self.rng.f64() * self.replay_seen as f64) as u64;
                if (j as usize) < self.spec.replay_capacity {
                    self.replay[j as usize] = (x.to_vec(), y, head);
                }
            }
        }
    }

    /// EWC task boundary: adds the Fisher information diagonal on (xs, ys) for the active head
    /// and anchors the penalty at the current parameters. For classification it is the exact
    /// expectation over the model's own predictive distribution (the "true" Fisher): the
    /// empirical one (gradients at the observed labels) vanishes on data the network already
    /// fits, which leaves nothing to protect.
    pub fn consolidate(&mut self, xs: &[f64], ys: &[f64]) -> Result<()> {
        let n = self.n_inputs;
        if xs.len() != ys.len() * n || ys.is_empty() {
            return Err(Error::invalid_arg("x", format!("needs {n} features per label and at least one row")));
        }
        let mut fisher = vec![0.0; self.n_params()];
        let mut g = vec![0.0; self.n_params()];
        let rows = ys.len() as f64;
        for (r, &y) in ys.iter().enumerate() {
            let x = &xs[r * n..(r + 1) * n];
            if self.is_regression() {
                g.iter_mut().for_each(|v| *v = 0.0);
                self.gradient(x, y, self.task, &mut g);
                for (f, gi) in fisher.iter_mut().zip(&g) {
                    *f += gi * gi / rows;
                }
            } else {
                let p = self.proba(x);
                for (c, pc) in p {
                    g.iter_mut().for_each(|v| *v = 0.0);
                    self.gradient(x, c, self.task, &mut g);
                    for (f, gi) in fisher.iter_mut().zip(&g) {
                        *f += pc * gi * gi / rows;
                    }
                }
            }
        }
        if self.ewc_fisher.is_empty() {
            self.ewc_fisher = fisher;
        } else {
            for (a, b) in self.ewc_fisher.iter_mut().zip(&fisher) {
                *a += b;
            }
        }
        self.ewc_anchor = self.params();
        Ok(())
    }

    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({
            "layers": self.trunk.iter().map(|l| l.n_out).collect::<Vec<_>>(),
            "outputs": self.spec.outputs,
            "heads": self.heads.len(),
            "activeTask": self.task,
            "params": self.n_params(),
            "freezeTrunk": self.freeze_trunk,
            "ewc": !self.ewc_fisher.is_empty(),
            "replayBuffer": self.replay.len(),
        })
    }

    pub fn save(&self, e: &mut Enc) {
        let s = &self.spec;
        e.usize(self.n_inputs);
        e.usize(s.hidden.len());
        for h in &s.hidden {
            e.usize(*h);
        }
        e.usize(s.outputs);
        e.bool(s.task == MlpTask::Regression);
        e.f64(s.lr);
        e.bool(s.activation == Activation::Tanh);
        e.u64(s.seed);
        e.usize(s.heads);
        e.f64(s.ewc_lambda);
        e.usize(s.replay_capacity);
        e.usize(s.replay_k);
        e.usize(self.task);
        e.bool(self.freeze_trunk);
        e.u64(self.rng.0);
        e.f64s(&self.params());
        e.f64s(&self.ewc_anchor);
        e.f64s(&self.ewc_fisher);
        e.u64(self.replay_seen);
        e.usize(self.replay.len());
        for (x, y, h) in &self.replay {
            e.f64s(x);
            e.f64(*y);
            e.usize(*h);
        }
    }

    pub fn load(d: &mut Dec) -> Result<Self> {
        let n_inputs = d.usize()?;
        let k = d.usize()?;
        let hidden = (0..k).map(|_| d.usize()).collect::<Result<Vec<_>>>()?;
        let spec = MlpSpec {
            hidden,
            outputs: d.usize()?,
            task: if d.bool()? { MlpTask::Regression } else { MlpTask::Classification },
            lr: d.f64()?,
            activation: if d.bool()? { Activation::Tanh } else { Activation::Relu },
            seed: d.u64()?,
            heads: d.usize()?,
            ewc_lambda: d.f64()?,
            replay_capacity: d.usize()?,
            replay_k: d.usize()?,
        };
        let mut m = Self::new(&spec, n_inputs)?;
        m.set_task(d.usize()?)?;
        m.freeze_trunk = d.bool()?;
        m.rng = Rng(d.u64()?);
        m.set_params(&d.f64s()?)?;
        m.ewc_anchor = d.f64s()?;
        m.ewc_fisher = d.f64s()?;
        let np = m.n_params();
        if !(m.ewc_anchor.is_empty() || m.ewc_anchor.len() == np) || m.ewc_fisher.len() != m.ewc_anchor.len() {
            return Err(Error::invalid_arg("bytes", "model file is malformed (EWC state)"));
        }
        m.replay_seen = d.u64()?;
        let r = d.usize()?;
        for _ in 0..r {
            let x = d.f64s()?;
            let (y, h) = (d.f64()?, d.usize()?);
            if x.len() != n_inputs || h >= m.heads.len() {
                return Err(Error::invalid_arg("bytes", "model file is malformed (replay buffer)"));
            }
            m.replay.push((x, y, h));
        }
        Ok(m)
    }
}
