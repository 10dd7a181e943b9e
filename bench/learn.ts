/**
 * Learn benchmark: test-then-train (predict, then learn, per sample) on the same stream for
 * omnitide/learn through the batch API (`prequential`, one native call per batch), one call per
 * sample from JS, and River (Python) in the same run; plus single-sample prediction latency.
 * Saves bench/results/learn.json.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createModel, type ModelKind } from '../ts/learn/index.js';
import { save } from './harness.js';

const N = Number(process.env.BENCH_LEARN_N ?? 200_000);
const N_RIVER = Math.min(N, Number(process.env.BENCH_LEARN_RIVER_N ?? 20_000));
const D = 8;

/** A SEA-like stream: 8 uniform features, label from a noisy threshold on two of them. */
function stream(n: number) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const x = new Float64Array(n * D);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) x[i * D + j] = rnd() * 10;
    const noisy = rnd() < 0.05;
    y[i] = Number((x[i * D] + x[i * D + 1] > 9) !== noisy);
  }
  return { x, y };
}

function river(kind: ModelKind, x: Float64Array, y: Float64Array, n: number): { samples: number; seconds: number; accuracy: number } | { error: string } {
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * D, (i + 1) * D)));
  const input = JSON.stringify({ keys: Array.from({ length: D }, (_, j) => `x${j}`), x: rows, y: Array.from(y.subarray(0, n)) });
  const r = spawnSync('python3', [join(__dirname, 'fixtures', 'learn_river.py'), kind], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop()! };
  return JSON.parse(r.stdout);
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

