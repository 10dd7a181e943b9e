//! Complete factorization of square-free primitive univariate integer polynomials
//! (Zassenhaus-style): pick a prime `p` larger than twice a Mignotte-type coefficient bound
//! for `lc * g` (every factor `g`), such that `f` stays square-free mod `p`; factor mod `p`
//! with Cantor–Zassenhaus (distinct-degree then equal-degree splitting, deterministic PRNG);
//! recombine the modular factors by subsets of increasing size with exact trial division.
//! Because `p` already exceeds the bound, no Hensel lifting is needed.
//!
//! Polynomials are coefficient vectors, lowest degree first.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, Zero};
use std::time::{Duration, Instant};

/// Caps on the factorization work; beyond them the input is returned unfactored.
#[derive(Clone, Debug)]
pub struct FactorLimits {
    pub max_degree: usize,
    pub max_time: Duration,
    pub max_subsets: u64,
}

impl Default for FactorLimits {
    fn default() -> Self {
        FactorLimits { max_degree: 200, max_time: Duration::from_secs(5), max_subsets: 1 << 18 }
    }
}

impl From<&crate::poly::Limits> for FactorLimits {
    fn from(l: &crate::poly::Limits) -> Self {
        FactorLimits { max_degree: l.factor_max_degree, max_time: Duration::from_millis(l.factor_time_ms), ..FactorLimits::default() }
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

fn md(a: &BigInt, p: &BigInt) -> BigInt {
    a.mod_floor(p)
}

fn inv(a: &BigInt, p: &BigInt) -> BigInt {
    // p prime
    a.modpow(&(p - 2u32), p)
}

fn sub_m(a: &P, b: &P, p: &BigInt) -> P {
    let n = a.len().max(b.len());
    let z = BigInt::zero();
    trim((0..n).map(|i| md(&(a.get(i).unwrap_or(&z) - b.get(i).unwrap_or(&z)), p)).collect())
}

fn mul_m(a: &P, b: &P, p: &BigInt) -> P {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    let mut out = vec![BigInt::zero(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        if x.is_zero() {
            continue;
        }
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    trim(out.into_iter().map(|c| md(&c, p)).collect())
}

/// (quotient, remainder) mod p; b non-zero.
fn divrem_m(a: &P, b: &P, p: &BigInt) -> (P, P) {
    let mut r = a.clone();
    let db = b.len() - 1;
    if r.len() < b.len() {
        return (vec![], r);
    }
    let il = inv(b.last().unwrap(), p);
    let mut q = vec![BigInt::zero(); r.len() - db];
    while r.len() >= b.len() {
        let k = r.len() - b.len();
        let c = md(&(r.last().unwrap() * &il), p);
        for (j, bj) in b.iter().enumerate() {
            r[k + j] = md(&(&r[k + j] - &c * bj), p);
        }
        q[k] = c;
        r = trim(r);
    }
    (trim(q), r)
}

fn rem_m(a: &P, b: &P, p: &BigInt) -> P {
    divrem_m(a, b, p).1
}

fn monic(a: &P, p: &BigInt) -> P {
    let il = inv(a.last().unwrap(), p);
    a.iter().map(|c| md(&(c * &il), p)).collect()
}

fn gcd_m(a: &P, b: &P, p: &BigInt) -> P {
    let (mut a, mut b) = (a.clone(), b.clone());
    while !b.is_empty() {
        let r = rem_m(&a, &b, p);
        a = b;
        b = r;
    }
    if a.is_empty() {
        a
    } else {
        monic(&a, p)
    }
}

fn powmod_m(base: &P, e: &BigInt, f: &P, p: &BigInt) -> P {
    let mut result: P = vec![BigInt::one()];
    let b = rem_m(base, f, p);
    let bits = e.bits();
    for i in (0..bits).rev() {
        result = rem_m(&mul_m(&result, &result, p), f, p);
        if e.bit(i) {
            result = rem_m(&mul_m(&result, &b, p), f, p);
        }
    }
    result
}

fn is_probable_prime(n: &BigInt) -> bool {
    let two = BigInt::from(2);
    if *n < two {
        return false;
    }
    for sp in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if *n == BigInt::from(sp) {
            return true;
        }
        if (n % sp).is_zero() {
            return false;
        }
    }
    let nm1 = n - 1u32;
    let mut d = nm1.clone();
    let mut s = 0;
    while d.is_even() {
        d >>= 1;
        s += 1;
    }
    'w: for a in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53] {
        let mut x = BigInt::from(a).modpow(&d, n);
        if x.is_one() || x == nm1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&two, n);
            if x == nm1 {
                continue 'w;
            }
        }
        return false;
    }
    true
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, p: &BigInt) -> BigInt {
        let mut acc = BigInt::zero();
        for _ in 0..(p.bits() / 64 + 2) {
            acc = (acc << 64) + BigInt::from(self.next());
        }
        acc.mod_floor(p)
    }
}

struct Budget {
    start: Instant,
    lim: FactorLimits,
}
impl Budget {
    fn ok(&self) -> bool {
        self.start.elapsed() <= self.lim.max_time
    }
}

