/**
 * JSON / YAML pipeline definitions: the same graph as the builder, with
 * operators referenced by name and user functions by a registry. Loading
 * reports every problem with its path (`nodes[2].fn`), then the graph checks
 * of `validateGraph` run (cycles, field references, type mismatches).
 *
 * ```yaml
 * name: spend
 * nodes:
 *   - { id: orders, op: source, schema: { ts: number, user: string, amount: number }, from: { ndjson: orders.ndjson } }
 *   - { id: positive, op: filter, input: orders, fn: positiveAmount }
 *   # or, evaluated natively (column expressions, see expr.ts):
 *   #   - { id: taxed, op: map, input: orders, exprs: { amount: { mul: [amount, 1.1] } } }
 *   #   - { id: positive, op: filter, input: taxed, expr: { gt: [amount, 0] } }
 *   - id: perUser
 *     op: aggregate
 *     input: positive
 *     key: [user]
 *     window: { type: tumbling, size: 60000 }
 *     time: ts
 *     aggregates: { n: { kind: count }, total: { kind: sum, field: amount } }
 *   - { id: out, op: sink, input: perUser, to: { ndjson: out.ndjson } }
 * ```
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OmniError } from '../errors.js';
import type { ExprJson } from './expr.js';
import { AGG_KINDS, type AggregateSpec, type Fn, type PipelineGraph, type PipelineNode, type WindowSpec } from './ir.js';
import { fieldsOf } from './schema.js';
import { fromArray, fromCsv, fromNdjson, type Source } from './sources.js';
import { toNdjson, type Sink } from './sinks.js';
import { validateGraph, type Problem } from './validate.js';

export const OPERATORS = ['source', 'map', 'filter', 'flatMap', 'aggregate', 'join', 'intervalJoin', 'lookup', 'dedupe', 'sort', 'union', 'branch', 'sink'] as const;

export interface DefinitionContext {
  /** User functions by name (map, filter, flatMap, branch). */
  functions?: Record<string, Fn>;
  /** Sources by node id, overriding `from`. */
  sources?: Record<string, Source<unknown>>;
  /** Sinks by node id, overriding `to`. */
  sinks?: Record<string, Sink<unknown>>;
  /** Lookup tables by name. */
  tables?: Record<string, ReadonlyMap<unknown, unknown>>;
  /** Base directory for relative file paths in `from`/`to`. */
  baseDir?: string;
}

export interface LoadResult {
  ok: boolean;
  problems: Problem[];
  graph: PipelineGraph;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export const FIELD_TYPES: Record<string, () => z.ZodType> = {
  number: () => z.number(),
  integer: () => z.number().int(),
  string: () => z.string(),
  boolean: () => z.boolean(),
  date: () => z.union([z.number(), z.string(), z.date()]),
};

/** `{ field: 'number' | 'integer' | 'string' | 'boolean' | 'date', with '?' for optional }` as a zod object; problems go to `bad`. */
export function schemaFromFields(spec: Record<string, unknown>, bad: (path: string, message: string) => void): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [f, t] of Object.entries(spec)) {
    const tt = typeof t === 'string' ? t.replace(/\?$/, '') : '';
    const mk = FIELD_TYPES[tt];
    if (!mk) bad(`schema.${f}`, `unknown type '${String(t)}' (one of ${Object.keys(FIELD_TYPES).join(', ')}, with '?' for optional)`);
    else shape[f] = (t as string).endsWith('?') ? mk().optional() : mk();
  }
  return z.object(shape);
}

function placeholderSource(id: string): Source<unknown> {
  return {
    describe: `input '${id}' (given at run time)`,
    replayable: false,
    // eslint-disable-next-line require-yield
    async *open() {
      throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `source '${id}': the definition has no 'from'; pass one in context.sources['${id}']`);
    },
  };
}

