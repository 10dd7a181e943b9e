/**
 * `omnitide/ledger`: an embedded, signed, append-only, crash-safe transparency
 * log (RFC 6962/9162 Merkle tree, C2SP signed-note checkpoints). All logic is
 * in the `omnitide-ledger` crate; this module validates and adapts.
 */
import { z } from 'zod';
import { callNative, callNativeAsync, ErrorCodes, invalidArgument, OmniError } from '../errors.js';
import { loggerFor, type Logger } from '../logger.js';
import { native, type LedgerBundle, type LedgerCheckpoint } from '../native.js';
import { bytes, bytesOfLength, describe, packEntries, parseOptions, u8, unpackBytes } from '../validate.js';

export { OmniError } from '../errors.js';

export const LEDGER_CORRUPT = 'ERR_OMNI_LEDGER_CORRUPT';
export const LOCKED = 'ERR_OMNI_LOCKED';
/** A write through a read-only handle (`open(dir, { readOnly: true })`). */
export const READ_ONLY = 'ERR_OMNI_READ_ONLY';
export const HASH_LENGTH = 32;

export type HashName = 'sha256' | 'blake3';
export type Durability = 'always' | 'batch' | 'none';
export type Entry = Uint8Array | string | object;

export interface OpenOptions {
  /**
   * Log identity, the checkpoint origin line and signing key name (no spaces,
   * no '+'). Required to write; a read-only open takes it from `ledger.json`
   * (when given, it must match).
   */
  origin?: string;
  /**
   * Follow the log read-only, without its lock: works while another handle
   * or process writes it. Writes reject with ERR_OMNI_READ_ONLY; `bundle`
   * only uses the stored checkpoint; each read catches up with the writer.
   */
  readOnly?: boolean;
  /**
   * 32-byte Ed25519 secret seed used to sign checkpoints. A directory whose
   * last checkpoint another key signed is refused unless `rotateSigner`.
   */
  signer?: Uint8Array;
  /**
   * Rotate the checkpoint key to `signer`: signs a checkpoint of the current
   * tree with it and appends the rotation (old and new checkpoint) to
   * `<dir>/rotations`.
   */
  rotateSigner?: boolean;
  /** Tree hash. Default 'sha256' (interoperable with CT / Go tooling). */
  hash?: HashName;
  /** Default 'batch' (group commit, fsync before acknowledging). */
  durability?: Durability;
  /** Largest entry in bytes (default 1 MiB). */
  maxEntrySize?: number;
  /** Trailing entries re-hashed at open and by `verify()` (default 64). */
  tailCheck?: number;
  logger?: Logger;
}

const openSchema = z.strictObject({
  origin: z.string().min(1).optional(),
  readOnly: z.boolean().optional(),
  signer: u8(32).optional(),
  rotateSigner: z.boolean().optional(),
  hash: z.enum(['sha256', 'blake3']).optional(),
  durability: z.enum(['always', 'batch', 'none']).optional(),
  maxEntrySize: z.number().int().min(1).max(0xffff_ffff).optional(),
  tailCheck: z.number().int().min(0).max(0xffff_ffff).optional(),
  logger: z.any().optional(),
});

export interface AppendResult {
  index: number;
  leafHash: Uint8Array;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Unix milliseconds (signed, from the `timestamp` extension line). */
  timestamp?: number;
  /** Ed25519 signature over the note text. */
  signature?: Uint8Array;
  keyName?: string;
  /** The C2SP signed-note text. */
  text: string;
}

export interface Bundle {
  hash: HashName;
  index: number;
  treeSize: number;
  entry: Uint8Array;
  proof: Uint8Array[];
  /** The C2SP signed-note checkpoint text the proof leads to. */
  checkpoint: string;
}

export interface Verdict {
  valid: boolean;
  reason?: string;
}

export interface CheckpointVerdict extends Verdict {
  checkpoint: Checkpoint;
}

export interface Recovery {
  droppedEntries: number;
  truncatedDataBytes: number;
  truncatedIndexBytes: number;
  truncatedTreeBytes: number;
}

const encoder = new TextEncoder();

