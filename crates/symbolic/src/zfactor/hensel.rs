//! Multifactor Hensel lifting over Z/p^k (von zur Gathen & Gerhard, Algorithm 15.10 applied
//! down a balanced factor tree): from `f ≡ ∏ u_i (mod p)` with monic, pairwise coprime `u_i`
//! to the same factorization modulo `p^(2^j)`, squaring the modulus at every step.

use super::modp::{self, Pp};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Zero};

pub type Zp = Vec<BigInt>;

fn trim(mut a: Zp) -> Zp {
    while a.last().is_some_and(|c| c.is_zero()) {
        a.pop();
    }
    a
}

fn md(a: &Zp, m: &BigInt) -> Zp {
    trim(a.iter().map(|c| c.mod_floor(m)).collect())
}

fn add(a: &Zp, b: &Zp, m: &BigInt) -> Zp {
    let n = a.len().max(b.len());
    let z = BigInt::zero();
    trim(
        (0..n)
            .map(|i| (a.get(i).unwrap_or(&z) + b.get(i).unwrap_or(&z)).mod_floor(m))
            .collect(),
    )
}

fn sub(a: &Zp, b: &Zp, m: &BigInt) -> Zp {
    let n = a.len().max(b.len());
    let z = BigInt::zero();
    trim(
        (0..n)
            .map(|i| (a.get(i).unwrap_or(&z) - b.get(i).unwrap_or(&z)).mod_floor(m))
            .collect(),
    )
}

pub fn mul(a: &Zp, b: &Zp, m: &BigInt) -> Zp {
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
    md(&out, m)
}

/// Division by a monic polynomial modulo m (no inverses needed).
fn divrem_monic(a: &Zp, b: &Zp, m: &BigInt) -> (Zp, Zp) {
    if a.len() < b.len() {
        return (vec![], a.clone());
    }
    let mut r = a.clone();
    let db = b.len() - 1;
    let mut q = vec![BigInt::zero(); r.len() - db];
    for k in (0..q.len()).rev() {
        let c = r[k + db].mod_floor(m);
        if !c.is_zero() {
            for (j, bj) in b.iter().enumerate() {
                r[k + j] = (&r[k + j] - &c * bj).mod_floor(m);
            }
        }
        q[k] = c;
    }
    r.truncate(db);
    (trim(q), md(&r, m))
}

fn from_p(a: &Pp) -> Zp {
    a.iter().map(|&c| BigInt::from(c)).collect()
}

/// One quadratic step: `f ≡ g h`, `s g + t h ≡ 1 (mod m)`, h monic → the same mod m².
fn step(f: &Zp, g: &Zp, h: &Zp, s: &Zp, t: &Zp, m2: &BigInt) -> (Zp, Zp, Zp, Zp) {
    let e = sub(&md(f, m2), &mul(g, h, m2), m2);
    let (q, r) = divrem_monic(&mul(s, &e, m2), h, m2);
    let g2 = add(&add(g, &mul(t, &e, m2), m2), &mul(&q, g, m2), m2);
    let h2 = add(h, &r, m2);
    let b = sub(
        &add(&mul(s, &g2, m2), &mul(t, &h2, m2), m2),
        &vec![BigInt::one()],
        m2,
    );
    let (c, d) = divrem_monic(&mul(s, &b, m2), &h2, m2);
    let s2 = sub(s, &d, m2);
    let t2 = sub(&sub(t, &mul(t, &b, m2), m2), &mul(&c, &g2, m2), m2);
    (g2, h2, s2, t2)
}

/// Lifts the monic factorization `f ≡ ∏ us (mod p)` of a monic `f` (given modulo `big`, a
/// power `p^(2^levels)`) to monic factors modulo `big`. `alive` is polled at each split.
pub fn lift(
    f: &Zp,
    us: &[Pp],
    p: u64,
    levels: u32,
    big: &BigInt,
    alive: &mut dyn FnMut() -> bool,
) -> Option<Vec<Zp>> {
    if us.len() == 1 {
        return Some(vec![md(f, big)]);
    }
    if !alive() {
        return None;
    }
    let (a, b) = us.split_at(us.len() / 2);
    let prod = |xs: &[Pp]| xs.iter().fold(vec![1u64], |acc, u| modp::mul(&acc, u, p));
    let (g0, h0) = (prod(a), prod(b));
    let (s0, t0) = modp::bezout(&g0, &h0, p)?;
    let (mut g, mut h, mut s, mut t) = (from_p(&g0), from_p(&h0), from_p(&s0), from_p(&t0));
    let mut m = BigInt::from(p);
    for _ in 0..levels {
        let m2 = &m * &m;
        (g, h, s, t) = step(f, &g, &h, &s, &t, &m2);
        m = m2;
    }
    debug_assert_eq!(&m, big);
    let mut out = lift(&g, a, p, levels, big, alive)?;
    out.extend(lift(&h, b, p, levels, big, alive)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lifts_x2_minus_2_mod_7() {
        // x^2 - 2 ≡ (x - 3)(x - 4) mod 7 (3^2 = 9 ≡ 2); lifted mod 7^4 the product is x^2 - 2
        let p = 7u64;
        let big = BigInt::from(7u32.pow(4));
        let f: Zp = vec![
            BigInt::from(-2).mod_floor(&big),
            BigInt::zero(),
            BigInt::one(),
        ];
        let us = vec![vec![4u64, 1], vec![3u64, 1]];
        let fs = lift(&f, &us, p, 2, &big, &mut || true).unwrap();
        assert_eq!(mul(&fs[0], &fs[1], &big), f);
    }
}
