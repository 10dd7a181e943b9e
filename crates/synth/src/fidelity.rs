//! How close a synthetic table is to the real one, and whether it leaks it.
//!
//! - per column: two-sample Kolmogorov–Smirnov statistic (numeric) or total
//!   variation distance of level frequencies (categorical), both in [0, 1],
//!   0 = identical (SDV's KSComplement / TVComplement are 1 minus these);
//! - correlation: mean and max absolute difference of the Pearson correlation
//!   matrices of the numeric columns;
//! - privacy: synthetic rows that equal a real row in every column, and the
//!   distance from synthetic rows to their closest real record (numeric columns
//!   scaled by the real range, a categorical mismatch counts 1), next to the
//!   same distance between real rows as the baseline.

use omnitide_common::{Error, Result};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::copula::correlation_matrix;
use crate::table::{Table, Values};

/// Rows compared in the distance-to-closest-record check (quadratic cost).
pub const DCR_ROWS: usize = 1000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnFidelity {
    pub name: String,
    /// `"ks"` or `"tvd"`.
    pub metric: &'static str,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelationError {
    pub pairs: usize,
    pub mean_abs_error: f64,
    pub max_abs_error: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Privacy {
    pub exact_matches: usize,
    pub synthetic_rows: usize,
    /// Synthetic rows checked for their distance to the closest real record.
    pub dcr_rows: usize,
    pub dcr_min: f64,
    pub dcr_p05: f64,
    pub dcr_median: f64,
    /// Median distance of a real row to its nearest other real row.
    pub real_nn_median: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FidelityReport {
    pub columns: Vec<ColumnFidelity>,
    /// Mean of the per-column values.
    pub mean_column_distance: f64,
    pub correlation: CorrelationError,
    pub privacy: Privacy,
}

/// Compares `synthetic` with `real`; the synthetic table must have the real columns (by name, same kinds).
pub fn report(real: &Table, synthetic: &Table) -> Result<FidelityReport> {
    let mut columns = Vec::new();
    let mut real_num = Vec::new();
    let mut syn_num = Vec::new();
    // Per column: a key function giving each row a comparable u64 (category codes remapped to real codes).
    let mut keys: Vec<(Vec<u64>, Vec<u64>)> = Vec::new();
    let mut scaled: Vec<(Vec<f64>, Vec<f64>, bool)> = Vec::new();
    for rc in &real.columns {
        let arg = format!("synthetic.{}", rc.name);
        let sc = synthetic.column(&rc.name).ok_or_else(|| Error::invalid_arg(&arg, "is missing (the real table has it)"))?;
        match (&rc.values, &sc.values) {
            (Values::Numeric(r), Values::Numeric(s)) => {
                columns.push(ColumnFidelity { name: rc.name.clone(), metric: "ks", value: ks_statistic(r, s) });
                real_num.push(r.clone());
                syn_num.push(s.clone());
                keys.push((r.iter().map(|x| x.to_bits()).collect(), s.iter().map(|x| x.to_bits()).collect()));
                let (lo, hi) = r.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                let span = if hi > lo { hi - lo } else { 1.0 };
                scaled.push((r.iter().map(|x| (x - lo) / span).collect(), s.iter().map(|x| (x - lo) / span).collect(), false));
            }
            (Values::Categorical { codes: rc_, levels: rl }, Values::Categorical { codes: sc_, levels: sl }) => {
                let index: FxHashMap<&str, u64> = rl.iter().enumerate().map(|(i, l)| (l.as_str(), i as u64)).collect();
                let remap: Vec<u64> = sl.iter().map(|l| index.get(l.as_str()).copied().unwrap_or(u64::MAX)).collect();
                let r_keys: Vec<u64> = rc_.iter().map(|&k| k as u64).collect();
                let s_keys: Vec<u64> = sc_.iter().map(|&k| remap[k as usize]).collect();
                columns.push(ColumnFidelity { name: rc.name.clone(), metric: "tvd", value: tvd(&r_keys, &s_keys) });
                scaled.push((r_keys.iter().map(|&k| k as f64).collect(), s_keys.iter().map(|&k| k as f64).collect(), true));
                keys.push((r_keys, s_keys));
            }
            _ => return Err(Error::invalid_arg(&arg, "has a different kind (numeric vs categorical) than the real column")),
        }
    }
    let mean_column_distance = columns.iter().map(|c| c.value).sum::<f64>() / columns.len() as f64;
    Ok(FidelityReport {
        columns,
        mean_column_distance,
        correlation: correlation_error(&real_num, &syn_num),
        privacy: privacy(&keys, &scaled),
    })
}

/// Largest gap between the two empirical CDFs.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// Half the L1 distance between the two frequency distributions.
pub fn tvd(a: &[u64], b: &[u64]) -> f64 {
    let mut freq: FxHashMap<u64, (f64, f64)> = FxHashMap::default();
    for &k in a {
        freq.entry(k).or_default().0 += 1.0 / a.len() as f64;
    }
    for &k in b {
        freq.entry(k).or_default().1 += 1.0 / b.len() as f64;
    }
    0.5 * freq.values().map(|(p, q)| (p - q).abs()).sum::<f64>()
}

fn correlation_error(real: &[Vec<f64>], syn: &[Vec<f64>]) -> CorrelationError {
    let d = real.len();
    if d < 2 {
        return CorrelationError { pairs: 0, mean_abs_error: 0.0, max_abs_error: 0.0 };
    }
    let (cr, cs) = (correlation_matrix(real), correlation_matrix(syn));
    let mut errs = Vec::new();
    for i in 0..d {
        for j in 0..i {
            errs.push((cr[(i, j)] - cs[(i, j)]).abs());
        }
    }
    CorrelationError {
        pairs: errs.len(),
        mean_abs_error: errs.iter().sum::<f64>() / errs.len() as f64,
        max_abs_error: errs.iter().cloned().fold(0.0, f64::max),
    }
}

fn privacy(keys: &[(Vec<u64>, Vec<u64>)], scaled: &[(Vec<f64>, Vec<f64>, bool)]) -> Privacy {
    let (nr, ns) = (keys[0].0.len(), keys[0].1.len());
    let row = |side: usize, i: usize| -> Vec<u64> { keys.iter().map(|k| if side == 0 { k.0[i] } else { k.1[i] }).collect() };
    let real: FxHashSet<Vec<u64>> = (0..nr).map(|i| row(0, i)).collect();
    let exact_matches = (0..ns).filter(|&i| real.contains(&row(1, i))).count();
    let dist = |i: usize, from_syn: bool, j: usize| -> f64 {
        scaled
            .iter()
            .map(|(r, s, cat)| {
                let a = if from_syn { s[i] } else { r[i] };
                let dv = if *cat { (a != r[j]) as u8 as f64 } else { a - r[j] };
                dv * dv
            })
            .sum::<f64>()
            .sqrt()
    };
    // Real rows are compared against an evenly spaced subset so the cost stays bounded.
    let real_sub: Vec<usize> = spaced(nr, DCR_ROWS * 4);
    let nearest = |i: usize, from_syn: bool| -> f64 {
        real_sub.iter().filter(|&&j| from_syn || j != i).map(|&j| dist(i, from_syn, j)).fold(f64::INFINITY, f64::min)
    };
    let mut dcr: Vec<f64> = spaced(ns, DCR_ROWS).into_iter().map(|i| nearest(i, true)).collect();
    let mut base: Vec<f64> = spaced(nr, DCR_ROWS).into_iter().map(|i| nearest(i, false)).filter(|d| d.is_finite()).collect();
    dcr.sort_by(f64::total_cmp);
    base.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| if v.is_empty() { 0.0 } else { v[((v.len() - 1) as f64 * p).round() as usize] };
    Privacy {
        exact_matches,
        synthetic_rows: ns,
        dcr_rows: dcr.len(),
        dcr_min: q(&dcr, 0.0),
        dcr_p05: q(&dcr, 0.05),
        dcr_median: q(&dcr, 0.5),
        real_nn_median: q(&base, 0.5),
    }
}

/// Up to `k` indices spread evenly over `0..n`.
fn spaced(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    (0..k).map(|i| i * n / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Column;

    #[test]
    fn ks_and_tvd_on_known_inputs() {
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        assert!((ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]) - 0.5).abs() < 1e-12);
        assert!((tvd(&[0, 0, 1, 1], &[0, 1, 1, 1]) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn copying_the_real_table_is_caught() {
        let t = Table::new(
            "t",
            vec![
                Column { name: "x".into(), values: Values::Numeric(vec![1.0, 2.0, 3.0, 4.0]) },
                Column { name: "c".into(), values: Values::Categorical { codes: vec![0, 1, 0, 1], levels: vec!["a".into(), "b".into()] } },
            ],
        )
        .unwrap();
        let r = report(&t, &t).unwrap();
        assert_eq!(r.privacy.exact_matches, 4);
        assert_eq!(r.privacy.dcr_min, 0.0);
        assert_eq!(r.mean_column_distance, 0.0);
        // Same rows with levels listed in another order still match (levels are compared by name).
        let mut s = t.clone();
        s.columns[1].values = Values::Categorical { codes: vec![1, 0, 1, 0], levels: vec!["b".into(), "a".into()] };
        assert_eq!(report(&t, &s).unwrap().privacy.exact_matches, 4);
    }
}
