/**
 * Synthetic data benchmark (omnitide/pipeline synth), peers in the same run:
 * - rule-based generation of 1M rows of non-faker fields (native columns) vs
 *   `@faker-js/faker` producing the same fields row by row in JS (goal >= 1M rows/s);
 *   faker fields (names, emails) through our seeded Faker path, reported separately;
 * - Gaussian copula fit + sample vs the Python `copulas` package (SDV's engine,
 *   fit and sample timed inside Python, start-up excluded) on the same table, and the
 *   fidelity of both scored by the same report; the Gaussian mixture beside them.
 * Saves bench/results/synth.json.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { en, Faker } from '@faker-js/faker';
import * as synth from '../ts/pipeline/synth/index.js';
import { sampleTable } from '../test/pipeline/synth-data.js';
import { save, timeOnce } from './harness.js';

const ROWS = Number(process.env.BENCH_SYNTH_ROWS ?? 1_000_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

const ruleSchema = (rows: number): synth.SynthSchema => ({
  tables: [
    {
      name: 'events',
      rows,
      fields: [
        { name: 'id', gen: { kind: 'sequence' }, unique: true },
        { name: 'user', gen: { kind: 'int', min: 1, max: 100_000 } },
        { name: 'amount', gen: { kind: 'float', min: 0, max: 1000 } },
        { name: 'latency', gen: { kind: 'normal', mean: 40, std: 10 }, min: 0 },
        { name: 'status', gen: { kind: 'enum', values: ['ok', 'retry', 'error'], weights: [90, 7, 3] } },
        { name: 'at', gen: { kind: 'date', from: '2024-01-01', to: '2025-01-01' } },
      ],
    },
  ],
});

/** The same six fields with Faker, one row object at a time (what a Node user writes today). */
function fakerRows(rows: number) {
  const f = new Faker({ locale: [en] });
  f.seed(1);
  const from = new Date('2024-01-01');
  const to = new Date('2025-01-01');
  const out = new Array(rows);
  for (let i = 0; i < rows; i++) {
    out[i] = {
      id: i + 1,
      user: f.number.int({ min: 1, max: 100_000 }),
      amount: f.number.float({ min: 0, max: 1000 }),
      latency: Math.max(0, 40 + 10 * Math.sqrt(-2 * Math.log(f.number.float({ min: 1e-12, max: 1 }))) * Math.cos(2 * Math.PI * f.number.float())),
      status: f.helpers.weightedArrayElement([{ weight: 90, value: 'ok' }, { weight: 7, value: 'retry' }, { weight: 3, value: 'error' }]),
      at: f.date.between({ from, to }),
    };
  }
  return out;
}

