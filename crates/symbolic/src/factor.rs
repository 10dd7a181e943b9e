//! Factoring of polynomials over Z (pure polynomial code: no parsing, no printing, so both
//! the canonical form and the `factor` operation can use it without an import cycle).
//!
//! Univariate: square-free decomposition (Yun), then complete factorization of each part by
//! [`crate::zfactor`] (Zassenhaus with Hensel lifting). Multivariate: monomial content,
//! content in each variable, square-free part, then Kronecker's substitution
//! `x_i -> x^(W_i)` with mixed radix `W` above every partial degree: the image of each
//! irreducible factor is a product of irreducible univariate factors of the image, so trying
//! subsets of those (smallest first) and mapping back finds every factor, each irreducible.
//! Kronecker is used instead of Wang's EEZ (what SymPy does) because it is short, exact and
//! complete, and with Hensel-lifted univariate factoring it is fast for the sizes a symbolic
//! API sees; its cost grows with the product of the degrees, so beyond `factorMaxDegree` for
//! the image the polynomial is left as is and the result says it is incomplete.

use crate::poly::{gcd_within, Deadline, Limits, Poly};
use crate::zfactor::{factor_sqfree_z, FactorLimits};
use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use omnitide_common::Result;
use std::time::Instant;

/// Factors with multiplicities; `complete` is false when a limit left some factor unsplit
/// (it may then be reducible).
#[derive(Clone, Debug)]
pub struct Factored {
    pub factors: Vec<(Poly, u32)>,
    pub complete: bool,
}

fn ri(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}
/// Square-free decomposition (Yun) of a primitive univariate polynomial in `v`.
fn square_free(p: &Poly, v: u32, deadline: Deadline) -> Result<Vec<(Poly, u32)>> {
    let mut out = Vec::new();
    let dp = p.derivative(v);
    let mut a = gcd_within(p, &dp, deadline)?;
    let mut b = p.div_exact(&a).unwrap();
    let mut c = dp.div_exact(&a).unwrap();
    let mut d = c.sub(&b.derivative(v));
    let mut i = 1;
    while !b.is_const() {
        a = gcd_within(&b, &d, deadline)?;
        if !a.is_const() {
            out.push((a.clone(), i));
        }
        b = b.div_exact(&a).unwrap();
        c = d.div_exact(&a).unwrap();
        d = c.sub(&b.derivative(v));
        i += 1;
        if i > 100_000 {
            break;
        }
    }
    Ok(out)
}

fn divisors(n: &BigInt, cap: usize) -> Option<Vec<BigInt>> {
    let n = n.abs();
    if n.is_zero() {
        return Some(vec![BigInt::one()]);
    }
    if n.bits() > 60 {
        return None;
    }
    let m: u64 = n.try_into().ok()?;
    let mut out = Vec::new();
    let mut k = 1u64;
    while k * k <= m {
        if m.is_multiple_of(k) {
            out.push(BigInt::from(k));
            if k != m / k {
                out.push(BigInt::from(m / k));
            }
            if out.len() > cap {
                return None;
            }
        }
        k += 1;
        if k > 1_000_000 {
            return None;
        }
    }
    Some(out)
}

fn eval_univ(p: &Poly, v: u32, x: &BigRational) -> BigRational {
    let cs = p.coeffs_in(v);
    let mut acc = BigRational::zero();
    for c in cs.iter().rev() {
        acc = acc * x + c.const_value().unwrap_or_else(BigRational::zero);
    }
    acc
}

/// Integer coefficients of a univariate polynomial in `v`, lowest first.
fn int_coeffs(p: &Poly, v: u32) -> Option<Vec<BigInt>> {
    p.coeffs_in(v).iter().map(|c| c.const_value().filter(|c| c.is_integer()).map(|c| c.to_integer())).collect()
}

fn from_int_coeffs(v: u32, cs: &[BigInt]) -> Poly {
    let cp: Vec<Poly> = cs.iter().map(|c| Poly::constant(BigRational::from_integer(c.clone()))).collect();
    Poly::from_coeffs(v, &cp)
}

