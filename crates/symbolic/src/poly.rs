//! Sparse multivariate polynomials over Q with exact big-rational coefficients.
//!
//! Variables are `u32` ids (atoms of a [`crate::canon::Ctx`]). A monomial is a sorted list of
//! `(var, exponent)` pairs. GCD is the recursive primitive-PRS algorithm (content / primitive
//! part in the main variable, pseudo-remainders), which is exact and deterministic.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use omnitide_common::{Error, Result};
use std::collections::BTreeMap;

pub type Mono = Vec<(u32, u32)>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Poly {
    pub terms: BTreeMap<Mono, BigRational>,
}

/// Resource limits for expansions.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_terms: usize,
    pub max_exponent: u64,
    pub max_depth: usize,
    /// Univariate integer factorization: polynomials of higher degree (after removing rational
    /// roots) are left unfactored.
    pub factor_max_degree: usize,
    /// Univariate integer factorization: time budget (ms) per square-free part; when exceeded the
    /// part is left unfactored.
    pub factor_time_ms: u64,
    /// Deadline of the whole operation (`limits.timeMs`); work that passes it stops with
    /// `ERR_OMNI_LIMIT` (or, for factoring, leaves the rest unfactored).
    pub deadline: Option<std::time::Instant>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_terms: 100_000, max_exponent: 10_000, max_depth: 500, factor_max_degree: 200, factor_time_ms: 5_000, deadline: None }
    }
}

impl Limits {
    /// `ERR_OMNI_LIMIT` once the operation's deadline (`limits.timeMs`) has passed.
    pub fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(d) if std::time::Instant::now() > d => Err(Error::limit("expr", "the time budget (limits.timeMs) ran out")),
            _ => Ok(()),
        }
    }
}

