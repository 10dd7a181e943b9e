/**
 * Worker-thread side of the scheduler. Each worker loads the addon (shared
 * native queues), blocks natively for a batch of tasks, runs the task
 * functions of the user's module, and posts the results back in one native
 * call. Control messages (task names, shared buffers) arrive on a
 * MessagePort and are read synchronously when a task needs them.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { native } from '../native.js';
import {
  CANCEL_RING, COMPLETION_HEADER, FLAG_MAP, STATUS_NO_SUCH_TASK, STATUS_OK, STATUS_SKIPPED, STATUS_THREW,
  STATUS_UNSERIALIZABLE, TASK_HEADER, Writer, errorPayload, readValue, stateViews, type SharedTable,
} from './codec.js';
import { openChannel, type Channel, type ChannelHandle } from './channel.js';

interface WorkerInit {
  schedId: number;
  slot: number;
  tasks: string;
  names: string[];
  shared: [number, SharedArrayBuffer][];
  control: MessagePort;
  state: SharedArrayBuffer;
}

export type ControlMessage =
  | { type: 'names'; names: string[] }
  | { type: 'share'; id: number; sab: SharedArrayBuffer }
  | { type: 'unshare'; id: number };

/** What a task function receives as its second argument. */
export interface TaskContext {
  readonly taskId: number;
  /** Aborted when the task is cancelled or times out (created on first use). */
  readonly signal: AbortSignal;
  /** True once cancellation was requested (polls the shared cancel slot). */
  cancelled(): boolean;
  /** Throws an `AbortError` if the task was cancelled; call it from long synchronous loops. */
  throwIfCancelled(): void;
  /** Opens a channel created with `scheduler.channel()` and passed in the task input. */
  channel<T>(handle: ChannelHandle<T>): Channel<T>;
}

const init = workerData as WorkerInit;
const { schedId, slot, control } = init;
const views = stateViews(init.state);
const names: string[] = init.names.slice();
const sharedBuffers = new Map<number, SharedArrayBuffer>(init.shared);
let seenGen = 0;
const cancelledIds = new Set<number>();

function pumpControl(): void {
  for (;;) {
    const m = receiveMessageOnPort(control);
    if (!m) return;
    const msg = m.message as ControlMessage;
    if (msg.type === 'names') for (let i = names.length; i < msg.names.length; i++) names[i] = msg.names[i];
    else if (msg.type === 'share') sharedBuffers.set(msg.id, msg.sab);
    else if (msg.type === 'unshare') sharedBuffers.delete(msg.id);
  }
}

const shared: SharedTable = {
  get(id) {
    let s = sharedBuffers.get(id);
    if (!s) {
      pumpControl();
      s = sharedBuffers.get(id);
    }
    if (!s) throw new Error(`shared buffer ${id} is not known to this worker`);
    return s;
  },
};

function pollCancels(): void {
  const g = Atomics.load(views.gen, 0);
  if (g === seenGen) return;
  const from = Math.max(seenGen, g - CANCEL_RING);
  for (let i = from; i < g; i++) cancelledIds.add(views.ring[i % CANCEL_RING]);
  seenGen = g;
}

class Ctx implements TaskContext {
  private ac: AbortController | undefined;
  constructor(readonly taskId: number) {}
  get signal(): AbortSignal {
    if (!this.ac) {
      this.ac = new AbortController();
      if (this.cancelled()) this.ac.abort(abortReason(this.taskId));
    }
    return this.ac.signal;
  }
  cancelled(): boolean {
    pollCancels();
    return cancelledIds.has(this.taskId);
  }
  /** Aborts the signal if cancellation arrived; returns whether it did. */
  check(): boolean {
    if (!this.cancelled()) return false;
    if (this.ac && !this.ac.signal.aborted) this.ac.abort(abortReason(this.taskId));
    return true;
  }
  throwIfCancelled(): void {
    if (this.check()) throw abortReason(this.taskId);
  }
  channel<T>(handle: ChannelHandle<T>): Channel<T> {
    return openChannel(handle);
  }
}

function abortReason(id: number): Error {
  const e = new Error(`task ${id} was cancelled`);
  e.name = 'AbortError';
  return e;
}

type TaskFn = (input: unknown, ctx: TaskContext) => unknown;
let mod: Record<string, unknown> = {};
const fnCache = new Map<number, TaskFn | null>();

function lookup(nameIdx: number): TaskFn | null {
  let f = fnCache.get(nameIdx);
  if (f !== undefined) return f;
  if (names[nameIdx] === undefined) pumpControl();
  const name = names[nameIdx];
  const def = mod.default as Record<string, unknown> | undefined;
  const cand = name === undefined ? undefined : (mod[name] ?? (def && typeof def === 'object' ? def[name] : undefined));
  f = typeof cand === 'function' ? (cand as TaskFn) : null;
  if (name !== undefined) fnCache.set(nameIdx, f);
  return f;
}