function placeholderSink(id: string): Sink<unknown> {
  return {
    describe: `output '${id}' (given at run time)`,
    write() {
      throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `sink '${id}': the definition has no 'to'; pass one in context.sinks['${id}']`);
    },
  };
}

/** Parses JSON or YAML text (or takes an object) into a graph plus every problem found. */
export function loadDefinition(def: string | object, ctx: DefinitionContext = {}): LoadResult {
  const problems: Problem[] = [];
  let doc: unknown = def;
  if (typeof def === 'string') {
    try {
      doc = def.trimStart().startsWith('{') ? JSON.parse(def) : parseYaml(def);
    } catch (err) {
      return { ok: false, problems: [{ path: '(document)', message: `not valid JSON/YAML: ${(err as Error).message}` }], graph: { name: 'invalid', nodes: [] } };
    }
  }
  if (!isObj(doc)) return { ok: false, problems: [{ path: '(document)', message: 'expected an object with name and nodes' }], graph: { name: 'invalid', nodes: [] } };
  const name = typeof doc.name === 'string' && doc.name ? doc.name : 'pipeline';
  const rawNodes = Array.isArray(doc.nodes) ? doc.nodes : [];
  if (!Array.isArray(doc.nodes)) problems.push({ path: 'nodes', message: 'expected an array of nodes' });
  const nodes: PipelineNode[] = [];
  const ids = new Set<string>();
  const path = (base: string) => (p: string, message: string) => problems.push({ path: `${base}.${p}`, message });
  const resolve = (bad: (p: string, m: string) => void, key: string, v: unknown): Fn | null => {
    if (typeof v !== 'string') {
      bad(key, 'expected the name of a registered function');
      return null;
    }
    const f = ctx.functions?.[v];
    if (typeof f !== 'function') {
      bad(key, `unknown function '${v}' (registered: ${Object.keys(ctx.functions ?? {}).join(', ') || 'none'})`);
      return null;
    }
    return f;
  };
  rawNodes.forEach((raw: unknown, i: number) => {
    const base = `nodes[${i}]`;
    const bad = path(base);
    if (!isObj(raw)) return void problems.push({ path: base, message: 'expected an object' });
    const id = raw.id;
    if (typeof id !== 'string' || !/^[A-Za-z_][\w.-]*$/.test(id)) return void bad('id', `'${String(id)}' is not a valid node id`);
    if (ids.has(id)) return void bad('id', `duplicate id '${id}'`);
    ids.add(id);
    const op = raw.op;
    if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) return void bad('op', `unknown operator '${String(op)}' (one of ${OPERATORS.join(', ')})`);
    const inputs = Array.isArray(raw.inputs) ? raw.inputs : raw.input !== undefined ? [raw.input] : [];
    if (!inputs.every((x: unknown) => typeof x === 'string')) return void bad('inputs', 'expected node ids');
    const common = { id, inputs: inputs as string[] };
    const strings = (key: string, v: unknown): string[] | null => {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string')) {
        bad(key, 'expected a field name or a non-empty list of field names');
        return null;
      }
      return list as string[];
    };
    switch (op) {
      case 'source': {
        let schema: z.ZodType | undefined;
        if (raw.schema !== undefined) {
          if (!isObj(raw.schema)) bad('schema', 'expected { field: type }');
          else schema = schemaFromFields(raw.schema, bad);
        }
        let source = ctx.sources?.[id];
        if (!source && raw.from !== undefined) {
          const from = raw.from;
          const file = (p: unknown) => (typeof p === 'string' ? (ctx.baseDir && !p.startsWith('/') ? `${ctx.baseDir}/${p}` : p) : null);
          if (isObj(from) && file(from.ndjson)) source = fromNdjson(file(from.ndjson)!);
          else if (isObj(from) && file(from.csv)) {
            const f = schema ? fieldsOf(schema) : null;
            const types: Record<string, 'number' | 'boolean' | 'string'> = {};
            for (const [k, t] of Object.entries(f ?? {})) if (t === 'number' || t === 'boolean') types[k] = t;
            source = fromCsv(file(from.csv)!, { types });
          } else if (isObj(from) && Array.isArray(from.array)) source = fromArray(from.array);
          else bad('from', 'expected { ndjson: path }, { csv: path } or { array: [...] }');
        }
        nodes.push({ ...common, op, source: source ?? placeholderSource(id), schema });
        break;
      }
      case 'map':
      case 'filter':
      case 'flatMap': {
        // Column expressions instead of a registered function (checked against the fields by validateGraph).
        if (op === 'map' && raw.fn === undefined && raw.exprs !== undefined) {
          if (!isObj(raw.exprs) || Object.keys(raw.exprs).length === 0) return void bad('exprs', 'expected { column: expression, ... } with at least one column');
          return void nodes.push({ ...common, op: 'mapExpr', exprs: raw.exprs as Record<string, ExprJson> });
        }
        if (op === 'filter' && raw.fn === undefined && raw.expr !== undefined) return void nodes.push({ ...common, op: 'filterExpr', predicate: raw.expr as ExprJson });
        const fn = resolve(bad, 'fn', raw.fn);
        if (!fn) return;
        let outFields = null;
        if (op !== 'filter' && isObj(raw.schema)) outFields = Object.fromEntries(Object.entries(raw.schema).map(([k, t]) => [k, (String(t).replace(/\?$/, '').replace('integer', 'number') as 'number') ?? 'unknown']));
        nodes.push(op === 'filter' ? { ...common, op, fn, fnName: raw.fn as string } : { ...common, op, fn, fnName: raw.fn as string, outFields });
        break;
      }
      case 'branch': {
        const fn = resolve(bad, 'fn', raw.fn);
        const branches = strings('branches', raw.branches);
        if (fn && branches) nodes.push({ ...common, op, fn, fnName: raw.fn as string, branches });
        break;
      }
      case 'aggregate': {
        const key = strings('key', raw.key);
        const w = (raw.window ?? { type: 'global' }) as WindowSpec;
        if (!isObj(w) || !['global', 'tumbling', 'sliding', 'session'].includes(w.type as string)) return void bad('window.type', `unknown window '${String(isObj(w) ? w.type : w)}' (global, tumbling, sliding, session)`);
        const num = (k: string, v: unknown) => {
          if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) bad(`window.${k}`, `expected a positive number of ms, got ${String(v)}`);
        };
        if (w.type === 'tumbling') num('size', w.size);
        if (w.type === 'sliding') (num('size', w.size), num('slide', w.slide));
        if (w.type === 'session') num('gap', w.gap);
        if (!isObj(raw.aggregates) || Object.keys(raw.aggregates).length === 0) return void bad('aggregates', 'expected { name: { kind, field } }');
        const aggregates: Record<string, AggregateSpec> = {};
        for (const [an, a] of Object.entries(raw.aggregates)) {
          if (!isObj(a) || !(AGG_KINDS as readonly unknown[]).includes(a.kind)) {
            bad(`aggregates.${an}.kind`, `unknown aggregate '${String(isObj(a) ? a.kind : a)}' (one of ${AGG_KINDS.join(', ')})`);
            continue;
          }
          aggregates[an] = { kind: a.kind as AggregateSpec['kind'], ...(typeof a.field === 'string' ? { field: a.field } : {}), ...(typeof a.q === 'number' ? { q: a.q } : {}) };
        }
        const late = raw.latePolicy;
        if (late !== undefined && late !== 'deadLetter' && late !== 'update') bad('latePolicy', `expected 'deadLetter' or 'update', got '${String(late)}'`);
        const options =
          typeof raw.time === 'string'
            ? {
                time: raw.time,
                maxOutOfOrderness: typeof raw.maxOutOfOrderness === 'number' ? raw.maxOutOfOrderness : 0,
                allowedLateness: typeof raw.allowedLateness === 'number' ? raw.allowedLateness : 0,
                latePolicy: (late as 'update') ?? 'deadLetter',
              }
            : null;
        if (key) nodes.push({ ...common, op, key, window: w, options, aggregates });
        break;
      }
      case 'join': {
        const kind = raw.kind ?? 'inner';
        if (kind !== 'inner' && kind !== 'left' && kind !== 'anti') return void bad('kind', `'${String(kind)}' is not inner, left or anti`);
        const on = typeof raw.on === 'string' ? [raw.on, raw.on] : Array.isArray(raw.on) && raw.on.length === 2 ? raw.on : null;
        if (!on) return void bad('on', 'expected a field name or [leftField, rightField]');
        nodes.push({ ...common, op, kind, on: on as [string, string] });
        break;
      }
      case 'intervalJoin': {
        const on = typeof raw.on === 'string' ? [raw.on, raw.on] : raw.on;
        const time = typeof raw.time === 'string' ? [raw.time, raw.time] : raw.time;
        const between = raw.between;
        if (!Array.isArray(on) || on.length !== 2) return void bad('on', 'expected a field name or [leftField, rightField]');
        if (!Array.isArray(time) || time.length !== 2) return void bad('time', 'expected a field name or [leftField, rightField]');
        if (!Array.isArray(between) || between.length !== 2 || !between.every((b) => typeof b === 'number')) return void bad('between', 'expected [lowerMs, upperMs]');
        nodes.push({ ...common, op, on: on as [string, string], time: time as [string, string], between: between as [number, number], maxOutOfOrderness: typeof raw.maxOutOfOrderness === 'number' ? raw.maxOutOfOrderness : 0 });
        break;
      }
      case 'lookup': {
        const table = typeof raw.table === 'string' ? ctx.tables?.[raw.table] : undefined;
        if (!table) return void bad('table', `unknown table '${String(raw.table)}' (given: ${Object.keys(ctx.tables ?? {}).join(', ') || 'none'})`);
        if (typeof raw.on !== 'string' || typeof raw.as !== 'string') return void bad('on', 'lookup needs on and as field names');
        nodes.push({ ...common, op, table, on: raw.on, as: raw.as, tableName: raw.table as string });
        break;
      }
      case 'dedupe': {
        const key = strings('key', raw.key);
        if (key) nodes.push({ ...common, op, key });
        break;
      }
      case 'sort': {
        const by = strings('by', raw.by);
        if (by) nodes.push({ ...common, op, by: by.map((b) => (b.startsWith('-') ? { field: b.slice(1), desc: true } : { field: b, desc: false })) });
        break;
      }
      case 'union':
        nodes.push({ ...common, op });
        break;
      case 'sink': {
        let sink = ctx.sinks?.[id];
        if (!sink && raw.to !== undefined) {
          const to = raw.to;
          if (isObj(to) && typeof to.ndjson === 'string') sink = toNdjson(ctx.baseDir && !to.ndjson.startsWith('/') ? `${ctx.baseDir}/${to.ndjson}` : to.ndjson);
          else bad('to', 'expected { ndjson: path }');
        }
        nodes.push({ ...common, op, sink: sink ?? placeholderSink(id) });
        break;
      }
    }
  });
  const graph: PipelineGraph = { name, nodes };
  if (problems.length === 0) problems.push(...validateGraph(graph).problems);
  return { ok: problems.length === 0, problems, graph };
}

/** `loadDefinition` that throws `ERR_OMNI_PIPELINE_INVALID` listing every problem. */
export function loadPipeline(def: string | object, ctx: DefinitionContext = {}): PipelineGraph {
  const r = loadDefinition(def, ctx);
  if (!r.ok) {
    throw new OmniError('ERR_OMNI_PIPELINE_INVALID', `pipeline definition is invalid: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
      fields: { problems: JSON.stringify(r.problems) },
    });
  }
  return r.graph;
}
