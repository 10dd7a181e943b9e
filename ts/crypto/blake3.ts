import { z } from 'zod';
import { callNative, callNativeAsync, fromNative, invalidArgument, OmniError } from '../errors.js';
import { native } from '../native.js';
import type { AbortSignalLike } from '../abort.js';
import { bytes, bytesOrString, packBytes, parseOptions, u8 } from '../validate.js';

/** Default output length in bytes. */
export const OUT_LEN = 32;
/** Largest output one call may request (a bigger one is almost always a bits/bytes slip). */
export const MAX_OUTPUT_LEN = 64 * 1024 * 1024;

const lengthSchema = z.number().int().min(1).max(MAX_OUTPUT_LEN);

export interface HashOptions {
  /** Output length in bytes (extended output beyond 32). */
  length?: number;
  /** 32-byte key for keyed hashing (a MAC). */
  key?: Uint8Array;
}
const hashOptions = z.strictObject({ length: lengthSchema.optional(), key: u8(32).optional() });

export interface HasherOptions {
  key?: Uint8Array;
  /** Key-derivation context string (derive_key mode). Exclusive with `key`. */
  context?: string;
}
const hasherOptions = z
  .strictObject({ key: u8(32).optional(), context: z.string().optional() })
  .refine((o) => !(o.key && o.context !== undefined), { message: 'key and context are mutually exclusive' });

