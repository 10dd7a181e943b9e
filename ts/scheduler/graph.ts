/**
 * Task DAGs on a Scheduler. Ready tasks are submitted as soon as their
 * dependencies finish; a failed task (after its retries) fails its dependents
 * with `ERR_OMNI_DEPENDENCY_FAILED` naming the path, while independent
 * branches keep going. With `checkpoint`, each finished task's result is
 * persisted as it completes and a re-run of the same graph restores it instead
 * of running the task again.
 *
 * The shape maps onto BullMQ flows (see the README): a task is a job in a
 * queue named after the task, its dependencies are children, the checkpoint
 * key is the job id.
 */
import { createHash } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { z } from 'zod';
import { ErrorCodes, OmniError } from '../errors.js';
import { parseOptions } from '../validate.js';
import { Writer, readValue } from './codec.js';
import { SchedulerErrorCodes } from './errors.js';
import type { Scheduler } from './index.js';

const GRAPH_TASK = Symbol('omnitide.graphTask');

export interface GraphTask<R = unknown> {
  readonly index: number;
  readonly name: string;
  /** `name#index`, used in error paths and progress events. */
  readonly label: string;
  readonly deps: readonly GraphTask[];
  /** Stable identity (checkpoint file name; BullMQ job id). */
  readonly key: string;
  /** phantom result type */
  readonly __result?: R;
}

export interface GraphTaskOptions {
  /** Extra attempts after a failure (not after cancellation). */
  retries?: number;
  /** Delay before retry k is `backoffMs * 2^(k-1)`. */
  backoffMs?: number;
  timeoutMs?: number;
  priority?: number;
  /** With dependencies: an extra input; the task then receives `{ deps, input }`. */
  input?: unknown;
  /** Explicit stable key (default: hash of name, input and dependency keys). */
  key?: string;
}

const taskOptsSchema = z
  .object({
    retries: z.number().int().min(0).optional(),
    backoffMs: z.number().min(0).optional(),
    timeoutMs: z.number().positive().optional(),
    priority: z.number().int().optional(),
    input: z.any().optional(),
    key: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, . _ - (1 to 128)').optional(),
  })
  .strict();

export interface GraphRunOptions {
  /** Directory where finished results are persisted; re-running resumes from it. */
  checkpoint?: string;
  /** Cancels the graph: queued tasks never run, running tasks get their signal aborted. */
  signal?: AbortSignal;
}

const runOptsSchema = z.object({ checkpoint: z.string().min(1).optional(), signal: z.instanceof(AbortSignal).optional() }).strict();

export interface GraphProgress {
  task: string;
  status: 'done' | 'restored' | 'failed' | 'retry';
  done: number;
  failed: number;
  total: number;
  error?: OmniError;
}

export interface GraphResult {
  /** Result of a task (throws its error if it failed). */
  get<R>(task: GraphTask<R>): R;
  readonly results: ReadonlyMap<GraphTask, unknown>;
  readonly errors: ReadonlyMap<GraphTask, OmniError>;
  /** Tasks restored from the checkpoint instead of being run. */
  readonly restored: number;
}

interface Node extends GraphTask {
  input: unknown;
  hasInput: boolean;
  opts: GraphTaskOptions;
  dependents: Node[];
}

function isTask(v: unknown): v is GraphTask {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[GRAPH_TASK] === true;
}

export class Graph extends EventEmitter {
  private readonly nodes: Node[] = [];
  private running = false;

  constructor(private readonly scheduler: Scheduler) {
    super();
  }

