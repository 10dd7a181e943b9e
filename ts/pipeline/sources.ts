/**
 * Sources: arrays, async iterables, generators, Node Readable streams, NDJSON
 * and CSV files. A source yields chunks of raw records; the engine validates
 * them against the source schema. Malformed file lines become dead letters
 * with their line number and reason. `open(skip)` resumes after `skip` items
 * (records plus malformed lines): the offset a checkpoint stores.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { invalidArgument } from '../errors.js';
import type { DeadLetter } from './dead-letter.js';
import { ColumnBatch, type Column } from './columns.js';

export interface Chunk {
  /** Rows, or one columnar batch (`fromColumns`). */
  records: unknown[] | ColumnBatch;
  /** 1-based line numbers of `records` (file sources). */
  lines?: number[];
  /** Lines that could not be parsed. */
  malformed?: DeadLetter[];
}

export interface Source<T = unknown> {
  readonly describe: string;
  /** Whether `open(skip)` with skip > 0 replays deterministically (needed for checkpoints). */
  readonly replayable: boolean;
  open(skip: number, batchSize: number): AsyncIterable<Chunk>;
  /** Phantom: the record type (for inference only). */
  readonly __type?: T;
}

export function fromArray<T>(records: readonly T[]): Source<T> {
  if (!Array.isArray(records)) throw invalidArgument('records', 'expected an array');
  return {
    describe: `array (${records.length} records)`,
    replayable: true,
    async *open(skip, batchSize) {
      for (let i = skip; i < records.length; i += batchSize) yield { records: records.slice(i, i + batchSize) };
    },
  };
}

/**
 * Any (async) iterable or a generator function. Records are gathered into
 * batches of up to `batchSize`; a batch is also released when the iterable
 * pauses for `maxDelayMs` (default 5), so stream latency stays low.
 */
export function fromIterable<T>(
  input: AsyncIterable<T> | Iterable<T> | (() => AsyncIterable<T> | Iterable<T>),
  opts: { maxDelayMs?: number; describe?: string } = {},
): Source<T> {
  const factory = typeof input === 'function';
  if (!factory && (input === null || typeof input !== 'object' || !(Symbol.asyncIterator in input || Symbol.iterator in input))) {
    throw invalidArgument('input', 'expected an iterable, an async iterable or a generator function');
  }
  const maxDelay = opts.maxDelayMs ?? 5;
  return {
    describe: opts.describe ?? (factory ? 'generator' : 'iterable'),
    // A generator function restarts from the beginning: skipping replays it.
    replayable: factory,
    async *open(skip, batchSize) {
      const it = factory ? (input as () => AsyncIterable<T> | Iterable<T>)() : input;
      if (!(Symbol.asyncIterator in it)) {
        // A synchronous iterable never waits: fill whole batches without timers.
        let skipped = 0;
        let batch: unknown[] = [];
        for (const v of it as Iterable<T>) {
          if (skipped < skip) {
            skipped++;
            continue;
          }
          batch.push(v);
          if (batch.length >= batchSize) {
            yield { records: batch };
            batch = [];
          }
        }
        if (batch.length > 0) yield { records: batch };
        return;
      }
      const iter = (it as AsyncIterable<T>)[Symbol.asyncIterator]();
      let skipped = 0;
      let batch: unknown[] = [];
      let pending: Promise<IteratorResult<T>> | null = null;
      // One deadline per batch (not a timer per record): when it passes, the partial batch goes.
      let deadline: Promise<'timeout'> | null = null;
      let timer: NodeJS.Timeout | undefined;
      const release = () => {
        clearTimeout(timer);
        deadline = null;
      };
      try {
        for (;;) {
          const next: Promise<IteratorResult<T>> = pending ?? iter.next();
          pending = null;
          let r: IteratorResult<T> | 'timeout';
          if (batch.length > 0) {
            deadline ??= new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), maxDelay)));
            r = await Promise.race([next, deadline]);
            if (r === 'timeout') {
              pending = next;
              release();
              yield { records: batch };
              batch = [];
              continue;
            }
          } else r = await next;
          if (r.done) break;
          if (skipped < skip) {
            skipped++;
            continue;
          }
          batch.push(r.value);
          if (batch.length >= batchSize) {
            release();
            yield { records: batch };
            batch = [];
          }
        }
      } finally {
        release();
      }
      if (batch.length > 0) yield { records: batch };
    },
  };
}

