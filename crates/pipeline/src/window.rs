//! Keyed event-time windows with watermarks, as Beam and Flink define them.
//!
//! - The watermark is "bounded out of orderness": after each record it is
//!   `max(watermark, t - maxOutOfOrderness)`. It advances per record (not per
//!   batch), so results do not depend on how the input was cut into batches:
//!   batch and stream mode agree on bounded input.
//! - A window `[start, end)` is late for a record when the watermark has
//!   passed `end + allowedLateness`; a record late for all its windows goes to
//!   the dead letter (reason [`REASON_TOO_LATE`]).
//! - Late-data policy: `deadLetter` fires each window once, when the watermark
//!   passes `end + allowedLateness` (one final result; later records go to the
//!   dead letter). `update` fires at `end` (pane 0) and re-fires with pane
//!   1, 2, ... for each batch that brought late records within the lateness.
//! - `advance_watermark(+inf)` (end of a bounded input) fires everything.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use omnitide_common::{code, Error};
use serde::{Deserialize, Serialize};

use crate::agg::{Acc, AggKind, AggSpec};

mod keyed;
mod tumbling;
use keyed::KeyedWindows;
use tumbling::DenseTumbling;

/// Dead-letter reason: timestamp NaN, infinite, negative or past year 275760.
pub const REASON_BAD_TIMESTAMP: u8 = 1;
/// Dead-letter reason: every window of the record is past its allowed lateness.
pub const REASON_TOO_LATE: u8 = 2;
/// The largest valid JS Date, in ms.
const MAX_TIME: f64 = 8.64e15;
/// Keys below this index the dense global-window table (1M slots of 8..100 bytes at most).
const GLOBAL_DENSE_KEYS: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum WindowKind {
    /// One window per key over all input (batch group-by); fires at end of input.
    Global,
    Tumbling {
        size: f64,
    },
    Sliding {
        size: f64,
        slide: f64,
    },
    Session {
        gap: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LatePolicy {
    DeadLetter,
    Update,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowConfig {
    pub window: WindowKind,
    #[serde(default)]
    pub max_out_of_orderness: f64,
    #[serde(default)]
    pub allowed_lateness: f64,
    pub late_policy: LatePolicy,
    pub aggregates: Vec<AggSpec>,
    /// Width of the row-major value matrix.
    pub columns: usize,
}

impl WindowConfig {
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |arg: &str, problem: String| Err(Error::new(code::INVALID_ARGUMENT, format!("{arg}: {problem}")));
        let positive = |x: f64| x.is_finite() && x > 0.0;
        match self.window {
            WindowKind::Global => {}
            WindowKind::Tumbling { size } if !positive(size) => {
                return bad("window.size", format!("{size} is not a positive finite number of ms"))
            }
            WindowKind::Sliding { size, slide } if !positive(size) || !positive(slide) || slide > size => {
                return bad("window", format!("sliding size {size} and slide {slide} must be positive with slide <= size"))
            }
            WindowKind::Sliding { size, slide } if size / slide > 1000.0 => {
                return bad("window", format!("sliding size/slide = {} puts each record in more than 1000 windows", size / slide))
            }
            WindowKind::Session { gap } if !positive(gap) => {
                return bad("window.gap", format!("{gap} is not a positive finite number of ms"))
            }
            WindowKind::Session { .. } if self.late_policy == LatePolicy::Update => {
                return bad("latePolicy", "'update' is not supported for session windows; use 'deadLetter'".into())
            }
            _ => {}
        }
        for (name, v) in [("maxOutOfOrderness", self.max_out_of_orderness), ("allowedLateness", self.allowed_lateness)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, format!("{v} is not a finite number >= 0"));
            }
        }
        if self.aggregates.is_empty() {
            return bad("aggregates", "at least one aggregate is needed".into());
        }
        for (i, a) in self.aggregates.iter().enumerate() {
            a.validate(self.columns, i)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WinState {
    key: u32,
    start: f64,
    end: f64,
    accs: Vec<Acc>,
    fired: bool,
    /// Late records were added since the last firing (policy `update`).
    dirty: bool,
    panes: u32,
}

/// Closed windows, columnar: row i is (keys[i], starts[i], ends[i], panes[i],
/// values[i*n_aggs .. (i+1)*n_aggs]). Ordered by (end, key, start).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Emitted {
    pub keys: Vec<u32>,
    pub starts: Vec<f64>,
    pub ends: Vec<f64>,
    pub panes: Vec<u32>,
    pub values: Vec<f64>,
}

impl Emitted {
    /// The values aggregate by aggregate (all rows' first aggregate, then the
    /// second, ...): a columnar consumer then takes each aggregate's column as
    /// one slice of the buffer, with no per-row gather on its side.
    pub fn values_by_aggregate(&self) -> Vec<f64> {
        let rows = self.keys.len();
        let na = self.values.len().checked_div(rows).unwrap_or(0);
        if na <= 1 {
            return self.values.clone();
        }
        let mut out = Vec::with_capacity(self.values.len());
        for a in 0..na {
            // column `a` of the row-major values: each row's `a`-th value
            out.extend(self.values.chunks_exact(na).map(|row| row[a]));
        }
        out
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct PushOutcome {
    pub emitted: Emitted,
    /// Rows of the batch that went to the dead letter, with their reasons.
    pub dead_rows: Vec<u32>,
    pub dead_reasons: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct WindowedAggregator {
    cfg: WindowConfig,
    watermark: f64,
    /// Fx hashing: keys are dictionary ids and window starts, not attacker-chosen
    /// strings, and SipHash was the largest cost per record.
    windows: KeyedWindows,
    /// Global windows (batch group-by) of keys below GLOBAL_DENSE_KEYS, indexed
    /// by key: dictionary ids are dense, and a hash probe per row was most of
    /// a group-by's time. Larger keys stay in `windows`.
    globals: Vec<Option<WinState>>,
    /// Session windows per key, disjoint, unordered.
    sessions: HashMap<u32, Vec<WinState>>,
    /// Tumbling windows of in-order streams (see `tumbling`); empty while `windows` holds any.
    dense: DenseTumbling,
}

impl WindowedAggregator {
    pub fn new(cfg: WindowConfig) -> Result<Self, Error> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            watermark: f64::NEG_INFINITY,
            windows: KeyedWindows::default(),
            globals: Vec::new(),
            sessions: HashMap::new(),
            dense: DenseTumbling::default(),
        })
    }

    pub fn from_json(spec: &str) -> Result<Self, Error> {
        let cfg: WindowConfig = serde_json::from_str(spec).map_err(|e| Error::new(code::INVALID_ARGUMENT, format!("window spec: {e}")))?;
        Self::new(cfg)
    }

    pub fn watermark(&self) -> f64 {
        self.watermark
    }

    pub fn open_windows(&self) -> usize {
        self.dense.open_windows()
            + self.windows.len()
            + self.globals.iter().flatten().count()
            + self.sessions.values().map(Vec::len).sum::<usize>()
    }

    fn fresh(&self, key: u32, start: f64, end: f64) -> WinState {
        let accs = self.cfg.aggregates.iter().map(Acc::new).collect();
        WinState { key, start, end, accs, fired: false, dirty: false, panes: 0 }
    }

    /// Adds a batch. `values` is row-major with `columns` values per row.
    /// `times` may be empty for rows without an event time (a batch group-by): all at time 0.
    pub fn push(&mut self, keys: &[u32], times: &[f64], values: &[f64]) -> Result<PushOutcome, Error> {
        let n = keys.len();
        let untimed = times.is_empty();
        if !untimed && times.len() != n {
            return Err(Error::new(code::INVALID_ARGUMENT, format!("times: length {} differs from keys' {n}", times.len())));
        }
        let width = self.cfg.columns;
        if values.len() != n * width {
            return Err(Error::new(code::INVALID_ARGUMENT, format!("values: length {} is not {n} rows x {width} columns", values.len())));
        }
        let mut out = PushOutcome::default();
        if self.push_global_columns(keys, (!untimed).then_some(times), values) {
            return Ok(out);
        }
        if self.push_dense_tumbling(keys, times, values) {
            self.fire(&mut out.emitted);
            return Ok(out);
        }
        let zeros;
        let times = if untimed {
            zeros = vec![0.0; n];
            &zeros[..]
        } else {
            times
        };
        for i in 0..n {
            let t = times[i];
            if !(t.is_finite() && (0.0..=MAX_TIME).contains(&t)) {
                out.dead_rows.push(i as u32);
                out.dead_reasons.push(REASON_BAD_TIMESTAMP);
                continue;
            }
            let row = &values[i * width..(i + 1) * width];
            if !self.add(keys[i], t, row) {
                out.dead_rows.push(i as u32);
                out.dead_reasons.push(REASON_TOO_LATE);
            }
            let wm = t - self.cfg.max_out_of_orderness;
            if wm > self.watermark {
                self.watermark = wm;
            }
        }
        self.fire(&mut out.emitted);
        Ok(out)
    }

    /// The batch group-by's path: a global window, dense keys (below a few
    /// times the batch length) and valid times, so every row is added and none
    /// is late. Each exact aggregate runs over the batch in its own loop into
    /// a small per-batch array indexed by key (L1-resident, no pointer chase
    /// to the window state per row), folded into the windows once per key per
    /// batch: a third of the per-row path's time. Sketches and variance still
    /// add value by value. False (nothing done) when the batch does not
    /// qualify; the row-at-a-time path then runs.
    fn push_global_columns(&mut self, keys: &[u32], times: Option<&[f64]>, values: &[f64]) -> bool {
        if self.cfg.window != WindowKind::Global || keys.is_empty() {
            return false;
        }
        let max_key = keys.iter().copied().max().unwrap_or(0) as usize;
        if max_key >= GLOBAL_DENSE_KEYS
            || max_key > 4 * keys.len() + 64
            || !times.is_none_or(|ts| ts.iter().all(|t| t.is_finite() && (0.0..=MAX_TIME).contains(t)))
        {
            return false;
        }
        let slots = max_key + 1;
        if slots > self.globals.len() {
            self.globals.resize_with(slots, || None);
        }
        // Rows per key: the count aggregate, and which keys need a fresh state (checked per key, not per row).
        let mut rows = vec![0u64; slots];
        keys.iter().for_each(|&k| rows[k as usize] += 1);
        for (k, &r) in rows.iter().enumerate() {
            if r > 0 && self.globals[k].is_none() {
                self.globals[k] = Some(self.fresh(k as u32, f64::MIN, f64::MAX));
            }
        }
        let width = self.cfg.columns.max(1);
        // (non-NaN count, sum) per key of a value column, computed once for every sum/mean of that column.
        let mut sums: Vec<Option<(Vec<u64>, Vec<f64>)>> = vec![None; width];
        let globals = &mut self.globals;
        /// Folds a batch's per-key partial into accumulator `a` of every present key.
        fn each(globals: &mut [Option<WinState>], slots: usize, a: usize, f: &mut dyn FnMut(usize, &mut Acc)) {
            for (k, g) in globals.iter_mut().enumerate().take(slots) {
                if let Some(w) = g {
                    f(k, &mut w.accs[a]);
                }
            }
        }
        for (a, spec) in self.cfg.aggregates.iter().enumerate() {
            let column = || values.iter().skip(spec.column).step_by(width);
            match spec.kind {
                AggKind::Count => {
                    each(globals, slots, a, &mut |k, acc| {
                        if let Acc::Count(c) = acc {
                            *c += rows[k];
                        }
                    });
                }
                AggKind::Sum | AggKind::Mean => {
                    let (n, sum) = sums[spec.column].get_or_insert_with(|| {
                        let (mut n, mut sum) = (vec![0u64; slots], vec![0.0f64; slots]);
                        for (&k, v) in keys.iter().zip(column()) {
                            // NaN (missing) is skipped, as Acc::add does.
                            if !v.is_nan() {
                                n[k as usize] += 1;
                                sum[k as usize] += v;
                            }
                        }
                        (n, sum)
                    });
                    each(globals, slots, a, &mut |k, acc| match acc {
                        Acc::Sum(s) => *s += sum[k],
                        Acc::Moments(count, mean, _) if n[k] > 0 => {
                            // Mean only (variance has its own accumulator): m2 is not read.
                            let total = *count + n[k];
                            *mean += (sum[k] - n[k] as f64 * *mean) / total as f64;
                            *count = total;
                        }
                        _ => {}
                    });
                }
                AggKind::Min | AggKind::Max => {
                    let min = spec.kind == AggKind::Min;
                    let mut m = vec![if min { f64::INFINITY } else { f64::NEG_INFINITY }; slots];
                    for (&k, v) in keys.iter().zip(column()) {
                        let slot = &mut m[k as usize];
                        *slot = if min { slot.min(*v) } else { slot.max(*v) };
                    }
                    each(globals, slots, a, &mut |k, acc| match acc {
                        Acc::Min(x) => *x = x.min(m[k]),
                        Acc::Max(x) => *x = x.max(m[k]),
                        _ => {}
                    });
                }
                AggKind::Variance | AggKind::Distinct | AggKind::Quantile => {
                    for (&k, v) in keys.iter().zip(column()) {
                        if let Some(w) = &mut globals[k as usize] {
                            w.accs[a].add(*v);
                        }
                    }
                }
            }
        }
        if let Some(t) = times.map_or(Some(0.0), |ts| ts.iter().copied().reduce(f64::max)) {
            let wm = t - self.cfg.max_out_of_orderness;
            if wm > self.watermark {
                self.watermark = wm;
            }
        }
        true
    }

    /// Moves the watermark forward (idle sources, end of input with +inf) and fires.
    pub fn advance_watermark(&mut self, wm: f64) -> Emitted {
        if wm > self.watermark {
            self.watermark = wm;
        }
        let mut e = Emitted::default();
        self.fire(&mut e);
        e
    }

    fn purge_at(&self, end: f64) -> f64 {
        end + self.cfg.allowed_lateness
    }

    /// Adds one record to its windows; false when all of them are past their lateness.
    fn add(&mut self, key: u32, t: f64, row: &[f64]) -> bool {
        match self.cfg.window {
            WindowKind::Global => {
                self.add_global(key, row);
                true
            }
            WindowKind::Tumbling { size } => {
                let start = floor_of_nonnegative(t / size) * size;
                self.add_if_open(key, start, start + size, row)
            }
            WindowKind::Sliding { size, slide } => {
                // Windows [s, s + size) with s a multiple of `slide` and s <= t < s + size.
                let mut start = floor_of_nonnegative(t / slide) * slide;
                let mut any = false;
                while start > t - size {
                    any |= self.add_if_open(key, start, start + size, row);
                    start -= slide;
                }
                any
            }
            WindowKind::Session { gap } => self.add_to_session(key, t, gap, row),
        }
    }

    fn add_if_open(&mut self, key: u32, start: f64, end: f64, row: &[f64]) -> bool {
        if self.watermark >= self.purge_at(end) {
            return false;
        }
        let late = self.watermark >= end;
        let w = self.add_to(key, start, end, row);
        if late && w.fired {
            w.dirty = true;
        }
        true
    }

    fn add_global(&mut self, key: u32, row: &[f64]) {
        let k = key as usize;
        if k >= GLOBAL_DENSE_KEYS {
            self.add_to(key, f64::MIN, f64::MAX, row);
            return;
        }
        if k >= self.globals.len() {
            self.globals.resize_with(k + 1, || None);
        }
        let aggregates = &self.cfg.aggregates;
        let w = self.globals[k].get_or_insert_with(|| WinState {
            key,
            start: f64::MIN,
            end: f64::MAX,
            accs: aggregates.iter().map(Acc::new).collect(),
            fired: false,
            dirty: false,
            panes: 0,
        });
        for (acc, spec) in w.accs.iter_mut().zip(aggregates) {
            acc.add(if spec.kind == AggKind::Count { 0.0 } else { row[spec.column] });
        }
    }

    fn add_to(&mut self, key: u32, start: f64, end: f64, row: &[f64]) -> &mut WinState {
        let w = self.windows.get_or_insert(key, start, end, &self.cfg.aggregates);
        for (acc, spec) in w.accs.iter_mut().zip(&self.cfg.aggregates) {
            acc.add(if spec.kind == AggKind::Count { 0.0 } else { row[spec.column] });
        }
        w
    }

    fn add_to_session(&mut self, key: u32, t: f64, gap: f64, row: &[f64]) -> bool {
        let purge = self.cfg.allowed_lateness;
        let wm = self.watermark;
        let mut merged = self.fresh(key, t, t + gap);
        let list = self.sessions.entry(key).or_default();
        // Sessions this event touches: [t, t + gap) overlaps [start, end).
        let mut i = 0;
        let mut touched = Vec::new();
        while i < list.len() {
            if list[i].start <= t + gap && t <= list[i].end {
                touched.push(list.swap_remove(i));
            } else {
                i += 1;
            }
        }
        if touched.iter().any(|s| s.fired) || (touched.is_empty() && wm >= t + gap + purge) {
            // A fired session is final (policy deadLetter): the event is too late.
            list.extend(touched);
            return false;
        }
        for s in touched {
            merged.start = merged.start.min(s.start);
            merged.end = merged.end.max(s.end);
            for (a, b) in merged.accs.iter_mut().zip(s.accs) {
                a.merge(b);
            }
        }
        for (acc, spec) in merged.accs.iter_mut().zip(&self.cfg.aggregates) {
            acc.add(if spec.kind == AggKind::Count { 0.0 } else { row[spec.column] });
        }
        list.push(merged);
        true
    }

    fn emit(cfg: &WindowConfig, w: &mut WinState, out: &mut Emitted) {
        out.keys.push(w.key);
        out.starts.push(w.start);
        out.ends.push(w.end);
        out.panes.push(w.panes);
        for (acc, spec) in w.accs.iter_mut().zip(&cfg.aggregates) {
            out.values.push(acc.value(spec.kind, spec.q));
        }
        w.panes += 1;
        w.fired = true;
        w.dirty = false;
    }

    fn fire(&mut self, out: &mut Emitted) {
        let wm = self.watermark;
        let lateness = self.cfg.allowed_lateness;
        let update = self.cfg.late_policy == LatePolicy::Update;
        let fire_now = |w: &WinState| {
            let fire_at = if update { w.end } else { w.end + lateness };
            (!w.fired && wm >= fire_at) || (w.fired && w.dirty)
        };
        if let WindowKind::Tumbling { size } = self.cfg.window {
            // Windows are dense or general, never both: the dense ones come first and already in order.
            self.dense.fire(wm, size, lateness, &self.cfg.aggregates, out);
        }
        let cfg = &self.cfg;
        let mut scratch = Emitted::default();
        // A fired window is dropped once no record can reach it any more (global windows at +inf).
        let spent = |w: &WinState| w.fired && wm >= w.end + lateness;
        self.windows.visit_retain(|w| {
            if fire_now(w) {
                Self::emit(cfg, w, &mut scratch);
            }
            !spent(w)
        });
        for slot in self.globals.iter_mut() {
            if let Some(w) = slot {
                if fire_now(w) {
                    Self::emit(cfg, w, &mut scratch);
                }
                if spent(w) {
                    *slot = None;
                }
            }
        }
        for list in self.sessions.values_mut() {
            for w in list.iter_mut() {
                if fire_now(w) {
                    Self::emit(cfg, w, &mut scratch);
                }
            }
            // Keep fired sessions until the watermark passes their lateness so
            // late events that touch them are recognised as late.
            list.retain(|w| !(w.fired && wm >= w.end + lateness));
        }
        self.sessions.retain(|_, l| !l.is_empty());
        let n_aggs = cfg.aggregates.len();
        // Emission order (end, key, start) as integers: (key, start) names one
        // window, so no two rows tie and an unstable sort gives the stable order.
        let mut rows: Vec<(u64, u32, u64, u32)> = (0..scratch.keys.len())
            .map(|i| (ordered_bits(scratch.ends[i]), scratch.keys[i], ordered_bits(scratch.starts[i]), i as u32))
            .collect();
        rows.sort_unstable();
        out.keys.reserve(rows.len());
        out.starts.reserve(rows.len());
        out.ends.reserve(rows.len());
        out.panes.reserve(rows.len());
        out.values.reserve(rows.len() * n_aggs);
        for (_, _, _, i) in rows {
            let i = i as usize;
            out.keys.push(scratch.keys[i]);
            out.starts.push(scratch.starts[i]);
            out.ends.push(scratch.ends[i]);
            out.panes.push(scratch.panes[i]);
            out.values.extend_from_slice(&scratch.values[i * n_aggs..(i + 1) * n_aggs]);
        }
    }

    /// The whole state (watermark, open windows, sketches) for a checkpoint.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        // The spec travels as JSON (its tagged enums need a self-describing format).
        let spec = serde_json::to_string(&self.cfg).map_err(|e| Error::new(code::INTERNAL, format!("window snapshot: {e}")))?;
        // Global windows travel in the map, so a checkpoint does not depend on where they are kept.
        let mut windows: HashMap<(u32, u64), WinState, FxBuildHasher> =
            self.windows.iter().map(|w| ((w.key, w.start.to_bits()), w.clone())).collect();
        if let WindowKind::Tumbling { size } = self.cfg.window {
            windows.extend(self.dense.states(size, &self.cfg.aggregates).into_iter().map(|w| ((w.key, w.start.to_bits()), w)));
        }
        for w in self.globals.iter().flatten() {
            windows.insert((w.key, w.start.to_bits()), w.clone());
        }
        bincode::serialize(&(spec, self.watermark, &windows, &self.sessions))
            .map_err(|e| Error::new(code::INTERNAL, format!("window snapshot: {e}")))
    }

    /// Restores a snapshot; `spec` must equal the one the snapshot was taken with.
    pub fn restore(spec: &str, bytes: &[u8]) -> Result<Self, Error> {
        let want = Self::from_json(spec)?;
        type State = (String, f64, HashMap<(u32, u64), WinState, FxBuildHasher>, HashMap<u32, Vec<WinState>>);
        let (spec_then, watermark, windows, sessions): State = bincode::deserialize(bytes)
            .map_err(|e| Error::new(code::INVALID_ARGUMENT, format!("snapshot: not a window checkpoint ({e})")))?;
        let then: WindowConfig = serde_json::from_str(&spec_then)
            .map_err(|e| Error::new(code::INVALID_ARGUMENT, format!("snapshot: not a window checkpoint ({e})")))?;
        if then != want.cfg {
            return Err(Error::new(code::INVALID_ARGUMENT, "snapshot: taken with a different window spec"));
        }
        let mut windows = windows;
        let mut restored = Self { watermark, windows: KeyedWindows::default(), sessions, ..want };
        let global = matches!(restored.cfg.window, WindowKind::Global);
        let dense: Vec<(u32, u64)> = windows
            .keys()
            .filter(|_| global)
            .filter(|(k, s)| (*k as usize) < GLOBAL_DENSE_KEYS && *s == f64::MIN.to_bits())
            .copied()
            .collect();
        for id in dense {
            let w = windows.remove(&id).expect("key listed above");
            let k = w.key as usize;
            if k >= restored.globals.len() {
                restored.globals.resize_with(k + 1, || None);
            }
            restored.globals[k] = Some(w);
        }
        for w in windows.into_values() {
            restored.windows.insert(w);
        }
        Ok(restored)
    }
}

/// `f64::total_cmp`'s order as an unsigned integer (sign bit flipped for
/// positives, all bits for negatives), for sorting by plain integer compares.
fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// `q.floor()` for the quotient of a valid time (>= 0) by a window size:
/// truncation below 2^52, where it equals floor (std's floor is a libm call on
/// baseline x86-64 and was a tenth of the per-row time); -0.0 and larger
/// values go through floor, so the result is always floor's.
fn floor_of_nonnegative(q: f64) -> f64 {
    if q > 0.0 && q < TWO_52 {
        (q as u64) as f64
    } else {
        q.floor()
    }
}

pub(super) const TWO_52: f64 = 4_503_599_627_370_496.0;