/// Factors a primitive square-free univariate integer polynomial completely by
/// [`crate::zfactor`]; if its limits are hit, linear factors by the rational root test,
/// quadratic factors by Kronecker's method and the remainder as is (`complete` = false).
fn factor_sqfree(p: Poly, v: u32, lim: &FactorLimits, complete: &mut bool) -> Vec<Poly> {
    if let Some(cs) = int_coeffs(&p, v) {
        if let Some(fs) = factor_sqfree_z(&cs, lim) {
            return fs.iter().map(|f| from_int_coeffs(v, f)).collect();
        }
    }
    *complete = false;
    let mut p = p;
    let mut out = Vec::new();
    let x = Poly::var(v);
    // rational roots
    loop {
        let d = p.degree_in(v);
        if d <= 1 {
            break;
        }
        let cs = p.coeffs_in(v);
        let a0 = cs[0].const_value().unwrap_or_default().to_integer();
        let an = cs[d as usize].const_value().unwrap_or_default().to_integer();
        if a0.is_zero() {
            out.push(x.clone());
            p = p.div_exact(&x).unwrap();
            continue;
        }
        let (Some(ps), Some(qs)) = (divisors(&a0, 2000), divisors(&an, 2000)) else {
            break;
        };
        let mut found = None;
        'o: for q in &qs {
            for pp in &ps {
                for s in [1i64, -1] {
                    let r = BigRational::new(pp * s, q.clone());
                    if eval_univ(&p, v, &r).is_zero() {
                        found = Some(r);
                        break 'o;
                    }
                }
            }
        }
        match found {
            Some(r) => {
                // q x - p
                let f = x
                    .scale(&BigRational::from_integer(r.denom().clone()))
                    .sub(&Poly::constant(BigRational::from_integer(r.numer().clone())));
                out.push(f.clone());
                p = p.div_exact(&f).unwrap();
            }
            None => break,
        }
    }
    // fallback when a limit was hit: quadratic factors (Kronecker) for small degree
    let mut guard = 0;
    while p.degree_in(v) >= 4 && guard < 4 {
        guard += 1;
        let pts = [ri(0), ri(1), ri(-1)];
        let vals: Vec<BigInt> = pts.iter().map(|t| eval_univ(&p, v, t).to_integer()).collect();
        let ds: Vec<Vec<BigInt>> = match vals.iter().map(|x| divisors(x, 64)).collect::<Option<Vec<_>>>() {
            Some(d) => d,
            None => break,
        };
        let mut found = None;
        'k: for d0 in &ds[0] {
            for d1 in &ds[1] {
                for d2 in &ds[2] {
                    for s in 0..8 {
                        let y0 = if s & 1 == 0 { d0.clone() } else { -d0.clone() };
                        let y1 = if s & 2 == 0 { d1.clone() } else { -d1.clone() };
                        let y2 = if s & 4 == 0 { d2.clone() } else { -d2.clone() };
                        // q(t) = a t^2 + b t + c through (0,y0), (1,y1), (-1,y2)
                        let c = y0.clone();
                        let two_a: BigInt = &y1 + &y2 - BigInt::from(2) * &y0;
                        let two_b: BigInt = &y1 - &y2;
                        if two_a.is_odd() || two_b.is_odd() {
                            continue;
                        }
                        let a: BigInt = two_a / BigInt::from(2);
                        let b: BigInt = two_b / BigInt::from(2);
                        if !a.is_positive() {
                            continue;
                        }
                        let q = Poly::from_coeffs(
                            v,
                            &[
                                Poly::constant(BigRational::from_integer(c)),
                                Poly::constant(BigRational::from_integer(b)),
                                Poly::constant(BigRational::from_integer(a)),
                            ],
                        );
                        if let Some(rest) = p.div_exact(&q) {
                            if rest.content().is_integer() && rest.terms.values().all(|c| c.is_integer()) && !rest.is_const() {
                                found = Some((q, rest));
                                break 'k;
                            }
                        }
                    }
                }
            }
        }
        match found {
            Some((q, rest)) => {
                out.push(q);
                p = rest;
            }
            None => break,
        }
    }
    if !p.is_const() {
        out.push(p);
    }
    out
}

fn normal(p: &Poly) -> Poly {
    p.primitive().1
}

/// Factors over the integers: the irreducible factors of `p` (primitive, positive leading
/// coefficient in the internal order) with multiplicities; the constant is not included.
pub fn factor_poly(p: &Poly, lim: &Limits) -> Factored {
    let mut complete = true;
    let factors = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || factor_rec(p, lim, &mut complete));
    let mut merged: Vec<(Poly, u32)> = Vec::new();
    for (f, m) in factors {
        if let Some(x) = merged.iter_mut().find(|x| x.0 == f) {
            x.1 += m;
        } else {
            merged.push((f, m));
        }
    }
    Factored { factors: merged, complete }
}