/**
 * Rejects what JSON would silently change: Map/Set/Date/class instances,
 * functions, symbols, `undefined`, BigInt, non-finite numbers, sparse arrays,
 * cycles. Only plain objects, arrays, strings, finite numbers, booleans and
 * null round-trip.
 */
function checkJsonValue(path: string, v: unknown, seen: Set<object>): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalidArgument(path, `${v} has no JSON form`);
    return;
  }
  if (typeof v === 'bigint') throw invalidArgument(path, 'a BigInt has no JSON form; convert it to a string (or a safe number) first');
  if (typeof v !== 'object') throw invalidArgument(path, `${v === undefined ? 'undefined' : `a ${typeof v}`} does not survive JSON`);
  if (seen.has(v)) throw invalidArgument(path, 'circular reference');
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: string } })?.constructor?.name ?? 'object';
    throw invalidArgument(path, `a ${name} does not round-trip through JSON; pass a plain object, an array or bytes`);
  }
  if (Object.getOwnPropertySymbols(v).length > 0) throw invalidArgument(path, 'symbol keys do not survive JSON');
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw invalidArgument(`${path}[${i}]`, 'a hole in a sparse array does not survive JSON');
      checkJsonValue(`${path}[${i}]`, v[i], seen);
    }
  } else {
    for (const [k, x] of Object.entries(v)) checkJsonValue(`${path}.${k}`, x, seen);
  }
  seen.delete(v);
}

/**
 * Entry bytes: a Uint8Array as is, a string as UTF-8, any other object as
 * RFC 8785 canonical JSON (so equal objects give equal entries and leaf
 * hashes); values that JSON would change are rejected.
 */
export function encodeEntry(arg: string, e: unknown): Uint8Array {
  if (e instanceof Uint8Array) return bytes(arg, e);
  if (typeof e === 'string') return encoder.encode(e);
  if (e !== null && typeof e === 'object' && !ArrayBuffer.isView(e) && !(e instanceof ArrayBuffer)) {
    checkJsonValue(arg, e, new Set());
    const json = JSON.stringify(e);
    return callNative(() => native.ledgerCanonicalJson(arg, json));
  }
  throw invalidArgument(arg, `expected a Uint8Array, a string or a JSON object, got ${describe(e)}`);
}

function index(arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArgument(arg, `expected a non-negative safe integer, got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

function optIndex(arg: string, v: unknown): number | undefined {
  return v === undefined ? undefined : index(arg, v);
}

function hashName(arg: string, v: unknown): HashName {
  if (v === undefined) return 'sha256';
  if (v === 'sha256' || v === 'blake3') return v;
  throw invalidArgument(arg, `must be 'sha256' or 'blake3', got ${typeof v === 'string' ? `'${v}'` : describe(v)}`);
}

function split(packed: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < packed.byteLength; i += HASH_LENGTH) out.push(packed.subarray(i, i + HASH_LENGTH));
  return out;
}

function packHashes(arg: string, v: unknown): Uint8Array {
  if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of ${HASH_LENGTH}-byte Uint8Arrays, got ${describe(v)}`);
  const out = new Uint8Array(v.length * HASH_LENGTH);
  v.forEach((h, i) => out.set(bytesOfLength(`${arg}[${i}]`, h, HASH_LENGTH), i * HASH_LENGTH));
  return out;
}

function checkpointOf(c: LedgerCheckpoint, text?: string): Checkpoint {
  const out: Checkpoint = { origin: c.origin, size: c.size, rootHash: c.rootHash, text: c.text ?? text ?? '' };
  if (c.timestamp !== undefined && c.timestamp !== null) out.timestamp = c.timestamp;
  if (c.signature) out.signature = c.signature;
  if (c.keyName) out.keyName = c.keyName;
  return out;
}

function bundleOf(b: LedgerBundle): Bundle {
  return { hash: b.hash as HashName, index: b.index, treeSize: b.treeSize, entry: b.entry, proof: split(b.proof), checkpoint: b.checkpoint };
}

