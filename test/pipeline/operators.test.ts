/**
 * Every operator against a straightforward reference implementation on
 * generated data; batch and stream mode agree on bounded input.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ColumnBatch, Pipeline, fromArray, fromColumns, toArray, type DeadLetter, type Stream, type WindowSpec } from '../../ts/pipeline/index.js';
import { byKey, events, type Event } from './data.js';

const EventSchema = z.object({ ts: z.number(), user: z.string(), amount: z.number(), kind: z.enum(['buy', 'view']) });

function sum(xs: number[]) {
  return xs.reduce((a, b) => a + b, 0);
}

/** Reference keyed window aggregate: group by (user, window start) over all records. */
function referenceWindows(rows: Event[], starts: (t: number) => number[], size: number) {
  const groups = new Map<string, { user: string; windowStart: number; xs: number[] }>();
  for (const r of rows) {
    for (const s of starts(r.ts)) {
      const k = `${r.user}|${s}`;
      if (!groups.has(k)) groups.set(k, { user: r.user, windowStart: s, xs: [] });
      groups.get(k)!.xs.push(r.amount);
    }
  }
  return byKey(
    [...groups.values()].map((g) => {
      const mean = sum(g.xs) / g.xs.length;
      return {
        user: g.user,
        windowStart: g.windowStart,
        windowEnd: g.windowStart + size,
        n: g.xs.length,
        total: sum(g.xs),
        lo: Math.min(...g.xs),
        hi: Math.max(...g.xs),
        avg: mean,
        var: g.xs.length > 1 ? sum(g.xs.map((x) => (x - mean) ** 2)) / (g.xs.length - 1) : NaN,
      };
    }),
    (r) => `${r.user}|${String(r.windowStart).padStart(16, '0')}`,
  );
}

type Row = Record<string, number | string>;
function expectRowsClose(got: Row[], want: Row[], fields: string[]) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    for (const f of fields) {
      const g = got[i][f];
      const w = want[i][f];
      if (typeof w === 'number' && Number.isNaN(w)) expect(Number.isNaN(g as number)).toBe(true);
      else if (typeof w === 'number') expect(g as number).toBeCloseTo(w, 6);
      else expect(g).toBe(w);
    }
  }
}

async function windowed(rows: Event[], mode: 'batch' | 'stream', window: WindowSpec, maxOutOfOrderness = 0, batchSize = 500) {
  const p = new Pipeline('w');
  const out = toArray<Row>();
  p.source('events', EventSchema, fromArray(rows))
    .keyBy('user')
    .window(window, { time: 'ts', maxOutOfOrderness })
    .aggregate((a) => ({ n: a.count(), total: a.sum('amount'), lo: a.min('amount'), hi: a.max('amount'), avg: a.mean('amount'), var: a.variance('amount') }))
    .to(out as never);
  const res = await p.run({ mode, batchSize });
  return { rows: byKey(out.records, (r) => `${r.user}|${String(r.windowStart).padStart(16, '0')}`), res };
}

const FIELDS = ['user', 'windowStart', 'windowEnd', 'n', 'total', 'lo', 'hi', 'avg', 'var'];

