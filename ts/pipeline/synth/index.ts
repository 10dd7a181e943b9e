/**
 * Synthetic data for `omnitide/pipeline`, deterministic with a seed:
 *
 * - statistical: `fit(table, { strategy: 'copula' })`, empirical marginals plus a
 *   Gaussian copula (the approach of SDV's GaussianCopulaSynthesizer);
 * - model-based: `fit(table, { strategy: 'mixture' })`, a Gaussian mixture fitted
 *   by EM over the numeric columns, categorical columns drawn per component;
 * - rule-based: `generate(schema)`, per-field generators with constraints and
 *   referential integrity across tables, Faker for realistic text.
 *
 * `fidelity(real, synthetic)` reports per-column KS / total variation distance,
 * correlation error, exact copies and distance to the closest real record.
 * All computation is native (`omnitide-synth`); this module validates and converts.
 */
import { z } from 'zod';
import { callNative, callNativeAsync, invalidArgument } from '../../errors.js';
import { native, type SynthGenColumn, type SynthGenTable } from '../../native.js';
import { describe, parseOptions } from '../../validate.js';
import { checkFakerMethod, fakerColumn, fieldSeed } from './faker.js';
import { type ParsedSchema, type SynthSchema, synthSchema } from './schema.js';
import { fromNativeTable, toNativeTable, toRows, type SyntheticTable, type TableInput } from './table.js';

export type { ColumnValues, SyntheticTable, TableInput } from './table.js';
export type { FieldSpec, Generator, SynthSchema, TableSpec } from './schema.js';
export { toRows } from './table.js';

/** A seed: a non-negative safe integer. Same seed, same output. */
function seedArg(arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument(arg, `must be a non-negative safe integer, got ${typeof v === 'number' ? v : describe(v)}`);
  return v;
}

function rowsArg(arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalidArgument(arg, `must be a positive integer, got ${typeof v === 'number' ? v : describe(v)}`);
  return v;
}

const fitOptions = z
  .object({
    strategy: z.enum(['copula', 'mixture']).default('copula'),
    seed: z.unknown().optional(),
    /** Mixture only: number of Gaussian components (default 5). */
    components: z.number().int().min(1).max(256).optional(),
    maxIterations: z.number().int().min(1).max(100_000).optional(),
    tolerance: z.number().positive().optional(),
  })
  .strict();

export type FitOptions = z.input<typeof fitOptions> & { seed?: number };

export interface ColumnFidelity {
  name: string;
  /** `ks` (numeric: two-sample Kolmogorov–Smirnov) or `tvd` (categorical: total variation distance); 0 = identical. */
  metric: 'ks' | 'tvd';
  value: number;
}

export interface FidelityReport {
  columns: ColumnFidelity[];
  meanColumnDistance: number;
  /** Absolute differences between the real and synthetic Pearson correlations of the numeric columns. */
  correlation: { pairs: number; meanAbsError: number; maxAbsError: number };
  /** `exactMatches`: synthetic rows equal to a real row; `dcr*`: distance to closest real record (range-scaled). */
  privacy: {
    exactMatches: number;
    syntheticRows: number;
    dcrRows: number;
    dcrMin: number;
    dcrP05: number;
    dcrMedian: number;
    /** Median distance between a real row and its nearest other real row (the baseline for dcr). */
    realNnMedian: number;
  };
}

export interface SampleOptions {
  seed?: number;
  /** Redraw sampled rows that equal a real row in every column (default false; the fidelity report counts them either way). */
  rejectCopies?: boolean;
}

/** A fitted synthesizer; `sample` draws any number of rows. */
export class Synthesizer {
  readonly strategy: 'copula' | 'mixture';
  readonly #model: InstanceType<typeof native.SynthModel>;

  /** @internal */
  constructor(strategy: 'copula' | 'mixture', model: InstanceType<typeof native.SynthModel>) {
    this.strategy = strategy;
    this.#model = model;
  }

