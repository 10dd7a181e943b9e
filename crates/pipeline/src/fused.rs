//! Column expressions fused with the keyed window aggregate that follows them.
//!
//! `mapColumns(exprs) -> filterColumns(pred) -> keyBy -> window -> aggregate`
//! runs as one call per batch: the program evaluates the stages block by block
//! (see [`crate::expr`]), the key, time and value columns the aggregate reads
//! are gathered once through the selection vector, keys become dictionary ids
//! and the window takes the rows. A batch crosses into native code once and no
//! intermediate column is materialised, where the unfused chain builds a new
//! batch per stage. Results are the unfused chain's, bit for bit: the same
//! arithmetic on the same rows in the same order.

use omnitide_common::Error;

use crate::expr::{Inputs, Program, Selection, Src};
use crate::keys::KeyDictionary;
use crate::window::{PushOutcome, WindowedAggregator};

/// The columns the aggregate reads, resolved against a program's output.
#[derive(Debug, Clone)]
pub struct FusedPlan {
    program: Program,
    /// Key, then the event time (if any), then the value columns.
    emit: Vec<Src>,
    timed: bool,
    scratch: Scratch,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct FusedOutcome {
    /// The window's outcome; `dead_rows` are rows of the input batch.
    pub push: PushOutcome,
    /// Keys first seen in this batch, in id order (as `KeyDictionary::encode_f64` reports them).
    pub added_keys: Vec<f64>,
    /// Rows left after each filter stage.
    pub kept: Vec<u64>,
    /// Rows the aggregate received.
    pub selected: usize,
}

impl FusedPlan {
    /// `key`, `time` and `values` name columns of the program's output (input or computed).
    pub fn new(program: Program, key: &str, time: Option<&str>, values: &[String]) -> Result<Self, Error> {
        let mut emit = vec![program.output(key, "key")?];
        if let Some(t) = time {
            emit.push(program.output(t, "time")?);
        }
        for (i, v) in values.iter().enumerate() {
            emit.push(program.output(v, &format!("values[{i}]"))?);
        }
        Ok(Self { program, emit, timed: time.is_some(), scratch: Scratch::default() })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Evaluates the batch and adds the selected rows to `window`, encoding keys through `dict`.
    pub fn push(&mut self, inputs: &Inputs, dict: &mut KeyDictionary, window: &mut WindowedAggregator) -> Result<FusedOutcome, Error> {
        let s = &mut self.scratch;
        // A Uint32 input key is gathered as it is (the dictionary's direct-indexed path), not through f64.
        let u32_key = match self.emit[0] {
            Src::U32(c) => Some(c),
            _ => None,
        };
        let emit = if u32_key.is_some() { &self.emit[1..] } else { &self.emit[..] };
        self.program.run_into(inputs, emit, &mut s.sel)?;
        let sel = &s.sel.sel;
        let n = sel.len();
        if n == 0 {
            // Nothing selected: nothing for the window (an empty push would move its in-order
            // store to the general one; the watermark does not move without rows).
            return Ok(FusedOutcome { kept: s.sel.kept.clone(), ..FusedOutcome::default() });
        }
        let mut cols = s.sel.columns.iter();
        s.keys.clear();
        s.keys.resize(n, 0);
        let mut added_keys = Vec::new();
        if let Some(c) = u32_key {
            dict.encode_u32_selected(inputs.u32s[c], sel, &mut s.keys, &mut added_keys)?;
        } else {
            dict.encode_f64(cols.next().map_or(&[][..], |c| &c[..]), &mut s.keys, &mut added_keys)?;
        }
        let times = if self.timed { cols.next().map_or(&[][..], |c| &c[..]) } else { &[][..] };
        let value_cols: Vec<&Vec<f64>> = cols.collect();
        let values: &[f64] = match value_cols.len() {
            0 => &[],
            1 => value_cols[0],
            width => {
                // Row-major, as the window reads it.
                s.values.clear();
                s.values.resize(n * width, 0.0);
                for (c, col) in value_cols.iter().enumerate() {
                    for (i, x) in col.iter().enumerate() {
                        s.values[i * width + c] = *x;
                    }
                }
                &s.values
            }
        };
        let mut push = window.push(&s.keys, times, values)?;
        for r in &mut push.dead_rows {
            *r = sel[*r as usize];
        }
        Ok(FusedOutcome { push, added_keys, kept: s.sel.kept.clone(), selected: n })
    }
}

/// Buffers reused from batch to batch.
#[derive(Debug, Default, Clone)]
struct Scratch {
    sel: Selection,
    keys: Vec<u32>,
    values: Vec<f64>,
}
