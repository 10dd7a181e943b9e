import { mkdtempSync, openSync, readSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { OmniError, fromNative } from '../../ts/errors.js';
import { Ledger, corruptIndex } from '../../ts/ledger/index.js';
import { native } from '../../ts/native.js';

/**
 * The N-API error contract: an addon error carries `code` (ERR_OMNI_*) and
 * its fields as properties, its message is the crate's message (no
 * "[CODE]" prefix to parse), synchronously, from async tasks and in workers.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function caught(fn: () => unknown): Record<string, unknown> & Error {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected a rejection');
}

/** A ledger of 10 entries whose entry 3 is damaged on disk. */
async function corruptLedger(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-err-'));
  dirs.push(dir);
  const l = await Ledger.open(dir, { origin: 'example.com/err' });
  for (let i = 0; i < 10; i++) await l.append(`entry number ${i}`);
  await l.close();
  const idx = openSync(join(dir, 'entries.idx'), 'r');
  const off = Buffer.alloc(8);
  readSync(idx, off, 0, 8, 3 * 8);
  closeSync(idx);
  const fd = openSync(join(dir, 'entries.dat'), 'r+');
  writeSync(fd, Buffer.from('X'), 0, 1, Number(off.readBigUInt64LE()) + 5);
  closeSync(fd);
  return dir;
}

describe('errors from the addon', () => {
  it('a synchronous failure carries its code as a property and a plain message', () => {
    const err = caught(() => native.blake3Hash(new Uint8Array(1), 0));
    expect(err.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(err.message).toBe('opts.length: must be at least 1');
    const omni = fromNative(err);
    expect(omni).toBeInstanceOf(OmniError);
    expect(omni.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(omni.message).toBe('opts.length: must be at least 1');
    expect(omni.cause).toBe(err);
  });

  it('an async task rejects with the same structured error', async () => {
    const err = await rejected(native.blake3HashFile(join(tmpdir(), 'omni-no-such-file-' + process.pid)));
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_OMNI_IO');
    expect(err.message).not.toMatch(/^\[/);
    expect(fromNative(err).code).toBe('ERR_OMNI_IO');
  });

  it('a panic is ERR_OMNI_INTERNAL with the panic text', () => {
    const err = caught(() => native.debugPanic('deliberate'));
    expect(err.code).toBe('ERR_OMNI_INTERNAL');
    expect(err.message).toBe('native panic: deliberate');
  });

  it('fields (the corrupt index) arrive as properties, sync and async', async () => {
    const dir = await corruptLedger();
    // A synchronous open re-hashes the last 64 entries: it finds the damage.
    const sync = caught(() => native.NativeLedger.open(dir, { origin: 'example.com/err' }));
    expect(sync.code).toBe('ERR_OMNI_LEDGER_CORRUPT');
    expect(sync.index).toBe(3);
    expect(Object.keys(sync).sort()).toEqual(['code', 'index']);
    // tailCheck 1: open checks only the last entry, so the damage is found later (get is async).
    const h = native.NativeLedger.open(dir, { origin: 'example.com/err', tailCheck: 1 });
    try {
      expect((await rejected(h.get(3))).index).toBe(3);
      const async = await rejected(h.verify(true));
      expect(async.code).toBe('ERR_OMNI_LEDGER_CORRUPT');
      expect(async.index).toBe(3);
      const omni = fromNative(async);
      expect(omni.index).toBe(3);
      expect(corruptIndex(omni)).toBe(3);
      expect(omni.message).toBe(async.message);
    } finally {
      h.close();
    }
  });

  it('errors keep their code on a worker thread (each thread has its own environment)', async () => {
    const loader = join(__dirname, '..', '..', 'bindings', 'index.js');
    const w = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const b = require(${JSON.stringify(loader)});
       try { b.blake3Hash(new Uint8Array(1), 0) } catch (e) { parentPort.postMessage([e.code, e.message]) }`,
      { eval: true },
    );
    const [code, message] = await new Promise<[string, string]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(message).toBe('opts.length: must be at least 1');
  });

  it('OmniError fields are own enumerable properties; reserved names are not overwritten', () => {
    const e = new OmniError('ERR_OMNI_LEDGER_CORRUPT', 'index 5: bad', { fields: { index: 5, code: 'nope', message: 'nope' } });
    expect(e.index).toBe(5);
    expect(e.code).toBe('ERR_OMNI_LEDGER_CORRUPT');
    expect(e.message).toBe('index 5: bad');
    expect(Object.keys(e)).toContain('index');
    expect(Object.keys(new OmniError('ERR_OMNI_IO', 'x'))).not.toContain('index');
  });
});
