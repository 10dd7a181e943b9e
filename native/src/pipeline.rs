//! Bindings for `omnitide-pipeline`: one call per batch of rows. Columns cross
//! as typed arrays (keys Uint32Array of dictionary ids, times and values
//! Float64Array); results come back as typed arrays too.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use omnitide_common::{code, Error};
use omnitide_pipeline::{
    first_non_finite, hash_join, ColumnType, FusedPlan, Inputs, IntervalJoin, IntervalJoinConfig, JoinKind, JoinPairs, JoinTable,
    KeyDictionary, Program, WindowedAggregator,
};

use crate::error::guard;
use crate::task;

#[napi(object)]
pub struct PipelineWindowOutput {
    pub keys: Uint32Array,
    pub starts: Float64Array,
    pub ends: Float64Array,
    /// As doubles: the columnar output's pane column as it is.
    pub panes: Float64Array,
    /// Aggregate by aggregate: aggregate a of window i at `a * keys.length + i`
    /// (each aggregate's column is one subarray, no per-row gather in JS).
    pub values: Float64Array,
    /// Rows of the pushed batch that went to the dead letter, and why (1 bad timestamp, 2 too late).
    pub dead_rows: Uint32Array,
    pub dead_reasons: Uint8Array,
    pub watermark: f64,
}

fn window_output(e: omnitide_pipeline::Emitted, dead_rows: Vec<u32>, dead_reasons: Vec<u8>, watermark: f64) -> PipelineWindowOutput {
    let values = e.values_by_aggregate();
    PipelineWindowOutput {
        panes: Float64Array::new(e.panes.iter().map(|&p| f64::from(p)).collect()),
        keys: Uint32Array::new(e.keys),
        starts: Float64Array::new(e.starts),
        ends: Float64Array::new(e.ends),
        values: Float64Array::new(values),
        dead_rows: Uint32Array::new(dead_rows),
        dead_reasons: Uint8Array::new(dead_reasons),
        watermark,
    }
}

#[napi]
pub struct PipelineWindow {
    inner: WindowedAggregator,
}

#[napi]
impl PipelineWindow {
    /// `spec` is JSON: `{ window, maxOutOfOrderness, allowedLateness, latePolicy, aggregates, columns }`.
    #[napi(constructor)]
    pub fn new(spec: String) -> Result<Self> {
        guard(|| Ok(Self { inner: WindowedAggregator::from_json(&spec)? }))
    }

    /// Restores a checkpoint taken by `snapshot` with the same spec.
    #[napi(factory)]
    pub fn restore(spec: String, snapshot: &[u8]) -> Result<Self> {
        guard(|| Ok(Self { inner: WindowedAggregator::restore(&spec, snapshot)? }))
    }

    /// Adds a batch (bounded by the TS layer to a few thousand rows) and returns what closed.
    #[napi]
    pub fn push(&mut self, keys: &[u32], times: &[f64], values: &[f64]) -> Result<PipelineWindowOutput> {
        guard(|| {
            let o = self.inner.push(keys, times, values)?;
            Ok(window_output(o.emitted, o.dead_rows, o.dead_reasons, self.inner.watermark()))
        })
    }

    /// Runs `program` (compiled with a key, see `PipelineColumnProgram`) over a
    /// batch's columns and adds the selected rows, keys encoded through `dict`:
    /// the fused map/filter/window path, one call per batch.
    #[napi]
    pub fn push_program(
        &mut self,
        program: &mut PipelineColumnProgram,
        dict: &mut PipelineKeyDictionary,
        f64_columns: Vec<Float64Array>,
        u32_columns: Vec<Uint32Array>,
        len: u32,
    ) -> Result<PipelineFusedOutput> {
        guard(|| {
            let plan = program
                .fused
                .as_mut()
                .ok_or_else(|| Error::new(code::INVALID_ARGUMENT, "program: compiled without key/time/values, it cannot feed a window"))?;
            let f: Vec<&[f64]> = f64_columns.iter().map(|c| &c[..]).collect();
            let u: Vec<&[u32]> = u32_columns.iter().map(|c| &c[..]).collect();
            let o = plan.push(&Inputs { len: len as usize, f64s: &f, u32s: &u }, &mut dict.inner, &mut self.inner)?;
            Ok(PipelineFusedOutput {
                window: window_output(o.push.emitted, o.push.dead_rows, o.push.dead_reasons, self.inner.watermark()),
                added_keys: Float64Array::new(o.added_keys),
                kept: Float64Array::new(o.kept.into_iter().map(|k| k as f64).collect()),
                selected: o.selected as u32,
            })
        })
    }