fn mono_mul(a: &Mono, b: &Mono) -> Mono {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].0 == b[j].0 {
            out.push((a[i].0, a[i].1 + b[j].1));
            i += 1;
            j += 1;
        } else if a[i].0 < b[j].0 {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

pub fn mono_deg(m: &Mono) -> u64 {
    m.iter().map(|&(_, e)| e as u64).sum()
}

impl Poly {
    pub fn zero() -> Poly {
        Poly::default()
    }
    pub fn constant(c: BigRational) -> Poly {
        let mut p = Poly::zero();
        if !c.is_zero() {
            p.terms.insert(Vec::new(), c);
        }
        p
    }
    pub fn int(n: i64) -> Poly {
        Poly::constant(BigRational::from_integer(BigInt::from(n)))
    }
    pub fn one() -> Poly {
        Poly::int(1)
    }
    pub fn var(v: u32) -> Poly {
        Poly::monomial(vec![(v, 1)], BigRational::one())
    }
    pub fn monomial(m: Mono, c: BigRational) -> Poly {
        let mut p = Poly::zero();
        if !c.is_zero() {
            p.terms.insert(m, c);
        }
        p
    }
    pub fn is_zero(&self) -> bool {
        self.terms.is_empty()
    }
    pub fn is_const(&self) -> bool {
        self.terms.is_empty() || (self.terms.len() == 1 && self.terms.keys().next().unwrap().is_empty())
    }
    pub fn const_value(&self) -> Option<BigRational> {
        if self.terms.is_empty() {
            Some(BigRational::zero())
        } else if self.is_const() {
            Some(self.terms.values().next().unwrap().clone())
        } else {
            None
        }
    }
    pub fn is_one(&self) -> bool {
        self.const_value().map(|c| c.is_one()).unwrap_or(false)
    }
    pub fn len(&self) -> usize {
        self.terms.len()
    }
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
    pub fn add_term(&mut self, m: Mono, c: BigRational) {
        if c.is_zero() {
            return;
        }
        use std::collections::btree_map::Entry;
        match self.terms.entry(m) {
            Entry::Vacant(v) => {
                v.insert(c);
            }
            Entry::Occupied(mut o) => {
                *o.get_mut() += c;
                if o.get().is_zero() {
                    o.remove();
                }
            }
        }
    }
    pub fn add(&self, o: &Poly) -> Poly {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            r.add_term(m.clone(), c.clone());
        }
        r
    }
    pub fn sub(&self, o: &Poly) -> Poly {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            r.add_term(m.clone(), -c.clone());
        }
        r
    }
    pub fn neg(&self) -> Poly {
        Poly { terms: self.terms.iter().map(|(m, c)| (m.clone(), -c.clone())).collect() }
    }
    pub fn scale(&self, k: &BigRational) -> Poly {
        if k.is_zero() {
            return Poly::zero();
        }
        Poly { terms: self.terms.iter().map(|(m, c)| (m.clone(), c * k)).collect() }
    }
    pub fn mul_lim(&self, o: &Poly, lim: &Limits) -> Result<Poly> {
        let est = self.terms.len().saturating_mul(o.terms.len());
        if est > lim.max_terms.saturating_mul(64) {
            return Err(Error::limit(
                "expr",
                format!("expansion would need {est} term products, over the limit maxTerms {}", lim.max_terms),
            ));
        }
        let mut r = Poly::zero();
        for (ma, ca) in &self.terms {
            lim.check_deadline()?;
            for (mb, cb) in &o.terms {
                r.add_term(mono_mul(ma, mb), ca * cb);
            }
            if r.terms.len() > lim.max_terms {
                return Err(Error::limit("expr", format!("expansion exceeds maxTerms {} terms", lim.max_terms)));
            }
        }
        Ok(r)
    }
    pub fn mul(&self, o: &Poly) -> Poly {
        self.mul_lim(o, &Limits { max_terms: usize::MAX / 128, max_exponent: u64::MAX, max_depth: usize::MAX, ..Limits::default() })
            .unwrap()
    }
    pub fn pow_lim(&self, n: u64, lim: &Limits) -> Result<Poly> {
        if n > lim.max_exponent {
            return Err(Error::limit("expr", format!("exponent {n} exceeds maxExponent {}", lim.max_exponent)));
        }
        if n == 0 {
            return Ok(Poly::one());
        }
        if self.terms.len() == 1 {
            let (m, c) = self.terms.iter().next().unwrap();
            let m2: Mono = m
                .iter()
                .map(|&(v, e)| {
                    let ne = e as u64 * n;
                    if ne > u32::MAX as u64 {
                        Err(Error::limit("expr", format!("exponent {ne} too large")))
                    } else {
                        Ok((v, ne as u32))
                    }
                })
                .collect::<Result<_>>()?;
            if c.numer().bits() * n > 1_000_000 || c.denom().bits() * n > 1_000_000 {
                return Err(Error::limit("expr", "coefficient would exceed 1,000,000 bits"));
            }
            return Ok(Poly::monomial(m2, num_traits::pow(c.clone(), n as usize)));
        }
        if !self.is_const() {
            if n == 1 {
                return Ok(self.clone());
            }
            check_pow_estimate(self.terms.len(), n, lim)?;
            return self.multinomial_pow(n, lim);
        }
        let mut result = Poly::one();
        let mut base = self.clone();
        let mut e = n;
        while e > 0 {
            if e & 1 == 1 {
                result = result.mul_lim(&base, lim)?;
            }
            e >>= 1;
            if e > 0 {
                base = base.mul_lim(&base, lim)?;
            }
        }
        Ok(result)
    }
    /// `(t_1 + ... + t_k)^n` by the multinomial theorem: each of the C(k-1+n, n) terms is made
    /// once (binomial rows cached per remaining exponent), instead of repeated squaring whose
    /// intermediate products cost far more than the result.
    fn multinomial_pow(&self, n: u64, lim: &Limits) -> Result<Poly> {
        let terms: Vec<(&Mono, &BigRational)> = self.terms.iter().collect();
        let max_bits = terms.iter().map(|(_, c)| c.numer().bits().max(c.denom().bits())).max().unwrap_or(1);
        // coefficient size: C(n, k) has at most n bits, c^k at most k * bits(c)
        let est_bits = (n as f64) * (1.0 + max_bits as f64);
        if est_bits > 4.0e6 {
            return Err(Error::limit("expr", format!("expanding to the power {n} gives coefficients of about {est_bits:.0} bits")));
        }
        for (m, _) in &terms {
            if m.iter().any(|&(_, e)| e as u64 * n > u32::MAX as u64) {
                return Err(Error::limit("expr", format!("exponent {n} too large")));
            }
        }
        struct Walk<'a> {
            terms: &'a [(&'a Mono, &'a BigRational)],
            rows: std::collections::HashMap<u64, Vec<BigInt>>,
            out: Poly,
            lim: &'a Limits,
            made: usize,
        }
        impl Walk<'_> {
            fn row(&mut self, r: u64) -> &Vec<BigInt> {
                self.rows.entry(r).or_insert_with(|| {
                    let mut row = Vec::with_capacity(r as usize + 1);
                    let mut c = BigInt::one();
                    row.push(c.clone());
                    for k in 0..r {
                        c = c * BigInt::from(r - k) / BigInt::from(k + 1);
                        row.push(c.clone());
                    }
                    row
                })
            }
            fn go(&mut self, i: usize, r: u64, coef: BigRational, mono: Mono) -> Result<()> {
                let (m, c) = self.terms[i];
                let last = i + 1 == self.terms.len();
                let ks: Vec<u64> = if last { vec![r] } else { (0..=r).collect() };
                for k in ks {
                    let b = if last { BigInt::one() } else { self.row(r)[k as usize].clone() };
                    let ck = num_traits::pow(c.clone(), k as usize);
                    let mk: Mono = m.iter().map(|&(v, e)| (v, e * k as u32)).collect();
                    let coef2 = &coef * ck * BigRational::from_integer(b);
                    let mono2 = if k == 0 { mono.clone() } else { mono_mul(&mono, &mk) };
                    if last {
                        self.out.add_term(mono2, coef2);
                        self.made += 1;
                        if self.made.is_multiple_of(1024) {
                            self.lim.check_deadline()?;
                        }
                    } else {
                        self.go(i + 1, r - k, coef2, mono2)?;
                    }
                }
                Ok(())
            }
        }
        let mut w = Walk { terms: &terms, rows: Default::default(), out: Poly::zero(), lim, made: 0 };
        stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || w.go(0, n, BigRational::one(), Vec::new()))?;
        Ok(w.out)
    }
    pub fn pow(&self, n: u64) -> Poly {
        self.pow_lim(n, &Limits { max_terms: usize::MAX / 128, max_exponent: u64::MAX, max_depth: usize::MAX, ..Limits::default() })
            .unwrap()
    }
    /// Largest variable id occurring.
    pub fn max_var(&self) -> Option<u32> {
        self.terms.keys().flat_map(|m| m.iter().map(|&(v, _)| v)).max()
    }
    pub fn vars(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.terms.keys().flat_map(|m| m.iter().map(|&(v, _)| v)).collect();
        v.sort();
        v.dedup();
        v
    }
    pub fn degree_in(&self, v: u32) -> u32 {
        self.terms.keys().map(|m| m.iter().find(|p| p.0 == v).map(|p| p.1).unwrap_or(0)).max().unwrap_or(0)
    }
    pub fn total_degree(&self) -> u64 {
        self.terms.keys().map(mono_deg).max().unwrap_or(0)
    }
    /// Coefficients as polynomials in the other variables: `result[k]` multiplies `v^k`.
    pub fn coeffs_in(&self, v: u32) -> Vec<Poly> {
        let d = self.degree_in(v) as usize;
        let mut out = vec![Poly::zero(); d + 1];
        for (m, c) in &self.terms {
            let e = m.iter().find(|p| p.0 == v).map(|p| p.1).unwrap_or(0) as usize;
            let rest: Mono = m.iter().filter(|p| p.0 != v).cloned().collect();
            out[e].terms.insert(rest, c.clone());
        }
        out
    }
    pub fn from_coeffs(v: u32, coeffs: &[Poly]) -> Poly {
        let mut r = Poly::zero();
        for (k, c) in coeffs.iter().enumerate() {
            for (m, cc) in &c.terms {
                let mm = if k == 0 { m.clone() } else { mono_mul(m, &vec![(v, k as u32)]) };
                r.add_term(mm, cc.clone());
            }
        }
        r
    }
    pub fn lc_in(&self, v: u32) -> Poly {
        let d = self.degree_in(v);
        let mut out = Poly::zero();
        for (m, c) in &self.terms {
            let e = m.iter().find(|p| p.0 == v).map(|p| p.1).unwrap_or(0);
            if e == d {
                out.terms.insert(m.iter().filter(|p| p.0 != v).cloned().collect(), c.clone());
            }
        }
        out
    }
    pub fn derivative(&self, v: u32) -> Poly {
        let mut r = Poly::zero();
        for (m, c) in &self.terms {
            if let Some(pos) = m.iter().position(|p| p.0 == v) {
                let e = m[pos].1;
                let mut mm = m.clone();
                if e == 1 {
                    mm.remove(pos);
                } else {
                    mm[pos].1 = e - 1;
                }
                r.add_term(mm, c * BigRational::from_integer(BigInt::from(e)));
            }
        }
        r
    }
    /// Rational content: gcd of numerators / lcm of denominators (positive).
    pub fn content(&self) -> BigRational {
        let mut n = BigInt::zero();
        let mut d = BigInt::one();
        for c in self.terms.values() {
            n = n.gcd(c.numer());
            d = d.lcm(c.denom());
        }
        if n.is_zero() {
            return BigRational::one();
        }
        BigRational::new(n, d)
    }
    /// Leading coefficient in the internal (deterministic) term order.
    pub fn lead_coeff(&self) -> BigRational {
        self.terms.iter().next_back().map(|(_, c)| c.clone()).unwrap_or_else(BigRational::zero)
    }
    /// Integer primitive part with positive leading coefficient, and the factor removed.
    pub fn primitive(&self) -> (BigRational, Poly) {
        if self.is_zero() {
            return (BigRational::one(), Poly::zero());
        }
        let mut c = self.content();
        if self.lead_coeff().is_negative() {
            c = -c;
        }
        let inv = c.recip();
        (c, self.scale(&inv))
    }
    /// Exact division; `None` if `d` does not divide `self`.
    pub fn div_exact(&self, d: &Poly) -> Option<Poly> {
        if d.is_zero() {
            return None;
        }
        if let Some(c) = d.const_value() {
            return Some(self.scale(&c.recip()));
        }
        if self.is_zero() {
            return Some(Poly::zero());
        }
        let v = d.max_var().unwrap();
        let dd = d.degree_in(v);
        let dlc = d.lc_in(v);
        let mut r = self.clone();
        let mut q = Poly::zero();
        let mut guard = 0usize;
        while !r.is_zero() {
            guard += 1;
            if guard > 1_000_000 {
                return None;
            }
            let rd = r.degree_in(v);
            if rd < dd {
                return None;
            }
            let rlc = r.lc_in(v);
            let t = rlc.div_exact(&dlc)?;
            let t = if rd > dd { t.mul(&Poly::monomial(vec![(v, rd - dd)], BigRational::one())) } else { t };
            r = r.sub(&t.mul(d));
            q = q.add(&t);
        }
        Some(q)
    }
    fn prem(a: &Poly, b: &Poly, v: u32, deadline: Deadline) -> Result<Poly> {
        let db = b.degree_in(v);
        let lcb = b.lc_in(v);
        let mut r = a.clone();
        while !r.is_zero() && r.degree_in(v) >= db {
            deadline.check()?;
            let dr = r.degree_in(v);
            let lcr = r.lc_in(v);
            let t = if dr > db { lcr.mul(&Poly::monomial(vec![(v, dr - db)], BigRational::one())) } else { lcr };
            r = r.mul(&lcb).sub(&t.mul(b));
            // keep coefficients small
            let (_, p) = r.primitive();
            r = p;
        }
        Ok(r)
    }
    /// Content with respect to `v`: gcd of the coefficient polynomials.
    pub fn content_in(&self, v: u32) -> Poly {
        self.content_within(v, Deadline(None)).expect("no deadline, no limit error")
    }
    /// `content_in` that stops with `ERR_OMNI_LIMIT` once `deadline` has passed.
    pub fn content_within(&self, v: u32, deadline: Deadline) -> Result<Poly> {
        let mut g = Poly::zero();
        for c in self.coeffs_in(v) {
            if c.is_zero() {
                continue;
            }
            g = gcd_within(&g, &c, deadline)?;
            if g.is_const() {
                return Ok(Poly::one());
            }
        }
        Ok(g)
    }
}

