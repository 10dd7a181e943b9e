//! Complete univariate factorization over Z: products expand back, factors are irreducible.

use num_bigint::BigInt;
use omnitide_symbolic::canon::{rationalize, Options};
use omnitide_symbolic::ops::factor;
use omnitide_symbolic::zfactor::{factor_sqfree_z, FactorLimits};

fn o() -> Options {
    Options::default()
}

fn v(c: &[i64]) -> Vec<BigInt> {
    c.iter().map(|&x| BigInt::from(x)).collect()
}

fn mul(a: &[BigInt], b: &[BigInt]) -> Vec<BigInt> {
    let mut out = vec![BigInt::from(0); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Factors, checks the product and that every factor re-factors to itself; returns the factors.
fn check(f: &[BigInt]) -> Vec<Vec<BigInt>> {
    let fs = factor_sqfree_z(f, &FactorLimits::default()).expect("within limits");
    let mut prod = v(&[1]);
    for g in &fs {
        prod = mul(&prod, g);
        let again = factor_sqfree_z(g, &FactorLimits::default()).unwrap();
        assert_eq!(again, vec![g.clone()], "factor {g:?} of {f:?} is reducible");
    }
    assert_eq!(prod, f, "product of factors of {f:?}");
    // deterministic
    assert_eq!(factor_sqfree_z(f, &FactorLimits::default()).unwrap(), fs);
    fs
}

/// The API result multiplied out equals the input.
fn api(src: &str) -> String {
    let out = factor(src, &o()).unwrap();
    let a = rationalize(src, &o()).unwrap().0;
    let b = rationalize(&out, &o()).unwrap().0;
    assert_eq!(a, b, "factor({src}) = {out} does not expand back");
    out
}

#[test]
fn cubic_times_cubic() {
    assert_eq!(api("(x^3+x+1)*(x^3+2)"), "(x ^ 3 + 2) * (x ^ 3 + x + 1)");
    assert_eq!(check(&v(&[2, 2, 0, 3, 1, 0, 1])).len(), 2);
}

#[test]
fn quartic_quadratic_cubic() {
    let out = api("(x^4+x+1)*(x^2+3)*(x^3-2)");
    assert_eq!(out, "(x ^ 2 + 3) * (x ^ 3 - 2) * (x ^ 4 + x + 1)");
    let f = mul(&mul(&v(&[1, 1, 0, 0, 1]), &v(&[3, 0, 1])), &v(&[-2, 0, 0, 1]));
    assert_eq!(check(&f).len(), 3);
}

#[test]
fn cyclotomic_x12_minus_1() {
    let out = api("x^12 - 1");
    for f in ["x + 1", "x - 1", "x ^ 2 + 1", "x ^ 2 + x + 1", "x ^ 2 - x + 1", "x ^ 4 - x ^ 2 + 1"] {
        assert!(out.contains(&format!("({f})")), "{out} lacks {f}");
    }
    assert_eq!(out.matches('(').count(), 6, "{out}");
    // x^30 - 1 = Phi_1 Phi_2 Phi_3 Phi_5 Phi_6 Phi_10 Phi_15 Phi_30
    let out = api("x^30 - 1");
    assert_eq!(out.matches('(').count(), 8, "{out}");
    let mut f = vec![BigInt::from(0); 31];
    f[0] = BigInt::from(-1);
    f[30] = BigInt::from(1);
    let fs = check(&f);
    let degs: Vec<usize> = fs.iter().map(|g| g.len() - 1).collect();
    assert_eq!(degs, vec![1, 1, 2, 2, 4, 4, 8, 8]);
}

#[test]
fn irreducible_stays() {
    assert_eq!(api("x^4 - 10x^2 + 1"), "x ^ 4 - 10 * x ^ 2 + 1");
    assert_eq!(check(&v(&[1, 0, -10, 0, 1])).len(), 1);
    // Swinnerton-Dyer for sqrt2, sqrt3, sqrt5 (degree 8): reducible mod every prime
    let sd8 = v(&[576, 0, -960, 0, 352, 0, -40, 0, 1]);
    assert_eq!(check(&sd8).len(), 1);
    assert_eq!(check(&v(&[-1, -1, 0, 0, 0, 1])).len(), 1); // x^5 - x - 1
    assert_eq!(api("x^5 - x - 1"), "x ^ 5 - x - 1");
}

#[test]
fn repeated_and_non_monic() {
    let out = api("(x^3+x+1)^2*(2x^3+3)*(x-2)*7");
    assert_eq!(out, "7 * (x - 2) * (2 * x ^ 3 + 3) * (x ^ 3 + x + 1) ^ 2");
    let out = api("(3x^4 + 2x + 5)*(5x^5 - x^2 + 7)");
    assert_eq!(out.matches('(').count(), 2, "{out}");
    // homogeneous bivariate goes through the univariate path
    let out = api("(x^3 + x y^2 + y^3)*(x^3 + 2 y^3)");
    assert_eq!(out.matches('(').count(), 2, "{out}");
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn small(&mut self) -> i64 {
        (self.next() % 11) as i64 - 5
    }
}

#[test]
fn random_products() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let lim = FactorLimits { max_time: std::time::Duration::from_millis(500), ..FactorLimits::default() };
    for round in 0..60 {
        let k = 2 + (round % 2);
        let mut parts: Vec<Vec<BigInt>> = Vec::new();
        while parts.len() < k {
            let d = 2 + (rng.next() % 5) as usize; // degree 2..6
            let mut c: Vec<i64> = (0..=d).map(|_| rng.small()).collect();
            c[d] = 1 + (rng.next() % 3) as i64;
            if c[0] == 0 {
                c[0] = 1;
            }
            let g = v(&c);
            // keep only irreducible ones (by our own factoring, itself checked below)
            // (a non-square-free candidate exhausts the prime search and gives None)
            let Some(fs) = factor_sqfree_z(&g, &lim) else { continue };
            if fs.len() == 1 && fs[0] == g && !parts.contains(&g) {
                parts.push(g);
            }
        }
        let mut f = v(&[1]);
        for g in &parts {
            f = mul(&f, g);
        }
        let mut fs = check(&f);
        let mut want = parts.clone();
        fs.sort();
        want.sort();
        assert_eq!(fs, want, "round {round}");
    }
}

#[test]
fn limits_leave_input_unfactored() {
    let f = v(&[2, 2, 0, 3, 1, 0, 1]);
    let lim = FactorLimits { max_degree: 4, ..FactorLimits::default() };
    assert!(factor_sqfree_z(&f, &lim).is_none());
    let mut opts = o();
    opts.limits.factor_max_degree = 4;
    let out = factor("(x^3+x+1)*(x^3+2)", &opts).unwrap();
    assert_eq!(out, "x ^ 6 + x ^ 4 + 3 * x ^ 3 + 2 * x + 2");
    opts.limits.factor_max_degree = 200;
    opts.limits.factor_time_ms = 0;
    let out = factor("(x^3+x+1)*(x^3+2)", &opts).unwrap();
    assert_eq!(out, "x ^ 6 + x ^ 4 + 3 * x ^ 3 + 2 * x + 2");
}
