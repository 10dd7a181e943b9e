//! Gaussian copula: each column is mapped to normal scores through its
//! marginal, the scores' correlation matrix captures the dependence, and
//! sampling draws correlated normals (Cholesky factor) and maps them back.

use nalgebra::{Cholesky, DMatrix};
use omnitide_common::{Error, Result};
use rand::Rng;
use rand_distr::StandardNormal;
use rustc_hash::FxHashSet;

use crate::marginal::{pseudo_observations, Marginal};
use crate::normal;
use crate::rng::{rng, stream_of};
use crate::table::{reject_constant, Column, Table, Values};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Copula {
    pub names: Vec<String>,
    pub marginals: Vec<Marginal>,
    /// Correlation of the normal scores (d × d).
    pub correlation: DMatrix<f64>,
    /// Lower Cholesky factor of `correlation` (after any ridge needed to make it positive definite).
    lower: DMatrix<f64>,
    /// Row keys of the fitted table, for [`Copula::sample_private`].
    #[serde(serialize_with = "crate::saved::sorted_rows")]
    real: FxHashSet<Vec<u64>>,
}

impl Copula {
    /// Fits marginals and the copula on `table`. `seed` drives the uniform
    /// jitter that places categorical values inside their level's interval.
    pub fn fit(table: &Table, seed: u64) -> Result<Copula> {
        let n = table.n_rows();
        if n < 2 {
            return Err(Error::invalid_arg("table", "needs at least 2 rows to fit a copula"));
        }
        let mut names = Vec::new();
        let mut marginals = Vec::new();
        let mut scores: Vec<Vec<f64>> = Vec::new();
        for c in &table.columns {
            reject_constant("table", c)?;
            let m = Marginal::fit(&c.values);
            let u = match &c.values {
                Values::Numeric(v) => pseudo_observations(v),
                Values::Categorical { codes, .. } => {
                    let mut r = rng(seed, stream_of(&["copula.fit", &c.name]));
                    codes
                        .iter()
                        .map(|&k| {
                            let (lo, hi) = m.interval(k);
                            lo + r.gen::<f64>() * (hi - lo)
                        })
                        .collect()
                }
            };
            scores.push(u.into_iter().map(normal::inv_cdf).collect());
            names.push(c.name.clone());
            marginals.push(m);
        }
        let correlation = correlation_matrix(&scores);
        let lower = cholesky_with_ridge(&correlation)?;
        Ok(Copula { names, marginals, correlation, lower, real: crate::privacy::row_keys(table) })
    }

    /// `sample`, with every row that equals a real row redrawn; returns the table and how many were redrawn.
    pub fn sample_private(&self, rows: usize, seed: u64) -> Result<(Table, usize)> {
        crate::privacy::sample_without_copies(&self.real, rows, seed, |k, s| self.sample(k, s))
    }

    /// `rows` synthetic rows, column-major, in the fitted column order.
    pub fn sample(&self, rows: usize, seed: u64) -> Result<Table> {
        if rows == 0 {
            return Err(Error::invalid_arg("rows", "must be a positive integer, got 0"));
        }
        let d = self.names.len();
        let mut r = rng(seed, stream_of(&["copula.sample"]));
        let mut out: Vec<Vec<f64>> = vec![Vec::with_capacity(rows); d];
        let mut z = vec![0.0; d];
        for _ in 0..rows {
            for zi in z.iter_mut() {
                *zi = r.sample(StandardNormal);
            }
            for (i, col) in out.iter_mut().enumerate() {
                let mut x = 0.0;
                for (j, zj) in z.iter().enumerate().take(i + 1) {
                    x += self.lower[(i, j)] * zj;
                }
                col.push(self.marginals[i].quantile(normal::cdf(x)));
            }
        }
        let columns = out
            .into_iter()
            .zip(&self.marginals)
            .zip(&self.names)
            .map(|((v, m), name)| Column { name: name.clone(), values: values_of(m, v) })
            .collect();
        Ok(Table { columns })
    }
}

/// Sampled quantiles as column values (categorical quantiles are level codes).
pub(crate) fn values_of(m: &Marginal, v: Vec<f64>) -> Values {
    match m {
        Marginal::Numeric { .. } => Values::Numeric(v),
        Marginal::Categorical { levels, .. } => {
            Values::Categorical { codes: v.into_iter().map(|x| x as u32).collect(), levels: levels.clone() }
        }
    }
}

/// Pearson correlation of equally long columns; a constant column correlates 0 with the others.
pub fn correlation_matrix(cols: &[Vec<f64>]) -> DMatrix<f64> {
    let d = cols.len();
    let centred: Vec<(Vec<f64>, f64)> = cols
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / c.len() as f64;
            let dev: Vec<f64> = c.iter().map(|x| x - mean).collect();
            let norm = dev.iter().map(|x| x * x).sum::<f64>().sqrt();
            (dev, norm)
        })
        .collect();
    DMatrix::from_fn(d, d, |i, j| {
        if i == j {
            return 1.0;
        }
        let ((a, na), (b, nb)) = (&centred[i], &centred[j]);
        if *na == 0.0 || *nb == 0.0 {
            return 0.0;
        }
        (a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (na * nb)).clamp(-1.0, 1.0)
    })
}

