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
    if left.len() >= NO_MATCH as usize || right.len() >= NO_MATCH as usize {
        return Err(Error::new(code::LIMIT, "join: a side has 2^32 - 1 rows or more"));
    }
    let canon = |k: f64| if k == 0.0 { 0u64 } else { k.to_bits() };
    // Build on the right side: chains of row indices per key, in input order.
    // foldhash with a per-process random seed: SipHash was half of a join's time, and
    // join keys are user data, so a fixed-seed hash (Fx) would let crafted keys collide.
    let mut heads: HashMap<u64, (u32, u32), foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(right.len(), Default::default());
    let mut next = vec![NO_MATCH; right.len()];
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
    let mut out = JoinPairs::default();
    // Most joins emit about one pair per left row: reserve that much once.
    out.left.reserve(left.len());
    if kind != JoinKind::Anti {
        out.right.reserve(left.len());
    }
    for (i, k) in left.iter().enumerate() {
        let head = if k.is_nan() { None } else { heads.get(&canon(*k)).map(|h| h.0) };
        match (kind, head) {
            (JoinKind::Anti, None) => out.left.push(i as u32),
            (JoinKind::Anti, Some(_)) | (JoinKind::Inner, None) => {}
            (JoinKind::Left, None) => {
                out.left.push(i as u32);
                out.right.push(NO_MATCH);
            }
            (_, Some(mut j)) => loop {
                out.left.push(i as u32);
                out.right.push(j);
                j = next[j as usize];
                if j == NO_MATCH {
                    break;
                }
            },
        }
    }
    Ok(out)
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
