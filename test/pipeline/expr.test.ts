/**
 * Column expressions (`col('amount').mul(1.1)`): the native evaluation
 * against a plain JavaScript reference on random data, the fused
 * map/filter/window path against the unfused one (bit for bit, stats and
 * dead letters included), batch against stream mode, and bad input.
 */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ColumnBatch, Pipeline, col, lit, and, or, not, fromColumns, fromArray, toArray, loadDefinition, run, OmniError, type ExprJson, type Expr } from '../../ts/pipeline/index.js';
import { native } from '../../ts/native.js';
import { exactLiterals } from '../../ts/pipeline/expr-ops.js';
import { rng } from './data.js';

type Row = Record<string, number>;

/** The reference: the expression evaluated row by row with JavaScript's operators. */
function evalRef(e: ExprJson, r: Row): number | boolean {
  if (typeof e === 'number' || typeof e === 'boolean') return e;
  if (typeof e === 'string') return r[e];
  const [op, raw] = Object.entries(e)[0];
  if (op === 'col') return r[raw as string];
  if (op === 'lit') return raw as number;
  const a = (Array.isArray(raw) ? raw : [raw]).map((x) => evalRef(x as ExprJson, r)) as [number, number];
  switch (op) {
    case 'add': return a[0] + a[1];
    case 'sub': return a[0] - a[1];
    case 'mul': return a[0] * a[1];
    case 'div': return a[0] / a[1];
    case 'min': return Math.min(a[0], a[1]);
    case 'max': return Math.max(a[0], a[1]);
    case 'neg': return -a[0];
    case 'abs': return Math.abs(a[0]);
    case 'gt': return a[0] > a[1];
    case 'ge': return a[0] >= a[1];
    case 'lt': return a[0] < a[1];
    case 'le': return a[0] <= a[1];
    case 'eq': return a[0] === a[1];
    case 'ne': return a[0] !== a[1];
    case 'and': return Boolean(a[0]) && Boolean(a[1]);
    case 'or': return Boolean(a[0]) || Boolean(a[1]);
    case 'not': return !a[0];
  }
  throw new Error(`no reference for ${op}`);
}

/** A random expression of the given type over columns a, b (Float64) and u (Uint32). */
function randomExpr(r: () => number, type: 'number' | 'boolean', depth: number): Expr {
  const pick = <T,>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  if (type === 'boolean') {
    const k = depth <= 0 ? 0 : Math.floor(r() * 4);
    const x = () => randomExpr(r, 'number', depth - 1) as Expr<'number'>;
    const p = () => randomExpr(r, 'boolean', depth - 1) as Expr<'boolean'>;
    if (k === 0) return (x() as Expr<'number'>)[pick(['gt', 'ge', 'lt', 'le', 'eq', 'ne'] as const)](depth <= 0 ? pick([0, 5, -1]) : x());
    if (k === 1) return p().and(p());
    if (k === 2) return p().or(p());
    return p().not();
  }
  if (depth <= 0 || r() < 0.25) return r() < 0.75 ? col(pick(['a', 'b', 'u'])) : lit(pick([0, -0, 1.1, -2.5, 3, 1e308, 0.1 + 0.2]));
  const x = () => randomExpr(r, 'number', depth - 1) as Expr<'number'>;
  const op = pick(['add', 'sub', 'mul', 'div', 'min', 'max', 'neg', 'abs'] as const);
  return op === 'neg' || op === 'abs' ? x()[op]() : x()[op](x());
}

/** Float64 columns with NaN, ±0, ±Infinity and negatives mixed in; a Uint32 column with 0 and 2^32 - 1. */
function randomColumns(r: () => number, n: number) {
  const special = [NaN, 0, -0, Infinity, -Infinity, 5, -5, 1e-310];
  const num = () => (r() < 0.2 ? special[Math.floor(r() * special.length)] : Math.round((r() - 0.5) * 2000) / 100);
  return {
    a: Float64Array.from({ length: n }, num),
    b: Float64Array.from({ length: n }, num),
    u: Uint32Array.from({ length: n }, () => (r() < 0.05 ? 2 ** 32 - 1 : Math.floor(r() * 20))),
  };
}

function same(actual: ArrayLike<number>, expected: ArrayLike<number>) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) expect([i, actual[i]]).toEqual([i, expected[i]]);
}