    #[napi]
    pub fn advance_watermark(&mut self, watermark: f64) -> Result<PipelineWindowOutput> {
        guard(|| {
            let e = self.inner.advance_watermark(watermark);
            Ok(window_output(e, Vec::new(), Vec::new(), self.inner.watermark()))
        })
    }

    #[napi]
    pub fn snapshot(&self) -> Result<Uint8Array> {
        Ok(Uint8Array::new(guard(|| self.inner.snapshot())?))
    }

    #[napi(getter)]
    pub fn watermark(&self) -> f64 {
        self.inner.watermark()
    }

    #[napi(getter)]
    pub fn open_windows(&self) -> u32 {
        self.inner.open_windows() as u32
    }
}

#[napi(object)]
pub struct PipelineJoinPairs {
    pub left: Uint32Array,
    /// 0xFFFFFFFF where a left row has no match (left join).
    pub right: Uint32Array,
}

/// Batch hash join of two key columns (numbers, or ids of one shared dictionary).
#[napi]
pub fn pipeline_hash_join(left: &[f64], right: &[f64], kind: String) -> Result<PipelineJoinPairs> {
    guard(|| {
        let p = hash_join(left, right, JoinKind::parse(&kind)?)?;
        Ok(PipelineJoinPairs { left: Uint32Array::new(p.left), right: Uint32Array::new(p.right) })
    })
}

/// `pipelineHashJoin` off the event loop, for large tables.
#[napi]
pub fn pipeline_hash_join_async<'e>(
    env: &'e Env,
    left: Float64Array,
    right: Float64Array,
    kind: String,
) -> Result<PromiseRaw<'e, PipelineJoinPairs>> {
    let kind = guard(|| JoinKind::parse(&kind))?;
    task::spawn(
        env,
        move || hash_join(&left, &right, kind),
        |p| PipelineJoinPairs { left: Uint32Array::new(p.left), right: Uint32Array::new(p.right) },
    )
}

/// Group keys to dense ids, one call per batch (see `omnitide_pipeline::keys`).
#[napi]
pub struct PipelineKeyDictionary {
    inner: KeyDictionary,
}

#[napi]
impl PipelineKeyDictionary {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self { inner: KeyDictionary::new() }
    }

    /// Writes the ids of `keys` into `out`; returns the keys first seen, in id order.
    #[napi]
    pub fn encode_u32(&mut self, keys: &[u32], mut out: Uint32Array) -> Result<Float64Array> {
        guard(|| {
            // SAFETY: `out` is a JS-owned buffer alive for this synchronous call.
            let out: &mut [u32] = unsafe { out.as_mut() };
            let mut added = Vec::new();
            self.inner.encode_u32(keys, out, &mut added)?;
            Ok(Float64Array::new(added))
        })
    }

    #[napi]
    pub fn encode_f64(&mut self, keys: &[f64], mut out: Uint32Array) -> Result<Float64Array> {
        guard(|| {
            // SAFETY: `out` is a JS-owned buffer alive for this synchronous call.
            let out: &mut [u32] = unsafe { out.as_mut() };
            let mut added = Vec::new();
            self.inner.encode_f64(keys, out, &mut added)?;
            Ok(Float64Array::new(added))
        })
    }

    /// An id for a key the caller encodes itself (strings, composite keys).
    #[napi]
    pub fn reserve(&mut self) -> Result<u32> {
        guard(|| self.inner.reserve())
    }

    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len()
    }
}

