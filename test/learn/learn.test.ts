import { describe, expect, it } from 'vitest';
import { OmniError } from '../../ts/errors.js';
import { createDetector, createModel, hashFeatures, loadModel, type ModelKind, type ModelOptions } from '../../ts/learn/index.js';
import { thrown as err } from '../helpers/thrown.js';

/** A deterministic stream: 4 features, label = a noisy linear rule, a few missing values. */
function stream(n: number, seed = 1): { x: Float64Array; y: Float64Array; target: Float64Array } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const x = new Float64Array(n * 4);
  const y = new Float64Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4; j++) x[i * 4 + j] = rnd() * 2 - 1;
    if (i % 17 === 3) x[i * 4 + 2] = NaN;
    const t = 2 * x[i * 4] - x[i * 4 + 1] + 0.1 * (rnd() - 0.5);
    target[i] = t;
    y[i] = t > 0 ? 1 : 0;
  }
  return { x, y, target };
}

const kinds: [ModelKind, ModelOptions, 'y' | 'target'][] = [
  ['logistic-regression', { scale: true }, 'y'],
  ['logistic-regression', { params: { optimizer: { type: 'adam' }, l1: 0.001 } }, 'y'],
  ['linear-regression', { scale: true }, 'target'],
  ['gaussian-nb', {}, 'y'],
  ['hoeffding-tree', { params: { gracePeriod: 50 } }, 'y'],
  ['adaptive-hoeffding-tree', { params: { gracePeriod: 50 } }, 'y'],
  ['half-space-trees', { params: { windowSize: 50, seed: 3 } }, 'y'],
  ['mlp', { params: { hidden: [8], seed: 1 } }, 'y'],
];

