import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { blake3, ed25519 } from '../../ts/crypto/index.js';
import { OmniError, Scheduler, SchedulerErrorCodes as C } from '../../ts/scheduler/index.js';
import { rejection } from '../helpers/thrown.js';

const TASKS = join(__dirname, 'fixtures', 'tasks.mjs');
const dir = mkdtempSync(join(tmpdir(), 'omni-sched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let open: Scheduler[] = [];
function make(opts: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}): Scheduler {
  const s = new Scheduler({ tasks: TASKS, threads: 2, ...opts });
  open.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(open.map((s) => s.close({ mode: 'cancel', graceMs: 500 })));
  open = [];
});


const replaced = (s: Scheduler) => s.stats().workers.reduce((a, w) => a + w.replaced, 0);

describe('scheduler: run and map', () => {
  it('runs tasks with numbers, strings, objects and many at once', async () => {
    const s = make();
    expect(await s.run('add', 41)).toBe(42);
    expect(await s.run('echo', 'héllo ✓')).toBe('héllo ✓');
    expect(await s.run('echo', undefined)).toBe(undefined);
    expect(await s.run('echo', null)).toBe(null);
    expect(await s.run('echo', true)).toBe(true);
    const o = (await s.run('object', { a: [1, 2] })) as Record<string, unknown>;
    expect(o.got).toEqual({ a: [1, 2] });
    expect(o.big).toBe(10n);
    expect(o.when).toEqual(new Date(0));
    const n = 20_000;
    const r = await Promise.all(Array.from({ length: n }, (_, i) => s.run('square', i)));
    expect(r.every((v, i) => v === i * i)).toBe(true);
    const st = s.stats();
    expect(st.completed).toBe(n + 6);
    expect(st.workers.reduce((a, w) => a + w.executed, 0)).toBe(n + 6);
    expect(st.pending).toBe(0);
  });

  it('map: arrays and typed arrays in order, fixed chunk sizes', async () => {
    const s = make();
    const items = Array.from({ length: 1001 }, (_, i) => i);
    expect(await s.map('double', items)).toEqual(items.map((x) => x * 2));
    expect(await s.map('double', items, { partition: { chunkSize: 7 } })).toEqual(items.map((x) => x * 2));
    const f = Float64Array.from(items);
    expect(await s.map('double', f)).toEqual(items.map((x) => x * 2));
    expect(await s.map('double', [])).toEqual([]);
  });

  it('SharedArrayBuffer-backed data is shared, not copied', async () => {
    const s = make();
    // a shared view as the whole input
    const shared = new Int32Array(new SharedArrayBuffer(1024 * 4)).fill(3);
    expect(await s.run('sum', shared)).toBe(3 * 1024);
    // map over a shared typed array: workers see views on the same memory
    const big = new Float64Array(new SharedArrayBuffer(10_000 * 8));
    for (let i = 0; i < big.length; i++) big[i] = i;
    const out = await s.map('double', big);
    expect(out[9_999]).toBe(19_998);
  });

  it('a task can write into shared memory the caller sees', async () => {
    const s = make();
    const view = new Int32Array(new SharedArrayBuffer(8 * 4));
    expect(await s.run('fillView', view.subarray(2, 6))).toBe(true);
    expect([...view]).toEqual([0, 0, 7, 7, 7, 7, 0, 0]);
  });

  it('programmer errors: bad options, unknown task, unserializable input, bad module', async () => {
    expect(() => new Scheduler({ tasks: TASKS, threads: 0 })).toThrow(/threads/);
    expect(() => new Scheduler({ tasks: TASKS, bogus: 1 } as never)).toThrow(OmniError);
    const s = make();
    const e1 = await rejection(s.run('nope', 1));
    expect(e1.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e1.message).toMatch(/exports no function 'nope'/);
    const e2 = await rejection(s.run('echo', () => 1));
    expect(e2.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e2.message).toMatch(/^input: /);
    const e3 = await rejection(s.run('echo', 1, { timeoutMs: -1 }));
    expect(e3.message).toMatch(/options.timeoutMs/);
    const bad = make({ tasks: join(dir, 'missing-module.mjs') });
    const e4 = await rejection(bad.run('echo', 1));
    expect(e4.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e4.message).toMatch(/could not load the task module/);
  });

  it('a task module that fails to load leaves the native kernels working, and stats count every failure', async () => {
    const bad = make({ tasks: join(dir, 'missing-module.mjs'), threads: 2 });
    const f = join(dir, 'kernel-input');
    writeFileSync(f, 'kernel input');
    const first = await Promise.allSettled([bad.run('echo', 1), bad.run('echo', 2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (let i = 0; i < 5; i++) expect((await rejection(bad.run('echo', i))).message).toMatch(/could not load the task module/);
    expect(await bad.native.hashFiles([f])).toEqual([{ ok: true, hash: blake3.hash('kernel input') }]);
    const kp = ed25519.generateKeyPair();
    const message = Buffer.from('m');
    expect(await bad.native.verifyBatch([{ message, publicKey: kp.publicKey, signature: ed25519.sign(message, kp.secretKey) }])).toEqual([true]);
    const st = bad.stats();
    expect(st).toMatchObject({ failed: 7, completed: 0, pending: 0, queued: 0, native: { completed: 2, failed: 0 } });
  });
});

describe('scheduler: priorities, idle workers, stats', () => {
  it('higher priority tasks run first', async () => {
    const s = make({ threads: 1 });
    await s.ready();
    const blocker = s.run('spin', 150);
    await new Promise((r) => setTimeout(r, 30));
    const low = s.run('stamp', 'low', { priority: -1 });
    const normal = s.run('stamp', 'normal');
    const high = s.run('stamp', 'high', { priority: 5 });
    await blocker;
    const order = (await Promise.all([low, normal, high]) as [string, number][]).sort((a, b) => a[1] - b[1]).map((x) => x[0]);
    expect(order).toEqual(['high', 'normal', 'low']);
  });

  it('idleTimeoutMs stops the workers and the next task restarts them', async () => {
    const s = make({ idleTimeoutMs: 50 });
    expect(await s.run('add', 1)).toBe(2);
    for (let i = 0; i < 100 && s.stats().workersAlive > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.stats().workersAlive).toBe(0);
    expect(await s.run('add', 2)).toBe(3);
    expect(s.stats().workersAlive).toBe(2);
    expect(replaced(s)).toBe(0);
  });

  it('stats report per-worker executed, busy time and batches', async () => {
    const s = make();
    await s.ready();
    await Promise.all(Array.from({ length: 200 }, () => s.run('spin', 1)));
    const st = s.stats();
    expect(st.workers).toHaveLength(2);
    expect(st.workers.reduce((a, w) => a + w.executed, 0)).toBe(200);
    expect(st.workers.reduce((a, w) => a + w.busyMs, 0)).toBeGreaterThan(150);
    expect(st.workers.every((w) => w.batches > 0 && w.inflight === 0 && w.queued === 0)).toBe(true);
    expect(st).toMatchObject({ threads: 2, pending: 0, queued: 0, completed: 200, failed: 0 });
  });
});

describe('scheduler: reliability', () => {
  it('a throwing task rejects with ERR_OMNI_TASK_FAILED; the worker keeps serving', async () => {
    const s = make();
    const e = await rejection(s.run('fail', 'x'));
    expect(e.code).toBe(C.TASK_FAILED);
    expect(e.message).toMatch(/task 'fail' \(id \d+\) threw: boom: x/);
    expect((e.cause as { code?: string }).code).toBe('E_BOOM');
    expect(await s.run('add', 1)).toBe(2);
    expect(replaced(s)).toBe(0);
  });

  it('a never-returning task times out, its worker is replaced, no other task is lost', async () => {
    const s = make({ cancelGraceMs: 100 });
    await s.ready();
    const stuck = s.run('forever', null, { timeoutMs: 150 });
    const others = Array.from({ length: 200 }, (_, i) => s.run('add', i));
    const e = await rejection(stuck);
    expect(e.code).toBe(C.TASK_TIMEOUT);
    expect(e.message).toMatch(/timed out after 150 ms/);
    expect(await Promise.all(others)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // the stuck worker is terminated after the grace period and replaced
    for (let i = 0; i < 100 && replaced(s) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(replaced(s)).toBe(1);
    expect(await Promise.all([s.run('add', 1), s.run('add', 2), s.run('add', 3)])).toEqual([2, 3, 4]);
  });

  it('a hanging async task times out too', async () => {
    const s = make({ cancelGraceMs: 50 });
    await s.ready();
    const e = await rejection(s.run('hang', null, { timeoutMs: 50 }));
    expect(e.code).toBe(C.TASK_TIMEOUT);
    expect(await s.run('add', 1)).toBe(2);
  });

  it('cancelling a running task aborts its signal without killing the worker', async () => {
    const s = make({ cancelGraceMs: 5000 });
    await s.ready();
    const ac = new AbortController();
    const p = s.run('sleep', 10_000, { signal: ac.signal });
    const q = s.run('cooperative', 10_000, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    expect((await rejection(p)).code).toBe(C.TASK_CANCELLED);
    expect((await rejection(q)).code).toBe(C.TASK_CANCELLED);
    expect(await s.run('add', 5)).toBe(6);
    await new Promise((r) => setTimeout(r, 50));
    expect(replaced(s)).toBe(0);
  });

  it('a cancelled queued task never runs', async () => {
    const s = make({ threads: 1 });
    const file = join(dir, 'never-ran');
    const blocker = s.run('spin', 200);
    const ac = new AbortController();
    const p = s.run('countRun', { file, value: 1 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    ac.abort(new Error('no longer needed'));
    const e = await rejection(p);
    expect(e.code).toBe(C.TASK_CANCELLED);
    expect((e.cause as Error).message).toBe('no longer needed');
    expect(await blocker).toBe(200);
    expect(await s.run('add', 1)).toBe(2);
    expect(existsSync(file)).toBe(false);
    // an already-aborted signal rejects at once
    expect((await rejection(s.run('add', 1, { signal: AbortSignal.abort() }))).code).toBe(C.TASK_CANCELLED);
  });

  it('process.exit inside a task fails that task, replaces the worker, loses nothing else', async () => {
    const s = make();
    const before = Array.from({ length: 300 }, (_, i) => s.run('add', i));
    const crash = s.run('exit', 7);
    const after = Array.from({ length: 300 }, (_, i) => s.run('add', i));
    const e = await rejection(crash);
    expect(e.code).toBe(C.WORKER_CRASHED);
    expect(e.message).toMatch(/task 'exit' \(id \d+\): worker exited with code 7; the worker was replaced/);
    expect(await Promise.all(before)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(await Promise.all(after)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(replaced(s)).toBe(1);
  });

  it('an out-of-memory worker fails its task with a clear error and is replaced', async () => {
    const s = make({ maxMemoryMb: 32 });
    const others = Array.from({ length: 50 }, (_, i) => s.run('add', i));
    const e = await rejection(s.run('oom', null));
    expect(e.code).toBe(C.WORKER_CRASHED);
    expect(e.message).toMatch(/out of memory \(maxMemoryMb 32\)/);
    expect(await Promise.all(others)).toHaveLength(50);
    expect(await s.run('add', 1)).toBe(2);
  });

  it('close() under heavy load with a stuck task always resolves; every promise settles', async () => {
    const s = make({ cancelGraceMs: 10_000 });
    const ps = Array.from({ length: 3000 }, () => s.run('spin', 1).then(() => 'ok', (e: OmniError) => e.code));
    const stuck = s.run('forever', null).then(() => 'ok', (e: OmniError) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s.close({ graceMs: 300 });
    expect(Date.now() - t0).toBeLessThan(5000);
    const codes = await Promise.all([...ps, stuck]);
    expect(codes.every((c) => c === 'ok' || c === 'ERR_OMNI_CLOSED')).toBe(true);
    expect(await stuck).toBe('ERR_OMNI_CLOSED');
    expect((await rejection(s.run('add', 1))).code).toBe('ERR_OMNI_CLOSED');
  });

  it('close() drains by default and can cancel instead', async () => {
    const s = make();
    const ps = Array.from({ length: 100 }, (_, i) => s.run('add', i));
    await s.close();
    expect(await Promise.all(ps)).toHaveLength(100);
    const t = make({ threads: 1 });
    const slow = Array.from({ length: 20 }, () => t.run('spin', 50).then(() => 'ok', (e: OmniError) => e.code));
    await t.close({ mode: 'cancel', graceMs: 200 });
    const codes = await Promise.all(slow);
    expect(codes.filter((c) => c === 'ERR_OMNI_CLOSED').length).toBeGreaterThan(10);
  });
});

describe('scheduler: graphs', () => {
  it('runs dependencies in order and passes results', async () => {
    const s = make();
    const g = s.graph();
    const a = g.task('add', 1);
    const b = g.task('square', 3);
    const c = g.task('concat', [a, b]);
    const d = g.task('echo', [c], { input: 'extra' });
    const events: string[] = [];
    g.on('progress', (p) => events.push(`${p.task}:${p.status}`));
    const r = await g.run();
    expect(r.get(a)).toBe(2);
    expect(r.get(c)).toBe('2+9');
    expect(r.get(d)).toEqual({ deps: ['2+9'], input: 'extra' });
    expect(events).toHaveLength(4);
    expect(events[3]).toBe('echo#3:done');
  });

  it('a failed task fails its dependents naming the path; independent branches finish', async () => {
    const s = make();
    const g = s.graph();
    const bad = g.task('fail', 'root');
    const mid = g.task('echo', [bad]);
    const leaf = g.task('echo', [mid]);
    const ok = g.task('add', 10);
    const okDep = g.task('add', [ok].length ? 5 : 0);
    const e = await rejection(g.run());
    expect(e.code).toBe(C.GRAPH_FAILED);
    const { errors, result } = e as OmniError & { errors: Map<unknown, OmniError>; result: { get: (t: unknown) => unknown } };
    expect(errors.get(bad)!.code).toBe(C.TASK_FAILED);
    expect(errors.get(leaf)!.code).toBe(C.DEPENDENCY_FAILED);
    expect(errors.get(leaf)!.message).toContain('fail#0 -> echo#1 -> echo#2');
    expect(result.get(ok)).toBe(11);
    expect(result.get(okDep)).toBe(6);
    expect(() => result.get(mid)).toThrow(/dependency failed along fail#0 -> echo#1/);
  });

  it('retries with backoff', async () => {
    const s = make();
    const g = s.graph();
    const file = join(dir, 'flaky');
    const t = g.task('flaky', { file, failures: 2 }, { retries: 2, backoffMs: 10 });
    const retries: string[] = [];
    g.on('progress', (p) => p.status === 'retry' && retries.push(p.task));
    expect((await g.run()).get(t)).toBe(3);
    expect(retries).toEqual(['flaky#0', 'flaky#0']);
    const g2 = s.graph();
    const file2 = join(dir, 'flaky2');
    g2.task('flaky', { file: file2, failures: 5 }, { retries: 1 });
    const e = await rejection(g2.run());
    expect(e.message).toMatch(/after 2 attempts/);
  });

  it('checkpoints results and resumes without redoing finished tasks', async () => {
    const s = make();
    const ck = join(dir, 'ck');
    const count = join(dir, 'count-a');
    const build = () => {
      const g = s.graph();
      const a = g.task('countRun', { file: count, value: 'A' });
      const b = g.task('fail', [a]);
      return { g, a, b };
    };
    const first = build();
    await rejection(first.g.run({ checkpoint: ck }));
    expect(readFileSync(count, 'utf8')).toBe('1');
    const second = build();
    const e = await rejection(second.g.run({ checkpoint: ck }));
    expect((e as OmniError & { result: { restored: number } }).result.restored).toBe(1);
    expect(readFileSync(count, 'utf8')).toBe('1');
  });

  it('a cancelled graph rejects with ERR_OMNI_TASK_CANCELLED and stops its running tasks', async () => {
    const s = make({ cancelGraceMs: 5000 });
    const g = s.graph();
    const a = g.task('sleep', 10_000);
    g.task('add', [a]);
    g.task('cooperative', 10_000);
    const ac = new AbortController();
    const run = g.run({ signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const e = await rejection(run);
    expect(e.code).toBe(C.TASK_CANCELLED);
    expect(e.message).toMatch(/graph cancelled after 0 of 3/);
    expect(await s.run('add', 1)).toBe(2);
    expect(replaced(s)).toBe(0);
  });
});

describe('scheduler: channels and native kernels', () => {
  it('tasks exchange messages through a bounded channel', async () => {
    const s = make();
    const ch = s.channel<number>({ capacity: 4 });
    const [sent, total] = await Promise.all([
      s.run('producer', { ch: ch.handle, n: 1000 }),
      s.run('consumer', { ch: ch.handle }),
    ]);
    expect(sent).toBe(1000);
    expect(total).toBe((999 * 1000) / 2);
  });

  it('main thread send/recv with backpressure', async () => {
    const s = make();
    const ch = s.channel<string>({ capacity: 1 });
    expect(ch.trySend('a')).toBe(true);
    expect(ch.trySend('b')).toBe(false);
    const p = ch.send('b');
    expect(ch.tryRecv()).toEqual({ done: false, value: 'a' });
    await p;
    ch.close();
    const got: string[] = [];
    for await (const v of ch) got.push(v);
    expect(got).toEqual(['b']);
  });

  it('hashFiles and verifyBatch run natively and match omnitide/crypto', async () => {
    const s = make();
    const files = Array.from({ length: 20 }, (_, i) => {
      const f = join(dir, `f${i}`);
      writeFileSync(f, `content ${i}`.repeat(i * 100));
      return f;
    });
    const res = await s.native.hashFiles([...files, join(dir, 'missing'), '/dev/zero']);
    for (let i = 0; i < files.length; i++) expect(res[i]).toEqual({ ok: true, hash: blake3.hash(`content ${i}`.repeat(i * 100)) });
    // a failed item has the same shape, no instanceof needed
    expect(res[20]).toMatchObject({ ok: false, error: { code: 'ERR_OMNI_IO', message: expect.stringContaining('missing') } });
    expect(res[20].ok === false && res[20].error).toBeInstanceOf(OmniError);
    expect(res[21]).toMatchObject({ ok: false, error: { code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringContaining('character device') } });
    expect(s.stats().native).toEqual({ completed: 20, failed: 2 });
    const kp = ed25519.generateKeyPair();
    const items = Array.from({ length: 16 }, (_, i) => {
      const message = Buffer.from(`m${i}`);
      return { message, publicKey: kp.publicKey, signature: ed25519.sign(message, kp.secretKey) };
    });
    items[3] = { ...items[3], message: Buffer.from('tampered') };
    const ok = await s.native.verifyBatch(items);
    expect(ok.filter((x) => !x)).toHaveLength(1);
    expect(ok[3]).toBe(false);
    expect(await s.native.noop(10_000)).toBe(10_000);
    const nativeOnly = make({ tasks: undefined });
    expect((await nativeOnly.native.hashFiles([files[1]]))[0]).toEqual(res[1]);
    expect((await rejection(nativeOnly.run('echo', 1))).message).toMatch(/^options.tasks: /);
  });
});

describe('scheduler: subtasks spawned from inside tasks (ctx.run, ctx.map)', () => {
  const sumWorkers = (s: Scheduler, k: 'executed' | 'stolen') => s.stats().workers.reduce((a, w) => a + w[k], 0);
  const fibJs = (n: number): number => (n < 2 ? n : fibJs(n - 1) + fibJs(n - 2));

  it('recursive fan-out where every worker waits on children does not deadlock; subtasks are stolen', async () => {
    const s = make();
    await s.ready();
    expect(await s.run('fib', 12)).toBe(fibJs(12));
    // 465 tasks in the tree, all but the root spawned from inside tasks
    expect(sumWorkers(s, 'executed')).toBe(465);
    expect(sumWorkers(s, 'stolen')).toBeGreaterThan(0);
    // several roots at once: both workers hold parents that wait on children
    expect(await Promise.all([10, 11, 9, 12].map((n) => s.run('fib', n)))).toEqual([10, 11, 9, 12].map(fibJs));
  });

  it('with one thread the waiting worker runs its own subtasks (no deadlock)', async () => {
    const s = make({ threads: 1 });
    expect(await s.run('fib', 9)).toBe(fibJs(9));
    expect(await s.run('spawnMap', new Float64Array([1.5, 2, 3]))).toEqual([3, 4, 6]);
  });

  it('4 long + 400 short tasks spawned from one root: results right, idle worker steals them', async () => {
    const s = make();
    await s.ready();
    const r = (await s.run('unbalanced', { long: 4, longMs: 30, short: 400, shortMs: 0.5 })) as number[];
    expect(r).toEqual(Array.from({ length: 404 }, (_, i) => i * 2));
    const st = s.stats();
    expect(st.workers.reduce((a, w) => a + w.executed, 0)).toBe(405);
    expect(st.workers.reduce((a, w) => a + w.stolen, 0)).toBeGreaterThan(0);
    // both workers executed some of them
    for (const w of st.workers) expect(w.executed).toBeGreaterThan(0);
  });

  it('ctx.map partitions over subtasks; child errors and unknown names reach the parent', async () => {
    const s = make();
    expect(await s.run('spawnMap', [1, 2, 3, 4, 5, 6, 7])).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(await s.run('spawnFail')).toMatch(/^ERR_OMNI_TASK_FAILED: subtask 'fail' \(id \d+\) threw: boom: child$/);
    expect(await s.run('spawnMissing')).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });

  it('a subtask that crashes its worker fails once (no crash loop) and the scheduler keeps working', async () => {
    const s = make();
    await s.ready();
    // the child runs on the other worker (parent gets ERR_OMNI_WORKER_CRASHED) or nested on the
    // parent's own worker (both die: the parent's run rejects with ERR_OMNI_WORKER_CRASHED)
    const out = await s.run('spawnExit').then(
      (v) => v,
      (e: OmniError) => e.code,
    );
    expect(out).toBe(C.WORKER_CRASHED);
    expect(replaced(s)).toBe(1);
    expect(await s.run('fib', 8)).toBe(21);
  });

  it('cancelling a parent cancels its queued children (they never run)', async () => {
    const s = make();
    await s.ready();
    const ac = new AbortController();
    const p = s.run('spawnMany', { n: 300, ms: 5 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 150);
    expect((await rejection(p)).code).toBe(C.TASK_CANCELLED);
    // wait until nothing is queued or running any more
    for (let i = 0; i < 400; i++) {
      const st = s.stats();
      if (st.queued === 0 && st.workers.every((w) => w.inflight === 0)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const st = s.stats();
    expect(st.queued).toBe(0);
    expect(sumWorkers(s, 'executed')).toBeLessThan(301);
    // the scheduler keeps working
    expect(await s.run('fib', 6)).toBe(8);
  });
});

describe('scheduler: transfer', () => {
  it('detaches the listed ArrayBuffers after capturing the input', async () => {
    const s = make();
    const ab = new Uint8Array([1, 2, 3, 4]).buffer;
    const view = new Uint8Array(ab);
    const p = s.run('byteSum', view, { transfer: [ab] });
    expect(ab.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(await p).toBe(10);
    const ab2 = new Uint8Array([5, 5]).buffer;
    const m = s.map('byteSum', [new Uint8Array(ab2)], { transfer: [ab2] });
    expect(ab2.byteLength).toBe(0);
    expect(await m).toEqual([10]);
  });

  it('rejects bad transfer lists without queueing or detaching anything', async () => {
    const s = make();
    const ok = new ArrayBuffer(8);
    const bad = async (list: unknown[], re: RegExp) => {
      const e = await rejection(s.run('byteSum', new Uint8Array(ok), { transfer: list as ArrayBuffer[] }));
      expect(e.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
      expect(e.message).toMatch(re);
      expect(ok.byteLength).toBe(8);
    };
    await bad([ok, new SharedArrayBuffer(4)], /^options\.transfer\[1\]: expected an ArrayBuffer, got a SharedArrayBuffer/);
    await bad([new Uint8Array(4)], /^options\.transfer\[0\]: expected an ArrayBuffer, got a view/);
    await bad([ok, ok], /^options\.transfer\[1\]: the same ArrayBuffer is listed twice/);
    const gone = new ArrayBuffer(4);
    structuredClone(gone, { transfer: [gone] });
    await bad([ok, gone], /^options\.transfer\[1\]: the ArrayBuffer is already detached/);
    expect(s.stats().completed + s.stats().failed).toBe(0);
  });
});