/// Estimated number of terms of a dense expansion of a `t`-term sum to the power `n`:
/// C(t-1+n, n); an error if over `maxTerms`.
pub fn check_pow_estimate(t: usize, n: u64, lim: &Limits) -> Result<()> {
    if n > lim.max_exponent {
        return Err(Error::limit("expr", format!("exponent {n} exceeds maxExponent {}", lim.max_exponent)));
    }
    let tf = t as f64;
    let mut est = 1.0f64;
    for k in 1..=n {
        est *= (tf - 1.0 + k as f64) / k as f64;
        if est > lim.max_terms as f64 {
            return Err(Error::limit(
                "expr",
                format!("expanding a {t}-term sum to the power {n} gives more than maxTerms {} terms", lim.max_terms),
            ));
        }
    }
    Ok(())
}

/// When a long computation (the GCD's remainder sequence) must give up: `limits.timeMs`'s
/// instant, or never.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Option<std::time::Instant>);

impl Deadline {
    pub fn check(self) -> Result<()> {
        match self.0 {
            Some(d) if std::time::Instant::now() > d => Err(Error::limit("expr", "the time budget (limits.timeMs) ran out")),
            _ => Ok(()),
        }
    }
}

/// Greatest common divisor, normalised to integer primitive form with positive leading coefficient.
pub fn gcd(a: &Poly, b: &Poly) -> Poly {
    gcd_within(a, b, Deadline(None)).expect("no deadline, no limit error")
}

