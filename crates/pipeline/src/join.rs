//! Joins: a batch hash join over key columns, and a windowed stream-stream
//! (interval) join whose buffers are purged by the watermark.

use std::collections::HashMap;

use omnitide_common::{code, Error};
use serde::{Deserialize, Serialize};

/// Right index of a left row without a match (left join).
pub const NO_MATCH: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum JoinKind {
    Inner,
    Left,
    Anti,
}

impl JoinKind {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "inner" => Ok(Self::Inner),
            "left" => Ok(Self::Left),
            "anti" => Ok(Self::Anti),
            _ => Err(Error::new(code::INVALID_ARGUMENT, format!("kind: '{s}' is not inner, left or anti"))),
        }
    }
}

/// Row index pairs of a join, in left order (then right order within a key).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JoinPairs {
    pub left: Vec<u32>,
    pub right: Vec<u32>,
}

/// Keys are `f64`: numbers as they are, strings as ids of one dictionary shared
/// by both sides. NaN keys (missing) never match, as SQL NULL.
pub fn hash_join(left: &[f64], right: &[f64], kind: JoinKind) -> Result<JoinPairs, Error> {
    if left.len() >= NO_MATCH as usize {
        return Err(Error::new(code::LIMIT, "join: a side has 2^32 - 1 rows or more"));
    }
    let table = JoinTable::build(right)?;
    let mut out = JoinPairs::default();
    table.probe(left.iter().copied(), kind, &mut out);
    Ok(out)
}

/// Right keys that are all non-negative integers below this (and below a few
/// times the row count) index a vector of chain heads directly, no hashing.
const DIRECT_LIMIT: f64 = (1u32 << 24) as f64;

/// The build side of a hash join, built once from the right table's key
/// column and probed by each batch of the left side: the left side is never
/// concatenated, and typed key columns (u32 or f64) are probed as they are.
#[derive(Debug, Clone)]
pub struct JoinTable {
    /// Chain heads by key: direct-indexed (small non-negative integer keys) or hashed.
    heads: Heads,
    /// `next[j]`: the next right row with row j's key, in input order.
    next: Vec<u32>,
    rows: usize,
}

#[derive(Debug, Clone)]
enum Heads {
    Direct(Vec<u32>),
    // foldhash with a per-process random seed: SipHash was half of a join's time, and
    // join keys are user data, so a fixed-seed hash (Fx) would let crafted keys collide.
    Hashed(HashMap<u64, u32, foldhash::fast::RandomState>),
}

/// SameValueZero on numbers; NaN never reaches here (it never matches).
fn canon(k: f64) -> u64 {
    if k == 0.0 {
        0
    } else {
        k.to_bits()
    }
}

impl JoinTable {
    pub fn build(right: &[f64]) -> Result<Self, Error> {
        if right.len() >= NO_MATCH as usize {
            return Err(Error::new(code::LIMIT, "join: a side has 2^32 - 1 rows or more"));
        }
        let mut next = vec![NO_MATCH; right.len()];
        // Tails keep each chain in input order while it is built.
        let bound = DIRECT_LIMIT.min((4 * right.len() + 1024) as f64);
        let direct = right.iter().all(|k| k.is_nan() || (*k >= 0.0 && *k < bound && k.fract() == 0.0));
        let heads = if direct {
            let size = right.iter().filter(|k| !k.is_nan()).fold(0.0f64, |m, k| m.max(*k)) as usize + 1;
            let (mut heads, mut tails) = (vec![NO_MATCH; size], vec![NO_MATCH; size]);
            for (j, k) in right.iter().enumerate() {
                if k.is_nan() {
                    continue;
                }
                let (slot, j) = (*k as usize, j as u32);
                if heads[slot] == NO_MATCH {
                    heads[slot] = j;
                } else {
                    next[tails[slot] as usize] = j;
                }
                tails[slot] = j;
            }
            Heads::Direct(heads)
        } else {
            let mut heads: HashMap<u64, (u32, u32), foldhash::fast::RandomState> =
                HashMap::with_capacity_and_hasher(right.len(), Default::default());
            for (j, k) in right.iter().enumerate() {
                if k.is_nan() {
                    continue;
                }
                let j = j as u32;
                heads
                    .entry(canon(*k))
                    .and_modify(|(_, tail)| {
                        next[*tail as usize] = j;
                        *tail = j;
                    })
                    .or_insert((j, j));
            }
            Heads::Hashed(heads.into_iter().map(|(k, (h, _))| (k, h)).collect())
        };
        Ok(Self { heads, next, rows: right.len() })
    }

