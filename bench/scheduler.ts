/**
 * Scheduler benchmark: omnitide/scheduler vs piscina, tinypool, poolifier and
 * raw worker_threads (batched messages), in one run, same thread count.
 * Wall-clock timings of whole workloads (pools are not re-created per sample).
 * Saves bench/results/scheduler.json. Runtime about a minute.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import { FixedThreadPool } from 'poolifier';
import { Scheduler } from '../ts/scheduler/index.js';
import { save } from './harness.js';

const THREADS = Number(process.env.BENCH_THREADS ?? Math.min(2, availableParallelism()));
const FIX = join(__dirname, 'fixtures');
const TASKS = join(FIX, 'sched-tasks.mjs');
const N_TRIVIAL = Number(process.env.BENCH_SCHED_N ?? 100_000);
const N_PEER = Math.min(N_TRIVIAL, 20_000); // peers are 10-40x slower per task: fewer tasks, same per-task figure
const REPS = 3;

const now = () => performance.now();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeIt(fn: () => Promise<unknown>, reps = REPS): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = now();
    await fn();
    t.push(now() - s);
  }
  return median(t);
}

interface Row {
  group: string;
  impl: string;
  ms: number;
  units: number;
  usPerUnit: number;
}
const rows: Row[] = [];
function record(group: string, impl: string, ms: number, units: number): Row {
  const r = { group, impl, ms, units, usPerUnit: (ms * 1000) / units };
  rows.push(r);
  return r;
}
function print(group: string, goal: string) {
  const g = rows.filter((r) => r.group === group);
  const ours = g.find((r) => r.impl.startsWith('omnitide'));
  console.log(`\n${group}   (goal: ${goal})`);
  for (const r of g) {
    const ratio = ours && r !== ours ? `  ${r.impl}/omnitide per-unit = ${(r.usPerUnit / ours.usPerUnit).toFixed(2)}x` : '';
    console.log(`  ${r.impl.padEnd(30)} ${r.ms.toFixed(1).padStart(9)} ms for ${String(r.units).padStart(6)}  ${r.usPerUnit.toFixed(2).padStart(9)} µs/unit${ratio}`);
  }
}

class RawPool {
  private workers: Worker[] = [];
  private next = 0;
  private waits = new Map<number, (v: unknown[]) => void>();
  private id = 0;
  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(join(FIX, 'sched-raw.mjs'));
      w.on('message', ({ id, out }) => {
        this.waits.get(id)!(out);
        this.waits.delete(id);
      });
      this.workers.push(w);
    }
  }
  batch(fn: string, items: unknown[]): Promise<unknown[]> {
    const id = ++this.id;
    const w = this.workers[this.next++ % this.workers.length];
    return new Promise((r) => {
      this.waits.set(id, r);
      w.postMessage({ id, fn, items });
    });
  }
  /** Splits items into `chunks` batches round-robin over the workers. */
  async map(fn: string, items: unknown[], chunks: number): Promise<unknown[]> {
    const size = Math.ceil(items.length / chunks);
    const parts: Promise<unknown[]>[] = [];
    for (let i = 0; i < items.length; i += size) parts.push(this.batch(fn, items.slice(i, i + size)));
    return (await Promise.all(parts)).flat();
  }
  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