function nativeBundle(arg: string, b: unknown): LedgerBundle {
  if (b instanceof Uint8Array) return callNative(() => native.ledgerDecodeBundle(b));
  if (b === null || typeof b !== 'object') throw invalidArgument(arg, `expected a bundle object or its encoded bytes, got ${describe(b)}`);
  const o = b as Record<string, unknown>;
  if (typeof o.checkpoint !== 'string') throw invalidArgument(`${arg}.checkpoint`, `expected a string, got ${describe(o.checkpoint)}`);
  return {
    hash: hashName(`${arg}.hash`, o.hash),
    index: index(`${arg}.index`, o.index),
    treeSize: index(`${arg}.treeSize`, o.treeSize),
    entry: bytes(`${arg}.entry`, o.entry),
    proof: packHashes(`${arg}.proof`, o.proof),
    checkpoint: o.checkpoint,
  };
}

type NativeHandle = InstanceType<typeof native.NativeLedger>;

/**
 * An entry waiting for its commit: bytes, or a string encoded as UTF-8 only
 * when the batch is packed (straight into the one buffer the addon reads).
 */
type Queued = Uint8Array | string | PackedRun;

/** Entries laid end to end (`appendPacked`): one queued item, `ends.length` entries. */
interface PackedRun {
  data: Uint8Array;
  ends: Uint32Array;
}

const isRun = (q: Queued): q is PackedRun => typeof q === 'object' && !(q instanceof Uint8Array);

/** One commit's answer: the index of its first entry and every leaf hash (32 bytes each). */
interface Committed {
  first: number;
  leafHashes: Uint8Array;
}

/**
 * A caller waiting for its `n` entries: `resolve(c, at)` is told the commit
 * and where its entries start in it (they are always one contiguous run).
 */
interface Pending {
  entries: Queued[];
  /** `n` entries in `items` queued items (a packed run is one item) */
  waiters: { n: number; items: number; resolve: (c: Committed, at: number) => void; reject: (e: unknown) => void }[];
}

/** A queued item as entries (a packed run as views of its data). */
function unrun(q: Queued): (Uint8Array | string)[] | Uint8Array | string {
  if (!isRun(q)) return q;
  const out: Uint8Array[] = new Array(q.ends.length);
  for (let i = 0, start = 0; i < q.ends.length; start = q.ends[i++]) out[i] = q.data.subarray(start, q.ends[i]);
  return out;
}

