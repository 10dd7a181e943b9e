//! The standard normal CDF and its inverse. `libm::erfc` gives the CDF; the
//! inverse is Acklam's rational approximation refined by one Halley step
//! (relative error ~1e-15), which avoids pulling a statistics crate in for one
//! function.

use std::f64::consts::{PI, SQRT_2};

pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

// Acklam's published coefficients, kept digit for digit.
#[allow(clippy::excessive_precision)]
const A: [f64; 6] = [
    -3.969683028665376e+01,
    2.209460984245205e+02,
    -2.759285104469687e+02,
    1.383577518672690e+02,
    -3.066479806614716e+01,
    2.506628277459239e+00,
];
#[allow(clippy::excessive_precision)]
const B: [f64; 5] = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155833025e+01];
#[allow(clippy::excessive_precision)]
const C: [f64; 6] = [
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e+00,
    -2.549732539343734e+00,
    4.374664141464968e+00,
    2.938163982698783e+00,
];
#[allow(clippy::excessive_precision)]
const D: [f64; 4] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];

/// Φ⁻¹(p), with `p` clamped to [1e-15, 1 - 1e-15] so the result stays finite.
pub fn inv_cdf(p: f64) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let e = cdf(x) - p;
    let u = e * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_round_trips_and_matches_known_quantiles() {
        assert!((inv_cdf(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((inv_cdf(0.5)).abs() < 1e-15);
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            assert!((cdf(inv_cdf(p)) - p).abs() < 1e-13, "p={p}");
        }
        assert!(inv_cdf(0.0).is_finite() && inv_cdf(1.0).is_finite());
    }
}