impl Default for PipelineKeyDictionary {
    fn default() -> Self {
        Self::new()
    }
}

fn pairs_js(p: JoinPairs) -> PipelineJoinPairs {
    PipelineJoinPairs { left: Uint32Array::new(p.left), right: Uint32Array::new(p.right) }
}

/// A hash join's build side, built once from the right key column and probed
/// per left batch (left indices relative to the batch).
#[napi]
pub struct PipelineJoinTable {
    inner: JoinTable,
}

#[napi]
impl PipelineJoinTable {
    #[napi(constructor)]
    pub fn new(right: &[f64]) -> Result<Self> {
        guard(|| Ok(Self { inner: JoinTable::build(right)? }))
    }

    #[napi]
    pub fn probe_u32(&self, left: &[u32], kind: String) -> Result<PipelineJoinPairs> {
        guard(|| Ok(pairs_js(self.inner.probe_u32(left, JoinKind::parse(&kind)?)?)))
    }

    #[napi]
    pub fn probe_f64(&self, left: &[f64], kind: String) -> Result<PipelineJoinPairs> {
        guard(|| Ok(pairs_js(self.inner.probe_f64(left, JoinKind::parse(&kind)?)?)))
    }

    #[napi(getter)]
    pub fn rows(&self) -> u32 {
        self.inner.rows() as u32
    }
}

/// `src[index[i]]` for every i (a join's gather of a Float64 column); an index out of range reads NaN.
/// Native: the JS loop was a fifth of a 10M-row join.
#[napi]
pub fn pipeline_gather_f64(src: &[f64], index: &[u32]) -> Float64Array {
    Float64Array::new(index.iter().map(|&i| src.get(i as usize).copied().unwrap_or(f64::NAN)).collect())
}

/// As `pipelineGatherF64` for Uint32 columns; an index out of range reads 0.
#[napi]
pub fn pipeline_gather_u32(src: &[u32], index: &[u32]) -> Uint32Array {
    Uint32Array::new(index.iter().map(|&i| src.get(i as usize).copied().unwrap_or(0)).collect())
}

/// Index of the first non-finite value of a number column, or -1 (the columnar source's schema check).
#[napi]
pub fn pipeline_first_non_finite(values: &[f64]) -> i64 {
    first_non_finite(values).map_or(-1, |i| i as i64)
}

#[napi(object)]
pub struct PipelineIntervalOutput {
    pub left_ids: Float64Array,
    pub right_ids: Float64Array,
    pub expired_ids: Float64Array,
    pub late_rows: Uint32Array,
}

#[napi]
pub struct PipelineIntervalJoin {
    inner: IntervalJoin,
}

#[napi]
impl PipelineIntervalJoin {
    #[napi(constructor)]
    pub fn new(lower: f64, upper: f64, max_out_of_orderness: f64) -> Result<Self> {
        guard(|| Ok(Self { inner: IntervalJoin::new(IntervalJoinConfig { lower, upper, max_out_of_orderness })? }))
    }

    /// `side` 0 = left, 1 = right; `ids` are the caller's row ids.
    #[napi]
    pub fn push(&mut self, side: u32, keys: &[u32], times: &[f64], ids: &[f64]) -> Result<PipelineIntervalOutput> {
        guard(|| {
            let o = self.inner.push(side as usize, keys, times, ids)?;
            Ok(PipelineIntervalOutput {
                left_ids: Float64Array::new(o.left_ids),
                right_ids: Float64Array::new(o.right_ids),
                expired_ids: Float64Array::new(o.expired_ids),
                late_rows: Uint32Array::new(o.late_rows),
            })
        })
    }