async function main() {
  const { x, y } = stream(N);
  const results: Record<string, unknown>[] = [];
  console.log(`learn: test-then-train on ${N} samples x ${D} features (River on the first ${N_RIVER}); figures under the machine's current load`);
  for (const kind of ['logistic-regression', 'hoeffding-tree'] as ModelKind[]) {
    // Batch API: median of 3 fresh runs, 10k-sample batches.
    const batch = 10_000;
    const times: number[] = [];
    let acc = 0;
    for (let rep = 0; rep < 3; rep++) {
      const m = createModel(kind, { nFeatures: D });
      const preds = new Float64Array(N);
      const t = performance.now();
      for (let i = 0; i < N; i += batch) preds.set(m.prequential(x.subarray(i * D, Math.min(N, i + batch) * D), y.subarray(i, Math.min(N, i + batch))), i);
      times.push(performance.now() - t);
      acc = preds.reduce((c, p, i) => c + Number(p === y[i]), 0) / N;
    }
    const batchRate = N / (median(times) / 1000);
    // One call per sample from JS (predictOne then learnOne).
    const m1 = createModel(kind, { nFeatures: D });
    const n1 = Math.min(N, 50_000);
    let t = performance.now();
    for (let i = 0; i < n1; i++) {
      const row = x.subarray(i * D, (i + 1) * D);
      m1.predictOne(row);
      m1.learnOne(row, y[i]);
    }
    const oneRate = n1 / ((performance.now() - t) / 1000);
    // Single-sample prediction latency on the trained model.
    const lat: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const row = x.subarray((i % N) * D, ((i % N) + 1) * D);
      const s = process.hrtime.bigint();
      m1.predictOne(row);
      lat.push(Number(process.hrtime.bigint() - s) / 1000);
    }
    lat.sort((a, b) => a - b);
    const p50 = lat[Math.floor(lat.length * 0.5)];
    const p95 = lat[Math.floor(lat.length * 0.95)];
    const p99 = lat[Math.floor(lat.length * 0.99)];
    const r = river(kind, x, y, N_RIVER);
    const riverRate = 'error' in r ? NaN : r.samples / r.seconds;
    const row = {
      model: kind,
      batchSamplesPerSec: batchRate,
      oneAtATimeSamplesPerSec: oneRate,
      riverSamplesPerSec: riverRate,
      ratioBatchVsRiver: batchRate / riverRate,
      ratioOneAtATimeVsRiver: oneRate / riverRate,
      predictLatencyUs: { p50, p95, p99 },
      accuracy: acc,
      riverAccuracy: 'error' in r ? null : r.accuracy,
      riverError: 'error' in r ? r.error : undefined,
    };
    results.push(row);
    const f = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(1)}k`);
    console.log(`\n${kind}   (goals: ${kind === 'logistic-regression' ? '>= 1M samples/s batch, ' : ''}>= 50x River, p95 < 50 µs)`);
    console.log(`  omnitide batch (prequential)      ${f(batchRate).padStart(8)} samples/s   ${(row.ratioBatchVsRiver).toFixed(1)}x River   accuracy ${(acc * 100).toFixed(2)}%`);
    console.log(`  omnitide one call per sample (JS) ${f(oneRate).padStart(8)} samples/s   ${(row.ratioOneAtATimeVsRiver).toFixed(1)}x River`);
    console.log(`  river ${'error' in r ? `unavailable: ${r.error}` : `${f(riverRate).padStart(27)} samples/s   accuracy ${(r.accuracy * 100).toFixed(2)}% (first ${N_RIVER})`}`);
    console.log(`  predictOne latency p50 ${p50.toFixed(2)} µs  p95 ${p95.toFixed(2)} µs  p99 ${p99.toFixed(2)} µs`);
  }
  const crossDomain = await wallTimePerTask();
  save('learn', { samples: N, riverSamples: N_RIVER, features: D, results, crossDomain });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * Continual and meta-learning wall time per task (the issue's third bench line). Continual: 5
 * tasks of 2 classes, 64 features (Gaussian blobs, the shape of split digits), 360 samples per
 * task, 5 epochs, a 10-way MLP head, naive / EWC (consolidate after each task) / replay.
 * Meta: Reptile on the MAML sinusoids (ms per meta-iteration, each one task), then few-shot
 * adaptation of a new task (5 steps on 10 points).
 */
async function wallTimePerTask() {
  let s = 99;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const F = 64;
  const centres = Array.from({ length: 10 }, () => Float64Array.from({ length: F }, () => 3 * gauss()));
  const task = (t: number) => {
    const n = 360;
    const x = new Float64Array(n * F);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = 2 * t + (i % 2);
      y[i] = c;
      for (let j = 0; j < F; j++) x[i * F + j] = centres[c][j] + gauss();
    }
    return { x, y };
  };
  const tasks = Array.from({ length: 5 }, (_, t) => task(t));
  const continual: Record<string, number> = {};
  for (const [name, params, ewc] of [
    ['naive', {}, false],
    ['ewc', { ewcLambda: 100_000 }, true],
    ['replay', { replayCapacity: 200, replayK: 1 }, false],
  ] as const) {
    const m = createModel('mlp', { nFeatures: F, params: { hidden: [64], outputs: 10, lr: 0.05, seed: 3, ...params } });
    const t0 = performance.now();
    for (const t of tasks) {
      for (let e = 0; e < 5; e++) await m.learnManyAsync(t.x, t.y);
      if (ewc) m.consolidate(t.x, t.y);
    }
    continual[`${name}MsPerTask`] = (performance.now() - t0) / tasks.length;
  }
  const sinusoid = () => {
    const a = 0.1 + 4.9 * rnd();
    const ph = Math.PI * rnd();
    const xs = Float64Array.from({ length: 10 }, () => -5 + 10 * rnd());
    return { xs, y: xs.map((v) => a * Math.sin(v + ph)) };
  };
  const params = { hidden: [40, 40], outputs: 1, task: 'regression', activation: 'tanh', lr: 0.01, seed: 1 };
  const meta = createModel('mlp', { nFeatures: 1, params });
  const iterations = 3000;
  let t0 = performance.now();
  await meta.metaTrain(Array.from({ length: 400 }, sinusoid), { iterations, innerSteps: 3, epsilon: 0.5, seed: 7 });
  const metaMsPerTask = (performance.now() - t0) / iterations;
  const adapts = 200;
  t0 = performance.now();
  for (let i = 0; i < adapts; i++) {
    const t = sinusoid();
    meta.clone().adapt(t.xs, t.y, { steps: 5 });
  }
  const adaptMsPerTask = (performance.now() - t0) / adapts;
  console.log('\ncross-domain wall time per task');
  console.log(`  continual (5 epochs x 360 samples, 64 -> 64 -> 10 MLP): naive ${continual.naiveMsPerTask.toFixed(1)} ms, EWC ${continual.ewcMsPerTask.toFixed(1)} ms, replay ${continual.replayMsPerTask.toFixed(1)} ms`);
  console.log(`  Reptile meta-training ${metaMsPerTask.toFixed(3)} ms per meta-iteration (one task, 3 inner steps); few-shot adaptation ${adaptMsPerTask.toFixed(3)} ms per new task (5 steps, 10 points)`);
  return { continual, reptile: { metaMsPerTask, adaptMsPerTask, innerSteps: 3, adaptSteps: 5 } };
}
