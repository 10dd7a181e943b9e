//! `cargo run --release --example build -p omnitide-lattice -- [RUNS]`: construction from scratch
//! of bench/lattice.ts's Mushroom-shaped context (8,124 x 119, ~239k concepts), for `perf record`
//! and A/B runs of two builds. Prints wall and process CPU time per build.
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

/// Process CPU time (user + system, all threads) in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn main() {
    let runs = std::env::args().nth(1).map_or(5, |a| a.parse::<usize>().unwrap());
    let mut r = Rng(7u32.wrapping_mul(2_654_435_761));
    let m: usize = GROUPS.iter().sum();
    let offsets: Vec<usize> = GROUPS.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect();
    let skewed = |k: usize, r: &mut Rng| (k - 1).min((k as f64 * r.f() * r.f()) as usize);
    let protos: Vec<Vec<usize>> = (0..200).map(|_| GROUPS.iter().map(|&k| skewed(k, &mut r)).collect()).collect();
    let rows: Vec<Vec<u32>> = (0..8124)
        .map(|_| {
            let p = &protos[(r.f() * r.f() * 200.0) as usize];
            (0..GROUPS.len()).map(|g| (offsets[g] + p[g]) as u32).collect()
        })
        .collect();
    let objects: Vec<String> = (0..rows.len()).map(|i| format!("g{i}")).collect();
    let attributes: Vec<String> = (0..m).map(|j| format!("m{j}")).collect();
    for _ in 0..runs {
        let ctx = Context::new(objects.clone(), attributes.clone(), &rows).unwrap();
        let (t, c) = (Instant::now(), cpu_seconds());
        let l = Lattice::build(ctx, &BuildOptions::default()).unwrap();
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        println!("build: {} concepts, wall {:.3} s, cpu {:.3} s", l.len(), wall, cpu);
    }
}
