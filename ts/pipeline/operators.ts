/**
 * Runtime operators. Records travel between operators in batches (arrays);
 * at the native boundary (aggregate, joins) a batch becomes typed columns:
 * dictionary-encoded keys (Uint32Array), event times and values
 * (Float64Array). One native call per batch.
 */
import { OmniError } from '../errors.js';
import { callNative, callNativeAsync } from '../errors.js';
import { native, type PipelineWindow, type PipelineIntervalJoin, type PipelineJoinTable, type PipelineWindowOutput } from '../native.js';
import type { DeadLetter } from './dead-letter.js';
import type { PipelineNode } from './ir.js';
import { SinkRecordError, type Sink } from './sinks.js';
import { ColumnBatch, rowsOf, type Column } from './columns.js';
import { partitionOf } from './partition.js';
import { GroupKeys } from './group-keys.js';
import { layoutOf, materialise, Programs, type ExprNode } from './expr-ops.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Rec = any;

export interface Ctx {
  mode: 'batch' | 'stream';
  batchSize: number;
  dead(d: DeadLetter): void;
  emit(output: string, batch: Rec[] | ColumnBatch): Promise<void>;
  count(id: string, inOut: 'in' | 'out', n: number): void;
}

export interface Op {
  readonly node: PipelineNode;
  /** The node whose input this op takes, when not `node` (a fused chain's first node). */
  readonly entry?: string;
  push(port: number, batch: Rec[] | ColumnBatch): Promise<void>;
  /** Input `port` has ended; when all have, flush and return true. */
  end(port: number): Promise<boolean>;
  /** Checkpointable state (undefined: stateless). Throws if the operator cannot be checkpointed. */
  state?(): unknown;
  restore?(s: unknown): void;
}

export function show(r: unknown): string {
  try {
    const s = JSON.stringify(r);
    return s === undefined ? String(r) : s.length > 300 ? s.slice(0, 300) + '...' : s;
  } catch {
    return String(r);
  }
}

export function stageError(node: PipelineNode, record: unknown, cause: unknown): OmniError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  const sink = node.op === 'sink';
  return new OmniError(sink ? 'ERR_OMNI_PIPELINE_SINK' : 'ERR_OMNI_PIPELINE_STAGE', `${sink ? 'sink' : 'stage'} '${node.id}' (${node.op}) failed on record ${show(record)}: ${msg}`, {
    cause,
    fields: { stage: node.id, record: show(record) },
  });
}

/** Event time in ms from a number, Date or ISO string; NaN otherwise (the native side dead-letters it). */
export function timeMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

abstract class Base implements Op {
  ended = 0;
  constructor(
    readonly node: PipelineNode,
    readonly ctx: Ctx,
  ) {}
  abstract take(port: number, batch: Rec[]): Promise<void>;
  /** Row operators get rows; columnar ones override `push`. */
  async push(port: number, batch: Rec[] | ColumnBatch): Promise<void> {
    await this.take(port, rowsOf(batch));
  }
  async flush(): Promise<void> {}
  async end(_port: number): Promise<boolean> {
    if (++this.ended < this.node.inputs.length) return false;
    await this.flush();
    return true;
  }
  async out(batch: Rec[] | ColumnBatch): Promise<void> {
    if (batch.length === 0) return;
    this.ctx.count(this.node.id, 'out', batch.length);
    await this.ctx.emit(this.node.id, batch);
  }
}

class MapOp extends Base {
  override async push(port: number, batch: Rec[] | ColumnBatch) {
    const n = this.node as Extract<PipelineNode, { op: 'map' | 'filter' }>;
    if (!n.columnar) return this.take(port, rowsOf(batch));
    const cols = batch instanceof ColumnBatch ? batch : ColumnBatch.fromRows(batch);
    let out: unknown;
    try {
      out = n.fn(cols);
    } catch (err) {
      throw stageError(this.node, `columnar batch of ${cols.length}`, err);
    }
    if (n.op === 'filter') {
      const mask = out as ArrayLike<number>;
      if (!mask || typeof mask.length !== 'number' || mask.length !== cols.length) throw stageError(this.node, `columnar batch of ${cols.length}`, new Error(`filterColumns must return a mask of length ${cols.length}`));
      await this.out(cols.select(mask));
    } else {
      if (!(out instanceof ColumnBatch)) throw stageError(this.node, `columnar batch of ${cols.length}`, new Error('mapColumns must return a ColumnBatch'));
      await this.out(out);
    }
  }
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'map' | 'filter' | 'flatMap' }>;
    const fn = n.fn;
    const out: Rec[] = [];
    let i = 0;
    try {
      if (n.op === 'map') for (; i < batch.length; i++) out.push(fn(batch[i]));
      else if (n.op === 'filter') for (; i < batch.length; i++) (fn(batch[i]) ? out.push(batch[i]) : 0);
      else for (; i < batch.length; i++) for (const r of fn(batch[i]) as Iterable<Rec>) out.push(r);
    } catch (err) {
      throw stageError(this.node, batch[i], err);
    }
    await this.out(out);
  }
}