/**
 * A Node Readable's shape, spelled out so the declarations need no @types/node: any object-mode
 * Readable fits (it is async-iterable and has `pipe`).
 */
export interface ReadableLike<T = unknown> extends AsyncIterable<T> {
  pipe(...args: never[]): unknown;
}

/** An object-mode Readable (or a byte stream of NDJSON: use `fromNdjson` on a path instead). */
export function fromReadable<T = unknown>(stream: ReadableLike<T>, opts: { maxDelayMs?: number } = {}): Source<T> {
  if (!stream || typeof (stream as Readable).pipe !== 'function') throw invalidArgument('stream', 'expected a Node Readable');
  return { ...fromIterable<T>(stream as AsyncIterable<T>, { ...opts, describe: 'readable' }), replayable: false };
}

async function* lines(path: string): AsyncGenerator<string> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    input.destroy();
  }
}

/** Newline-delimited JSON. Blank lines are skipped; a line that is not a JSON object is a dead letter. */
export function fromNdjson(path: string): Source<unknown> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'expected a file path');
  return {
    describe: `ndjson ${path}`,
    replayable: true,
    async *open(skip, batchSize) {
      let chunk: Chunk & { records: unknown[] } = { records: [], lines: [], malformed: [] };
      let lineNo = 0;
      let item = 0;
      for await (const line of lines(path)) {
        lineNo++;
        if (line.trim() === '') continue;
        if (item++ < skip) continue;
        try {
          const v: unknown = JSON.parse(line);
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
          chunk.records.push(v);
          chunk.lines!.push(lineNo);
        } catch (err) {
          chunk.malformed!.push({ stage: 'source', reason: `malformed NDJSON: ${(err as Error).message}`, line: lineNo, record: line.slice(0, 200) });
        }
        if (chunk.records.length + chunk.malformed!.length >= batchSize) {
          yield chunk;
          chunk = { records: [], lines: [], malformed: [] };
        }
      }
      if (chunk.records.length + chunk.malformed!.length > 0) yield chunk;
    },
  };
}

/**
 * Splits one CSV record (RFC 4180: quoted fields, doubled quotes). Returns
 * null when a quote is left open (the caller appends the next line).
 */
export function splitCsv(text: string, delimiter = ','): string[] | null {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  let atStart = true;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        if (i < text.length && text[i] !== delimiter) throw new Error(`unexpected '${text[i]}' after a closing quote at column ${i + 1}`);
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && atStart) {
      quoted = true;
      atStart = false;
      i++;
      continue;
    }
    if (c === delimiter) {
      out.push(field);
      field = '';
      atStart = true;
      i++;
      continue;
    }
    if (c === '"') throw new Error(`a quote inside an unquoted field at column ${i + 1}`);
    field += c;
    atStart = false;
    i++;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

export interface CsvOptions {
  delimiter?: string;
  /** Per column: how to convert the text ('number', 'boolean', 'string'); default: string. The builder fills it from the schema. */
  types?: Record<string, 'number' | 'boolean' | 'string'>;
}

