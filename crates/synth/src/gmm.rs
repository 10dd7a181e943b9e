//! Model-based strategy: a Gaussian mixture over the (standardised) numeric
//! columns fitted by EM with full covariances, k-means++ seeding and a small
//! covariance ridge (sklearn's `reg_covar`). Categorical columns are modelled
//! as independent given the mixture component (a latent-class model): their
//! level frequencies per component are weighted by the final responsibilities.

use nalgebra::{Cholesky, DMatrix, DVector};
use omnitide_common::{Error, Result};
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_distr::StandardNormal;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::rng::{rng, stream_of};
use crate::table::{reject_constant, Column, Table, Values};

#[derive(Debug, Clone, Copy)]
pub struct MixtureOptions {
    pub components: usize,
    pub max_iterations: usize,
    /// Stop when the mean log-likelihood improves by less than this.
    pub tolerance: f64,
}

impl Default for MixtureOptions {
    fn default() -> Self {
        MixtureOptions { components: 5, max_iterations: 200, tolerance: 1e-6 }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FitSummary {
    pub components: usize,
    pub iterations: usize,
    pub converged: bool,
    pub mean_log_likelihood: f64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Numeric {
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
    integer: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Slot {
    Num(usize),
    Cat { levels: Vec<String>, per_component: Vec<Vec<f64>> },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Mixture {
    names: Vec<String>,
    slots: Vec<Slot>,
    numeric: Vec<Numeric>,
    weights: Vec<f64>,
    means: Vec<DVector<f64>>,
    lowers: Vec<DMatrix<f64>>,
    pub summary: FitSummary,
    /// Row keys of the fitted table, for [`Mixture::sample_private`].
    #[serde(serialize_with = "crate::saved::sorted_rows")]
    real: FxHashSet<Vec<u64>>,
}

const REG_COVAR: f64 = 1e-6;

impl Mixture {
    pub fn fit(table: &Table, opts: MixtureOptions, seed: u64) -> Result<Mixture> {
        let n = table.n_rows();
        if opts.components == 0 {
            return Err(Error::invalid_arg("components", "must be at least 1"));
        }
        if opts.max_iterations == 0 {
            return Err(Error::invalid_arg("maxIterations", "must be at least 1"));
        }
        let k = opts.components;
        if n < 2 * k {
            return Err(Error::invalid_arg("table", format!("has {n} rows; a mixture of {k} components needs at least {}", 2 * k)));
        }
        let mut numeric = Vec::new();
        let mut data: Vec<Vec<f64>> = Vec::new();
        for c in &table.columns {
            reject_constant("table", c)?;
            if let Values::Numeric(v) = &c.values {
                let mean = v.iter().sum::<f64>() / n as f64;
                let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
                let (min, max) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                numeric.push(Numeric { mean, std, min, max, integer: v.iter().all(|x| x.fract() == 0.0) });
                data.push(v.iter().map(|x| (x - mean) / std).collect());
            }
        }
        if numeric.is_empty() {
            return Err(Error::invalid_arg("table", "the Gaussian mixture needs at least one numeric column"));
        }
        let d = numeric.len();
        let rows: Vec<DVector<f64>> = (0..n).map(|i| DVector::from_fn(d, |j, _| data[j][i])).collect();
        let mut r = rng(seed, stream_of(&["gmm.fit"]));
        let mut means = kmeans_pp(&rows, k, &mut r);
        let mut weights = vec![1.0 / k as f64; k];
        let mut lowers = vec![DMatrix::identity(d, d); k];
        // Initial responsibilities: hard assignment to the nearest seed.
        let mut resp = DMatrix::<f64>::zeros(n, k);
        for (i, x) in rows.iter().enumerate() {
            let best = (0..k).min_by(|&a, &b| (x - &means[a]).norm_squared().total_cmp(&(x - &means[b]).norm_squared())).unwrap_or(0);
            resp[(i, best)] = 1.0;
        }
        let (mut prev, mut ll, mut iterations, mut converged) = (f64::NEG_INFINITY, f64::NEG_INFINITY, 0, false);
        for it in 0..opts.max_iterations {
            m_step(&rows, &resp, &mut weights, &mut means, &mut lowers)?;
            ll = e_step(&rows, &weights, &means, &lowers, &mut resp);
            iterations = it + 1;
            if (ll - prev).abs() < opts.tolerance {
                converged = true;
                break;
            }
            prev = ll;
        }
        let mut slots = Vec::new();
        let mut ni = 0;
        for c in &table.columns {
            slots.push(match &c.values {
                Values::Numeric(_) => {
                    ni += 1;
                    Slot::Num(ni - 1)
                }
                Values::Categorical { codes, levels } => {
                    let per_component = (0..k)
                        .map(|j| {
                            let mut p = vec![0.0; levels.len()];
                            for (i, &code) in codes.iter().enumerate() {
                                p[code as usize] += resp[(i, j)];
                            }
                            let total: f64 = p.iter().sum();
                            // A component with no weight falls back to the overall frequencies.
                            if total <= 0.0 {
                                p.iter_mut().for_each(|x| *x = 0.0);
                                codes.iter().for_each(|&c| p[c as usize] += 1.0);
                            }
                            p
                        })
                        .collect();
                    Slot::Cat { levels: levels.clone(), per_component }
                }
            });
        }
        let names = table.columns.iter().map(|c| c.name.clone()).collect();
        let summary = FitSummary { components: k, iterations, converged, mean_log_likelihood: ll };
        Ok(Mixture { names, slots, numeric, weights, means, lowers, summary, real: crate::privacy::row_keys(table) })
    }

    /// `sample`, with every row that equals a real row redrawn; returns the table and how many were redrawn.
    pub fn sample_private(&self, rows: usize, seed: u64) -> Result<(Table, usize)> {
        crate::privacy::sample_without_copies(&self.real, rows, seed, |k, s| self.sample(k, s))
    }

    pub fn sample(&self, rows: usize, seed: u64) -> Result<Table> {
        if rows == 0 {
            return Err(Error::invalid_arg("rows", "must be a positive integer, got 0"));
        }
        let mut r = rng(seed, stream_of(&["gmm.sample"]));
        let pick = WeightedIndex::new(&self.weights).map_err(|e| Error::internal(format!("mixture weights: {e}")))?;
        let cat_pick: Vec<Option<Vec<WeightedIndex<f64>>>> = self
            .slots
            .iter()
            .map(|s| match s {
                Slot::Cat { per_component, .. } => {
                    Some(per_component.iter().map(|p| WeightedIndex::new(p).expect("non-empty, positive weights")).collect())
                }
                Slot::Num(_) => None,
            })
            .collect();
        let d = self.numeric.len();
        let mut num: Vec<Vec<f64>> = vec![Vec::with_capacity(rows); d];
        let mut cats: Vec<Vec<u32>> = vec![Vec::with_capacity(rows); self.slots.len()];
        let mut z = DVector::zeros(d);
        for _ in 0..rows {
            let j = pick.sample(&mut r);
            for zi in z.iter_mut() {
                *zi = r.sample(StandardNormal);
            }
            let x = &self.means[j] + &self.lowers[j] * &z;
            for (c, col) in num.iter_mut().enumerate() {
                let m = &self.numeric[c];
                let v = (x[c] * m.std + m.mean).clamp(m.min, m.max);
                col.push(if m.integer { v.round() } else { v });
            }
            for (s, picks) in cat_pick.iter().enumerate() {
                if let Some(p) = picks {
                    cats[s].push(p[j].sample(&mut r) as u32);
                }
            }
        }
        let mut num = num.into_iter().map(Some).collect::<Vec<_>>();
        let columns = self
            .slots
            .iter()
            .zip(&self.names)
            .zip(cats)
            .map(|((s, name), codes)| Column {
                name: name.clone(),
                values: match s {
                    Slot::Num(i) => Values::Numeric(num[*i].take().unwrap_or_default()),
                    Slot::Cat { levels, .. } => Values::Categorical { codes, levels: levels.clone() },
                },
            })
            .collect();
        Ok(Table { columns })
    }
}

fn kmeans_pp(rows: &[DVector<f64>], k: usize, r: &mut impl Rng) -> Vec<DVector<f64>> {
    let mut centres = vec![rows[r.gen_range(0..rows.len())].clone()];
    let mut d2: Vec<f64> = rows.iter().map(|x| (x - &centres[0]).norm_squared()).collect();
    while centres.len() < k {
        let next = match WeightedIndex::new(&d2) {
            Ok(w) => w.sample(r),
            Err(_) => r.gen_range(0..rows.len()), // every row already sits on a centre
        };
        centres.push(rows[next].clone());
        for (i, x) in rows.iter().enumerate() {
            d2[i] = d2[i].min((x - &centres[centres.len() - 1]).norm_squared());
        }
    }
    centres
}

fn m_step(
    rows: &[DVector<f64>],
    resp: &DMatrix<f64>,
    weights: &mut [f64],
    means: &mut [DVector<f64>],
    lowers: &mut [DMatrix<f64>],
) -> Result<()> {
    let (n, d) = (rows.len(), rows[0].len());
    for j in 0..weights.len() {
        let nk: f64 = resp.column(j).sum() + 10.0 * f64::EPSILON;
        weights[j] = nk / n as f64;
        let mut mu = DVector::zeros(d);
        for (i, x) in rows.iter().enumerate() {
            mu.axpy(resp[(i, j)], x, 1.0);
        }
        mu /= nk;
        let mut cov = DMatrix::zeros(d, d);
        for (i, x) in rows.iter().enumerate() {
            let dx = x - &mu;
            cov.ger(resp[(i, j)], &dx, &dx, 1.0);
        }
        cov /= nk;
        for t in 0..d {
            cov[(t, t)] += REG_COVAR;
        }
        lowers[j] = Cholesky::new(cov).ok_or_else(|| Error::internal("mixture covariance is not positive definite"))?.l();
        means[j] = mu;
    }
    Ok(())
}

/// Responsibilities in place; returns the mean log-likelihood.
fn e_step(rows: &[DVector<f64>], weights: &[f64], means: &[DVector<f64>], lowers: &[DMatrix<f64>], resp: &mut DMatrix<f64>) -> f64 {
    let d = rows[0].len() as f64;
    let k = weights.len();
    let consts: Vec<f64> = (0..k)
        .map(|j| weights[j].ln() - 0.5 * d * (2.0 * std::f64::consts::PI).ln() - lowers[j].diagonal().iter().map(|x| x.ln()).sum::<f64>())
        .collect();
    let mut total = 0.0;
    let mut lp = vec![0.0; k];
    for (i, x) in rows.iter().enumerate() {
        for j in 0..k {
            let y = lowers[j].solve_lower_triangular(&(x - &means[j])).unwrap_or_else(|| DVector::from_element(x.len(), f64::INFINITY));
            lp[j] = consts[j] - 0.5 * y.norm_squared();
        }
        let m = lp.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s = m + lp.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        for j in 0..k {
            resp[(i, j)] = (lp[j] - s).exp();
        }
        total += s;
    }
    total / rows.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bimodal(n: usize) -> Table {
        let mut r = rng(5, 0);
        let (mut x, mut y, mut c) = (vec![], vec![], vec![]);
        for i in 0..n {
            let a: f64 = r.sample(StandardNormal);
            let b: f64 = r.sample(StandardNormal);
            let hi = i % 3 == 0;
            x.push(if hi { 10.0 + a } else { -5.0 + 0.5 * a });
            y.push(if hi { 2.0 * a + b } else { -a + 0.3 * b });
            c.push(hi as u32);
        }
        Table::new(
            "t",
            vec![
                Column { name: "x".into(), values: Values::Numeric(x) },
                Column { name: "y".into(), values: Values::Numeric(y) },
                Column { name: "c".into(), values: Values::Categorical { codes: c, levels: vec!["lo".into(), "hi".into()] } },
            ],
        )
        .unwrap()
    }

    #[test]
    fn recovers_a_bimodal_table_and_its_category_link() {
        let t = bimodal(3000);
        let m = Mixture::fit(&t, MixtureOptions { components: 2, ..Default::default() }, 1).unwrap();
        assert!(m.summary.converged);
        let mut w = m.weights.clone();
        w.sort_by(f64::total_cmp);
        assert!((w[0] - 1.0 / 3.0).abs() < 0.03, "{w:?}");
        let s = m.sample(3000, 2).unwrap();
        let rep = crate::fidelity::report(&t, &s).unwrap();
        assert!(rep.columns.iter().all(|c| c.value < 0.06), "{:?}", rep.columns);
        assert!(rep.correlation.mean_abs_error < 0.05);
        // The category follows the mode of x: "hi" rows have x > 2.5.
        let (Values::Numeric(x), Values::Categorical { codes, .. }) = (&s.columns[0].values, &s.columns[2].values) else { panic!() };
        let agree = x.iter().zip(codes).filter(|(x, c)| (**x > 2.5) == (**c == 1)).count();
        assert!(agree as f64 > 0.97 * 3000.0, "{agree}");
        assert_eq!(s, m.sample(3000, 2).unwrap());
    }

    #[test]
    fn bad_options_and_tables() {
        let t = bimodal(10);
        assert!(Mixture::fit(&t, MixtureOptions { components: 0, ..Default::default() }, 1).unwrap_err().message.starts_with("components"));
        assert!(Mixture::fit(&t, MixtureOptions { components: 6, ..Default::default() }, 1).unwrap_err().message.starts_with("table"));
        let only_cat = Table { columns: vec![t.columns[2].clone()] };
        assert!(Mixture::fit(&only_cat, MixtureOptions { components: 1, ..Default::default() }, 1)
            .unwrap_err()
            .message
            .contains("numeric"));
    }
}
