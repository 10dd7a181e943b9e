//! Group keys to dense group ids, one batch per call.
//!
//! The window operator takes keys as dense `u32` ids. Doing that per row in
//! JavaScript (a `Map` plus a holey array) was the largest cost of a batch
//! group-by; here a typed key column becomes ids in one pass. Keys compare as
//! JavaScript's `Map` does (SameValueZero): `-0` is `0`, every NaN is one key.
//! Ids are handed out in first-seen order, so the caller can keep the key
//! values in an array indexed by id: each call reports the keys it added.

use std::collections::HashMap;

use omnitide_common::{code, Error};

/// Keys below this (non-negative integers, the usual id columns) index a
/// vector instead of the hash map: 4 MiB at most, grown only as far as the
/// largest such key seen.
pub const DENSE_LIMIT: u32 = 1 << 20;
const ABSENT: u32 = u32::MAX;

#[derive(Debug, Default, Clone)]
pub struct KeyDictionary {
    dense: Vec<u32>,
    /// Canonical bits of the other keys -> id. foldhash with a per-process
    /// seed: keys are user data, so a fixed-seed hash would let crafted keys collide.
    sparse: HashMap<u64, u32, foldhash::fast::RandomState>,
    len: u32,
}

/// SameValueZero: `-0` and `0` are one key, and so is every NaN.
fn canonical(k: f64) -> u64 {
    if k == 0.0 {
        0
    } else if k.is_nan() {
        f64::NAN.to_bits()
    } else {
        k.to_bits()
    }
}

impl KeyDictionary {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ids handed out so far (keys plus reserved ids).
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A fresh id for a key the caller encodes itself (strings, composite keys).
    pub fn reserve(&mut self) -> Result<u32, Error> {
        self.next_id()
    }

    fn next_id(&mut self) -> Result<u32, Error> {
        if self.len == ABSENT {
            return Err(Error::new(code::LIMIT, "keys: 2^32 - 1 distinct keys"));
        }
        self.len += 1;
        Ok(self.len - 1)
    }

    #[inline]
    fn dense_id(&mut self, k: u32, raw: f64, added: &mut Vec<f64>) -> Result<u32, Error> {
        let slot = k as usize;
        if slot >= self.dense.len() {
            // Grow geometrically, but never past the limit.
            let want = (slot + 1).max(self.dense.len() * 2).min(DENSE_LIMIT as usize);
            self.dense.resize(want, ABSENT);
        }
        let id = self.dense[slot];
        if id != ABSENT {
            return Ok(id);
        }
        let id = self.next_id()?;
        self.dense[slot] = id;
        added.push(raw);
        Ok(id)
    }

    #[inline]
    fn sparse_id(&mut self, canon: u64, raw: f64, added: &mut Vec<f64>) -> Result<u32, Error> {
        if let Some(id) = self.sparse.get(&canon) {
            return Ok(*id);
        }
        let id = self.next_id()?;
        self.sparse.insert(canon, id);
        added.push(raw);
        Ok(id)
    }

    /// Ids of `keys` into `out` (same length); the keys first seen here are
    /// appended to `added` in id order.
    pub fn encode_u32(&mut self, keys: &[u32], out: &mut [u32], added: &mut Vec<f64>) -> Result<(), Error> {
        check_len(keys.len(), out.len())?;
        for (k, o) in keys.iter().zip(out.iter_mut()) {
            *o = if *k < DENSE_LIMIT {
                self.dense_id(*k, f64::from(*k), added)?
            } else {
                self.sparse_id(f64::from(*k).to_bits(), f64::from(*k), added)?
            };
        }
        Ok(())
    }

    /// Ids of `col[sel[i]]` into `out[i]`: a selection's keys, gathered and encoded in one
    /// pass (the fused expression path). A key already in the direct-indexed table costs one
    /// load; the rest take [`Self::encode_u32`]'s path. `sel` entries must index `col`.
    pub fn encode_u32_selected(&mut self, col: &[u32], sel: &[u32], out: &mut [u32], added: &mut Vec<f64>) -> Result<(), Error> {
        check_len(sel.len(), out.len())?;
        for (&r, o) in sel.iter().zip(out.iter_mut()) {
            let k = *col
                .get(r as usize)
                .ok_or_else(|| Error::new(code::INVALID_ARGUMENT, format!("sel: row {r} is past the column's {} rows", col.len())))?;
            let known = self.dense.get(k as usize).copied().unwrap_or(ABSENT);
            *o = if known != ABSENT {
                known
            } else if k < DENSE_LIMIT {
                self.dense_id(k, f64::from(k), added)?
            } else {
                self.sparse_id(f64::from(k).to_bits(), f64::from(k), added)?
            };
        }
        Ok(())
    }

