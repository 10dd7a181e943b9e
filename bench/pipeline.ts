/**
 * Pipeline benchmark, peers in the same run:
 * - map -> filter -> keyed tumbling-window aggregate (count, sum) over N events:
 *   omnitide columnar mode (typed columns, native windows), omnitide row mode,
 *   RxJS and Node streams (object at a time) on the same pipeline;
 *   p95 per-chunk latency of the columnar stream mode (chunk in -> its closed windows out).
 * - batch group-by (count, sum, mean) and hash join on M rows: omnitide vs Arquero and DuckDB
 *   (@duckdb/node-api; data loaded before timing, as ours and Arquero's are prebuilt columns).
 * Sizes: BENCH_PIPELINE_N (default 10M), BENCH_PIPELINE_ROWS_N (row mode and the object-at-a-time peers, default N),
 * BENCH_PIPELINE_M (default 2M). Saves bench/results/pipeline.json.
 */
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ColumnBatch, Pipeline, fromColumns, fromIterable, toArray, type Sink } from '../ts/pipeline/index.js';
import { save, timeOnce } from './harness.js';

const N = Number(process.env.BENCH_PIPELINE_N ?? 10_000_000);
const NR = Math.min(N, Number(process.env.BENCH_PIPELINE_ROWS_N ?? N));
const M = Number(process.env.BENCH_PIPELINE_M ?? 2_000_000);
const USERS = 1000;
const WINDOW = 1000;

// Event i: time 0.1 ms apart (10 events per ms), user and amount from i.
const tsOf = (i: number) => i * 0.1;
const userOf = (i: number) => (i * 7919) % USERS;
const amountOf = (i: number) => (i % 997) / 10;

interface Ev {
  ts: number;
  user: number;
  amount: number;
}
function* gen(n: number): Generator<Ev> {
  for (let i = 0; i < n; i++) yield { ts: tsOf(i), user: userOf(i), amount: amountOf(i) };
}

/** Reference/peer aggregation: windows per (user, start), count and sum. */
function aggInto(map: Map<number, { n: number; s: number }>, e: Ev) {
  const k = Math.floor(e.ts / WINDOW) * USERS + e.user;
  const g = map.get(k);
  if (g) {
    g.n++;
    g.s += e.amount;
  } else map.set(k, { n: 1, s: e.amount });
}

const results: Record<string, unknown> = {};
const line = (name: string, n: number, s: number) => {
  console.log(`${name.padEnd(34)} ${(n / s / 1e6).toFixed(2).padStart(8)} M events/s  (${s.toFixed(2)} s)`);
  return n / s;
};

async function columnar(): Promise<{ perSec: number; windows: number; p95ms: number }> {
  const cols = { ts: new Float64Array(N), user: new Uint32Array(N), amount: new Float64Array(N) };
  for (let i = 0; i < N; i++) {
    cols.ts[i] = tsOf(i);
    cols.user[i] = userOf(i);
    cols.amount[i] = amountOf(i);
  }
  const schema = z.object({ ts: z.number(), user: z.number(), amount: z.number() });
  const src = fromColumns(cols);
  // Latency: time from a chunk leaving the source to its closed windows reaching the sink.
  let chunkStart = 0;
  const lat: number[] = [];
  const timed = {
    ...src,
    async *open(skip: number, bs: number) {
      for await (const c of src.open(skip, bs)) {
        chunkStart = performance.now();
        yield c;
      }
    },
  };
  let windows = 0;
  const sink: Sink<unknown> = {
    describe: 'count',
    write(b) {
      windows += b.length;
      lat.push(performance.now() - chunkStart);
    },
  };
  const p = new Pipeline('bench-columnar');
  p.source('events', schema, timed)
    .mapColumns((b) => {
      const a = b.columns.amount as Float64Array;
      const out = new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) out[i] = a[i] * 1.1;
      return new ColumnBatch(b.length, { ...b.columns, amount: out });
    }, { schema })
    .filterColumns((b) => {
      const a = b.columns.amount as Float64Array;
      const m = new Uint8Array(a.length);
      for (let i = 0; i < a.length; i++) m[i] = a[i] > 5 ? 1 : 0;
      return m;
    })
    .keyBy('user')
    .window({ type: 'tumbling', size: WINDOW }, { time: 'ts' })
    .aggregate((a) => ({ n: a.count(), total: a.sum('amount') }))
    .to(sink);
  const s = await timeOnce(() => p.run({ mode: 'stream', batchSize: 16384 }));
  lat.sort((a, b) => a - b);
  return { perSec: line(`omnitide columnar (N=${N})`, N, s), windows, p95ms: lat[Math.floor(lat.length * 0.95)] ?? NaN };
}

async function rows(): Promise<number> {
  const p = new Pipeline('bench-rows');
  const out = toArray();
  p.source('events', z.object({ ts: z.number(), user: z.number(), amount: z.number() }), fromIterable(() => gen(NR)))
    .map((e) => ({ ...e, amount: e.amount * 1.1 }))
    .filter((e) => e.amount > 5)
    .keyBy('user')
    .window({ type: 'tumbling', size: WINDOW }, { time: 'ts' })
    .aggregate((a) => ({ n: a.count(), total: a.sum('amount') }))
    .to(out);
  const s = await timeOnce(() => p.run({ mode: 'stream', batchSize: 8192 }));
  return line(`omnitide rows + zod (N=${NR})`, NR, s);
}

