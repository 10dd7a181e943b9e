//! Half-space trees (Tan, Ting & Liu 2011) with River's semantics (`river.anomaly.HalfSpaceTrees`):
//! `n_trees` random trees of `height` over per-feature `limits` (default [0, 1], 15% padding),
//! mass counted in a reference window and a latest window of `window_size` samples that swap when
//! full; scores in [0, 1], higher is more anomalous; 0 until the first window is complete.
//! Trees are drawn from our own seeded generator, so the trees differ from River's for a seed.

use crate::codec::{Dec, Enc};
use crate::stats::Rng;
use omnitide_common::{Error, Result};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HstSpec {
    #[serde(default = "d_trees")]
    pub n_trees: u32,
    #[serde(default = "d_height")]
    pub height: u32,
    #[serde(default = "d_window")]
    pub window_size: u32,
    /// Per feature `[low, high]`; features without limits use [0, 1] as River does.
    pub limits: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    pub seed: u64,
}
fn d_trees() -> u32 {
    10
}
fn d_height() -> u32 {
    8
}
fn d_window() -> u32 {
    250
}

/// Nodes of one complete binary tree in heap order: node i has children 2i+1, 2i+2.
#[derive(Clone, Debug)]
struct Tree {
    feature: Vec<u32>,
    threshold: Vec<f64>,
    l_mass: Vec<f64>,
    r_mass: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct HalfSpaceTrees {
    height: u32,
    window: u32,
    trees: Vec<Tree>,
    counter: u32,
    first_window: bool,
    n_trees: u32,
}

impl HalfSpaceTrees {
    pub fn new(spec: &HstSpec, n_features: usize) -> Result<Self> {
        if spec.n_trees == 0 || spec.n_trees > 10_000 {
            return Err(Error::invalid_arg("nTrees", "must be in [1, 10000]"));
        }
        if spec.height == 0 || spec.height > 20 {
            return Err(Error::invalid_arg("height", "must be in [1, 20]"));
        }
        if spec.window_size == 0 {
            return Err(Error::invalid_arg("windowSize", "must be >= 1"));
        }
        let mut limits = vec![[0.0, 1.0]; n_features];
        if let Some(l) = &spec.limits {
            if l.len() != n_features {
                return Err(Error::invalid_arg("limits", format!("expected {n_features} [low, high] pairs, got {}", l.len())));
            }
            for (i, p) in l.iter().enumerate() {
                if !(p[0].is_finite() && p[1].is_finite() && p[0] < p[1]) {
                    return Err(Error::invalid_arg(&format!("limits[{i}]"), "must be finite with low < high"));
                }
                limits[i] = *p;
            }
        }
        if n_features == 0 {
            return Err(Error::invalid_arg("nFeatures", "must be >= 1"));
        }
        let mut rng = Rng::new(spec.seed);
        let nodes = (1usize << (spec.height + 1)) - 1;
        let trees = (0..spec.n_trees)
            .map(|_| {
                let mut t =
                    Tree { feature: vec![0; nodes], threshold: vec![0.0; nodes], l_mass: vec![0.0; nodes], r_mass: vec![0.0; nodes] };
                let mut lim = limits.clone();
                grow(&mut t, 0, spec.height, &mut lim, &mut rng);
                t
            })
            .collect();
        Ok(Self { height: spec.height, window: spec.window_size, trees, counter: 0, first_window: true, n_trees: spec.n_trees })
    }

    fn step(t: &Tree, n: usize, x: &[f64]) -> usize {
        let v = x[t.feature[n] as usize];
        let (l, r) = (2 * n + 1, 2 * n + 2);
        if v.is_nan() {
            if t.l_mass[l] < t.l_mass[r] {
                r
            } else {
                l
            }
        } else if v < t.threshold[n] {
            l
        } else {
            r
        }
    }

    pub fn learn(&mut self, x: &[f64]) {
        for t in self.trees.iter_mut() {
            let mut n = 0;
            for _ in 0..self.height {
                t.l_mass[n] += 1.0;
                n = Self::step(t, n, x);
            }
            t.l_mass[n] += 1.0;
        }
        self.counter += 1;
        if self.counter == self.window {
            for t in self.trees.iter_mut() {
                std::mem::swap(&mut t.r_mass, &mut t.l_mass);
                t.l_mass.iter_mut().for_each(|m| *m = 0.0);
            }
            self.first_window = false;
            self.counter = 0;
        }
    }

