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
import { ErrorCodes, fromNative, OmniError } from '../errors.js';
import { SchedulerErrorCodes } from './errors.js';
import {
  CANCEL_RING, COMPLETION_HEADER, FLAG_MAP, FLAG_NAMED, STATUS_NO_SUCH_TASK, STATUS_OK, STATUS_SKIPPED, STATUS_THREW,
  STATUS_UNSERIALIZABLE, STATUS_WORKER_LOST, TASK_HEADER, Writer, errorPayload, readValue, stateViews, type SharedTable,
} from './codec.js';
import { openChannel, type Channel, type ChannelHandle } from './channel.js';
import { completions } from './completions.js';
import { asBuffer } from './native-buffer.js';

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
  /**
   * Spawns subtask `name` from inside this task. It is pushed onto this
   * worker's own native deque (idle workers steal from it) and its result
   * comes back to this task. While an async task awaits its subtasks, its
   * worker keeps executing other queued tasks, so recursive fan-out does not
   * deadlock even when every worker is waiting. Cancelling this task cancels
   * its queued subtasks (they never run) and rejects their promises with an
   * `ERR_OMNI_TASK_CANCELLED` error; a subtask already running on another
   * worker finishes and its result is dropped. Inputs are serialized like
   * `scheduler.run` inputs, except that SharedArrayBuffers are not shared.
   */
  run<R = unknown>(name: string, input?: unknown, options?: SubtaskOptions): Promise<R>;
  /** `fn(item, index, ctx)` of task `name` over `items` as subtasks of `chunkSize` items (default: 8 chunks); results in order. */
  map<R = unknown>(name: string, items: ArrayLike<unknown>, options?: SubtaskOptions & { chunkSize?: number }): Promise<R[]>;
}

