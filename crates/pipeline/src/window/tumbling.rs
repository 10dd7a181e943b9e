//! The keyed tumbling window's dense store, for in-order streams.
//!
//! While every row of every batch is on time (valid time, the watermark before
//! the row still below its window's end), no row is late or dead, a window is
//! only added to until it fires, and it fires and is dropped in one step (the
//! store is used only when firing and dropping coincide: policy `deadLetter`,
//! or `update` without lateness). The open windows are then a run of
//! consecutive window indices, each a dense array of accumulator state indexed
//! by key id. A row adds to `state[key]` of its window (no hash probe, no
//! pointer chase: the per-row path's window lookup and scattered states were
//! most of its time), and a window fires by walking its touched keys in
//! ascending order, which is already the emission order (end, key, start): no
//! sort, no per-window allocation or index update.
//!
//! Rows are added in input order with the same arithmetic as `Acc::add`, so
//! results are bit for bit the row path's. A batch that does not qualify
//! (late rows, bad times, sketches, too many cells) first moves the dense
//! windows into the general store, and the row path handles it; the dense
//! store takes over again once the general store has drained.

use std::collections::VecDeque;

use super::{window_start_index, Emitted, LatePolicy, WinState, WindowKind, WindowedAggregator, MAX_TIME};
use crate::agg::{Acc, AggKind, AggSpec};

/// Cells (open windows x key range) at most; with two aggregates 1 Mi cells are 16 MiB.
const MAX_CELLS: usize = 1 << 20;

/// One open window: accumulator state for keys 0..K, `stride` f64s each.
#[derive(Debug, Default, Clone)]
struct DenseWindow {
    state: Vec<f64>,
    /// Whether key k has a row in this window.
    has: Vec<bool>,
    /// Keys with rows, in first-row order (sorted when the window fires).
    touched: Vec<u32>,
}

/// The open windows `base, base + 1, ...` of the dense store.
#[derive(Debug, Default, Clone)]
pub(super) struct DenseTumbling {
    base: u64,
    wins: VecDeque<DenseWindow>,
    /// Fired windows' buffers, reused.
    spare: Vec<DenseWindow>,
    /// Offset of each aggregate's state in a cell; `stride` f64s per cell.
    at: Vec<usize>,
    stride: usize,
    /// Window index of each row of the batch (pass 1 computes it, pass 2 reads it: one division per row).
    row_window: Vec<u64>,
}

/// f64s of state an aggregate needs in a cell (None: a sketch, not supported).
fn cell_width(kind: AggKind) -> Option<usize> {
    match kind {
        AggKind::Count | AggKind::Sum | AggKind::Min | AggKind::Max => Some(1),
        AggKind::Mean | AggKind::Variance => Some(3),
        AggKind::Distinct | AggKind::Quantile => None,
    }
}

impl DenseTumbling {
    pub(super) fn open_windows(&self) -> usize {
        self.wins.iter().map(|w| w.touched.len()).sum()
    }

    /// The open windows as general window states (a checkpoint, or the move to the row path).
    pub(super) fn states(&self, size: f64, aggregates: &[AggSpec]) -> Vec<WinState> {
        let mut out = Vec::with_capacity(self.open_windows());
        for (i, w) in self.wins.iter().enumerate() {
            let start = (self.base + i as u64) as f64 * size;
            for &k in &w.touched {
                let cell = &w.state[k as usize * self.stride..(k as usize + 1) * self.stride];
                let accs = aggregates.iter().zip(&self.at).map(|(spec, &at)| acc_of(spec.kind, &cell[at..])).collect();
                out.push(WinState { key: k, start, end: start + size, accs, fired: false, dirty: false, panes: 0 });
            }
        }
        out
    }

    fn clear(&mut self) {
        while let Some(w) = self.wins.pop_front() {
            self.recycle(w);
        }
    }

    fn recycle(&mut self, mut w: DenseWindow) {
        for &k in &w.touched {
            w.has[k as usize] = false;
        }
        w.touched.clear();
        self.spare.push(w);
    }

    /// Fires (and drops) the front windows whose end + lateness the watermark has reached, keys ascending.
    pub(super) fn fire(&mut self, wm: f64, size: f64, lateness: f64, aggregates: &[AggSpec], out: &mut Emitted) {
        while let Some(front) = self.wins.front_mut() {
            let start = self.base as f64 * size;
            let end = start + size;
            if wm < end + lateness {
                break;
            }
            front.touched.sort_unstable();
            for &k in &front.touched {
                let cell = &front.state[k as usize * self.stride..(k as usize + 1) * self.stride];
                out.keys.push(k);
                out.starts.push(start);
                out.ends.push(end);
                out.panes.push(0);
                for (spec, &at) in aggregates.iter().zip(&self.at) {
                    out.values.push(acc_of(spec.kind, &cell[at..]).value(spec.kind, spec.q));
                }
            }
            let w = self.wins.pop_front().expect("front exists");
            self.recycle(w);
            self.base += 1;
        }
    }
}

