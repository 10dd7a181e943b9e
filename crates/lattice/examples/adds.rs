//! `cargo run --example adds -p omnitide-lattice -- [N] [ADDS] [remove]`: incremental-add timings only
//! (a Mushroom-shaped lattice of the first N rows, then ADDS new rows), for `perf record`.
//! The defaults are bench/lattice.ts's incremental case: 600 rows (~135k concepts), 200 adds,
//! each a row of the context with two groups redrawn; `-- 338 300 remove` is its fixed ~100k
//! measure (101,131 concepts here, 100,502 in the bench; each add removed again, untimed).
//! Run it with `--release`.
use std::time::Instant;

use omnitide_lattice::{BuildOptions, Context, Lattice};

const GROUPS: [usize; 23] = [2, 6, 4, 10, 2, 9, 2, 2, 2, 12, 2, 5, 4, 4, 9, 9, 1, 4, 3, 5, 9, 6, 7];

struct Rng(u32);
impl Rng {
    fn f(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f64 / 4_294_967_296.0
    }
}

fn main() {
    let arg = |k: usize, default: usize| std::env::args().nth(k).map_or(default, |a| a.parse::<usize>().unwrap());
    let n = arg(1, 600);
    let adds = arg(2, 200);
    // A third argument `remove`: each added object is removed again (untimed), so every add
    // meets the same lattice (bench/lattice.ts's fixed measure: 338 rows, 300 adds).
    let remove = std::env::args().nth(3).is_some_and(|a| a == "remove");
    let mut r = Rng(7u32.wrapping_mul(2_654_435_761));
    let m: usize = GROUPS.iter().sum();
    let offsets: Vec<usize> = GROUPS.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect();
    let skewed = |k: usize, r: &mut Rng| (k - 1).min((k as f64 * r.f() * r.f()) as usize);
    let protos: Vec<Vec<usize>> = (0..200).map(|_| GROUPS.iter().map(|&k| skewed(k, &mut r)).collect()).collect();
    let rows: Vec<Vec<u32>> = (0..n)
        .map(|_| {
            let p = &protos[(r.f() * r.f() * 200.0) as usize];
            (0..GROUPS.len()).map(|g| (offsets[g] + p[g]) as u32).collect()
        })
        .collect();
    let objects = (0..n).map(|i| format!("g{i}")).collect();
    let attributes = (0..m).map(|j| format!("m{j}")).collect();
    let t = Instant::now();
    let mut l = Lattice::build(Context::new(objects, attributes, &rows).unwrap(), &BuildOptions::default()).unwrap();
    let start = l.len();
    println!("build: {start} concepts in {:?}", t.elapsed());
    let mut times = Vec::new();
    for i in 0..adds {
        let mut row = rows[(r.f() * n as f64) as usize].clone();
        for _ in 0..2 {
            let g = (r.f() * GROUPS.len() as f64) as usize;
            row[g] = (offsets[g] + (r.f() * GROUPS[g] as f64) as usize) as u32;
        }
        let name = format!("new{i}");
        let t = Instant::now();
        l.add_object(&name, &row).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        if remove {
            l.remove_object(&name).unwrap();
            assert_eq!(l.len(), start, "add + remove of {name} restores the concept count");
        }
    }
    let total: f64 = times.iter().sum();
    times.sort_by(f64::total_cmp);
    println!(
        "{adds} adds into {start} concepts: median {:.3} ms, p95 {:.3} ms, mean {:.3} ms (now {} concepts)",
        times[adds / 2],
        times[adds * 95 / 100],
        total / adds as f64,
        l.len()
    );
}