    /// As [`Self::encode_u32`] for numbers; the first value seen of a key is
    /// the one reported (`-0` stays `-0` if it came before `0`).
    pub fn encode_f64(&mut self, keys: &[f64], out: &mut [u32], added: &mut Vec<f64>) -> Result<(), Error> {
        check_len(keys.len(), out.len())?;
        for (k, o) in keys.iter().zip(out.iter_mut()) {
            let small = *k >= 0.0 && *k < f64::from(DENSE_LIMIT) && k.fract() == 0.0;
            *o = if small { self.dense_id(*k as u32, *k, added)? } else { self.sparse_id(canonical(*k), *k, added)? };
        }
        Ok(())
    }
}

fn check_len(keys: usize, out: usize) -> Result<(), Error> {
    if keys != out {
        return Err(Error::new(code::INVALID_ARGUMENT, format!("out: length {out} differs from the keys' {keys}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: a linear list of SameValueZero-distinct keys.
    fn reference(keys: &[f64]) -> (Vec<u32>, Vec<f64>) {
        let mut seen: Vec<f64> = Vec::new();
        let ids = keys
            .iter()
            .map(|k| {
                let same = |s: &f64| (s.is_nan() && k.is_nan()) || s == k;
                match seen.iter().position(same) {
                    Some(p) => p as u32,
                    None => {
                        seen.push(*k);
                        seen.len() as u32 - 1
                    }
                }
            })
            .collect();
        (ids, seen)
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *seed >> 33
    }

    #[test]
    fn f64_keys_match_same_value_zero_across_batches() {
        let mut seed = 7;
        let pool = [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            1.5,
            -3.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4_294_967_295.0,
            1_048_576.0,
            1_048_575.0,
            17.0,
        ];
        let keys: Vec<f64> = (0..3000).map(|_| pool[(lcg(&mut seed) % pool.len() as u64) as usize]).collect();
        let (want_ids, want_vals) = reference(&keys);
        let mut d = KeyDictionary::new();
        let (mut ids, mut added) = (vec![0; keys.len()], Vec::new());
        for (k, o) in keys.chunks(700).zip(ids.chunks_mut(700)) {
            d.encode_f64(k, o, &mut added).unwrap();
        }
        assert_eq!(ids, want_ids);
        assert_eq!(added.len(), want_vals.len());
        for (a, b) in added.iter().zip(&want_vals) {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{a} vs {b}");
        }
        assert_eq!(d.len() as usize, want_vals.len());
    }

    #[test]
    fn u32_and_f64_columns_share_ids_and_reserve_skips_one() {
        let mut seed = 11;
        let keys: Vec<u32> = (0..5000)
            .map(|_| match lcg(&mut seed) % 3 {
                0 => (lcg(&mut seed) % 50) as u32,
                1 => u32::MAX - (lcg(&mut seed) % 5) as u32,
                _ => DENSE_LIMIT - 2 + (lcg(&mut seed) % 4) as u32,
            })
            .collect();
        let as_f64: Vec<f64> = keys.iter().map(|k| f64::from(*k)).collect();
        let (want_ids, want_vals) = reference(&as_f64);
        let mut d = KeyDictionary::new();
        let (mut ids, mut added) = (vec![0; keys.len()], Vec::new());
        d.encode_u32(&keys, &mut ids, &mut added).unwrap();
        assert_eq!(ids, want_ids);
        assert_eq!(added, want_vals);
        // The same keys as f64 get the same ids; nothing is added.
        let mut again = vec![0; keys.len()];
        let mut none = Vec::new();
        d.encode_f64(&as_f64, &mut again, &mut none).unwrap();
        assert_eq!(again, ids);
        assert!(none.is_empty());
        let r = d.reserve().unwrap();
        assert_eq!(r as usize, want_vals.len());
        let mut one = [0];
        d.encode_f64(&[0.25], &mut one, &mut none).unwrap();
        assert_eq!(one[0], r + 1);
    }

    #[test]
    fn a_short_output_is_an_error() {
        let mut d = KeyDictionary::new();
        let e = d.encode_u32(&[1, 2], &mut [0], &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("out"), "{e}");
    }
}
