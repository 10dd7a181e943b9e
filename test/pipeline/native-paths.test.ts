/**
 * The native fast paths against plain JavaScript references: the per-batch
 * key dictionary (group ids), the join table probed per left batch, and the
 * source's non-finite scan.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Pipeline, fromArray, fromColumns, toArray, OmniError } from '../../ts/pipeline/index.js';
import { GroupKeys } from '../../ts/pipeline/group-keys.js';
import { native } from '../../ts/native.js';

/** A seeded LCG: the same keys on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return (m: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % m;
  };
}

/** Reference: a Map (SameValueZero) handing out ids in first-seen order. */
class RefKeys {
  ids = new Map<unknown, number>();
  values: unknown[] = [];
  id(v: unknown) {
    let id = this.ids.get(v);
    if (id === undefined) {
      this.ids.set(v, (id = this.values.length));
      this.values.push(v);
    }
    return id;
  }
}

describe('native key dictionary (GroupKeys)', () => {
  it('gives the ids and first-seen values of a Map on random keys, across batches and column types', () => {
    const r = rng(1);
    const pool: unknown[] = [0, -0, NaN, 1.5, -3, 2 ** 32 - 1, 2 ** 20, 2 ** 20 - 1, 1e300, Infinity, 7, 'a', '7', null, 'b'];
    const g = new GroupKeys();
    const ref = new RefKeys();
    for (let b = 0; b < 40; b++) {
      const len = 1 + r(300);
      const kind = b % 4;
      let col: ArrayLike<unknown>;
      if (kind === 0) col = Uint32Array.from({ length: len }, () => (r(3) === 0 ? 2 ** 32 - 1 - r(4) : r(3) === 0 ? 2 ** 20 - 2 + r(4) : r(60)));
      else if (kind === 1) col = Float64Array.from({ length: len }, () => pool[r(11)] as number);
      else if (kind === 2) col = Int32Array.from({ length: len }, () => r(100) - 50);
      else col = Array.from({ length: len }, () => pool[r(pool.length)]);
      const out = new Uint32Array(len);
      g.encode(col, out);
      const want = Array.from(col, (v) => ref.id(v));
      expect(Array.from(out)).toEqual(want);
    }
    expect(g.values.length).toBe(ref.values.length);
    g.values.forEach((v, i) => expect(Object.is(v, ref.values[i])).toBe(true));
  });

  it('a group-by over a Float64 key column with -0, fractions and huge keys equals a Map reference', async () => {
    const r = rng(2);
    const n = 5000;
    const keysPool = [0, -0, 0.5, -2, 2 ** 32 - 1, 2 ** 40, 3, 1e-300];
    const key = Float64Array.from({ length: n }, () => keysPool[r(keysPool.length)]);
    const amount = Float64Array.from({ length: n }, (_, i) => (i % 13) / 4);
    const p = new Pipeline('gk');
    const out = toArray<{ key: number; n: number; s: number }>();
    p.source('t', z.object({ key: z.number(), amount: z.number() }), fromColumns({ key, amount }))
      .keyBy('key')
      .aggregate((a) => ({ n: a.count(), s: a.sum('amount') }))
      .to(out as never);
    await p.run({ mode: 'batch', batchSize: 333 });
    const want = new Map<number, { key: number; n: number; s: number }>();
    key.forEach((k, i) => {
      const w = want.get(k) ?? { key: k, n: 0, s: 0 };
      w.n++;
      w.s += amount[i];
      want.set(k, w);
    });
    expect(out.records.map((x) => [x.key, x.n])).toEqual([...want.values()].map((x) => [x.key, x.n]));
    out.records.forEach((x, i) => expect(x.s).toBeCloseTo([...want.values()][i].s, 9));
  });
});

