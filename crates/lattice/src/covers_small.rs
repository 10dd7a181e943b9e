//! Lower covers when the objects and the attributes each fit one 64-bit word.
//!
//! On small dense contexts building the Hasse diagram cost about five times
//! the mining itself. This is the same Lindig neighbour test as
//! `Lattice::compute_lower_with`, on plain `u64` masks: the candidate extents
//! are grouped by a scan of a few words, and each candidate's intent is decided
//! with one mask test per attribute — no `Bits` slices, no per-word loops, no
//! closure scratch.

use crate::bits::Bits;
use crate::lattice::Lattice;

/// Whether `lower_covers` applies: 1..=64 objects and 1..=64 attributes.
pub(crate) fn fits(l: &Lattice) -> bool {
    (1..=64).contains(&l.ctx.n_objects()) && (1..=64).contains(&l.ctx.n_attributes())
}

/// The lower covers of every concept (sorted ids), for a lattice that `fits`.
pub(crate) fn lower_covers(l: &Lattice) -> Vec<Vec<u32>> {
    debug_assert!(fits(l));
    let n_attr = l.ctx.n_attributes();
    let cols: Vec<u64> = (0..n_attr).map(|m| l.ctx.col(m).words()[0]).collect();
    let mut key = Bits::empty(n_attr);
    // (candidate extent E_m, how many attributes give it)
    let mut groups: Vec<(u64, usize)> = Vec::with_capacity(n_attr);
    l.concepts()
        .map(|c| {
            let (a, b) = (c.extent.words()[0], c.intent.words()[0]);
            groups.clear();
            for (m, &col) in cols.iter().enumerate() {
                if b >> m & 1 == 1 {
                    continue;
                }
                let e = a & col;
                match groups.iter_mut().find(|g| g.0 == e) {
                    Some(g) => g.1 += 1,
                    None => groups.push((e, 1)),
                }
            }
            let mut out = Vec::new();
            for &(e, same) in &groups {
                // the intent of E: every attribute whose column holds all of E (a superset of B)
                let mut d = 0u64;
                for (k, &col) in cols.iter().enumerate() {
                    d |= u64::from(e & !col == 0) << k;
                }
                // a cover exactly when no attribute outside the group joins the closure
                if (d & !b).count_ones() as usize == same {
                    key.words_mut()[0] = d;
                    if let Some(id) = l.by_intent.get(&key) {
                        out.push(id);
                    }
                }
            }
            out.sort_unstable();
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{BuildOptions, Context, Lattice};

    /// xorshift64*: a seeded stream for random contexts.
    fn rng(mut s: u64) -> impl FnMut() -> u64 {
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn equals_the_general_cover_computation_on_random_small_contexts() {
        let mut next = rng(0x9e37_79b9_7f4a_7c15);
        for (n, m, density) in [
            (1, 1, 0.5),
            (5, 3, 0.5),
            (40, 24, 0.5),
            (64, 64, 0.1),
            (64, 16, 0.9),
            (12, 64, 0.9),
            (17, 63, 0.3),
            (63, 2, 0.7),
            (30, 30, 0.0),
            (30, 30, 1.0),
        ] {
            let rows: Vec<Vec<u32>> =
                (0..n).map(|_| (0..m as u32).filter(|_| (next() % 1000) as f64 / 1000.0 < density).collect()).collect();
            let ctx = Context::new((0..n).map(|i| format!("g{i}")).collect(), (0..m).map(|i| format!("m{i}")).collect(), &rows).unwrap();
            let l = Lattice::build(ctx, &BuildOptions::default()).unwrap_or_else(|e| panic!("{n}x{m} d={density}: {e:?}"));
            assert!(super::fits(&l));
            let fast = super::lower_covers(&l);
            assert_eq!(fast.len(), l.len());
            for (i, lower) in fast.iter().enumerate() {
                assert_eq!(lower.as_slice(), l.compute_lower(i).as_slice(), "{n}x{m} d={density}: lower covers of concept {i}");
                assert_eq!(lower.as_slice(), l.lower_covers(i), "{n}x{m} d={density}: the built lattice's covers of concept {i}");
            }
        }
    }
}
