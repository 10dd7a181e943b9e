import { z } from 'zod';
import { ErrorCodes, invalidArgument, OmniError } from './errors.js';

/**
 * Edge validation helpers. Option objects go through zod and its message
 * reaches the user inside the `OmniError`; data arguments on hot paths use the
 * hand-written checks below (a zod parse costs microseconds).
 */
export function parseOptions<S extends z.ZodType>(arg: string, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.length ? `${arg}.${issue.path.join('.')}` : arg;
  throw invalidArgument(where, issue.message, r.error);
}

/** A typed array whose buffer was transferred or detached reads as empty; say so. */
function isDetached(view: Uint8Array): boolean {
  if (view.byteLength !== 0) return false;
  try {
    view.buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer';
  return typeof value === 'object' ? `an object (${(value as object).constructor?.name ?? 'null prototype'})` : `a ${typeof value}`;
}

export function bytes(arg: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) {
    if (isDetached(value)) throw invalidArgument(arg, 'the buffer is detached (transferred)');
    return value;
  }
  throw invalidArgument(arg, `expected a Uint8Array, got ${describe(value)}`);
}

export function bytesOfLength(arg: string, value: unknown, length: number): Uint8Array {
  const b = bytes(arg, value);
  if (b.byteLength !== length) throw invalidArgument(arg, `expected ${length} bytes, got ${b.byteLength}`);
  return b;
}

const encoder = new TextEncoder();

/** Bytes, or a string encoded as UTF-8. */
export function bytesOrString(arg: string, value: unknown): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value);
  return bytes(arg, value);
}

export const u8 = (len?: number) =>
  z.custom<Uint8Array>(
    (v) => v instanceof Uint8Array && !isDetached(v) && (len === undefined || v.byteLength === len),
    { message: len === undefined ? 'expected a Uint8Array' : `expected a Uint8Array of ${len} bytes` },
  );

/**
 * Packs byte arrays back to back with their end offsets, the shape batch
 * calls cross N-API in (one buffer instead of one conversion per item).
 * `unpackBytes` is the inverse.
 */
export function packBytes(arg: string, parts: Uint8Array[]): { data: Uint8Array; ends: Uint32Array } {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  if (total > 0xffff_ffff) throw invalidArgument(arg, 'total size must be below 4 GiB per call');
  const data = new Uint8Array(total);
  const ends = new Uint32Array(parts.length);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    data.set(parts[i], at);
    at += parts[i].byteLength;
    ends[i] = at;
  }
  return { data, ends };
}

/**
 * `packBytes` for entries that may also be strings: a string is written as
 * UTF-8 straight into the one buffer (no array per entry); sizes are counted
 * first, so the buffer is exact.
 */
export function packEntries(arg: string, entries: readonly (Uint8Array | string)[]): { data: Uint8Array; ends: Uint32Array } {
  const laid = laidEndToEnd(entries);
  if (laid) return laid;
  const ends = new Uint32Array(entries.length);
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    total += typeof e === 'string' ? Buffer.byteLength(e, 'utf8') : e.byteLength;
    ends[i] = total;
  }
  if (total > 0xffff_ffff) throw invalidArgument(arg, 'total size must be below 4 GiB per call');
  const data = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const e of entries) at += typeof e === 'string' ? data.write(e, at, 'utf8') : (data.set(e, at), e.byteLength);
  return { data, ends };
}

/**
 * Views laid end to end in one buffer (a batch the addon returned packed,
 * e.g. signed decisions) are copied as that one range, not one by one.
 * (Copied all the same: the native side reads the data off the event loop,
 * and must not see a caller's later writes.) Null when they are not.
 */
function laidEndToEnd(entries: readonly (Uint8Array | string)[]): { data: Uint8Array; ends: Uint32Array } | null {
  const first = entries[0];
  if (!(first instanceof Uint8Array)) return null;
  const ends = new Uint32Array(entries.length);
  let at = first.byteOffset;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!(e instanceof Uint8Array) || e.buffer !== first.buffer || e.byteOffset !== at) return null;
    at += e.byteLength;
    ends[i] = at - first.byteOffset;
  }
  if (at - first.byteOffset > 0xffff_ffff) return null;
  return { data: new Uint8Array(first.buffer.slice(first.byteOffset, at)), ends };
}

/**
 * Splits `data` at the end offsets `ends` (item `i` is
 * `data[ends[i-1] .. ends[i]]`, `ends[-1] = 0`) into views of `data`, no copy.
 * Offsets come from the addon, so a bad one is an internal error, not the user's.
 */
export function unpackBytes(data: Uint8Array, ends: ArrayLike<number>): Uint8Array[] {
  const out: Uint8Array[] = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i];
    if (end < start || end > data.byteLength) throw new OmniError(ErrorCodes.INTERNAL, `packed result: ends[${i}] = ${end} is out of order or past the data`);
    out[i] = data.subarray(start, end);
    start = end;
  }
  return out;
}
