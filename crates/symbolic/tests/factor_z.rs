//! Complete univariate factorization over Z: products expand back, factors are irreducible.
//! No test here depends on the clock: every limit that is not under test is lifted.

use num_bigint::BigInt;
use omnitide_symbolic::canon::{rationalize, Options};
use omnitide_symbolic::ops::{factor, factor_full};
use omnitide_symbolic::zfactor::{factor_sqfree_z, FactorLimits};

fn o() -> Options {
    let mut o = Options::default();
    o.limits.factor_time_ms = u64::MAX;
    o
}

/// Limits without a time cap (a busy machine must not change a result).
fn untimed() -> FactorLimits {
    FactorLimits {
        max_time: std::time::Duration::MAX,
        ..FactorLimits::default()
    }
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
    let fs = factor_sqfree_z(f, &untimed()).expect("within limits");
    let mut prod = v(&[1]);
    for g in &fs {
        prod = mul(&prod, g);
        let again = factor_sqfree_z(g, &untimed()).unwrap();
        assert_eq!(again, vec![g.clone()], "factor {g:?} of {f:?} is reducible");
    }
    assert_eq!(prod, f, "product of factors of {f:?}");
    // deterministic
    assert_eq!(factor_sqfree_z(f, &untimed()).unwrap(), fs);
    fs
}

/// The API result multiplied out equals the input.
fn api(src: &str) -> String {
    let (out, complete) = factor_full(src, &o()).unwrap();
    assert!(complete, "factor({src}) hit a limit");
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
    let f = mul(
        &mul(&v(&[1, 1, 0, 0, 1]), &v(&[3, 0, 1])),
        &v(&[-2, 0, 0, 1]),
    );
    assert_eq!(check(&f).len(), 3);
}

#[test]
fn cyclotomic_x12_minus_1() {
    let out = api("x^12 - 1");
    for f in [
        "x + 1",
        "x - 1",
        "x ^ 2 + 1",
        "x ^ 2 + x + 1",
        "x ^ 2 - x + 1",
        "x ^ 4 - x ^ 2 + 1",
    ] {
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
    let lim = untimed();
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
            let Some(fs) = factor_sqfree_z(&g, &lim) else {
                continue;
            };
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
    let lim = FactorLimits {
        max_degree: 4,
        ..FactorLimits::default()
    };
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

/// x^n - 1 = prod over d | n of the cyclotomic polynomials (SymPy 1.14: 5-16 ms each); these
/// took seconds or hit the 5 s cap before. Counted factors = number of divisors.
#[test]
fn large_cyclotomics_factor_completely() {
    for (n, divisors) in [(64, 7), (77, 4), (105, 8), (120, 16), (200, 12)] {
        let out = api(&format!("x^{n} - 1"));
        assert_eq!(out.matches('(').count(), divisors, "x^{n} - 1 = {out}");
    }
    // x^n + 1: the d | 2n with d not dividing n (for 90: 4, 12, 20, 36, 60, 180)
    let out = api("x^90 + 1");
    assert_eq!(out.matches('(').count(), 6, "{out}");
}

/// Products of several random irreducibles of degree 8..12 (degree ~40): many modular
/// factors, Hensel lifting to a large modulus, recombination of subsets.
#[test]
fn hensel_lifting_on_large_products() {
    let mut rng = Rng(0xfeed_beef_1234_5678);
    for round in 0..6 {
        let mut parts: Vec<Vec<BigInt>> = Vec::new();
        while parts.len() < 4 {
            let d = 8 + (rng.next() % 5) as usize;
            let mut c: Vec<i64> = (0..=d).map(|_| rng.small() * 7).collect();
            c[d] = 1 + (rng.next() % 4) as i64;
            if c[0] == 0 {
                c[0] = 3;
            }
            let g = v(&c);
            // (a candidate that is not square-free finds no good prime and gives None)
            let Some(fs) = factor_sqfree_z(&g, &untimed()) else {
                continue;
            };
            if fs.len() == 1 && fs[0] == g && !parts.contains(&g) {
                parts.push(g);
            }
        }
        let f = parts.iter().fold(v(&[1]), |a, g| mul(&a, g));
        let mut fs = check(&f);
        fs.sort();
        parts.sort();
        assert_eq!(fs, parts, "round {round}");
    }
}
