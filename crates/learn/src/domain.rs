//! Cross-domain tools: CORAL feature alignment (Sun, Feng & Saenko 2016), importance weights from
//! a domain classifier (Bickel et al. 2007), and Reptile meta-learning (Nichol et al. 2018).

use crate::linear::{Glm, GlmSpec, Loss};
use crate::mlp::Mlp;
use crate::preprocess::StandardScaler;
use crate::stats::Rng;
use omnitide_common::{Error, Result};

fn check(arg: &str, x: &[f64], d: usize) -> Result<usize> {
    if d == 0 || !x.len().is_multiple_of(d) || x.is_empty() {
        return Err(Error::invalid_arg(arg, format!("must be a non-empty row-major matrix with {d} columns")));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid_arg(arg, "must hold finite numbers only"));
    }
    Ok(x.len() / d)
}

fn mean_cov(x: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let mut mu = vec![0.0; d];
    for r in x.chunks(d) {
        for j in 0..d {
            mu[j] += r[j] / n as f64;
        }
    }
    let mut c = vec![0.0; d * d];
    for r in x.chunks(d) {
        for i in 0..d {
            let a = r[i] - mu[i];
            for j in i..d {
                c[i * d + j] += a * (r[j] - mu[j]) / (n.max(2) - 1) as f64;
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            c[i * d + j] = c[j * d + i];
        }
    }
    (mu, c)
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: (values, vectors as
/// columns). Our own: d is small (tens of features) and Jacobi is accurate for symmetric input.
fn sym_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 =
            (0..d).flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i * d + j] * m[i * d + j]).sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = m[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * d + q] - m[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (mkp, mkq) = (m[k * d + p], m[k * d + q]);
                    m[k * d + p] = c * mkp - s * mkq;
                    m[k * d + q] = s * mkp + c * mkq;
                }
                for k in 0..d {
                    let (mpk, mqk) = (m[p * d + k], m[q * d + k]);
                    m[p * d + k] = c * mpk - s * mqk;
                    m[q * d + k] = s * mpk + c * mqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| m[i * d + i]).collect(), v)
}

/// `V f(L) V^T` for a symmetric matrix.
fn sym_fn(a: &[f64], d: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let (l, v) = sym_eigen(a, d);
    let fl: Vec<f64> = l.iter().map(|x| f(x.max(0.0))).collect();
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = (0..d).map(|k| v[i * d + k] * fl[k] * v[j * d + k]).sum();
        }
    }
    out
}

/// CORAL: maps source features so their covariance (and mean) match the target's:
/// `x' = (x - mu_s) C_s^{-1/2} C_t^{1/2} + mu_t`, covariances regularised with a small ridge.
#[derive(Clone, Debug)]
pub struct Coral {
    d: usize,
    a: Vec<f64>,
    mu_s: Vec<f64>,
    mu_t: Vec<f64>,
}

impl Coral {
    pub fn fit(source: &[f64], target: &[f64], d: usize) -> Result<Self> {
        check("source", source, d)?;
        check("target", target, d)?;
        let (mu_s, mut cs) = mean_cov(source, d);
        let (mu_t, mut ct) = mean_cov(target, d);
        // The paper adds I for standardised features; a ridge relative to the features' own
        // scale does the same job whatever their units are.
        for c in [&mut cs, &mut ct] {
            let ridge = 1e-3 * (0..d).map(|i| c[i * d + i]).sum::<f64>() / d as f64 + 1e-12;
            for i in 0..d {
                c[i * d + i] += ridge;
            }
        }
        let ws = sym_fn(&cs, d, |x| 1.0 / x.sqrt().max(1e-12));
        let rt = sym_fn(&ct, d, f64::sqrt);
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                a[i * d + j] = (0..d).map(|k| ws[i * d + k] * rt[k * d + j]).sum();
            }
        }
        Ok(Self { d, a, mu_s, mu_t })
    }

    pub fn transform(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.d;
        check("x", x, d)?;
        let mut out = vec![0.0; x.len()];
        for (r, o) in x.chunks(d).zip(out.chunks_mut(d)) {
            for j in 0..d {
                o[j] = self.mu_t[j] + (0..d).map(|k| (r[k] - self.mu_s[k]) * self.a[k * d + j]).sum::<f64>();
            }
        }
        Ok(out)
    }
}