    /// Right rows of the table.
    pub fn rows(&self) -> usize {
        self.rows
    }

    #[inline]
    fn head(&self, k: f64) -> u32 {
        match &self.heads {
            Heads::Direct(h) => {
                if k >= 0.0 && k < h.len() as f64 && k.fract() == 0.0 {
                    h[k as usize]
                } else {
                    NO_MATCH
                }
            }
            Heads::Hashed(h) => {
                if k.is_nan() {
                    NO_MATCH
                } else {
                    h.get(&canon(k)).copied().unwrap_or(NO_MATCH)
                }
            }
        }
    }

    /// Probes one batch of left keys; pairs are appended with left indices
    /// relative to the batch (in left order, then right order within a key).
    pub fn probe(&self, left: impl ExactSizeIterator<Item = f64>, kind: JoinKind, out: &mut JoinPairs) {
        // Most joins emit about one pair per left row: reserve that much once.
        out.left.reserve(left.len());
        if kind != JoinKind::Anti {
            out.right.reserve(left.len());
        }
        for (i, k) in left.enumerate() {
            let head = self.head(k);
            match (kind, head) {
                (JoinKind::Anti, NO_MATCH) => out.left.push(i as u32),
                (JoinKind::Anti, _) | (JoinKind::Inner, NO_MATCH) => {}
                (JoinKind::Left, NO_MATCH) => {
                    out.left.push(i as u32);
                    out.right.push(NO_MATCH);
                }
                (_, mut j) => loop {
                    out.left.push(i as u32);
                    out.right.push(j);
                    j = self.next[j as usize];
                    if j == NO_MATCH {
                        break;
                    }
                },
            }
        }
    }

    pub fn probe_f64(&self, left: &[f64], kind: JoinKind) -> Result<JoinPairs, Error> {
        check_rows(left.len())?;
        let mut out = JoinPairs::default();
        self.probe(left.iter().copied(), kind, &mut out);
        Ok(out)
    }

    /// Typed `u32` keys (dictionary ids or id columns) probe without a conversion copy.
    pub fn probe_u32(&self, left: &[u32], kind: JoinKind) -> Result<JoinPairs, Error> {
        check_rows(left.len())?;
        let mut out = JoinPairs::default();
        self.probe(left.iter().map(|k| f64::from(*k)), kind, &mut out);
        Ok(out)
    }
}