/// Cholesky factor of a correlation matrix; perfectly collinear columns make it
/// singular, so shrink towards the identity until it factors.
fn cholesky_with_ridge(c: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let d = c.nrows();
    let mut eps = 0.0;
    while eps <= 1.0 {
        let m = c * (1.0 - eps) + DMatrix::identity(d, d) * eps;
        if let Some(ch) = Cholesky::new(m) {
            return Ok(ch.l());
        }
        eps = if eps == 0.0 { 1e-9 } else { eps * 10.0 };
    }
    Err(Error::internal("copula correlation matrix did not factor"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::Distribution;

    pub(crate) fn sample_table(n: usize, seed: u64) -> Table {
        let mut r = rng(seed, 0);
        let (mut a, mut b, mut k) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let x: f64 = StandardNormal.sample(&mut r);
            let e: f64 = StandardNormal.sample(&mut r);
            a.push(50.0 + 10.0 * x);
            b.push((0.8 * x + 0.6 * e).exp());
            k.push(if x > 0.5 {
                2
            } else if x > -0.5 {
                1
            } else {
                0
            });
        }
        Table::new(
            "t",
            vec![
                Column { name: "a".into(), values: Values::Numeric(a) },
                Column { name: "b".into(), values: Values::Numeric(b) },
                Column { name: "k".into(), values: Values::Categorical { codes: k, levels: vec!["lo".into(), "mid".into(), "hi".into()] } },
            ],
        )
        .unwrap()
    }

    #[test]
    fn keeps_marginals_and_correlation() {
        let t = sample_table(3000, 1);
        let c = Copula::fit(&t, 7).unwrap();
        let s = c.sample(3000, 8).unwrap();
        let rep = crate::fidelity::report(&t, &s).unwrap();
        for col in &rep.columns {
            assert!(col.value < 0.06, "{}: {} = {}", col.name, col.metric, col.value);
        }
        assert!(rep.correlation.mean_abs_error < 0.05, "{:?}", rep.correlation);
        assert_eq!(rep.privacy.exact_matches, 0);
    }

    #[test]
    fn same_seed_same_rows_and_other_seed_differs() {
        let t = sample_table(500, 2);
        let a = Copula::fit(&t, 1).unwrap().sample(200, 9).unwrap();
        let b = Copula::fit(&t, 1).unwrap().sample(200, 9).unwrap();
        let c = Copula::fit(&t, 1).unwrap().sample(200, 10).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn collinear_and_categorical_only_tables_still_fit() {
        let t = sample_table(400, 4);
        let Values::Numeric(a) = &t.columns[0].values else { panic!() };
        let twin = Column { name: "a2".into(), values: Values::Numeric(a.iter().map(|x| 2.0 * x + 1.0).collect()) };
        let c = Copula::fit(&Table { columns: vec![t.columns[0].clone(), twin] }, 1).unwrap();
        assert!((c.correlation[(0, 1)] - 1.0).abs() < 1e-9);
        let s = c.sample(500, 2).unwrap();
        let (Values::Numeric(x), Values::Numeric(y)) = (&s.columns[0].values, &s.columns[1].values) else { panic!() };
        // The ridge keeps the factorisation possible; the twin stays (almost) an affine copy.
        let rep = crate::fidelity::report(
            &Table {
                columns: vec![
                    t.columns[0].clone(),
                    Column { name: "a2".into(), values: Values::Numeric(a.iter().map(|x| 2.0 * x + 1.0).collect()) },
                ],
            },
            &s,
        )
        .unwrap();
        assert!(rep.correlation.max_abs_error < 0.01, "{:?}", rep.correlation);
        assert!(x.iter().zip(y).all(|(x, y)| x.is_finite() && y.is_finite()));
        let cats = Table { columns: vec![t.columns[2].clone()] };
        let s = Copula::fit(&cats, 1).unwrap().sample(3000, 1).unwrap();
        assert!(crate::fidelity::report(&t_only(&t, 2), &s).unwrap().columns[0].value < 0.05);
    }

    fn t_only(t: &Table, i: usize) -> Table {
        Table { columns: vec![t.columns[i].clone()] }
    }

    #[test]
    fn constant_column_is_rejected_by_name() {
        let mut t = sample_table(50, 3);
        t.columns.push(Column { name: "flat".into(), values: Values::Numeric(vec![1.0; 50]) });
        let e = Copula::fit(&t, 1).unwrap_err();
        assert!(e.message.starts_with("table.flat:"), "{}", e.message);
    }
}
