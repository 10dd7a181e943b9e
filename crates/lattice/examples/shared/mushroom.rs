//! The Mushroom-shaped context the examples share: 23 nominal groups (119 attributes), every
//! object one value per group, objects drawn from 200 prototypes. It follows bench/lattice.ts's
//! generator with fidelity 1 but skips its per-group fidelity draw, so its rows (and counts:
//! 241,234 concepts for 8,124 rows, 239,366 in the bench) differ slightly from the bench's.
#![allow(dead_code)]

use omnitide_lattice::Context;

/// Value counts of the 23 nominal Mushroom attributes (incl. the class).
pub const GROUPS: [usize; 23] = [2, 6, 4, 10, 2, 9, 2, 2, 2, 12, 2, 5, 4, 4, 9, 9, 1, 4, 3, 5, 9, 6, 7];

/// xorshift32, seeded as the bench seeds it.
pub struct Rng(u32);
impl Rng {
    pub fn seeded() -> Rng {
        Rng(7u32.wrapping_mul(2_654_435_761))
    }
    pub fn f(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f64 / 4_294_967_296.0
    }
}

/// The first attribute index of each group.
pub fn offsets() -> Vec<usize> {
    GROUPS.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect()
}

/// `n` rows (attribute indices) drawn from `prototypes` prototypes.
pub fn mushroom_rows(n: usize, prototypes: usize, r: &mut Rng) -> Vec<Vec<u32>> {
    let offsets = offsets();
    let skewed = |k: usize, r: &mut Rng| (k - 1).min((k as f64 * r.f() * r.f()) as usize);
    let protos: Vec<Vec<usize>> = (0..prototypes).map(|_| GROUPS.iter().map(|&k| skewed(k, r)).collect()).collect();
    (0..n)
        .map(|_| {
            let p = &protos[(r.f() * r.f() * prototypes as f64) as usize];
            (0..GROUPS.len()).map(|g| (offsets[g] + p[g]) as u32).collect()
        })
        .collect()
}

/// A random row of `rows` with two groups redrawn: a new object for the incremental adds.
pub fn new_row(rows: &[Vec<u32>], r: &mut Rng) -> Vec<u32> {
    let offsets = offsets();
    let mut row = rows[(r.f() * rows.len() as f64) as usize].clone();
    for _ in 0..2 {
        let g = (r.f() * GROUPS.len() as f64) as usize;
        row[g] = (offsets[g] + (r.f() * GROUPS[g] as f64) as usize) as u32;
    }
    row
}

/// The context of `rows` (objects `g0..`, attributes `m0..m118`).
pub fn context(rows: &[Vec<u32>]) -> Context {
    let objects = (0..rows.len()).map(|i| format!("g{i}")).collect();
    let attributes = (0..GROUPS.iter().sum()).map(|j| format!("m{j}")).collect();
    Context::new(objects, attributes, rows).unwrap()
}
