//! Dense polynomials over a word-size prime field F_p (p < 2^31), lowest degree first, and
//! their factorization (distinct-degree, then Cantor–Zassenhaus equal-degree splitting).
//! Word arithmetic: products fit in u64, so no big integers in the hot loops.

use num_bigint::BigUint;

pub type Pp = Vec<u64>;

pub fn trim(mut a: Pp) -> Pp {
    while a.last() == Some(&0) {
        a.pop();
    }
    a
}

pub fn deg(a: &Pp) -> isize {
    a.len() as isize - 1
}

pub fn pow_mod(mut b: u64, mut e: u64, p: u64) -> u64 {
    let mut r = 1u64;
    b %= p;
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % p;
        }
        b = b * b % p;
        e >>= 1;
    }
    r
}

pub fn inv(a: u64, p: u64) -> u64 {
    pow_mod(a, p - 2, p)
}

pub fn sub(a: &Pp, b: &Pp, p: u64) -> Pp {
    let n = a.len().max(b.len());
    trim((0..n).map(|i| (a.get(i).copied().unwrap_or(0) + p - b.get(i).copied().unwrap_or(0)) % p).collect())
}

pub fn mul(a: &Pp, b: &Pp, p: u64) -> Pp {
    if a.is_empty() || b.is_empty() {
        return vec![];
    }
    let mut out = vec![0u64; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        if x == 0 {
            continue;
        }
        for (j, &y) in b.iter().enumerate() {
            out[i + j] = (out[i + j] + x * y) % p;
        }
    }
    trim(out)
}

/// (quotient, remainder); `b` non-zero.
pub fn divrem(a: &Pp, b: &Pp, p: u64) -> (Pp, Pp) {
    if a.len() < b.len() {
        return (vec![], a.clone());
    }
    let mut r = a.clone();
    let il = inv(*b.last().unwrap(), p);
    let db = b.len() - 1;
    let mut q = vec![0u64; r.len() - db];
    for k in (0..q.len()).rev() {
        let c = r[k + db] * il % p;
        q[k] = c;
        if c != 0 {
            for (j, &bj) in b.iter().enumerate() {
                r[k + j] = (r[k + j] + p - c * bj % p) % p;
            }
        }
    }
    r.truncate(db);
    (trim(q), trim(r))
}

pub fn rem(a: &Pp, b: &Pp, p: u64) -> Pp {
    divrem(a, b, p).1
}

pub fn monic(a: &Pp, p: u64) -> Pp {
    let il = inv(*a.last().unwrap(), p);
    a.iter().map(|c| c * il % p).collect()
}

pub fn gcd(a: &Pp, b: &Pp, p: u64) -> Pp {
    let (mut a, mut b) = (a.clone(), b.clone());
    while !b.is_empty() {
        let r = rem(&a, &b, p);
        a = b;
        b = r;
    }
    if a.is_empty() {
        a
    } else {
        monic(&a, p)
    }
}

/// Extended Euclid: (s, t) with s a + t b = 1 for coprime a, b (deg s < deg b, deg t < deg a).
pub fn bezout(a: &Pp, b: &Pp, p: u64) -> Option<(Pp, Pp)> {
    let (mut r0, mut r1) = (a.clone(), b.clone());
    let (mut s0, mut s1): (Pp, Pp) = (vec![1], vec![]);
    let (mut t0, mut t1): (Pp, Pp) = (vec![], vec![1]);
    while !r1.is_empty() {
        let (q, r) = divrem(&r0, &r1, p);
        let s2 = sub(&s0, &mul(&q, &s1, p), p);
        let t2 = sub(&t0, &mul(&q, &t1, p), p);
        r0 = std::mem::replace(&mut r1, r);
        s0 = std::mem::replace(&mut s1, s2);
        t0 = std::mem::replace(&mut t1, t2);
    }
    if r0.len() != 1 {
        return None;
    }
    let il = inv(r0[0], p);
    let sc = |v: &Pp| trim(v.iter().map(|c| c * il % p).collect());
    Some((sc(&s0), sc(&t0)))
}

