//! Naive Bayes with River's semantics (`river.naive_bayes`): Gaussian (population variance per
//! class and feature, densities floored at 1e-9) and multinomial (Laplace/Lidstone `alpha`).
//! A NaN feature is missing and skipped, as an absent key is in River.

use crate::classes::{ClassDist, Proba};
use crate::codec::{Dec, Enc};
use crate::stats::{logsumexp, Var};
use omnitide_common::{Error, Result};

const PDF_EPS: f64 = 10e-10;

fn softmax(jll: Vec<(f64, f64)>) -> Proba {
    if jll.is_empty() {
        return jll;
    }
    let lse = logsumexp(jll.iter().map(|e| e.1));
    jll.into_iter().map(|(c, l)| (c, (l - lse).exp())).collect()
}

#[derive(Clone, Debug)]
pub struct GaussianNb {
    counts: ClassDist,
    /// Per class (same order as `counts`), per feature: `None` until a value was seen.
    gaussians: Vec<Vec<Option<Var>>>,
    n_features: usize,
}

impl GaussianNb {
    pub fn new(n_features: usize) -> Self {
        Self { counts: ClassDist::default(), gaussians: Vec::new(), n_features }
    }
    fn class_index(&mut self, y: f64) -> usize {
        match self.counts.0.iter().position(|e| e.0 == y) {
            Some(i) => i,
            None => {
                self.counts.0.push((y, 0.0));
                self.gaussians.push(vec![None; self.n_features]);
                self.counts.0.len() - 1
            }
        }
    }
    pub fn learn(&mut self, x: &[f64], y: f64) {
        let c = self.class_index(y);
        self.counts.0[c].1 += 1.0;
        for (g, &xi) in self.gaussians[c].iter_mut().zip(x) {
            if !xi.is_nan() {
                g.get_or_insert_with(|| Var::new(0.0)).update(xi, 1.0);
            }
        }
    }
    pub fn proba(&self, x: &[f64]) -> Proba {
        let total = self.counts.total();
        let jll = self
            .counts
            .0
            .iter()
            .zip(&self.gaussians)
            .map(|(&(c, n), gs)| {
                // River: log(prior) + sum(...), the sum accumulated on its own first.
                let mut sum = 0.0;
                for (g, &xi) in gs.iter().zip(x) {
                    if !xi.is_nan() {
                        sum += (PDF_EPS + g.as_ref().map_or(0.0, |g| g.pdf(xi))).ln();
                    }
                }
                (c, (n / total).ln() + sum)
            })
            .collect();
        softmax(jll)
    }
    pub fn classes(&self) -> Vec<f64> {
        self.counts.0.iter().map(|e| e.0).collect()
    }
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn save(&self, e: &mut Enc) {
        e.usize(self.n_features);
        self.counts.save(e);
        for gs in &self.gaussians {
            for g in gs {
                e.bool(g.is_some());
                if let Some(g) = g {
                    g.save(e);
                }
            }
        }
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let n_features = d.usize()?;
        let counts = ClassDist::load(d)?;
        let mut gaussians = Vec::new();
        for _ in 0..counts.len() {
            let mut gs = Vec::with_capacity(n_features.min(1 << 20));
            for _ in 0..n_features {
                gs.push(if d.bool()? { Some(Var::load(d)?) } else { None });
            }
            gaussians.push(gs);
        }
        Ok(Self { counts, gaussians, n_features })
    }
    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({ "classCounts": self.counts.0 })
    }
}

#[derive(Clone, Debug)]
pub struct MultinomialNb {
    alpha: f64,
    counts: ClassDist,
    /// Per class: per-feature frequency sums and their total.
    feature_counts: Vec<Vec<f64>>,
    class_totals: Vec<f64>,
    /// Which features were ever seen (River's `n_terms`).
    seen: Vec<bool>,
    n_terms: usize,
}

