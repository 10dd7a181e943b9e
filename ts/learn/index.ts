/**
 * omnitide/learn: online learning with River's semantics at native speed. Streaming models
 * (linear/logistic regression, naive Bayes, Hoeffding trees, half-space trees, a small MLP),
 * online standard scaling, drift detectors (ADWIN, DDM, Page-Hinkley), prequential metrics,
 * cross-domain tools (transfer, CORAL, importance weighting, multi-task heads, EWC, replay) and a
 * versioned binary save format. All computation happens in the native crate; this module
 * validates, converts rows and labels, and names things the JavaScript way.
 *
 * Rows: a Float64Array / number[] in feature order, or an object keyed by feature name (the
 * names come from `featureNames` or from the first object seen). Batches: a row-major
 * Float64Array of `n * nFeatures` values, or an array of rows. NaN (or an absent key) marks a
 * missing feature; infinities are rejected.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Authority, type Envelope, type VerifyOptions, verify } from '../attest/index.js';
import { callNative, callNativeAsync, invalidArgument, OmniError } from '../errors.js';
import { native } from '../native.js';
import { describe, parseOptions } from '../validate.js';

export type ModelKind =
  | 'linear-regression'
  | 'logistic-regression'
  | 'gaussian-nb'
  | 'multinomial-nb'
  | 'hoeffding-tree'
  | 'adaptive-hoeffding-tree'
  | 'half-space-trees'
  | 'mlp';

export type Row = Float64Array | readonly number[] | Readonly<Record<string, number>>;
export type Label = number | boolean;

const pos = z.number().positive().finite();
const nonneg = z.number().min(0).finite();
const optimizer = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sgd'), lr: pos.optional() }),
  z.strictObject({ type: z.literal('adam'), lr: pos.optional(), beta1: z.number().min(0).lt(1).optional(), beta2: z.number().min(0).lt(1).optional(), eps: pos.optional() }),
]);
const glm = {
  optimizer: optimizer.optional(),
  l1: nonneg.optional(),
  l2: nonneg.optional(),
  interceptInit: z.number().finite().optional(),
  interceptLr: nonneg.optional(),
  clipGradient: nonneg.optional(),
};
const treeParams = {
  gracePeriod: pos.optional(),
  maxDepth: z.number().int().min(1).max(100_000).optional(),
  splitCriterion: z.enum(['info_gain', 'gini']).optional(),
  delta: z.number().gt(0).lt(1).optional(),
  tau: z.number().min(0).max(1).optional(),
  leafPrediction: z.enum(['mc', 'nb', 'nba']).optional(),
  nbThreshold: nonneg.optional(),
  nSplits: z.number().int().min(1).max(10_000).optional(),
  minBranchFraction: z.number().min(0).max(1).optional(),
  maxShareToSplit: z.number().min(0).max(1).optional(),
  meritPreprune: z.boolean().optional(),
};
const paramSchemas: Record<ModelKind, z.ZodType> = {
  'linear-regression': z.strictObject(glm),
  'logistic-regression': z.strictObject(glm),
  'gaussian-nb': z.strictObject({}),
  'multinomial-nb': z.strictObject({ alpha: pos.optional() }),
  'hoeffding-tree': z.strictObject(treeParams),
  'adaptive-hoeffding-tree': z.strictObject({ ...treeParams, driftDelta: z.number().gt(0).lt(1).optional(), switchGrace: pos.optional() }),
  'half-space-trees': z.strictObject({
    nTrees: z.number().int().min(1).max(10_000).optional(),
    height: z.number().int().min(1).max(20).optional(),
    windowSize: z.number().int().min(1).optional(),
    limits: z.array(z.tuple([z.number().finite(), z.number().finite()])).optional(),
    seed: z.number().int().min(0).max(2 ** 53).optional(),
  }),
  mlp: z.strictObject({
    hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8).optional(),
    outputs: z.number().int().min(1).max(4096).optional(),
    task: z.enum(['classification', 'regression']).optional(),
    lr: pos.optional(),
    activation: z.enum(['relu', 'tanh']).optional(),
    seed: z.number().int().min(0).max(2 ** 53).optional(),
    heads: z.number().int().min(1).max(256).optional(),
    ewcLambda: nonneg.optional(),
    replayCapacity: z.number().int().min(0).optional(),
    replayK: z.number().int().min(0).optional(),
  }),
};

export interface ModelOptions {
  /** Row width; inferred from the first row when absent. */
  nFeatures?: number;
  /** Names for object rows (also fixes nFeatures). */
  featureNames?: string[];
  /** Put an online standard scaler in front of the estimator (River's `StandardScaler() | model`). */
  scale?: boolean;
  /** Hyper-parameters of the estimator, River's names in camelCase and River's defaults. */
  params?: Record<string, unknown>;
}
const optionsSchema = z.strictObject({
  nFeatures: z.number().int().min(1).max(1 << 24).optional(),
  featureNames: z.array(z.string().min(1)).min(1).optional(),
  scale: z.boolean().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export type Task = 'classification' | 'binary' | 'regression' | 'anomaly';

/** One task of a meta-training set: its rows and labels (regression targets or classes). */
export interface MetaTask {
  xs: Float64Array | readonly Row[];
  y: Float64Array | readonly Label[];
}
export interface MetaTrainOptions {
  /** Outer Reptile iterations (one task drawn per iteration). */
  iterations: number;
  /** SGD passes over the drawn task per iteration (default 3). */
  innerSteps?: number;
  /** Outer step size in (0, 1], linearly annealed to 0 (default 0.5). */
  epsilon?: number;
  /** Seed of the task draws (default 0). */
  seed?: number;
}
const metaTrainSchema = z.strictObject({
  iterations: z.number().int().min(1).max(100_000_000),
  innerSteps: z.number().int().min(1).max(1_000_000).optional(),
  epsilon: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(2 ** 53).optional(),
});

export interface Metrics {
  n: number;
  accuracy?: number | null;
  logLoss?: number | null;
  f1?: number;
  rocAuc?: number | null;
  mae?: number | null;
  rmse?: number | null;
  r2?: number | null;
}

type NativeModel = InstanceType<typeof native.LearnModel>;
interface Spec {
  kind: ModelKind;
  params: Record<string, unknown>;
  scale: boolean;
}

function toLabel(arg: string, v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  throw invalidArgument(arg, `expected a number or boolean label, got ${describe(v)}`);
}

function toLabels(arg: string, y: unknown): Float64Array {
  if (y instanceof Float64Array) return y;
  if (!Array.isArray(y)) throw invalidArgument(arg, `expected a Float64Array or an array of labels, got ${describe(y)}`);
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = toLabel(`${arg}[${i}]`, y[i]);
  return out;
}

/** An online model. Create with `createModel`, restore with `loadModel`. */
export class Model {
  readonly kind: ModelKind;
  #spec: Spec;
  #names: string[] | undefined;
  #inner: NativeModel | undefined;
  /** Async calls not yet settled, and the chain that runs them in call order. */
  #pending = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Read once from the native model, so the getters answer while async calls run. */
  #width: number | undefined;
  #taskName: string | undefined;

  /** @internal */
  constructor(kind: ModelKind, spec: Spec | null, names: string[] | undefined, inner?: NativeModel) {
    this.kind = kind;
    this.#spec = spec ?? { kind, params: {}, scale: false };
    this.#names = names;
    this.#inner = inner;
    if (inner) this.#remember(inner);
  }

  #remember(inner: NativeModel): void {
    this.#width = inner.nFeatures;
    this.#taskName = inner.task;
  }

  /** @internal */
  static create(kind: ModelKind, opts: ModelOptions): Model {
    const m = new Model(kind, { kind, params: opts.params ?? {}, scale: opts.scale ?? false }, opts.featureNames);
    const width = opts.featureNames?.length ?? opts.nFeatures;
    if (opts.featureNames && opts.nFeatures !== undefined && opts.nFeatures !== opts.featureNames.length) {
      throw invalidArgument('opts.nFeatures', `is ${opts.nFeatures} but featureNames has ${opts.featureNames.length} names`);
    }
    if (width !== undefined) m.#build(width);
    return m;
  }

  #build(nFeatures: number): NativeModel {
    const spec = JSON.stringify({
      kind: this.#spec.kind,
      params: this.#spec.params,
      nFeatures,
      scale: this.#spec.scale,
      featureNames: this.#names,
    });
    this.#inner = callNative(() => new native.LearnModel(spec));
    this.#remember(this.#inner);
    return this.#inner;
  }

  /**
   * The concurrency rule: async calls (`learnManyAsync`, `predictManyAsync`,
   * `prequentialAsync`, `metaTrain`) run one after another in call order; while any is
   * pending, every synchronous call on the model throws `ERR_OMNI_BUSY` instead of
   * interleaving with them (the native model refuses the same way), so a model is never
   * changed by two calls at once nor read half-updated.
   */
  #idle(): void {
    if (this.#pending > 0) {
      throw new OmniError('ERR_OMNI_BUSY', `model: ${this.#pending} asynchronous call(s) still pending on it; await them before calling it synchronously`);
    }
  }

  /**
   * Queues an async native call. When nothing is pending it starts at once (the native side
   * copies the arrays before returning); otherwise the arrays are copied now, so the caller
   * may reuse them, and the call starts when the previous ones settle.
   */
  #enqueue<T>(arrays: Float64Array[], start: (arrays: Float64Array[]) => Promise<T>): Promise<T> {
    const run = this.#pending === 0 ? callNativeAsync(() => start(arrays)) : ((copies) => this.#queue.then(() => callNativeAsync(() => start(copies))))(arrays.map((a) => a.slice()));
    this.#pending++;
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.#pending--;
    });
  }

  /** The native model, built on the first row when the width was not given. */
  #model(width: number | undefined): NativeModel {
    this.#idle();
    if (this.#inner) return this.#inner;
    if (width === undefined || width < 1) throw invalidArgument('x', 'the model has no feature count yet: pass nFeatures or learn a row first');
    return this.#build(width);
  }

  get nFeatures(): number | undefined {
    return this.#width;
  }
  get featureNames(): string[] | undefined {
    return this.#names ? [...this.#names] : undefined;
  }
  get task(): Task {
    return (this.#taskName ?? (this.kind === 'linear-regression' ? 'regression' : this.kind === 'logistic-regression' ? 'binary' : this.kind === 'half-space-trees' ? 'anomaly' : 'classification')) as Task;
  }
  /** Classes seen so far, sorted (the column order of probabilities). */
  classes(): number[] {
    this.#idle();
    return this.#inner ? callNative(() => this.#inner!.classes()) : [];
  }

  #row(arg: string, x: unknown): Float64Array {
    if (x instanceof Float64Array) return x;
    if (Array.isArray(x)) return Float64Array.from(x as number[], (v, i) => {
      if (typeof v !== 'number') throw invalidArgument(`${arg}[${i}]`, `expected a number, got ${describe(v)}`);
      return v;
    });
    if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x)) {
      const rec = x as Record<string, unknown>;
      if (!this.#names) {
        if (this.#inner) throw invalidArgument(arg, 'object rows need featureNames (this model was created without them)');
        this.#names = Object.keys(rec);
        if (this.#names.length === 0) throw invalidArgument(arg, 'an object row needs at least one feature');
      }
      const names = this.#names;
      for (const k of Object.keys(rec)) if (!names.includes(k)) throw invalidArgument(`${arg}.${k}`, `unknown feature (known: ${names.join(', ')})`);
      return Float64Array.from(names, (n) => {
        const v = rec[n];
        if (v === undefined) return NaN;
        if (typeof v !== 'number') throw invalidArgument(`${arg}.${n}`, `expected a number, got ${describe(v)}`);
        return v;
      });
    }
    throw invalidArgument(arg, `expected a Float64Array, number[] or an object of numbers, got ${describe(x)}`);
  }

  #matrix(arg: string, xs: unknown): { data: Float64Array; width: number | undefined } {
    if (xs instanceof Float64Array) return { data: xs, width: this.#width };
    if (!Array.isArray(xs)) throw invalidArgument(arg, `expected a row-major Float64Array or an array of rows, got ${describe(xs)}`);
    if (xs.length === 0) return { data: new Float64Array(0), width: this.#width };
    const first = this.#row(`${arg}[0]`, xs[0]);
    const w = first.length;
    const data = new Float64Array(xs.length * w);
    data.set(first, 0);
    for (let i = 1; i < xs.length; i++) {
      const r = this.#row(`${arg}[${i}]`, xs[i]);
      if (r.length !== w) throw invalidArgument(`${arg}[${i}]`, `expected ${w} features, got ${r.length}`);
      data.set(r, i * w);
    }
    return { data, width: w };
  }

  learnOne(x: Row, y: Label): void {
    const row = this.#row('x', x);
    const label = toLabel('y', y);
    const m = this.#model(row.length);
    callNative(() => m.learnOne(row, label));
  }

  /** Class label (NaN before any class was seen), regression value, or anomaly score. */
  predictOne(x: Row): number {
    const row = this.#row('x', x);
    const m = this.#model(row.length);
    return callNative(() => m.predictOne(row));
  }

  /** Probability per class, keyed by class label (binary models: `{ 0: p0, 1: p1 }`). */
  predictProbaOne(x: Row): Record<number, number> {
    const row = this.#row('x', x);
    const m = this.#model(row.length);
    const p = callNative(() => m.probaOne(row));
    const classes = callNative(() => m.classes());
    return Object.fromEntries(classes.map((c, i) => [c, p[i]]));
  }

  /** Anomaly score in [0, 1] (half-space trees); same as `predictOne`. */
  scoreOne(x: Row): number {
    return this.predictOne(x);
  }

  /** Learns every row in order in one native call (identical to calling `learnOne` per row). */
  learnMany(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[]): void {
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    if (data.length === 0 && labels.length === 0) return;
    const m = this.#model(width ?? (labels.length ? data.length / labels.length : undefined));
    callNative(() => m.learnMany(data, labels));
  }

  /** As `learnMany`, each step scaled by `weights[i]` (linear models, Hoeffding trees, MLPs). */
  learnWeightedMany(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[], weights: Float64Array | readonly number[]): void {
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    const w = weights instanceof Float64Array ? weights : Float64Array.from(weights);
    const m = this.#model(width ?? (labels.length ? data.length / labels.length : undefined));
    callNative(() => m.learnWeightedMany(data, labels, w));
  }

  predictMany(xs: Float64Array | readonly Row[]): Float64Array {
    const { data, width } = this.#matrix('xs', xs);
    const m = this.#model(width);
    const out = new Float64Array(data.length / m.nFeatures);
    callNative(() => m.predictMany(data, out));
    return out;
  }

  /** Row-major probabilities, one column per entry of `classes`. */
  predictProbaMany(xs: Float64Array | readonly Row[]): { classes: number[]; proba: Float64Array } {
    const { data, width } = this.#matrix('xs', xs);
    const m = this.#model(width);
    const classes = callNative(() => m.classes());
    return { classes, proba: callNative(() => m.probaMany(data)) };
  }

  /**
   * Test-then-train over a batch (River's `progressive_val_score`): returns the prediction for
   * each row made before the model learnt it. With `window` (0 = cumulative) the running
   * metrics that `metrics()` reports are updated too.
   */
  prequential(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[], opts?: { window?: number }): Float64Array {
    const o = parseOptions('opts', z.strictObject({ window: z.number().int().min(0).max(2 ** 32 - 1).optional() }), opts ?? {});
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    if (labels.length === 0) throw invalidArgument('y', 'the stream is empty');
    const m = this.#model(width ?? data.length / labels.length);
    const out = new Float64Array(labels.length);
    callNative(() => m.prequential(data, labels, out, o.window));
    return out;
  }

  /**
   * `learnMany` off the event loop (on the libuv pool), for big batches. Same result as the
   * synchronous form; see the concurrency rule on pending async calls (`ERR_OMNI_BUSY`).
   */
  async learnManyAsync(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[]): Promise<void> {
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    if (data.length === 0 && labels.length === 0) return;
    const m = this.#inner ?? this.#model(width ?? (labels.length ? data.length / labels.length : undefined));
    await this.#enqueue([data, labels], ([d, l]) => m.learnManyAsync(d, l));
  }

  /** `predictMany` off the event loop. */
  async predictManyAsync(xs: Float64Array | readonly Row[]): Promise<Float64Array> {
    const { data, width } = this.#matrix('xs', xs);
    const m = this.#inner ?? this.#model(width);
    return this.#enqueue([data], ([d]) => m.predictManyAsync(d));
  }

  /** `prequential` off the event loop. */
  async prequentialAsync(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[], opts?: { window?: number }): Promise<Float64Array> {
    const o = parseOptions('opts', z.strictObject({ window: z.number().int().min(0).max(2 ** 32 - 1).optional() }), opts ?? {});
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    if (labels.length === 0) throw invalidArgument('y', 'the stream is empty');
    const m = this.#inner ?? this.#model(width ?? data.length / labels.length);
    return this.#enqueue([data, labels], ([d, l]) => m.prequentialAsync(d, l, o.window));
  }

  /**
   * Reptile meta-learning (Nichol et al. 2018), MLP models: for `iterations`, draw one of
   * `tasks` at random, take `innerSteps` SGD passes over its rows and move the weights
   * `epsilon` of the way (linearly annealed) towards the result. Afterwards `adapt` on a few
   * rows of a new, related task fits it in a few steps. Runs off the event loop.
   */
  async metaTrain(tasks: readonly MetaTask[], options: MetaTrainOptions): Promise<void> {
    const o = parseOptions('opts', metaTrainSchema, options);
    if (this.kind !== 'mlp') throw invalidArgument('model', `meta-training (Reptile) needs an mlp model, this is ${this.kind}`);
    if (!Array.isArray(tasks) || tasks.length === 0) throw invalidArgument('tasks', 'expected a non-empty array of { xs, y } tasks');
    const parts = tasks.map((t, i) => {
      if (t === null || typeof t !== 'object') throw invalidArgument(`tasks[${i}]`, `expected { xs, y }, got ${describe(t)}`);
      const { data, width } = this.#matrix(`tasks[${i}].xs`, t.xs);
      const labels = toLabels(`tasks[${i}].y`, t.y);
      const w = width ?? this.#width ?? (labels.length ? data.length / labels.length : undefined);
      if (labels.length === 0 || w === undefined || data.length !== labels.length * w) {
        throw invalidArgument(`tasks[${i}]`, `needs one label per row and at least one row (${data.length} values, ${labels.length} labels)`);
      }
      return { data, labels };
    });
    const rows = parts.reduce((n, p) => n + p.labels.length, 0);
    const x = new Float64Array(parts.reduce((n, p) => n + p.data.length, 0));
    const y = new Float64Array(rows);
    const ends = new Uint32Array(parts.length);
    let at = 0;
    let r = 0;
    parts.forEach((p, i) => {
      x.set(p.data, at);
      y.set(p.labels, r);
      at += p.data.length;
      r += p.labels.length;
      ends[i] = r;
    });
    const m = this.#inner ?? this.#model(x.length / rows);
    const spec = JSON.stringify(o);
    await this.#enqueue([x, y], ([d, l]) => m.metaTrainAsync(d, l, ends, spec));
  }

  /** Few-shot adaptation: `steps` passes of `learnMany` over the rows (after `metaTrain`). */
  adapt(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[], options?: { steps?: number }): void {
    const o = parseOptions('opts', z.strictObject({ steps: z.number().int().min(1).max(1_000_000).optional() }), options ?? {});
    const { data, width } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    const m = this.#model(width ?? (labels.length ? data.length / labels.length : undefined));
    callNative(() => m.adapt(data, labels, o.steps ?? 5));
  }

  /** Prequential evaluation: runs `prequential` with metrics and returns them. */
  evaluate(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[], opts?: { window?: number }): Metrics {
    this.prequential(xs, y, { window: opts?.window ?? 0 });
    return this.metrics()!;
  }

  /** Running prequential metrics (null before `prequential` was called with a window). */
  metrics(): Metrics | null {
    this.#idle();
    return this.#inner ? (JSON.parse(callNative(() => this.#inner!.metrics())) as Metrics | null) : null;
  }
  resetMetrics(): void {
    this.#idle();
    if (this.#inner) callNative(() => this.#inner!.resetMetrics());
  }

  /** MLP: chooses the output head that learns and predicts (multi-task). */
  setTask(task: number): void {
    if (!Number.isInteger(task) || task < 0) throw invalidArgument('task', 'must be a non-negative integer');
    callNative(() => this.#model(undefined).setTask(task));
  }
  /** MLP: from now on only the heads learn (transfer: fine-tune the head on a warm trunk). */
  freezeTrunk(on = true): void {
    callNative(() => this.#model(undefined).freezeTrunk(on));
  }
  /** MLP: re-initialises the active head. */
  resetHead(): void {
    callNative(() => this.#model(undefined).resetHead());
  }
  /** MLP with `ewcLambda`: marks a task boundary; `xs`/`y` sample the finished task. */
  consolidate(xs: Float64Array | readonly Row[], y: Float64Array | readonly Label[]): void {
    const { data } = this.#matrix('xs', xs);
    const labels = toLabels('y', y);
    callNative(() => this.#model(undefined).consolidate(data, labels));
  }

  /** Versioned binary file (magic, format version, BLAKE3 checksum). */
  save(): Uint8Array {
    return callNative(() => this.#model(undefined).save());
  }

  inspect(): Record<string, unknown> {
    return JSON.parse(callNative(() => this.#model(undefined).inspect())) as Record<string, unknown>;
  }

  /** A copy with the same learnt state (e.g. a warm start for transfer). */
  clone(): Model {
    return loadModel(this.save());
  }
}

export function createModel(kind: ModelKind, options?: ModelOptions): Model {
  if (typeof kind !== 'string' || !(kind in paramSchemas)) {
    throw invalidArgument('kind', `expected one of ${Object.keys(paramSchemas).join(', ')}, got ${typeof kind === 'string' ? `'${kind}'` : describe(kind)}`);
  }
  const opts = parseOptions('opts', optionsSchema, options ?? {});
  parseOptions('opts.params', paramSchemas[kind], opts.params ?? {});
  return Model.create(kind, opts);
}

/** The in-toto predicate type of a signed model (`signModel`). */
export const MODEL_PREDICATE_TYPE = 'https://omnitide.dev/learn/model/v1';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface SignModelOptions {
  /** Subject name in the statement (default 'model'). */
  name?: string;
  /** Unix ms after which the signature is no longer accepted. */
  expiresAt?: number;
}

/**
 * Signs a saved model with `omnitide/attest`: an in-toto statement whose subject is the
 * SHA-256 of `bytes` and whose predicate names the model (kind, feature count, format),
 * signed by `signer`'s key of `authority` and recorded in its audit log. Returns the DSSE
 * envelope to ship next to the model file; `loadModel(bytes, { signature, trust })` checks it.
 */
export async function signModel(bytes: Uint8Array, authority: Authority, signer: string, options?: SignModelOptions): Promise<Envelope> {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', `expected a Uint8Array, got ${describe(bytes)}`);
  const o = parseOptions('opts', z.strictObject({ name: z.string().min(1).max(1024).optional(), expiresAt: z.number().int().positive().optional() }), options ?? {});
  // Only a loadable model is signed: the predicate describes what the bytes hold.
  const info = JSON.parse(callNative(() => native.LearnModel.load(bytes).inspect())) as { kind: string; nFeatures: number; formatVersion: number };
  const issued = await authority.issue({
    signer,
    subject: [{ name: o.name ?? 'model', digest: { sha256: sha256(bytes) } }],
    predicateType: MODEL_PREDICATE_TYPE,
    predicate: { kind: info.kind, nFeatures: info.nFeatures, formatVersion: info.formatVersion },
    expiresAt: o.expiresAt,
  });
  return issued.envelope;
}

export interface LoadOptions {
  /** The DSSE envelope from `signModel`. */
  signature?: Envelope | string;
  /**
   * Trust anchors (`omnitide/attest` `VerifyOptions`: root keys or a trust root, role...).
   * When given, the model loads only with a valid signature over exactly these bytes.
   */
  trust?: VerifyOptions;
}

function untrusted(problem: string): OmniError {
  return new OmniError('ERR_OMNI_UNTRUSTED_MODEL', `bytes: refusing to load the model: ${problem}`);
}

/** Checks `signature` covers exactly `bytes` as a model, under `trust`; throws ERR_OMNI_UNTRUSTED_MODEL. */
function checkSignature(bytes: Uint8Array, signature: Envelope | string | undefined, trust: VerifyOptions): void {
  if (signature === undefined) throw untrusted('it is unsigned (opts.signature is missing) and opts.trust requires a signature');
  const v = verify(signature, trust);
  if (!v.valid) throw untrusted(`the signature is not valid (${v.reason}: ${v.detail})`);
  if (v.predicateType !== MODEL_PREDICATE_TYPE) throw untrusted(`the signature is for a '${v.predicateType}' statement, not a model (${MODEL_PREDICATE_TYPE})`);
  const env = typeof signature === 'string' ? (JSON.parse(signature) as Envelope) : signature;
  const statement = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { subject?: { digest?: Record<string, string> }[] };
  const digest = sha256(bytes);
  if (!statement.subject?.some((s) => s.digest?.sha256 === digest)) throw untrusted(`its SHA-256 ${digest} is not the signed one (the file was changed after signing)`);
}

/**
 * Restores a model from `save()` bytes; a foreign, damaged or other-version file throws.
 * With `opts.trust`, the bytes must also carry a valid `opts.signature` from `signModel`
 * (else `ERR_OMNI_UNTRUSTED_MODEL`, before anything is parsed).
 */
export function loadModel(bytes: Uint8Array, options?: LoadOptions): Model {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', `expected a Uint8Array, got ${describe(bytes)}`);
  if (options !== undefined && (options === null || typeof options !== 'object')) throw invalidArgument('opts', `expected an object, got ${describe(options)}`);
  for (const k of Object.keys(options ?? {})) if (k !== 'signature' && k !== 'trust') throw invalidArgument(`opts.${k}`, 'unknown option (expected signature, trust)');
  if (options?.trust !== undefined) checkSignature(bytes, options.signature, options.trust);
  else if (options?.signature !== undefined) throw invalidArgument('opts.trust', 'a signature is only checked against trust anchors: pass opts.trust');
  const inner = callNative(() => native.LearnModel.load(bytes));
  const info = JSON.parse(callNative(() => inner.inspect())) as { kind: ModelKind; featureNames: string[] | null };
  return new Model(info.kind, null, info.featureNames ?? undefined, inner);
}

export type DetectorKind = 'adwin' | 'ddm' | 'page-hinkley';
const detectorSchemas: Record<DetectorKind, z.ZodType> = {
  adwin: z.strictObject({ delta: z.number().gt(0).lt(1).optional(), clock: z.number().int().min(1).optional(), minWindowLength: z.number().int().min(1).optional(), gracePeriod: z.number().int().min(0).optional() }),
  ddm: z.strictObject({ warmStart: z.number().int().min(0).optional(), warningThreshold: pos.optional(), driftThreshold: pos.optional() }),
  'page-hinkley': z.strictObject({ minInstances: z.number().int().min(0).optional(), delta: z.number().finite().optional(), threshold: pos.optional(), alpha: z.number().gt(0).max(1).optional(), mode: z.enum(['up', 'down', 'both']).optional() }),
};

export interface Detector {
  /** Adds a value; true when drift is flagged at this value. */
  update(x: number): boolean;
  /** Adds all values in one native call; the indices where drift was flagged. */
  updateMany(values: Float64Array | readonly number[]): number[];
  readonly drift: boolean;
  /** DDM only: the warning zone. */
  readonly warning: boolean;
  state(): Record<string, unknown>;
}

/** A drift detector with River's defaults (ADWIN delta 0.002, DDM 2/3 sigma, Page-Hinkley 50). */
export function createDetector(kind: DetectorKind, options?: Record<string, unknown>): Detector {
  if (typeof kind !== 'string' || !(kind in detectorSchemas)) {
    throw invalidArgument('kind', `expected adwin, ddm or page-hinkley, got ${typeof kind === 'string' ? `'${kind}'` : describe(kind)}`);
  }
  const opts = parseOptions('opts', detectorSchemas[kind], options ?? {});
  const d = callNative(() => new native.LearnDetector(kind, JSON.stringify(opts)));
  return {
    update: (x: number) => {
      if (typeof x !== 'number') throw invalidArgument('x', `expected a number, got ${describe(x)}`);
      return callNative(() => d.update(x));
    },
    updateMany: (values) => Array.from(callNative(() => d.updateMany(values instanceof Float64Array ? values : Float64Array.from(values)))),
    get drift() {
      return d.drift;
    },
    get warning() {
      return d.warning;
    },
    state: () => JSON.parse(callNative(() => d.state())) as Record<string, unknown>,
  };
}

function matrix(arg: string, x: unknown, nFeatures: number): Float64Array {
  if (!(x instanceof Float64Array)) throw invalidArgument(arg, `expected a row-major Float64Array, got ${describe(x)}`);
  if (x.length === 0 || x.length % nFeatures !== 0) throw invalidArgument(arg, `length ${x.length} is not a positive multiple of nFeatures ${nFeatures}`);
  return x;
}
function width(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw invalidArgument('nFeatures', 'must be a positive integer');
  return n;
}

/** CORAL: a map that gives source rows the target's mean and covariance. */
export function coral(source: Float64Array, target: Float64Array, nFeatures: number): { transform(x: Float64Array): Float64Array } {
  const d = width(nFeatures);
  const c = callNative(() => new native.LearnCoral(matrix('source', source, d), matrix('target', target, d), d));
  return { transform: (x: Float64Array) => callNative(() => c.transform(matrix('x', x, d))) };
}

/** Importance weights for source rows from a logistic domain classifier (source vs target). */
export function importanceWeights(source: Float64Array, target: Float64Array, nFeatures: number, options?: { epochs?: number; clip?: number; seed?: number }): Float64Array {
  const d = width(nFeatures);
  const o = parseOptions('opts', z.strictObject({ epochs: z.number().int().min(1).max(1000).optional(), clip: z.number().min(1).finite().optional(), seed: z.number().int().min(0).max(2 ** 32 - 1).optional() }), options ?? {});
  return callNative(() => native.learnImportanceWeights(matrix('source', source, d), matrix('target', target, d), d, o.epochs ?? 3, o.clip ?? 10, o.seed ?? 0));
}

/** Signed feature hashing of `{ token: value }` into `n` buckets (stable across platforms). */
export function hashFeatures(features: Readonly<Record<string, number>>, n: number): Float64Array {
  if (features === null || typeof features !== 'object') throw invalidArgument('features', `expected an object of numbers, got ${describe(features)}`);
  if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw invalidArgument('n', 'must be an integer in [1, 16777216]');
  const tokens = Object.keys(features);
  const values = Float64Array.from(tokens, (t) => {
    const v = features[t];
    if (typeof v !== 'number') throw invalidArgument(`features.${t}`, `expected a number, got ${describe(v)}`);
    return v;
  });
  return callNative(() => native.learnHashFeatures(tokens, values, n));
}