/**
 * Column expressions, unfused (not followed by a keyed window aggregate, or
 * fusion off): one native call evaluates the stage, then the kept rows of the
 * other columns are gathered into a new batch.
 */
class ExprOp extends Base {
  programs = new Programs([this.node as ExprNode]);
  override async push(_port: number, batch: Rec[] | ColumnBatch) {
    const out = runChain(this.programs, batch instanceof ColumnBatch ? batch : ColumnBatch.fromRows(batch), this.node);
    await this.out(out.batch);
  }
  async take() {}
}

/** Runs a chain's stages over a batch, unfused: the resulting batch and the rows left after each filter. */
function runChain(programs: Programs, cols: ColumnBatch, node: PipelineNode): { batch: ColumnBatch; kept: Float64Array } {
  const lay = layoutOf(cols);
  let prog;
  let s;
  try {
    const p = (prog = programs.get(lay));
    s = callNative(() => p.run(lay.f64s, lay.u32s, cols.length));
  } catch (err) {
    throw stageError(node, `columnar batch of ${cols.length}`, programs.renamed(err));
  }
  return { batch: materialise(cols, prog.computed, s), kept: s.kept };
}

/**
 * User functions on `omnitide/scheduler` workers. A batch is split by
 * hash(key) into `partitions` slices (input order kept within each); each slice
 * is one scheduler task returning the output records. All slices of a batch
 * finish before the next batch is taken, so each key's records are processed
 * and emitted in order.
 */
class ParallelMapOp extends Base {
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'parallelMap' }>;
    const parts: Rec[][] = Array.from({ length: n.partitions }, () => []);
    for (const r of batch) parts[partitionOf(r[n.key], n.partitions)].push(r);
    const results = await Promise.all(
      parts.map(async (slice) => {
        if (slice.length === 0) return [];
        let out: unknown;
        try {
          out = await n.scheduler.run(n.task, slice);
        } catch (err) {
          throw stageError(this.node, slice[0], err);
        }
        if (!Array.isArray(out)) throw stageError(this.node, slice[0], new Error(`task '${n.task}' must return an array of records, got ${show(out)}`));
        return out;
      }),
    );
    await this.out(results.flat());
  }
}

class PassOp extends Base {
  override async push(_p: number, batch: Rec[] | ColumnBatch) {
    await this.out(batch);
  }
  async take() {}
}

class BranchOp extends Base {
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'branch' }>;
    const outs = new Map<string, Rec[]>(n.branches.map((b) => [b, []]));
    for (const r of batch) {
      let b: unknown;
      try {
        b = n.fn(r);
      } catch (err) {
        throw stageError(this.node, r, err);
      }
      const list = outs.get(b as string);
      if (list) list.push(r);
      else this.ctx.dead({ stage: n.id, reason: `no branch takes the record (the function returned ${show(b)}, branches: ${n.branches.join(', ')})`, record: r });
    }
    for (const [b, list] of outs) {
      if (list.length === 0) continue;
      this.ctx.count(n.id, 'out', list.length);
      await this.ctx.emit(`${n.id}#${b}`, list);
    }
  }
  override async out(): Promise<void> {}
}

class LookupOp extends Base {
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'lookup' }>;
    await this.out(batch.map((r) => ({ ...r, [n.as]: n.table.get(r[n.on]) })));
  }
}

function keyOf(r: Rec, key: string[]): unknown {
  if (key.length === 1) return r[key[0]];
  return JSON.stringify(key.map((k) => r[k]));
}

class DedupeOp extends Base {
  seen = new Set<unknown>();
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'dedupe' }>;
    const out: Rec[] = [];
    for (const r of batch) {
      const k = keyOf(r, n.key);
      if (!this.seen.has(k)) {
        this.seen.add(k);
        out.push(r);
      }
    }
    await this.out(out);
  }
  state() {
    return [...this.seen];
  }
  restore(s: unknown) {
    this.seen = new Set(s as unknown[]);
  }
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