describe('every model', () => {
  for (const [kind, opts, label] of kinds) {
    it(`${kind}: batch == one-at-a-time, save/load gives identical predictions`, () => {
      const d = stream(600);
      const y = kind === 'half-space-trees' ? new Float64Array(600) : d[label];
      const a = createModel(kind, { ...opts, nFeatures: 4 });
      const b = createModel(kind, { ...opts, nFeatures: 4 });
      a.learnMany(d.x.subarray(0, 400 * 4), y.subarray(0, 400));
      for (let i = 0; i < 400; i++) b.learnOne(d.x.subarray(i * 4, i * 4 + 4), y[i]);
      const test = d.x.subarray(400 * 4);
      const pa = a.predictMany(test);
      const pb = Float64Array.from({ length: 200 }, (_, i) => b.predictOne(test.subarray(i * 4, i * 4 + 4)));
      expect(Array.from(pa)).toEqual(Array.from(pb));
      const restored = loadModel(a.save());
      expect(Array.from(restored.predictMany(test))).toEqual(Array.from(pa));
      expect(restored.kind).toBe(kind);
      // Learning continues identically after a round trip.
      a.learnMany(test, y.subarray(400));
      restored.learnMany(test, y.subarray(400));
      expect(Array.from(restored.predictMany(d.x))).toEqual(Array.from(a.predictMany(d.x)));
      expect(restored.save()).toEqual(a.save());
    });
  }

  it('learns something real', () => {
    const d = stream(3000);
    const lr = createModel('logistic-regression', { nFeatures: 4, scale: true });
    expect(lr.evaluate(d.x, d.y).accuracy).toBeGreaterThan(0.9);
    const tree = createModel('hoeffding-tree', { nFeatures: 4 });
    expect(tree.evaluate(d.x, d.y).accuracy).toBeGreaterThan(0.8);
    const reg = createModel('linear-regression', { nFeatures: 4, params: { optimizer: { type: 'sgd', lr: 0.05 } } });
    const m = reg.evaluate(d.x, d.target, { window: 500 });
    expect(m.n).toBe(500);
    expect(m.mae!).toBeLessThan(0.1);
    const p = lr.predictProbaOne([1, -1, 0, 0]);
    expect(p[1]).toBeGreaterThan(0.9);
    expect(p[0] + p[1]).toBeCloseTo(1, 12);
    const nb = createModel('gaussian-nb', { nFeatures: 4 });
    nb.learnMany(d.x, d.y);
    const { classes, proba } = nb.predictProbaMany(d.x.subarray(0, 8));
    expect(classes).toEqual([0, 1]);
    expect(proba.length).toBe(4);
  });

  it('object rows with feature names; missing keys are NaN', () => {
    const m = createModel('logistic-regression', { featureNames: ['a', 'b'] });
    m.learnOne({ a: 1, b: 2 }, true);
    m.learnOne({ a: -1 }, false);
    expect(m.inspect().samplesLearnt).toBe(2);
    expect(err(() => m.learnOne({ a: 1, c: 2 }, true)).message).toMatch(/x\.c: unknown feature/);
    const w = (m.inspect().state as { weights: number[] }).weights;
    expect(w[1]).toBe(0.01 * 0.5 * 2); // b only learnt from the first row
    const lazy = createModel('gaussian-nb');
    lazy.learnOne({ x: 1, y: 2 }, 3);
    expect(lazy.featureNames).toEqual(['x', 'y']);
    expect(loadModel(lazy.save()).featureNames).toEqual(['x', 'y']);
  });

  it('NaN policy: NaN is a missing feature, infinities are rejected and nothing is half-applied', () => {
    const m = createModel('logistic-regression', { nFeatures: 2 });
    m.learnOne([NaN, 1], 1);
    expect((m.inspect().state as { weights: number[] }).weights[0]).toBe(0);
    const before = m.save();
    const e = err(() => m.learnMany(Float64Array.from([1, 2, 3, Infinity]), Float64Array.from([1, 0])));
    expect(e.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e.message).toMatch(/x\[1\]\[1\]: is infinite/);
    expect(m.save()).toEqual(before);
    expect(err(() => m.learnOne([1, 2, 3], 1)).message).toMatch(/expected 2 features, got 3/);
    expect(err(() => m.learnMany(Float64Array.from([1, 2, 3]), Float64Array.from([1]))).message).toMatch(/not a multiple of nFeatures 2/);
    expect(err(() => m.learnOne([1, 2], 2)).message).toMatch(/y: logistic regression takes labels 0\/1/);
    expect(err(() => m.learnOne([1, 2], 'yes' as never)).message).toMatch(/y: expected a number or boolean label/);
    const nb = createModel('gaussian-nb', { nFeatures: 1 });
    expect(err(() => nb.learnOne([1], 0.5)).message).toMatch(/non-negative integers/);
    expect(err(() => nb.learnMany(Float64Array.from([1, 2]), Float64Array.from([1]))).message).toMatch(/1 labels for 2 rows/);
    expect(err(() => nb.prequential(new Float64Array(0), new Float64Array(0))).message).toMatch(/empty/);
    expect(Number.isNaN(createModel('gaussian-nb', { nFeatures: 1 }).predictOne([1]))).toBe(true);
    const reg = createModel('linear-regression', { nFeatures: 1 });
    expect(err(() => reg.learnOne([1], NaN)).message).toMatch(/y: must be a finite number/);
    const mnb = createModel('multinomial-nb', { nFeatures: 2 });
    expect(err(() => mnb.learnOne([1, -1], 0)).message).toMatch(/non-negative frequencies/);
  });

  it('bad options and bad model files are clear errors', () => {
    expect(err(() => createModel('random-forest' as ModelKind)).message).toMatch(/^kind: expected one of/);
    expect(err(() => createModel('hoeffding-tree', { params: { grace: 1 } })).message).toMatch(/opts\.params/);
    expect(err(() => createModel('hoeffding-tree', { params: { delta: 2 } })).message).toMatch(/opts\.params\.delta/);
    expect(err(() => createModel('logistic-regression', { params: { l1: 1, l2: 1 }, nFeatures: 2 })).message).toMatch(/l1 and l2 cannot be combined/);
    const good = createModel('gaussian-nb', { nFeatures: 2 });
    good.learnOne([1, 2], 1);
    const bytes = good.save();
    expect(err(() => loadModel(new TextEncoder().encode('{"not":"a model"}'))).message).toMatch(/bad magic/);
    const newer = bytes.slice();
    newer[8] = 2;
    expect(err(() => loadModel(newer)).message).toMatch(/format version 2; this build reads version 1/);
    const flipped = bytes.slice();
    flipped[30] ^= 1;
    expect(err(() => loadModel(flipped)).message).toMatch(/checksum mismatch/);
    expect(err(() => loadModel(bytes.subarray(0, bytes.length - 5))).message).toMatch(/truncated/);
    expect(err(() => loadModel('x' as never)).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});

describe('drift detectors and helpers', () => {
  it('detectors validate input', () => {
    expect(err(() => createDetector('cusum' as never)).message).toMatch(/^kind:/);
    expect(err(() => createDetector('adwin', { delta: 5 })).message).toMatch(/opts\.delta/);
    const ddm = createDetector('ddm');
    expect(err(() => ddm.update(0.5)).message).toMatch(/0\/1 error stream/);
    expect(err(() => createDetector('adwin').updateMany([1, NaN])).message).toMatch(/values\[1\]: must be a finite number/);
    const a = createDetector('adwin');
    const hits = a.updateMany(Array.from({ length: 2000 }, (_, i) => (i < 1000 ? 0 : 1)));
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]).toBeGreaterThanOrEqual(1000);
    expect(a.state().type).toBe('adwin');
  });
  it('hashFeatures is stable and order-independent', () => {
    const a = hashFeatures({ 'user=1': 1, 'page=home': 2 }, 1024);
    const b = hashFeatures({ 'page=home': 2, 'user=1': 1 }, 1024);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.reduce((s, v) => s + Math.abs(v), 0)).toBe(3);
    expect(err(() => hashFeatures({ a: Infinity }, 4)).message).toMatch(/finite/);
  });
});