export interface FileOptions extends HasherOptions {
  length?: number;
  /** Memory-map and use every core for large files (default true; not with `signal`). */
  parallel?: boolean;
  /**
   * Upper bound on the bytes read. Without it only regular files are hashed: a FIFO, a socket or
   * a character device such as `/dev/zero` may never end, so it is refused with
   * `ERR_OMNI_INVALID_ARGUMENT`. With it such files are streamed (a FIFO until its writer closes
   * it), and anything longer fails with `ERR_OMNI_LIMIT`.
   */
  maxBytes?: number;
  /** Stops the hash; the promise rejects with `ERR_OMNI_ABORTED`. */
  signal?: AbortSignalLike;
}
const fileOptions = z
  .strictObject({
    key: u8(32).optional(),
    context: z.string().optional(),
    length: lengthSchema.optional(),
    parallel: z.boolean().optional(),
    maxBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .refine((o) => !(o.key && o.context !== undefined), { message: 'key and context are mutually exclusive' });

// The hot path writes into this buffer and copies out, which is cheaper than
// allocating the result natively (an ArrayBuffer created across N-API).
const scratch = new Uint8Array(OUT_LEN);
// The one-call hash goes through a raw N-API function (see native/src/fast_call.rs),
// held here rather than looked up on the binding's exports object on every call
// (a megamorphic property load: the exports object has hundreds of properties).
const hashInto = native.cryptoFastCalls().blake3HashInto;

/** BLAKE3 of `data` (strings are UTF-8): 32 bytes, or `length` bytes of extended output. */
export function hash(data: Uint8Array | string, opts?: HashOptions): Uint8Array {
  const input = typeof data === 'string' ? bytesOrString('data', data) : bytes('data', data);
  if (opts === undefined) {
    try {
      hashInto(input, scratch);
    } catch (err) {
      throw fromNative(err);
    }
    return scratch.slice();
  }
  const o = parseOptions('opts', hashOptions, opts);
  return callNative(() => native.blake3Hash(input, o.length, o.key));
}

/** BLAKE3 derive_key: a key for `context` (a hard-coded, globally unique string) from `material`. */
export function deriveKey(context: string, material: Uint8Array | string, length = OUT_LEN): Uint8Array {
  if (typeof context !== 'string') throw invalidArgument('context', 'expected a string');
  const m = bytesOrString('material', material);
  const len = parseOptions('length', lengthSchema, length);
  return callNative(() => native.blake3DeriveKey(context, m, len));
}

/** Streaming hasher; `digest()` does not consume it, so more updates may follow. */
export class Hasher {
  readonly #inner: InstanceType<typeof native.Blake3Hasher>;

  constructor(opts?: HasherOptions) {
    const o = opts === undefined ? {} : parseOptions('opts', hasherOptions, opts);
    this.#inner = callNative(() => new native.Blake3Hasher(o.key, o.context));
  }

  update(data: Uint8Array | string): this {
    const input = bytesOrString('data', data);
    callNative(() => this.#inner.update(input));
    return this;
  }

  digest(length: number = OUT_LEN): Uint8Array {
    const len = parseOptions('length', lengthSchema, length);
    return callNative(() => this.#inner.digest(len));
  }

  reset(): this {
    callNative(() => this.#inner.reset());
    return this;
  }
}

export function createHasher(opts?: HasherOptions): Hasher {
  return new Hasher(opts);
}

/**
 * Hashes many inputs in one native call. The inputs are packed into one
 * buffer and the 32-byte results are views into one output buffer.
 */
export function hashMany(items: ReadonlyArray<Uint8Array | string>): Uint8Array[] {
  if (!Array.isArray(items)) throw invalidArgument('items', 'expected an array of Uint8Array or string');
  const n = items.length;
  const inputs: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i];
    // The argument name is only built on the error path: a template string
    // per item would cost as much as the hash itself.
    inputs[i] = it instanceof Uint8Array && it.byteLength > 0 ? it : typeof it === 'string' ? bytesOrString('', it) : bytes(`items[${i}]`, it);
  }
  const { data: packed, ends } = packBytes('items', inputs);
  const out = new Uint8Array(n * OUT_LEN);
  callNative(() => native.blake3HashMany(packed, ends, out));
  const result: Uint8Array[] = new Array(n);
  const buf = out.buffer;
  for (let i = 0; i < n; i++) result[i] = new Uint8Array(buf, i * OUT_LEN, OUT_LEN);
  return result;
}

/**
 * The zero-overhead form of `hashMany` for callers that already hold their
 * inputs packed: item `i` is `data[ends[i-1] .. ends[i]]` (with `ends[-1] = 0`);
 * the result holds the 32-byte digests back to back (item `i` at `32 * i`).
 */
export function hashManyPacked(data: Uint8Array, ends: Uint32Array): Uint8Array {
  const d = bytes('data', data);
  if (!(ends instanceof Uint32Array)) throw invalidArgument('ends', 'expected a Uint32Array of end offsets');
  const out = new Uint8Array(ends.length * OUT_LEN);
  callNative(() => native.blake3HashMany(d, ends, out));
  return out;
}

/** Cancel flags of streamed hashes in flight: set at process exit, so that no read outlives it. */
const streaming = new Set<InstanceType<typeof native.Blake3Cancel>>();
let exitHook = false;

/**
 * Hashes a file off the event loop; large files are memory-mapped and hashed on all cores.
 * Only regular files unless `opts.maxBytes` bounds the read (see `FileOptions`).
 */
export function hashFile(path: string, opts?: FileOptions): Promise<Uint8Array> {
  return callNativeAsync(async () => {
    if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path', 'expected a non-empty string');
    const o = opts === undefined ? {} : parseOptions('opts', fileOptions, opts);
    if (o.signal === undefined && o.maxBytes === undefined) {
      return native.blake3HashFile(path, o.length, o.key, o.context, o.parallel);
    }
    if (o.signal?.aborted) throw new OmniError('ERR_OMNI_ABORTED', `path '${path}': hashing was aborted`, { cause: o.signal.reason });
    const cancel = new native.Blake3Cancel();
    const onAbort = () => cancel.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => streaming.forEach((c) => c.cancel()));
    }
    streaming.add(cancel);
    try {
      return await native.blake3HashFile(path, o.length, o.key, o.context, o.parallel, o.maxBytes, cancel);
    } finally {
      streaming.delete(cancel);
      o.signal?.removeEventListener('abort', onAbort);
    }
  });
}

/**
 * Hashes off the main thread (all cores for large inputs). Do not modify
 * `data` until the promise settles.
 */
export function hashAsync(data: Uint8Array | string, opts?: HashOptions): Promise<Uint8Array> {
  return callNativeAsync(async () => {
    const input = bytesOrString('data', data);
    const o = opts === undefined ? {} : parseOptions('opts', hashOptions, opts);
    return native.blake3HashAsync(input, o.length, o.key);
  });
}

/** Lower-case hex of bytes (for digests). */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