fn factor_rec(p: &Poly, lim: &Limits, complete: &mut bool) -> Vec<(Poly, u32)> {
    let mut out: Vec<(Poly, u32)> = Vec::new();
    if p.is_const() {
        return out;
    }
    // monomial content
    let mut q = p.clone();
    for v in p.vars() {
        let mn = p.terms.keys().map(|m| m.iter().find(|x| x.0 == v).map(|x| x.1).unwrap_or(0)).min().unwrap_or(0);
        if mn > 0 {
            q = q.div_exact(&Poly::monomial(vec![(v, mn)], BigRational::one())).unwrap();
            out.push((Poly::var(v), mn));
        }
    }
    let q = normal(&q);
    if q.is_const() {
        return out;
    }
    let qv = q.vars();
    if qv.len() == 1 {
        let v = qv[0];
        let flim = FactorLimits::from(lim);
        let Ok(parts) = square_free(&q, v, Deadline(lim.deadline)) else {
            // the deadline passed inside a GCD: the rest stays unfactored
            *complete = false;
            out.push((q, 1));
            return out;
        };
        for (f, m) in parts {
            for g in factor_sqfree(normal(&f), v, &flim, complete) {
                out.push((normal(&g), m));
            }
        }
        return out;
    }
    // content in each variable
    for &v in &qv {
        let Ok(c) = q.content_within(v, Deadline(lim.deadline)) else {
            *complete = false;
            out.push((q, 1));
            return out;
        };
        if !c.is_const() {
            let rest = q.div_exact(&c).unwrap();
            out.extend(factor_rec(&c, lim, complete));
            out.extend(factor_rec(&rest, lim, complete));
            return out;
        }
    }
    // square-free part via the gcd with a partial derivative (the content is gone, so every
    // repeated factor involves each variable... at least the one differentiated)
    for &v in &qv {
        let Ok(g) = gcd_within(&q, &q.derivative(v), Deadline(lim.deadline)) else {
            *complete = false;
            out.push((q, 1));
            return out;
        };
        if !g.is_const() {
            let rest = q.div_exact(&g).unwrap();
            out.extend(factor_rec(&g, lim, complete));
            out.extend(factor_rec(&rest, lim, complete));
            return out;
        }
    }
    for f in kronecker(&q, lim, complete) {
        out.push((normal(&f), 1));
    }
    out
}