impl MultinomialNb {
    pub fn new(n_features: usize, alpha: f64) -> Result<Self> {
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(Error::invalid_arg("alpha", "must be a finite number > 0"));
        }
        Ok(Self {
            alpha,
            counts: ClassDist::default(),
            feature_counts: Vec::new(),
            class_totals: Vec::new(),
            seen: vec![false; n_features],
            n_terms: 0,
        })
    }
    pub fn check_row(x: &[f64]) -> Result<()> {
        if x.iter().any(|v| *v < 0.0) {
            return Err(Error::invalid_arg("x", "multinomial naive Bayes needs non-negative frequencies"));
        }
        Ok(())
    }
    pub fn learn(&mut self, x: &[f64], y: f64) {
        let c = match self.counts.0.iter().position(|e| e.0 == y) {
            Some(i) => i,
            None => {
                self.counts.0.push((y, 0.0));
                self.feature_counts.push(vec![0.0; self.seen.len()]);
                self.class_totals.push(0.0);
                self.counts.0.len() - 1
            }
        };
        self.counts.0[c].1 += 1.0;
        for (i, &f) in x.iter().enumerate() {
            if f.is_nan() {
                continue;
            }
            if !self.seen[i] {
                self.seen[i] = true;
                self.n_terms += 1;
            }
            self.feature_counts[c][i] += f;
            self.class_totals[c] += f;
        }
    }
    pub fn proba(&self, x: &[f64]) -> Proba {
        let total = self.counts.total();
        let jll = (0..self.counts.len())
            .map(|c| {
                let (label, n) = self.counts.0[c];
                let den = self.class_totals[c] + self.alpha * self.n_terms as f64;
                let mut sum = 0.0;
                for (i, &f) in x.iter().enumerate() {
                    if !f.is_nan() {
                        sum += f * ((self.feature_counts[c][i] + self.alpha) / den).ln();
                    }
                }
                (label, (n / total).ln() + sum)
            })
            .collect();
        softmax(jll)
    }
    pub fn classes(&self) -> Vec<f64> {
        self.counts.0.iter().map(|e| e.0).collect()
    }
    pub fn n_features(&self) -> usize {
        self.seen.len()
    }
    pub fn save(&self, e: &mut Enc) {
        e.f64(self.alpha);
        self.counts.save(e);
        e.usize(self.seen.len());
        for s in &self.seen {
            e.bool(*s);
        }
        for fc in &self.feature_counts {
            e.f64s(fc);
        }
        e.f64s(&self.class_totals);
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let alpha = d.f64()?;
        let counts = ClassDist::load(d)?;
        let n = d.usize()?;
        let seen = (0..n).map(|_| d.bool()).collect::<Result<Vec<_>>>()?;
        let feature_counts = (0..counts.len()).map(|_| d.f64s()).collect::<Result<Vec<_>>>()?;
        let class_totals = d.f64s()?;
        let n_terms = seen.iter().filter(|s| **s).count();
        if class_totals.len() != counts.len() || feature_counts.iter().any(|f| f.len() != n) {
            return Err(Error::invalid_arg("bytes", "model file is malformed (vector lengths disagree)"));
        }
        Ok(Self { alpha, counts, feature_counts, class_totals, seen, n_terms })
    }
    pub fn inspect(&self) -> serde_json::Value {
        serde_json::json!({ "alpha": self.alpha, "classCounts": self.counts.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::argmax;

    #[test]
    fn gaussian_nb_separates_two_blobs() {
        let mut m = GaussianNb::new(2);
        let mut rng = crate::stats::Rng::new(7);
        for i in 0..400 {
            let c = (i % 2) as f64;
            m.learn(&[rng.normal() + 4.0 * c, rng.normal() - 2.0 * c], c);
        }
        assert_eq!(argmax(&m.proba(&[4.0, -2.0])), 1.0);
        assert_eq!(argmax(&m.proba(&[0.0, 0.0])), 0.0);
        let p = m.proba(&[2.0, f64::NAN]);
        assert!((p.iter().map(|e| e.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(GaussianNb::new(1).proba(&[1.0]).is_empty());
    }

    #[test]
    fn multinomial_nb_counts_words() {
        let mut m = MultinomialNb::new(3, 1.0).unwrap();
        m.learn(&[3.0, 0.0, 1.0], 0.0);
        m.learn(&[0.0, 4.0, 1.0], 1.0);
        assert_eq!(argmax(&m.proba(&[2.0, 0.0, 0.0])), 0.0);
        assert_eq!(argmax(&m.proba(&[0.0, 2.0, 0.0])), 1.0);
        assert!(MultinomialNb::new(1, 0.0).is_err());
    }
}