class SortOp extends Base {
  rows: Rec[] = [];
  async take(_p: number, batch: Rec[]) {
    for (const r of batch) this.rows.push(r);
  }
  override async flush() {
    const by = (this.node as Extract<PipelineNode, { op: 'sort' }>).by;
    // Array.prototype.sort is stable: equal keys keep their input order.
    this.rows.sort((x, y) => {
      for (const b of by) {
        const c = compare(x[b.field], y[b.field]);
        if (c !== 0) return b.desc ? -c : c;
      }
      return 0;
    });
    const rows = this.rows;
    this.rows = [];
    for (let i = 0; i < rows.length; i += this.ctx.batchSize) await this.out(rows.slice(i, i + this.ctx.batchSize));
  }
  state(): never {
    throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `checkpoint: node '${this.node.id}' (sort) buffers its whole input and cannot be checkpointed`);
  }
}

/** Key columns for the native side: numbers as they are, anything else through one shared dictionary. */
class KeyDictionary {
  ids = new Map<unknown, number>();
  /** Small non-negative integer keys (the usual id columns) index an array instead of the Map. */
  dense: number[] = [];
  values: unknown[] = [];
  id(v: unknown): number {
    if (typeof v === 'number' && v >>> 0 === v && v < 1 << 20) {
      const d = this.dense[v];
      if (d !== undefined) return d;
      const id = this.values.length;
      this.dense[v] = id;
      this.values.push(v);
      return id;
    }
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(v, id);
      this.values.push(v);
    }
    return id;
  }
}

const TWO_52 = 2 ** 52;
/**
 * A non-number value for `distinct`, as a double above 2^52: two 32-bit FNV-1a
 * hashes combined to 52 bits. Hashing (not a dictionary) keeps memory bounded
 * as HyperLogLog intends; numbers below 2^52 pass through unchanged.
 */
function distinctValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === undefined || v === null) return NaN;
  const s = typeof v === 'string' ? v : show(v);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return TWO_52 + (h1 >>> 0) * 2 ** 20 + ((h2 >>> 0) & 0xfffff);
}

/** A column of numbers as a Float64Array (as `ColumnBatch.fromRows` makes it), anything else as it is. */
function numbersOrArray(values: unknown[]): Column {
  for (const v of values) if (typeof v !== 'number') return values;
  return Float64Array.from(values as number[]);
}

/** The times of rows without an event time field: the native window takes an empty column as all zeros. */
const NO_TIMES = new Float64Array(0);

/** Marks a window that covers all input (a batch group-by). */
const GLOBAL_START = -Number.MAX_VALUE;

export class AggregateOp extends Base {
  w: PipelineWindow;
  spec: string;
  keys = new GroupKeys();
  keyBuf = new Uint32Array(0);
  columns: string[];
  distinctCols: boolean[];
  names: string[];

  constructor(node: PipelineNode, ctx: Ctx) {
    super(node, ctx);
    const n = node as Extract<PipelineNode, { op: 'aggregate' }>;
    this.names = Object.keys(n.aggregates);
    this.columns = [...new Set(Object.values(n.aggregates).filter((a) => a.kind !== 'count').map((a) => a.field!))];
    this.distinctCols = this.columns.map((c) => Object.values(n.aggregates).some((a) => a.kind === 'distinct' && a.field === c));
    const o = n.options;
    // Batch mode: every record is on time (Beam's batch semantics), the watermark jumps to +inf at the end.
    const batch = ctx.mode === 'batch';
    this.spec = JSON.stringify({
      window: n.window,
      maxOutOfOrderness: batch ? 1e300 : (o?.maxOutOfOrderness ?? 0),
      allowedLateness: o?.allowedLateness ?? 0,
      latePolicy: o?.latePolicy ?? 'deadLetter',
      aggregates: Object.values(n.aggregates).map((a) => ({ kind: a.kind, column: a.kind === 'count' ? 0 : this.columns.indexOf(a.field!), q: a.q ?? 0 })),
      columns: this.columns.length,
    });
    this.w = callNative(() => new native.PipelineWindow(this.spec));
  }

