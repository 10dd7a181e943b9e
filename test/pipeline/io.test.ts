/**
 * Sources, sinks, dead letters, backpressure and failures: files with
 * malformed lines, a deliberately slow sink (queue sizes stay bounded), a
 * sink that throws, the ledger audit sink.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Ledger } from '../../ts/ledger/index.js';
import { Pipeline, fromCsv, fromIterable, fromNdjson, fromReadable, splitCsv, toArray, toCallback, toLedger, toNdjson, toWritable, type DeadLetter } from '../../ts/pipeline/index.js';

const dir = mkdtempSync(join(tmpdir(), `omni-pipe-io-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const Schema = z.object({ ts: z.number(), user: z.string(), amount: z.number() });

describe('file sources', () => {
  it('NDJSON: malformed and schema-invalid lines become dead letters with line numbers', async () => {
    const path = join(dir, 'in.ndjson');
    writeFileSync(
      path,
      ['{"ts":1,"user":"a","amount":2}', '{"ts":2,"user":"b",', '', '[1,2]', '{"ts":3,"user":"c","amount":"x"}', '{"ts":4,"user":"d","amount":5}'].join('\n') + '\n',
    );
    const p = new Pipeline('nd');
    const out = toArray<z.infer<typeof Schema>>();
    p.source('in', Schema, fromNdjson(path)).to(out);
    const r = await p.run({ batchSize: 2 });
    expect(out.records.map((x) => x.user)).toEqual(['a', 'd']);
    expect(r.deadLetters.map((d) => [d.line, d.stage, d.reason.split(':')[0]])).toEqual([
      [2, 'in', 'malformed NDJSON'],
      [4, 'in', 'malformed NDJSON'],
      [5, 'in', 'schema'],
    ]);
    expect(r.deadLetters[2].reason).toMatch(/amount/);
  });

  it('CSV: quoted fields, wrong field counts and bad quotes', async () => {
    expect(splitCsv('a,"b,""c""",d')).toEqual(['a', 'b,"c"', 'd']);
    expect(splitCsv('"open')).toBeNull();
    const path = join(dir, 'in.csv');
    writeFileSync(path, ['ts,user,amount', '1,"smith, j",2.5', '2,b', '3,"multi', 'line",4', '4,x"y,1', '5,e,notanumber', '6,f,7'].join('\n') + '\n');
    const p = new Pipeline('csv');
    const out = toArray<z.infer<typeof Schema>>();
    p.source('in', Schema, fromCsv(path, { types: { ts: 'number', amount: 'number' } })).to(out);
    const r = await p.run();
    expect(out.records).toEqual([
      { ts: 1, user: 'smith, j', amount: 2.5 },
      { ts: 3, user: 'multi\nline', amount: 4 },
      { ts: 6, user: 'f', amount: 7 },
    ]);
    expect(r.deadLetters.map((d) => [d.line, d.reason.split(':')[0]])).toEqual([
      [3, 'malformed CSV'],
      [6, 'malformed CSV'],
      [7, 'schema'],
    ]);
  });
});

describe('backpressure', () => {
  it('a slow sink keeps the number of records in flight bounded', async () => {
    const N = 5000;
    const batchSize = 64;
    const hwm = 8;
    let produced = 0;
    let written = 0;
    let maxInFlight = 0;
    let maxBuffered = 0;
    function* gen() {
      for (let i = 0; i < N; i++) {
        produced++;
        yield { ts: i, user: `u${i % 5}`, amount: i };
      }
    }
    const slow = new Writable({
      objectMode: true,
      highWaterMark: hwm,
      write(_chunk, _enc, cb) {
        written++;
        maxInFlight = Math.max(maxInFlight, produced - written);
        // Deliberately slow: complete on a later turn of the event loop.
        setImmediate(cb);
      },
    });
    const p = new Pipeline('bp');
    p.source('gen', Schema, fromIterable(gen))
      .map((r) => ({ ...r, amount: r.amount * 2 }))
      .to(toWritable(slow), { name: 'slow' });
    const watcher = setInterval(() => (maxBuffered = Math.max(maxBuffered, slow.writableLength)), 0);
    try {
      await p.run({ batchSize });
    } finally {
      clearInterval(watcher);
    }
    expect(written).toBe(N);
    // Without backpressure the generator would run N records ahead.
    expect(maxInFlight).toBeLessThanOrEqual(batchSize + hwm + 2);
    expect(maxBuffered).toBeLessThanOrEqual(hwm);
  });

  it('a paused async source releases its partial batch (stream latency does not wait for a full batch)', async () => {
    let delivered = 0;
    let wake: () => void = () => {};
    async function* src() {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 3; i++) yield { ts: round * 3 + i, user: 'u', amount: 1 };
        // Waits until the sink saw this round: a source that held records until a full
        // batch (1000) would never get here, and the test would time out.
        await new Promise<void>((r) => (delivered >= (round + 1) * 3 ? r() : (wake = r)));
      }
    }
    const p = new Pipeline('latency');
    p.source('s', Schema, fromIterable(src)).to(
      toCallback(() => {
        delivered++;
        if (delivered % 3 === 0) wake();
      }),
    );
    await p.run({ batchSize: 1000 });
    expect(delivered).toBe(9);
  });

  it('an object-mode Readable source is pulled, not drained', async () => {
    let pulled = 0;
    const src = new Readable({
      objectMode: true,
      highWaterMark: 4,
      read() {
        if (pulled >= 1000) return void this.push(null);
        pulled++;
        this.push({ ts: pulled, user: 'u', amount: 1 });
      },
    });
    let maxAhead = 0;
    let seen = 0;
    const p = new Pipeline('rd');
    p.source('r', Schema, fromReadable(src)).to(
      toCallback(async () => {
        seen++;
        maxAhead = Math.max(maxAhead, pulled - seen);
        await new Promise((r) => setImmediate(r));
      }),
    );
    await p.run({ batchSize: 16 });
    expect(seen).toBe(1000);
    // A batch, the stream's buffer, and one record a pending read may hold.
    expect(maxAhead).toBeLessThanOrEqual(16 + 2 * 4 + 2);
  });
});

describe('failures', () => {
  it('a sink that throws fails the run with an OmniError naming the stage and the record', async () => {
    const p = new Pipeline('throws');
    p.source('s', Schema, fromIterable([1, 2, 3, 4].map((i) => ({ ts: i, user: `u${i}`, amount: i }))))
      .to(
        toCallback((r: { amount: number }) => {
          if (r.amount === 3) throw new Error('disk full');
        }),
        { name: 'store' },
      );
    const err = await p.run().catch((e) => e);
    expect(err.code).toBe('ERR_OMNI_PIPELINE_SINK');
    expect(err.stage).toBe('store');
    expect(err.message).toMatch(/sink 'store'.*"user":"u3".*disk full/);
  });

  it('a user function that throws names its stage and record', async () => {
    const p = new Pipeline('fn');
    p.source('s', Schema, fromIterable([{ ts: 1, user: 'a', amount: 1 }]))
      .map(
        () => {
          throw new Error('boom');
        },
        { name: 'explode' },
      )
      .to(toArray());
    await expect(p.run()).rejects.toMatchObject({ code: 'ERR_OMNI_PIPELINE_STAGE', stage: 'explode', record: '{"ts":1,"user":"a","amount":1}' });
  });

  it('invalid records at a sink schema and unrouted branch records are dead letters, never dropped', async () => {
    const p = new Pipeline('dl');
    const src = p.source('s', Schema, fromIterable([1, 2, 3].map((i) => ({ ts: i, user: `u${i}`, amount: i - 2 }))));
    const { pos } = src.branch(['pos'], (r) => (r.amount > 0 ? 'pos' : undefined), { name: 'split' });
    const out = toArray();
    pos.to(out, { schema: z.object({ amount: z.number().max(0.5) }) as never, name: 'capped' });
    const dead: DeadLetter[] = [];
    const r = await p.run({ deadLetter: toArray(dead) });
    expect(out.records).toEqual([]);
    expect(dead.map((d) => [d.stage, (d.record as { ts: number }).ts])).toEqual([
      ['split', 1],
      ['split', 2],
      ['capped', 3],
    ]);
    expect(r.deadLetterCount).toBe(3);
    expect(r.deadLetters).toEqual([]);
  });

  it('bad run options are rejected with the argument named', async () => {
    const p = new Pipeline('opts');
    p.source('s', Schema, fromIterable([])).to(toArray());
    await expect(p.run({ batchSize: 0 })).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/options\.batchSize/) });
    await expect(p.run({ mode: 'fast' as 'batch' })).rejects.toMatchObject({ message: expect.stringMatching(/options\.mode/) });
  });
});

describe('sinks', () => {
  it('NDJSON file and Writable byte stream', async () => {
    const path = join(dir, 'out.ndjson');
    const p = new Pipeline('files');
    const chunks: string[] = [];
    const bytes = new Writable({
      write(c, _e, cb) {
        chunks.push(c.toString());
        cb();
      },
    });
    const src = p.source('s', Schema, fromIterable([1, 2].map((i) => ({ ts: i, user: 'u', amount: i }))));
    src.to(toNdjson(path));
    src.to(toWritable(bytes));
    await p.run();
    expect(readFileSync(path, 'utf8')).toBe('{"ts":1,"user":"u","amount":1}\n{"ts":2,"user":"u","amount":2}\n');
    expect(chunks.join('')).toBe(readFileSync(path, 'utf8'));
  });

  it('the ledger sink appends every record to an omnitide/ledger log (audit)', async () => {
    const ldir = join(dir, 'ledger');
    const ledger = await Ledger.open(ldir, { origin: 'pipeline-audit', durability: 'none' });
    try {
      const p = new Pipeline('audit');
      p.source('s', Schema, fromIterable([1, 2, 3].map((i) => ({ ts: i, user: 'u', amount: i })))).to(toLedger(ledger));
      await p.run({ batchSize: 2 });
      expect(ledger.size).toBe(3);
      const e = JSON.parse(Buffer.from(await ledger.get(2)).toString('utf8'));
      expect(e).toEqual({ amount: 3, ts: 3, user: 'u' });
    } finally {
      await ledger.close();
    }
  });
});
