//! One-dimensional marginals. Numeric: the empirical distribution with linear
//! interpolation between order statistics (no parametric family to pick wrong;
//! samples stay inside the observed range). Categorical: level frequencies, each
//! level owning an interval of [0, 1] of its probability's width (the
//! "uniform encoding" SDV uses to put categories into a Gaussian copula).

use crate::table::Values;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Marginal {
    Numeric { sorted: Vec<f64>, integer: bool },
    Categorical { levels: Vec<String>, cum: Vec<f64> },
}

impl Marginal {
    pub fn fit(values: &Values) -> Marginal {
        match values {
            Values::Numeric(v) => {
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let integer = v.iter().all(|x| x.fract() == 0.0);
                Marginal::Numeric { sorted, integer }
            }
            Values::Categorical { codes, levels } => {
                let mut counts = vec![0usize; levels.len()];
                for &k in codes {
                    counts[k as usize] += 1;
                }
                let n = codes.len() as f64;
                let mut acc = 0.0;
                let cum = counts
                    .iter()
                    .map(|&c| {
                        acc += c as f64 / n;
                        acc
                    })
                    .collect();
                Marginal::Categorical { levels: levels.clone(), cum }
            }
        }
    }

    /// The value at probability `u` in [0, 1].
    pub fn quantile(&self, u: f64) -> f64 {
        match self {
            Marginal::Numeric { sorted, integer } => {
                let h = u.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
                let i = (h.floor() as usize).min(sorted.len() - 1);
                let j = (i + 1).min(sorted.len() - 1);
                let x = sorted[i] + (h - i as f64) * (sorted[j] - sorted[i]);
                if *integer {
                    x.round()
                } else {
                    x
                }
            }
            Marginal::Categorical { .. } => self.level_at(u) as f64,
        }
    }

    /// The categorical level whose interval holds `u`.
    pub fn level_at(&self, u: f64) -> u32 {
        match self {
            Marginal::Categorical { cum, .. } => {
                let k = cum.partition_point(|&c| c <= u);
                // Skip levels of zero frequency (empty intervals) and the rounding tail past the last.
                let mut k = k.min(cum.len() - 1);
                while k > 0 && cum[k] - cum[k - 1] <= 0.0 {
                    k -= 1;
                }
                k as u32
            }
            Marginal::Numeric { .. } => 0,
        }
    }

    /// Interval `[lo, hi)` of level `k`.
    pub fn interval(&self, k: u32) -> (f64, f64) {
        match self {
            Marginal::Categorical { cum, .. } => {
                let k = k as usize;
                (if k == 0 { 0.0 } else { cum[k - 1] }, cum[k])
            }
            Marginal::Numeric { .. } => (0.0, 1.0),
        }
    }
}

/// Mid-ranks scaled into (0, 1): `rank / (n + 1)` with ties sharing their mean rank.
pub fn pseudo_observations(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut u = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            u[k] = rank / (n as f64 + 1.0);
        }
        i = j + 1;
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_quantiles_interpolate_and_ties_share_ranks() {
        let m = Marginal::fit(&Values::Numeric(vec![3.0, 1.0, 2.0, 4.0, 5.0]));
        assert_eq!(m.quantile(0.0), 1.0);
        assert_eq!(m.quantile(1.0), 5.0);
        assert_eq!(m.quantile(0.5), 3.0);
        let u = pseudo_observations(&[1.0, 2.0, 2.0, 3.0]);
        assert_eq!(u, vec![0.2, 0.5, 0.5, 0.8]);
    }

    #[test]
    fn categorical_intervals_follow_frequencies() {
        let m = Marginal::fit(&Values::Categorical { codes: vec![0, 0, 0, 2], levels: vec!["a".into(), "b".into(), "c".into()] });
        assert_eq!(m.interval(0), (0.0, 0.75));
        assert_eq!(m.level_at(0.1), 0);
        assert_eq!(m.level_at(0.8), 2);
        assert_eq!(m.level_at(0.75), 2, "the empty level b is never drawn");
        assert_eq!(m.level_at(1.0), 2);
    }
}