  override async push(port: number, batch: Rec[] | ColumnBatch) {
    if (!(batch instanceof ColumnBatch)) return this.take(port, batch);
    const n = this.node as Extract<PipelineNode, { op: 'aggregate' }>;
    if (n.key.length !== 1) return this.take(port, batch.toRows());
    const len = batch.length;
    // The ids are read by the native push and not kept: one buffer serves every batch.
    if (this.keyBuf.length < len) this.keyBuf = new Uint32Array(len);
    const keys = this.keyBuf.subarray(0, len);
    this.keys.encode((batch.columns[n.key[0]] ?? new Array(len)) as ArrayLike<unknown>, keys);
    const tf = n.options?.time;
    const tc = tf === undefined ? undefined : batch.columns[tf];
    // No time field (a batch group-by): zeros, without a callback per row.
    let times: Float64Array;
    if (tc instanceof Float64Array) times = tc;
    else if (tc === undefined) {
      // No time field: an empty column tells the native side every row is at time 0 (no column to scan).
      times = NO_TIMES;
    } else {
      times = new Float64Array(len);
      for (let i = 0; i < len; i++) times[i] = timeMs((tc as ArrayLike<unknown>)[i]);
    }
    const width = this.columns.length;
    let values: Float64Array;
    const only = width === 1 ? batch.columns[this.columns[0]] : undefined;
    if (only instanceof Float64Array && !this.distinctCols[0]) values = only;
    else {
      values = new Float64Array(len * width);
      for (let c = 0; c < width; c++) {
        const col = batch.columns[this.columns[c]] as ArrayLike<unknown> | undefined;
        for (let i = 0; i < len; i++) {
          const v = col?.[i];
          values[i * width + c] = this.distinctCols[c] ? distinctValue(v) : typeof v === 'number' ? v : NaN;
        }
      }
    }
    const o = callNative(() => this.w.push(keys, times, values));
    this.deadColumnar(o, batch, (j) => times[o.deadRows[j]]);
    await this.emitWindows(o);
  }

  /** Dead letters of a columnar push: the rows `o.deadRows` of `batch`, with their reasons. */
  deadColumnar(o: PipelineWindowOutput, batch: ColumnBatch, timeOf: (j: number) => number) {
    const n = this.node as Extract<PipelineNode, { op: 'aggregate' }>;
    const tf = n.options?.time;
    const len = batch.length;
    if (o.deadRows.length > 0) {
      const mask = new Uint8Array(len);
      for (const r of o.deadRows) mask[r] = 1;
      const rows = batch.select(mask).toRows();
      rows.forEach((r, j) => this.ctx.dead({ stage: n.id, record: r, reason: o.deadReasons[j] === 1 ? `event time in field '${tf}' is missing or absurd` : `late: every window of event time ${timeOf(j) ?? 0} closed (watermark passed end + allowedLateness ${n.options?.allowedLateness ?? 0} ms)` }));
    }
  }

  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'aggregate' }>;
    const len = batch.length;
    const keys = new Uint32Array(len);
    const times = new Float64Array(len);
    const width = this.columns.length;
    const values = new Float64Array(len * width);
    const timeField = n.options?.time;
    const single = n.key.length === 1 ? n.key[0] : null;
    this.keys.encode(
      batch.map((r) => (single !== null ? r[single] : keyOf(r, n.key))),
      keys,
    );
    for (let i = 0; i < len; i++) {
      const r = batch[i];
      times[i] = timeField === undefined ? 0 : timeMs(r[timeField]);
      for (let c = 0; c < width; c++) {
        const v = r[this.columns[c]];
        values[i * width + c] = this.distinctCols[c] ? distinctValue(v) : typeof v === 'number' ? v : NaN;
      }
    }
    const o = callNative(() => this.w.push(keys, times, values));
    for (let j = 0; j < o.deadRows.length; j++) {
      const r = batch[o.deadRows[j]];
      this.ctx.dead({
        stage: n.id,
        record: r,
        reason:
          o.deadReasons[j] === 1
            ? `event time ${show(timeField === undefined ? undefined : r[timeField])} in field '${timeField}' is missing or absurd`
            : `late: every window of event time ${times[o.deadRows[j]]} closed (watermark passed end + allowedLateness ${n.options?.allowedLateness ?? 0} ms)`,
      });
    }
    await this.emitWindows(o);
  }

  /**
   * Closed windows as columnar batches (key field(s), windowStart, windowEnd,
   * pane, then one Float64 column per aggregate): a columnar sink takes them
   * as they are; row operators and sinks get the same records as rows
   * (`toRows`, fields in the same order). An object per window was most of the
   * JS time of a windowed stream.
   */
  async emitWindows(o: PipelineWindowOutput) {
    const len = o.keys.length;
    if (len === 0) return;
    const n = this.node as Extract<PipelineNode, { op: 'aggregate' }>;
    const na = this.names.length;
    const cols: Record<string, Column> = {};
    const numbers = n.key.length === 1 ? this.keys.numbersOf(o.keys) : null;
    const kv = numbers ? [] : new Array<unknown>(len);
    if (!numbers) for (let i = 0; i < len; i++) kv[i] = this.keys.values[o.keys[i]];
    if (numbers) cols[n.key[0]] = numbers;
    else if (n.key.length === 1) cols[n.key[0]] = numbersOrArray(kv);
    else {
      const parts = kv.map((k) => JSON.parse(k as string) as unknown[]);
      n.key.forEach((f, k) => (cols[f] = numbersOrArray(parts.map((p) => p[k]))));
    }
    // Global windows (a batch group-by) have no window fields; one output holds only one kind.
    if (o.starts[0] !== GLOBAL_START) {
      cols.windowStart = o.starts;
      cols.windowEnd = o.ends;
      cols.pane = o.panes;
    }
    // The native output holds the values aggregate by aggregate: each column is a view, no per-row copy.
    for (let a = 0; a < na; a++) cols[this.names[a]] = o.values.subarray(a * len, (a + 1) * len);
    const all = new ColumnBatch(len, cols);
    const bs = this.ctx.batchSize;
    if (len <= bs) await this.out(all);
    else for (let i = 0; i < len; i += bs) await this.out(all.range(i, Math.min(len, i + bs)));
  }

  /** Moves the watermark (idle sources); emits what closes. */
  async advance(wm: number) {
    await this.emitWindows(callNative(() => this.w.advanceWatermark(wm)));
  }

  override async flush() {
    await this.advance(Infinity);
  }

  state() {
    return { window: Buffer.from(callNative(() => this.w.snapshot())).toString('base64'), keys: this.keys.values };
  }

  restore(s: unknown) {
    const st = s as { window: string; keys: unknown[] };
    this.w = callNative(() => native.PipelineWindow.restore(this.spec, Buffer.from(st.window, 'base64')));
    this.keys = new GroupKeys();
    if (st.keys.length > 0) this.keys.encode(st.keys, new Uint32Array(st.keys.length));
  }
}

