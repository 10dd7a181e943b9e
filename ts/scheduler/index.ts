/**
 * `omnitide/scheduler`: a work-stealing task scheduler for Node. The queues,
 * stealing and wake-ups live in native memory shared by every worker thread
 * (crate `omnitide-scheduler`); workers take batches of tasks with one native
 * call and post results back the same way, so dispatch costs no MessagePort
 * round trip per task.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import { callNative, ErrorCodes, fromNative, type OmniError, type OmniErrorCode } from '../errors.js';
import { loggerFor, type Logger } from '../logger.js';
import { native } from '../native.js';
import { parseOptions } from '../validate.js';
import { FLAG_MAP, STATE_BYTES, TASK_HEADER, Writer, stateViews, CANCEL_RING, type SharedTable } from './codec.js';
import { completions, decodeCompletion } from './completions.js';
import { createChannel, type Channel } from './channel.js';
import { Graph } from './graph.js';
import { NativeKernels } from './kernels.js';
import { omni, SchedulerErrorCodes } from './errors.js';
import {
  closeSchema, mapSchema, optionsSchema, runSchema,
  type MapOptions, type RunOptions, type SchedulerOptions, type SchedulerStats, type CloseOptions,
} from './options.js';
import { checkTransfer, detach } from './transfer.js';
import { specOf, workerEntry } from './worker-entry.js';
import type { ControlMessage } from './worker.js';
import { asBuffer } from './native-buffer.js';

export { SchedulerErrorCodes } from './errors.js';
export { Channel, openChannel, type ChannelHandle } from './channel.js';
export { Graph, type GraphTask, type GraphTaskOptions, type GraphRunOptions, type GraphResult, type GraphProgress } from './graph.js';
export type { TaskContext } from './worker.js';
export type { HashFileResult, NativeKernelStats, VerifyItem } from './kernels.js';
export type { SchedulerOptions, RunOptions, MapOptions, CloseOptions, WorkerStats, SchedulerStats } from './options.js';
export { OmniError } from '../errors.js';

interface Pending {
  id: number;
  name: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
  shared?: number[];
}

interface Slot {
  index: number;
  worker: Worker;
  control: MessagePort;
  views: ReturnType<typeof stateViews>;
  ready: boolean;
  error?: Error;
  killReason?: string;
  retiring?: boolean;
  alive: boolean;
  exited: Promise<void>;
}

const CLOSED_MSG = 'scheduler is closed';
/** Subtask ids (spawned natively from inside tasks) start here (`CHILD_ID_BASE` in the crate). */
const CHILD_ID_BASE = 2 ** 52;

export class Scheduler extends EventEmitter {
  readonly threads: number;
  private readonly id: number;
  private readonly spec: string | undefined;
  private readonly maxMemoryMb?: number;
  private readonly cancelGraceMs: number;
  private readonly idleTimeoutMs?: number;
  private idleTimer?: NodeJS.Timeout;
  private retired = false;
  private readonly log: Logger;
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly names: string[] = [];
  private readonly nameIdx = new Map<string, number>();
  private readonly out = new Writer();
  private outCount = 0;
  private flushQueued = false;
  private cancelledUnsent: number[] = [];
  private flushedUpTo = 0;
  private nextId = 0;
  private completed = 0;
  private failed = 0;
  private refed = false;
  private everReady = false;
  private broken?: OmniError;
  private closing = false;
  private closed = false;
  private closePromise?: Promise<void>;
  private idleWaiters: (() => void)[] = [];
  private readyWaiters: (() => void)[] = [];
  // SharedArrayBuffers referenced by pending tasks: zero-copy inputs.
  private readonly sharedIds = new Map<SharedArrayBuffer, { id: number; refs: number }>();
  private readonly sharedById = new Map<number, SharedArrayBuffer>();
  private nextShared = 1;
  private currentShared: number[] | undefined;
  private readonly sharedTable: SharedTable;

