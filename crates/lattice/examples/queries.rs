//! `cargo run --example queries -p omnitide-lattice`: batched closure and incremental-add
//! timings on a context of the UCI Mushroom shape (the generator of bench/lattice.ts), for
//! profiling those two paths without the binding.
use std::time::Instant;

use omnitide_lattice::{BuildOptions, Lattice};

#[path = "shared/mushroom.rs"]
mod mushroom;
use mushroom::{context, mushroom_rows, new_row, Rng, GROUPS};

fn main() {
    let mut r = Rng::seeded();
    let m: usize = GROUPS.iter().sum();
    let rows = mushroom_rows(8124, 200, &mut r);
    let t = Instant::now();
    let l = Lattice::build(context(&rows), &BuildOptions::default()).unwrap();
    println!("build: {} concepts in {:?}", l.len(), t.elapsed());
    let sets: Vec<Vec<u32>> = (0..200_000).map(|_| (0..1 + (r.f() * 3.0) as usize).map(|_| (r.f() * m as f64) as u32).collect()).collect();
    let data: Vec<u32> = sets.iter().flatten().copied().collect();
    let ends: Vec<u32> = sets
        .iter()
        .scan(0u32, |a, s| {
            Some({
                *a += s.len() as u32;
                *a
            })
        })
        .collect();
    let t = Instant::now();
    let bits = l.context().unpack_sets("sets", &data, &ends, true).unwrap();
    let closed = l.closure_many(&bits);
    let dt = t.elapsed();
    println!("closure: {:.2}M/s ({} sets, {} closed)", sets.len() as f64 / dt.as_secs_f64() / 1e6, sets.len(), closed.len());
    for _ in 0..3 {
        let t = Instant::now();
        let words = l.context().closure_words_many("sets", &data, &ends).unwrap();
        let dw = t.elapsed();
        let t = Instant::now();
        let (packed, _) = l.context().closure_packed_many("sets", &data, &ends).unwrap();
        let dp = t.elapsed();
        let rate = |d: std::time::Duration| sets.len() as f64 / d.as_secs_f64() / 1e6;
        println!("closure words: {:.2}M/s ({} words), packed: {:.2}M/s ({} indices)", rate(dw), words.len(), rate(dp), packed.len());
    }

    let n = 1200;
    let mut small = Lattice::build(context(&rows[..n]), &BuildOptions::default()).unwrap();
    let start = small.len();
    let mut times = Vec::new();
    for i in 0..200 {
        let row = new_row(&rows[..n], &mut r);
        let t = Instant::now();
        small.add_object(&format!("new{i}"), &row).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!("add into {start} concepts: median {:.3} ms, p95 {:.3} ms (now {} concepts)", times[100], times[190], small.len());
}
