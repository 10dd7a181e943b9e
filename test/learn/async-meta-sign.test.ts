/**
 * The async batch forms (results equal to the sync ones; the concurrency rule), Reptile
 * meta-learning from JS on the MAML sinusoids, and models signed with omnitide/attest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority } from '../../ts/attest/index.js';
import { OmniError } from '../../ts/errors.js';
import { createModel, loadModel, type MetaTask, signModel } from '../../ts/learn/index.js';
import { thrown } from '../helpers/thrown.js';
import { rejection as rejected } from '../helpers/thrown.js';

function stream(n: number, d: number, seed = 1): { x: Float64Array; y: Float64Array } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const x = new Float64Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rnd() * 2 - 1;
    y[i] = Number(x[i * d] - 0.5 * x[i * d + 1] + 0.2 * (rnd() - 0.5) > 0);
  }
  return { x, y };
}


describe('async batch forms', () => {
  it('learnManyAsync / predictManyAsync / prequentialAsync give exactly the sync results', async () => {
    const { x, y } = stream(60_000, 6);
    for (const kind of ['logistic-regression', 'hoeffding-tree'] as const) {
      const a = createModel(kind, { nFeatures: 6 });
      const b = createModel(kind, { nFeatures: 6 });
      a.learnMany(x.subarray(0, 30_000 * 6), y.subarray(0, 30_000));
      await b.learnManyAsync(x.subarray(0, 30_000 * 6), y.subarray(0, 30_000));
      expect(Buffer.from(b.save()).equals(Buffer.from(a.save()))).toBe(true);
      const rest = x.subarray(30_000 * 6);
      expect(Array.from(await b.predictManyAsync(rest))).toEqual(Array.from(a.predictMany(rest)));
      expect(Array.from(await b.prequentialAsync(rest, y.subarray(30_000)))).toEqual(Array.from(a.prequential(rest, y.subarray(30_000))));
      expect(Buffer.from(b.save()).equals(Buffer.from(a.save()))).toBe(true);
    }
  });

  it('queued async calls run in call order; sync calls while any is pending throw ERR_OMNI_BUSY and change nothing', async () => {
    const { x, y } = stream(40_000, 4, 7);
    const ref = createModel('logistic-regression', { nFeatures: 4 });
    const m = createModel('logistic-regression', { nFeatures: 4 });
    const chunks = [0, 1, 2, 3].map((k) => ({ x: x.slice(k * 10_000 * 4, (k + 1) * 10_000 * 4), y: y.slice(k * 10_000, (k + 1) * 10_000) }));
    const p = chunks.map((c) => m.learnManyAsync(c.x, c.y));
    // The caller may reuse its arrays at once: queued calls copied them.
    for (const c of chunks) c.x.fill(0);
    expect(thrown(() => m.learnOne([1, 2, 3, 4], 1)).code).toBe('ERR_OMNI_BUSY');
    expect(thrown(() => m.predictOne([1, 2, 3, 4])).code).toBe('ERR_OMNI_BUSY');
    expect(thrown(() => m.save()).code).toBe('ERR_OMNI_BUSY');
    expect(m.nFeatures).toBe(4); // plain properties still answer
    await Promise.all(p);
    for (let k = 0; k < 4; k++) ref.learnMany(x.subarray(k * 10_000 * 4, (k + 1) * 10_000 * 4), y.subarray(k * 10_000, (k + 1) * 10_000));
    expect(Buffer.from(m.save()).equals(Buffer.from(ref.save()))).toBe(true);
    m.learnOne([1, 2, 3, 4], 1); // idle again
  });

  it('a bad batch rejects with the cell named and leaves the model untouched; the queue goes on', async () => {
    const m = createModel('logistic-regression', { nFeatures: 2 });
    const before = m.save();
    const x = new Float64Array([1, 2, 3, Infinity]);
    const bad = m.learnManyAsync(x, [1, 0]);
    const good = m.learnManyAsync(new Float64Array([1, 2]), [1]);
    expect((await rejected(bad)).message).toMatch(/^x\[1\]\[1\]: is infinite/);
    await good;
    const ref = loadModel(before);
    ref.learnMany(new Float64Array([1, 2]), [1]);
    expect(Buffer.from(m.save()).equals(Buffer.from(ref.save()))).toBe(true);
    expect((await rejected(m.learnManyAsync(new Float64Array([1, 2, 3]), [1]))).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});

/** The MAML paper's sinusoids: y = A sin(x + phase), A in [0.1, 5], phase in [0, pi], x in [-5, 5]. */
function sinusoid(rnd: () => number, k: number) {
  const a = 0.1 + 4.9 * rnd();
  const ph = Math.PI * rnd();
  const xs = Float64Array.from({ length: k }, () => -5 + 10 * rnd());
  return { a, ph, xs, y: xs.map((v) => a * Math.sin(v + ph)) };
}

