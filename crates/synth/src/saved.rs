//! Saved models, so a model fitted once (on data that may not leave its host)
//! can be sampled elsewhere or later.
//!
//! Layout: `MAGIC (8 bytes) | format version (u16 LE) | BLAKE3 of the payload (32 bytes) | payload`,
//! the payload being the bincode encoding of [`Model`]. The checksum turns a
//! truncated or altered file into a clear error instead of a model that samples
//! garbage; it is not a signature (sign the bytes with omnitide/attest for that).
//!
//! A saved copula holds each numeric column's sorted real values (its empirical
//! marginals) and hashes of the real rows (for `rejectCopies`): treat the file
//! as sensitive as the table it was fitted on.

use omnitide_common::{code, Error, Result};
use serde::{Deserialize, Serialize};

use crate::{Copula, Mixture};

pub const MAGIC: &[u8; 8] = b"OMNISYN\0";
pub const VERSION: u16 = 1;
const HEADER: usize = 8 + 2 + 32;

/// Writes a set of row keys in sorted order, so saving the same model gives the same bytes
/// (a hash set's iteration order depends on its insertion history).
pub(crate) fn sorted_rows<S: serde::Serializer>(set: &rustc_hash::FxHashSet<Vec<u64>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let mut rows: Vec<&Vec<u64>> = set.iter().collect();
    rows.sort_unstable();
    s.collect_seq(rows)
}

/// A fitted model of either strategy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Model {
    Copula(Copula),
    Mixture(Mixture),
}

impl Model {
    pub fn strategy(&self) -> &'static str {
        match self {
            Model::Copula(_) => "copula",
            Model::Mixture(_) => "mixture",
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = bincode::serialize(self).map_err(|e| Error::new(code::INTERNAL, format!("saving the model: {e}")))?;
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(blake3::hash(&payload).as_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let bad = |why: String| Error::invalid_arg("bytes", why);
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(bad("not a saved omnitide synth model (no OMNISYN header)".into()));
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != VERSION {
            return Err(bad(format!("saved with format version {version}; this build reads version {VERSION}")));
        }
        let payload = &bytes[HEADER..];
        if blake3::hash(payload).as_bytes() != &bytes[10..HEADER] {
            return Err(bad("checksum mismatch: the model file is truncated or was altered".into()));
        }
        bincode::deserialize(payload).map_err(|e| bad(format!("payload does not decode: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, MixtureOptions, Table, Values};

    fn table() -> Table {
        let n = 400;
        let a: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 + 0.5).collect();
        let b: Vec<f64> = a.iter().enumerate().map(|(i, x)| x * 2.0 + (i % 7) as f64).collect();
        let codes: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        Table::new(
            "t",
            vec![
                Column { name: "a".into(), values: Values::Numeric(a) },
                Column { name: "b".into(), values: Values::Numeric(b) },
                Column { name: "k".into(), values: Values::Categorical { codes, levels: vec!["x".into(), "y".into(), "z".into()] } },
            ],
        )
        .unwrap()
    }

    fn samples(m: &Model, seed: u64) -> String {
        let t = match m {
            Model::Copula(c) => c.sample(200, seed).unwrap(),
            Model::Mixture(g) => g.sample(200, seed).unwrap(),
        };
        format!("{:?}", t.columns.iter().map(|c| format!("{}:{:?}", c.name, c.values)).collect::<Vec<_>>())
    }

    #[test]
    fn a_loaded_model_samples_exactly_like_the_fitted_one() {
        let t = table();
        let models = [
            Model::Copula(crate::Copula::fit(&t, 3).unwrap()),
            Model::Mixture(crate::Mixture::fit(&t, MixtureOptions { components: 3, ..MixtureOptions::default() }, 3).unwrap()),
        ];
        for m in &models {
            let bytes = m.to_bytes().unwrap();
            let back = Model::from_bytes(&bytes).unwrap();
            assert_eq!(back.strategy(), m.strategy());
            assert_eq!(samples(&back, 11), samples(m, 11), "{}", m.strategy());
            assert_eq!(back.to_bytes().unwrap(), bytes, "saving is deterministic");
        }
    }

    #[test]
    fn damaged_files_are_refused_with_the_reason() {
        let bytes = Model::Copula(crate::Copula::fit(&table(), 1).unwrap()).to_bytes().unwrap();
        let msg = |b: &[u8]| Model::from_bytes(b).unwrap_err().to_string();
        assert!(msg(b"hello").contains("not a saved omnitide synth model"));
        let mut v = bytes.clone();
        v[8] = 9;
        assert!(msg(&v).contains("format version 9"));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(msg(&flipped).contains("checksum mismatch"));
        assert!(msg(&bytes[..bytes.len() - 10]).contains("checksum mismatch"));
    }
}
