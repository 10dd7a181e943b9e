//! Concept mining with FCbO (Krajca, Outrata, Vychodil 2010): Close-by-One
//! with the canonicity test on bit-set intents plus failure inheritance
//! (the `N_j` sets), which skips most non-canonical closures. Children of a
//! concept are independent, so the recursion forks onto rayon's pool near the
//! root. The concept limit is counted atomically, so a too-large lattice
//! stops with `ERR_OMNI_LIMIT` before memory runs out.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use omnitide_common::{Error, Result};
use rayon::prelude::*;

use crate::bits::{words_for, Bits};
use crate::context::Context;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Concept {
    pub extent: Bits,
    pub intent: Bits,
}

/// Forking deeper than this only adds scheduling overhead.
const PAR_DEPTH: usize = 6;

/// Contexts with at most this many cells (objects x attributes) are mined on the calling
/// thread: their lattices take a few milliseconds, less than waking the pool and splitting
/// the root's children into tasks costs.
pub(crate) const SEQUENTIAL_CELLS: usize = 4096;

struct Miner<'a> {
    ctx: &'a Context,
    m: usize,
    wa: usize,
    limit: usize,
    min_support: usize,
    count: AtomicUsize,
    stop: AtomicBool,
    /// Deepest recursion level that forks onto the pool (0 = never fork).
    par_depth: usize,
}

/// `words(x) ∩ [0,j) ⊆ y`.
fn subset_below(x: &[u64], y: &[u64], j: usize) -> bool {
    let w = j >> 6;
    if x[..w].iter().zip(&y[..w]).any(|(a, b)| a & !b != 0) {
        return false;
    }
    let r = j & 63;
    r == 0 || (x[w] & !y[w] & ((1u64 << r) - 1)) == 0
}

impl Miner<'_> {
    fn emit(&self) -> bool {
        let c = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if c > self.limit {
            self.stop.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Emits the concept (a, b) then, depth-first, every canonical child of it.
    fn run(&self, a: Bits, b: Bits, y: usize, n: &[u64], depth: usize, out: &mut Vec<Concept>) {
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        let wa = self.wa;
        let mut mj = n.to_vec();
        let mut queue: Vec<(Bits, Bits, usize)> = Vec::new();
        let mut c = Bits::empty(self.ctx.n_objects());
        let mut d = Bits::empty(self.m);
        let mut floor = b.clone();
        let nz: Vec<usize> = a.words().iter().enumerate().filter(|(_, w)| **w != 0).map(|(k, _)| k).collect();
        for j in y..self.m {
            if b.contains(j) || !subset_below(&n[j * wa..(j + 1) * wa], b.words(), j) {
                continue;
            }
            let (aw, colw) = (a.words(), self.ctx.col(j).words());
            let cw = c.words_mut();
            let mut count = 0;
            for &k in &nz {
                cw[k] = aw[k] & colw[k];
                count += cw[k].count_ones() as usize;
            }
            if count < self.min_support {
                continue;
            }
            floor.insert(j);
            self.ctx.intent_into(&c, count, &nz, &floor, &mut d);
            floor.remove(j);
            if d.eq_below(&b, j) {
                queue.push((c.clone(), d.clone(), j + 1));
            } else {
                mj[j * wa..(j + 1) * wa].copy_from_slice(d.words());
            }
        }
        // The parent precedes its children (pre-order); its sets are not needed any more.
        out.push(Concept { extent: a, intent: b });
        if depth < self.par_depth && queue.len() > 1 {
            let parts: Vec<Vec<Concept>> = queue
                .into_par_iter()
                .map(|(c, d, j)| {
                    let mut v = Vec::new();
                    if self.emit() {
                        self.run(c, d, j, &mj, depth + 1, &mut v);
                    }
                    v
                })
                .collect();
            for p in parts {
                out.extend(p);
            }
        } else {
            for (c, d, j) in queue {
                if self.stop.load(Ordering::Relaxed) || !self.emit() {
                    return;
                }
                self.run(c, d, j, &mj, depth + 1, out);
            }
        }
    }
}

/// All concepts of `ctx` (top first, then depth-first in lectic order of
/// generation), at most `limit`; with `min_support > 0` only those whose
/// extent has at least that many objects (an iceberg lattice).
pub fn mine(ctx: &Context, limit: usize, min_support: usize) -> Result<Vec<Concept>> {
    let m = ctx.n_attributes();
    let top_extent = Bits::full(ctx.n_objects());
    if top_extent.count() < min_support {
        return Ok(Vec::new());
    }
    let top_intent = ctx.intent_of(&top_extent);
    let wa = words_for(m);
    let par_depth = if ctx.n_objects() * m <= SEQUENTIAL_CELLS { 0 } else { PAR_DEPTH };
    let miner = Miner { ctx, m, wa, limit, min_support, count: AtomicUsize::new(0), stop: AtomicBool::new(false), par_depth };
    let mut out = Vec::new();
    if miner.emit() {
        miner.run(top_extent, top_intent, 0, &vec![0u64; m * wa], 0, &mut out);
    }
    if miner.stop.load(Ordering::Relaxed) {
        // Parallel branches may each have found one more before they saw the stop flag.
        let reached = miner.count.load(Ordering::Relaxed).min(limit + rayon::current_num_threads());
        return Err(limit_error(limit, reached));
    }
    Ok(out)
}

/// `ERR_OMNI_LIMIT` with the limit and the concept count reached as fields.
pub(crate) fn limit_error(limit: usize, reached: usize) -> Error {
    Error::limit(
        "limit",
        format!("the lattice has more than {limit} concepts (stopped at {reached}); raise limit/maxBytes or mine an iceberg"),
    )
    .with_field("limit", limit as u64)
    .with_field("count", reached as u64)
}
