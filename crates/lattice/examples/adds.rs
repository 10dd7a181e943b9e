//! `cargo run --example adds -p omnitide-lattice -- [N] [ADDS] [remove]`: incremental-add timings only
//! (a Mushroom-shaped lattice of the first N rows, then ADDS new rows), for `perf record`.
//! The defaults are bench/lattice.ts's incremental case: 600 rows (~135k concepts), 200 adds,
//! each a row of the context with two groups redrawn; `-- 338 300 remove` is its fixed ~100k
//! measure (101,131 concepts here, 100,502 in the bench; each add removed again, untimed).
//! Run it with `--release`.
use std::time::Instant;

use omnitide_lattice::{BuildOptions, Lattice};

#[path = "shared/mushroom.rs"]
mod mushroom;
use mushroom::{context, mushroom_rows, new_row, Rng};

fn main() {
    let arg = |k: usize, default: usize| std::env::args().nth(k).map_or(default, |a| a.parse::<usize>().unwrap());
    let n = arg(1, 600);
    let adds = arg(2, 200);
    // A third argument `remove`: each added object is removed again (untimed), so every add
    // meets the same lattice (bench/lattice.ts's fixed measure: 338 rows, 300 adds).
    let remove = std::env::args().nth(3).is_some_and(|a| a == "remove");
    let mut r = Rng::seeded();
    let rows = mushroom_rows(n, 200, &mut r);
    let t = Instant::now();
    let mut l = Lattice::build(context(&rows), &BuildOptions::default()).unwrap();
    let start = l.len();
    println!("build: {start} concepts in {:?}", t.elapsed());
    let mut times = Vec::new();
    for i in 0..adds {
        let row = new_row(&rows, &mut r);
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