/** CSV with a header row. A row with the wrong number of fields or a bad quote is a dead letter; empty cells are absent fields. */
export function fromCsv(path: string, opts: CsvOptions = {}): Source<unknown> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'expected a file path');
  const delimiter = opts.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n') throw invalidArgument('delimiter', 'expected one character other than a quote or newline');
  return {
    describe: `csv ${path}`,
    replayable: true,
    async *open(skip, batchSize) {
      let header: string[] | null = null;
      let chunk: Chunk & { records: unknown[] } = { records: [], lines: [], malformed: [] };
      let lineNo = 0;
      let item = 0;
      let carry = '';
      let carryLine = 0;
      for await (const raw of lines(path)) {
        lineNo++;
        const text = carry ? carry + '\n' + raw : raw;
        const startLine = carry ? carryLine : lineNo;
        if (!carry && raw.trim() === '') continue;
        let fields: string[] | null;
        try {
          fields = splitCsv(text, delimiter);
        } catch (err) {
          carry = '';
          if (header === null) throw invalidArgument('path', `${path}:${startLine}: bad CSV header: ${(err as Error).message}`);
          if (item++ >= skip) chunk.malformed!.push({ stage: 'source', reason: `malformed CSV: ${(err as Error).message}`, line: startLine, record: text.slice(0, 200) });
          continue;
        }
        if (fields === null) {
          carry = text;
          carryLine = startLine;
          continue;
        }
        carry = '';
        if (header === null) {
          header = fields.map((f) => f.trim());
          continue;
        }
        if (item++ < skip) continue;
        if (fields.length !== header.length) {
          chunk.malformed!.push({ stage: 'source', reason: `malformed CSV: ${fields.length} fields, the header has ${header.length}`, line: startLine, record: text.slice(0, 200) });
        } else {
          const rec: Record<string, unknown> = {};
          for (let c = 0; c < header.length; c++) {
            const cell = fields[c];
            if (cell === '') continue;
            const t = opts.types?.[header[c]];
            rec[header[c]] = t === 'number' ? (Number.isNaN(Number(cell)) ? cell : Number(cell)) : t === 'boolean' ? (cell === 'true' ? true : cell === 'false' ? false : cell) : cell;
          }
          chunk.records.push(rec);
          chunk.lines!.push(startLine);
        }
        if (chunk.records.length + chunk.malformed!.length >= batchSize) {
          yield chunk;
          chunk = { records: [], lines: [], malformed: [] };
        }
      }
      if (carry && item++ >= skip) chunk.malformed!.push({ stage: 'source', reason: 'malformed CSV: a quoted field is never closed', line: carryLine, record: carry.slice(0, 200) });
      if (chunk.records.length + chunk.malformed!.length > 0) yield chunk;
    },
  };
}

/**
 * Columnar input: equal-length columns (typed arrays for numbers), or an
 * (async) iterable of such column sets. Records stay columnar until an
 * operator needs rows; the schema is checked per column (numbers must be
 * finite; a row with a non-finite number is a dead letter).
 */
export function fromColumns(input: Record<string, Column> | Iterable<Record<string, Column>> | AsyncIterable<Record<string, Column>>): Source<unknown> {
  const single = input !== null && typeof input === 'object' && !(Symbol.iterator in input) && !(Symbol.asyncIterator in input);
  const sets = (single ? [input] : input) as Iterable<Record<string, Column>> | AsyncIterable<Record<string, Column>>;
  const check = (cols: Record<string, Column>): number => {
    const lens = new Set(Object.values(cols).map((c) => c.length));
    if (lens.size !== 1) throw invalidArgument('columns', `columns must have one length, got ${[...lens].join(', ')}`);
    return [...lens][0];
  };
  if (single) check(input as Record<string, Column>);
  return {
    describe: 'columns',
    replayable: single,
    async *open(skip, batchSize) {
      let seen = 0;
      for await (const cols of sets as AsyncIterable<Record<string, Column>>) {
        const len = check(cols);
        for (let at = 0; at < len; at += batchSize) {
          const end = Math.min(len, at + batchSize);
          if (seen + (end - at) <= skip) {
            seen += end - at;
            continue;
          }
          const from = Math.max(at, at + (skip - seen));
          seen += end - at;
          const slice: Record<string, Column> = {};
          for (const [k, c] of Object.entries(cols)) slice[k] = (Array.isArray(c) ? c.slice(from, end) : c.subarray(from, end)) as Column;
          yield { records: new ColumnBatch(end - from, slice) };
        }
      }
    },
  };
}