/// Distinct-degree factorization of a monic square-free f mod p.
fn ddf(f: &P, p: &BigInt, b: &Budget) -> Option<Vec<(P, usize)>> {
    let mut out = Vec::new();
    let mut f = f.clone();
    let x: P = vec![BigInt::zero(), BigInt::one()];
    let mut h = x.clone();
    let mut d = 1;
    while deg(&f) >= 2 * d as isize {
        if !b.ok() {
            return None;
        }
        h = powmod_m(&h, p, &f, p);
        let g = gcd_m(&sub_m(&h, &x, p), &f, p);
        if deg(&g) > 0 {
            f = divrem_m(&f, &g, p).0;
            h = rem_m(&h, &f, p);
            out.push((g, d));
        }
        d += 1;
    }
    if deg(&f) > 0 {
        let dd = deg(&f) as usize;
        out.push((f, dd));
    }
    Some(out)
}

/// Equal-degree splitting (Cantor–Zassenhaus, p odd) of a monic product of degree-d factors.
fn edf(g: &P, d: usize, p: &BigInt, rng: &mut Rng, b: &Budget, out: &mut Vec<P>) -> Option<()> {
    let n = deg(g) as usize;
    if n == d {
        out.push(g.clone());
        return Some(());
    }
    let e: BigInt = (p.pow(d as u32) - 1u32) / 2u32;
    loop {
        if !b.ok() {
            return None;
        }
        let a: P = trim((0..n).map(|_| rng.below(p)).collect());
        if deg(&a) < 1 {
            continue;
        }
        let c = gcd_m(&a, g, p);
        let split = if deg(&c) > 0 && (deg(&c) as usize) < n {
            c
        } else {
            let t = sub_m(&powmod_m(&a, &e, g, p), &vec![BigInt::one()], p);
            gcd_m(&t, g, p)
        };
        if deg(&split) > 0 && (deg(&split) as usize) < n {
            let other = divrem_m(g, &split, p).0;
            edf(&split, d, p, rng, b, out)?;
            edf(&monic(&other, p), d, p, rng, b, out)?;
            return Some(());
        }
    }
}

fn derivative(f: &P) -> P {
    trim(f.iter().enumerate().skip(1).map(|(i, c)| c * BigInt::from(i)).collect())
}

/// Exact division over Z; None if not divisible.
fn div_z(a: &P, b: &P) -> Option<P> {
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

fn sym(c: &BigInt, p: &BigInt, half: &BigInt) -> BigInt {
    let c = md(c, p);
    if &c > half {
        c - p
    } else {
        c
    }
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
    let b = Budget { start: Instant::now(), lim: lim.clone() };
    let lc = f.last().unwrap().abs();
    // bound for coefficients of lc * g, g | f: |lc| * 2^n * sum |a_i|
    let s: BigInt = f.iter().map(|c| c.abs()).sum();
    let bound: BigInt = &lc * (BigInt::one() << (n as usize)) * &s;
    let mut p: BigInt = 2u32 * bound + 1u32;
    if p.is_even() {
        p += 1u32;
    }
    let df = derivative(&f);
    let mut tries = 0u32;
    loop {
        tries += 1;
        // a square-free f stays square-free mod all but finitely many primes; give up on
        // inputs that are not square-free
        if !b.ok() || tries > 20_000 {
            return None;
        }
        if is_probable_prime(&p) && !(&lc % &p).is_zero() {
            let fm = trim(f.iter().map(|c| md(c, &p)).collect());
            let dm = trim(df.iter().map(|c| md(c, &p)).collect());
            if deg(&gcd_m(&fm, &dm, &p)) == 0 {
                break;
            }
        }
        p += 2u32;
    }
    let fm = monic(&trim(f.iter().map(|c| md(c, &p)).collect()), &p);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut mods: Vec<P> = Vec::new();
    for (g, d) in ddf(&fm, &p, &b)? {
        edf(&g, d, &p, &mut rng, &b, &mut mods)?;
    }
    // deterministic order of modular factors
    mods.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let half: BigInt = &p / 2u32;
    let mut rest = f.clone();
    let mut out: Vec<P> = Vec::new();
    let mut subsets_tried: u64 = 0;
    let mut k = 1;
    while 2 * k <= mods.len() {
        let r = mods.len();
        let mut found = false;
        // enumerate k-subsets of 0..r in lexicographic order
        let mut idx: Vec<usize> = (0..k).collect();
        loop {
            subsets_tried += 1;
            if subsets_tried > lim.max_subsets || (subsets_tried % 64 == 0 && !b.ok()) {
                return None;
            }
            let lcr = rest.last().unwrap().clone();
            let mut g: P = vec![md(&lcr, &p)];
            for &i in &idx {
                g = mul_m(&g, &mods[i], &p);
            }
            let g: P = trim(g.iter().map(|c| sym(c, &p, &half)).collect());
            let g = primitive_z(&g);
            if let Some(q) = div_z(&rest, &g) {
                out.push(g);
                rest = q;
                for &i in idx.iter().rev() {
                    mods.remove(i);
                }
                found = true;
                break;
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
}