export interface SubtaskOptions {
  /** Aborting it cancels the subtask like a parent cancellation does. */
  signal?: AbortSignal;
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

interface ChildWait {
  name: string;
  parent: Ctx;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
/** Subtasks spawned by tasks of this worker, by id, until their result arrives. */
const children = new Map<number, ChildWait>();
const spawnWriter = new Writer(1024);

function nameIndexOf(name: string): number {
  let i = names.indexOf(name);
  if (i < 0) {
    pumpControl();
    i = names.indexOf(name);
  }
  return i;
}

function childError(code: string, message: string, cause?: unknown): OmniError {
  return new OmniError(code as never, message, cause === undefined ? undefined : { cause });
}

class Ctx implements TaskContext {
  private ac: AbortController | undefined;
  private kidSet: Set<number> | undefined;
  constructor(readonly taskId: number) {}
  /** Outstanding subtasks of this task (created on first spawn). */
  get kids(): Set<number> {
    return (this.kidSet ??= new Set<number>());
  }
  get hasKids(): boolean {
    return this.kidSet !== undefined && this.kidSet.size > 0;
  }
  run<R = unknown>(name: string, input?: unknown, options?: SubtaskOptions): Promise<R> {
    return this.spawn(name, 0, options?.signal, (w) => w.value(input)) as Promise<R>;
  }
  async map<R = unknown>(name: string, items: ArrayLike<unknown>, options?: SubtaskOptions & { chunkSize?: number }): Promise<R[]> {
    const isView = ArrayBuffer.isView(items) && !(items instanceof DataView);
    if (!Array.isArray(items) && !isView) {
      throw childError('ERR_OMNI_INVALID_ARGUMENT', `items: expected an array or a typed array, got ${items === null ? 'null' : typeof items}`);
    }
    const n = items.length;
    const chunk = options?.chunkSize ?? Math.max(1, Math.ceil(n / 8));
    if (!Number.isInteger(chunk) || chunk < 1) throw childError('ERR_OMNI_INVALID_ARGUMENT', `options.chunkSize: expected an integer >= 1, got ${chunk}`);
    const parts: Promise<unknown>[] = [];
    for (let a = 0; a < n; a += chunk) {
      const b = Math.min(n, a + chunk);
      const slice = isView ? (items as unknown as Uint8Array).slice(a, b) : (items as unknown[]).slice(a, b);
      parts.push(
        this.spawn(name, FLAG_MAP, options?.signal, (w) => {
          w.value(a);
          w.value(slice);
        }),
      );
    }
    const done = (await Promise.all(parts)) as R[][];
    return done.flat() as R[];
  }
  private spawn(name: string, flags: number, signal: AbortSignal | undefined, write: (w: Writer) => void): Promise<unknown> {
    if (typeof name !== 'string' || name === '') {
      return Promise.reject(childError('ERR_OMNI_INVALID_ARGUMENT', `name: expected a non-empty string, got ${typeof name}`));
    }
    if (this.cancelled()) return Promise.reject(childError(SchedulerErrorCodes.TASK_CANCELLED, `subtask '${name}' not started: task ${this.taskId} was cancelled`));
    if (signal?.aborted) return Promise.reject(childError(SchedulerErrorCodes.TASK_CANCELLED, `subtask '${name}' was cancelled`, signal.reason));
    const sw = spawnWriter;
    sw.reset();
    let idx = nameIndexOf(name);
    if (idx < 0) {
      const len = Buffer.byteLength(name);
      sw.ensure(4 + len);
      sw.buf.writeUInt32LE(len, 0);
      sw.buf.write(name, 4, 'utf8');
      sw.off = 4 + len;
      flags |= FLAG_NAMED;
      idx = 0xffffffff;
    }
    let id: number;
    try {
      write(sw);
      id = native.schedSpawn(schedId, slot, this.taskId, idx, flags, sw.bytes());
    } catch (e) {
      return Promise.reject(e instanceof OmniError ? e : childError('ERR_OMNI_INVALID_ARGUMENT', `input: subtask '${name}' input could not be serialized: ${(e as Error).message}`, e));
    }
    this.kids.add(id);
    return new Promise((resolve, reject) => {
      children.set(id, { name, parent: this, resolve, reject });
      if (signal) {
        signal.addEventListener('abort', () => cancelChild(id, `subtask '${name}' (id ${id}) was cancelled`, signal.reason), { once: true });
      }
    });
  }
  /** Cancels every outstanding subtask of this task. */
  cancelKids(): void {
    for (const id of [...this.kids]) cancelChild(id, `subtask '${children.get(id)?.name}' (id ${id}) cancelled: task ${this.taskId} was cancelled`);
  }
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
    if (this.hasKids) this.cancelKids();
    return true;
  }
  throwIfCancelled(): void {
    if (this.check()) throw abortReason(this.taskId);
  }
  channel<T>(handle: ChannelHandle<T>): Channel<T> {
    return openChannel(handle);
  }
}

function cancelChild(id: number, message: string, cause?: unknown): void {
  const c = children.get(id);
  if (!c) return;
  children.delete(id);
  c.parent.kids.delete(id);
  try {
    native.schedCancel(schedId, id); // queued: never runs; running elsewhere: its result is dropped
  } catch {
    /* closed */
  }
  c.reject(childError(SchedulerErrorCodes.TASK_CANCELLED, message, cause));
}

/** Settles the subtasks whose results came back to this worker; true if any did. */
function deliverChildren(): boolean {
  let b: Buffer | null;
  try {
    b = asBuffer(native.schedChildResults(schedId, slot));
  } catch (err) {
    // closed: the scheduler is going away and cancels everything itself
    if (fromNative(err).code === ErrorCodes.CLOSED) return false;
    // otherwise the results cannot be read: fail the waiting subtasks instead of leaving them pending
    for (const [id, c] of [...children]) {
      children.delete(id);
      c.parent.kids.delete(id);
      c.reject(childError(ErrorCodes.INTERNAL, `subtask '${c.name}' (id ${id}): its result could not be read: ${fromNative(err).message}`, err));
    }
    return true;
  }
  if (!b) return false;
  for (const { id, status, start, end } of completions(b)) {
    const len = end - start;
    const c = children.get(id);
    if (!c) continue;
    children.delete(id);
    c.parent.kids.delete(id);
    let v: unknown;
    try {
      v = len > 0 ? readValue(b, start, start + len, shared) : undefined;
    } catch (e) {
      c.reject(childError('ERR_OMNI_INTERNAL', `subtask '${c.name}' (id ${id}): result could not be decoded: ${(e as Error).message}`, e));
      continue;
    }
    const what = `subtask '${c.name}' (id ${id})`;
    if (status === STATUS_OK) c.resolve(v);
    else if (status === STATUS_THREW) {
      const info = (v ?? {}) as { message?: string };
      c.reject(childError(SchedulerErrorCodes.TASK_FAILED, `${what} threw: ${info.message ?? String(v)}`, Object.assign(new Error(info.message ?? String(v)), info)));
    } else if (status === STATUS_SKIPPED) c.reject(childError(SchedulerErrorCodes.TASK_CANCELLED, `${what} was cancelled`));
    else if (status === STATUS_NO_SUCH_TASK) c.reject(childError('ERR_OMNI_INVALID_ARGUMENT', `name: the task module exports no function '${c.name}'`));
    else if (status === STATUS_WORKER_LOST) c.reject(childError(SchedulerErrorCodes.WORKER_CRASHED, `${what}: the worker running it died`));
    else c.reject(childError(SchedulerErrorCodes.TASK_FAILED, `${what}: ${String(v)}`));
  }
  return true;
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

const fnByName = new Map<string, TaskFn | null>();
function lookupName(name: string): TaskFn | null {
  let f = fnByName.get(name);
  if (f !== undefined) return f;
  const def = mod.default as Record<string, unknown> | undefined;
  const cand = mod[name] ?? (def && typeof def === 'object' ? def[name] : undefined);
  f = typeof cand === 'function' ? (cand as TaskFn) : null;
  fnByName.set(name, f);
  return f;
}

/** Set by the main loop while it holds a taken batch: gives its unstarted rest back (stealable). */
let releaseRest: (() => void) | null = null;
/** Time spent parked inside `awaitTask` (not busy), subtracted from busy time. */
let parkedMs = 0;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
let lastTick = 0;
/** Lets promise continuations run; a full event-loop turn (timers, messages) at most every 2 ms. */
async function yieldSome(): Promise<void> {
  const t = performance.now();
  if (t - lastTick > 2) {
    lastTick = t;
    await tick();
  } else {
    for (let i = 0; i < 4; i++) await null;
  }
}

/**
 * Awaits an async task. While the task has subtasks outstanding, this worker
 * delivers their results and executes other queued tasks (its own deque
 * first, else stolen ones) instead of idling: the "help while joining" of
 * rayon, which keeps recursive fan-out from deadlocking.
 */
async function awaitTask(p: PromiseLike<unknown>, ctx: Ctx): Promise<unknown> {
  let settled = false;
  const pr = Promise.resolve(p);
  pr.then(
    () => (settled = true),
    () => (settled = true),
  );
  await null;
  while (!settled) {
    ctx.check();
    if (w.off > 0) flush();
    if (deliverChildren()) {
      await yieldSome();
      continue;
    }
    if (children.size > 0) {
      if (releaseRest) releaseRest();
      const t0 = performance.now();
      let b: Buffer | null = null;
      try {
        b = asBuffer(native.schedTake(schedId, slot, 1, 2));
      } catch {
        b = null;
      }
      if (b) {
        for (let off = 0; off < b.length; ) {
          const len = b.readUInt32LE(off + 8);
          const r = execute(b, off);
          if (r) await r;
          off += TASK_HEADER + len;
          flush();
        }
      } else parkedMs += performance.now() - t0;
      await yieldSome();
    } else {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 5);
        pr.then(
          () => (clearTimeout(t), resolve()),
          () => (clearTimeout(t), resolve()),
        );
      });
    }
  }
  return pr;
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