fn check_rows(n: usize) -> Result<(), Error> {
    if n >= NO_MATCH as usize {
        return Err(Error::new(code::LIMIT, "join: a side has 2^32 - 1 rows or more"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalJoinConfig {
    /// A pair matches when `lower <= right.t - left.t <= upper`.
    pub lower: f64,
    pub upper: f64,
    #[serde(default)]
    pub max_out_of_orderness: f64,
}

/// Result of one push: matched (left id, right id) pairs, ids the caller may
/// forget (no future match), and rows of the batch that arrived too late.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct IntervalOutcome {
    pub left_ids: Vec<f64>,
    pub right_ids: Vec<f64>,
    pub expired_ids: Vec<f64>,
    pub late_rows: Vec<u32>,
}

/// Windowed stream-stream join (Flink's interval join). Each side buffers
/// (time, id) per key; the watermark is the minimum of the two sides'.
#[derive(Debug, Clone)]
pub struct IntervalJoin {
    cfg: IntervalJoinConfig,
    side_wm: [f64; 2],
    buffers: [HashMap<u32, Vec<(f64, f64)>>; 2],
}

impl IntervalJoin {
    pub fn new(cfg: IntervalJoinConfig) -> Result<Self, Error> {
        if !(cfg.lower.is_finite() && cfg.upper.is_finite() && cfg.lower <= cfg.upper) {
            return Err(Error::new(code::INVALID_ARGUMENT, format!("between: [{}, {}] is not a finite interval", cfg.lower, cfg.upper)));
        }
        if !(cfg.max_out_of_orderness.is_finite() && cfg.max_out_of_orderness >= 0.0) {
            return Err(Error::new(code::INVALID_ARGUMENT, "maxOutOfOrderness: not a finite number >= 0"));
        }
        Ok(Self { cfg, side_wm: [f64::NEG_INFINITY; 2], buffers: [HashMap::new(), HashMap::new()] })
    }

    pub fn watermark(&self) -> f64 {
        self.side_wm[0].min(self.side_wm[1])
    }

    pub fn buffered(&self) -> usize {
        self.buffers.iter().map(|b| b.values().map(Vec::len).sum::<usize>()).sum()
    }

    /// `side` 0 = left, 1 = right.
    pub fn push(&mut self, side: usize, keys: &[u32], times: &[f64], ids: &[f64]) -> Result<IntervalOutcome, Error> {
        if side > 1 {
            return Err(Error::new(code::INVALID_ARGUMENT, "side: must be 0 (left) or 1 (right)"));
        }
        if times.len() != keys.len() || ids.len() != keys.len() {
            return Err(Error::new(code::INVALID_ARGUMENT, "times/ids: lengths differ from keys'"));
        }
        let mut out = IntervalOutcome::default();
        let (lo, hi) = (self.cfg.lower, self.cfg.upper);
        for i in 0..keys.len() {
            let (t, id, key) = (times[i], ids[i], keys[i]);
            if !t.is_finite() || t < self.watermark() {
                out.late_rows.push(i as u32);
                continue;
            }
            if let Some(other) = self.buffers[1 - side].get(&key) {
                for &(ot, oid) in other {
                    let (lt, rt) = if side == 0 { (t, ot) } else { (ot, t) };
                    let d = rt - lt;
                    if lo <= d && d <= hi {
                        let (l, r) = if side == 0 { (id, oid) } else { (oid, id) };
                        out.left_ids.push(l);
                        out.right_ids.push(r);
                    }
                }
            }
            self.buffers[side].entry(key).or_default().push((t, id));
            let wm = t - self.cfg.max_out_of_orderness;
            if wm > self.side_wm[side] {
                self.side_wm[side] = wm;
            }
        }
        self.purge(&mut out.expired_ids);
        Ok(out)
    }

    /// End of both inputs: every buffered id expires.
    pub fn finish(&mut self) -> Vec<f64> {
        self.side_wm = [f64::INFINITY; 2];
        let mut ids = Vec::new();
        self.purge(&mut ids);
        ids
    }

    fn purge(&mut self, expired: &mut Vec<f64>) {
        let wm = self.watermark();
        let (lo, hi) = (self.cfg.lower, self.cfg.upper);
        // Future events have t >= wm. A left at lt can still meet a right at
        // rt <= lt + hi; a right at rt a left at lt >= rt - hi.
        for side in 0..2 {
            let alive = |t: f64| if side == 0 { t + hi >= wm } else { t - lo >= wm };
            for list in self.buffers[side].values_mut() {
                list.retain(|&(t, id)| {
                    let keep = alive(t);
                    if !keep {
                        expired.push(id);
                    }
                    keep
                });
            }
            self.buffers[side].retain(|_, l| !l.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(left: &[f64], right: &[f64], kind: JoinKind) -> JoinPairs {
        let mut out = JoinPairs::default();
        for (i, l) in left.iter().enumerate() {
            let ms: Vec<u32> = right.iter().enumerate().filter(|(_, r)| *r == l).map(|(j, _)| j as u32).collect();
            match kind {
                JoinKind::Anti if ms.is_empty() => out.left.push(i as u32),
                JoinKind::Left if ms.is_empty() => {
                    out.left.push(i as u32);
                    out.right.push(NO_MATCH)
                }
                JoinKind::Anti => {}
                _ => ms.iter().for_each(|j| {
                    out.left.push(i as u32);
                    out.right.push(*j)
                }),
            }
        }
        out
    }

    #[test]
    fn hash_join_matches_a_nested_loop() {
        let left: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64).collect();
        let right: Vec<f64> = (0..300).map(|i| ((i * 53) % 151) as f64).collect();
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Anti] {
            assert_eq!(hash_join(&left, &right, kind).unwrap(), reference(&left, &right, kind), "{kind:?}");
        }
    }

    /// Probing batch by batch (u32 and f64 keys) equals one join of the whole left side.
    fn probe_in_batches(left: &[f64], right: &[f64], kind: JoinKind) -> JoinPairs {
        let t = JoinTable::build(right).unwrap();
        let mut out = JoinPairs::default();
        let mut base = 0u32;
        for (b, chunk) in left.chunks(97).enumerate() {
            let p = if b % 2 == 0 || chunk.iter().any(|k| k.fract() != 0.0 || *k < 0.0 || k.is_nan() || *k > u32::MAX as f64) {
                t.probe_f64(chunk, kind).unwrap()
            } else {
                t.probe_u32(&chunk.iter().map(|k| *k as u32).collect::<Vec<_>>(), kind).unwrap()
            };
            out.left.extend(p.left.iter().map(|i| i + base));
            out.right.extend(p.right);
            base += chunk.len() as u32;
        }
        out
    }

    #[test]
    fn join_table_probed_per_batch_matches_a_nested_loop() {
        let mut seed = 3u64;
        let mut rnd = |m: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % m
        };
        // Direct-indexed (small non-negative integers, duplicates and NaN on the right)...
        let right: Vec<f64> = (0..400).map(|_| if rnd(20) == 0 { f64::NAN } else { rnd(150) as f64 }).collect();
        let left: Vec<f64> = (0..1000).map(|_| if rnd(30) == 0 { f64::NAN } else { rnd(200) as f64 }).collect();
        // ...and hashed (negative, fractional, -0, huge u32 keys).
        let pool = [-0.0, 0.0, -1.0, 2.5, 4_294_967_295.0, 1e12, 7.0];
        let right_h: Vec<f64> = (0..300).map(|_| pool[rnd(pool.len() as u64) as usize]).collect();
        let left_h: Vec<f64> = (0..900).map(|_| if rnd(9) == 0 { 3.0 } else { pool[rnd(pool.len() as u64) as usize] }).collect();
        assert!(matches!(JoinTable::build(&right).unwrap().heads, Heads::Direct(_)));
        assert!(matches!(JoinTable::build(&right_h).unwrap().heads, Heads::Hashed(_)));
        for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Anti] {
            assert_eq!(probe_in_batches(&left, &right, kind), reference(&left, &right, kind), "direct {kind:?}");
            assert_eq!(probe_in_batches(&left_h, &right_h, kind), reference(&left_h, &right_h, kind), "hashed {kind:?}");
        }
        // Huge u32 left keys against a direct table miss instead of indexing out of bounds.
        let t = JoinTable::build(&right).unwrap();
        assert_eq!(t.probe_u32(&[u32::MAX, 1 << 30], JoinKind::Anti).unwrap().left, vec![0, 1]);
    }

    #[test]
    fn interval_join_matches_all_pairs_within_bounds() {
        let mut j = IntervalJoin::new(IntervalJoinConfig { lower: -5.0, upper: 5.0, max_out_of_orderness: 0.0 }).unwrap();
        let lt: Vec<f64> = (0..100).map(|i| (i * 3) as f64).collect();
        let rt: Vec<f64> = (0..100).map(|i| (i * 3 + 1) as f64).collect();
        let keys: Vec<u32> = (0..100).map(|i| i % 3).collect();
        let ids: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let mut pairs = Vec::new();
        for c in 0..10 {
            let r = c * 10..(c + 1) * 10;
            let a = j.push(0, &keys[r.clone()], &lt[r.clone()], &ids[r.clone()]).unwrap();
            let b = j.push(1, &keys[r.clone()], &rt[r.clone()], &ids[r.clone()]).unwrap();
            assert!(a.late_rows.is_empty() && b.late_rows.is_empty());
            for o in [a, b] {
                pairs.extend(o.left_ids.iter().zip(&o.right_ids).map(|(l, r)| (*l as usize, *r as usize)));
            }
        }
        pairs.sort();
        let mut want = Vec::new();
        for l in 0..100 {
            for r in 0..100 {
                let d = rt[r] - lt[l];
                if keys[l] == keys[r] && (-5.0..=5.0).contains(&d) {
                    want.push((l, r));
                }
            }
        }
        assert_eq!(pairs, want);
        assert!(j.buffered() < 40, "buffers are purged by the watermark: {}", j.buffered());
    }
}