describe('column expressions evaluated natively', () => {
  it('match a row-at-a-time JavaScript reference on random expressions and data (NaN, ±0, ±Infinity, empty batches)', () => {
    const r = rng(16);
    for (let t = 0; t < 60; t++) {
      const n = [0, 1, 1023, 1025, 3000][t % 5];
      const cols = randomColumns(r, n);
      const m = randomExpr(r, 'number', 3);
      const p = randomExpr(r, 'boolean', 3);
      const spec = { inputs: [['a', 'f64'], ['b', 'f64'], ['u', 'u32']], stages: [{ map: { m: exactLiterals(m.json) } }, { filter: exactLiterals(p.json) }] };
      const prog = new native.PipelineColumnProgram(JSON.stringify(spec));
      const s = prog.run([cols.a, cols.b], [cols.u], n);
      const sel: number[] = [];
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const row: Row = { a: cols.a[i], b: cols.b[i], u: cols.u[i] };
        row.m = evalRef(m.json, row) as number;
        if (evalRef(p.json, row)) {
          sel.push(i);
          ms.push(row.m);
        }
      }
      expect(prog.computed).toEqual(['m']);
      same(s.sel, sel);
      same(s.columns[0], ms);
      expect(Array.from(s.kept)).toEqual([sel.length]);
    }
  });

  it('mapColumns/filterColumns in a pipeline equal the row reference, batch and stream, across batch sizes', async () => {
    const r = rng(3);
    const n = 5000;
    const cols = { a: Float64Array.from({ length: n }, () => Math.round((r() - 0.5) * 4000) / 100), b: Float64Array.from({ length: n }, () => (r() < 0.1 ? 0 : r() * 10)), u: Uint32Array.from({ length: n }, () => Math.floor(r() * 7)) };
    const want: Row[] = [];
    for (let i = 0; i < n; i++) {
      const a = cols.a[i];
      const b = cols.b[i];
      const u = cols.u[i];
      // q is NaN where b = 0 (0 / 0), else ±0.
      const row = { a: a * 1.1, b, u, q: (a * 0 + b * 0) / b };
      if ((row.a > 5 || row.u === 3) && !(row.q !== row.q)) want.push({ ...row, x: -row.a + Math.abs(row.q) });
    }
    const schema = z.object({ a: z.number(), b: z.number(), u: z.number() });
    for (const mode of ['batch', 'stream'] as const) {
      for (const batchSize of [1, 700, 4096]) {
        const out = toArray<Row>();
        const p = new Pipeline('exprs');
        p.source('s', schema, fromColumns(cols))
          .mapColumns({ a: col('a').mul(1.1), q: col('a').mul(0).add(col('b').mul(0)).div(col('b')) })
          .filterColumns(or(col('a').gt(5), col('u').eq(3)).and(not(col('q').ne(col('q')))))
          .mapColumns({ x: col('a').neg().add(col('q').abs()) })
          .to(out as never);
        const res = await p.run({ mode, batchSize: batchSize === 1 ? 1 : batchSize });
        expect(out.records.length).toBe(want.length);
        out.records.forEach((row, i) => {
          for (const k of ['a', 'b', 'u', 'q', 'x']) expect(Object.is(row[k], want[i][k])).toBe(true);
        });
        expect(res.stats[p.graph.nodes[2].id]).toEqual({ in: n, out: want.length });
        if (batchSize === 1) break; // one-row batches: one size is enough
      }
    }
  });

  it('keeps Uint32 columns typed and replaces only the assigned ones', async () => {
    const out: ColumnBatch[] = [];
    const p = new Pipeline('types');
    p.source('s', z.object({ u: z.number(), v: z.number() }), fromColumns({ u: Uint32Array.of(1, 2, 3), v: Float64Array.of(1, 2, 3) }))
      .mapColumns({ w: col('u').mul(2) })
      .filterColumns(col('v').ne(2))
      .to({ describe: 'cols', columnar: true, write: (b) => void out.push(b as unknown as ColumnBatch) });
    await p.run();
    expect(Object.keys(out[0].columns)).toEqual(['u', 'v', 'w']);
    expect(out[0].columns.u).toBeInstanceOf(Uint32Array);
    expect(Array.from(out[0].columns.u as Uint32Array)).toEqual([1, 3]);
    expect(Array.from(out[0].columns.w as Float64Array)).toEqual([2, 6]);
  });
});