fn powmod_poly(base: &Pp, e: &BigUint, f: &Pp, p: u64) -> Pp {
    let mut result: Pp = vec![1];
    let b = rem(base, f, p);
    for i in (0..e.bits()).rev() {
        result = rem(&mul(&result, &result, p), f, p);
        if e.bit(i) {
            result = rem(&mul(&result, &b, p), f, p);
        }
    }
    result
}

pub fn derivative(f: &Pp, p: u64) -> Pp {
    trim(f.iter().enumerate().skip(1).map(|(i, &c)| (i as u64 % p) * c % p).collect())
}

/// Distinct-degree factorization of a monic square-free f: (product of the degree-d factors, d).
/// `alive` is polled between degrees; returns None once it says stop.
pub fn ddf(f: &Pp, p: u64, alive: &mut dyn FnMut() -> bool) -> Option<Vec<(Pp, usize)>> {
    let mut out = Vec::new();
    let mut f = f.clone();
    let x: Pp = vec![0, 1];
    let mut h = x.clone();
    let pe = BigUint::from(p);
    let mut d = 1;
    while deg(&f) >= 2 * d as isize {
        if !alive() {
            return None;
        }
        h = powmod_poly(&h, &pe, &f, p);
        let g = gcd(&sub(&h, &x, p), &f, p);
        if deg(&g) > 0 {
            f = divrem(&f, &g, p).0;
            h = rem(&h, &f, p);
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

pub struct Rng(pub u64);
#[allow(clippy::should_implement_trait)] // an infinite xorshift stream, not an Iterator
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Equal-degree splitting of a monic product of degree-d factors (p odd).
pub fn edf(g: &Pp, d: usize, p: u64, rng: &mut Rng, alive: &mut dyn FnMut() -> bool, out: &mut Vec<Pp>) -> Option<()> {
    let n = deg(g) as usize;
    if n == d {
        out.push(g.clone());
        return Some(());
    }
    let e: BigUint = (BigUint::from(p).pow(d as u32) - 1u32) / 2u32;
    loop {
        if !alive() {
            return None;
        }
        let a: Pp = trim((0..n).map(|_| rng.next() % p).collect());
        if deg(&a) < 1 {
            continue;
        }
        let c = gcd(&a, g, p);
        let split = if deg(&c) > 0 && (deg(&c) as usize) < n {
            c
        } else {
            let t = sub(&powmod_poly(&a, &e, g, p), &vec![1], p);
            gcd(&t, g, p)
        };
        if deg(&split) > 0 && (deg(&split) as usize) < n {
            let other = divrem(g, &split, p).0;
            edf(&split, d, p, rng, alive, out)?;
            edf(&monic(&other, p), d, p, rng, alive, out)?;
            return Some(());
        }
    }
}

/// Complete factorization of a monic square-free polynomial into monic irreducibles.
pub fn factor_monic(f: &Pp, p: u64, alive: &mut dyn FnMut() -> bool) -> Option<Vec<Pp>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for (g, d) in ddf(f, p, alive)? {
        edf(&g, d, p, &mut rng, alive, &mut out)?;
    }
    out.sort();
    Some(out)
}

/// Number of irreducible factors (from the distinct-degree split alone).
pub fn count_factors(f: &Pp, p: u64, alive: &mut dyn FnMut() -> bool) -> Option<usize> {
    Some(ddf(f, p, alive)?.iter().map(|(g, d)| deg(g) as usize / d).sum())
}

pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut k = 2;
    while k * k <= n {
        if n.is_multiple_of(k) {
            return false;
        }
        k += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn factors_mod_small_prime() {
        // x^4 - 1 mod 5 = (x-1)(x-2)(x-3)(x-4)
        let f: Pp = vec![4, 0, 0, 0, 1];
        let fs = factor_monic(&f, 5, &mut || true).unwrap();
        assert_eq!(fs, vec![vec![1, 1], vec![2, 1], vec![3, 1], vec![4, 1]]);
        let (s, t) = bezout(&vec![1, 1], &vec![2, 1], 5).unwrap();
        let one = sub(&mul(&s, &vec![1, 1], 5), &mul(&t, &vec![2, 1], 5).iter().map(|c| (5 - c) % 5).collect(), 5);
        assert_eq!(one, vec![1]);
    }
}