describe('windows', () => {
  const rows = events(20_000, 3, 300);

  it('tumbling windows match the reference, in batch and stream mode alike', async () => {
    const want = referenceWindows(rows, (t) => [Math.floor(t / 1000) * 1000], 1000);
    const batch = await windowed(rows, 'batch', { type: 'tumbling', size: 1000 });
    expectRowsClose(batch.rows, want, FIELDS);
    // Stream mode with a watermark that covers the jitter: the same results, emitted as windows close.
    const stream = await windowed(rows, 'stream', { type: 'tumbling', size: 1000 }, 300, 97);
    expect(stream.res.deadLetterCount).toBe(0);
    expectRowsClose(stream.rows, want, FIELDS);
  });

  it('sliding windows match the reference', async () => {
    const starts = (t: number) => {
      const out: number[] = [];
      for (let s = Math.floor(t / 250) * 250; s > t - 1000; s -= 250) out.push(s);
      return out;
    };
    const want = referenceWindows(rows, starts, 1000);
    const batch = await windowed(rows, 'batch', { type: 'sliding', size: 1000, slide: 250 });
    expectRowsClose(batch.rows, want, FIELDS);
    const stream = await windowed(rows, 'stream', { type: 'sliding', size: 1000, slide: 250 }, 300, 1000);
    expectRowsClose(stream.rows, want, FIELDS);
  });

  it('session windows match a sort-and-split reference', async () => {
    // Bursty users: gaps of 0-40 ms within a burst, 500 ms between bursts.
    const data: Event[] = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += i % 50 === 0 ? 500 : (i * 7) % 41;
      data.push({ ts: t, user: `u${i % 3}`, amount: (i % 17) - 5, kind: 'buy' });
    }
    const want: Row[] = [];
    for (const u of ['u0', 'u1', 'u2']) {
      const ts = data.filter((d) => d.user === u).sort((a, b) => a.ts - b.ts);
      let cur: Event[] = [];
      const close = () => {
        const xs = cur.map((c) => c.amount);
        want.push({ user: u, windowStart: cur[0].ts, windowEnd: cur[cur.length - 1].ts + 100, n: xs.length, total: sum(xs) });
      };
      for (const e of ts) {
        if (cur.length > 0 && e.ts >= cur[cur.length - 1].ts + 100) (close(), (cur = []));
        cur.push(e);
      }
      close();
    }
    const sorted = byKey(want, (r) => `${r.user}|${String(r.windowStart).padStart(16, '0')}`);
    for (const mode of ['batch', 'stream'] as const) {
      const p = new Pipeline('s');
      const out = toArray<Row>();
      p.source('e', EventSchema, fromArray(data))
        .keyBy('user')
        .window({ type: 'session', gap: 100 }, { time: 'ts' })
        .aggregate((a) => ({ n: a.count(), total: a.sum('amount') }))
        .to(out as never);
      await p.run({ mode, batchSize: 128 });
      expectRowsClose(byKey(out.records, (r) => `${r.user}|${String(r.windowStart).padStart(16, '0')}`), sorted, ['user', 'windowStart', 'windowEnd', 'n', 'total']);
    }
  });

  it('approximate distinct and quantiles are close to the exact answer', async () => {
    const data = events(50_000, 9, 0, 5000);
    const p = new Pipeline('sketch');
    const out = toArray<Row>();
    p.source('e', EventSchema, fromArray(data))
      .keyBy('kind')
      .aggregate((a) => ({ users: a.distinct('user'), median: a.quantile('amount', 0.5), p90: a.quantile('amount', 0.9) }))
      .to(out as never);
    await p.run({ mode: 'batch' });
    for (const kind of ['buy', 'view']) {
      const rows = data.filter((d) => d.kind === kind);
      const exactUsers = new Set(rows.map((r) => r.user)).size;
      const sorted = rows.map((r) => r.amount).sort((a, b) => a - b);
      const got = out.records.find((r) => r.kind === kind)!;
      expect(Math.abs((got.users as number) - exactUsers) / exactUsers).toBeLessThan(0.03);
      expect(Math.abs((got.median as number) - sorted[Math.floor(sorted.length * 0.5)])).toBeLessThan(1.5);
      expect(Math.abs((got.p90 as number) - sorted[Math.floor(sorted.length * 0.9)])).toBeLessThan(1.5);
    }
  });

  it('late events: dead-lettered after the allowed lateness, or updating the result within it', async () => {
    // Watermark = max ts; window [0,100) closes at wm 100 (+ lateness 50).
    const data = [
      { ts: 10, user: 'a', amount: 1, kind: 'buy' },
      { ts: 120, user: 'a', amount: 2, kind: 'buy' }, // wm 120: [0,100) closed on time
      { ts: 20, user: 'a', amount: 4, kind: 'buy' }, // late, within lateness (120 < 150)
      { ts: 400, user: 'a', amount: 8, kind: 'buy' }, // wm 400
      { ts: 30, user: 'a', amount: 16, kind: 'buy' }, // beyond lateness
      { ts: Number.NaN, user: 'a', amount: 0, kind: 'buy' }, // the schema rejects NaN
      { ts: -5, user: 'a', amount: 0, kind: 'buy' }, // absurd time
    ] as Event[];
    const results: Record<string, Row[]> = {};
    const dead: Record<string, DeadLetter[]> = {};
    for (const latePolicy of ['update', 'deadLetter'] as const) {
      const p = new Pipeline('late');
      const out = toArray<Row>();
      p.source('e', EventSchema, fromArray(data))
        .keyBy('user')
        .window({ type: 'tumbling', size: 100 }, { time: 'ts', allowedLateness: 50, latePolicy })
        .aggregate((a) => ({ total: a.sum('amount') }), { name: 'agg' })
        .to(out as never);
      const r = await p.run({ mode: 'stream', batchSize: 1 });
      results[latePolicy] = out.records.filter((x) => x.windowStart === 0);
      dead[latePolicy] = r.deadLetters;
    }
    // update: pane 0 with 1, pane 1 with 1 + 4; the event at 30 is dead.
    expect(results.update.map((r) => [r.pane, r.total])).toEqual([
      [0, 1],
      [1, 5],
    ]);
    // deadLetter: one final result when the watermark passes end + lateness (at 400): 1 + 4.
    expect(results.deadLetter.map((r) => [r.pane, r.total])).toEqual([[0, 5]]);
    for (const d of Object.values(dead)) {
      expect(d.map((x) => [x.stage, (x.record as Event).ts])).toEqual([
        ['agg', 30],
        ['e', Number.NaN],
        ['agg', -5],
      ]);
      expect(d[0].reason).toMatch(/^late/);
      expect(d[1].reason).toMatch(/^schema: ts: /);
      expect(d[2].reason).toMatch(/missing or absurd/);
    }
  });
});