/// Importance weights for source rows, `p(target | x) / p(source | x) * n_s / n_t`, from an
/// online logistic domain classifier (scaled features, `epochs` shuffled passes), clipped to
/// [1/clip, clip] so a few rows cannot dominate.
pub fn importance_weights(source: &[f64], target: &[f64], d: usize, epochs: usize, clip: f64, seed: u64) -> Result<Vec<f64>> {
    let ns = check("source", source, d)?;
    let nt = check("target", target, d)?;
    if !(clip.is_finite() && clip >= 1.0) {
        return Err(Error::invalid_arg("clip", "must be a finite number >= 1"));
    }
    let spec: GlmSpec = serde_json::from_str("{}").expect("defaults");
    let mut clf = Glm::new(Loss::Log, &spec, d)?;
    let mut sc = StandardScaler::new(d);
    for r in source.chunks(d).chain(target.chunks(d)) {
        sc.learn(r);
    }
    let rows: Vec<(&[f64], f64)> = source.chunks(d).map(|r| (r, 0.0)).chain(target.chunks(d).map(|r| (r, 1.0))).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = Rng::new(seed);
    let mut buf = vec![0.0; d];
    for _ in 0..epochs.max(1) {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for &i in &order {
            sc.transform(rows[i].0, &mut buf);
            // Balance the classes so the prior does not swamp the odds.
            let w = if rows[i].1 == 1.0 { ns as f64 / nt as f64 } else { 1.0 };
            clf.learn(&buf, rows[i].1, w);
        }
    }
    Ok(source
        .chunks(d)
        .map(|r| {
            sc.transform(r, &mut buf);
            let p = clf.mean(&buf).clamp(1e-6, 1.0 - 1e-6);
            (p / (1.0 - p)).clamp(1.0 / clip, clip)
        })
        .collect())
}

/// Reptile: for `iterations`, draw a task, take `inner_steps` passes of SGD over its points from
/// the current initialisation, and move the initialisation `epsilon` of the way to the result.
pub fn reptile(
    model: &mut Mlp,
    iterations: usize,
    inner_steps: usize,
    epsilon: f64,
    mut task: impl FnMut(&mut Rng) -> (Vec<f64>, Vec<f64>),
    seed: u64,
) -> Result<()> {
    if !(epsilon > 0.0 && epsilon <= 1.0) {
        return Err(Error::invalid_arg("epsilon", "must be in (0, 1]"));
    }
    let mut rng = Rng::new(seed);
    let d = model.n_inputs();
    for it in 0..iterations {
        let theta = model.params();
        let (xs, ys) = task(&mut rng);
        for _ in 0..inner_steps {
            for (r, y) in xs.chunks(d).zip(&ys) {
                model.learn(r, *y);
            }
        }
        let phi = model.params();
        // Linearly annealed outer step, as in the paper.
        let eps = epsilon * (1.0 - it as f64 / iterations as f64);
        let next: Vec<f64> = theta.iter().zip(&phi).map(|(t, p)| t + eps * (p - t)).collect();
        model.set_params(&next)?;
    }
    Ok(())
}

/// Few-shot adaptation: `steps` SGD passes over (xs, ys).
pub fn adapt(model: &mut Mlp, xs: &[f64], ys: &[f64], steps: usize) -> Result<()> {
    let d = model.n_inputs();
    if check("x", xs, d)? != ys.len() {
        return Err(Error::invalid_arg("y", "needs one target per row"));
    }
    for _ in 0..steps {
        for (r, y) in xs.chunks(d).zip(ys) {
            model.learn(r, *y);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coral_matches_target_covariance() {
        let mut rng = Rng::new(1);
        let src: Vec<f64> = (0..2000)
            .flat_map(|_| {
                let a = rng.normal();
                [a * 3.0, 0.5 * a + rng.normal()]
            })
            .collect();
        let tgt: Vec<f64> = (0..2000).flat_map(|_| [rng.normal() + 5.0, rng.normal() * 2.0]).collect();
        let c = Coral::fit(&src, &tgt, 2).unwrap();
        let out = c.transform(&src).unwrap();
        let (mu, cov) = mean_cov(&out, 2);
        let (mut_, covt) = mean_cov(&tgt, 2);
        for j in 0..2 {
            assert!((mu[j] - mut_[j]).abs() < 1e-9);
        }
        for k in 0..4 {
            assert!((cov[k] - covt[k]).abs() < 0.02 * covt[0].max(covt[3]), "{cov:?} vs {covt:?}");
        }
    }
}
