//! Seeds: every random draw comes from ChaCha8 seeded by the caller's seed, with
//! an independent stream per purpose (column, phase) so outputs do not depend
//! on the order in which columns are generated.

use omnitide_common::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Largest seed accepted: the integers JavaScript represents exactly.
pub const MAX_SEED: f64 = 9_007_199_254_740_991.0;

/// A seed given as a JS number: a non-negative integer up to 2^53 - 1.
pub fn seed_arg(arg: &str, v: f64) -> Result<u64> {
    if !v.is_finite() || v.fract() != 0.0 || !(0.0..=MAX_SEED).contains(&v) {
        return Err(Error::invalid_arg(arg, format!("must be an integer between 0 and 2^53-1, got {v}")));
    }
    Ok(v as u64)
}

/// A row count given as a JS number: a positive integer.
pub fn rows_arg(arg: &str, v: f64) -> Result<usize> {
    if !v.is_finite() || v.fract() != 0.0 || v < 1.0 {
        return Err(Error::invalid_arg(arg, format!("must be a positive integer, got {v}")));
    }
    if v > 100_000_000.0 {
        return Err(Error::limit(arg, format!("at most 100000000 rows per call, got {v}")));
    }
    Ok(v as usize)
}

/// FNV-1a of a name: a stable stream id for a column or table.
pub fn stream_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The generator for `(seed, stream)`.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn seeds_and_row_counts_are_checked() {
        assert_eq!(seed_arg("seed", 42.0).unwrap(), 42);
        for bad in [1.5, -1.0, f64::NAN, f64::INFINITY, 2f64.powi(60)] {
            assert!(seed_arg("seed", bad).unwrap_err().message.starts_with("seed: must be an integer"), "{bad}");
        }
        assert_eq!(rows_arg("rows", 3.0).unwrap(), 3);
        for bad in [0.0, -2.0, 0.5, f64::NAN] {
            assert!(rows_arg("rows", bad).unwrap_err().message.starts_with("rows: must be a positive integer"), "{bad}");
        }
        assert_eq!(rows_arg("rows", 1e12).unwrap_err().code, omnitide_common::code::LIMIT);
    }

    #[test]
    fn streams_are_reproducible_and_independent() {
        let draw = |seed, stream| rng(seed, stream).gen::<u64>();
        assert_eq!(draw(1, stream_of(&["a"])), draw(1, stream_of(&["a"])));
        assert_ne!(draw(1, stream_of(&["a"])), draw(1, stream_of(&["b"])));
        assert_ne!(draw(1, stream_of(&["a"])), draw(2, stream_of(&["a"])));
        assert_ne!(stream_of(&["ab", "c"]), stream_of(&["a", "bc"]));
    }
}
