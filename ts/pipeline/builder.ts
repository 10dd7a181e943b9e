/**
 * The typed builder. Types flow from the source schema through every
 * operator: `map` infers its output, `keyBy` accepts only field names of the
 * current record, aggregates accept only numeric fields (distinct: any), and
 * the aggregate's output type names the key fields and aggregate columns.
 */
import { z } from 'zod';
import { invalidArgument } from '../errors.js';
import type { AggregateSpec, Fields, FieldType, NodeOp, PipelineGraph, PipelineNode, SchedulerLike, WindowOptions, WindowSpec } from './ir.js';
import type { Sink } from './sinks.js';
import type { Source } from './sources.js';
import { fieldsOf } from './schema.js';
import { schemaFromFields } from './definition.js';
import type { ColumnBatch } from './columns.js';
import { Expr, type ExprJson } from './expr.js';
import { validateGraph, type ValidationReport } from './validate.js';
import { run, type RunOptions, type RunResult } from './engine.js';
import { toDot, toSvg } from './graph.js';

type FieldTypeName = 'number' | 'integer' | 'string' | 'boolean' | 'date' | 'number?' | 'integer?' | 'string?' | 'boolean?' | 'date?';
type FieldValue<S> = S extends 'number' | 'integer' ? number : S extends 'string' ? string : S extends 'boolean' ? boolean : S extends 'date' ? number | string | Date : never;
type Req<F> = { [K in keyof F as F[K] extends `${string}?` ? never : K]: FieldValue<F[K]> };
type Opt<F> = { [K in keyof F as F[K] extends `${infer B}?` ? (B extends string ? K : never) : never]?: F[K] extends `${infer B}?` ? FieldValue<B> : never };
/** The record type of a field map. */
export type RecordOf<F> = Req<F> & Opt<F>;

type NumericKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends number ? K : never }[keyof T] & string;
type TimeKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends number | Date | string ? K : never }[keyof T] & string;
type Key<T> = keyof T & string;

/** Aggregate constructors over the fields of `T`. */
export interface Aggs<T> {
  count(): AggregateSpec;
  sum(field: NumericKeys<T>): AggregateSpec;
  min(field: NumericKeys<T>): AggregateSpec;
  max(field: NumericKeys<T>): AggregateSpec;
  mean(field: NumericKeys<T>): AggregateSpec;
  variance(field: NumericKeys<T>): AggregateSpec;
  /** Approximate distinct count (HyperLogLog++, ~0.8 % error). */
  distinct(field: Key<T>): AggregateSpec;
  /** Approximate quantile (t-digest). */
  quantile(field: NumericKeys<T>, q: number): AggregateSpec;
}

export const aggs: Aggs<Record<string, number>> = {
  count: () => ({ kind: 'count' }),
  sum: (field) => ({ kind: 'sum', field }),
  min: (field) => ({ kind: 'min', field }),
  max: (field) => ({ kind: 'max', field }),
  mean: (field) => ({ kind: 'mean', field }),
  variance: (field) => ({ kind: 'variance', field }),
  distinct: (field) => ({ kind: 'distinct', field }),
  quantile: (field, q) => ({ kind: 'quantile', field, q }),
};

export type Windowed = { windowStart: number; windowEnd: number; pane: number };
export type AggregateOutput<T, K extends keyof T, A> = { [P in K]: T[P] } & { [P in keyof A]: number };

let counter = 0;

export class Pipeline {
  readonly graph: PipelineGraph;
  #ids = new Set<string>();

  constructor(name = 'pipeline') {
    this.graph = { name, nodes: [] };
  }

  /** @internal */
  add(node: PipelineNode): string {
    if (this.#ids.has(node.id)) throw invalidArgument('name', `a node named '${node.id}' already exists`);
    this.#ids.add(node.id);
    this.graph.nodes.push(node);
    return node.id;
  }

  /** @internal */
  nextId(op: string, name?: string): string {
    if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z_][\w.-]*$/.test(name))) throw invalidArgument('name', `'${String(name)}' is not a valid node name`);
    return name ?? `${op}${++counter}`;
  }

  /**
   * A source whose records are validated by `schema` (a zod schema, or a field map as in
   * YAML definitions: `{ ts: 'number', user: 'string', note: 'string?' }`); invalid ones go to the dead letter.
   */
  source<S extends z.ZodType>(name: string, schema: S, source: Source<unknown>): Stream<z.output<S>>;
  source<F extends Record<string, FieldTypeName>>(name: string, fields: F, source: Source<unknown>): Stream<RecordOf<F>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  source(name: string, schemaOrFields: z.ZodType | Record<string, string>, source: Source<unknown>): Stream<any> {
    let schema: z.ZodType;
    if (schemaOrFields instanceof z.ZodType) schema = schemaOrFields;
    else if (schemaOrFields !== null && typeof schemaOrFields === 'object') {
      const problems: string[] = [];
      schema = schemaFromFields(schemaOrFields, (p, m) => problems.push(`${p}: ${m}`));
      if (problems.length) throw invalidArgument('schema', problems.join('; '));
    } else throw invalidArgument('schema', 'expected a zod schema or a field map');
    if (!source || typeof source.open !== 'function') throw invalidArgument('source', 'expected a Source (fromArray, fromNdjson, ...)');
    const id = this.add({ id: this.nextId('source', name), op: 'source', inputs: [], source, schema });
    return new Stream(this, id, fieldsOf(schema));
  }

  validate(): ValidationReport {
    return validateGraph(this.graph);
  }

  run(opts: RunOptions = {}): Promise<RunResult> {
    return run(this.graph, opts);
  }

  toDot(): string {
    return toDot(this.graph);
  }

  toSvg(): Promise<string> {
    return toSvg(this.graph);
  }
}