  constructor(options: SchedulerOptions) {
    super();
    const o = parseOptions('options', optionsSchema, options);
    this.threads = o.threads ?? Math.max(1, availableParallelism());
    this.spec = o.tasks === undefined ? undefined : specOf(o.tasks);
    this.maxMemoryMb = o.maxMemoryMb;
    this.cancelGraceMs = o.cancelGraceMs ?? 1000;
    this.idleTimeoutMs = o.idleTimeoutMs;
    this.log = loggerFor('scheduler', o.logger as Logger | undefined);
    this.id = callNative(() => native.schedCreate(this.threads));
    this.native = new NativeKernels(this.id, () => this.checkOpen());
    this.sharedTable = {
      idOf: (sab) => this.shareBuffer(sab),
      get: (id) => this.sharedById.get(id)!,
    };
    if (this.spec !== undefined) for (let i = 0; i < this.threads; i++) this.spawn(i);
  }

  // ------------------------------------------------------------ workers

  private spawn(index: number): void {
    const { port1, port2 } = new MessageChannel();
    const state = new SharedArrayBuffer(STATE_BYTES);
    const views = stateViews(state);
    views.current[0] = -1;
    const entry = workerEntry();
    const worker = new Worker(entry.file, {
      eval: entry.eval,
      workerData: {
        schedId: this.id,
        slot: index,
        tasks: this.spec,
        names: this.names,
        shared: [...this.sharedById],
        control: port2,
        state,
      },
      transferList: [port2],
      resourceLimits: this.maxMemoryMb ? { maxOldGenerationSizeMb: this.maxMemoryMb, maxYoungGenerationSizeMb: Math.max(4, Math.min(64, this.maxMemoryMb / 4)) } : undefined,
    });
    let onExit!: () => void;
    const slot: Slot = { index, worker, control: port1, views, ready: false, alive: true, exited: new Promise((r) => (onExit = r)) };
    this.slots[index] = slot;
    if (!this.refed) worker.unref();
    worker.on('message', (m: unknown) => {
      if (m === 0) this.drain();
      else if ((m as { type?: string })?.type === 'ready') {
        slot.ready = true;
        this.everReady = true;
        if (this.slots.every((x) => x.ready)) {
          const w = this.readyWaiters;
          this.readyWaiters = [];
          for (const f of w) f();
        }
      }
    });
    worker.on('error', (e) => {
      slot.error = e;
    });
    worker.on('exit', (code) => {
      slot.alive = false;
      onExit();
      this.onWorkerExit(slot, code);
    });
  }