/// Splits a primitive square-free multivariate integer polynomial (no content in any
/// variable) into irreducibles by Kronecker substitution; see the module comment.
fn kronecker(q: &Poly, lim: &Limits, complete: &mut bool) -> Vec<Poly> {
    let vars = q.vars();
    let mut weights: Vec<u64> = Vec::with_capacity(vars.len());
    let mut w: u64 = 1;
    for &v in &vars {
        weights.push(w);
        w = match w.checked_mul(q.degree_in(v) as u64 + 1) {
            Some(x) => x,
            None => {
                *complete = false;
                return vec![q.clone()];
            }
        };
    }
    if w - 1 > lim.factor_max_degree as u64 {
        *complete = false;
        return vec![q.clone()];
    }
    let image = |p: &Poly| -> Vec<BigInt> {
        let mut cs = vec![BigInt::zero(); w as usize];
        for (m, c) in &p.terms {
            let e: u64 = m.iter().map(|&(v, e)| e as u64 * weights[vars.iter().position(|&x| x == v).unwrap()]).sum();
            cs[e as usize] += c.to_integer();
        }
        while cs.last().is_some_and(|c| c.is_zero()) {
            cs.pop();
        }
        cs
    };
    let preimage = |cs: &[BigInt]| -> Poly {
        let mut p = Poly::zero();
        for (e, c) in cs.iter().enumerate() {
            if c.is_zero() {
                continue;
            }
            let mut rest = e as u64;
            let mut mono = Vec::new();
            for i in (0..vars.len()).rev() {
                let k = rest / weights[i];
                rest %= weights[i];
                if k > 0 {
                    mono.push((vars[i], k as u32));
                }
            }
            mono.sort();
            p.add_term(mono, BigRational::from_integer(c.clone()));
        }
        p
    };
    // The image of a sparse polynomial is sparse too (ab - cd maps to x^4 - x^36, which
    // splits into many cyclotomic factors and so into a huge recombination); translating
    // every variable (x_i -> x_i + s_i keeps each partial degree, so the substitution stays
    // injective) makes the image generic, with few univariate factors. Of a few translations
    // the one whose image has the fewest irreducible factors is used.
    let t = 0u32;
    let mut best: Option<(Vec<BigInt>, Poly, Vec<Vec<BigInt>>)> = None;
    for round in 0..3i64 {
        let shifts: Vec<BigInt> =
            (0..vars.len() as i64).map(|i| BigInt::from(1 + (i * 7 + round * 3) % 5) * if (i + round) % 2 == 0 { 1 } else { -1 }).collect();
        let shifted = translate(q, &vars, &shifts);
        let g = from_int_coeffs(t, &image(&shifted));
        let uni = factor_rec(&g, lim, complete);
        if !*complete {
            return vec![q.clone()];
        }
        let mut pieces: Vec<Vec<BigInt>> = Vec::new();
        for (f, m) in uni {
            let cs = int_coeffs(&f, t).expect("integer factor");
            for _ in 0..m {
                pieces.push(cs.clone());
            }
        }
        if best.as_ref().is_none_or(|b| pieces.len() < b.2.len()) {
            best = Some((shifts, shifted, pieces));
        }
        if best.as_ref().unwrap().2.len() <= 4 {
            break;
        }
    }
    let (shifts, q_shifted, mut pieces) = best.expect("one round");
    let unshift: Vec<BigInt> = shifts.iter().map(|s| -s).collect();
    let q = &q_shifted;
    let start = Instant::now();
    let flim = FactorLimits::from(lim);
    let mut rest = q.clone();
    let mut out = Vec::new();
    let mut tried: u64 = 0;
    let mut k = 1;
    'sizes: while 2 * k <= pieces.len() {
        let r = pieces.len();
        let mut idx: Vec<usize> = (0..k).collect();
        loop {
            tried += 1;
            if tried > flim.max_subsets
                || (tried.is_multiple_of(32) && (start.elapsed() > flim.max_time || flim.deadline.is_some_and(|d| Instant::now() > d)))
            {
                *complete = false;
                break 'sizes;
            }
            let mut prod: Vec<BigInt> = vec![BigInt::one()];
            for &i in &idx {
                prod = mul_z(&prod, &pieces[i]);
            }
            let h = preimage(&prod);
            if let Some(quo) = rest.div_exact(&h) {
                if quo.terms.values().all(|c| c.is_integer()) {
                    out.push(h);
                    rest = quo;
                    for &i in idx.iter().rev() {
                        pieces.remove(i);
                    }
                    continue 'sizes;
                }
            }
            if !next_comb(&mut idx, r) {
                break;
            }
        }
        k += 1;
    }
    if !rest.is_const() {
        out.push(rest);
    }
    out.iter().map(|f| translate(f, &vars, &unshift)).collect()
}

/// `p(x_1 + s_1, ..., x_n + s_n)`.
fn translate(p: &Poly, vars: &[u32], shifts: &[BigInt]) -> Poly {
    let mut out = Poly::zero();
    for (m, c) in &p.terms {
        let mut term = Poly::constant(c.clone());
        for &(v, e) in m {
            let i = vars.iter().position(|&x| x == v).expect("variable of p");
            let lin = Poly::var(v).add(&Poly::constant(BigRational::from_integer(shifts[i].clone())));
            term = term.mul(&lin.pow(e as u64));
        }
        out = out.add(&term);
    }
    out
}

fn mul_z(a: &[BigInt], b: &[BigInt]) -> Vec<BigInt> {
    let mut out = vec![BigInt::zero(); a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    fn x() -> Poly {
        Poly::var(0)
    }
    fn y() -> Poly {
        Poly::var(1)
    }
    #[test]
    fn bivariate_non_homogeneous() {
        // x^2 - y^2 + x - y = (x - y)(x + y + 1)
        let p = x().pow(2).sub(&y().pow(2)).add(&x()).sub(&y());
        let f = factor_poly(&p, &Limits::default());
        assert!(f.complete);
        assert_eq!(f.factors.len(), 2, "{:?}", f.factors);
        let prod = f.factors.iter().fold(Poly::one(), |a, (g, m)| a.mul(&g.pow(*m as u64)));
        assert!(prod == p || prod == p.neg());
    }
}