/** map -> filter -> keyed tumbling window, with the given stage style; results as rows plus stats and dead letters. */
async function windowed(cols: { ts: Float64Array; user: Uint32Array; amount: Float64Array }, style: 'exprs' | 'unfused' | 'js', mode: 'batch' | 'stream', batchSize = 997) {
  const schema = z.object({ ts: z.number(), user: z.number(), amount: z.number() });
  const out = toArray<Row>();
  const p = new Pipeline('w');
  const src = p.source('events', schema, fromColumns(cols));
  const filtered =
    style === 'js'
      ? src
          .mapColumns((b) => new ColumnBatch(b.length, { ...b.columns, amount: (b.columns.amount as Float64Array).map((a) => a * 1.1), v: (b.columns.amount as Float64Array).map((a) => Math.abs(a - 20)) }), { name: 'm', schema: schema.extend({ v: z.number() }) })
          .filterColumns((b) => (b.columns.amount as Float64Array).map((a) => (a > 5 ? 1 : 0)), { name: 'f' })
      : src.mapColumns({ amount: col('amount').mul(1.1), v: col('amount').sub(20).abs() }, { name: 'm' }).filterColumns(col('amount').gt(5), { name: 'f' });
  filtered
    .keyBy('user')
    .window({ type: 'tumbling', size: 50 }, { time: 'ts', maxOutOfOrderness: 5 })
    .aggregate((a) => ({ n: a.count(), s: a.sum('amount'), lo: a.min('v'), hi: a.max('amount'), m: a.mean('v'), var: a.variance('amount') }), { name: 'agg' })
    .to(out as never, { name: 'out' });
  const res = await p.run({ mode, batchSize, fuse: style === 'exprs' });
  return { rows: out.records, stats: res.stats, dead: res.deadLetters };
}

function windowData(n: number, seed: number) {
  const r = rng(seed);
  const ts = Float64Array.from({ length: n }, (_, i) => i * 0.5 + Math.floor(r() * 8));
  // A few events far behind the watermark (late) and one negative time (absurd).
  for (let i = 500; i < n; i += 733) ts[i] = Math.max(0, ts[i] - 200);
  ts[123] = -1;
  return { ts, user: Uint32Array.from({ length: n }, () => Math.floor(r() * 30)), amount: Float64Array.from({ length: n }, () => Math.round(r() * 4000) / 100) };
}

describe('fused map/filter/window aggregate', () => {
  it('equals the unfused chain and the JS-callback chain bit for bit, with the same stats and dead letters', async () => {
    const cols = windowData(20_000, 5);
    // The fused path really runs (one native call per batch), and only for the expression chain.
    const pushProgram = vi.spyOn(native.PipelineWindow.prototype, 'pushProgram');
    for (const mode of ['stream', 'batch'] as const) {
      pushProgram.mockClear();
      const fused = await windowed(cols, 'exprs', mode);
      expect(pushProgram).toHaveBeenCalledTimes(Math.ceil(20_000 / 997));
      pushProgram.mockClear();
      const unfused = await windowed(cols, 'unfused', mode);
      const js = await windowed(cols, 'js', mode);
      expect(pushProgram).not.toHaveBeenCalled();
      expect(fused.rows.length).toBeGreaterThan(100);
      for (const other of [unfused, js]) {
        expect(other.rows.length).toBe(fused.rows.length);
        fused.rows.forEach((row, i) => {
          for (const k of Object.keys(row)) expect(Object.is(row[k], other.rows[i][k])).toBe(true);
        });
        expect(other.stats).toEqual(fused.stats);
        expect(other.dead).toEqual(fused.dead);
      }
      if (mode === 'stream') expect(fused.dead.some((d) => d.reason.startsWith('late'))).toBe(true);
      expect(fused.dead.some((d) => d.reason.includes('missing or absurd'))).toBe(true);
      // The dead letter shows the record as the chain made it (amount x 1.1, v computed).
      const bad = fused.dead.find((d) => d.reason.includes('missing or absurd'))!.record as Row;
      expect(bad.ts).toBe(-1);
      expect(Object.is(bad.amount, cols.amount[123] * 1.1)).toBe(true);
      expect(bad.v).toBe(Math.abs(cols.amount[123] - 20));
    }
  });

  it('gives the same windows in batch and stream mode on bounded in-order input, whatever the batch size', async () => {
    const r = rng(9);
    const n = 30_000;
    const cols = { ts: Float64Array.from({ length: n }, (_, i) => i * 0.25), user: Uint32Array.from({ length: n }, () => Math.floor(r() * 100)), amount: Float64Array.from({ length: n }, () => r() * 10) };
    const a = await windowed(cols, 'exprs', 'batch', 4096);
    const b = await windowed(cols, 'exprs', 'stream', 1000);
    const key = (x: Row) => `${x.windowStart}/${x.user}`;
    const sort = (rows: Row[]) => [...rows].sort((x, y) => (key(x) < key(y) ? -1 : 1));
    expect(sort(b.rows)).toEqual(sort(a.rows));
    expect(a.dead).toEqual([]);
  });

  it('reports fused stages in the stats as if they ran one by one', async () => {
    const { stats } = await windowed(windowData(3000, 2), 'exprs', 'stream');
    // The source passes every row (ts -1 is finite; the window dead-letters it).
    expect(stats.m).toEqual({ in: 3000, out: 3000 });
    expect(stats.f.in).toBe(3000);
    expect(stats.agg.in).toBe(stats.f.out);
    expect(stats.f.out).toBeLessThan(3000);
  });

  it('falls back to the unfused path for keys that are not typed numbers, with the same results', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => ({ ts: i, user: `u${i % 7}`, amount: i % 13 }));
    const run = async (fuse: boolean) => {
      const out = toArray<Row>();
      const p = new Pipeline('strings');
      p.source('s', z.object({ ts: z.number(), user: z.string(), amount: z.number() }), fromArray(rows))
        .mapColumns({ amount: col('amount').mul(2) })
        .filterColumns(col('amount').ge(4))
        .keyBy('user')
        .window({ type: 'tumbling', size: 100 }, { time: 'ts' })
        .aggregate((a) => ({ s: a.sum('amount') }))
        .to(out as never);
      await p.run({ fuse });
      return out.records;
    };
    const fused = await run(true);
    expect(fused.length).toBe(28);
    expect(fused).toEqual(await run(false));
  });
});