  private onWorkerExit(slot: Slot, code: number): void {
    port1Close(slot.control);
    if (this.closed || slot.retiring || this.slots[slot.index] !== slot) return;
    this.drain();
    const cur = slot.views.current[0];
    const culprit = cur >= 0 ? cur : null;
    const lost = callNative(() => native.schedWorkerLost(this.id, slot.index, culprit));
    const requeued = lost.requeued;
    // (subtask ids, >= 2^52, are not in `pending`: their spawners wait for them)
    for (const rid of requeued) if (rid < CHILD_ID_BASE && !this.pending.has(rid)) native.schedCancel(this.id, rid);
    const oom = (slot.error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const reason = slot.killReason
      ? slot.killReason
      : oom
        ? `worker ran out of memory (maxMemoryMb ${this.maxMemoryMb ?? 'default'})`
        : `worker exited with code ${code}${slot.error ? `: ${slot.error.message}` : ''}`;
    this.log.warn({ slot: slot.index, code, reason, requeued: requeued.length }, 'worker lost, replacing');
    if (!slot.ready && !this.everReady) {
      this.broken = omni(
        ErrorCodes.INVALID_ARGUMENT,
        `tasks: worker could not load the task module '${this.spec}': ${slot.error?.message ?? `exit code ${code}`}`,
        slot.error,
      );
      for (const p of [...this.pending.values()]) this.settleError(p, this.broken);
      // no worker will ever take what is queued (or about to be): drop it, so stats() says so
      this.out.reset();
      this.outCount = 0;
      callNative(() => native.schedDiscardQueued(this.id));
      this.emit('workerError', { slot: slot.index, error: this.broken });
      return;
    }
    const failed = lost.failed ?? null;
    if (failed !== null) {
      const p = this.pending.get(failed);
      if (p) this.settleError(p, omni(SchedulerErrorCodes.WORKER_CRASHED, `task '${p.name}' (id ${p.id}): ${reason}; the worker was replaced`, slot.error));
    }
    this.emit('workerReplaced', { slot: slot.index, code, reason, requeued: requeued.length });
    this.spawn(slot.index);
  }

  private retire(): void {
    this.idleTimer = undefined;
    if (this.pending.size > 0 || this.closing || this.retired) return;
    this.retired = true;
    this.log.debug({ idleTimeoutMs: this.idleTimeoutMs }, 'idle: stopping workers');
    for (const s of this.slots) {
      s.retiring = true;
      void s.worker.terminate();
    }
  }

  private setRef(on: boolean): void {
    if (on === this.refed) return;
    this.refed = on;
    for (const s of this.slots) (on ? s.worker.ref() : s.worker.unref());
  }

  private post(msg: ControlMessage): void {
    for (const s of this.slots) s.control.postMessage(msg);
  }

  private shareBuffer(sab: SharedArrayBuffer): number {
    let e = this.sharedIds.get(sab);
    if (!e) {
      e = { id: this.nextShared++, refs: 0 };
      this.sharedIds.set(sab, e);
      this.sharedById.set(e.id, sab);
      this.post({ type: 'share', id: e.id, sab });
    }
    e.refs++;
    (this.currentShared ??= []).push(e.id);
    return e.id;
  }

  private releaseShared(ids: number[]): void {
    for (const id of ids) {
      const sab = this.sharedById.get(id);
      if (!sab) continue;
      const e = this.sharedIds.get(sab)!;
      if (--e.refs === 0) {
        this.sharedIds.delete(sab);
        this.sharedById.delete(id);
        this.post({ type: 'unshare', id });
      }
    }
  }

  // ------------------------------------------------------------ submission

  private nameIndex(name: string): number {
    let i = this.nameIdx.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.nameIdx.set(name, i);
      this.post({ type: 'names', names: this.names });
    }
    return i;
  }

  /** Throws when closed; with `jsTasks`, also when there is no (loadable) task module. Native kernels pass `false`. */
  private checkOpen(jsTasks = false): void {
    if (this.closing) throw omni(ErrorCodes.CLOSED, CLOSED_MSG);
    if (!jsTasks) return;
    if (this.spec === undefined) throw omni(ErrorCodes.INVALID_ARGUMENT, 'options.tasks: this scheduler was created without a task module; only native kernels are available');
    if (this.broken) {
      // a task refused because the module cannot load is a failed task: count it
      this.failed++;
      throw this.broken;
    }
  }

  private flush = (): void => {
    this.flushQueued = false;
    if (this.outCount === 0) return;
    const bytes = this.out.bytes();
    this.outCount = 0;
    this.flushedUpTo = this.nextId;
    try {
      callNative(() => native.schedSubmit(this.id, bytes));
    } finally {
      this.out.reset();
    }
    if (this.cancelledUnsent.length) {
      for (const id of this.cancelledUnsent) native.schedCancel(this.id, id);
      this.cancelledUnsent = [];
    }
  };