/**
 * Expression stages fused with the keyed window aggregate after them: one
 * native call per batch evaluates the stages, selects rows and adds them to
 * the window (`PipelineWindow.pushProgram`), with no intermediate batch. The
 * chain's nodes still report their in/out counts. A batch the fused path
 * cannot take (rows, several key fields, a key, time or value column that is
 * not typed numbers) runs the chain unfused, then the aggregate: same results.
 */
export class FusedAggregateOp extends AggregateOp {
  readonly entry: string;
  programs: Programs;
  /** The chain alone (for the unfused path and dead letters). */
  unfused: Programs;

  constructor(
    node: PipelineNode,
    readonly chain: ExprNode[],
    ctx: Ctx,
  ) {
    super(node, ctx);
    const n = node as Extract<PipelineNode, { op: 'aggregate' }>;
    this.entry = chain[0].id;
    this.programs = new Programs(chain, { key: n.key[0], time: n.options?.time, values: this.columns });
    this.unfused = new Programs(chain);
  }

  override async push(port: number, batch: Rec[] | ColumnBatch) {
    const n = this.node as Extract<PipelineNode, { op: 'aggregate' }>;
    const cols = batch instanceof ColumnBatch ? batch : ColumnBatch.fromRows(batch);
    const lay = layoutOf(cols);
    if (!this.fusable(n, cols)) {
      const { batch: out, kept } = runChain(this.unfused, cols, this.chain[0]);
      this.countChain(cols.length, kept);
      return super.push(port, out);
    }
    let o;
    try {
      const prog = this.programs.get(lay);
      o = callNative(() => this.w.pushProgram(prog, this.keys.dict, lay.f64s, lay.u32s, cols.length));
    } catch (err) {
      throw stageError(this.chain[0], `columnar batch of ${cols.length}`, this.programs.renamed(err));
    }
    this.keys.add(o.addedKeys);
    this.countChain(cols.length, o.kept);
    if (o.window.deadRows.length > 0) this.deadFused(o.window, cols);
    await this.emitWindows(o.window);
  }

  /** Key, time and value columns are typed numbers in the batch or computed by the chain. */
  fusable(n: Extract<PipelineNode, { op: 'aggregate' }>, cols: ColumnBatch): boolean {
    if (n.key.length !== 1) return false;
    const numeric = (f: string) => this.chain.some((c) => c.op === 'mapExpr' && f in c.exprs) || (f in cols.columns && !Array.isArray(cols.columns[f]));
    const tf = n.options?.time;
    return numeric(n.key[0]) && (tf === undefined || numeric(tf)) && this.columns.every(numeric);
  }

  /** In/out counts of the chain's nodes and the aggregate's input, from the rows left after each filter. */
  countChain(len: number, kept: Float64Array) {
    let rows = len;
    let f = 0;
    this.chain.forEach((c, i) => {
      if (i > 0) this.ctx.count(c.id, 'in', rows);
      if (c.op === 'filterExpr') rows = kept[f++];
      this.ctx.count(c.id, 'out', rows);
    });
    this.ctx.count(this.node.id, 'in', rows);
  }