impl WindowedAggregator {
    /// Adds a batch through the dense store; false (nothing done) when the batch does not qualify.
    pub(super) fn push_dense_tumbling(&mut self, keys: &[u32], times: &[f64], values: &[f64]) -> bool {
        let WindowKind::Tumbling { size } = self.cfg.window else { return false };
        let n = keys.len();
        let fire_drops = self.cfg.late_policy == LatePolicy::DeadLetter || self.cfg.allowed_lateness == 0.0;
        if n == 0 || times.len() != n || !fire_drops || self.windows.len() > 0 {
            return self.leave_dense();
        }
        if self.dense.at.is_empty() {
            let mut stride = 0;
            for spec in &self.cfg.aggregates {
                let Some(w) = cell_width(spec.kind) else { return false };
                self.dense.at.push(stride);
                stride += w;
            }
            self.dense.stride = stride;
        }
        // Pass 1: valid times, every row on time; the span of windows and keys.
        let ooo = self.cfg.max_out_of_orderness;
        let mut wm = self.watermark;
        let (mut lo, mut hi, mut max_key) = (u64::MAX, 0u64, 0u32);
        let mut row_window = std::mem::take(&mut self.dense.row_window);
        row_window.clear();
        for (&t, &k) in times.iter().zip(keys) {
            if !(t.is_finite() && (0.0..=MAX_TIME).contains(&t)) {
                return self.leave_dense();
            }
            let Some(w) = window_start_index(t, size) else { return self.leave_dense() };
            if wm >= w as f64 * size + size {
                return self.leave_dense();
            }
            let row_wm = t - ooo;
            if row_wm > wm {
                wm = row_wm;
            }
            lo = lo.min(w);
            hi = hi.max(w);
            max_key = max_key.max(k);
            row_window.push(w);
        }
        let d = &mut self.dense;
        d.row_window = row_window;
        let (base, top) = if d.wins.is_empty() { (lo, hi) } else { (d.base.min(lo), (d.base + d.wins.len() as u64 - 1).max(hi)) };
        let keys_now = d.wins.front().map_or(0, |w| w.has.len()).max(max_key as usize + 1);
        let fits = (top - base + 1).checked_mul(keys_now as u64).is_some_and(|c| c <= MAX_CELLS as u64);
        if !fits {
            return self.leave_dense();
        }
        // Open windows base..=top, each with room for keys_now keys.
        if d.wins.is_empty() {
            d.base = base;
        }
        while d.base > base {
            let w = d.spare.pop().unwrap_or_default();
            d.wins.push_front(w);
            d.base -= 1;
        }
        while d.base + (d.wins.len() as u64) <= top {
            let w = d.spare.pop().unwrap_or_default();
            d.wins.push_back(w);
        }
        let stride = d.stride;
        for w in d.wins.iter_mut() {
            if w.has.len() < keys_now {
                w.has.resize(keys_now, false);
                w.state.resize(keys_now * stride, 0.0);
            }
        }
        // Pass 2: each row into its cell, in input order.
        let fresh: Vec<f64> = fresh_cell(&self.cfg.aggregates, stride);
        let kinds: Vec<(AggKind, usize, usize)> = self.cfg.aggregates.iter().zip(&d.at).map(|(s, &at)| (s.kind, s.column, at)).collect();
        let width = self.cfg.columns;
        let base = d.base;
        for (i, (&w, &key)) in d.row_window.iter().zip(keys).enumerate() {
            let key = key as usize;
            let win = &mut d.wins[(w - base) as usize];
            let cell = &mut win.state[key * stride..(key + 1) * stride];
            if !win.has[key] {
                win.has[key] = true;
                win.touched.push(key as u32);
                cell.copy_from_slice(&fresh);
            }
            let row = &values[i * width..(i + 1) * width];
            for &(kind, column, at) in &kinds {
                add(kind, &mut cell[at..], if kind == AggKind::Count { 0.0 } else { row[column] });
            }
        }
        self.watermark = wm;
        true
    }

    /// Moves the dense store's windows into the general store (the row path takes the batch); always false.
    fn leave_dense(&mut self) -> bool {
        if !self.dense.wins.is_empty() {
            let WindowKind::Tumbling { size } = self.cfg.window else { return false };
            for w in self.dense.states(size, &self.cfg.aggregates) {
                self.windows.insert(w);
            }
            self.dense.clear();
        }
        false
    }
}

/// A fresh cell: `Acc::new`'s starting values.
fn fresh_cell(aggregates: &[AggSpec], stride: usize) -> Vec<f64> {
    let mut cell = Vec::with_capacity(stride);
    for spec in aggregates {
        match spec.kind {
            AggKind::Min => cell.push(f64::INFINITY),
            AggKind::Max => cell.push(f64::NEG_INFINITY),
            AggKind::Mean | AggKind::Variance => cell.extend([0.0; 3]),
            _ => cell.push(0.0),
        }
    }
    cell
}

/// A cell's state as the accumulator the row path would hold.
fn acc_of(kind: AggKind, st: &[f64]) -> Acc {
    match kind {
        AggKind::Count => Acc::Count(st[0] as u64),
        AggKind::Sum => Acc::Sum(st[0]),
        AggKind::Min => Acc::Min(st[0]),
        AggKind::Max => Acc::Max(st[0]),
        AggKind::Mean | AggKind::Variance => Acc::Moments(st[0] as u64, st[1], st[2]),
        // Not stored densely (`cell_width`).
        AggKind::Distinct | AggKind::Quantile => Acc::Count(0),
    }
}

/// `Acc::add` on a cell's state, step for step (NaN skipped except by count).
#[inline]
fn add(kind: AggKind, st: &mut [f64], v: f64) {
    if kind == AggKind::Count {
        st[0] += 1.0;
        return;
    }
    if v.is_nan() {
        return;
    }
    match kind {
        AggKind::Sum => st[0] += v,
        AggKind::Min => st[0] = st[0].min(v),
        AggKind::Max => st[0] = st[0].max(v),
        AggKind::Mean | AggKind::Variance => {
            let c = st[0] + 1.0;
            let d = v - st[1];
            let mean = st[1] + d / c;
            st[0] = c;
            st[1] = mean;
            st[2] += d * (v - mean);
        }
        AggKind::Count | AggKind::Distinct | AggKind::Quantile => {}
    }
}
