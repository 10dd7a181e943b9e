/**
 * Columnar batches: a record batch as one array per field (typed arrays for
 * numbers). Columnar sources and `mapColumns`/`filterColumns` keep records in
 * this form end to end, and the aggregate hands the typed columns to the
 * native window operator without building an object per record. Row
 * operators receive rows (converted on entry).
 */
import { native } from '../native.js';

export type Column = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | unknown[];

export class ColumnBatch {
  constructor(
    readonly length: number,
    readonly columns: Readonly<Record<string, Column>>,
  ) {}

  /** Rows where `mask[i]` is non-zero, as a new batch (this one when every row is kept). */
  select(mask: ArrayLike<number | boolean>): ColumnBatch {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (mask[i]) n++;
    if (n === this.length) return this;
    const out: Record<string, Column> = {};
    for (const [k, col] of Object.entries(this.columns)) {
      if (col instanceof Float64Array) out[k] = selectF64(col, mask, n, this.length);
      else if (col instanceof Uint32Array) out[k] = selectU32(col, mask, n, this.length);
      else {
        const dst: Column = Array.isArray(col) ? new Array(n) : new (col.constructor as new (n: number) => Exclude<Column, unknown[]>)(n);
        let j = 0;
        for (let i = 0; i < this.length; i++) if (mask[i]) (dst as unknown[])[j++] = (col as unknown[])[i];
        out[k] = dst;
      }
    }
    return new ColumnBatch(n, out);
  }

  /** Rows `index[0], index[1], ...` as a new batch (a join's gather). */
  gather(index: Uint32Array): ColumnBatch {
    // A run of consecutive rows (every row of a fact table matching one dimension row) is a view, not a copy.
    const n = index.length;
    if (n > 0 && index[n - 1] - index[0] === n - 1 && isRun(index)) return this.range(index[0], index[0] + n);
    const out: Record<string, Column> = {};
    for (const [k, col] of Object.entries(this.columns)) {
      if (col instanceof Float64Array) out[k] = gatherF64(col, index);
      else if (col instanceof Uint32Array) out[k] = gatherU32(col, index);
      else if (col instanceof Int32Array) out[k] = gatherI32(col, index);
      else {
        const dst: Column = Array.isArray(col) ? new Array(index.length) : new (col.constructor as new (n: number) => Exclude<Column, unknown[]>)(index.length);
        for (let i = 0; i < index.length; i++) (dst as unknown[])[i] = (col as unknown[])[index[i]];
        out[k] = dst;
      }
    }
    return new ColumnBatch(index.length, out);
  }

  /** Rows `start .. end - 1`: typed columns as views, array columns copied. */
  range(start: number, end: number): ColumnBatch {
    const out: Record<string, Column> = {};
    for (const [k, col] of Object.entries(this.columns)) out[k] = Array.isArray(col) ? col.slice(start, end) : col.subarray(start, end);
    return new ColumnBatch(end - start, out);
  }

  static concat(batches: readonly ColumnBatch[]): ColumnBatch {
    if (batches.length === 1) return batches[0];
    const n = batches.reduce((a, b) => a + b.length, 0);
    const names = batches.length ? Object.keys(batches[0].columns) : [];
    const out: Record<string, Column> = {};
    for (const k of names) {
      const first = batches[0].columns[k];
      if (Array.isArray(first) || batches.some((b) => b.columns[k]?.constructor !== first.constructor)) {
        out[k] = batches.flatMap((b) => Array.from(b.columns[k] as ArrayLike<unknown>));
        continue;
      }
      const dst = new (first.constructor as new (n: number) => Exclude<Column, unknown[]>)(n);
      let at = 0;
      for (const b of batches) {
        dst.set(b.columns[k] as never, at);
        at += b.length;
      }
      out[k] = dst;
    }
    return new ColumnBatch(n, out);
  }

  toRows(): Record<string, unknown>[] {
    const names = Object.keys(this.columns);
    const cols = names.map((k) => this.columns[k] as ArrayLike<unknown>);
    const rows = new Array<Record<string, unknown>>(this.length);
    for (let i = 0; i < this.length; i++) {
      const r: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) r[names[c]] = cols[c][i];
      rows[i] = r;
    }
    return rows;
  }

  static fromRows(rows: readonly Record<string, unknown>[]): ColumnBatch {
    const names = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r)) names.add(k);
    const out: Record<string, Column> = {};
    for (const k of names) {
      const numeric = rows.every((r) => typeof r[k] === 'number');
      out[k] = numeric ? Float64Array.from(rows, (r) => r[k] as number) : rows.map((r) => r[k]);
    }
    return new ColumnBatch(rows.length, out);
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Rows of a batch in either form. */
export function rowsOf(batch: any[] | ColumnBatch): any[] {
  return batch instanceof ColumnBatch ? batch.toRows() : batch;
}

export function columnsOf(batch: any[] | ColumnBatch): ColumnBatch {
  return batch instanceof ColumnBatch ? batch : ColumnBatch.fromRows(batch);
}

// One loop per element type: a single loop over every kind of column is
// megamorphic in V8 and ran a join's gather at a third of this speed.
/** From this many rows a gather goes native (a JS loop was a fifth of a 10M-row join); below, the call costs more than it saves. */
const NATIVE_GATHER = 4096;

function gatherF64(src: Float64Array, index: Uint32Array): Float64Array {
  if (index.length >= NATIVE_GATHER) return native.pipelineGatherF64(src, index);
  const dst = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) dst[i] = src[index[i]];
  return dst;
}

function gatherU32(src: Uint32Array, index: Uint32Array): Uint32Array {
  if (index.length >= NATIVE_GATHER) return native.pipelineGatherU32(src, index);
  const dst = new Uint32Array(index.length);
  for (let i = 0; i < index.length; i++) dst[i] = src[index[i]];
  return dst;
}

function gatherI32(src: Int32Array, index: Uint32Array): Int32Array {
  const dst = new Int32Array(index.length);
  for (let i = 0; i < index.length; i++) dst[i] = src[index[i]];
  return dst;
}

// Selects per element type, as the gathers: one loop over every kind of column is polymorphic in V8.
function selectF64(src: Float64Array, mask: ArrayLike<number | boolean>, n: number, len: number): Float64Array {
  const dst = new Float64Array(n);
  for (let i = 0, j = 0; i < len; i++) if (mask[i]) dst[j++] = src[i];
  return dst;
}

function selectU32(src: Uint32Array, mask: ArrayLike<number | boolean>, n: number, len: number): Uint32Array {
  const dst = new Uint32Array(n);
  for (let i = 0, j = 0; i < len; i++) if (mask[i]) dst[j++] = src[i];
  return dst;
}

function isRun(index: Uint32Array): boolean {
  const first = index[0];
  for (let i = 1; i < index.length; i++) if (index[i] !== first + i) return false;
  return true;
}