  /** Dead rows are rows of the input batch: their records as the chain made them. */
  deadFused(o: PipelineWindowOutput, cols: ColumnBatch) {
    const lay = layoutOf(cols);
    const prog = this.unfused.get(lay);
    const s = callNative(() => prog.run(lay.f64s, lay.u32s, cols.length));
    const made = materialise(cols, prog.computed, s);
    const at = new Map<number, number>();
    s.sel.forEach((r, i) => at.set(r, i));
    const rows = Uint32Array.from(o.deadRows, (r) => at.get(r) ?? 0);
    const tf = (this.node as Extract<PipelineNode, { op: 'aggregate' }>).options?.time;
    const times = tf === undefined ? undefined : made.columns[tf];
    this.deadColumnar({ ...o, deadRows: rows }, made, (j) => Number((times as ArrayLike<number> | undefined)?.[rows[j]] ?? 0));
  }
}

/** The right side of a hash join once it has ended, with its native join table. */
interface JoinBuild {
  table: PipelineJoinTable;
  /** Columnar right side (gathered for columnar output). */
  right: ColumnBatch;
  /** Right rows (row output), made on first need. */
  rows: Rec[] | null;
  /** The right columns a left batch with these column names does not override. */
  rightOnly?: { names: string; batch: ColumnBatch };
}

class JoinOp extends Base {
  sides: [Rec[], Rec[]] = [[], []];
  /** Columnar batches of each side, while every batch of that side was columnar. */
  colSides: [ColumnBatch[], ColumnBatch[]] = [[], []];
  /** Set when the right side has ended with number keys: left batches are then probed one by one. */
  build: JoinBuild | null = null;
  /** While the buffered left batches are probed, new ones queue behind them (output stays in left order). */
  draining = false;

  override async push(port: number, batch: Rec[] | ColumnBatch) {
    if (port === 0 && this.build && !this.draining) return this.probe(batch);
    if (batch instanceof ColumnBatch && this.sides[port].length === 0) this.colSides[port].push(batch);
    else {
      for (const b of this.colSides[port].splice(0)) await this.take(port, b.toRows());
      await this.take(port, rowsOf(batch));
    }
  }
  async take(port: number, batch: Rec[]) {
    const side = this.sides[port];
    for (const r of batch) side.push(r);
  }

  override async end(port: number): Promise<boolean> {
    if (port === 1 && !this.build) await this.buildRight();
    return super.end(port);
  }

  /**
   * The right side has ended: when its keys are all numbers, build the native
   * join table ONCE and probe the buffered left batches, then each left batch
   * as it comes (no concatenation of the left side, typed keys probed as they are).
   * Otherwise (string or missing keys) the join waits for the end of input and
   * joins through one shared key dictionary (flush).
   */
  async buildRight() {
    const n = this.node as Extract<PipelineNode, { op: 'join' }>;
    const fromRows = this.sides[1].length > 0 || this.colSides[1].length === 0;
    const right = fromRows ? ColumnBatch.fromRows(this.sides[1]) : ColumnBatch.concat(this.colSides[1]);
    const rk = right.length === 0 ? new Float64Array(0) : right.columns[n.on[1]];
    if (!rk || Array.isArray(rk)) return;
    const rf = rk instanceof Float64Array ? rk : Float64Array.from(rk as ArrayLike<number>);
    const table = callNative(() => new native.PipelineJoinTable(rf));
    this.build = { table, right, rows: fromRows ? this.sides[1] : null };
    this.sides[1] = [];
    this.colSides[1] = [];
    this.draining = true;
    try {
      while (this.colSides[0].length > 0 || this.sides[0].length > 0) {
        const pending: (Rec[] | ColumnBatch)[] = this.colSides[0].splice(0);
        if (this.sides[0].length > 0) pending.push(this.sides[0]);
        this.sides[0] = [];
        for (const b of pending) await this.probe(b);
      }
    } finally {
      this.draining = false;
    }
  }

  /** The right side's columns the left batch does not have: a left column wins a name clash, so gathering the right one would be wasted. */
  rightOnly(left: ColumnBatch): ColumnBatch {
    const b = this.build!;
    const names = Object.keys(left.columns).join('\0');
    if (b.rightOnly?.names !== names) {
      const cols = Object.fromEntries(Object.entries(b.right.columns).filter(([k]) => !(k in left.columns)));
      b.rightOnly = { names, batch: new ColumnBatch(b.right.length, cols) };
    }
    return b.rightOnly.batch;
  }

