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

use super::{Emitted, LatePolicy, WinState, WindowKind, WindowedAggregator, MAX_TIME, TWO_52};
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
    /// Each run of rows of one window: (first row, window index); then (batch length, 0).
    runs: Vec<(usize, u64)>,
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
            // Keys ascending: when most keys have rows, a scan of `has` is cheaper than a sort.
            if front.touched.len() * 8 >= front.has.len() {
                front.touched.clear();
                front.touched.extend(front.has.iter().enumerate().filter(|(_, &h)| h).map(|(k, _)| k as u32));
            } else {
                front.touched.sort_unstable();
            }
            // Column by column, and each aggregate in its own loop (its kind matched once per
            // window, not per row): a push per field per row was most of the firing time.
            let rows = front.touched.len();
            let first = out.keys.len();
            out.keys.extend_from_slice(&front.touched);
            out.starts.resize(first + rows, start);
            out.ends.resize(first + rows, end);
            out.panes.resize(first + rows, 0);
            let na = aggregates.len();
            let at_row = out.values.len();
            out.values.resize(at_row + rows * na, 0.0);
            let vals = &mut out.values[at_row..];
            for (a, (spec, &at)) in aggregates.iter().zip(&self.at).enumerate() {
                let cells = front.touched.iter().map(|&k| &front.state[k as usize * self.stride + at..(k as usize + 1) * self.stride]);
                // aggregate `a` of each fired row (values are row-major, `na` per row)
                for (v, cell) in vals.chunks_exact_mut(na).map(|row| &mut row[a]).zip(cells) {
                    *v = cell_value(spec.kind, cell);
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
        // Pass 1: valid times, every row on time; the runs of rows of one window and their span.
        let mut runs = std::mem::take(&mut self.dense.runs);
        let wm = runs_of(times, size, self.cfg.max_out_of_orderness, self.watermark, &mut self.dense.row_window, &mut runs);
        let (lo, hi) = runs.iter().fold((u64::MAX, 0), |(lo, hi), r| (lo.min(r.1), hi.max(r.1)));
        runs.push((n, 0));
        self.dense.runs = runs;
        let Some(wm) = wm else { return self.leave_dense() };
        let max_key = keys.iter().copied().fold(0, u32::max);
        let d = &mut self.dense;
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
        let mut counts = kinds.iter().filter(|k| k.0 == AggKind::Count);
        let one_count = match (counts.next(), counts.next()) {
            (Some(&(_, _, at)), None) => Some(at),
            _ => None,
        };
        // Rows come in runs of one window (in-order time): per run, first the keys' cells are
        // touched, then each aggregate runs over the run in its own loop. Each cell still gets its
        // rows in input order, so the arithmetic is the per-row loop's, bit for bit.
        for run_at in d.runs.windows(2) {
            let ((i, w), j) = (run_at[0], run_at[1].0);
            let win = &mut d.wins[(w - base) as usize];
            let run = &keys[i..j];
            for &k in run {
                let k = k as usize;
                if !win.has[k] {
                    win.has[k] = true;
                    win.touched.push(k as u32);
                    win.state[k * stride..(k + 1) * stride].copy_from_slice(&fresh);
                }
                // A single count is kept in this pass (one less walk over the run's keys).
                if let Some(at) = one_count {
                    win.state[k * stride + at] += 1.0;
                }
            }
            let state = &mut win.state;
            for &(kind, column, at) in &kinds {
                match kind {
                    AggKind::Count if one_count.is_some() => {}
                    AggKind::Count => run.iter().for_each(|&k| state[k as usize * stride + at] += 1.0),
                    AggKind::Sum => {
                        for (r, &k) in (i..j).zip(run) {
                            let v = values[r * width + column];
                            if !v.is_nan() {
                                state[k as usize * stride + at] += v;
                            }
                        }
                    }
                    _ => {
                        for (r, &k) in (i..j).zip(run) {
                            let cell = k as usize * stride + at;
                            add(kind, &mut state[cell..cell + cell_width(kind).unwrap_or(1)], values[r * width + column]);
                        }
                    }
                }
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

/// Splits a batch into runs of rows of one window, `(first row, window index)`, and returns
/// the watermark after it; None (runs unusable) when a time is invalid (NaN, negative, -0,
/// past `MAX_TIME` or 2^52 windows) or a row is late (the watermark before it has reached its
/// window's end).
///
/// Sorted times (the usual in-order stream) take a fast path: division is monotonic, so the
/// window of every row is known from a binary search per run (a division per probe, not per
/// row), and the watermark before a row only grows, so lateness is checked once per run, at
/// its last row. Unsorted batches divide row by row.
fn runs_of(times: &[f64], size: f64, ooo: f64, mut wm: f64, row_window: &mut Vec<u64>, runs: &mut Vec<(usize, u64)>) -> Option<f64> {
    runs.clear();
    let (&first, &last) = (times.first()?, times.last()?);
    // floor(t / size) when exact as an integer: t / size in [0, 2^52) and not -0.0 (a window
    // start of -0.0 is its own window on the row path, so such a batch leaves the dense store).
    let window = |t: f64| {
        let q = t / size;
        ((0.0..=MAX_TIME).contains(&t) & (q < TWO_52) & (q.to_bits() >> 63 == 0)).then_some(q as u64)
    };
    // Sorted and no -0 (which has no window index) after the first row: one pass, no branch.
    let sorted = times.iter().zip(&times[1..]).fold(true, |a, (x, y)| a & (x <= y) & (y.to_bits() != (-0.0f64).to_bits()));
    if sorted && ooo >= 0.0 {
        window(first)?;
        window(last)?;
        let mut i = 0;
        while i < times.len() {
            let w = window(times[i])?;
            runs.push((i, w));
            // Rows of window w: a prefix of the rest (times sorted, division monotonic).
            let j = i + times[i..].partition_point(|&t| (t / size) as u64 <= w);
            // The watermark only grows, so the run's last row sees the largest one before it;
            // computed as the row loop computes it, so a rounding edge decides alike.
            let before_last = if j >= 2 { (times[j - 2] - ooo).max(wm) } else { wm };
            if before_last >= w as f64 * size + size {
                return None;
            }
            i = j;
        }
        let last_wm = last - ooo;
        return Some(if last_wm > wm { last_wm } else { wm });
    }
    row_window.clear();
    row_window.resize(times.len(), 0);
    let mut valid = true;
    for (w, &t) in row_window.iter_mut().zip(times) {
        // `window`'s conditions, branch-free: the loop vectorises; a batch that fails is rare.
        let q = t / size;
        valid &= (0.0..=MAX_TIME).contains(&t) & (q < TWO_52) & (q.to_bits() >> 63 == 0);
        *w = q as u64;
    }
    if !valid {
        return None;
    }
    let mut late = false;
    let mut prev = u64::MAX;
    for (i, (&w, &t)) in row_window.iter().zip(times).enumerate() {
        late |= wm >= w as f64 * size + size;
        let row_wm = t - ooo;
        wm = if row_wm > wm { row_wm } else { wm };
        if w != prev {
            runs.push((i, w));
            prev = w;
        }
    }
    (!late).then_some(wm)
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

/// `acc_of(kind, st).value(kind, _)` without building the accumulator: the
/// same conversions (a count through u64), so the same bits.
#[inline]
fn cell_value(kind: AggKind, st: &[f64]) -> f64 {
    match kind {
        AggKind::Count => st[0] as u64 as f64,
        AggKind::Sum => st[0],
        AggKind::Min | AggKind::Max => {
            if st[0].is_infinite() {
                f64::NAN
            } else {
                st[0]
            }
        }
        AggKind::Mean if st[0] as u64 > 0 => st[1],
        AggKind::Variance if st[0] as u64 > 1 => st[2] / (st[0] as u64 - 1) as f64,
        // Mean/variance of too few rows; sketches are not stored densely (`cell_width`).
        AggKind::Mean | AggKind::Variance => f64::NAN,
        // Not stored densely (`cell_width`); as `acc_of` reads them.
        AggKind::Distinct | AggKind::Quantile => 0.0,
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
