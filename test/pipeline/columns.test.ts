/** ColumnBatch.gather: the typed fast paths and the run-as-view path agree with a plain per-row gather. */
import { describe, expect, it } from 'vitest';
import { ColumnBatch } from '../../ts/pipeline/columns.js';

function naive(b: ColumnBatch, index: ArrayLike<number>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(b.columns).map(([k, c]) => [k, Array.from(index, (i) => (c as ArrayLike<unknown>)[i])]));
}

function plain(b: ColumnBatch): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(b.columns).map(([k, c]) => [k, Array.from(c as ArrayLike<unknown>)]));
}

describe('ColumnBatch.gather', () => {
  const n = 50;
  const batch = new ColumnBatch(n, {
    f: Float64Array.from({ length: n }, (_, i) => i / 4),
    u: Uint32Array.from({ length: n }, (_, i) => i * 3),
    s: Int32Array.from({ length: n }, (_, i) => -i),
    b: Uint8Array.from({ length: n }, (_, i) => i % 2),
    t: Array.from({ length: n }, (_, i) => `r${i}`),
  });

  it('gathers any index, runs and non-runs alike, with the column types kept', () => {
    const cases = [
      [5, 6, 7, 8, 9], // a run: served as views
      [0, 0, 2], // same span as a run, but not one
      [49, 3, 17, 17, 0],
      [],
      Array.from({ length: n }, (_, i) => i),
    ];
    for (const c of cases) {
      const g = batch.gather(Uint32Array.from(c));
      expect(g.length).toBe(c.length);
      expect(plain(g)).toEqual(naive(batch, c));
      for (const k of Object.keys(batch.columns)) expect(g.columns[k].constructor).toBe(batch.columns[k].constructor);
    }
  });

  it('a run shares the typed columns and copies array columns', () => {
    const g = batch.gather(Uint32Array.from([10, 11, 12]));
    expect((g.columns.f as Float64Array).buffer).toBe((batch.columns.f as Float64Array).buffer);
    expect(g.columns.t).not.toBe(batch.columns.t);
  });

  it('large gathers (the native path) equal a per-row gather, on views with an offset too', () => {
    const m = 20_000;
    const big = new ColumnBatch(m, {
      f: Float64Array.from({ length: m }, (_, i) => i * 1.5 - 7),
      u: Uint32Array.from({ length: m }, (_, i) => (i * 2654435761) >>> 0),
    }).range(100, m);
    const index = Uint32Array.from({ length: 9000 }, (_, i) => (i * 7919) % (m - 100));
    const g = big.gather(index);
    expect(plain(g)).toEqual(naive(big, index));
    expect(g.columns.f).toBeInstanceOf(Float64Array);
    expect(g.columns.u).toBeInstanceOf(Uint32Array);
  });
});