  /**
   * One left batch against the join table. A columnar batch with a typed key
   * column (inner/anti) stays columnar: the output gathers the columns of both
   * sides by the index pairs, with no object per row. Anything else joins row by row.
   */
  async probe(batch: Rec[] | ColumnBatch) {
    const n = this.node as Extract<PipelineNode, { op: 'join' }>;
    const b = this.build!;
    const bs = this.ctx.batchSize;
    const lk = batch instanceof ColumnBatch ? batch.columns[n.on[0]] : undefined;
    if (batch instanceof ColumnBatch && n.kind !== 'left' && lk && !Array.isArray(lk)) {
      const pairs = callNative(() => (lk instanceof Uint32Array ? b.table.probeU32(lk, n.kind) : b.table.probeF64(lk instanceof Float64Array ? lk : Float64Array.from(lk), n.kind)));
      for (let s = 0; s < pairs.left.length; s += bs) {
        const li = pairs.left.subarray(s, s + bs);
        const l = batch.gather(li);
        if (n.kind === 'anti') await this.out(l);
        else {
          const r = this.rightOnly(batch).gather(pairs.right.subarray(s, s + bs)).columns;
          // Column order as `{ ...right, ...left }` gives it: right names first, a clash takes the left values.
          const cols: Record<string, Column> = {};
          for (const k of Object.keys(b.right.columns)) cols[k] = k in l.columns ? l.columns[k] : r[k];
          await this.out(new ColumnBatch(li.length, Object.assign(cols, l.columns)));
        }
      }
      return;
    }
    const rows = rowsOf(batch);
    // Right keys are numbers: a left key that is not a number (string, missing) never matches.
    const keys = Float64Array.from(rows, (r) => (typeof r[n.on[0]] === 'number' ? r[n.on[0]] : NaN));
    const pairs = callNative(() => b.table.probeF64(keys, n.kind));
    await this.emitPairs(pairs, rows, (b.rows ??= b.right.toRows()), n.kind);
  }

  /** Emits joined rows for (left, right) index pairs, `batchSize` at a time; 0xffffffff means no right match. */
  private async emitPairs(pairs: { left: Uint32Array; right: Uint32Array }, left: Rec[], right: Rec[], kind: string) {
    const bs = this.ctx.batchSize;
    for (let s = 0; s < pairs.left.length; s += bs) {
      const out: Rec[] = [];
      const e = Math.min(pairs.left.length, s + bs);
      for (let i = s; i < e; i++) {
        const a = left[pairs.left[i]];
        if (kind === 'anti') out.push(a);
        else {
          const j = pairs.right[i];
          out.push(j === 0xffffffff ? { ...a } : { ...right[j], ...a });
        }
      }
      await this.out(out);
    }
  }

  override async flush() {
    if (this.build) return;
    for (const port of [0, 1]) for (const b of this.colSides[port].splice(0)) await this.take(port, b.toRows());
    const n = this.node as Extract<PipelineNode, { op: 'join' }>;
    const [l, r] = this.sides;
    this.sides = [[], []];
    const lk = l.map((x) => x[n.on[0]]);
    const rk = r.map((x) => x[n.on[1]]);
    const numeric = lk.every((k) => typeof k === 'number') && rk.every((k) => typeof k === 'number');
    let lf: Float64Array;
    let rf: Float64Array;
    if (numeric) {
      lf = Float64Array.from(lk as number[]);
      rf = Float64Array.from(rk as number[]);
    } else {
      // Missing keys (undefined/null) become NaN: they never match, as SQL NULL.
      const dict = new KeyDictionary();
      const enc = (k: unknown) => (k === undefined || k === null ? NaN : dict.id(typeof k === 'number' ? k : `${typeof k}:${String(k)}`));
      lf = Float64Array.from(lk, enc);
      rf = Float64Array.from(rk, enc);
    }
    const pairs = await callNativeAsync(() => native.pipelineHashJoinAsync(lf, rf, n.kind));
    await this.emitPairs(pairs, l, r, n.kind);
  }
  state(): never {
    throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `checkpoint: node '${this.node.id}' (hash join) buffers its inputs and cannot be checkpointed`);
  }
}