describe('column expressions: bad input', () => {
  const schema = z.object({ ts: z.number(), user: z.string(), amount: z.number() });
  const p = () => new Pipeline('bad').source('s', schema, fromArray([{ ts: 1, user: 'a', amount: 2 }]));
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(OmniError);
      return `${(err as OmniError).code} ${(err as OmniError).message}`;
    }
    throw new Error('did not throw');
  };

  it('the builder rejects type mismatches and non-finite literals, naming the argument', () => {
    expect(code(() => p().filterColumns(col('amount').mul(2) as never))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT pred: type mismatch/);
    expect(code(() => p().mapColumns({ x: col('amount').gt(2) as never }))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT exprs\.x: type mismatch/);
    expect(code(() => lit(NaN))).toMatch(/value: expected an expression or a finite number, got NaN/);
    expect(code(() => col('amount').mul(Infinity))).toMatch(/other: expected an expression or a finite number/);
    expect(code(() => col('amount').gt(5).and(3 as never))).toMatch(/other: expected a boolean or a boolean expression/);
    expect(code(() => col(''))).toMatch(/name: expected a column name/);
    expect(code(() => p().mapColumns({}))).toMatch(/exprs: expected a function or/);
    expect(and().json).toBe(true);
    expect(or().json).toBe(false);
  });

  it('validation names the node and argument path: unknown column, string column, a number as predicate', () => {
    const a = p().filterColumns(col('amt').gt(5), { name: 'f1' });
    a.mapColumns({ y: col('user').add(1) }, { name: 'm1' });
    const report = a.pipeline.validate();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { path: 'nodes.f1.predicate.gt[0]', message: "unknown column 'amt' (columns: ts, user, amount)" },
        { path: 'nodes.m1.exprs.y.add[0]', message: "type mismatch: column 'user' is string, expressions read number columns" },
      ]),
    );
  });

  it('a column the batch does not have (fields unknown until run time) fails the run naming the node', async () => {
    const q = new Pipeline('late-bad');
    q.source('s', z.object({ a: z.number() }), fromColumns({ a: Float64Array.of(1, 2) }))
      .map((r) => r) // fields unknown after a map without a schema
      .filterColumns(col('nope').gt(1), { name: 'f' })
      .to(toArray() as never);
    const err = await q.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmniError);
    expect((err as OmniError).code).toBe('ERR_OMNI_PIPELINE_STAGE');
    expect((err as OmniError).message).toMatch(/stage 'f' .*nodes\.f\.predicate\.gt\[0\]: unknown column 'nope' \(columns: a\)/);
  });

  it('JSON/YAML definitions take expressions (exprs / expr) and report bad ones with their path', async () => {
    const def = {
      name: 'yaml-exprs',
      nodes: [
        { id: 'src', op: 'source', schema: { ts: 'number', user: 'number', amount: 'number' } },
        { id: 'taxed', op: 'map', input: 'src', exprs: { amount: { mul: ['amount', 1.1] } } },
        { id: 'big', op: 'filter', input: 'taxed', expr: { gt: ['amount', 5] } },
        { id: 'agg', op: 'aggregate', input: 'big', key: 'user', window: { type: 'tumbling', size: 10 }, time: 'ts', aggregates: { n: { kind: 'count' }, s: { kind: 'sum', field: 'amount' } } },
        { id: 'out', op: 'sink', input: 'agg' },
      ],
    };
    const out = toArray<Row>();
    const events = Array.from({ length: 100 }, (_, i) => ({ ts: i, user: i % 3, amount: i % 10 }));
    const loaded = loadDefinition(def, { sources: { src: fromArray(events) }, sinks: { out: out as never } });
    expect(loaded.problems).toEqual([]);
    await run(loaded.graph);
    const want = new Map<string, { n: number; s: number }>();
    for (const e of events) {
      const a = e.amount * 1.1;
      if (!(a > 5)) continue;
      const k = `${Math.floor(e.ts / 10) * 10}/${e.user}`;
      const g = want.get(k) ?? { n: 0, s: 0 };
      g.n++;
      g.s += a;
      want.set(k, g);
    }
    expect(out.records.length).toBe(want.size);
    for (const r of out.records) expect({ n: r.n, s: r.s }).toEqual(want.get(`${r.windowStart}/${r.user}`));

    const bad = loadDefinition({ ...def, nodes: [def.nodes[0], { id: 'f', op: 'filter', input: 'src', expr: { pow: ['amount', 2] } }, { id: 'o', op: 'sink', input: 'f' }] }, { sinks: { o: toArray() as never } });
    expect(bad.ok).toBe(false);
    expect(bad.problems.map((x) => `${x.path}: ${x.message}`).join('\n')).toMatch(/nodes\.f\.predicate: unknown operator 'pow'/);
  });
});