describe('stateless and batch operators', () => {
  const rows = events(5000, 5, 0, 40);

  it('map, filter, flatMap, dedupe, sort, union, branch, lookup match array code', async () => {
    const p = new Pipeline('ops');
    const src = p.source('e', EventSchema, fromArray(rows));
    const doubled = toArray<{ user: string; cents: number }>();
    src
      .filter((r) => r.kind === 'buy')
      .map((r) => ({ user: r.user, cents: Math.round(r.amount * 100) }))
      .flatMap((r) => (r.cents > 0 ? [r, r] : []))
      .to(doubled);
    const firsts = toArray<Event>();
    src.dedupe('user').to(firsts);
    const sorted = toArray<Event>();
    src.sort('-amount', 'ts').to(sorted);
    const { big, small } = src.branch(['big', 'small'], (r) => (r.amount >= 30 ? 'big' : 'small'));
    const unioned = toArray<Event>();
    big.union(small).to(unioned);
    const bigOut = toArray<Event>();
    big.to(bigOut);
    const tiers = new Map(Array.from({ length: 20 }, (_, i) => [`u${i}`, i % 3 === 0 ? 'gold' : 'plain']));
    const looked = toArray<Event & { tier: string | undefined }>();
    src.lookup(tiers, { on: 'user', as: 'tier' }).to(looked);
    const r = await p.run({ mode: 'stream', batchSize: 333 });

    const wantDoubled = rows.filter((x) => x.kind === 'buy').map((x) => ({ user: x.user, cents: Math.round(x.amount * 100) })).flatMap((x) => (x.cents > 0 ? [x, x] : []));
    expect(doubled.records).toEqual(wantDoubled);
    const seen = new Set<string>();
    expect(firsts.records).toEqual(rows.filter((x) => (seen.has(x.user) ? false : (seen.add(x.user), true))));
    expect(sorted.records).toEqual([...rows].sort((a, b) => b.amount - a.amount || a.ts - b.ts));
    expect(bigOut.records).toEqual(rows.filter((x) => x.amount >= 30));
    expect(byKey(unioned.records, (x) => String(x.ts).padStart(12, '0'))).toEqual(rows);
    expect(looked.records).toEqual(rows.map((x) => ({ ...x, tier: tiers.get(x.user) })));
    expect(r.deadLetterCount).toBe(0);
    expect(r.stats.e).toEqual({ in: rows.length, out: rows.length });
  });

  it('hash joins (inner, left, anti) match a nested loop', async () => {
    const users = Array.from({ length: 60 }, (_, i) => ({ user: `u${i}`, region: i % 4 === 0 ? 'eu' : 'us' })).filter((_, i) => i % 7 !== 3);
    const UserSchema = z.object({ user: z.string(), region: z.string() });
    for (const kind of ['inner', 'left', 'anti'] as const) {
      const p = new Pipeline(`join-${kind}`);
      const left = p.source('orders', EventSchema, fromArray(rows));
      const right = p.source('users', UserSchema, fromArray(users));
      const out = toArray<Record<string, unknown>>();
      left.join(right, { left: 'user', right: 'user' }, kind as 'inner').to(out as never);
      await p.run({ mode: 'batch', batchSize: 1000 });
      const want: unknown[] = [];
      for (const o of rows) {
        const ms = users.filter((u) => u.user === o.user);
        if (kind === 'anti') (ms.length === 0 ? want.push(o) : 0);
        else if (ms.length === 0) (kind === 'left' ? want.push({ ...o }) : 0);
        else for (const m of ms) want.push({ ...m, ...o });
      }
      expect(out.records).toEqual(want);
    }
  });

  it('the windowed stream-stream join matches a nested loop', async () => {
    const clicks = events(2000, 21, 0, 10).map((e) => ({ ...e, ts: e.ts }));
    const views = events(2000, 22, 0, 10).map((e) => ({ ...e, ts: e.ts + 3 }));
    for (const mode of ['stream', 'batch'] as const) {
      const p = new Pipeline('ij');
      const a = p.source('clicks', EventSchema, fromArray(clicks));
      const b = p.source('views', EventSchema, fromArray(views));
      const out = toArray<{ left: Event; right: Event }>();
      a.intervalJoin(b, { on: { left: 'user', right: 'user' }, time: { left: 'ts', right: 'ts' }, between: [-20, 40] }).to(out);
      const r = await p.run({ mode, batchSize: 100 });
      const want: string[] = [];
      for (const l of clicks) for (const v of views) if (l.user === v.user && v.ts - l.ts >= -20 && v.ts - l.ts <= 40) want.push(`${l.ts}/${v.ts}/${l.user}`);
      const got = out.records.map((x) => `${x.left.ts}/${x.right.ts}/${x.left.user}`);
      expect(got.sort()).toEqual(want.sort());
      expect(r.deadLetterCount).toBe(0);
    }
  });
});

