//! Class labels and per-class weights kept in first-seen order, the order River's dicts keep
//! (it decides ties, so it matters for matching River's predictions).

use crate::codec::{Dec, Enc};
use omnitide_common::Result;

/// Small ordered map class -> weight (classification has few classes; a linear scan beats hashing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassDist(pub Vec<(f64, f64)>);

impl ClassDist {
    #[inline]
    pub fn add(&mut self, c: f64, w: f64) {
        for e in self.0.iter_mut() {
            if e.0 == c {
                e.1 += w;
                return;
            }
        }
        self.0.push((c, w));
    }
    #[inline]
    pub fn get(&self, c: f64) -> Option<f64> {
        self.0.iter().find(|e| e.0 == c).map(|e| e.1)
    }
    pub fn total(&self) -> f64 {
        self.0.iter().map(|e| e.1).sum()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn save(&self, e: &mut Enc) {
        e.usize(self.0.len());
        for (c, w) in &self.0 {
            e.f64(*c);
            e.f64(*w);
        }
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let n = d.usize()?;
        let mut v = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            v.push((d.f64()?, d.f64()?));
        }
        Ok(Self(v))
    }
}

/// Probabilities over classes, in the order a model reports them.
pub type Proba = Vec<(f64, f64)>;

/// River's `predict_one` on a proba dict: the first class with the largest probability.
pub fn argmax(p: &[(f64, f64)]) -> f64 {
    crate::stats::argmax_first(p.iter().map(|e| e.1)).map(|i| p[i].0).unwrap_or(f64::NAN)
}
