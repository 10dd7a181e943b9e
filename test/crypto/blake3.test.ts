import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { blake3 } from '../../ts/crypto/index.js';
import { toHex } from '../helpers/vectors.js';

const dir = mkdtempSync(join(tmpdir(), 'omni-b3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('blake3', () => {
  it('hash: known empty-input digest, strings are UTF-8, results are fresh copies', () => {
    const a = blake3.hash('');
    expect(toHex(a)).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    const b = blake3.hash('abc');
    expect(toHex(a)).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    expect(b).toEqual(blake3.hash(new TextEncoder().encode('abc')));
    expect(blake3.hash(Buffer.from('abc'))).toEqual(b);
  });

  it('keyed hash differs from plain and depends on the key', () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    expect(blake3.hash('x', { key: k1 })).not.toEqual(blake3.hash('x'));
    expect(blake3.hash('x', { key: k1 })).not.toEqual(blake3.hash('x', { key: k2 }));
  });

  it('hashMany equals hash per item, including empty and mixed sizes', () => {
    const items = [new Uint8Array(0), 'a', new Uint8Array(5000).fill(7), Buffer.from('buffer')];
    const got = blake3.hashMany(items);
    expect(got.map(toHex)).toEqual(items.map((i) => toHex(blake3.hash(i))));
    expect(blake3.hashMany([])).toEqual([]);
    const many = Array.from({ length: 3000 }, (_, i) => new Uint8Array(64).fill(i & 255));
    expect(toHex(blake3.hashMany(many)[2999])).toBe(toHex(blake3.hash(many[2999])));
  });

  it('hashManyPacked equals hashMany; bad offsets are named and nothing is written', () => {
    const items = [new Uint8Array(0), new Uint8Array(3).fill(1), new Uint8Array(200).fill(2)];
    const data = new Uint8Array(203);
    data.set(items[1], 0);
    data.set(items[2], 3);
    const out = blake3.hashManyPacked(data, Uint32Array.from([0, 3, 203]));
    expect(out.byteLength).toBe(96);
    const want = blake3.hashMany(items);
    for (let i = 0; i < 3; i++) expect(out.subarray(i * 32, i * 32 + 32)).toEqual(want[i]);
    expect(() => blake3.hashManyPacked(data, Uint32Array.from([5, 3]))).toThrow(/ends: item 1 ends at 3/);
    expect(() => blake3.hashManyPacked(data, Uint32Array.from([204]))).toThrow(/ends: item 0/);
    expect(() => blake3.hashManyPacked(data, [1] as never)).toThrow(/ends: expected a Uint32Array/);
  });

  it('hashFile equals hash of the contents for empty, 1 byte, 1 MiB+1 and 20 MiB, mmap or not', async () => {
    for (const size of [0, 1, (1 << 20) + 1, 20 << 20]) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31) & 255;
      const p = join(dir, `f${size}`);
      writeFileSync(p, data);
      const want = toHex(blake3.hash(data));
      expect(toHex(await blake3.hashFile(p))).toBe(want);
      expect(toHex(await blake3.hashFile(p, { parallel: false }))).toBe(want);
      expect(toHex(await blake3.hashFile(p, { length: 64 }))).toBe(toHex(blake3.hash(data, { length: 64 })));
    }
  });

  it('hashFile rejects with ERR_OMNI_IO naming the path', async () => {
    await expect(blake3.hashFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ERR_OMNI_IO', message: expect.stringContaining('nope') });
    await expect(blake3.hashFile(dir)).rejects.toMatchObject({ code: 'ERR_OMNI_IO', message: expect.stringContaining('directory') });
  });

  it('hashFile refuses FIFOs and character devices by default, at once', async () => {
    const fifo = join(dir, 'fifo-default');
    spawnSync('mkfifo', [fifo]);
    await expect(blake3.hashFile('/dev/zero')).rejects.toMatchObject({
      code: 'ERR_OMNI_INVALID_ARGUMENT',
      message: expect.stringMatching(/^path: '\/dev\/zero' is a character device .*maxBytes/),
    });
    // no writer: open(2) must not block either
    await expect(blake3.hashFile(fifo)).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringContaining('is a FIFO') });
  });

  it('hashFile streams a bounded FIFO or device, stops at maxBytes, and aborts through its signal', async () => {
    await expect(blake3.hashFile('/dev/zero', { maxBytes: 1 << 20 })).rejects.toMatchObject({ code: 'ERR_OMNI_LIMIT' });
    expect(await blake3.hashFile('/dev/null', { maxBytes: 10 })).toEqual(blake3.hash(''));
    await expect(blake3.hashFile(join(dir, 'f1'), { maxBytes: 0 })).rejects.toMatchObject({ code: 'ERR_OMNI_LIMIT' });
    const fifo = join(dir, 'fifo-stream');
    spawnSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf omnitide > '${fifo}'`]);
    expect(await blake3.hashFile(fifo, { maxBytes: 100 })).toEqual(blake3.hash('omnitide'));
    await new Promise((r) => writer.once('exit', r));
    // nobody writes: only the signal ends it
    const ac = new AbortController();
    const p = blake3.hashFile(fifo, { maxBytes: 100, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'ERR_OMNI_ABORTED' });
    await expect(blake3.hashFile(fifo, { maxBytes: 1, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_OMNI_ABORTED' });
    await expect(blake3.hashFile(fifo, { maxBytes: -1 })).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT' });
  });

  it('a pending hashFile never keeps the process from exiting', () => {
    const fifo = join(dir, 'fifo-exit');
    spawnSync('mkfifo', [fifo]);
    const mod = join(__dirname, '..', '..', 'ts', 'crypto', 'index.ts');
    const script = `const { blake3 } = require(${JSON.stringify(mod)});
      blake3.hashFile(${JSON.stringify(fifo)}).catch(() => {});
      blake3.hashFile(${JSON.stringify(fifo)}, { maxBytes: 1e6 }).catch(() => {});
      setTimeout(() => process.exit(7), 200);`;
    const tsx = require.resolve('tsx/cjs');
    const r = spawnSync(process.execPath, ['-r', tsx, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, 'the child hung at exit').toBeUndefined();
    expect(r.status, r.stderr).toBe(7);
  });

  it('hashAsync equals hash for small and multi-threaded large inputs', async () => {
    const big = new Uint8Array(8 << 20).map((_, i) => i & 255);
    expect(await blake3.hashAsync(big)).toEqual(blake3.hash(big));
    expect(await blake3.hashAsync('x', { length: 100 })).toEqual(blake3.hash('x', { length: 100 }));
  });

  it('hashAsync keeps the event loop free while hashing', async () => {
    const big = new Uint8Array(64 << 20);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await blake3.hashAsync(big);
    await blake3.hashAsync(big);
    clearInterval(timer);
    // Not a timing assertion: the loop must have run at all while native work was in flight.
    expect(ticks).toBeGreaterThan(0);
  });

  it('createHasher: digest does not consume, reset restarts, derive mode matches deriveKey', () => {
    const h = blake3.createHasher();
    h.update('ab');
    const partial = h.digest();
    expect(partial).toEqual(blake3.hash('ab'));
    h.update('c');
    expect(h.digest()).toEqual(blake3.hash('abc'));
    expect(h.reset().digest()).toEqual(blake3.hash(''));
    const d = blake3.createHasher({ context: 'omnitide test 2026' }).update('material').digest(48);
    expect(d).toEqual(blake3.deriveKey('omnitide test 2026', 'material', 48));
  });

  it('is not SHA-256 (sanity: distinct functions)', () => {
    expect(toHex(blake3.hash('abc'))).not.toBe(createHash('sha256').update('abc').digest('hex'));
  });
});
