//! `cargo run --example queries -p omnitide-lattice`: batched closure and incremental-add
//! timings on a context of the UCI Mushroom shape (the generator of bench/lattice.ts), for
//! profiling those two paths without the binding.
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

fn mushroom_rows(n: usize, prototypes: usize, r: &mut Rng) -> Vec<Vec<u32>> {
    let offsets: Vec<usize> = GROUPS.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect();
    let skewed = |k: usize, r: &mut Rng| (k - 1).min((k as f64 * r.f() * r.f()) as usize);
    let protos: Vec<Vec<usize>> = (0..prototypes).map(|_| GROUPS.iter().map(|&k| skewed(k, r)).collect()).collect();
    (0..n)
        .map(|_| {
            let p = &protos[(r.f() * r.f() * prototypes as f64) as usize];
            (0..GROUPS.len()).map(|g| (offsets[g] + p[g]) as u32).collect()
        })
        .collect()
}

fn main() {
    let mut r = Rng(7u32.wrapping_mul(2_654_435_761));
    let m: usize = GROUPS.iter().sum();
    let rows = mushroom_rows(8124, 200, &mut r);
    let ctx_of = |rows: &[Vec<u32>]| {
        let objects = (0..rows.len()).map(|i| format!("g{i}")).collect();
        let attributes = (0..m).map(|j| format!("m{j}")).collect();
        Context::new(objects, attributes, rows).unwrap()
    };
    let t = Instant::now();
    let l = Lattice::build(ctx_of(&rows), &BuildOptions::default()).unwrap();
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

    let offsets: Vec<usize> = GROUPS.iter().scan(0, |a, g| Some(std::mem::replace(a, *a + g))).collect();
    let n = 1200;
    let mut small = Lattice::build(ctx_of(&rows[..n]), &BuildOptions::default()).unwrap();
    let start = small.len();
    let mut times = Vec::new();
    for i in 0..200 {
        let mut row = rows[(r.f() * n as f64) as usize].clone();
        for _ in 0..2 {
            let g = (r.f() * GROUPS.len() as f64) as usize;
            row[g] = (offsets[g] + (r.f() * GROUPS[g] as f64) as usize) as u32;
        }
        let t = Instant::now();
        small.add_object(&format!("new{i}"), &row).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!("add into {start} concepts: median {:.3} ms, p95 {:.3} ms (now {} concepts)", times[100], times[190], small.len());
}