  /**
   * Adds a task. `depsOrInput` is either an array of tasks of this graph (the
   * function receives the array of their results) or the task's input.
   */
  task<R = unknown>(name: string, depsOrInput?: unknown, options: GraphTaskOptions = {}): GraphTask<R> {
    if (this.running) throw new OmniError(ErrorCodes.INVALID_ARGUMENT, 'graph: cannot add tasks while it runs');
    if (typeof name !== 'string' || !name) throw new OmniError(ErrorCodes.INVALID_ARGUMENT, 'name: expected a non-empty string');
    const opts = parseOptions('options', taskOptsSchema, options);
    const deps = Array.isArray(depsOrInput) && depsOrInput.length > 0 && depsOrInput.every(isTask) ? (depsOrInput as Node[]) : [];
    for (const d of deps) {
      if (this.nodes[d.index] !== d) throw new OmniError(ErrorCodes.INVALID_ARGUMENT, `deps: task ${d.label} belongs to another graph`);
    }
    const hasInput = deps.length === 0 ? depsOrInput !== undefined : 'input' in opts;
    const input = deps.length === 0 ? depsOrInput : opts.input;
    const index = this.nodes.length;
    let key = opts.key;
    if (!key) {
      const h = createHash('sha256').update(name).update('\0');
      try {
        h.update(v8.serialize(input));
      } catch (e) {
        throw new OmniError(ErrorCodes.INVALID_ARGUMENT, `input: task '${name}' input could not be serialized: ${(e as Error).message}`, { cause: e });
      }
      for (const d of deps) h.update('\0').update(d.key);
      key = `${name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}-${h.digest('hex').slice(0, 24)}`;
    }
    if (this.nodes.some((n) => n.key === key)) key = `${key}-${index}`;
    const node: Node = {
      index,
      name,
      label: `${name}#${index}`,
      deps,
      key,
      input,
      hasInput,
      opts,
      dependents: [],
    };
    Object.defineProperty(node, GRAPH_TASK, { value: true });
    for (const d of deps) (d as Node).dependents.push(node);
    this.nodes.push(node);
    return node as GraphTask<R>;
  }

  get size(): number {
    return this.nodes.length;
  }