describe('join table probed per left batch', () => {
  const kinds = ['inner', 'left', 'anti'] as const;
  type Row = { user: number; amount: number };
  type Dim = { user: number; region: number };

  function reference(left: Row[], right: Dim[], kind: (typeof kinds)[number]) {
    const out: Record<string, unknown>[] = [];
    for (const l of left) {
      const ms = right.filter((d) => d.user === l.user);
      if (kind === 'anti') (ms.length === 0 ? out.push(l) : 0);
      else if (ms.length === 0) (kind === 'left' ? out.push({ ...l }) : 0);
      else for (const m of ms) out.push({ ...m, ...l });
    }
    return out;
  }

  async function join(left: Parameters<typeof fromColumns>[0] | Row[], right: Dim[] | Parameters<typeof fromColumns>[0], kind: (typeof kinds)[number], batchSize: number) {
    const p = new Pipeline(`jt-${kind}`);
    const L = z.object({ user: z.number(), amount: z.number() });
    const R = z.object({ user: z.number(), region: z.number() });
    const l = p.source('l', L, Array.isArray(left) ? fromArray(left) : fromColumns(left));
    const rs = p.source('r', R, Array.isArray(right) ? fromArray(right) : fromColumns(right));
    const out = toArray<Record<string, unknown>>();
    l.join(rs, { left: 'user', right: 'user' }, kind as 'inner').to(out as never);
    await p.run({ mode: 'batch', batchSize });
    return out.records;
  }

  it('small integer keys (direct table), duplicates on the right, u32 and f64 left columns', async () => {
    const r = rng(3);
    const n = 2000;
    const users = Uint32Array.from({ length: n }, () => (r(40) === 0 ? 2 ** 32 - 1 : r(90)));
    const amount = Float64Array.from({ length: n }, (_, i) => i);
    const dims: Dim[] = Array.from({ length: 150 }, () => ({ user: r(70), region: r(5) }));
    const rows: Row[] = Array.from(users, (u, i) => ({ user: u, amount: amount[i] }));
    for (const kind of kinds) {
      const want = reference(rows, dims, kind);
      expect(want.length).toBeGreaterThan(100);
      const got = await join({ user: users, amount }, dims, kind, 97);
      expect(got).toEqual(want);
      // Field order too: right fields first, as `{ ...right, ...left }` orders them.
      expect(Object.keys(got[0])).toEqual(Object.keys(want[0]));
      expect(await join({ user: Float64Array.from(users), amount }, dims, kind, 128)).toEqual(want);
      expect(await join(rows, dims, kind, 101)).toEqual(want);
    }
  });

  it('hashed keys (negative, fractional, -0, huge) from a columnar right side', async () => {
    const r = rng(4);
    const pool = [-0, 0, -1, 2.5, 2 ** 32 - 1, 1e12, 7, 3];
    const n = 1500;
    const user = Float64Array.from({ length: n }, () => pool[r(pool.length)]);
    const amount = Float64Array.from({ length: n }, (_, i) => i / 2);
    const rUser = Float64Array.from({ length: 40 }, () => pool[r(pool.length - 1)]);
    const region = Float64Array.from({ length: 40 }, (_, i) => i);
    const rows: Row[] = Array.from(user, (u, i) => ({ user: u, amount: amount[i] }));
    const dims: Dim[] = Array.from(rUser, (u, i) => ({ user: u, region: region[i] }));
    for (const kind of kinds) {
      const want = reference(rows, dims, kind);
      expect(await join({ user, amount }, { user: rUser, region }, kind, 64)).toEqual(want);
    }
  });

  it('the native join table rejects a bad kind with an OmniError naming it', () => {
    const t = new native.PipelineJoinTable(Float64Array.of(1, 2));
    let err: unknown;
    try {
      t.probeU32(Uint32Array.of(1), 'outer');
    } catch (e) {
      err = e;
    }
    expect(String((err as Error).message)).toMatch(/kind: 'outer'/);
  });
});

describe('non-finite scan of number columns', () => {
  it('dead-letters exactly the rows with a non-finite value, wherever it sits in a batch', async () => {
    const n = 1000;
    const bad = new Set([0, 63, 64, 500, 999]);
    const a = Float64Array.from({ length: n }, (_, i) => (bad.has(i) ? [NaN, Infinity, -Infinity][i % 3] : i));
    const b = Float64Array.from({ length: n }, (_, i) => (i === 700 ? NaN : 1));
    const p = new Pipeline('nf');
    const out = toArray<{ a: number }>();
    p.source('c', z.object({ a: z.number(), b: z.number() }), fromColumns({ a, b })).to(out as never);
    const r = await p.run({ mode: 'batch', batchSize: 256 });
    // Rows 0, 63, 64 (batch 0), 500, 700 (b is NaN) and 999, in input order.
    expect(r.deadLetters.map((d) => (d.record as { a: number }).a)).toEqual([NaN, NaN, Infinity, -Infinity, 700, NaN]);
    expect(r.deadLetterCount).toBe(bad.size + 1);
    expect(out.records.length).toBe(n - bad.size - 1);
    expect(out.records.every((x) => Number.isFinite(x.a))).toBe(true);
    expect(native.pipelineFirstNonFinite(Float64Array.of(1, 2, -Infinity, NaN))).toBe(2);
    expect(native.pipelineFirstNonFinite(new Float64Array(0))).toBe(-1);
  });

  it('is OmniError-typed at the public edge for a bad column', () => {
    expect(() => fromColumns({ a: Float64Array.of(1), b: Float64Array.of(1, 2) })).toThrow(OmniError);
  });
});
