//! Complete factorization of square-free primitive univariate integer polynomials, as every
//! CAS does it (Zassenhaus with Hensel lifting):
//!
//! 1. `x^n ± 1` is split into cyclotomic polynomials directly (they are irreducible), as
//!    SymPy and Maxima do; the general method would meet many modular factors there.
//! 2. Otherwise a few small primes `p` (with `f` square-free mod `p`) are tried and the one
//!    giving the fewest modular factors is kept ([`modp`]: distinct-degree and Cantor–Zassenhaus
//!    splitting over word-size F_p).
//! 3. The modular factors are Hensel-lifted ([`hensel`]) modulo `p^(2^j)` above twice a
//!    Mignotte bound for the coefficients of `lc(f) * g` (any factor `g`).
//! 4. Subsets of increasing size are recombined; a constant-term test rejects most before the
//!    exact trial division.
//!
//! Polynomials are coefficient vectors, lowest degree first.

pub mod hensel;
pub mod modp;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::time::{Duration, Instant};

/// Caps on the factorization work; beyond them the input is returned unfactored.
#[derive(Clone, Debug)]
pub struct FactorLimits {
    pub max_degree: usize,
    pub max_time: Duration,
    pub max_subsets: u64,
    /// The whole operation's deadline (`limits.timeMs`), if any.
    pub deadline: Option<Instant>,
}

impl Default for FactorLimits {
    fn default() -> Self {
        FactorLimits { max_degree: 200, max_time: Duration::from_secs(5), max_subsets: 1 << 18, deadline: None }
    }
}

impl From<&crate::poly::Limits> for FactorLimits {
    fn from(l: &crate::poly::Limits) -> Self {
        FactorLimits {
            max_degree: l.factor_max_degree,
            max_time: Duration::from_millis(l.factor_time_ms),
            deadline: l.deadline,
            ..FactorLimits::default()
        }
    }
}

type P = Vec<BigInt>;

fn trim(mut a: P) -> P {
    while a.last().is_some_and(|c| c.is_zero()) {
        a.pop();
    }
    a
}

fn deg(a: &P) -> isize {
    a.len() as isize - 1
}

struct Budget {
    start: Instant,
    lim: FactorLimits,
}
impl Budget {
    fn ok(&self) -> bool {
        self.start.elapsed() <= self.lim.max_time && self.lim.deadline.is_none_or(|d| Instant::now() <= d)
    }
}

/// Exact division over Z; None if not divisible.
pub fn div_z(a: &P, b: &P) -> Option<P> {
    let mut r = a.clone();
    if r.len() < b.len() {
        return None;
    }
    let lb = b.last().unwrap();
    let mut q = vec![BigInt::zero(); r.len() - b.len() + 1];
    while r.len() >= b.len() && !r.is_empty() {
        let k = r.len() - b.len();
        let (c, rm) = r.last().unwrap().div_rem(lb);
        if !rm.is_zero() {
            return None;
        }
        for (j, bj) in b.iter().enumerate() {
            r[k + j] -= &c * bj;
        }
        q[k] = c;
        r = trim(r);
    }
    if r.is_empty() {
        Some(trim(q))
    } else {
        None
    }
}

fn primitive_z(a: &P) -> P {
    let mut g = BigInt::zero();
    for c in a {
        g = g.gcd(c);
    }
    let mut out: P = a.iter().map(|c| c / &g).collect();
    if out.last().is_some_and(|c| c.is_negative()) {
        out = out.iter().map(|c| -c).collect();
    }
    out
}

