//! Aggregate accumulators. Each is mergeable-free and O(1) per value except
//! the sketches: distinct uses `hyperloglogplus` (HLL++ with a sparse
//! representation, so small groups stay small) and quantiles use `tdigest`
//! (Dunning's merging t-digest). Both crates serialise with serde, which the
//! checkpoint of a window needs.

use std::hash::{BuildHasher, Hasher};

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use omnitide_common::{code, Error};
use serde::{Deserialize, Serialize};
use tdigest::TDigest;

/// HLL++ precision: 2^14 registers, standard error ~0.8 %.
const HLL_PRECISION: u8 = 14;
/// t-digest compression (centroids kept); 100 gives ~1 % rank error at the median.
const TDIGEST_SIZE: usize = 100;
/// Values buffered before a t-digest merge (the crate merges sorted batches).
const TDIGEST_BUFFER: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
    Mean,
    /// Sample variance (n - 1 denominator), Welford's update; NaN below 2 values.
    Variance,
    Distinct,
    Quantile,
}

/// One aggregate: what, over which value column, and for quantiles which `q`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AggSpec {
    pub kind: AggKind,
    #[serde(default)]
    pub column: usize,
    #[serde(default)]
    pub q: f64,
}

impl AggSpec {
    pub fn validate(&self, n_columns: usize, at: usize) -> Result<(), Error> {
        if self.kind != AggKind::Count && self.column >= n_columns {
            return Err(Error::new(
                code::INVALID_ARGUMENT,
                format!("aggregates[{at}].column: {} is not below the column count {n_columns}", self.column),
            ));
        }
        if self.kind == AggKind::Quantile && !(0.0..=1.0).contains(&self.q) {
            return Err(Error::new(code::INVALID_ARGUMENT, format!("aggregates[{at}].q: {} is not in [0, 1]", self.q)));
        }
        Ok(())
    }
}

/// A fixed, serialisable hasher state so an HLL restored from a checkpoint
/// hashes exactly as before (std's RandomState is per process).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct FixedState;

impl BuildHasher for FixedState {
    type Hasher = Fnv64;
    fn build_hasher(&self) -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

/// FNV-1a over the 8 bytes of a value, then a splitmix finaliser: the HLL
/// needs well-mixed high and low bits, which plain FNV lacks.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Hasher for Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Acc {
    Count(u64),
    Sum(f64),
    Min(f64),
    Max(f64),
    /// n, mean, M2 (Welford); serves mean and variance.
    Moments(u64, f64, f64),
    Distinct(Box<HyperLogLogPlus<u64, FixedState>>),
    Quantile {
        digest: TDigest,
        pending: Vec<f64>,
    },
}

impl Acc {
    pub fn new(spec: &AggSpec) -> Acc {
        match spec.kind {
            AggKind::Count => Acc::Count(0),
            AggKind::Sum => Acc::Sum(0.0),
            AggKind::Min => Acc::Min(f64::INFINITY),
            AggKind::Max => Acc::Max(f64::NEG_INFINITY),
            AggKind::Mean | AggKind::Variance => Acc::Moments(0, 0.0, 0.0),
            AggKind::Distinct => Acc::Distinct(Box::new(HyperLogLogPlus::new(HLL_PRECISION, FixedState).expect("precision 14 is valid"))),
            AggKind::Quantile => Acc::Quantile { digest: TDigest::new_with_size(TDIGEST_SIZE), pending: Vec::new() },
        }
    }

    /// Adds one value. NaN values are skipped by every aggregate but count
    /// (a missing field arrives as NaN), as SQL aggregates skip NULL.
    pub fn add(&mut self, v: f64) {
        if let Acc::Count(n) = self {
            *n += 1;
            return;
        }
        if v.is_nan() {
            return;
        }
        match self {
            Acc::Count(_) => {}
            Acc::Sum(s) => *s += v,
            Acc::Min(m) => *m = m.min(v),
            Acc::Max(m) => *m = m.max(v),
            Acc::Moments(n, mean, m2) => {
                *n += 1;
                let d = v - *mean;
                *mean += d / *n as f64;
                *m2 += d * (v - *mean);
            }
            // -0.0 and 0.0 are the same value; hash their canonical bits.
            Acc::Distinct(h) => h.insert(&(if v == 0.0 { 0.0f64 } else { v }).to_bits()),
            Acc::Quantile { digest, pending } => {
                pending.push(v);
                if pending.len() >= TDIGEST_BUFFER {
                    *digest = digest.merge_unsorted(std::mem::take(pending));
                }
            }
        }
    }

