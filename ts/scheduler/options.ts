/** Options and stats shapes of `Scheduler` (validated with zod at the public edge). */
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { NativeKernelStats } from './kernels.js';

export const optionsSchema = z
  .object({
    tasks: z.union([z.string().min(1), z.instanceof(URL)]).optional(),
    threads: z.number().int().min(1).max(1024).optional(),
    maxMemoryMb: z.number().positive().optional(),
    cancelGraceMs: z.number().int().min(0).optional(),
    idleTimeoutMs: z.number().int().min(1).optional(),
    logger: z.any().optional(),
  })
  .strict();

export interface SchedulerOptions {
  /** Module exporting the task functions (path or file: URL). Without it only native kernels are available. */
  tasks?: string | URL;
  /** Worker threads (default: available parallelism). */
  threads?: number;
  /** Old-generation heap limit per worker; a worker over it is replaced and its task fails. */
  maxMemoryMb?: number;
  /** After a running task is cancelled or times out, how long it may keep running before its worker is terminated and replaced (default 1000). */
  cancelGraceMs?: number;
  /** Stop the worker threads after this long without tasks; they restart on the next task. */
  idleTimeoutMs?: number;
  logger?: Logger;
}

export const runSchema = z
  .object({
    priority: z.number().int().optional(),
    signal: z.instanceof(AbortSignal).optional(),
    timeoutMs: z.number().positive().optional(),
    transfer: z.array(z.any()).optional(),
  })
  .strict();

export interface RunOptions {
  /** `> 0` runs before normal tasks, `< 0` after. */
  priority?: number;
  /** Cancels the task (queued: never runs; running: its `ctx.signal` aborts). */
  signal?: AbortSignal;
  /** Cancels the task with `ERR_OMNI_TASK_TIMEOUT` after this many ms. */
  timeoutMs?: number;
  /**
   * ArrayBuffers moved to the task, like `postMessage`'s transfer list: after
   * the input has been captured, each listed buffer is detached in the caller
   * (`byteLength` becomes 0 and views on it become empty), so the caller cannot
   * observe or change the data the task works on. This is an ownership move,
   * not zero copy: the bytes are still copied once into native memory with
   * the input. Use SharedArrayBuffer-backed data for zero copy. Entries must
   * be distinct, non-detached ArrayBuffers (not SharedArrayBuffers); otherwise
   * the call throws `ERR_OMNI_INVALID_ARGUMENT` and nothing is queued or detached.
   */
  transfer?: ArrayBuffer[];
}

export const mapSchema = runSchema.extend({
  partition: z.union([z.literal('auto'), z.object({ chunkSize: z.number().int().min(1) }).strict()]).optional(),
});

export interface MapOptions extends RunOptions {
  /** `'auto'` (default): about 8 chunks per thread; or a fixed `chunkSize`. */
  partition?: 'auto' | { chunkSize: number };
}

export interface CloseOptions {
  /** `'drain'` (default) waits for queued and running tasks; `'cancel'` fails them at once. */
  mode?: 'drain' | 'cancel';
  /** Upper bound for draining and for workers to stop before they are terminated (default 5000). */
  graceMs?: number;
}

export interface WorkerStats {
  executed: number;
  stolen: number;
  /** Tasks in this worker's local deque. */
  queued: number;
  inflight: number;
  busyMs: number;
  /** Native `take` calls that returned tasks. */
  batches: number;
  /** Times this worker slot's thread was replaced. */
  replaced: number;
}

export interface SchedulerStats {
  threads: number;
  /** Worker threads currently alive (0 after `idleTimeoutMs` or without a task module). */
  workersAlive: number;
  /** Tasks submitted and not settled (queued + running). */
  pending: number;
  /** Tasks queued natively (all priorities and local deques). */
  queued: number;
  /** JS tasks that resolved. */
  completed: number;
  /** JS tasks that rejected (including those refused because the task module could not load). */
  failed: number;
  workers: WorkerStats[];
  /** Items the native kernels (`scheduler.native`) completed and failed. */
  native: NativeKernelStats;
}

export const closeSchema = z.object({ mode: z.enum(['drain', 'cancel']).optional(), graceMs: z.number().min(0).optional() }).strict();
