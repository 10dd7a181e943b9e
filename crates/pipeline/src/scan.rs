//! The columnar source's schema check: a number column may hold only finite
//! values. Scanning 64K values per column per batch in JavaScript was the top
//! of a batch group-by's profile; this loop has no branch per value, so the
//! compiler vectorises it, and only a batch that has a bad value is rescanned.

/// Index of the first non-finite value, or `None`.
pub fn first_non_finite(values: &[f64]) -> Option<usize> {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    // Blocks of 64: an OR-reduction of "exponent all ones" per block, then the exact index.
    for (b, block) in values.chunks(64).enumerate() {
        let any = block.iter().fold(false, |a, v| a | (v.to_bits() & EXP == EXP));
        if any {
            return block.iter().position(|v| !v.is_finite()).map(|i| b * 64 + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_non_finite_value() {
        let mut v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5 - 3.0).collect();
        assert_eq!(first_non_finite(&v), None);
        assert_eq!(first_non_finite(&[]), None);
        for (at, bad) in [(999, f64::NAN), (640, f64::NEG_INFINITY), (65, f64::INFINITY), (0, -f64::NAN)] {
            v[at] = bad;
            assert_eq!(first_non_finite(&v), Some(at));
        }
        assert_eq!(first_non_finite(&[f64::MAX, f64::MIN, -0.0, f64::MIN_POSITIVE / 2.0]), None);
    }
}
