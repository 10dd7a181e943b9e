//! `cargo run --example profile -p omnitide-lattice -- FILE.cxt`: phase timings.
use std::time::Instant;

use omnitide_lattice::{io, mine, BuildOptions, Lattice};

fn main() {
    let path = std::env::args().nth(1).expect("usage: profile FILE.cxt");
    let ctx = io::read_cxt(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let (work, _) = ctx.clarify_objects();
    let (n, m) = (ctx.n_objects(), ctx.n_attributes());
    println!("{n} objects, {} distinct rows, {m} attributes", work.n_objects());
    let all = BuildOptions { limit: usize::MAX, max_bytes: usize::MAX };
    let t = Instant::now();
    let cs = mine(&work, usize::MAX, 0).unwrap();
    println!("mine (clarified): {} concepts in {:?}", cs.len(), t.elapsed());
    let t = Instant::now();
    let l = Lattice::build(work, &all).unwrap();
    println!("build clarified (mine + covers): {} concepts in {:?}", l.len(), t.elapsed());
    let t = Instant::now();
    let l = Lattice::build(ctx, &all).unwrap();
    println!("build (mine + covers + expand): {} concepts in {:?}", l.len(), t.elapsed());
}