async function awaitWithCancel(p: PromiseLike<unknown>, ctx: Ctx): Promise<unknown> {
  const timer = setInterval(() => ctx.check(), 5);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}

function runMapChunk(fn: TaskFn, start: number, items: ArrayLike<unknown>, ctx: Ctx): unknown {
  const out = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = (fn as unknown as (item: unknown, index: number, ctx: TaskContext) => unknown)(items[i], start + i, ctx);
    if (out[i] !== null && typeof (out[i] as PromiseLike<unknown>)?.then === 'function') {
      throw new Error('map task functions must be synchronous (use run() for async tasks)');
    }
  }
  return out;
}

const w = new Writer();
let busyNs = 0;

function flush(): void {
  if (w.off === 0 && busyNs === 0) return;
  const wake = native.schedComplete(schedId, slot, w.bytes(), busyNs);
  w.reset();
  busyNs = 0;
  if (wake) parentPort!.postMessage(0);
}

function writeResult(id: number, status: number, value: unknown): void {
  const at = w.completionHeader(id, status);
  try {
    w.value(value);
  } catch (e) {
    w.rewind(at);
    const at2 = w.completionHeader(id, STATUS_UNSERIALIZABLE);
    w.value(`result of task ${id} could not be serialized: ${(e as Error).message}`);
    w.endRecord(at2, COMPLETION_HEADER);
    return;
  }
  w.endRecord(at, COMPLETION_HEADER);
}

// Unknown cost at first: start with small batches so slow tasks stay spread over the workers.
let perTaskMs = 0.1;

async function loop(): Promise<void> {
  for (;;) {
    const max = perTaskMs < 0.02 ? 512 : perTaskMs < 0.5 ? 32 : 1;
    let buf: Buffer | null;
    try {
      buf = native.schedTake(schedId, slot, max, 50);
    } catch {
      return; // closed
    }
    if (!buf) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    const batchStart = performance.now();
    let lastFlush = batchStart;
    let count = 0;
    let off = 0;
    while (off < buf.length) {
      const id = buf.readDoubleLE(off);
      const len = buf.readUInt32LE(off + 8);
      const nameIdx = buf.readUInt32LE(off + 12);
      const flags = buf.readUInt32LE(off + 20);
      const start = off + TASK_HEADER;
      off = start + len;
      count++;
      pollCancels();
      if (cancelledIds.has(id)) {
        cancelledIds.delete(id);
        writeResult(id, STATUS_SKIPPED, undefined);
        continue;
      }
      const fn = lookup(nameIdx);
      if (!fn) {
        writeResult(id, STATUS_NO_SUCH_TASK, names[nameIdx] ?? `#${nameIdx}`);
        continue;
      }
      views.current[0] = id;
      const ctx = new Ctx(id);
      try {
        let r =
          flags & FLAG_MAP
            ? runMapChunk(fn, buf.readDoubleLE(start + 1), readValue(buf, start + 9, start + len, shared) as ArrayLike<unknown>, ctx)
            : fn(readValue(buf, start, start + len, shared), ctx);
        if (r !== null && typeof (r as PromiseLike<unknown>)?.then === 'function') {
          r = await awaitWithCancel(r as PromiseLike<unknown>, ctx);
        }
        writeResult(id, STATUS_OK, r);
      } catch (e) {
        writeResult(id, STATUS_THREW, errorPayload(e));
      }
      views.current[0] = -1;
      cancelledIds.delete(id);
      const now = performance.now();
      if (now - lastFlush > 2) {
        busyNs += (now - lastFlush) * 1e6;
        lastFlush = now;
        flush();
        // Slow batch while another worker idles: give the unstarted rest back
        // to our local deque, where it can be stolen.
        if (off < buf.length && native.schedIdleWorkers(schedId) > 0) {
          const rest: number[] = [];
          for (let o = off; o < buf.length; o = o + TASK_HEADER + buf.readUInt32LE(o + 8)) rest.push(buf.readDoubleLE(o));
          native.schedRelease(schedId, slot, rest);
          break;
        }
      }
    }
    const end = performance.now();
    busyNs += (end - lastFlush) * 1e6;
    flush();
    const per = (end - batchStart) / count;
    perTaskMs = perTaskMs * 0.5 + per * 0.5;
  }
}

async function main(): Promise<void> {
  views.current[0] = -1;
  const spec = init.tasks;
  const url = /^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec) ? spec : pathToFileURL(spec).href;
  mod = (await import(url)) as Record<string, unknown>;
  pumpControl();
  parentPort!.postMessage({ type: 'ready' });
  await loop();
  control.close();
}

main().catch((e) => {
  // Surfaces as the worker's 'error' event; the main thread reports it.
  throw e;
});