export class Stream<T> {
  constructor(
    readonly pipeline: Pipeline,
    readonly id: string,
    /** @internal */ readonly fields: Fields,
  ) {}

  #then<U>(node: NodeOp & { name?: string }, fields: Fields, inputs: string[] = [this.id]): Stream<U> {
    const { name, ...rest } = node;
    const id = this.pipeline.add({ ...(rest as PipelineNode), id: this.pipeline.nextId(rest.op, name), inputs });
    return new Stream<U>(this.pipeline, id, fields);
  }

  map<U>(fn: (record: T) => U, opts: { name?: string; schema?: z.ZodType<U> } = {}): Stream<U> {
    fnArg(fn);
    const outFields = opts.schema ? fieldsOf(opts.schema) : null;
    return this.#then({ op: 'map', fn, outFields, name: opts.name, fnName: fn.name || undefined }, outFields);
  }

  filter<S extends T>(fn: (record: T) => record is S, opts?: { name?: string }): Stream<S>;
  filter(fn: (record: T) => boolean, opts?: { name?: string }): Stream<T>;
  filter(fn: (record: T) => boolean, opts: { name?: string } = {}): Stream<T> {
    fnArg(fn);
    return this.#then({ op: 'filter', fn, name: opts.name, fnName: fn.name || undefined }, this.fields);
  }

  /**
   * A vectorised map. With column expressions (`{ amount: col('amount').mul(1.1) }`)
   * it runs natively over whole columns: each entry assigns a Float64 number
   * column (new or replaced; every expression reads the columns as they were
   * before this stage), and consecutive expression stages before a keyed window
   * aggregate are fused with it into one native call per batch (see `expr.ts`).
   * With a function, `fn` gets a whole columnar batch and returns one (see `ColumnBatch`).
   */
  mapColumns<E extends Record<string, Expr<'number'>>>(exprs: E, opts?: { name?: string }): Stream<Omit<T, keyof E> & { [K in keyof E]: number }>;
  mapColumns<U>(fn: (batch: ColumnBatch) => ColumnBatch, opts?: { name?: string; schema?: z.ZodType<U> }): Stream<U>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  mapColumns(fnOrExprs: ((batch: ColumnBatch) => ColumnBatch) | Record<string, Expr<'number'>>, opts: { name?: string; schema?: z.ZodType } = {}): Stream<any> {
    if (typeof fnOrExprs !== 'function') {
      if (fnOrExprs === null || typeof fnOrExprs !== 'object' || Object.keys(fnOrExprs).length === 0) throw invalidArgument('exprs', 'expected a function or { column: expression, ... } with at least one column');
      const exprs: Record<string, ExprJson> = {};
      const outFields: Record<string, FieldType> | null = this.fields ? { ...this.fields } : null;
      for (const [k, e] of Object.entries(fnOrExprs)) {
        if (!(e instanceof Expr)) throw invalidArgument(`exprs.${k}`, 'expected a column expression (col(...), lit(...))');
        if (e.type !== 'number') throw invalidArgument(`exprs.${k}`, 'type mismatch: a map computes numbers; a boolean expression belongs in filterColumns');
        exprs[k] = e.json;
        if (outFields) outFields[k] = 'number';
      }
      return this.#then({ op: 'mapExpr', exprs, name: opts.name }, outFields);
    }
    const fn = fnOrExprs;
    fnArg(fn);
    const outFields = opts.schema ? fieldsOf(opts.schema) : null;
    return this.#then({ op: 'map', fn, outFields, columnar: true, name: opts.name, fnName: fn.name || undefined }, outFields);
  }

  /**
   * A vectorised filter: a boolean column expression (`col('amount').gt(5)`,
   * evaluated natively, see `mapColumns`), or a function returning a mask
   * (non-zero keeps the row) for a columnar batch.
   */
  filterColumns(predOrFn: Expr<'boolean'> | ((batch: ColumnBatch) => ArrayLike<number | boolean>), opts: { name?: string } = {}): Stream<T> {
    if (predOrFn instanceof Expr) {
      if (predOrFn.type !== 'boolean') throw invalidArgument('pred', 'type mismatch: a filter needs a boolean expression (a comparison such as col(x).gt(5))');
      return this.#then({ op: 'filterExpr', predicate: predOrFn.json, name: opts.name }, this.fields);
    }
    const fn = predOrFn;
    fnArg(fn);
    return this.#then({ op: 'filter', fn, columnar: true, name: opts.name, fnName: fn.name || undefined }, this.fields);
  }

  flatMap<U>(fn: (record: T) => Iterable<U>, opts: { name?: string; schema?: z.ZodType<U> } = {}): Stream<U> {
    fnArg(fn);
    const outFields = opts.schema ? fieldsOf(opts.schema) : null;
    return this.#then({ op: 'flatMap', fn, outFields, name: opts.name, fnName: fn.name || undefined }, outFields);
  }

  /**
   * Runs task `task` of an `omnitide/scheduler` Scheduler on worker threads: each batch is split
   * by hash(`key`) into `partitions` slices, one task per slice (the task takes and returns an
   * array of records); per-key order is preserved.
   */
  parallelMap<U>(scheduler: SchedulerLike, task: string, opts: { key: Key<T>; partitions?: number; name?: string; schema?: z.ZodType<U> }): Stream<U> {
    if (!scheduler || typeof scheduler.run !== 'function') throw invalidArgument('scheduler', 'expected an omnitide/scheduler Scheduler');
    if (typeof task !== 'string' || task.length === 0) throw invalidArgument('task', 'expected a task name');
    const partitions = opts.partitions ?? 4;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw invalidArgument('opts.partitions', `expected an integer in [1, 1024], got ${String(partitions)}`);
    const outFields = opts.schema ? fieldsOf(opts.schema) : null;
    return this.#then({ op: 'parallelMap', scheduler, task, key: opts.key, partitions, outFields, name: opts.name }, outFields);
  }

  keyBy<K extends Key<T>>(...key: K[]): KeyedStream<T, K> {
    if (key.length === 0) throw invalidArgument('key', 'name at least one field');
    return new KeyedStream(this, key);
  }

  /** Keeps the first record of each key. */
  dedupe(...key: Key<T>[]): Stream<T> {
    if (key.length === 0) throw invalidArgument('key', 'name at least one field');
    return this.#then({ op: 'dedupe', key }, this.fields);
  }

  /** Sorts the whole input (blocking: emits at end of input). `-field` sorts descending. */
  sort(...by: Array<Key<T> | `-${Key<T>}`>): Stream<T> {
    if (by.length === 0) throw invalidArgument('by', 'name at least one field');
    return this.#then({ op: 'sort', by: by.map((b) => (b.startsWith('-') ? { field: b.slice(1), desc: true } : { field: b, desc: false })) }, this.fields);
  }

  union(...others: Stream<T>[]): Stream<T> {
    for (const o of others) if (!(o instanceof Stream) || o.pipeline !== this.pipeline) throw invalidArgument('others', 'expected streams of the same pipeline');
    return this.#then({ op: 'union' }, this.fields, [this.id, ...others.map((o) => o.id)]);
  }

  /** Routes each record to the branch `fn` names; a record no branch takes goes to the dead letter. */
  branch<B extends string>(names: readonly B[], fn: (record: T) => B | undefined, opts: { name?: string } = {}): Record<B, Stream<T>> {
    fnArg(fn);
    if (!Array.isArray(names) || names.length === 0 || new Set(names).size !== names.length) throw invalidArgument('names', 'expected distinct branch names');
    const b = this.#then<T>({ op: 'branch', fn, branches: [...names], name: opts.name, fnName: fn.name || undefined }, this.fields);
    const out = {} as Record<B, Stream<T>>;
    for (const n of names as readonly string[]) (out as Record<string, Stream<T>>)[n] = new Stream<T>(this.pipeline, `${b.id}#${n}`, this.fields);
    return out;
  }

  /** Batch hash join (blocking: both inputs are read to their end). */
  join<U, KL extends Key<T>, KR extends Key<U>>(right: Stream<U>, on: { left: KL; right: KR }, kind: 'inner'): Stream<T & U>;
  join<U, KL extends Key<T>, KR extends Key<U>>(right: Stream<U>, on: { left: KL; right: KR }, kind: 'left'): Stream<T & Partial<U>>;
  join<U, KL extends Key<T>, KR extends Key<U>>(right: Stream<U>, on: { left: KL; right: KR }, kind: 'anti'): Stream<T>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  join(right: Stream<any>, on: { left: string; right: string }, kind: 'inner' | 'left' | 'anti'): Stream<any> {
    if (!(right instanceof Stream) || right.pipeline !== this.pipeline) throw invalidArgument('right', 'expected a stream of the same pipeline');
    if (!['inner', 'left', 'anti'].includes(kind)) throw invalidArgument('kind', `'${String(kind)}' is not inner, left or anti`);
    const fields = kind === 'anti' ? this.fields : this.fields && right.fields ? { ...right.fields, ...this.fields } : null;
    return this.#then({ op: 'join', kind, on: [on.left, on.right] }, fields, [this.id, right.id]);
  }

  /** Windowed stream-stream join: pairs with equal keys and `between[0] <= right.time - left.time <= between[1]`. */
  intervalJoin<U>(
    right: Stream<U>,
    opts: { on: { left: Key<T>; right: Key<U> }; time: { left: TimeKeys<T>; right: TimeKeys<U> }; between: [number, number]; maxOutOfOrderness?: number },
  ): Stream<{ left: T; right: U }> {
    if (!(right instanceof Stream) || right.pipeline !== this.pipeline) throw invalidArgument('right', 'expected a stream of the same pipeline');
    return this.#then(
      { op: 'intervalJoin', on: [opts.on.left, opts.on.right], time: [opts.time.left, opts.time.right], between: opts.between, maxOutOfOrderness: opts.maxOutOfOrderness ?? 0 },
      { left: 'unknown', right: 'unknown' },
      [this.id, right.id],
    );
  }

  /** Stream-table lookup: adds `table.get(record[on])` (or undefined) as field `as`. */
  lookup<V, A extends string>(table: ReadonlyMap<unknown, V>, opts: { on: Key<T>; as: A }): Stream<T & { [P in A]: V | undefined }> {
    if (!(table instanceof Map)) throw invalidArgument('table', 'expected a Map');
    return this.#then({ op: 'lookup', table, on: opts.on, as: opts.as }, this.fields ? { ...this.fields, [opts.as]: 'unknown' } : null);
  }

  /** Writes to `sink`; with `schema`, records it rejects go to the dead letter. */
  to(sink: Sink<T>, opts: { name?: string; schema?: z.ZodType } = {}): Pipeline {
    if (!sink || typeof sink.write !== 'function') throw invalidArgument('sink', 'expected a Sink (toArray, toWritable, ...)');
    this.#then({ op: 'sink', sink: sink as Sink<unknown>, schema: opts.schema, name: opts.name }, null);
    return this.pipeline;
  }
}