/** Runs the task record at `at` of `buf`; returns a promise only for async tasks. */
function execute(buf: Buffer, at: number): Promise<void> | undefined {
  const id = buf.readDoubleLE(at);
  const len = buf.readUInt32LE(at + 8);
  const nameIdx = buf.readUInt32LE(at + 12);
  const flags = buf.readUInt32LE(at + 20);
  let start = at + TASK_HEADER;
  const end = start + len;
  pollCancels();
  if (cancelledIds.has(id)) {
    cancelledIds.delete(id);
    writeResult(id, STATUS_SKIPPED, undefined);
    return;
  }
  let fn: TaskFn | null;
  let name: string | undefined;
  if (flags & FLAG_NAMED) {
    const nl = buf.readUInt32LE(start);
    name = buf.toString('utf8', start + 4, start + 4 + nl);
    fn = lookupName(name);
    start += 4 + nl;
  } else fn = lookup(nameIdx);
  if (!fn) {
    writeResult(id, STATUS_NO_SUCH_TASK, name ?? names[nameIdx] ?? `#${nameIdx}`);
    return;
  }
  const prev = views.current[0];
  views.current[0] = id;
  const ctx = new Ctx(id);
  let r: unknown;
  try {
    r =
      flags & FLAG_MAP
        ? runMapChunk(fn, buf.readDoubleLE(start + 1), readValue(buf, start + 9, end, shared) as ArrayLike<unknown>, ctx)
        : fn(readValue(buf, start, end, shared), ctx);
  } catch (e) {
    writeResult(id, STATUS_THREW, errorPayload(e));
    views.current[0] = prev;
    cancelledIds.delete(id);
    return;
  }
  if (r !== null && typeof (r as PromiseLike<unknown>)?.then === 'function') {
    return finishAsync(id, prev, awaitTask(r as PromiseLike<unknown>, ctx));
  }
  writeResult(id, STATUS_OK, r);
  views.current[0] = prev;
  cancelledIds.delete(id);
  return;
}