async function rx(): Promise<number> {
  const { from, map, filter, reduce, lastValueFrom } = await import('rxjs');
  const s = await timeOnce(() =>
    lastValueFrom(
      from(gen(NR)).pipe(
        map((e) => ({ ...e, amount: e.amount * 1.1 })),
        filter((e) => e.amount > 5),
        reduce((m, e) => (aggInto(m, e), m), new Map<number, { n: number; s: number }>()),
      ),
    ),
  );
  return line(`RxJS (N=${NR})`, NR, s);
}

async function nodeStreams(): Promise<number> {
  const m = new Map<number, { n: number; s: number }>();
  const s = await timeOnce(() =>
    streamPipeline(
      Readable.from(gen(NR)),
      new Transform({ objectMode: true, transform: (e: Ev, _x, cb) => cb(null, { ...e, amount: e.amount * 1.1 }) }),
      new Transform({ objectMode: true, transform: (e: Ev, _x, cb) => (e.amount > 5 ? cb(null, e) : cb()) }),
      new Writable({ objectMode: true, write: (e: Ev, _x, cb) => (aggInto(m, e), cb()) }),
    ),
  );
  return line(`Node streams (N=${NR})`, NR, s);
}

async function batchTables() {
  const user = new Uint32Array(M);
  const amount = new Float64Array(M);
  for (let i = 0; i < M; i++) {
    user[i] = userOf(i);
    amount[i] = amountOf(i);
  }
  const dims = Array.from({ length: USERS }, (_, u) => ({ user: u, region: u % 5 }));
  const out: Record<string, number> = {};

  // Group-by.
  const p = new Pipeline('bench-groupby');
  const g = toArray();
  p.source('t', z.object({ user: z.number(), amount: z.number() }), fromColumns({ user, amount }))
    .keyBy('user')
    .aggregate((a) => ({ n: a.count(), s: a.sum('amount'), m: a.mean('amount') }))
    .to(g);
  out.groupbyOmni = line(`group-by omnitide (M=${M})`, M, await timeOnce(() => p.run({ mode: 'batch', batchSize: 65536 })));

  const aq = await import('arquero');
  const at = aq.table({ user, amount });
  out.groupbyArquero = line('group-by Arquero', M, await timeOnce(() => at.groupby('user').rollup({ n: aq.op.count(), s: aq.op.sum('amount'), m: aq.op.mean('amount') }).numRows()));

  // Hash join: every row against a 1000-row dimension table, materialised.
  const leftRows = Array.from({ length: M }, (_, i) => ({ user: user[i], amount: amount[i] }));
  const j = new Pipeline('bench-join');
  let joined = 0;
  const L = j.source('l', z.object({ user: z.number(), amount: z.number() }), fromColumns({ user, amount }));
  const R = j.source('r', z.object({ user: z.number(), region: z.number() }), fromIterable(dims));
  // A columnar sink: the joined table stays columns, as Arquero's result and DuckDB's table do.
  L.join(R, { left: 'user', right: 'user' }, 'inner').to({ describe: 'count', columnar: true, write: (b) => void (joined += (b as unknown as ColumnBatch).length) });
  out.joinOmni = line(`hash join omnitide (M=${M})`, M, await timeOnce(() => j.run({ mode: 'batch', batchSize: 65536 })));
  const ad = aq.from(dims);
  const al = aq.from(leftRows);
  out.joinArquero = line('hash join Arquero', M, await timeOnce(() => al.join(ad, 'user').numRows()));
  if (joined !== M) throw new Error(`join produced ${joined} rows, expected ${M}`);

  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(`CREATE TABLE t AS SELECT ((i * 7919) % ${USERS})::UINTEGER AS "user", (i % 997) / 10.0 AS amount FROM range(${M}) r(i)`);
    await c.run(`CREATE TABLE d AS SELECT i::UINTEGER AS "user", (i % 5)::INTEGER AS region FROM range(${USERS}) r(i)`);
    out.groupbyDuckdb = line('group-by DuckDB', M, await timeOnce(() => c.runAndReadAll('SELECT "user", count(*), sum(amount), avg(amount) FROM t GROUP BY "user"')));
    out.joinDuckdb = line('hash join DuckDB (materialised)', M, await timeOnce(() => c.run('CREATE OR REPLACE TEMP TABLE j AS SELECT * FROM t JOIN d USING ("user")')));
    const threads = await c.runAndReadAll("SELECT current_setting('threads')");
    out.duckdbThreads = Number(threads.getRows()[0][0]);
  } catch (err) {
    console.log(`DuckDB unavailable: ${(err as Error).message}`);
  }
  return out;
}

async function main() {
  const col = await columnar();
  const rowMode = await rows();
  const rxjs = await rx();
  const ns = await nodeStreams();
  console.log(`p95 per-chunk latency (columnar stream mode, 16384-event chunks): ${col.p95ms.toFixed(2)} ms; ${col.windows} windows`);
  const t = await batchTables();
  const ratios = {
    columnarVsRxjs: col.perSec / rxjs,
    columnarVsNodeStreams: col.perSec / ns,
    rowsVsRxjs: rowMode / rxjs,
    groupbyVsArquero: t.groupbyOmni / t.groupbyArquero,
    groupbyVsDuckdb: t.groupbyDuckdb ? t.groupbyOmni / t.groupbyDuckdb : null,
    joinVsArquero: t.joinOmni / t.joinArquero,
    joinVsDuckdb: t.joinDuckdb ? t.joinOmni / t.joinDuckdb : null,
  };
  console.log('ratios', ratios);
  save('pipeline', {
    n: N,
    rowsN: NR,
    m: M,
    eventsPerSec: { columnar: col.perSec, rows: rowMode, rxjs, nodeStreams: ns },
    p95ChunkLatencyMs: col.p95ms,
    batch: t,
    ratios,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