describe('Reptile meta-learning from JS', () => {
  it('few-shot adaptation on new sinusoids beats the meta-initialisation and a random network', async () => {
    let s = 42;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const params = { hidden: [40, 40], outputs: 1, task: 'regression', activation: 'tanh', lr: 0.01, seed: 1 };
    const meta = createModel('mlp', { nFeatures: 1, params });
    const tasks: MetaTask[] = Array.from({ length: 400 }, () => sinusoid(rnd, 10));
    const t0 = performance.now();
    await meta.metaTrain(tasks, { iterations: 3000, innerSteps: 3, epsilon: 0.5, seed: 7 });
    const metaMs = performance.now() - t0;
    const grid = Float64Array.from({ length: 100 }, (_, i) => -5 + (10 * i) / 99);
    const mse = (m: ReturnType<typeof createModel>, a: number, ph: number) => {
      const p = m.predictMany(grid);
      return p.reduce((acc, v, i) => acc + (v - a * Math.sin(grid[i] + ph)) ** 2, 0) / grid.length;
    };
    let before = 0;
    let after = 0;
    let scratch = 0;
    const n = 20;
    for (let i = 0; i < n; i++) {
      const t = sinusoid(rnd, 10);
      before += mse(meta, t.a, t.ph) / n;
      const m = meta.clone();
      m.adapt(t.xs, t.y, { steps: 5 });
      after += mse(m, t.a, t.ph) / n;
      const r = createModel('mlp', { nFeatures: 1, params });
      r.adapt(t.xs, t.y, { steps: 5 });
      scratch += mse(r, t.a, t.ph) / n;
    }
    console.log(`reptile sinusoid (JS): MSE unadapted ${before.toFixed(3)}, after 5 steps on 10 points ${after.toFixed(3)}, random init ${scratch.toFixed(3)}; meta-training ${metaMs.toFixed(0)} ms`);
    expect(after).toBeLessThan(0.5 * before);
    expect(after).toBeLessThan(scratch);
  });

  it('refuses bad meta-training input with the argument named', async () => {
    const lr = createModel('logistic-regression', { nFeatures: 1 });
    expect((await rejected(lr.metaTrain([{ xs: [[1]], y: [1] }], { iterations: 1 }))).message).toMatch(/^model: .*mlp/);
    const m = createModel('mlp', { nFeatures: 1, params: { task: 'regression', outputs: 1 } });
    expect((await rejected(m.metaTrain([], { iterations: 1 }))).message).toMatch(/^tasks:/);
    expect((await rejected(m.metaTrain([{ xs: new Float64Array([1, 2]), y: [1] }], { iterations: 1 }))).message).toMatch(/^tasks\[0\]:/);
    expect((await rejected(m.metaTrain([{ xs: [[1]], y: [1] }], { iterations: 0 }))).message).toMatch(/^opts\.iterations/);
    expect((await rejected(m.metaTrain([{ xs: [[1]], y: [1] }], { iterations: 1, epsilon: 2 }))).message).toMatch(/^opts\.epsilon/);
    expect((await rejected(m.metaTrain([{ xs: [[Infinity]], y: [1] }], { iterations: 1 }))).message).toMatch(/^x\[0\]\[0\]: is infinite/);
  });
});

describe('models signed with omnitide/attest', () => {
  const root = mkdtempSync(join(tmpdir(), `omni-learn-sign-${process.pid}-`));
  let auth: Authority;
  beforeAll(async () => {
    auth = await Authority.open(join(root, 'a'), { insecurePlaintext: true });
    auth.createKey('models');
    auth.createKey('other');
  });
  afterAll(() => {
    auth?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a signed model loads under the trusted key with identical predictions; tampered, unsigned or foreign-signed ones are refused', async () => {
    const { x, y } = stream(2000, 3, 5);
    const m = createModel('logistic-regression', { nFeatures: 3 });
    m.learnMany(x, y);
    const bytes = m.save();
    const signature = await signModel(bytes, auth, 'models', { name: 'fraud-model' });
    const trust = { roots: [auth.exportPublicKey('models')] };
    const loaded = loadModel(bytes, { signature, trust });
    expect(Array.from(loaded.predictMany(x))).toEqual(Array.from(m.predictMany(x)));
    expect(loadModel(bytes, { signature: JSON.stringify(signature), trust }).kind).toBe('logistic-regression');

    const tampered = bytes.slice();
    tampered[tampered.length - 40] ^= 1;
    const e1 = thrown(() => loadModel(tampered, { signature, trust }));
    expect(e1.code).toBe('ERR_OMNI_UNTRUSTED_MODEL');
    expect(e1.message).toMatch(/changed after signing/);
    const e2 = thrown(() => loadModel(bytes, { trust }));
    expect(e2.code).toBe('ERR_OMNI_UNTRUSTED_MODEL');
    expect(e2.message).toMatch(/unsigned/);
    const e3 = thrown(() => loadModel(bytes, { signature, trust: { roots: [auth.exportPublicKey('other')] } }));
    expect(e3.code).toBe('ERR_OMNI_UNTRUSTED_MODEL');
    expect(e3.message).toMatch(/unknown_key/);
    const other = await signModel(bytes, auth, 'other');
    expect(thrown(() => loadModel(bytes, { signature: other, trust })).message).toMatch(/not valid/);
    // A valid signature over something that is not a model.
    const notModel = (await auth.issue({ signer: 'models', subject: [{ name: 'x', digest: { sha256: 'ab'.repeat(32) } }], predicateType: 'https://example.com/other/v1' })).envelope;
    expect(thrown(() => loadModel(bytes, { signature: notModel, trust })).message).toMatch(/not a model/);
    // A signature without trust anchors is not silently ignored; non-models are not signed.
    expect(thrown(() => loadModel(bytes, { signature })).message).toMatch(/^opts\.trust/);
    expect((await rejected(signModel(new Uint8Array([1, 2, 3]), auth, 'models'))).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});