fn next_comb(idx: &mut [usize], r: usize) -> bool {
    let k = idx.len();
    let mut i = k;
    while i > 0 {
        i -= 1;
        if idx[i] < r - k + i {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

fn sym(c: &BigInt, m: &BigInt, half: &BigInt) -> BigInt {
    let c = c.mod_floor(m);
    if &c > half {
        c - m
    } else {
        c
    }
}

/// The cyclotomic polynomial Φ_d (memoised in `memo`, indexed by d).
fn cyclotomic(d: usize, memo: &mut Vec<Option<P>>) -> P {
    if let Some(Some(p)) = memo.get(d) {
        return p.clone();
    }
    let mut f: P = vec![BigInt::zero(); d + 1];
    f[0] = BigInt::from(-1);
    f[d] = BigInt::one();
    for e in 1..d {
        if d.is_multiple_of(e) {
            let c = cyclotomic(e, memo);
            f = div_z(&f, &c).expect("cyclotomic divisor");
        }
    }
    if memo.len() <= d {
        memo.resize(d + 1, None);
    }
    memo[d] = Some(f.clone());
    f
}

/// `x^n - 1 = ∏_{d | n} Φ_d`, `x^n + 1 = ∏_{d | 2n, d ∤ n} Φ_d`; None if `f` is not `x^n ± 1`.
fn cyclotomic_split(f: &P) -> Option<Vec<P>> {
    let n = f.len() - 1;
    if n < 2 || !f[n].is_one() || !f[0].abs().is_one() || f[1..n].iter().any(|c| !c.is_zero()) {
        return None;
    }
    let minus = f[0].is_negative();
    let mut memo = Vec::new();
    let mut out = Vec::new();
    let m = if minus { n } else { 2 * n };
    for d in 1..=m {
        if m % d == 0 && (minus || !n.is_multiple_of(d)) {
            out.push(cyclotomic(d, &mut memo));
        }
    }
    Some(out)
}

/// Square-free primitive `f` reduced mod `p`, if `p` keeps the degree and square-freeness.
fn good_reduction(f: &P, p: u64) -> Option<modp::Pp> {
    let pb = BigInt::from(p);
    let fm = modp::trim(f.iter().map(|c| c.mod_floor(&pb).to_u64().unwrap()).collect());
    if fm.len() != f.len() {
        return None;
    }
    let fm = modp::monic(&fm, p);
    let g = modp::gcd(&fm, &modp::derivative(&fm, p), p);
    (g.len() == 1).then_some(fm)
}

/// Factors a square-free primitive integer polynomial (coefficients lowest first, degree >= 1,
/// positive leading coefficient) into irreducibles over Z. Returns None if a limit was hit.
pub fn factor_sqfree_z(f: &[BigInt], lim: &FactorLimits) -> Option<Vec<Vec<BigInt>>> {
    let f: P = trim(f.to_vec());
    let n = deg(&f);
    if n <= 1 {
        return Some(vec![f]);
    }
    if n as usize > lim.max_degree {
        return None;
    }
    if let Some(mut fs) = cyclotomic_split(&f) {
        fs.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        return Some(fs);
    }
    let b = Budget { start: Instant::now(), lim: lim.clone() };
    let mut alive = || b.ok();
    let lc = f.last().unwrap().clone();
    // the prime with the fewest modular factors among the first few good ones
    let mut best: Option<(u64, modp::Pp, usize)> = None;
    let mut good = 0;
    let mut bad = 0;
    let mut p = 3u64;
    // a square-free f stays square-free modulo all primes but the divisors of its
    // discriminant; 300 bad primes in a row means f is (almost surely) not square-free
    while good < 5 && bad < 300 {
        p += 2;
        if !b.ok() {
            return None;
        }
        if !modp::is_prime(p) || (&lc % p).is_zero() {
            continue;
        }
        let Some(fm) = good_reduction(&f, p) else {
            bad += 1;
            continue;
        };
        good += 1;
        let count = modp::count_factors(&fm, p, &mut alive)?;
        if count == 1 {
            return Some(vec![primitive_z(&f)]);
        }
        if best.as_ref().is_none_or(|b| count < b.2) {
            best = Some((p, fm, count));
        }
    }
    let (p, fm, _) = best?;
    let mods = modp::factor_monic(&fm, p, &mut alive)?;
    // Mignotte: every coefficient of lc * g (g | f) is at most |lc| 2^n ||f||_2
    let norm2: BigInt = f.iter().map(|c| c * c).sum();
    let bound: BigInt = lc.abs() * (BigInt::one() << (n as usize)) * (norm2.sqrt() + 1u32);
    let mut m = BigInt::from(p);
    let mut levels = 0u32;
    while m <= 2u32 * &bound {
        m = &m * &m;
        levels += 1;
    }
    let lc_inv = {
        let e = lc.extended_gcd(&m);
        e.x.mod_floor(&m)
    };
    let monic_f: P = f.iter().map(|c| (c * &lc_inv).mod_floor(&m)).collect();
    let mut mods = hensel::lift(&monic_f, &mods, p, levels, &m, &mut alive)?;
    recombine(f, &mut mods, &m, lim, &b)
}

fn recombine(f: P, mods: &mut Vec<P>, m: &BigInt, lim: &FactorLimits, b: &Budget) -> Option<Vec<P>> {
    mods.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let half: BigInt = m / 2u32;
    let mut rest = f;
    let mut out: Vec<P> = Vec::new();
    let mut subsets_tried: u64 = 0;
    let mut k = 1;
    while 2 * k <= mods.len() {
        let r = mods.len();
        let mut found = false;
        let mut idx: Vec<usize> = (0..k).collect();
        let lcr = rest.last().unwrap().clone();
        let target0 = &lcr * &rest[0];
        loop {
            subsets_tried += 1;
            if subsets_tried > lim.max_subsets || (subsets_tried.is_multiple_of(64) && !b.ok()) {
                return None;
            }
            // constant-term test before building the candidate
            let mut c0 = lcr.clone();
            for &i in &idx {
                c0 = (c0 * &mods[i][0]).mod_floor(m);
            }
            let c0 = sym(&c0, m, &half);
            let plausible = if rest[0].is_zero() { true } else { !c0.is_zero() && (&target0 % &c0).is_zero() };
            if plausible {
                let mut g: P = vec![lcr.mod_floor(m)];
                for &i in &idx {
                    g = hensel::mul(&g, &mods[i], m);
                }
                let g = primitive_z(&trim(g.iter().map(|c| sym(c, m, &half)).collect()));
                if let Some(q) = div_z(&rest, &g) {
                    out.push(g);
                    rest = q;
                    for &i in idx.iter().rev() {
                        mods.remove(i);
                    }
                    found = true;
                    break;
                }
            }
            if !next_comb(&mut idx, r) {
                break;
            }
        }
        if !found {
            k += 1;
        }
    }
    let rest = primitive_z(&rest);
    if deg(&rest) > 0 {
        out.push(rest);
    }
    out.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(c: &[i64]) -> P {
        c.iter().map(|&x| BigInt::from(x)).collect()
    }

    #[test]
    fn splits_cubics() {
        // (x^3+x+1)(x^3+2) = x^6 + x^4 + 3x^3 + 2x + 2
        let f = v(&[2, 2, 0, 3, 1, 0, 1]);
        let fs = factor_sqfree_z(&f, &FactorLimits::default()).unwrap();
        assert_eq!(fs, vec![v(&[1, 1, 0, 1]), v(&[2, 0, 0, 1])]);
    }

    #[test]
    fn swinnerton_dyer_irreducible() {
        let f = v(&[1, 0, -10, 0, 1]);
        let fs = factor_sqfree_z(&f, &FactorLimits::default()).unwrap();
        assert_eq!(fs, vec![f]);
    }

    #[test]
    fn binomials_split_into_cyclotomics() {
        let mut f = vec![BigInt::zero(); 13];
        f[0] = BigInt::one();
        f[12] = BigInt::one();
        // x^12 + 1 = Φ_8 Φ_24
        let fs = factor_sqfree_z(&f, &FactorLimits::default()).unwrap();
        assert_eq!(fs, vec![v(&[1, 0, 0, 0, 1]), v(&[1, 0, 0, 0, -1, 0, 0, 0, 1])]);
    }
}