  /** Encodes one task into the outgoing batch and returns its pending record. */
  private enqueue(name: string, flags: number, priority: number, write: (w: Writer) => void): [Pending, Promise<unknown>] {
    const id = ++this.nextId;
    let p!: Pending;
    const promise = new Promise<unknown>((resolve, reject) => {
      p = { id, name, resolve, reject };
    });
    const w = this.out;
    const at = w.taskHeader(id, this.nameIndex(name), priority, flags);
    this.currentShared = undefined;
    try {
      write(w);
    } catch (e) {
      w.rewind(at);
      if (this.currentShared) this.releaseShared(this.currentShared);
      throw omni(ErrorCodes.INVALID_ARGUMENT, `input: could not be serialized for task '${name}': ${(e as Error).message}`, e);
    }
    w.endRecord(at, TASK_HEADER);
    if (this.currentShared) p.shared = this.currentShared;
    this.pending.set(id, p);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    if (this.retired) {
      this.retired = false;
      for (let i = 0; i < this.threads; i++) this.spawn(i);
    }
    if (!this.refed) this.setRef(true);
    this.outCount++;
    if (w.off > 8 << 20) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
    return [p, promise];
  }

  private arm(p: Pending, signal: AbortSignal | undefined, timeoutMs: number | undefined): void {
    if (signal) {
      if (signal.aborted) {
        this.cancel(p, SchedulerErrorCodes.TASK_CANCELLED, `task '${p.name}' (id ${p.id}) was cancelled`, signal.reason);
        return;
      }
      p.signal = signal;
      p.onAbort = () => this.cancel(p, SchedulerErrorCodes.TASK_CANCELLED, `task '${p.name}' (id ${p.id}) was cancelled`, signal.reason);
      signal.addEventListener('abort', p.onAbort, { once: true });
    }
    if (timeoutMs !== undefined) {
      p.timer = setTimeout(
        () => this.cancel(p, SchedulerErrorCodes.TASK_TIMEOUT, `task '${p.name}' (id ${p.id}) timed out after ${timeoutMs} ms`),
        timeoutMs,
      );
    }
  }

