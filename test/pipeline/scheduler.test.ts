/**
 * User functions on omnitide/scheduler worker threads, partitioned by key:
 * every record is processed once, off the main thread, and each key's
 * records come out in their input order.
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Scheduler } from '../../ts/scheduler/index.js';
import { Pipeline, fromArray, toArray } from '../../ts/pipeline/index.js';
import { events } from './data.js';

const scheduler = new Scheduler({ tasks: join(__dirname, 'fixtures', 'tasks.mjs'), threads: 2 });
afterAll(() => scheduler.close());

describe('parallelMap on scheduler workers', () => {
  it('keeps per-key order and runs off the main thread', async () => {
    const rows = events(6000, 4, 0, 25).map((e, i) => ({ ...e, i }));
    const p = new Pipeline('par');
    const out = toArray<{ user: string; i: number; doubled: number; amount: number; thread: number }>();
    p.source('e', { ts: 'number', user: 'string', amount: 'number', kind: 'string', i: 'number' }, fromArray(rows))
      .parallelMap<{ user: string; i: number; doubled: number; amount: number; thread: number }>(scheduler, 'stamp', { key: 'user', partitions: 4 })
      .to(out);
    await p.run({ batchSize: 500 });
    expect(out.records.length).toBe(rows.length);
    expect(out.records.every((r) => r.doubled === r.amount * 2 && r.thread !== threadId)).toBe(true);
    const perKey = new Map<string, number[]>();
    for (const r of out.records) perKey.set(r.user, [...(perKey.get(r.user) ?? []), r.i]);
    for (const [user, seq] of perKey) expect(seq).toEqual(rows.filter((r) => r.user === user).map((r) => r.i));
  });

  it('a failing task names the stage and a record', async () => {
    const p = new Pipeline('parfail');
    p.source('e', { amount: 'number', user: 'string' }, fromArray([{ amount: 1, user: 'a' }, { amount: -2, user: 'b' }]))
      .parallelMap(scheduler, 'failOnNegative', { key: 'user', partitions: 2, name: 'checked' })
      .to(toArray());
    await expect(p.run()).rejects.toMatchObject({ code: 'ERR_OMNI_PIPELINE_STAGE', stage: 'checked', message: expect.stringMatching(/negative amount -2/) });
  });
});