async function copulasPeer(columns: Record<string, number[]>, rows: number, seed: number) {
  const child = spawn('python3', [join(__dirname, '..', 'test', 'pipeline', 'synth_peer.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<number | string>((res) => {
    child.on('error', (e) => res(e.message));
    child.on('close', (c) => res(c ?? -1));
  });
  child.stdin.on('error', () => {});
  child.stdin.end(JSON.stringify({ columns, rows, seed }));
  const code = await done;
  if (code !== 0) return { missing: `copulas peer unavailable (${code}): ${err.trim().split('\n').pop()}` };
  return JSON.parse(out) as { columns: Record<string, number[]>; fitMs: number; sampleMs: number };
}

async function main() {
  const result: Record<string, unknown> = {};

  // Rule-based, non-faker fields: native columns.
  const schema = ruleSchema(ROWS);
  await synth.generate(ruleSchema(1000), { seed: 1 });
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await timeOnce(() => synth.generate(schema, { seed: i })));
  const ours = median(runs);
  const peerRows = Math.min(ROWS, 200_000);
  const peer = median([0, 1, 2].map(() => {
    const t = process.hrtime.bigint();
    fakerRows(peerRows);
    return Number(process.hrtime.bigint() - t) / 1e9;
  }));
  const rule = { rows: ROWS, fields: 6, omnitideRowsPerSec: Math.round(ROWS / ours), fakerRowsPerSec: Math.round(peerRows / peer), ratio: r2(ROWS / ours / (peerRows / peer)), goal: '>= 1M rows/s' };
  console.log(`rule-based (6 non-faker fields): omnitide ${(rule.omnitideRowsPerSec / 1e6).toFixed(2)}M rows/s, faker row objects ${(rule.fakerRowsPerSec / 1e6).toFixed(3)}M rows/s, ratio ${rule.ratio}x (goal >= 1M rows/s)`);
  result.ruleBased = rule;

  // Faker fields through our seeded path.
  const fakerSchema: synth.SynthSchema = {
    tables: [{ name: 'users', rows: 50_000, fields: [{ name: 'name', gen: { kind: 'faker', method: 'person.fullName' } }, { name: 'email', gen: { kind: 'faker', method: 'internet.email' } }] }],
  };
  const tf = await timeOnce(() => synth.generate(fakerSchema, { seed: 1 }));
  result.fakerFields = { rows: 50_000, fields: 2, rowsPerSec: Math.round(50_000 / tf) };
  console.log(`faker fields (fullName + email): ${Math.round(50_000 / tf)} rows/s`);

  // Copula vs copulas on the same numeric table; mixture beside.
  const n = 5000;
  const { a, b } = sampleTable(n, 77);
  const c = a.map((x, i) => ((x - 50) / 10) ** 2 + 0.1 * Math.log(b[i]));
  const d = a.map((x, i) => 0.5 * x - 3 * Math.log(b[i]));
  const real = { a, b, c, d };
  let model!: synth.Synthesizer;
  const tFit = median(await (async () => { const t: number[] = []; for (let i = 0; i < 3; i++) t.push(await timeOnce(async () => (model = await synth.fit(real, { seed: 1 })))); return t; })());
  let fake!: synth.SyntheticTable;
  const tSample = median(await (async () => { const t: number[] = []; for (let i = 0; i < 3; i++) t.push(await timeOnce(async () => (fake = await model.sample(n, { seed: 2 })))); return t; })());
  const fo = await synth.fidelity(real, fake);
  let mix!: synth.Synthesizer;
  const tMixFit = await timeOnce(async () => (mix = await synth.fit(real, { strategy: 'mixture', seed: 1 })));
  let mfake!: synth.SyntheticTable;
  const tMixSample = await timeOnce(async () => (mfake = await mix.sample(n, { seed: 2 })));
  const fm = await synth.fidelity(real, mfake);
  const summary = (f: synth.FidelityReport) => ({
    meanKs: r4(f.meanColumnDistance),
    maxKs: r4(Math.max(...f.columns.map((x) => x.value))),
    corrMeanAbsError: r4(f.correlation.meanAbsError),
    exactMatches: f.privacy.exactMatches,
    dcrMedian: r4(f.privacy.dcrMedian),
  });
  const copula: Record<string, unknown> = { rows: n, columns: 4, omnitide: { fitMs: r2(tFit * 1e3), sampleMs: r2(tSample * 1e3), ...summary(fo) }, mixture: { fitMs: r2(tMixFit * 1e3), sampleMs: r2(tMixSample * 1e3), ...summary(fm) } };
  const p = await copulasPeer(real, n, 1);
  if ('missing' in p) {
    copula.copulas = p;
    console.warn(`*** ${p.missing}`);
  } else {
    const fp = await synth.fidelity(real, p.columns);
    copula.copulas = { fitMs: r2(p.fitMs), sampleMs: r2(p.sampleMs), ...summary(fp) };
    copula.speedup = r2((p.fitMs + p.sampleMs) / ((tFit + tSample) * 1e3));
    copula.meanKsRatio = r2(fo.meanColumnDistance / fp.meanColumnDistance);
    copula.corrErrorRatio = r2(fo.correlation.meanAbsError / fp.correlation.meanAbsError);
  }
  console.log('copula vs copulas (SDV engine), same table:', JSON.stringify(copula, null, 1));
  result.copula = copula;
  save('synth', result);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