  /**
   * `rows` synthetic rows, column-major (same seed, same rows). With `rejectCopies`, rows equal
   * to a real row are redrawn (`redrawn` counts them); an `ERR_OMNI_LIMIT` error says when the
   * real table covers its whole domain so that nothing else can be drawn.
   */
  async sample(rows: number, options: SampleOptions = {}): Promise<SyntheticTable & { redrawn: number }> {
    const n = rowsArg('rows', rows);
    const seed = seedArg('options.seed', options?.seed ?? 0);
    const reject = options?.rejectCopies ?? false;
    if (typeof reject !== 'boolean') throw invalidArgument('options.rejectCopies', `expected a boolean, got ${describe(reject)}`);
    const s = await callNativeAsync(() => this.#model.sampleAsync(n, seed, reject));
    return { ...fromNativeTable(s.columns), redrawn: s.redrawn };
  }

  /**
   * The model as bytes (versioned, checksummed), for `load` elsewhere or later. A copula keeps
   * each numeric column's real values (its empirical marginals) and hashes of the real rows:
   * the bytes are as sensitive as the table. Sign them with omnitide/attest to prove origin.
   */
  save(): Uint8Array {
    return callNative(() => this.#model.save());
  }

  /** The fitted parameters: copula correlation matrix of normal scores, or the mixture's EM summary. */
  describe(): { strategy: string; columns?: string[]; correlation?: number[][]; fit?: { components: number; iterations: number; converged: boolean; meanLogLikelihood: number } } {
    return JSON.parse(callNative(() => this.#model.describe()));
  }
}

/** Fits a copula (default) or a Gaussian mixture on a sample table. */
export async function fit(table: TableInput, options: FitOptions = {}): Promise<Synthesizer> {
  const o = parseOptions('options', fitOptions, options ?? {});
  const seed = seedArg('options.seed', o.seed ?? 0);
  const cols = toNativeTable('table', table);
  const opts = { components: o.components, maxIterations: o.maxIterations, tolerance: o.tolerance };
  return new Synthesizer(o.strategy, await callNativeAsync(() => native.synthFitAsync(cols, o.strategy, seed, opts)));
}

/** A model saved by `Synthesizer.save`; foreign, truncated or altered bytes are refused (`ERR_OMNI_INVALID_ARGUMENT`). */
export function load(bytes: Uint8Array): Synthesizer {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', `expected a Uint8Array, got ${describe(bytes)}`);
  const m = callNative(() => native.SynthModel.load(bytes));
  return new Synthesizer(m.strategy as 'copula' | 'mixture', m);
}

/** Fidelity and privacy of `synthetic` against `real` (columns matched by name). */
export async function fidelity(real: TableInput, synthetic: TableInput | SyntheticTable): Promise<FidelityReport> {
  const r = toNativeTable('real', real);
  const s = toNativeTable('synthetic', isSynthetic(synthetic) ? synthetic.columns : synthetic);
  return JSON.parse(await callNativeAsync(() => native.synthFidelityAsync(r, s)));
}

function isSynthetic(v: unknown): v is SyntheticTable {
  return typeof v === 'object' && v !== null && 'rowCount' in v && 'columns' in v;
}

/** A generated column: numbers (dates as epoch ms; null as NaN), or strings (null as null). */
export type GeneratedColumn = Float64Array | (string | null)[];

/** One generated table. Text columns are decoded on first access. */
export class GeneratedTable {
  readonly name: string;
  readonly rowCount: number;
  readonly #raw: Map<string, SynthGenColumn>;
  readonly #decoded = new Map<string, GeneratedColumn>();

  /** @internal */
  constructor(t: SynthGenTable) {
    this.name = t.name;
    this.rowCount = t.rows;
    this.#raw = new Map(t.columns.map((c) => [c.name, c]));
  }

  get fieldNames(): string[] {
    return [...this.#raw.keys()];
  }

  /** The values of field `name`. */
  column(name: string): GeneratedColumn {
    const hit = this.#decoded.get(name);
    if (hit) return hit;
    const c = this.#raw.get(name);
    if (!c) throw invalidArgument('name', `table ${this.name} has no field '${name}'`);
    const v = decode(c);
    this.#decoded.set(name, v);
    return v;
  }

  get columns(): Record<string, GeneratedColumn> {
    return Object.fromEntries(this.fieldNames.map((n) => [n, this.column(n)]));
  }

  /** Row objects (dates as `Date`). */
  rows(): Record<string, unknown>[] {
    return toRows({ rowCount: this.rowCount, columns: this.columns });
  }

  /** @internal the native form (for constraint checks). */
  get raw(): SynthGenTable {
    return { name: this.name, rows: this.rowCount, columns: [...this.#raw.values()] };
  }
}

const utf8 = new TextDecoder();

function decode(c: SynthGenColumn): GeneratedColumn {
  if (c.kind === 'number') return c.values!;
  const n = (c.codes ?? c.textEnds)!.length;
  const out: (string | null)[] = new Array(n);
  if (c.kind === 'category') {
    const levels = c.levels!;
    c.codes!.forEach((k, i) => (out[i] = levels[k]));
  } else {
    const data = c.textData!;
    const ends = c.textEnds!;
    let s = 0;
    for (let i = 0; i < n; i++) {
      out[i] = utf8.decode(data.subarray(s, ends[i]));
      s = ends[i];
    }
  }
  if (c.nulls) c.nulls.forEach((z, i) => z === 1 && (out[i] = null));
  return out;
}

function encodeText(name: string, values: (string | null)[]): SynthGenColumn {
  const ends = new Uint32Array(values.length);
  const nulls = new Uint8Array(values.length);
  const parts: Buffer[] = [];
  let at = 0;
  values.forEach((v, i) => {
    if (v === null) nulls[i] = 1;
    else {
      const b = Buffer.from(v, 'utf8');
      parts.push(b);
      at += b.byteLength;
    }
    ends[i] = at;
  });
  return { name, kind: 'text', textData: new Uint8Array(Buffer.concat(parts)), textEnds: ends, nulls };
}

export interface GenerateOptions {
  seed?: number;
}

export interface ConstraintReport {
  /** Constraints checked (one per field and kind). */
  checked: number;
  violations: { table: string; field: string; constraint: 'unique' | 'notNull' | 'range' | 'foreignKey'; count: number; firstRow: number }[];
}

function parseSchema(schema: unknown): ParsedSchema {
  const s = parseOptions('schema', synthSchema, schema);
  s.tables.forEach((t) => t.fields.forEach((f) => f.gen.kind === 'faker' && checkFakerMethod(`schema.${t.name}.${f.name}.gen.method`, f.gen.method)));
  return s;
}

/**
 * Generates every table of a rule-based schema. Non-faker columns are produced
 * natively in one call; faker columns are filled here with seeded Faker.
 */
export async function generate(schema: SynthSchema, options: GenerateOptions = {}): Promise<Record<string, GeneratedTable>> {
  const s = parseSchema(schema);
  const seed = seedArg('options.seed', options?.seed ?? 0);
  const tables = await callNativeAsync(() => native.synthGenerateAsync(JSON.stringify(s), seed));
  const out: Record<string, GeneratedTable> = {};
  for (const t of tables) {
    const spec = s.tables.find((x) => x.name === t.name)!;
    const columns: SynthGenColumn[] = [];
    for (const c of t.columns) {
      if (c.kind !== 'external') {
        columns.push(c);
        continue;
      }
      const f = spec.fields.find((x) => x.name === c.name)!;
      const method = (f.gen as { method: string }).method;
      const values = await fakerColumn(`schema.${t.name}.${c.name}`, method, t.rows, fieldSeed(seed, t.name, c.name), f.unique ?? false, c.nulls ?? undefined);
      columns.push(encodeText(c.name, values));
    }
    t.columns = columns;
    out[t.name] = new GeneratedTable(t);
  }
  return out;
}

/** Checks the schema's constraints (unique, notNull, min/max, foreign keys) on generated tables. */
export async function checkConstraints(schema: SynthSchema, tables: Record<string, GeneratedTable>): Promise<ConstraintReport> {
  const s = parseSchema(schema);
  if (typeof tables !== 'object' || tables === null) throw invalidArgument('tables', `expected generated tables by name, got ${describe(tables)}`);
  const raw = Object.entries(tables).map(([k, t]) => {
    if (!(t instanceof GeneratedTable)) throw invalidArgument(`tables.${k}`, `expected a GeneratedTable, got ${describe(t)}`);
    return t.raw;
  });
  return JSON.parse(await callNativeAsync(() => native.synthCheckAsync(JSON.stringify(s), raw)));
}
