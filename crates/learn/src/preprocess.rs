//! Preprocessing: online standard scaling (River's `preprocessing.StandardScaler`: Welford means
//! and population variances, 0 where the variance is 0), one-hot encoding of categories into a
//! fixed width, and signed feature hashing (the hashing trick, Weinberger et al. 2009).

use crate::codec::{Dec, Enc};
use omnitide_common::{Error, Result};

#[derive(Clone, Debug)]
pub struct StandardScaler {
    counts: Vec<f64>,
    means: Vec<f64>,
    vars: Vec<f64>,
}

impl StandardScaler {
    pub fn new(n: usize) -> Self {
        Self { counts: vec![0.0; n], means: vec![0.0; n], vars: vec![0.0; n] }
    }
    /// NaN features are missing: not counted.
    #[inline]
    pub fn learn(&mut self, x: &[f64]) {
        for i in 0..x.len() {
            let xi = x[i];
            if xi.is_nan() {
                continue;
            }
            self.counts[i] += 1.0;
            let old = self.means[i];
            self.means[i] += (xi - old) / self.counts[i];
            self.vars[i] += ((xi - old) * (xi - self.means[i]) - self.vars[i]) / self.counts[i];
        }
    }
    #[inline]
    pub fn transform(&self, x: &[f64], out: &mut [f64]) {
        for i in 0..x.len() {
            let v = self.vars[i];
            out[i] = if x[i].is_nan() {
                f64::NAN
            } else if v != 0.0 {
                (x[i] - self.means[i]) / v.powf(0.5)
            } else {
                0.0
            };
        }
    }
    pub fn means(&self) -> &[f64] {
        &self.means
    }
    pub fn variances(&self) -> &[f64] {
        &self.vars
    }
    pub fn save(&self, e: &mut Enc) {
        e.f64s(&self.counts);
        e.f64s(&self.means);
        e.f64s(&self.vars);
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        let s = Self { counts: d.f64s()?, means: d.f64s()?, vars: d.f64s()? };
        if s.means.len() != s.counts.len() || s.vars.len() != s.counts.len() {
            return Err(Error::invalid_arg("bytes", "model file is malformed (scaler)"));
        }
        Ok(s)
    }
}

/// One-hot encoder over a fixed vocabulary learnt online: each new category takes the next slot
/// until `max_categories`; later unseen categories map to an all-zero vector (or an error with
/// `strict`), never to a slot another category owns.
#[derive(Clone, Debug)]
pub struct OneHot {
    vocab: Vec<String>,
    max: usize,
    strict: bool,
}

impl OneHot {
    pub fn new(max_categories: usize, strict: bool) -> Result<Self> {
        if max_categories == 0 {
            return Err(Error::invalid_arg("maxCategories", "must be >= 1"));
        }
        Ok(Self { vocab: Vec::new(), max: max_categories, strict })
    }
    pub fn learn(&mut self, category: &str) {
        if self.vocab.len() < self.max && !self.vocab.iter().any(|v| v == category) {
            self.vocab.push(category.to_string());
        }
    }
    /// Writes `max_categories` values into `out`.
    pub fn transform(&self, category: &str, out: &mut [f64]) -> Result<()> {
        out.iter_mut().for_each(|v| *v = 0.0);
        match self.vocab.iter().position(|v| v == category) {
            Some(i) => out[i] = 1.0,
            None if self.strict => return Err(Error::invalid_arg("category", format!("unseen category {category:?}"))),
            None => {}
        }
        Ok(())
    }
    pub fn categories(&self) -> &[String] {
        &self.vocab
    }
}

/// Signed feature hashing into `n` buckets: token `t` with value `v` adds `sign(t) * v` to bucket
/// `h(t) mod n`, with `h` and `sign` from two independent bits of a BLAKE3 hash (stable across
/// platforms and versions, unlike std's SipHash keys).
pub fn hash_features(tokens: &[(&str, f64)], n: usize, out: &mut [f64]) -> Result<()> {
    if n == 0 || out.len() != n {
        return Err(Error::invalid_arg("nFeatures", "must be >= 1 and match the output length"));
    }
    out.iter_mut().for_each(|v| *v = 0.0);
    for (t, v) in tokens {
        if !v.is_finite() {
            return Err(Error::invalid_arg(&format!("features[{t:?}]"), "must be a finite number"));
        }
        let h = blake3::hash(t.as_bytes());
        let b = h.as_bytes();
        let idx = u64::from_le_bytes(b[..8].try_into().unwrap()) % n as u64;
        let sign = if b[8] & 1 == 0 { 1.0 } else { -1.0 };
        out[idx as usize] += sign * v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaler_matches_river_formula() {
        let mut s = StandardScaler::new(2);
        for x in [[1.0, 5.0], [3.0, 5.0], [5.0, f64::NAN]] {
            s.learn(&x);
        }
        let mut out = [0.0; 2];
        s.transform(&[3.0, 7.0], &mut out);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[1], 0.0); // zero variance -> 0
        s.transform(&[5.0, 5.0], &mut out);
        assert!((out[0] - 2.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn one_hot_and_hashing() {
        let mut o = OneHot::new(2, false).unwrap();
        for c in ["a", "b", "c"] {
            o.learn(c);
        }
        let mut out = [0.0; 2];
        o.transform("b", &mut out).unwrap();
        assert_eq!(out, [0.0, 1.0]);
        o.transform("c", &mut out).unwrap();
        assert_eq!(out, [0.0, 0.0]);
        assert!(OneHot::new(2, true).unwrap().transform("z", &mut out).is_err());
        let mut h = [0.0; 16];
        hash_features(&[("user=1", 1.0), ("page=home", 2.0)], 16, &mut h).unwrap();
        assert_eq!(h.iter().map(|v| v.abs()).sum::<f64>(), 3.0);
        let mut h2 = [0.0; 16];
        hash_features(&[("page=home", 2.0), ("user=1", 1.0)], 16, &mut h2).unwrap();
        assert_eq!(h, h2);
    }
}
