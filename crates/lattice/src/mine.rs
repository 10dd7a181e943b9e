//! Concept mining with FCbO (Krajca, Outrata, Vychodil 2010): Close-by-One
//! with the canonicity test on bit-set intents plus failure inheritance
//! (the `N_j` sets), which skips most non-canonical closures. Children of a
//! concept are independent, so the recursion forks onto rayon's pool near the
//! root. The concept limit is counted atomically, so a too-large lattice
//! stops with `ERR_OMNI_LIMIT` before memory runs out.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use omnitide_common::{Error, Result};
use rayon::prelude::*;

use crate::bits::{words_for, BitSlice, Bits};
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

/// Concepts written back to back as the miner finds them: extents at `extent_stride` words
/// each, intents at `intent_stride`, the layout of the lattice's arenas. Each concept is
/// written once, straight from the miner's scratch sets, instead of becoming two heap bit
/// sets that are later copied into the lattice's arenas and freed.
#[derive(Default)]
pub(crate) struct Arena {
    pub(crate) extents: Vec<u64>,
    pub(crate) intents: Vec<u64>,
}

impl Arena {
    /// The concatenation of `parts` (one part is taken as it is, with no copy).
    fn concat(mut parts: Vec<Arena>) -> Arena {
        if parts.len() == 1 {
            return parts.pop().unwrap_or_default();
        }
        let mut all = Arena {
            extents: Vec::with_capacity(parts.iter().map(|p| p.extents.len()).sum()),
            intents: Vec::with_capacity(parts.iter().map(|p| p.intents.len()).sum()),
        };
        for p in parts {
            all.extents.extend_from_slice(&p.extents);
            all.intents.extend_from_slice(&p.intents);
        }
        all
    }
}

/// The concepts of a context in the lattice's arena layout (see `Arena`).
pub(crate) struct Mined {
    pub(crate) arena: Arena,
    pub(crate) len: usize,
}

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

    /// Writes the concept (a, b) then, depth-first, every canonical child of it, to the last
    /// part of `out` (a forked subtree appends parts of its own, in order).
    fn run(&self, a: &BitSlice, b: &BitSlice, y: usize, n: &[u64], depth: usize, out: &mut Vec<Arena>) {
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        let (wa, wo) = (self.wa, a.words().len());
        let mut mj = n.to_vec();
        // The canonical children, each as extent words then intent words, and their `j + 1`.
        let mut queue: Vec<u64> = Vec::new();
        let mut next_y: Vec<usize> = Vec::new();
        let mut c = Bits::empty(self.ctx.n_objects());
        let mut d = Bits::empty(self.m);
        let mut floor = b.to_bits();
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
            if d.eq_below(b, j) {
                queue.extend_from_slice(c.words());
                queue.extend_from_slice(d.words());
                next_y.push(j + 1);
            } else {
                mj[j * wa..(j + 1) * wa].copy_from_slice(d.words());
            }
        }
        // The parent precedes its children (pre-order).
        let part = out.last_mut().expect("the miner always writes into a part");
        part.extents.extend_from_slice(a.words());
        part.intents.extend_from_slice(b.words());
        let child = |k: usize| {
            let s = &queue[k * (wo + wa)..(k + 1) * (wo + wa)];
            (BitSlice::new(&s[..wo]), BitSlice::new(&s[wo..]), next_y[k])
        };
        if depth < self.par_depth && next_y.len() > 1 {
            let parts: Vec<Vec<Arena>> = (0..next_y.len())
                .into_par_iter()
                .map(|k| {
                    let mut v = vec![Arena::default()];
                    if self.emit() {
                        let (c, d, j) = child(k);
                        self.run(c, d, j, &mj, depth + 1, &mut v);
                    }
                    v
                })
                .collect();
            out.extend(parts.into_iter().flatten());
        } else {
            for k in 0..next_y.len() {
                if self.stop.load(Ordering::Relaxed) || !self.emit() {
                    return;
                }
                let (c, d, j) = child(k);
                self.run(c, d, j, &mj, depth + 1, out);
            }
        }
    }
}

/// All concepts of `ctx` (top first, then depth-first in lectic order of
/// generation), at most `limit`; with `min_support > 0` only those whose
/// extent has at least that many objects (an iceberg lattice).
pub fn mine(ctx: &Context, limit: usize, min_support: usize) -> Result<Vec<Concept>> {
    let Mined { arena, len } = mine_flat(ctx, limit, min_support)?;
    let (wo, wa) = (words_for(ctx.n_objects()), words_for(ctx.n_attributes()));
    Ok((0..len)
        .map(|i| Concept {
            extent: BitSlice::new(&arena.extents[i * wo..(i + 1) * wo]).to_bits(),
            intent: BitSlice::new(&arena.intents[i * wa..(i + 1) * wa]).to_bits(),
        })
        .collect())
}

/// `mine`, written in the lattice's arena layout (concept `i` is stride `i` of each side).
pub(crate) fn mine_flat(ctx: &Context, limit: usize, min_support: usize) -> Result<Mined> {
    let m = ctx.n_attributes();
    let top_extent = Bits::full(ctx.n_objects());
    if top_extent.count() < min_support {
        return Ok(Mined { arena: Arena::default(), len: 0 });
    }
    let top_intent = ctx.intent_of(&top_extent);
    let wa = words_for(m);
    let par_depth = if ctx.n_objects() * m <= SEQUENTIAL_CELLS { 0 } else { PAR_DEPTH };
    let miner = Miner { ctx, m, wa, limit, min_support, count: AtomicUsize::new(0), stop: AtomicBool::new(false), par_depth };
    let mut parts = vec![Arena::default()];
    if miner.emit() {
        miner.run(&top_extent, &top_intent, 0, &vec![0u64; m * wa], 0, &mut parts);
    }
    if miner.stop.load(Ordering::Relaxed) {
        // Parallel branches may each have found one more before they saw the stop flag.
        let reached = miner.count.load(Ordering::Relaxed).min(limit + rayon::current_num_threads());
        return Err(limit_error(limit, reached));
    }
    // Without a stop every emitted concept was written.
    Ok(Mined { arena: Arena::concat(parts), len: miner.count.load(Ordering::Relaxed) })
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
