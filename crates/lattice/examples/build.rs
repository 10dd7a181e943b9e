//! `cargo run --release --example build -p omnitide-lattice -- [RUNS]`: construction from scratch
//! of the Mushroom-shaped context (8,124 x 119, 241,234 concepts; see shared/mushroom.rs), for `perf record`
//! and A/B runs of two builds. Prints wall and process CPU time per build.
use std::time::Instant;

use omnitide_lattice::{BuildOptions, Lattice};

#[path = "shared/mushroom.rs"]
mod mushroom;
use mushroom::{context, mushroom_rows, Rng};

/// Process CPU time (user + system, all threads) in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ: 100 on Linux
}

fn main() {
    let runs = std::env::args().nth(1).map_or(5, |a| a.parse::<usize>().unwrap());
    let rows = mushroom_rows(8124, 200, &mut Rng::seeded());
    for _ in 0..runs {
        let ctx = context(&rows);
        let (t, c) = (Instant::now(), cpu_seconds());
        let l = Lattice::build(ctx, &BuildOptions::default()).unwrap();
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        println!("build: {} concepts, wall {:.3} s, cpu {:.3} s", l.len(), wall, cpu);
    }
}
