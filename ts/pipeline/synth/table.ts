/**
 * Tables at the synth edge: plain JS columns (`{ age: number[], city: string[] }`)
 * or row objects, converted to typed native columns (numbers as Float64Array,
 * strings/booleans dictionary-encoded as codes + levels) in one pass, so a
 * whole table crosses to Rust in one call.
 */
import { invalidArgument } from '../../errors.js';
import type { SynthColumnData } from '../../native.js';
import { describe } from '../../validate.js';

/** A column of numbers, or of categories (strings or booleans). */
export type ColumnValues = ArrayLike<number> | readonly string[] | readonly boolean[];
/** Columns by name (all the same length), or an array of row objects. */
export type TableInput = Record<string, ColumnValues> | readonly Record<string, number | string | boolean>[];

/** A synthetic table, column-major: numeric columns are Float64Arrays, categorical ones string arrays. */
export interface SyntheticTable {
  rowCount: number;
  columns: Record<string, Float64Array | string[]>;
}

function rowsToColumns(arg: string, rows: readonly Record<string, unknown>[]): Record<string, unknown[]> {
  if (rows.length === 0) throw invalidArgument(arg, 'is empty (0 rows)');
  const names = Object.keys(rows[0] ?? {});
  const cols: Record<string, unknown[]> = Object.fromEntries(names.map((n) => [n, new Array(rows.length)]));
  rows.forEach((r, i) => {
    if (typeof r !== 'object' || r === null) throw invalidArgument(`${arg}[${i}]`, `expected a row object, got ${describe(r)}`);
    for (const n of names) {
      if (!(n in r)) throw invalidArgument(`${arg}[${i}].${n}`, 'is missing (row 0 has it)');
      cols[n][i] = r[n];
    }
  });
  return cols;
}

/** Converts a JS table to native columns; every problem names `arg.column` (and the row). */
export function toNativeTable(arg: string, input: unknown): SynthColumnData[] {
  if (typeof input !== 'object' || input === null) throw invalidArgument(arg, `expected columns by name or an array of rows, got ${describe(input)}`);
  const cols = Array.isArray(input) ? rowsToColumns(arg, input as Record<string, unknown>[]) : (input as Record<string, unknown>);
  const names = Object.keys(cols);
  if (names.length === 0) throw invalidArgument(arg, 'has no columns');
  return names.map((name) => toNativeColumn(`${arg}.${name}`, name, cols[name]));
}

function toNativeColumn(at: string, name: string, v: unknown): SynthColumnData {
  if (v instanceof Float64Array) return { name, kind: 'numeric', values: v };
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw invalidArgument(at, `expected an array of values, got ${describe(v)}`);
  const a = v as ArrayLike<unknown>;
  if (a.length === 0) throw invalidArgument(at, 'is empty (0 rows)');
  if (typeof a[0] === 'number' || ArrayBuffer.isView(v)) {
    const values = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x !== 'number') throw invalidArgument(at, `row ${i} is ${describe(x)} in a numeric column`);
      values[i] = x; // NaN/Infinity are rejected natively with the row
    }
    return { name, kind: 'numeric', values };
  }
  if (typeof a[0] === 'string' || typeof a[0] === 'boolean') {
    const index = new Map<string, number>();
    const levels: string[] = [];
    const codes = new Uint32Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x !== 'string' && typeof x !== 'boolean') throw invalidArgument(at, `row ${i} is ${describe(x)} in a categorical column`);
      const key = String(x);
      let k = index.get(key);
      if (k === undefined) {
        k = levels.length;
        index.set(key, k);
        levels.push(key);
      }
      codes[i] = k;
    }
    return { name, kind: 'categorical', codes, levels };
  }
  throw invalidArgument(at, `unsupported column type: row 0 is ${describe(a[0])} (expected numbers, strings or booleans)`);
}

export function fromNativeTable(cols: SynthColumnData[]): SyntheticTable {
  const columns: Record<string, Float64Array | string[]> = {};
  let rowCount = 0;
  for (const c of cols) {
    if (c.kind === 'numeric' && c.values) {
      columns[c.name] = c.values;
      rowCount = c.values.length;
    } else if (c.codes && c.levels) {
      const levels = c.levels;
      columns[c.name] = Array.from(c.codes, (k) => levels[k]);
      rowCount = c.codes.length;
    }
  }
  return { rowCount, columns };
}

/** Row objects of a column-major table (for display and small tables). */
export function toRows(t: { rowCount: number; columns: Record<string, ArrayLike<unknown>> }): Record<string, unknown>[] {
  const names = Object.keys(t.columns);
  return Array.from({ length: t.rowCount }, (_, i) => Object.fromEntries(names.map((n) => [n, t.columns[n][i]])));
}