export class KeyedStream<T, K extends keyof T & string> {
  constructor(
    readonly stream: Stream<T>,
    readonly key: K[],
  ) {}

  window(spec: WindowSpec, opts: Omit<WindowOptions, 'time'> & { time: TimeKeys<T> }): WindowedStream<T, K> {
    return new WindowedStream(this.stream, this.key, spec, opts);
  }

  /** Group-by over the whole input (results at end of input). */
  aggregate<A extends Record<string, AggregateSpec>>(f: (a: Aggs<T>) => A, opts: { name?: string } = {}): Stream<AggregateOutput<T, K, A>> {
    return aggregateNode(this.stream, this.key, { type: 'global' }, null, f(aggs as unknown as Aggs<T>), opts.name);
  }
}

export class WindowedStream<T, K extends keyof T & string> {
  constructor(
    readonly stream: Stream<T>,
    readonly key: K[],
    readonly spec: WindowSpec,
    readonly opts: WindowOptions,
  ) {}

  aggregate<A extends Record<string, AggregateSpec>>(f: (a: Aggs<T>) => A, opts: { name?: string } = {}): Stream<AggregateOutput<T, K, A> & Windowed> {
    return aggregateNode(this.stream, this.key, this.spec, this.opts, f(aggs as unknown as Aggs<T>), opts.name);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function aggregateNode<U>(s: Stream<any>, key: string[], window: WindowSpec, options: WindowOptions | null, aggregates: Record<string, AggregateSpec>, name?: string): Stream<U> {
  const p = s.pipeline;
  const fields: Record<string, 'number' | 'unknown'> = {};
  for (const k of key) fields[k] = (s.fields?.[k] as 'number') ?? 'unknown';
  if (window.type !== 'global') Object.assign(fields, { windowStart: 'number', windowEnd: 'number', pane: 'number' });
  for (const a of Object.keys(aggregates)) fields[a] = 'number';
  const id = p.add({ id: p.nextId('aggregate', name), op: 'aggregate', inputs: [s.id], key, window, options, aggregates });
  return new Stream<U>(p, id, fields);
}

function fnArg(fn: unknown): void {
  if (typeof fn !== 'function') throw invalidArgument('fn', 'expected a function');
}
