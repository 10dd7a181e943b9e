/**
 * River as the oracle: the same streams, the same hyper-parameters, prequential accuracy within
 * 1 percentage point (we match River's update rules, so in practice the predictions agree
 * almost everywhere), and ADWIN / DDM / Page-Hinkley flag the same drift points.
 */
import { describe, expect, it } from 'vitest';
import { createDetector, createModel, type ModelKind, type ModelOptions } from '../../ts/learn/index.js';
import { runPython } from './oracle.js';

interface Oracle {
  river: string;
  data: Record<string, { keys: string[]; x: number[][]; y: number[] }>;
  results: Record<string, { accuracy: number; predictions: number[] }>;
  streams: Record<string, { values: number[]; changes: number[]; adwin: number[]; ddm: number[]; pageHinkley: number[] }>;
}

const oracle = runPython<Oracle>('river_oracle.py', 'river');

/** Our equivalent of each model in river_oracle.py's MODELS. */
const ours: Record<string, [ModelKind, ModelOptions]> = {
  'logistic-regression': ['logistic-regression', {}],
  'logistic-regression-adam-l2': ['logistic-regression', { params: { optimizer: { type: 'adam', lr: 0.05 }, l2: 0.001 } }],
  'scaled-logistic-regression': ['logistic-regression', { scale: true }],
  'gaussian-nb': ['gaussian-nb', {}],
  'hoeffding-tree': ['hoeffding-tree', {}],
  'hoeffding-tree-gini-mc': ['hoeffding-tree', { params: { gracePeriod: 100, splitCriterion: 'gini', leafPrediction: 'mc', delta: 1e-5 } }],
};

describe.skipIf(!oracle)('prequential accuracy vs River', () => {
  const rows: string[] = [];
  for (const key of Object.keys(oracle?.results ?? {})) {
    const [dataset, model] = key.split('/');
    it(`${dataset} / ${model}`, () => {
      const d = oracle!.data[dataset];
      const [kind, opts] = ours[model];
      const m = createModel(kind, { ...opts, nFeatures: d.keys.length });
      const x = Float64Array.from(d.x.flat());
      const preds = m.prequential(x, Float64Array.from(d.y), { window: 0 });
      const acc = m.metrics()!.accuracy!;
      const river = oracle!.results[key];
      let agree = 0;
      preds.forEach((p, i) => (agree += Number(p === river.predictions[i] || (Number.isNaN(p) && river.predictions[i] === -1))));
      rows.push(`${key.padEnd(44)} omnitide ${(acc * 100).toFixed(2)}%  river ${(river.accuracy * 100).toFixed(2)}%  same prediction ${((agree / preds.length) * 100).toFixed(2)}%`);
      console.log(rows[rows.length - 1]);
      expect(Math.abs(acc - river.accuracy)).toBeLessThanOrEqual(0.01);
    });
  }
});

describe.skipIf(!oracle)('drift detectors vs River', () => {
  for (const name of ['gauss', 'bernoulli']) {
    it(`ADWIN on the ${name} stream flags River's drift points (within one clock of 32 samples)`, () => {
      const s = oracle!.streams[name];
      const hits = createDetector('adwin').updateMany(s.values);
      console.log(`ADWIN ${name}: omnitide ${JSON.stringify(hits)} river ${JSON.stringify(s.adwin)} true changes ${JSON.stringify(s.changes)}`);
      expect(hits.length).toBe(s.adwin.length);
      hits.forEach((h, i) => expect(Math.abs(h - s.adwin[i])).toBeLessThanOrEqual(32));
      // And they are real: each detection follows a true change by less than 150 samples.
      for (const h of hits) expect(s.changes.some((c) => h >= c && h - c < 150)).toBe(true);
    });
    it(`Page-Hinkley on the ${name} stream matches River`, () => {
      const s = oracle!.streams[name];
      expect(createDetector('page-hinkley').updateMany(s.values)).toEqual(s.pageHinkley);
    });
  }
  it('DDM on the Bernoulli error stream matches River', () => {
    const s = oracle!.streams.bernoulli;
    expect(createDetector('ddm').updateMany(s.values)).toEqual(s.ddm);
  });
});
