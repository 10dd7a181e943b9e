//! Optional privacy filter for fitted models: sampled rows that equal a real
//! row in every column are redrawn, so no real record leaks verbatim (likely
//! for tables of small discrete domains, where the empirical marginals and
//! rounding reproduce real values).

use omnitide_common::{Error, Result};
use rustc_hash::FxHashSet;

use crate::table::{Table, Values};

/// Redraw rounds before giving up (every candidate row copied a real one).
const MAX_ROUNDS: u64 = 64;

/// The key of row `i`: numeric bits and category codes, column by column.
fn row_key(t: &Table, i: usize) -> Vec<u64> {
    t.columns
        .iter()
        .map(|c| match &c.values {
            Values::Numeric(v) => (if v[i] == 0.0 { 0.0f64 } else { v[i] }).to_bits(),
            Values::Categorical { codes, .. } => codes[i] as u64,
        })
        .collect()
}

pub fn row_keys(t: &Table) -> FxHashSet<Vec<u64>> {
    (0..t.n_rows()).map(|i| row_key(t, i)).collect()
}

/// Replaces rows of `out` found in `real` with fresh draws from `draw(n, round)`
/// (a sample of n rows with a seed derived from the round). Returns how many were replaced.
/// `sample(rows, seed)` with every row equal to a real one redrawn from reseeded samples; returns the table
/// and how many rows were redrawn. One definition for every generative model.
pub fn sample_without_copies(
    real: &FxHashSet<Vec<u64>>,
    rows: usize,
    seed: u64,
    sample: impl Fn(usize, u64) -> Result<Table>,
) -> Result<(Table, usize)> {
    let mut t = sample(rows, seed)?;
    let n = replace_copies(&mut t, real, |k, round| sample(k, seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15)))?;
    Ok((t, n))
}

pub fn replace_copies(out: &mut Table, real: &FxHashSet<Vec<u64>>, mut draw: impl FnMut(usize, u64) -> Result<Table>) -> Result<usize> {
    let mut bad: Vec<usize> = (0..out.n_rows()).filter(|&i| real.contains(&row_key(out, i))).collect();
    let replaced = bad.len();
    let mut round = 0;
    while !bad.is_empty() {
        round += 1;
        if round > MAX_ROUNDS {
            return Err(Error::limit(
                "options.rejectCopies",
                format!(
                    "{} rows still copied a real row after {MAX_ROUNDS} redraws (the table's domain is too small to avoid copies)",
                    bad.len()
                ),
            ));
        }
        let fresh = draw(bad.len() * 2 + 16, round)?;
        let mut candidates = (0..fresh.n_rows()).filter(|&j| !real.contains(&row_key(&fresh, j)));
        let mut still = Vec::new();
        for &i in &bad {
            match candidates.next() {
                Some(j) => copy_row(out, i, &fresh, j),
                None => still.push(i),
            }
        }
        bad = still;
    }
    Ok(replaced)
}

fn copy_row(out: &mut Table, i: usize, from: &Table, j: usize) {
    for (c, f) in out.columns.iter_mut().zip(&from.columns) {
        match (&mut c.values, &f.values) {
            (Values::Numeric(v), Values::Numeric(w)) => v[i] = w[j],
            (Values::Categorical { codes, .. }, Values::Categorical { codes: k, .. }) => codes[i] = k[j],
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::table::{Column, Table, Values};
    use crate::Copula;

    fn grid(n: usize, side: usize) -> Table {
        let x: Vec<f64> = (0..n).map(|i| ((i * 7) % side) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| ((i * 3 + i / side) % side) as f64).collect();
        Table::new(
            "t",
            vec![Column { name: "x".into(), values: Values::Numeric(x) }, Column { name: "y".into(), values: Values::Numeric(y) }],
        )
        .unwrap()
    }

    #[test]
    fn copies_are_redrawn_and_an_exhausted_domain_is_an_error() {
        let real = grid(40, 10);
        let c = Copula::fit(&real, 1).unwrap();
        let plain = c.sample(2000, 2).unwrap();
        assert!(crate::fidelity::report(&real, &plain).unwrap().privacy.exact_matches > 100);
        let (private, redrawn) = c.sample_private(2000, 2).unwrap();
        assert!(redrawn > 100);
        assert_eq!(crate::fidelity::report(&real, &private).unwrap().privacy.exact_matches, 0);
        assert_eq!(c.sample_private(2000, 2).unwrap().0, private);
        // Every combination of a 3 x 3 grid is real: nothing else can be drawn.
        let full = grid(90, 3);
        let e = Copula::fit(&full, 1).unwrap().sample_private(10, 1).unwrap_err();
        assert!(e.message.starts_with("options.rejectCopies:"), "{}", e.message);
    }
}