/** A waiter's entries as `AppendResult`s. */
function resultsOf(c: Committed, at: number, n: number): AppendResult[] {
  const out: AppendResult[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { index: c.first + at + i, leafHash: c.leafHashes.subarray((at + i) * 32, (at + i) * 32 + 32) };
  return out;
}

export class Ledger {
  readonly #h: NativeHandle;
  readonly #log: Logger;
  readonly #readOnly: boolean;
  readonly #durability: Durability;
  readonly #maxEntrySize: number;
  #pending: Pending | null = null;
  #inflight: Promise<void> | null = null;

  private constructor(h: NativeHandle, durability: Durability, maxEntrySize: number, log: Logger, readOnly: boolean) {
    this.#h = h;
    this.#readOnly = readOnly;
    this.#durability = durability;
    this.#maxEntrySize = maxEntrySize;
    this.#log = log;
  }

  /**
   * Opens (creating if needed) the log in `dir`. Opening a directory written
   * with another origin or hash throws; a second writer gets ERR_OMNI_LOCKED
   * (open it `readOnly` to follow it instead); a torn tail from a crash is
   * truncated and logged (`recovery`); stored data failing its check throws
   * ERR_OMNI_LEDGER_CORRUPT; a `signer` other than the key of the stored
   * checkpoint throws unless `rotateSigner`.
   */
  static async open(dir: string, opts: OpenOptions): Promise<Ledger> {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', `expected a non-empty path string, got ${describe(dir)}`);
    const o = parseOptions('opts', openSchema, opts);
    const log = loggerFor('ledger', o.logger as Logger | undefined);
    if (o.readOnly) {
      for (const k of ['signer', 'rotateSigner', 'hash', 'durability', 'maxEntrySize'] as const) {
        if (o[k] !== undefined) throw invalidArgument(`opts.${k}`, 'does not apply to a read-only open');
      }
      const h = callNative(() => native.NativeLedger.openReadOnly(dir, o.tailCheck));
      const origin = h.origin;
      if (o.origin !== undefined && o.origin !== origin) {
        h.close();
        throw invalidArgument('origin', `the ledger in ${dir} has origin '${origin}', got '${o.origin}'`);
      }
      log.debug({ dir, size: h.size }, 'ledger opened read-only');
      return new Ledger(h, 'none', 0xffff_ffff, log, true);
    }
    if (o.origin === undefined) throw invalidArgument('opts.origin', 'is required to open a ledger for writing');
    const origin = o.origin;
    const h = callNative(() =>
      native.NativeLedger.open(dir, {
        origin,
        hash: o.hash,
        durability: o.durability,
        signer: o.signer,
        rotateSigner: o.rotateSigner,
        maxEntrySize: o.maxEntrySize,
        tailCheck: o.tailCheck,
      }),
    );
    const r = h.recovery;
    if (r.droppedEntries || r.truncatedDataBytes || r.truncatedIndexBytes || r.truncatedTreeBytes) {
      log.warn({ dir, recovery: r }, 'ledger: truncated a torn tail left by an interrupted write');
    }
    log.debug({ dir, size: h.size }, 'ledger opened');
    return new Ledger(h, o.durability ?? 'batch', o.maxEntrySize ?? 1 << 20, log, false);
  }

  get size(): number {
    return callNative(() => this.#h.size);
  }
  get origin(): string {
    return callNative(() => this.#h.origin);
  }
  get hash(): HashName {
    return callNative(() => this.#h.hash) as HashName;
  }
  get publicKey(): Uint8Array | undefined {
    return callNative(() => this.#h.publicKey) ?? undefined;
  }
  get durability(): Durability {
    return this.#durability;
  }
  /** What the last open truncated (all zero when the log was clean). */
  get recovery(): Recovery {
    return callNative(() => this.#h.recovery);
  }
  get closed(): boolean {
    return this.#h.closed;
  }
  /** Opened with `readOnly` (a follower of another writer). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  #entry(arg: string, e: unknown): Queued {
    // a string can be checked against the cap without encoding it: at most 3 UTF-8 bytes per UTF-16 unit
    if (typeof e === 'string' && (e.length * 3 <= this.#maxEntrySize || Buffer.byteLength(e, 'utf8') <= this.#maxEntrySize)) return e;
    const b = encodeEntry(arg, e);
    if (b.byteLength > this.#maxEntrySize) {
      throw new OmniError(ErrorCodes.LIMIT, `${arg}: ${b.byteLength} bytes exceeds maxEntrySize ${this.#maxEntrySize}`);
    }
    return b;
  }

  async #commit(entries: Queued[]): Promise<Committed> {
    const { data, ends } = entries.length === 1 && isRun(entries[0]) ? entries[0] : packEntries('entries', entries.flatMap(unrun));
    const r = await callNativeAsync(() => this.#h.appendMany(data, ends));
    return { first: r.first, leafHashes: r.leafHashes };
  }

  /**
   * Appends are committed in call order, one commit in flight at a time.
   * 'batch'/'none': group commit — appends arriving while a commit is in
   * flight are written together by the next one (one write + fsync round).
   * 'always': each call is its own commit and fsync.
   */
  #enqueue(entries: Queued[]): Promise<AppendResult[]> {
    return this.#enqueueRun(entries, (c, at) => resultsOf(c, at, entries.length));
  }

  /** `#enqueue`, resolving to `answer(commit, offset of these entries in it)`. */
  #enqueueRun<T>(entries: Queued[], answer: (c: Committed, at: number) => T, n = entries.length): Promise<T> {
    if (this.#readOnly) return Promise.reject(new OmniError(READ_ONLY, 'ledger: opened read-only (a follower); open it for writing to append'));
    return new Promise((resolve, reject) => {
      if (!this.#pending) this.#pending = { entries: [], waiters: [] };
      const queued = this.#pending.entries;
      // a loop, not push(...entries): a spread of a large batch goes through the stack
      for (let i = 0; i < entries.length; i++) queued.push(entries[i]);
      this.#pending.waiters.push({ n, items: entries.length, resolve: (c, at) => resolve(answer(c, at)), reject });
      if (!this.#inflight) this.#inflight = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending) {
      const batch = this.#pending;
      this.#pending = null;
      if (this.#durability === 'always') {
        // One commit (and fsync) per call, in call order.
        let at = 0;
        for (const w of batch.waiters) {
          const mine = batch.entries.slice(at, at + w.items);
          at += w.items;
          try {
            w.resolve(await this.#commit(mine), 0);
          } catch (err) {
            w.reject(err);
          }
        }
        continue;
      }
      try {
        const res = await this.#commit(batch.entries);
        let at = 0;
        for (const w of batch.waiters) {
          w.resolve(res, at);
          at += w.n;
        }
      } catch (err) {
        for (const w of batch.waiters) w.reject(err);
      }
    }
    this.#inflight = null;
  }

  /** Appends one entry; resolves once it is committed per the durability mode. */
  async append(entry: Entry): Promise<AppendResult> {
    const b = this.#entry('entry', entry);
    return (await this.#enqueue([b]))[0];
  }

  /** Appends many entries in one native call and one commit. */
  async appendMany(entries: ReadonlyArray<Entry>): Promise<AppendResult[]> {
    if (!Array.isArray(entries)) throw invalidArgument('entries', `expected an array, got ${describe(entries)}`);
    const bs = entries.map((e, i) => this.#entry(`entries[${i}]`, e));
    if (bs.length === 0) return [];
    return this.#enqueue(bs);
  }

  /**
   * `appendMany` for a caller that needs only where the entries went: they
   * are committed as one contiguous run (as by `appendMany`), and this
   * resolves to the index of the first (the size before them when empty).
   * Why: building an `AppendResult` and a leaf-hash view per entry cost more
   * than the rest of the JS side of an append for a large batch (signed
   * autoblock decisions), and such callers never read them.
   */
  async appendRun(entries: ReadonlyArray<Entry>): Promise<number> {
    if (!Array.isArray(entries)) throw invalidArgument('entries', `expected an array, got ${describe(entries)}`);
    const bs = entries.map((e, i) => this.#entry(`entries[${i}]`, e));
    if (bs.length === 0) return this.size;
    return this.#enqueueRun(bs, (c, at) => c.first + at);
  }

  /**
   * `appendRun` of entries already laid end to end in `data` (`ends[i]` is
   * where entry `i` ends, the first starts at 0), committed as they are:
   * no copy and no value per entry on this thread, for batches an addon
   * returned packed (signed autoblock decisions). `data` is read off the
   * event loop and must not change until the promise settles. Checked
   * whole before it is queued (order, bounds, `maxEntrySize`), so it never
   * fails a group commit it shares with other callers.
   */
  async appendPacked(data: Uint8Array, ends: Uint32Array): Promise<number> {
    if (!(data instanceof Uint8Array)) throw invalidArgument('data', `expected a Uint8Array, got ${describe(data)}`);
    if (!(ends instanceof Uint32Array)) throw invalidArgument('ends', `expected a Uint32Array, got ${describe(ends)}`);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const e = ends[i];
      if (e < start || e > data.byteLength) throw invalidArgument(`ends[${i}]`, `${e} is out of order or past the data length ${data.byteLength}`);
      if (e - start > this.#maxEntrySize) throw new OmniError(ErrorCodes.LIMIT, `entries[${i}]: ${e - start} bytes exceeds maxEntrySize ${this.#maxEntrySize}`);
      start = e;
    }
    if (ends.length === 0) return this.size;
    return this.#enqueueRun([{ data, ends }], (c, at) => c.first + at, ends.length);
  }

  /** Entry `index` as stored (checked against its record checksum), read off the event loop. */
  async get(i: number): Promise<Uint8Array> {
    const n = index('index', i);
    return callNativeAsync(() => this.#h.get(n));
  }

  /**
   * Entries `from..to` (default: to the current size), read in chunks off the
   * event loop. A range reaching past the end stops at the last entry (like
   * `Array.prototype.slice`).
   */
  async *entries(from = 0, to?: number): AsyncGenerator<Uint8Array, void, undefined> {
    let at = index('from', from);
    const size = this.size;
    const end = to === undefined ? size : Math.min(index('to', to), size);
    while (at < end) {
      const upto = Math.min(end, at + 1024);
      const p = await callNativeAsync(() => this.#h.getRange(at, upto));
      yield* unpackBytes(p.data, p.ends);
      at += p.ends.length; // the native side may return fewer (it bounds a chunk to ~8 MiB)
    }
  }

  /** The stored leaf hash of entry `index`. */
  leafHash(i: number): Uint8Array {
    const n = index('index', i);
    return callNative(() => this.#h.leafHash(n));
  }

  /** Merkle tree hash of the first `treeSize` entries (default: all). */
  root(treeSize?: number): Uint8Array {
    const n = optIndex('treeSize', treeSize);
    return callNative(() => this.#h.root(n));
  }

  /** RFC 6962 audit path of entry `index` in the tree of `treeSize` entries (default: current size). */
  inclusionProof(i: number, treeSize?: number): Uint8Array[] {
    const n = index('index', i);
    const t = optIndex('treeSize', treeSize);
    return split(callNative(() => this.#h.inclusionProof(n, t)));
  }

  /** RFC 6962 consistency proof between two sizes (newSize default: current size). */
  consistencyProof(oldSize: number, newSize?: number): Uint8Array[] {
    const o = index('oldSize', oldSize);
    const n = optIndex('newSize', newSize);
    return split(callNative(() => this.#h.consistencyProof(o, n)));
  }

  /**
   * Signs (with `signer`) a checkpoint of the current tree after making it
   * durable and checking it extends the last signed one.
   */
  async checkpoint(): Promise<Checkpoint> {
    if (this.#inflight) await this.#inflight;
    const c = await callNativeAsync(() => this.#h.checkpoint());
    return checkpointOf(c);
  }

  /** The last signed checkpoint's text, if any. */
  lastCheckpoint(): string | undefined {
    return callNative(() => this.#h.lastCheckpoint()) ?? undefined;
  }

  /**
   * Entry + inclusion proof + covering checkpoint. When the last signed
   * checkpoint does not cover `i`, this SIGNS AND STORES a new one (needs
   * `signer`; a write, fsynced) so the bundle verifies under the current
   * key; a read-only handle only uses the stored checkpoint.
   */
  async bundle(i: number): Promise<Bundle> {
    const n = index('index', i);
    if (this.#inflight) await this.#inflight;
    return bundleOf(await callNativeAsync(() => this.#h.bundle(n)));
  }

  /** Integrity check: `full` re-hashes everything, else the last `tailCheck` entries (default 64). Throws ERR_OMNI_LEDGER_CORRUPT. */
  async verify(opts?: { full?: boolean }): Promise<void> {
    const o = parseOptions('opts', z.strictObject({ full: z.boolean().optional() }), opts ?? {});
    await callNativeAsync(() => this.#h.verify(o.full ?? false));
  }

  /** Forces appended entries to disk (useful with durability 'none'). */
  async sync(): Promise<void> {
    if (this.#inflight) await this.#inflight;
    await callNativeAsync(() => this.#h.sync());
  }

  /** Waits for pending appends, syncs and releases the directory lock. */
  async close(): Promise<void> {
    if (this.#h.closed) return;
    while (this.#inflight) await this.#inflight;
    callNative(() => this.#h.close());
    this.#log.debug('ledger closed');
  }

  // ------------------------------------------------------ instance-free

  /** `H(0x00 || entry)` with the given hash. */
  static leafHash(entry: Entry, opts?: { hash?: HashName }): Uint8Array {
    const e = encodeEntry('entry', entry);
    const h = hashName('opts.hash', opts?.hash);
    return callNative(() => native.ledgerLeafHash(h, e));
  }

  /**
   * RFC 9162 §2.1.3.2. Give `leafHash` or `entry`. Returns `{ valid, reason }`;
   * throws only for malformed arguments.
   */
  static verifyInclusion(args: {
    leafHash?: Uint8Array;
    entry?: Entry;
    index: number;
    treeSize: number;
    proof: Uint8Array[];
    rootHash: Uint8Array;
    hash?: HashName;
  }): Verdict {
    if (args === null || typeof args !== 'object') throw invalidArgument('args', `expected an object, got ${describe(args)}`);
    const h = hashName('args.hash', args.hash);
    let leaf: Uint8Array;
    if (args.leafHash !== undefined) leaf = bytesOfLength('args.leafHash', args.leafHash, HASH_LENGTH);
    else if (args.entry !== undefined) leaf = Ledger.leafHash(args.entry, { hash: h });
    else throw invalidArgument('args', 'needs leafHash or entry');
    const i = index('args.index', args.index);
    const t = index('args.treeSize', args.treeSize);
    const p = packHashes('args.proof', args.proof);
    const r = bytesOfLength('args.rootHash', args.rootHash, HASH_LENGTH);
    return verdict(callNative(() => native.ledgerVerifyInclusion(h, leaf, i, t, p, r)));
  }

  /** RFC 9162 §2.1.4.2. Returns `{ valid, reason }`. */
  static verifyConsistency(args: {
    oldSize: number;
    newSize: number;
    oldRoot: Uint8Array;
    newRoot: Uint8Array;
    proof: Uint8Array[];
    hash?: HashName;
  }): Verdict {
    if (args === null || typeof args !== 'object') throw invalidArgument('args', `expected an object, got ${describe(args)}`);
    const h = hashName('args.hash', args.hash);
    const o = index('args.oldSize', args.oldSize);
    const n = index('args.newSize', args.newSize);
    const or = bytesOfLength('args.oldRoot', args.oldRoot, HASH_LENGTH);
    const nr = bytesOfLength('args.newRoot', args.newRoot, HASH_LENGTH);
    const p = packHashes('args.proof', args.proof);
    return verdict(callNative(() => native.ledgerVerifyConsistency(h, o, n, or, nr, p)));
  }

  /**
   * Verifies a C2SP signed-note checkpoint under an Ed25519 public key (key
   * name: `keyName` or the checkpoint's origin). Malformed text throws; a wrong
   * key or bad signature gives `{ valid: false, reason }`.
   */
  static verifyCheckpoint(text: string, publicKey: Uint8Array, opts?: { keyName?: string }): CheckpointVerdict {
    if (typeof text !== 'string') throw invalidArgument('text', `expected a string, got ${describe(text)}`);
    const pk = bytesOfLength('publicKey', publicKey, 32);
    const keyName = opts?.keyName;
    const v = callNative(() => native.ledgerVerifyCheckpoint(text, pk, keyName));
    return { ...verdict(v), checkpoint: checkpointOf(v.checkpoint, text) };
  }

  /** Verifies a bundle (object or encoded bytes) offline. */
  static verifyBundle(bundle: Bundle | Uint8Array, publicKey: Uint8Array, opts?: { keyName?: string }): CheckpointVerdict {
    const b = nativeBundle('bundle', bundle);
    const pk = bytesOfLength('publicKey', publicKey, 32);
    const keyName = opts?.keyName;
    const v = callNative(() => native.ledgerVerifyBundle(b, pk, keyName));
    return { ...verdict(v), checkpoint: checkpointOf(v.checkpoint, b.checkpoint) };
  }

  /** A bundle as compact bytes (see the crate docs for the layout). */
  static encodeBundle(bundle: Bundle): Uint8Array {
    const b = nativeBundle('bundle', bundle);
    return callNative(() => native.ledgerEncodeBundle(b));
  }

  static decodeBundle(bytes: Uint8Array): Bundle {
    return bundleOf(nativeBundle('bytes', bytes));
  }
}

function verdict(v: { valid: boolean; reason?: string | null }): Verdict {
  return v.valid ? { valid: true } : { valid: false, reason: v.reason ?? 'invalid' };
}

/** The first bad index of an ERR_OMNI_LEDGER_CORRUPT error (its `index` field). */
export function corruptIndex(err: unknown): number | undefined {
  if (!(err instanceof OmniError) || err.code !== LEDGER_CORRUPT) return undefined;
  return err.index;
}