async function main() {
  console.log(`threads: ${THREADS}, trivial tasks: ${N_TRIVIAL} (peers ${N_PEER})`);
  const sched = new Scheduler({ tasks: TASKS, threads: THREADS });
  const piscina = new Piscina({ filename: TASKS, minThreads: THREADS, maxThreads: THREADS });
  const tiny = new Tinypool({ filename: TASKS, minThreads: THREADS, maxThreads: THREADS });
  const pool = new FixedThreadPool(THREADS, join(FIX, 'sched-poolifier.mjs'));
  const raw = new RawPool(THREADS);
  await sched.ready();
  const ints = (n: number) => Array.from({ length: n }, (_, i) => i);
  // warm-up every pool
  await Promise.all(ints(2000).map((i) => sched.run('noop', i)));
  await Promise.all(ints(2000).map((i) => piscina.run(i, { name: 'noop' })));
  await Promise.all(ints(2000).map((i) => tiny.run(i, { name: 'noop' })));
  await Promise.all(ints(2000).map((i) => pool.execute(i, 'noop')));
  await raw.map('noop', ints(2000), THREADS);

  // 1. trivial tasks through run()
  const G1 = 'trivial tasks via run()';
  const a = ints(N_TRIVIAL);
  const p = ints(N_PEER);
  const ours1 = record(G1, 'omnitide run', await timeIt(() => Promise.all(a.map((i) => sched.run('noop', i)))), N_TRIVIAL);
  const pisc1 = record(G1, 'piscina', await timeIt(() => Promise.all(p.map((i) => piscina.run(i, { name: 'noop' }))), 1), N_PEER);
  record(G1, 'tinypool', await timeIt(() => Promise.all(p.map((i) => tiny.run(i, { name: 'noop' }))), 1), N_PEER);
  record(G1, 'poolifier', await timeIt(() => Promise.all(p.map((i) => pool.execute(i, 'noop'))), 1), N_PEER);
  const raw1 = record(G1, 'raw worker_threads (batched)', await timeIt(() => raw.map('noop', a, THREADS * 8)), N_TRIVIAL);
  print(G1, '>= 5x piscina tasks/s');

  // 2. map with partitioning
  const G2 = 'trivial items via map()';
  const ours2 = record(G2, 'omnitide map', await timeIt(() => sched.map('noop', a)), N_TRIVIAL);
  record(G2, 'raw worker_threads (batched)', raw1.ms, N_TRIVIAL);
  print(G2, 'within 1.5x of batched raw worker_threads');

  // 3. 1,000 tasks of 1 ms CPU
  const G3 = '1,000 x 1 ms CPU';
  const k = ints(1000);
  const serial = record(G3, 'serial (main thread)', await timeIt(async () => {
    for (const _ of k) {
      const end = performance.now() + 1;
      while (performance.now() < end);
    }
  }, 1), 1000);
  const ours3 = record(G3, 'omnitide run', await timeIt(() => Promise.all(k.map(() => sched.run('cpu1ms')))), 1000);
  const pisc3 = record(G3, 'piscina', await timeIt(() => Promise.all(k.map(() => piscina.run(0, { name: 'cpu1ms' })))), 1000);
  record(G3, 'tinypool', await timeIt(() => Promise.all(k.map(() => tiny.run(0, { name: 'cpu1ms' }))), 1), 1000);
  record(G3, 'poolifier', await timeIt(() => Promise.all(k.map(() => pool.execute(0, 'cpu1ms'))), 1), 1000);
  record(G3, 'raw worker_threads (batched)', await timeIt(() => raw.map('cpu1ms', k, THREADS)), 1000);
  const ideal = serial.ms / THREADS;
  print(G3, `within 1.1x of ideal ${ideal.toFixed(0)} ms and ahead of piscina`);

  // 4. unbalanced DAG spawned from inside tasks: a root task spawns 4 long and
  // 400 short subtasks with ctx.run onto its own worker's deque; the other
  // worker steals them while the root's worker helps until they are done.
  const G4 = 'unbalanced DAG (spawned from inside a task)';
  const before = sched.stats();
  const t4 = now();
  const spawned = await sched.run<number>('dagRoot', { long: 4, longMs: 40, short: 400, shortMs: 1 });
  const wall4 = now() - t4;
  const after = sched.stats();
  const busy = after.workers.reduce((s, w, i) => s + w.busyMs - before.workers[i].busyMs, 0);
  const stolen = after.workers.reduce((s, w, i) => s + w.stolen - before.workers[i].stolen, 0);
  const perWorker = after.workers.map((w, i) => w.executed - before.workers[i].executed);
  const work = 1 + 4 * 40 + 400;
  const utilization = busy / (wall4 * THREADS);
  record(G4, 'omnitide ctx.run fan-out', wall4, spawned + 1);
  console.log(
    `\n${G4}: ${spawned + 1} tasks (${work} ms of CPU), wall ${wall4.toFixed(0)} ms, ideal ${(work / THREADS).toFixed(0)} ms, ` +
      `utilization ${(utilization * 100).toFixed(1)}% (busy time / wall x threads), vs ideal ${((work / THREADS) / wall4 * 100).toFixed(1)}%, ` +
      `stolen ${stolen}, executed per worker ${perWorker.join('/')}`,
  );

  // 5. native task overhead
  const G5 = 'native tasks (no JS)';
  const NN = 1_000_000;
  await sched.native.noop(10_000);
  const ours5 = record(G5, 'omnitide native noop', await timeIt(() => sched.native.noop(NN)), NN);
  console.log(`\n${G5}: ${(ours5.usPerUnit * 1000).toFixed(0)} ns per task (goal <= 1000 ns)`);

  const summary = {
    runVsPiscina: pisc1.usPerUnit / ours1.usPerUnit,
    runUsPerTask: ours1.usPerUnit,
    mapVsRaw: ours2.usPerUnit / raw1.usPerUnit,
    cpuVsIdeal: ours3.ms / ideal,
    cpuVsPiscina: pisc3.ms / ours3.ms,
    dagUtilization: utilization,
    dagStolen: stolen,
    dagVsIdeal: wall4 / (work / THREADS),
    nativeNsPerTask: ours5.usPerUnit * 1000,
  };
  console.log('\nsummary', summary);
  save('scheduler', { threads: THREADS, rows, summary });
  await Promise.all([sched.close(), piscina.destroy(), tiny.destroy(), pool.destroy(), raw.close()]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
