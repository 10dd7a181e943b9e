/**
 * Running column expressions: a batch's typed columns as the native program's
 * inputs, programs compiled once per batch layout, and the unfused result
 * (selected rows, computed columns) as a new `ColumnBatch`.
 */
import { callNative, OmniError } from '../errors.js';
import { native, type PipelineColumnProgram, type PipelineSelection } from '../native.js';
import { ColumnBatch, type Column } from './columns.js';
import type { PipelineNode } from './ir.js';

export type ExprNode = Extract<PipelineNode, { op: 'mapExpr' | 'filterExpr' }>;

/** A batch's number columns as program inputs: Float64 and Uint32 as they are, other typed arrays as Float64. */
export interface Layout {
  key: string;
  inputs: [string, 'f64' | 'u32'][];
  f64s: Float64Array[];
  u32s: Uint32Array[];
}

export function layoutOf(b: ColumnBatch): Layout {
  const inputs: Layout['inputs'] = [];
  const f64s: Float64Array[] = [];
  const u32s: Uint32Array[] = [];
  for (const [name, col] of Object.entries(b.columns)) {
    if (col instanceof Uint32Array) {
      inputs.push([name, 'u32']);
      u32s.push(col);
    } else if (col instanceof Float64Array) {
      inputs.push([name, 'f64']);
      f64s.push(col);
    } else if (ArrayBuffer.isView(col)) {
      inputs.push([name, 'f64']);
      f64s.push(Float64Array.from(col as ArrayLike<number>));
    }
    // Arrays (strings, mixed values) are not expression inputs: naming one is an unknown column.
  }
  return { key: inputs.map(([n, t]) => `${n}:${t}`).join(','), inputs, f64s, u32s };
}

const bitsView = new DataView(new ArrayBuffer(8));

/**
 * An expression as sent to the native compiler: every number literal as its
 * IEEE bits (`{ bits: hex }`), since a decimal JSON number may lose its last
 * bit in the native parser and `-0` its sign (JSON.stringify(-0) is "0").
 */
export function exactLiterals(e: unknown): unknown {
  if (typeof e === 'number') {
    bitsView.setFloat64(0, e);
    return { bits: bitsView.getBigUint64(0).toString(16).padStart(16, '0') };
  }
  if (e === null || typeof e !== 'object') return e;
  if (Array.isArray(e)) return e.map(exactLiterals);
  const [op, args] = Object.entries(e)[0] ?? [];
  if (op === undefined || Object.keys(e).length !== 1 || op === 'col') return e;
  if (op === 'lit') return exactLiterals(args);
  return { [op]: exactLiterals(args) };
}

export function stageSpec(n: ExprNode): { map: Record<string, unknown> } | { filter: unknown } {
  return n.op === 'mapExpr' ? { map: Object.fromEntries(Object.entries(n.exprs).map(([k, e]) => [k, exactLiterals(e)])) } : { filter: exactLiterals(n.predicate) };
}

/** What the window of a fused chain reads (key, event time, value columns). */
export interface FusedTarget {
  key: string;
  time?: string;
  values: string[];
}

/**
 * Programs of one chain of expression nodes, one per batch layout. A compile
 * error names the node (`nodes.f1.predicate.gt[0]: unknown column 'amt' ...`).
 */
export class Programs {
  #byLayout = new Map<string, PipelineColumnProgram>();
  constructor(
    readonly chain: ExprNode[],
    readonly target?: FusedTarget,
  ) {}

  get(layout: Layout): PipelineColumnProgram {
    let p = this.#byLayout.get(layout.key);
    if (!p) {
      const spec = JSON.stringify({ inputs: layout.inputs, stages: this.chain.map(stageSpec), ...this.target });
      try {
        p = callNative(() => new native.PipelineColumnProgram(spec));
      } catch (err) {
        throw this.renamed(err);
      }
      this.#byLayout.set(layout.key, p);
    }
    return p;
  }

  /** The native message says `stages[i].filter...`; the user knows node ids. */
  renamed(err: unknown): unknown {
    if (!(err instanceof OmniError)) return err;
    const m = /^stages\[(\d+)\]\.(map|filter)(.*)$/s.exec(err.message);
    const n = m ? this.chain[Number(m[1])] : undefined;
    if (!m || !n) return err;
    const message = `nodes.${n.id}.${m[2] === 'map' ? 'exprs' : 'predicate'}${m[3]}`;
    return new OmniError(err.code, message, { cause: err });
  }
}

/** The batch a chain's stages produce: selected rows, computed columns replacing or appended to the input's. */
export function materialise(b: ColumnBatch, computed: readonly string[], s: PipelineSelection): ColumnBatch {
  const computedSet = new Set(computed);
  const rest: Record<string, Column> = {};
  for (const [k, c] of Object.entries(b.columns)) if (!computedSet.has(k)) rest[k] = c;
  const kept = s.sel.length === b.length ? new ColumnBatch(b.length, rest) : new ColumnBatch(b.length, rest).gather(s.sel);
  const out: Record<string, Column> = {};
  for (const k of Object.keys(b.columns)) out[k] = computedSet.has(k) ? s.columns[computed.indexOf(k)] : kept.columns[k];
  computed.forEach((k, i) => (out[k] ??= s.columns[i]));
  return new ColumnBatch(s.sel.length, out);
}