  /**
   * Runs task `name` (an export of the tasks module) with `input`, which is
   * serialized (numbers and strings directly, everything else with
   * `v8.serialize`; SharedArrayBuffers and views on them are shared).
   */
  run<R = unknown>(name: string, input?: unknown, options?: RunOptions): Promise<R> {
    try {
      this.checkOpen(true);
      if (typeof name !== 'string' || name === '') throw omni(ErrorCodes.INVALID_ARGUMENT, `name: expected a non-empty string, got ${typeof name}`);
      const o = options === undefined ? undefined : parseOptions('options', runSchema, options);
      const transfer = checkTransfer(o?.transfer);
      const [p, promise] = this.enqueue(name, 0, o?.priority ?? 0, (w) => w.value(input, this.sharedTable));
      detach(transfer);
      if (o) this.arm(p, o.signal, o.timeoutMs);
      return promise as Promise<R>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Calls task `name` once per item (`fn(item, index, ctx)`, synchronous) on
   * chunks spread over the workers; results in input order. Typed arrays on a
   * SharedArrayBuffer are passed to the workers without copying.
   */
  async map<R = unknown>(name: string, items: ArrayLike<unknown>, options?: MapOptions): Promise<R[]> {
    this.checkOpen(true);
    if (typeof name !== 'string' || name === '') throw omni(ErrorCodes.INVALID_ARGUMENT, `name: expected a non-empty string, got ${typeof name}`);
    const isView = ArrayBuffer.isView(items) && !(items instanceof DataView);
    if (!Array.isArray(items) && !isView) {
      throw omni(ErrorCodes.INVALID_ARGUMENT, `items: expected an array or a typed array, got ${items === null ? 'null' : typeof items}`);
    }
    const o = options === undefined ? undefined : parseOptions('options', mapSchema, options);
    const transfer = checkTransfer(o?.transfer);
    const n = items.length;
    if (n === 0) return [];
    const part = o?.partition ?? 'auto';
    const chunk = part === 'auto' ? Math.min(65536, Math.max(1, Math.ceil(n / (this.threads * 8)))) : part.chunkSize;
    const parts: [Pending, Promise<unknown>][] = [];
    const sliceOf = (a: number, b: number): unknown =>
      isView ? (items as unknown as Uint8Array).subarray(a, b) : (items as unknown[]).slice(a, b);
    try {
      for (let a = 0; a < n; a += chunk) {
        const b = Math.min(n, a + chunk);
        parts.push(
          this.enqueue(name, FLAG_MAP, o?.priority ?? 0, (w) => {
            w.value(a);
            w.value(sliceOf(a, b), this.sharedTable);
          }),
        );
      }
    } catch (e) {
      for (const [p] of parts) this.cancel(p, SchedulerErrorCodes.TASK_CANCELLED, 'map aborted: an input chunk could not be serialized');
      for (const [, pr] of parts) pr.catch(() => {});
      throw e;
    }
    detach(transfer);
    const results = parts.map(([, pr]) => pr);
    const chunks = parts.map(([p]) => p);
    let onAbort: (() => void) | undefined;
    const cancelAll = (code: OmniErrorCode, msg: string, cause?: unknown) => {
      for (const p of chunks) this.cancel(p, code, msg, cause);
    };
    if (o?.signal) {
      if (o.signal.aborted) cancelAll(SchedulerErrorCodes.TASK_CANCELLED, `map '${name}' was cancelled`, o.signal.reason);
      else {
        onAbort = () => cancelAll(SchedulerErrorCodes.TASK_CANCELLED, `map '${name}' was cancelled`, o.signal!.reason);
        o.signal.addEventListener('abort', onAbort, { once: true });
      }
    }
    const timer = o?.timeoutMs !== undefined ? setTimeout(() => cancelAll(SchedulerErrorCodes.TASK_TIMEOUT, `map '${name}' timed out after ${o.timeoutMs} ms`), o.timeoutMs) : undefined;
    try {
      const done = await Promise.all(
        results.map((r) =>
          r.catch((e) => {
            cancelAll(SchedulerErrorCodes.TASK_CANCELLED, `map '${name}': another chunk failed`);
            throw e;
          }),
        ),
      );
      const out: R[] = new Array(n);
      let k = 0;
      for (const c of done as R[][]) for (let i = 0; i < c.length; i++) out[k++] = c[i];
      return out;
    } finally {
      for (const r of results) r.catch(() => {});
      if (timer) clearTimeout(timer);
      if (onAbort) o!.signal!.removeEventListener('abort', onAbort);
    }
  }

  // ------------------------------------------------------------ settlement

  private cleanup(p: Pending): void {
    this.pending.delete(p.id);
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    if (p.shared) this.releaseShared(p.shared);
    if (this.pending.size === 0) {
      this.setRef(false);
      if (this.idleTimeoutMs !== undefined && !this.closing && !this.retired) {
        this.idleTimer = setTimeout(() => this.retire(), this.idleTimeoutMs);
        this.idleTimer.unref();
      }
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  private settleError(p: Pending, e: unknown): void {
    if (!this.pending.has(p.id)) return;
    this.cleanup(p);
    this.failed++;
    p.reject(e);
  }

  private cancel(p: Pending, code: OmniErrorCode, message: string, cause?: unknown): void {
    if (!this.pending.has(p.id)) return;
    this.settleError(p, omni(code, message, cause));
    if (this.closed) return;
    if (p.id > this.flushedUpTo) {
      this.cancelledUnsent.push(p.id);
      return;
    }
    const where = native.schedCancel(this.id, p.id);
    if (where >= 0) {
      const slot = this.slots[where];
      const v = slot.views;
      const g = Atomics.load(v.gen, 0);
      v.ring[g % CANCEL_RING] = p.id;
      Atomics.add(v.gen, 0, 1);
      if (this.cancelGraceMs >= 0) {
        const t = setTimeout(() => {
          if (this.slots[where] === slot && v.current[0] === p.id && !this.closed) {
            slot.killReason = `task '${p.name}' (id ${p.id}) did not stop within ${this.cancelGraceMs} ms of cancellation; worker terminated`;
            this.log.warn({ slot: where, task: p.id }, 'terminating worker stuck in a cancelled task');
            void slot.worker.terminate();
          }
        }, this.cancelGraceMs);
        t.unref();
      }
    }
  }

  private drain(): void {
    // after close() the native queues are gone and every pending task is settled
    if (this.closed) return;
    let buf: Buffer | null;
    try {
      buf = asBuffer(native.schedDrain(this.id));
    } catch (err) {
      // completions that cannot be read would leave their tasks pending forever: fail them, loudly
      const e = fromNative(err);
      this.log.error({ err: e }, 'reading task completions failed');
      for (const p of [...this.pending.values()]) {
        this.settleError(p, omni(ErrorCodes.INTERNAL, `task '${p.name}' (id ${p.id}): its completion could not be read: ${e.message}`, e));
      }
      return;
    }
    if (!buf) return;
    for (const c of completions(buf)) {
      const p = this.pending.get(c.id);
      if (!p) continue;
      const r = decodeCompletion(buf, c, p, this.spec);
      if (!r.ok) {
        this.settleError(p, r.error);
        continue;
      }
      this.cleanup(p);
      this.completed++;
      p.resolve(r.value);
    }
  }

  // ------------------------------------------------------------ the rest

  /** Resolves once every worker has loaded the task module (tasks may be submitted before). */
  ready(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** A task DAG on this scheduler (see `Graph`). */
  graph(): Graph {
    return new Graph(this);
  }

  /** A typed bounded channel usable from tasks (pass `channel.handle` in a task input). */
  channel<T>(options: { capacity?: number } = {}): Channel<T> {
    const o = parseOptions('options', z.object({ capacity: z.number().int().min(1).optional() }).strict(), options);
    return createChannel<T>(o.capacity ?? 64);
  }

  /**
   * Native kernels run on the scheduler's native pool; they never touch JS, so
   * they need no task module and keep working when it failed to load.
   */
  readonly native: NativeKernels;

  stats(): SchedulerStats {
    const s = this.closed ? undefined : callNative(() => native.schedStats(this.id));
    return {
      threads: this.threads,
      workersAlive: this.slots.filter((x) => x.alive).length,
      pending: this.pending.size,
      queued: s?.queued ?? 0,
      completed: this.completed,
      failed: this.failed,
      native: this.native.stats(),
      workers: (s?.slots ?? []).map((w) => ({
        executed: w.executed,
        stolen: w.stolen,
        queued: w.queued,
        inflight: w.inflight,
        busyMs: w.busyNs / 1e6,
        batches: w.batches,
        replaced: w.replaced,
      })),
    };
  }

  /**
   * Drains (default) or cancels outstanding tasks, stops the workers and frees
   * the native queues. Always resolves: after `graceMs` leftover tasks fail with
   * `ERR_OMNI_CLOSED` and workers that do not stop are terminated.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const o = parseOptions('options', closeSchema, options);
    if (this.closePromise) return this.closePromise;
    this.closing = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.flush();
    const grace = o.graceMs ?? 5000;
    this.closePromise = (async () => {
      if (o.mode === 'cancel') {
        for (const p of [...this.pending.values()]) this.cancel(p, ErrorCodes.CLOSED, `task '${p.name}' (id ${p.id}) cancelled: scheduler closed`);
      } else if (this.pending.size > 0 && !this.broken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, grace);
          this.idleWaiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      for (const p of [...this.pending.values()]) {
        this.settleError(p, omni(ErrorCodes.CLOSED, `task '${p.name}' (id ${p.id}) did not finish within the close() grace period of ${grace} ms`));
      }
      this.closed = true;
      callNative(() => native.schedDestroy(this.id));
      await Promise.all(
        this.slots.map(async (s) => {
          s.worker.ref();
          const t = setTimeout(() => void s.worker.terminate(), Math.min(grace, 1000));
          await s.exited;
          clearTimeout(t);
        }),
      );
      this.setRef(false);
    })();
    return this.closePromise;
  }
}

function port1Close(p: MessagePort): void {
  try {
    p.close();
  } catch {
    /* already closed */
  }
}