class IntervalJoinOp extends Base {
  j: PipelineIntervalJoin;
  rows = [new Map<number, Rec>(), new Map<number, Rec>()];
  keys = new KeyDictionary();
  nextId = 0;
  constructor(node: PipelineNode, ctx: Ctx) {
    super(node, ctx);
    const n = node as Extract<PipelineNode, { op: 'intervalJoin' }>;
    this.j = callNative(() => new native.PipelineIntervalJoin(n.between[0], n.between[1], ctx.mode === 'batch' ? 1e300 : n.maxOutOfOrderness));
  }
  async take(port: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'intervalJoin' }>;
    const len = batch.length;
    const keys = new Uint32Array(len);
    const times = new Float64Array(len);
    const ids = new Float64Array(len);
    const store = this.rows[port];
    for (let i = 0; i < len; i++) {
      const r = batch[i];
      keys[i] = this.keys.id(r[n.on[port]]);
      times[i] = timeMs(r[n.time[port]]);
      ids[i] = this.nextId++;
      store.set(ids[i], r);
    }
    const o = callNative(() => this.j.push(port, keys, times, ids));
    for (const row of o.lateRows) {
      store.delete(ids[row]);
      this.ctx.dead({ stage: n.id, record: batch[row], reason: `late or absurd event time ${show(batch[row][n.time[port]])} for the ${port === 0 ? 'left' : 'right'} side (behind the join watermark)` });
    }
    const out: Rec[] = [];
    for (let i = 0; i < o.leftIds.length; i++) out.push({ left: this.rows[0].get(o.leftIds[i]), right: this.rows[1].get(o.rightIds[i]) });
    this.forget(o.expiredIds);
    await this.out(out);
  }
  forget(ids: Float64Array) {
    for (const id of ids) {
      this.rows[0].delete(id);
      this.rows[1].delete(id);
    }
  }
  override async flush() {
    this.forget(callNative(() => this.j.finish()));
  }
  state(): never {
    throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `checkpoint: node '${this.node.id}' (interval join) cannot be checkpointed yet`);
  }
}

class SinkOp extends Base {
  written = 0;
  override async push(port: number, batch: Rec[] | ColumnBatch) {
    const n = this.node as Extract<PipelineNode, { op: 'sink' }>;
    if (!(batch instanceof ColumnBatch) || !n.sink.columnar || n.schema) return this.take(port, rowsOf(batch));
    try {
      await (n.sink as unknown as Sink<ColumnBatch>).write(batch as never);
    } catch (err) {
      throw stageError(this.node, `columnar batch of ${batch.length}`, err);
    }
    this.written += batch.length;
    this.ctx.count(n.id, 'out', batch.length);
  }
  async take(_p: number, batch: Rec[]) {
    const n = this.node as Extract<PipelineNode, { op: 'sink' }>;
    let rows = batch;
    if (n.schema) {
      rows = [];
      for (const r of batch) {
        const v = n.schema.safeParse(r);
        if (v.success) rows.push(v.data);
        else this.ctx.dead({ stage: n.id, record: r, reason: `rejected by the sink schema: ${v.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ')}` });
      }
    }
    try {
      await (n.sink as Sink<Rec>).write(rows);
    } catch (err) {
      const idx = err instanceof SinkRecordError ? err.index : 0;
      throw stageError(this.node, rows[idx], err instanceof SinkRecordError ? err.cause : err);
    }
    this.written += rows.length;
    this.ctx.count(n.id, 'out', rows.length);
  }
  override async flush() {
    const n = this.node as Extract<PipelineNode, { op: 'sink' }>;
    try {
      await n.sink.close?.();
    } catch (err) {
      throw new OmniError('ERR_OMNI_PIPELINE_SINK', `sink '${n.id}' failed to close: ${(err as Error).message}`, { cause: err, fields: { stage: n.id } });
    }
  }
}

export function makeOp(node: PipelineNode, ctx: Ctx): Op {
  switch (node.op) {
    case 'map':
    case 'filter':
    case 'flatMap':
      return new MapOp(node, ctx);
    case 'mapExpr':
    case 'filterExpr':
      return new ExprOp(node, ctx);
    case 'union':
      return new PassOp(node, ctx);
    case 'parallelMap':
      return new ParallelMapOp(node, ctx);
    case 'branch':
      return new BranchOp(node, ctx);
    case 'lookup':
      return new LookupOp(node, ctx);
    case 'dedupe':
      return new DedupeOp(node, ctx);
    case 'sort':
      return new SortOp(node, ctx);
    case 'aggregate':
      return new AggregateOp(node, ctx);
    case 'join':
      return new JoinOp(node, ctx);
    case 'intervalJoin':
      return new IntervalJoinOp(node, ctx);
    case 'sink':
      return new SinkOp(node, ctx);
    case 'source':
      throw new OmniError('ERR_OMNI_INTERNAL', 'sources are driven by the engine');
  }
}