    pub fn score(&self, x: &[f64]) -> f64 {
        if self.first_window {
            return 0.0;
        }
        let size_limit = 0.1 * self.window as f64;
        let mut score = 0.0;
        for t in &self.trees {
            let mut n = 0;
            let mut depth_pow = 1.0;
            let mut done = false;
            for _ in 0..self.height {
                let r = t.r_mass[n];
                score += r * depth_pow;
                if r < size_limit {
                    done = true;
                    break;
                }
                n = Self::step(t, n, x);
                depth_pow *= 2.0;
            }
            if !done {
                score += t.r_mass[n] * depth_pow;
            }
        }
        let max = self.n_trees as f64 * self.window as f64 * ((1u64 << (self.height + 1)) - 1) as f64;
        1.0 - score / max
    }

    pub fn save(&self, e: &mut Enc) {
        e.u32(self.height);
        e.u32(self.window);
        e.u32(self.n_trees);
        e.u32(self.counter);
        e.bool(self.first_window);
        for t in &self.trees {
            e.usize(t.feature.len());
            for f in &t.feature {
                e.u32(*f);
            }
            e.f64s(&t.threshold);
            e.f64s(&t.l_mass);
            e.f64s(&t.r_mass);
        }
    }

    pub fn load(d: &mut Dec, n_features: usize) -> Result<Self> {
        let (height, window, n_trees, counter) = (d.u32()?, d.u32()?, d.u32()?, d.u32()?);
        let first_window = d.bool()?;
        let bad = || Error::invalid_arg("bytes", "model file is malformed (half-space trees)");
        if height == 0 || height > 20 || window == 0 {
            return Err(bad());
        }
        let nodes = (1usize << (height + 1)) - 1;
        let mut trees = Vec::new();
        for _ in 0..n_trees {
            let k = d.usize()?;
            if k != nodes {
                return Err(bad());
            }
            let feature = (0..k).map(|_| d.u32()).collect::<Result<Vec<_>>>()?;
            if feature.iter().any(|f| *f as usize >= n_features) {
                return Err(bad());
            }
            let t = Tree { feature, threshold: d.f64s()?, l_mass: d.f64s()?, r_mass: d.f64s()? };
            if t.threshold.len() != k || t.l_mass.len() != k || t.r_mass.len() != k {
                return Err(bad());
            }
            trees.push(t);
        }
        Ok(Self { height, window, trees, counter, first_window, n_trees })
    }
}

/// River's `make_padded_tree`: a feature drawn with probability proportional to its range, a
/// threshold uniform in the range without its outer 15%, both halves recursed on.
fn grow(t: &mut Tree, n: usize, height: u32, lim: &mut Vec<[f64; 2]>, rng: &mut Rng) {
    if height == 0 {
        return;
    }
    let total: f64 = lim.iter().map(|l| l[1] - l[0]).sum();
    let mut pick = rng.f64() * total;
    let mut f = lim.len() - 1;
    for (i, l) in lim.iter().enumerate() {
        pick -= l[1] - l[0];
        if pick < 0.0 {
            f = i;
            break;
        }
    }
    let [a, b] = lim[f];
    let at = rng.uniform(a + 0.15 * (b - a), b - 0.15 * (b - a));
    t.feature[n] = f as u32;
    t.threshold[n] = at;
    lim[f] = [a, at];
    grow(t, 2 * n + 1, height - 1, lim, rng);
    lim[f] = [at, b];
    grow(t, 2 * n + 2, height - 1, lim, rng);
    lim[f] = [a, b];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_score_higher_than_inliers() {
        let spec: HstSpec = serde_json::from_str(r#"{"seed": 42}"#).unwrap();
        let mut h = HalfSpaceTrees::new(&spec, 2).unwrap();
        let mut rng = Rng::new(9);
        assert_eq!(h.score(&[0.5, 0.5]), 0.0);
        for _ in 0..1000 {
            h.learn(&[0.3 + 0.05 * rng.normal(), 0.3 + 0.05 * rng.normal()]);
        }
        let inlier = h.score(&[0.3, 0.3]);
        let outlier = h.score(&[0.9, 0.9]);
        assert!(outlier > inlier + 0.3, "{inlier} {outlier}");
        assert!((0.0..=1.0).contains(&inlier) && (0.0..=1.0).contains(&outlier));
    }
}
