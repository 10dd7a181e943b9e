/**
 * Typed channels between running tasks (and the main thread), backed by a
 * native bounded queue shared by every thread of the process. A full channel
 * applies backpressure: `sendSync` blocks (workers), `send` waits (anywhere).
 */
import { callNative, ErrorCodes, fromNative, OmniError } from '../errors.js';
import { native } from '../native.js';
import { Writer, readValue } from './codec.js';
import { asBuffer } from './native-buffer.js';

/** Serializable reference to a channel: pass it in a task's input. */
export interface ChannelHandle<T = unknown> {
  readonly __omniChannel: number;
  readonly capacity: number;
  /** phantom type marker */
  readonly __type?: T;
}

const enc = new Writer(256);

function encode(v: unknown): Buffer {
  enc.reset();
  enc.value(v);
  return enc.bytes();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Channel<T = unknown> implements AsyncIterable<T> {
  readonly handle: ChannelHandle<T>;

  constructor(handle: ChannelHandle<T>) {
    this.handle = handle;
  }

  get id(): number {
    return this.handle.__omniChannel;
  }

  /** Messages waiting. */
  get size(): number {
    return callNative(() => native.chanLen(this.id));
  }

  /** Sends without waiting; `false` when the channel is full. */
  trySend(value: T): boolean {
    const b = encode(value);
    return callNative(() => native.chanSend(this.id, b, 0));
  }

  /** Blocks the calling thread while full (use inside worker tasks). `false` on timeout. */
  sendSync(value: T, timeoutMs = Infinity): boolean {
    const b = encode(value);
    return callNative(() => native.chanSend(this.id, b, timeoutMs === Infinity ? 2 ** 31 : timeoutMs));
  }

  /** Waits (without blocking the event loop) until there is room. */
  async send(value: T): Promise<void> {
    const b = Buffer.from(encode(value));
    for (let wait = 0; ; wait = Math.min(wait ? wait * 2 : 1, 20)) {
      if (callNative(() => native.chanSend(this.id, b, 0))) return;
      await sleep(wait);
    }
  }

  /** Receives without waiting: `{ done: false, value }`, or `undefined` when empty. */
  tryRecv(): IteratorResult<T> | undefined {
    return this.recvTimeout(0);
  }

  /** Blocks the calling thread up to `timeoutMs`; `{ done: true }` once closed and drained. */
  recvSync(timeoutMs = Infinity): IteratorResult<T> | undefined {
    return this.recvTimeout(timeoutMs === Infinity ? 2 ** 31 : timeoutMs);
  }

  private recvTimeout(ms: number): IteratorResult<T> | undefined {
    let m: Buffer | null;
    try {
      m = asBuffer(native.chanRecv(this.id, ms));
    } catch (e) {
      const err = fromNative(e);
      if (err.code === ErrorCodes.CLOSED) return { done: true, value: undefined };
      throw err;
    }
    if (!m) return undefined;
    return { done: false, value: readValue(m, 0, m.length) as T };
  }

  /** Waits for the next message; `{ done: true }` once closed and drained. */
  async recv(): Promise<IteratorResult<T>> {
    for (let wait = 0; ; wait = Math.min(wait ? wait * 2 : 1, 20)) {
      const r = this.recvTimeout(0);
      if (r) return r;
      await sleep(wait);
    }
  }

  /** No more sends; receivers get what is left, then `done`. */
  close(): void {
    callNative(() => native.chanClose(this.id));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const r = await this.recv();
      if (r.done) return;
      yield r.value;
    }
  }
}

/** Creates a channel holding at most `capacity` messages. */
export function createChannel<T>(capacity = 64): Channel<T> {
  const id = callNative(() => native.chanCreate(capacity));
  return new Channel<T>({ __omniChannel: id, capacity });
}

/** Opens a channel from its handle (in any thread of the process). */
export function openChannel<T>(handle: ChannelHandle<T>): Channel<T> {
  if (!handle || typeof handle.__omniChannel !== 'number') {
    throw new OmniError(ErrorCodes.INVALID_ARGUMENT, 'handle: expected a channel handle ({ __omniChannel })');
  }
  return new Channel<T>(handle);
}