    /// End of both inputs: the ids still buffered, now expired.
    #[napi]
    pub fn finish(&mut self) -> Result<Float64Array> {
        Ok(Float64Array::new(guard(|| Ok(self.inner.finish()))?))
    }

    #[napi(getter)]
    pub fn buffered(&self) -> u32 {
        self.inner.buffered() as u32
    }
}

#[napi(object)]
pub struct PipelineFusedOutput {
    pub window: PipelineWindowOutput,
    /// Keys first seen in this batch, in id order (append to the key values by id).
    pub added_keys: Float64Array,
    /// Rows left after each filter stage.
    pub kept: Float64Array,
    /// Rows the window received.
    pub selected: u32,
}

#[napi(object)]
pub struct PipelineSelection {
    /// Selected rows of the batch, ascending.
    pub sel: Uint32Array,
    /// The computed columns (see `computed`), gathered through `sel`.
    pub columns: Vec<Float64Array>,
    /// Rows left after each filter stage.
    pub kept: Float64Array,
}

/// Column expressions compiled for one batch layout (see `omnitide_pipeline::expr`).
#[napi]
pub struct PipelineColumnProgram {
    program: Program,
    fused: Option<FusedPlan>,
}

#[derive(serde::Deserialize)]
struct ProgramSpec {
    inputs: Vec<(String, String)>,
    stages: serde_json::Value,
    key: Option<String>,
    time: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[napi]
impl PipelineColumnProgram {
    /// `spec` is JSON: `{ inputs: [[name, 'f64' | 'u32'], ...], stages: [{ map } | { filter }], key?, time?, values? }`;
    /// with `key` the program can feed `PipelineWindow.pushProgram`.
    #[napi(constructor)]
    pub fn new(spec: String) -> Result<Self> {
        guard(|| {
            let spec: ProgramSpec =
                serde_json::from_str(&spec).map_err(|e| Error::new(code::INVALID_ARGUMENT, format!("program spec: {e}")))?;
            let mut inputs = Vec::with_capacity(spec.inputs.len());
            for (name, ty) in spec.inputs {
                let ty = match ty.as_str() {
                    "f64" => ColumnType::F64,
                    "u32" => ColumnType::U32,
                    other => {
                        return Err(Error::new(code::INVALID_ARGUMENT, format!("inputs.{name}: column type '{other}' is not f64 or u32")))
                    }
                };
                inputs.push((name, ty));
            }
            let program = Program::compile(&inputs, &Program::parse_stages(&spec.stages)?)?;
            let fused = match &spec.key {
                Some(k) => Some(FusedPlan::new(program.clone(), k, spec.time.as_deref(), &spec.values)?),
                None => None,
            };
            Ok(Self { program, fused })
        })
    }

    /// The columns map stages assign, in the order `run` returns them.
    #[napi(getter)]
    pub fn computed(&self) -> Vec<String> {
        self.program.computed().to_vec()
    }

    /// Evaluates the stages over a batch: the selected rows and the computed columns.
    #[napi]
    pub fn run(&self, f64_columns: Vec<Float64Array>, u32_columns: Vec<Uint32Array>, len: u32) -> Result<PipelineSelection> {
        guard(|| {
            let f: Vec<&[f64]> = f64_columns.iter().map(|c| &c[..]).collect();
            let u: Vec<&[u32]> = u32_columns.iter().map(|c| &c[..]).collect();
            let emit =
                self.program.computed().iter().map(|c| self.program.output(c, "computed")).collect::<std::result::Result<Vec<_>, _>>()?;
            let s = self.program.run(&Inputs { len: len as usize, f64s: &f, u32s: &u }, &emit)?;
            Ok(PipelineSelection {
                sel: Uint32Array::new(s.sel),
                columns: s.columns.into_iter().map(Float64Array::new).collect(),
                kept: Float64Array::new(s.kept.into_iter().map(|k| k as f64).collect()),
            })
        })
    }
}