  /**
   * Runs every task. Resolves when all succeeded; rejects with
   * `ERR_OMNI_GRAPH_FAILED` (with `errors` and `result`) after the independent
   * branches finished if some failed, or with `ERR_OMNI_TASK_CANCELLED` when
   * `signal` aborts.
   */
  async run(options: GraphRunOptions = {}): Promise<GraphResult> {
    const o = parseOptions('options', runOptsSchema, options);
    if (this.running) throw new OmniError(ErrorCodes.INVALID_ARGUMENT, 'graph: already running');
    this.running = true;
    const total = this.nodes.length;
    const results = new Map<GraphTask, unknown>();
    const errors = new Map<GraphTask, OmniError>();
    const remaining = this.nodes.map((n) => n.deps.length);
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const writes: Promise<void>[] = [];
    let restored = 0;
    let settled = 0;
    let cancelled = false;
    const dir = o.checkpoint ? path.resolve(o.checkpoint) : undefined;
    const result: GraphResult = {
      get: <R>(t: GraphTask<R>): R => {
        const e = errors.get(t);
        if (e) throw e;
        if (!results.has(t)) throw new OmniError(ErrorCodes.INVALID_ARGUMENT, `task: ${t.label} is not part of this result`);
        return results.get(t) as R;
      },
      results,
      errors,
      get restored() {
        return restored;
      },
    };

    if (dir) await mkdir(dir, { recursive: true });

    return new Promise<GraphResult>((resolve, reject) => {
      const finishIfDone = () => {
        if (settled < total || cancelled) return;
        this.running = false;
        o.signal?.removeEventListener('abort', onAbort);
        Promise.all(writes).then(
          () => {
            if (errors.size === 0) return resolve(result);
            const first = [...errors.values()].find((e) => e.code !== SchedulerErrorCodes.DEPENDENCY_FAILED) ?? [...errors.values()][0];
            const err = new OmniError(
              SchedulerErrorCodes.GRAPH_FAILED,
              `graph: ${errors.size} of ${total} tasks failed (first: ${first.message})`,
              { cause: first },
            );
            Object.assign(err, { errors, result });
            reject(err);
          },
          (e) => reject(new OmniError(ErrorCodes.IO, `checkpoint: could not persist a result in '${dir}': ${(e as Error).message}`, { cause: e })),
        );
      };
      const progress = (n: Node, status: GraphProgress['status'], error?: OmniError) => {
        this.emit('progress', { task: n.label, status, done: results.size, failed: errors.size, total, error } satisfies GraphProgress);
      };
      const succeed = (n: Node, value: unknown, fromCheckpoint: boolean) => {
        results.set(n, value);
        settled++;
        if (fromCheckpoint) restored++;
        else if (dir) writes.push(persist(dir, n.key, value));
        progress(n, fromCheckpoint ? 'restored' : 'done');
        for (const d of n.dependents) if (--remaining[d.index] === 0 && !errors.has(d)) start(d);
        finishIfDone();
      };
      const fail = (n: Node, e: OmniError) => {
        if (errors.has(n) || results.has(n)) return;
        errors.set(n, e);
        settled++;
        progress(n, 'failed', e);
        const walk = (from: Node, pathSoFar: string[]) => {
          for (const d of from.dependents) {
            if (errors.has(d)) continue;
            const p = [...pathSoFar, d.label];
            const de = new OmniError(
              SchedulerErrorCodes.DEPENDENCY_FAILED,
              `task ${d.label} not run: dependency failed along ${p.join(' -> ')} (${e.code}: ${e.message})`,
              { cause: e },
            );
            errors.set(d, de);
            settled++;
            progress(d, 'failed', de);
            walk(d, p);
          }
        };
        walk(n, [n.label]);
        finishIfDone();
      };
      const inputOf = (n: Node): unknown => {
        if (n.deps.length === 0) return n.input;
        const deps = n.deps.map((d) => results.get(d));
        return n.hasInput ? { deps, input: n.input } : deps;
      };
      const attempt = (n: Node, k: number) => {
        if (cancelled) return;
        this.scheduler
          .run(n.name, inputOf(n), { signal: ac.signal, timeoutMs: n.opts.timeoutMs, priority: n.opts.priority })
          .then(
            (v) => succeed(n, v, false),
            (e: OmniError) => {
              if (cancelled) return;
              const retryable = e.code !== SchedulerErrorCodes.TASK_CANCELLED && e.code !== ErrorCodes.CLOSED && e.code !== ErrorCodes.INVALID_ARGUMENT;
              if (retryable && k < (n.opts.retries ?? 0)) {
                progress(n, 'retry', e);
                const delay = (n.opts.backoffMs ?? 0) * 2 ** k;
                setTimeout(() => attempt(n, k + 1), delay);
                return;
              }
              fail(n, k > 0 ? new OmniError(e.code, `${e.message} (after ${k + 1} attempts)`, { cause: e.cause ?? e }) : e);
            },
          );
      };
      const start = (n: Node) => {
        if (cancelled) return;
        if (!dir) return attempt(n, 0);
        readFile(path.join(dir, `${n.key}.result`)).then(
          (buf) => {
            let v: unknown;
            try {
              v = readValue(buf, 0, buf.length);
            } catch {
              return attempt(n, 0);
            }
            succeed(n, v, true);
          },
          () => attempt(n, 0),
        );
      };
      const onAbort = () => {
        if (cancelled || settled === total) return;
        cancelled = true;
        this.running = false;
        ac.abort(o.signal!.reason);
        reject(
          new OmniError(SchedulerErrorCodes.TASK_CANCELLED, `graph cancelled after ${results.size} of ${total} tasks finished`, {
            cause: o.signal!.reason,
          }),
        );
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      if (total === 0) return finishIfDone();
      for (const n of this.nodes) if (n.deps.length === 0) start(n);
    });
  }
}

async function persist(dir: string, key: string, value: unknown): Promise<void> {
  const w = new Writer(256);
  w.value(value);
  const file = path.join(dir, `${key}.result`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, w.bytes());
  await rename(tmp, file);
}
