import { describe, expect, it } from 'vitest';
import { ExpiryQueue } from '../../ts/autoblock/expiry.js';

describe('autoblock expiry queue', () => {
  it('calls due() once per entry in expiry order, from one timer; close() stops it', async () => {
    const seen: string[] = [];
    const q = new ExpiryQueue((key, id) => seen.push(`${key}:${id}`));
    const now = Date.now();
    q.add('c', '3', now + 60);
    q.add('a', '1', now - 1);
    q.add('d', '4', now + 90);
    q.add('b', '2', now + 30);
    q.add('a', '5', now + 45); // a newer decision for the same key: both come up, the owner checks which is in force
    const end = Date.now() + 30_000;
    while (seen.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['a:1', 'b:2', 'a:5', 'c:3', 'd:4']);
    expect(q.size).toBe(0);
    q.add('e', '6', Date.now() + 10);
    q.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(5);
  });
});
