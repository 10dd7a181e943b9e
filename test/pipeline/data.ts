/** Seeded generated data for the pipeline tests. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Event {
  ts: number;
  user: string;
  amount: number;
  kind: 'buy' | 'view';
}

/** Events with times increasing by ~10 ms and jitter up to `jitter` ms (out of order). */
export function events(n: number, seed = 1, jitter = 0, users = 13): Event[] {
  const r = rng(seed);
  const out: Event[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ ts: 1_000_000 + i * 10 + Math.floor(r() * jitter), user: `u${Math.floor(r() * users)}`, amount: Math.round(r() * 10_000) / 100 - 20, kind: r() < 0.7 ? 'buy' : 'view' });
  }
  return out;
}

export function byKey<T>(rows: T[], key: (r: T) => string): T[] {
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
