/**
 * Sinks: arrays, callbacks, Node Writable streams (backpressure: a full
 * stream is awaited until 'drain'), NDJSON files, a keyed directory
 * (idempotent upserts, for exactly-once with checkpoints) and an
 * omnitide/ledger log (audit). A sink writes a batch; when one record fails
 * it throws `SinkRecordError` with the record's index so the engine can name it.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../errors.js';
import type { Ledger } from '../ledger/index.js';

export interface Sink<T = unknown> {
  readonly describe: string;
  /** When true, columnar batches arrive as `ColumnBatch` (a columnar table sink); else as rows. */
  readonly columnar?: boolean;
  write(batch: readonly T[]): Promise<void> | void;
  /** Called once after the last batch (flush, close files). */
  close?(): Promise<void> | void;
}

/** Thrown by a sink to say which record of the batch failed. */
export class SinkRecordError extends Error {
  constructor(
    readonly index: number,
    readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Collects into `target` (or a new array, readable as `.records`). */
export function toArray<T>(target: T[] = []): Sink<T> & { records: T[] } {
  if (!Array.isArray(target)) throw invalidArgument('target', 'expected an array');
  return {
    describe: 'array',
    records: target,
    write(batch) {
      for (const r of batch) target.push(r);
    },
  };
}

/** Calls `fn` per record (awaited in order). */
export function toCallback<T>(fn: (record: T) => unknown, describe = 'callback'): Sink<T> {
  if (typeof fn !== 'function') throw invalidArgument('fn', 'expected a function');
  return {
    describe,
    async write(batch) {
      for (let i = 0; i < batch.length; i++) {
        try {
          await fn(batch[i]);
        } catch (err) {
          throw new SinkRecordError(i, err);
        }
      }
    },
  };
}

/**
 * A Node Writable's shape, spelled out so the declarations need no @types/node: any
 * `stream.Writable` fits.
 */
export interface WritableLike {
  readonly writableObjectMode: boolean;
  readonly writableFinished: boolean;
  write(chunk: unknown): boolean;
  end(): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain' | 'error' | 'finish' | 'close', listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any -- Node's listener type
}

/** A Writable: object mode gets records, a byte stream gets NDJSON lines. Honors backpressure. */
export function toWritable<T>(writable: WritableLike, opts: { end?: boolean } = {}): Sink<T> {
  const stream = writable as unknown as Writable;
  if (!stream || typeof stream.write !== 'function') throw invalidArgument('stream', 'expected a Node Writable');
  const objectMode = stream.writableObjectMode;
  let failure: unknown = null;
  stream.on('error', (e) => (failure = e));
  return {
    describe: objectMode ? 'writable (objects)' : 'writable (ndjson)',
    async write(batch) {
      for (let i = 0; i < batch.length; i++) {
        if (failure) throw new SinkRecordError(i, failure);
        let ok: boolean;
        try {
          ok = stream.write(objectMode ? batch[i] : JSON.stringify(batch[i]) + '\n');
        } catch (err) {
          throw new SinkRecordError(i, err);
        }
        if (!ok) await Promise.race([once(stream, 'drain'), once(stream, 'error')]);
        if (failure) throw new SinkRecordError(i, failure);
      }
    },
    async close() {
      if (opts.end !== false) {
        stream.end();
        if (!stream.writableFinished) await Promise.race([once(stream, 'finish'), once(stream, 'error'), once(stream, 'close')]);
      }
    },
  };
}

/** NDJSON file (created or truncated). */
export function toNdjson<T>(path: string): Sink<T> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'expected a file path');
  let inner: Sink<T> | null = null;
  return {
    describe: `ndjson ${path}`,
    async write(batch) {
      inner ??= toWritable<T>(createWriteStream(path));
      await inner.write(batch);
    },
    async close() {
      inner ??= toWritable<T>(createWriteStream(path));
      await inner.close!();
    },
  };
}

/**
 * Idempotent upserts: each record is written to `dir/<key>.json` (atomically,
 * via rename), so replaying records after a crash overwrites instead of
 * duplicating: with checkpoints this gives exactly-once results.
 */
export function toKeyedDirectory<T>(dir: string, key: (record: T) => string | number): Sink<T> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', 'expected a directory path');
  if (typeof key !== 'function') throw invalidArgument('key', 'expected a function');
  mkdirSync(dir, { recursive: true });
  return {
    describe: `keyed directory ${dir}`,
    write(batch) {
      for (let i = 0; i < batch.length; i++) {
        try {
          const k = String(key(batch[i]));
          if (!/^[A-Za-z0-9._=-]{1,200}$/.test(k) || k.startsWith('.')) throw new Error(`key '${k.slice(0, 50)}' is not a safe file name`);
          const tmp = join(dir, `.${k}.tmp`);
          writeFileSync(tmp, JSON.stringify(batch[i]));
          renameSync(tmp, join(dir, `${k}.json`));
        } catch (err) {
          throw new SinkRecordError(i, err);
        }
      }
    },
  };
}

/** Appends every record as a JSON entry to an omnitide/ledger log (one appendMany per batch). */
export function toLedger<T>(ledger: Ledger): Sink<T> {
  if (!ledger || typeof (ledger as Ledger).appendMany !== 'function') throw invalidArgument('ledger', 'expected an open omnitide/ledger Ledger');
  return {
    describe: 'ledger',
    async write(batch) {
      if (batch.length > 0) await ledger.appendMany(batch as unknown as object[]);
    },
  };
}
