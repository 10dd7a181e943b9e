//! Running statistics with River's update formulas (same operation order, so the same
//! floating-point results), and the Gaussian helpers the models share.

use crate::codec::{Dec, Enc};
use omnitide_common::Result;

/// Weighted running mean (`river.stats.Mean`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    pub n: f64,
    pub mean: f64,
}

impl Mean {
    #[inline]
    pub fn update(&mut self, x: f64, w: f64) {
        self.n += w;
        self.mean += (w / self.n) * (x - self.mean);
    }
}

/// Running variance (`river.stats.Var`, Welford) with `ddof`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Var {
    pub mean: Mean,
    pub s: f64,
    pub ddof: f64,
}

impl Var {
    pub fn new(ddof: f64) -> Self {
        Self { mean: Mean::default(), s: 0.0, ddof }
    }
    #[inline]
    pub fn update(&mut self, x: f64, w: f64) {
        let old = self.mean.mean;
        self.mean.update(x, w);
        self.s += w * (x - old) * (x - self.mean.mean);
    }
    #[inline]
    pub fn n(&self) -> f64 {
        self.mean.n
    }
    pub fn get(&self) -> f64 {
        if self.mean.n > self.ddof {
            self.s / (self.mean.n - self.ddof)
        } else {
            0.0
        }
    }
    /// Density of N(mean, var) at `x` (`river.proba.Gaussian.__call__`); 0 without spread.
    pub fn pdf(&self, x: f64) -> f64 {
        let n = self.mean.n;
        if n > self.ddof {
            let variance = self.s / (n - self.ddof);
            if variance > 0.0 {
                let sigma = variance.sqrt();
                let z = (x - self.mean.mean) / sigma;
                return (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt() / sigma;
            }
        }
        0.0
    }
    /// `river.proba.Gaussian.log_pdf`: -inf without spread.
    pub fn log_pdf(&self, x: f64) -> f64 {
        let n = self.mean.n;
        if n > self.ddof {
            let variance = self.s / (n - self.ddof);
            if variance > 0.0 {
                let d = x - self.mean.mean;
                return d * d / (-2.0 * variance) - HALF_LOG_TAU - 0.5 * variance.ln();
            }
        }
        f64::NEG_INFINITY
    }
    /// `river.proba.Gaussian.cdf`: Python raises ZeroDivisionError for sigma 0 and River maps it to 0.
    pub fn cdf(&self, x: f64) -> f64 {
        // River takes sigma as `var ** 0.5` (pow, not sqrt).
        let sigma = self.get().powf(0.5);
        if sigma == 0.0 {
            return 0.0;
        }
        norm_cdf((x - self.mean.mean) / sigma)
    }
    pub fn save(&self, e: &mut Enc) {
        e.f64(self.mean.n);
        e.f64(self.mean.mean);
        e.f64(self.s);
        e.f64(self.ddof);
    }
    pub fn load(d: &mut Dec) -> Result<Self> {
        Ok(Self { mean: Mean { n: d.f64()?, mean: d.f64()? }, s: d.f64()?, ddof: d.f64()? })
    }
}

/// `0.5 * math.log(math.tau)` as Python computes it.
const HALF_LOG_TAU: f64 = 0.918_938_533_204_672_7;

pub fn norm_cdf(z: f64) -> f64 {
    0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

/// `log(sum(exp(v)))` computed stably.
pub fn logsumexp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// The first index holding the largest value (Python's `max(d, key=d.get)` on an ordered dict).
pub fn argmax_first(v: impl Iterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, x) in v.enumerate() {
        match best {
            Some((_, b)) if !(x > b) => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|(i, _)| i)
}

/// Deterministic xorshift64* generator. Our own so its state is a single `u64` that saves with the
/// model (a restored model continues the exact random sequence).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed so small seeds still give well-mixed states; never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f64()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.f64() * n as f64) as usize % n.max(1)
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-300);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_matches_two_pass() {
        let xs = [6.0, 7.0, 1.5, -2.0, 10.25];
        let mut v = Var::new(1.0);
        for x in xs {
            v.update(x, 1.0);
        }
        let m = xs.iter().sum::<f64>() / 5.0;
        let s2 = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 4.0;
        assert!((v.get() - s2).abs() < 1e-12);
        assert!((v.mean.mean - m).abs() < 1e-12);
        // River's doc example: N(6.5, 0.707) at 6.5 is 0.564189.
        let mut g = Var::new(1.0);
        g.update(6.0, 1.0);
        g.update(7.0, 1.0);
        assert!((g.pdf(6.5) - 0.564189).abs() < 1e-6);
        assert!((g.log_pdf(6.5) - g.pdf(6.5).ln()).abs() < 1e-12);
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-15);
        assert_eq!(Var::new(1.0).cdf(3.0), 0.0);
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax_first([0.5, 0.5].into_iter()), Some(0));
        assert_eq!(argmax_first([0.2, 0.7, 0.7].into_iter()), Some(1));
        assert_eq!(argmax_first(std::iter::empty()), None);
    }
}