describe('fused path and checkpoints', () => {
  it('a stream stopped mid-way resumes from its checkpoint with the totals of an uninterrupted run', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'omni-expr-ck-'));
    try {
      const n = 40_000;
      const cols = { ts: Float64Array.from({ length: n }, (_, i) => i), user: Uint32Array.from({ length: n }, (_, i) => (i * 7) % 11), amount: Float64Array.from({ length: n }, (_, i) => (i % 97) / 10) };
      // An idempotent sink: one entry per (window, user), the last write wins.
      const build = (into: Map<string, number>, stopAfter = Infinity, ctl?: AbortController) => {
        const p = new Pipeline('ck-exprs');
        let writes = 0;
        p.source('s', z.object({ ts: z.number(), user: z.number(), amount: z.number() }), fromColumns(cols))
          .mapColumns({ amount: col('amount').mul(1.1) }, { name: 'm' })
          .filterColumns(col('amount').gt(5), { name: 'f' })
          .keyBy('user')
          .window({ type: 'tumbling', size: 1000 }, { time: 'ts' })
          .aggregate((a) => ({ s: a.sum('amount') }), { name: 'agg' })
          .to({
            describe: 'keyed',
            write(rows: Row[]) {
              for (const r of rows) into.set(`${r.windowStart}/${r.user}`, r.s);
              if (++writes >= stopAfter) ctl?.abort();
            },
          } as never, { name: 'out' });
        return p;
      };
      const whole = new Map<string, number>();
      await build(whole).run({ batchSize: 1000 });
      const path = join(dir, 'ck.json');
      const resumed = new Map<string, number>();
      const ctl = new AbortController();
      const err = await build(resumed, 10, ctl)
        .run({ batchSize: 1000, checkpoint: { path }, signal: ctl.signal })
        .catch((e: unknown) => e);
      expect((err as OmniError).code).toBe('ERR_OMNI_ABORTED');
      const r = await build(resumed).run({ batchSize: 1000, checkpoint: { path } });
      expect(r.resumedFrom).toBeGreaterThan(0);
      expect(resumed).toEqual(whole);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