describe('columnar mode', () => {
  it('mapColumns/filterColumns/aggregate over typed columns equal the row pipeline; a NaN row is a dead letter', async () => {
    const rows = events(20_000, 8, 0, 17);
    const users = [...new Set(rows.map((r) => r.user))];
    const cols = {
      ts: Float64Array.from(rows, (r) => r.ts),
      user: Uint32Array.from(rows, (r) => users.indexOf(r.user)),
      amount: Float64Array.from(rows, (r, i) => (i === 5 ? Number.NaN : r.amount)),
    };
    const schema = z.object({ ts: z.number(), user: z.number(), amount: z.number() });
    const p = new Pipeline('col');
    const out = toArray<Row>();
    p.source('c', schema, fromColumns(cols))
      .mapColumns((b) => new ColumnBatch(b.length, { ...b.columns, amount: (b.columns.amount as Float64Array).map((x) => x * 2) }), { schema })
      .filterColumns((b) => (b.columns.amount as Float64Array).map((x) => (x > 0 ? 1 : 0)))
      .keyBy('user')
      .window({ type: 'tumbling', size: 500 }, { time: 'ts' })
      .aggregate((a) => ({ n: a.count(), total: a.sum('amount') }))
      .to(out as never);
    const r = await p.run({ batchSize: 1000 });
    expect(r.deadLetters.map((d) => [d.stage, (d.record as { ts: number }).ts])).toEqual([['c', rows[5].ts]]);
    const want = new Map<string, { n: number; total: number }>();
    rows.forEach((e, i) => {
      if (i === 5 || e.amount * 2 <= 0) return;
      const k = `${users.indexOf(e.user)}|${Math.floor(e.ts / 500) * 500}`;
      const g = want.get(k) ?? { n: 0, total: 0 };
      g.n++;
      g.total += e.amount * 2;
      want.set(k, g);
    });
    expect(out.records.length).toBe(want.size);
    for (const g of out.records) {
      const w = want.get(`${g.user}|${g.windowStart}`)!;
      expect(g.n).toBe(w.n);
      expect(g.total as number).toBeCloseTo(w.total, 6);
    }
  });

  it('a columnar inner/anti hash join equals the row join', async () => {
    const n = 3000;
    const user = Uint32Array.from({ length: n }, (_, i) => (i * 31) % 70);
    const amount = Float64Array.from({ length: n }, (_, i) => i / 4);
    const dims = Array.from({ length: 60 }, (_, u) => ({ user: u, region: u % 5 }));
    const L = z.object({ user: z.number(), amount: z.number() });
    const R = z.object({ user: z.number(), region: z.number() });
    for (const kind of ['inner', 'anti'] as const) {
      const got: Record<string, unknown>[][] = [];
      for (const columnar of [true, false]) {
        const p = new Pipeline('cj');
        const rows = Array.from({ length: n }, (_, i) => ({ user: user[i], amount: amount[i] }));
        const left = p.source('l', L, columnar ? fromColumns({ user, amount }) : fromArray(rows));
        const out = toArray<Record<string, unknown>>();
        left.join(p.source('r', R, fromArray(dims)), { left: 'user', right: 'user' }, kind as 'inner').to(out as never);
        await p.run({ mode: 'batch', batchSize: 700 });
        got.push(out.records);
      }
      expect(got[0].length).toBeGreaterThan(100);
      expect(got[0]).toEqual(got[1]);
    }
  });

  it('a columnar sink receives ColumnBatch tables, row sinks receive rows', async () => {
    const p = new Pipeline('colsink');
    const src = p.source('c', { a: 'number', b: 'number' }, fromColumns({ a: Float64Array.of(1, 2, 3), b: Float64Array.of(4, 5, 6) }));
    const tables: ColumnBatch[] = [];
    src.to({ describe: 'tables', columnar: true, write: (t) => void tables.push(t as unknown as ColumnBatch) });
    const rows = toArray<{ a: number; b: number }>();
    src.to(rows);
    await p.run();
    expect(tables.map((t) => [t.length, Array.from(t.columns.a as Float64Array)])).toEqual([[3, [1, 2, 3]]]);
    expect(rows.records).toEqual([
      { a: 1, b: 4 },
      { a: 2, b: 5 },
      { a: 3, b: 6 },
    ]);
  });

  it('window results reach a columnar sink as ColumnBatch with the records a row sink gets (one key, two keys, string keys, group-by)', async () => {
    const n = 5000;
    const rows = Array.from({ length: n }, (_, i) => ({ ts: i * 3 + (i % 7), user: (i * 7919) % 37, region: ['eu', 'us', 'ap'][i % 3], amount: (i % 97) / 4 }));
    const schema = z.object({ ts: z.number(), user: z.number(), region: z.string(), amount: z.number() });
    type Ev = z.infer<typeof schema>;
    // Each shape's output type differs; the test only routes them to sinks.
    const shapes: Array<(s: Stream<Ev>) => Stream<never>> = [
      (s) => s.keyBy('user').window({ type: 'tumbling', size: 200 }, { time: 'ts' }).aggregate((a) => ({ n: a.count(), total: a.sum('amount'), top: a.max('amount') })) as unknown as Stream<never>,
      (s) => s.keyBy('user', 'region').window({ type: 'tumbling', size: 500 }, { time: 'ts' }).aggregate((a) => ({ n: a.count(), m: a.mean('amount') })) as unknown as Stream<never>,
      (s) => s.keyBy('region').window({ type: 'sliding', size: 300, slide: 100 }, { time: 'ts' }).aggregate((a) => ({ n: a.count() })) as unknown as Stream<never>,
      (s) => s.keyBy('user').aggregate((a) => ({ n: a.count(), s: a.sum('amount') })) as unknown as Stream<never>,
    ];
    for (const [i, shape] of shapes.entries()) {
      for (const mode of ['stream', 'batch'] as const) {
        const p = new Pipeline(`wincol${i}`);
        const agg = shape(p.source('e', schema, fromArray(rows)));
        const tables: ColumnBatch[] = [];
        agg.to({ describe: 'tables', columnar: true, write: (t) => void tables.push(t as unknown as ColumnBatch) });
        const out = toArray<Record<string, unknown>>();
        agg.to(out as never);
        await p.run({ mode, batchSize: 512 });
        expect(tables.every((t) => t instanceof ColumnBatch)).toBe(true);
        expect(out.records.length).toBeGreaterThan(10);
        expect(tables.flatMap((t) => t.toRows())).toEqual(out.records);
        // Same fields in the same order as one object per window always had.
        const first = out.records[0];
        const keys = Object.keys(first);
        if (i === 3) expect(keys).toEqual(['user', 'n', 's']);
        else expect(keys.slice(-3 - (i === 0 ? 3 : i === 1 ? 2 : 1), keys.length - (i === 0 ? 3 : i === 1 ? 2 : 1))).toEqual(['windowStart', 'windowEnd', 'pane']);
      }
    }
  });

  it('an in-order stream (dense tumbling store) and the same stream with late and bad rows (general store) give the windows of a row reference', async () => {
    const n = 40_000;
    const ts = Float64Array.from({ length: n }, (_, i) => i * 0.25 + (i % 5) * 0.1);
    const user = Uint32Array.from({ length: n }, (_, i) => (i * 7919) % 300);
    const amount = Float64Array.from({ length: n }, (_, i) => ((i * 31) % 1000) / 10);
    const late = Float64Array.from(ts);
    for (const i of [12_000, 12_001, 30_000]) late[i] = 5; // far behind the watermark: dead letters
    for (const times of [ts, late]) {
      const p = new Pipeline('dense');
      const out = toArray<{ user: number; windowStart: number; n: number; total: number; lo: number; mean: number }>();
      p.source('c', z.object({ ts: z.number(), user: z.number(), amount: z.number() }), fromColumns({ ts: times, user, amount }))
        .keyBy('user')
        .window({ type: 'tumbling', size: 50 }, { time: 'ts', maxOutOfOrderness: 1 })
        .aggregate((a) => ({ n: a.count(), total: a.sum('amount'), lo: a.min('amount'), mean: a.mean('amount') }))
        .to(out as never);
      const r = await p.run({ batchSize: 4096 });
      // Reference: the per-record watermark rule, sums in input order.
      const want = new Map<string, { n: number; total: number; lo: number }>();
      const dead: number[] = [];
      let wm = -Infinity;
      for (let i = 0; i < n; i++) {
        const s = Math.floor(times[i] / 50) * 50;
        if (wm >= s + 50) dead.push(i);
        else {
          const k = `${user[i]}|${s}`;
          const g = want.get(k) ?? { n: 0, total: 0, lo: Infinity };
          g.n++;
          g.total += amount[i];
          g.lo = Math.min(g.lo, amount[i]);
          want.set(k, g);
        }
        wm = Math.max(wm, times[i] - 1);
      }
      expect(r.deadLetters.length).toBe(dead.length);
      expect(out.records.length).toBe(want.size);
      // Emitted by window end, then key id (ids follow first appearance).
      const idOf = new Map<number, number>();
      for (const u of user) if (!idOf.has(u)) idOf.set(u, idOf.size);
      let prev = -Infinity;
      for (const g of out.records) {
        const w = want.get(`${g.user}|${g.windowStart}`)!;
        expect([g.n, g.total, g.lo]).toEqual([w.n, w.total, w.lo]);
        expect(g.mean).toBeCloseTo(w.total / w.n, 9);
        const at = g.windowStart * 1e4 + idOf.get(g.user)!;
        expect(at).toBeGreaterThan(prev);
        prev = at;
      }
    }
  });
});
