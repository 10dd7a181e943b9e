/**
 * Value and batch encoding shared by the main thread and the workers. The
 * packed layouts match `omnitide-scheduler::wire` (little endian):
 *   task:       id f64 | len u32 | name u32 | priority i32 | flags u32 | payload
 *   completion: id f64 | len u32 | status u8 | pad[3]                  | payload
 * A payload is one tagged value; plain numbers and strings skip `v8.serialize`.
 */
import * as v8 from 'node:v8';

export const TASK_HEADER = 24;
export const COMPLETION_HEADER = 16;

export const FLAG_MAP = 1;
/** Subtask whose function name travels in the payload (`u32 length + utf8`) instead of the name table. */
export const FLAG_NAMED = 2;

export const STATUS_OK = 0;
export const STATUS_THREW = 1;
export const STATUS_SKIPPED = 2;
export const STATUS_NO_SUCH_TASK = 3;
export const STATUS_UNSERIALIZABLE = 4;
/** Written natively: the worker running a subtask died. */
export const STATUS_WORKER_LOST = 5;

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_TRUE = 2;
const T_FALSE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_V8 = 6;
const T_SHARED_VIEW = 7;
const T_SHARED_BUFFER = 8;

/** Typed array constructors that can travel as a shared view (index = wire kind). */
export const VIEW_KINDS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
export type SharedView = InstanceType<(typeof VIEW_KINDS)[number]>;

/** Resolves SharedArrayBuffers to ids (main side) and back (worker side). */
export interface SharedTable {
  idOf?(sab: SharedArrayBuffer): number;
  get(id: number): SharedArrayBuffer;
}

export class Writer {
  buf: Buffer;
  off = 0;

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): void {
    this.off = 0;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.off);
    this.buf = b;
  }

  /** Writes a task header; returns its offset for `endRecord`. */
  taskHeader(id: number, name: number, priority: number, flags: number): number {
    this.ensure(TASK_HEADER);
    const at = this.off;
    const b = this.buf;
    b.writeDoubleLE(id, at);
    b.writeUInt32LE(name, at + 12);
    b.writeInt32LE(priority, at + 16);
    b.writeUInt32LE(flags, at + 20);
    this.off = at + TASK_HEADER;
    return at;
  }

  completionHeader(id: number, status: number): number {
    this.ensure(COMPLETION_HEADER);
    const at = this.off;
    this.buf.writeDoubleLE(id, at);
    this.buf.writeUInt32LE(status, at + 12);
    this.off = at + COMPLETION_HEADER;
    return at;
  }

  /** Patches the payload length of the record at `at` (header size `header`). */
  endRecord(at: number, header: number): void {
    this.buf.writeUInt32LE(this.off - at - header, at + 8);
  }

  /** Drops a record started at `at` (e.g. its value failed to serialize). */
  rewind(at: number): void {
    this.off = at;
  }

  value(v: unknown, shared?: SharedTable): void {
    switch (typeof v) {
      case 'number':
        this.ensure(9);
        this.buf[this.off] = T_NUMBER;
        this.buf.writeDoubleLE(v, this.off + 1);
        this.off += 9;
        return;
      case 'string': {
        this.ensure(1 + v.length * 3);
        this.buf[this.off] = T_STRING;
        this.off += 1 + this.buf.write(v, this.off + 1, 'utf8');
        return;
      }
      case 'undefined':
        return this.tag(T_UNDEFINED);
      case 'boolean':
        return this.tag(v ? T_TRUE : T_FALSE);
      default:
        if (v === null) return this.tag(T_NULL);
        if (shared?.idOf) {
          if (v instanceof SharedArrayBuffer) {
            this.ensure(5);
            this.buf[this.off] = T_SHARED_BUFFER;
            this.buf.writeUInt32LE(shared.idOf(v), this.off + 1);
            this.off += 5;
            return;
          }
          if (ArrayBuffer.isView(v) && v.buffer instanceof SharedArrayBuffer && !(v instanceof DataView)) {
            const kind = VIEW_KINDS.findIndex((C) => v instanceof C);
            if (kind >= 0) return this.sharedView(shared.idOf(v.buffer), kind, v.byteOffset, (v as SharedView).length);
          }
        }
        {
          const s = v8.serialize(v);
          this.ensure(1 + s.length);
          this.buf[this.off] = T_V8;
          s.copy(this.buf, this.off + 1);
          this.off += 1 + s.length;
        }
    }
  }

  sharedView(id: number, kind: number, byteOffset: number, length: number): void {
    this.ensure(18);
    const b = this.buf;
    b[this.off] = T_SHARED_VIEW;
    b.writeUInt32LE(id, this.off + 1);
    b[this.off + 5] = kind;
    b.writeDoubleLE(byteOffset, this.off + 6);
    b.writeUInt32LE(length, this.off + 14);
    this.off += 18;
  }

  private tag(t: number): void {
    this.ensure(1);
    this.buf[this.off++] = t;
  }
}

/** Decodes the tagged value in `buf[start, end)`. */
export function readValue(buf: Buffer, start: number, end: number, shared?: SharedTable): unknown {
  switch (buf[start]) {
    case T_NUMBER:
      return buf.readDoubleLE(start + 1);
    case T_STRING:
      return buf.toString('utf8', start + 1, end);
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_V8:
      return v8.deserialize(buf.subarray(start + 1, end));
    case T_SHARED_BUFFER:
      return need(shared).get(buf.readUInt32LE(start + 1));
    case T_SHARED_VIEW: {
      const sab = need(shared).get(buf.readUInt32LE(start + 1));
      const C = VIEW_KINDS[buf[start + 5]];
      return new C(sab as unknown as ArrayBuffer, buf.readDoubleLE(start + 6), buf.readUInt32LE(start + 14));
    }
    default:
      throw new Error(`corrupt payload tag ${buf[start]}`);
  }
}

function need(s: SharedTable | undefined): SharedTable {
  if (!s) throw new Error('a SharedArrayBuffer reference arrived without a shared table');
  return s;
}

/** Plain description of a thrown value that survives serialization. */
export function errorPayload(e: unknown): unknown {
  if (e instanceof Error) {
    const o: Record<string, unknown> = { name: e.name, message: e.message, stack: e.stack };
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') o.code = code;
    return o;
  }
  try {
    v8.serialize(e);
    return { name: 'NonError', message: String(e), value: e };
  } catch {
    return { name: 'NonError', message: String(e) };
  }
}

/** Layout of each worker's shared state block. */
export const STATE_BYTES = 16 + 64 * 8;
export const CANCEL_RING = 64;
export function stateViews(sab: SharedArrayBuffer) {
  return {
    /** [0]: id of the task being run, -1 when none. */
    current: new Float64Array(sab, 0, 1),
    /** [0]: cancel generation (incremented per cancel request). */
    gen: new Int32Array(sab, 8, 2),
    /** ring of cancelled task ids, `gen % CANCEL_RING` */
    ring: new Float64Array(sab, 16, CANCEL_RING),
  };
}