    /// Folds `other` (same kind) into `self`: session windows merge when an
    /// event bridges two of them.
    pub fn merge(&mut self, other: Acc) {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Sum(a), Acc::Sum(b)) => *a += b,
            (Acc::Min(a), Acc::Min(b)) => *a = a.min(b),
            (Acc::Max(a), Acc::Max(b)) => *a = a.max(b),
            (Acc::Moments(n, mean, m2), Acc::Moments(nb, mb, m2b)) => {
                if nb == 0 {
                    return;
                }
                // Chan et al.'s parallel combination of two Welford states.
                let total = *n + nb;
                let d = mb - *mean;
                *m2 += m2b + d * d * (*n as f64) * (nb as f64) / total as f64;
                *mean += d * nb as f64 / total as f64;
                *n = total;
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => {
                // Same precision and hasher by construction.
                let _ = a.merge(&*b);
            }
            (Acc::Quantile { digest, pending }, Acc::Quantile { digest: d2, pending: p2 }) => {
                *digest = TDigest::merge_digests(vec![digest.clone(), d2]);
                pending.extend(p2);
            }
            _ => {}
        }
    }

    /// The current result (does not consume the accumulator: update panes
    /// read it again later).
    pub fn value(&mut self, kind: AggKind, q: f64) -> f64 {
        match self {
            Acc::Count(n) => *n as f64,
            Acc::Sum(s) => *s,
            Acc::Min(m) | Acc::Max(m) => {
                if m.is_infinite() {
                    f64::NAN
                } else {
                    *m
                }
            }
            Acc::Moments(n, mean, m2) => match kind {
                AggKind::Mean if *n > 0 => *mean,
                AggKind::Variance if *n > 1 => *m2 / (*n - 1) as f64,
                _ => f64::NAN,
            },
            Acc::Distinct(h) => h.count().round(),
            Acc::Quantile { digest, pending } => {
                if !pending.is_empty() {
                    *digest = digest.merge_unsorted(std::mem::take(pending));
                }
                if digest.is_empty() {
                    f64::NAN
                } else {
                    digest.estimate_quantile(q)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: AggKind) -> AggSpec {
        AggSpec { kind, column: 0, q: 0.5 }
    }

    #[test]
    fn exact_aggregates_match_a_direct_computation() {
        let xs: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 10.0 - 20.0).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        let check = |kind, want: f64| {
            let mut a = Acc::new(&spec(kind));
            xs.iter().for_each(|x| a.add(*x));
            let got = a.value(kind, 0.5);
            assert!((got - want).abs() < 1e-9 * want.abs().max(1.0), "{kind:?}: {got} vs {want}");
        };
        check(AggKind::Count, n);
        check(AggKind::Sum, xs.iter().sum());
        check(AggKind::Min, -20.0);
        check(AggKind::Max, 79.9);
        check(AggKind::Mean, mean);
        check(AggKind::Variance, var);
    }

    #[test]
    fn sketches_are_close_to_the_exact_answer() {
        let mut d = Acc::new(&spec(AggKind::Distinct));
        let mut q = Acc::new(&spec(AggKind::Quantile));
        for i in 0..100_000u64 {
            d.add((i % 20_000) as f64);
            q.add(i as f64);
        }
        let distinct = d.value(AggKind::Distinct, 0.0);
        assert!((distinct - 20_000.0).abs() / 20_000.0 < 0.03, "distinct {distinct}");
        let median = q.value(AggKind::Quantile, 0.5);
        assert!((median - 50_000.0).abs() < 1_500.0, "median {median}");
    }

    #[test]
    fn nan_is_skipped_but_counted() {
        let mut c = Acc::new(&spec(AggKind::Count));
        let mut s = Acc::new(&spec(AggKind::Sum));
        for v in [1.0, f64::NAN, 2.0] {
            c.add(v);
            s.add(v);
        }
        assert_eq!(c.value(AggKind::Count, 0.0), 3.0);
        assert_eq!(s.value(AggKind::Sum, 0.0), 3.0);
    }
}