async function finishAsync(id: number, prev: number, p: Promise<unknown>): Promise<void> {
  try {
    writeResult(id, STATUS_OK, await p);
  } catch (e) {
    writeResult(id, STATUS_THREW, errorPayload(e));
  }
  views.current[0] = prev;
  cancelledIds.delete(id);
}

// Unknown cost at first: start with small batches so slow tasks stay spread over the workers.
let perTaskMs = 0.1;

async function loop(): Promise<void> {
  for (;;) {
    const max = perTaskMs < 0.02 ? 512 : perTaskMs < 0.5 ? 32 : 1;
    let buf: Buffer | null;
    try {
      buf = asBuffer(native.schedTake(schedId, slot, max, 50));
    } catch {
      return; // closed
    }
    if (!buf) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    const batchStart = performance.now();
    let lastFlush = batchStart;
    let released = false;
    const batch = buf;
    releaseRest = () => {
      releaseRest = null;
      if (off >= batch.length) return;
      const rest: number[] = [];
      for (let o = off; o < batch.length; o = o + TASK_HEADER + batch.readUInt32LE(o + 8)) rest.push(batch.readDoubleLE(o));
      native.schedRelease(schedId, slot, rest);
      released = true;
    };
    let count = 0;
    let off = 0;
    while (off < buf.length) {
      const len = buf.readUInt32LE(off + 8);
      const at = off;
      off = at + TASK_HEADER + len;
      count++;
      const r = execute(buf, at);
      if (r) await r;
      if (released) break;
      const now = performance.now();
      if (now - lastFlush > 2) {
        busyNs += Math.max(0, now - lastFlush - parkedMs) * 1e6;
        parkedMs = 0;
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
    releaseRest = null;
    const end = performance.now();
    busyNs += Math.max(0, end - lastFlush - parkedMs) * 1e6;
    parkedMs = 0;
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