/// `gcd` that stops with `ERR_OMNI_LIMIT` once `deadline` has passed: the primitive remainder
/// sequence of two multivariate polynomials can run for minutes (recursive contents at every
/// step), so every remainder step and every content checks the clock.
pub fn gcd_within(a: &Poly, b: &Poly, deadline: Deadline) -> Result<Poly> {
    stacker::maybe_grow(64 * 1024, 4 * 1024 * 1024, || gcd_inner(a, b, deadline))
}

fn gcd_inner(a: &Poly, b: &Poly, deadline: Deadline) -> Result<Poly> {
    deadline.check()?;
    if a.is_zero() {
        return Ok(b.primitive().1);
    }
    if b.is_zero() {
        return Ok(a.primitive().1);
    }
    if a.is_const() || b.is_const() {
        return Ok(Poly::one());
    }
    if a == b {
        return Ok(a.primitive().1);
    }
    // monomial gcd shortcut
    if a.len() == 1 || b.len() == 1 {
        let mut m: Option<Mono> = None;
        for p in [a, b] {
            for k in p.terms.keys() {
                m = Some(match m {
                    None => k.clone(),
                    Some(cur) => cur.iter().filter_map(|&(v, e)| k.iter().find(|p| p.0 == v).map(|p| (v, e.min(p.1)))).collect(),
                });
            }
        }
        return Ok(Poly::monomial(m.unwrap_or_default(), BigRational::one()));
    }
    let va = a.vars();
    let vb = b.vars();
    let v = *va.iter().chain(vb.iter()).max().unwrap();
    let in_a = va.contains(&v);
    let in_b = vb.contains(&v);
    if !in_a {
        return gcd_within(a, &b.content_within(v, deadline)?, deadline);
    }
    if !in_b {
        return gcd_within(&a.content_within(v, deadline)?, b, deadline);
    }
    let ca = a.content_within(v, deadline)?;
    let cb = b.content_within(v, deadline)?;
    let mut pa = a.div_exact(&ca).unwrap();
    let mut pb = b.div_exact(&cb).unwrap();
    let c = gcd_within(&ca, &cb, deadline)?;
    if pa.degree_in(v) < pb.degree_in(v) {
        std::mem::swap(&mut pa, &mut pb);
    }
    loop {
        let r = Poly::prem(&pa, &pb, v, deadline)?;
        if r.is_zero() {
            break;
        }
        if r.degree_in(v) == 0 {
            pb = Poly::one();
            break;
        }
        pa = pb;
        let rc = r.content_within(v, deadline)?;
        pb = r.div_exact(&rc).unwrap();
    }
    let g = if pb.is_const() {
        Poly::one()
    } else {
        let pc = pb.content_within(v, deadline)?;
        pb.div_exact(&pc).unwrap()
    };
    Ok(c.mul(&g).primitive().1)
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
    fn gcd_univariate_and_multivariate() {
        let one = Poly::one();
        let a = x().add(&one).mul(&x().sub(&one)); // x^2-1
        let b = x().sub(&one).pow(2);
        assert_eq!(gcd(&a, &b), x().sub(&one));
        let p = x().add(&y()).mul(&x().sub(&y().scale(&BigRational::from_integer(2.into()))));
        let q = x().add(&y()).pow(2).mul(&y());
        assert_eq!(gcd(&p, &q), x().add(&y()));
        assert!(a.div_exact(&b).is_none());
        assert_eq!(a.div_exact(&x().add(&one)).unwrap(), x().sub(&one));
    }
    #[test]
    fn limits() {
        let lim = Limits::default();
        assert!(x().pow_lim(1_000_000, &lim).is_err());
        let s = x().add(&y()).add(&Poly::var(2)).add(&Poly::var(3));
        assert!(s.pow_lim(200, &lim).is_err());
    }
}
