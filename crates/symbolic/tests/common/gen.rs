//! CNF generators for the SAT tests (not part of the public API).

use omnitide_symbolic::sat::Cnf;

/// Deterministic xorshift random 3-SAT instance.
pub fn random_3sat(vars: u32, clauses: usize, seed: u64) -> Cnf {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut cs = Vec::with_capacity(clauses);
    for _ in 0..clauses {
        let mut c: Vec<i32> = Vec::with_capacity(3);
        while c.len() < 3 {
            let v = (next() % vars as u64) as i32 + 1;
            if c.iter().any(|l: &i32| l.abs() == v) {
                continue;
            }
            c.push(if next() & 1 == 1 { v } else { -v });
        }
        cs.push(c);
    }
    Cnf {
        num_vars: vars,
        clauses: cs,
    }
}

/// Pigeonhole: `p` pigeons into `h` holes (UNSAT when p > h).
pub fn pigeonhole(p: u32, h: u32) -> Cnf {
    let var = |i: u32, j: u32| (i * h + j + 1) as i32;
    let mut cs = Vec::new();
    for i in 0..p {
        cs.push((0..h).map(|j| var(i, j)).collect());
    }
    for j in 0..h {
        for a in 0..p {
            for b in a + 1..p {
                cs.push(vec![-var(a, j), -var(b, j)]);
            }
        }
    }
    Cnf {
        num_vars: p * h,
        clauses: cs,
    }
}
