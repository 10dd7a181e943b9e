/**
 * omnitide/contracts: one DSL for access policies (Cedar's grammar and semantics), rate limits
 * and SLOs. Type checking with positioned diagnostics, formatting, evaluation with
 * explanations, static analysis and SAT-backed verification (DRAT-checked proofs, replayed
 * counterexamples), and compiled targets (generated JS closure, native batch engine).
 * All work happens in the native crate; this module validates and adapts.
 */
import { z } from 'zod';
import { callNative, callNativeAsync, invalidArgument, OmniError } from '../errors.js';
import * as wasm from './wasm.js';
import { type EnforceTargets, enforcePlan, type KernelEnforcement, type KernelPlan } from './kernel.js';
import { native } from '../native.js';
import { parseOptions } from '../validate.js';

export type EntityUid = { type: string; id: string };
export type ContractValue = boolean | number | string | ContractValue[] | { [k: string]: ContractValue } | { __entity: EntityUid } | { __extn: { fn: 'ip'; arg: string } };
export interface Entity {
  uid: EntityUid;
  attrs?: Record<string, ContractValue>;
  parents?: EntityUid[];
}
export interface AuthRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context?: Record<string, ContractValue>;
}
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  help: string | null;
  suggestion: string | null;
  /** `file:line:col: error: ...`, the source line, a caret and the help. */
  rendered: string;
}
export interface Finding {
  kind: 'never-fires' | 'always-true' | 'shadowed' | 'shadowed-by-forbid' | 'overlap' | 'limit-never-triggers' | 'unknown-metric';
  ids: string[];
  message: string;
  /** `proved`: a DRAT-checked UNSAT answer; `witness`: `request`/`entities` replay it. */
  evidence: 'proved' | 'witness' | 'static';
  request?: AuthRequest;
  entities?: Entity[];
}
export interface CheckResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  findings: Finding[];
  queries?: number;
  truncated?: boolean;
  summary?: { policies: number; rateLimits: number; slos: number; assertions: number };
}
export interface Decision {
  decision: 'allow' | 'deny';
  /** Ids of the deciding policies (satisfied forbids on deny, satisfied permits on allow). */
  reasons: string[];
  /** Policies skipped because evaluating them raised an error (Cedar semantics). */
  errors: { policy: string; message: string }[];
}
export type ProofStatus =
  | { status: 'proved'; proof: { checker: 'drat'; lemmas: number; vars: number; clauses: number } }
  | { status: 'refuted'; request: AuthRequest; entities: Entity[] }
  | { status: 'unknown'; reason: string };
export type ProveResult = ProofStatus & { id: string; assertion: string };
export type DiffResult =
  | { status: 'equivalent'; proof: { checker: 'drat'; lemmas: number; vars: number; clauses: number } }
  | { status: 'different'; request: AuthRequest; entities: Entity[]; before: 'allow' | 'deny'; after: 'allow' | 'deny' }
  | { status: 'unknown'; reason: string };

const uidSchema = z.strictObject({ type: z.string().min(1), id: z.string() });
const requestSchema = z.object({ principal: uidSchema, action: uidSchema, resource: uidSchema, context: z.record(z.string(), z.unknown()).optional() });
const entitySchema = z.object({ uid: uidSchema, attrs: z.record(z.string(), z.unknown()).optional(), parents: z.array(uidSchema).optional() });
const entitiesSchema = z.array(entitySchema);

function source(arg: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgument(arg, `must be a contract source string, got ${v === null ? 'null' : typeof v}`);
  return v;
}
function call<T>(op: string, args: Record<string, unknown>): T {
  return JSON.parse(callNative(() => native.contractsCall(op, JSON.stringify(args)))) as T;
}
async function callAsync<T>(op: string, args: Record<string, unknown>): Promise<T> {
  return JSON.parse(await callNativeAsync(() => native.contractsCallAsync(op, JSON.stringify(args)))) as T;
}
function entities(arg: string, v: unknown): Entity[] {
  return v === undefined ? [] : (parseOptions(arg, entitiesSchema, v) as Entity[]);
}
function requests(arg: string, v: unknown): AuthRequest[] {
  return parseOptions(arg, z.array(requestSchema), v) as AuthRequest[];
}

const checkOptions = z.strictObject({ file: z.string().optional(), metrics: z.array(z.string()).optional(), maxQueries: z.number().int().min(0).max(1_000_000).optional() });
export type CheckOptions = z.input<typeof checkOptions>;

/** Parses, type-checks and analyses a contract. Never throws for contract errors: they are diagnostics. */
export function check(src: string, opts?: CheckOptions): CheckResult {
  return call('check', { source: source('source', src), ...(opts ? parseOptions('opts', checkOptions, opts) : {}) });
}
/** `check` off the event loop (the analysis runs SAT queries). */
export async function checkAsync(src: string, opts?: CheckOptions): Promise<CheckResult> {
  return callAsync('check', { source: source('source', src), ...(opts ? parseOptions('opts', checkOptions, opts) : {}) });
}
/** Canonical formatting (idempotent). Throws `ERR_OMNI_CONTRACT_INVALID` on a syntax error. */
export function format(src: string): string {
  return call('fmt', { source: source('source', src) });
}
/** Decides requests against a contract and entity store, with explanations. */
export function evaluate(src: string, input: { entities?: Entity[]; requests: AuthRequest[] }): Decision[] {
  if (typeof input !== 'object' || input === null) throw invalidArgument('input', 'must be { entities?, requests }');
  return call('eval', { source: source('source', src), entities: entities('input.entities', input.entities), requests: requests('input.requests', input.requests) });
}
/** Proves or refutes the contract's `assert` items (plus `assertions`, extra DSL text). */
export async function prove(src: string, opts?: { assertions?: string }): Promise<ProveResult[]> {
  const o = opts === undefined ? {} : parseOptions('opts', z.strictObject({ assertions: z.string().optional() }), opts);
  return callAsync('prove', { source: source('source', src), ...o });
}
/** A request one version allows and the other denies, or a proof that there is none. */
export async function diff(before: string, after: string): Promise<DiffResult> {
  return callAsync('diff', { before: source('before', before), after: source('after', after) });
}
/** Token-bucket rate limits over a timeline of requests; per request, the limits exceeded. */
export function rateLimit(src: string, input: { entities?: Entity[]; requests: { request: AuthRequest; at: number }[]; maxKeys?: number }): { limit: string; key: string; action: 'deny' | 'throttle' | 'log' }[][] {
  const r = parseOptions('input', z.strictObject({ entities: z.array(z.unknown()).optional(), requests: z.array(z.strictObject({ request: requestSchema, at: z.number().int().min(0) })), maxKeys: z.number().int().min(1).optional() }), input);
  return call('rateLimit', { source: source('source', src), ...r, entities: entities('input.entities', input.entities) });
}
/** Evaluates the contract's SLOs over metric samples (`[timestampMs, value]`) at `now`. */
export function evaluateSlos(src: string, input: { samples: Record<string, [number, number][]>; now: number }): { id: string; value: number | null; breached: boolean; action: 'alert' | 'throttle' | 'block' | null; reason: string }[] {
  const r = parseOptions('input', z.strictObject({ samples: z.record(z.string(), z.array(z.tuple([z.number().int().min(0), z.number()]))), now: z.number().int().min(0) }), input);
  return call('slo', { source: source('source', src), ...r });
}

/** A policy set compiled to a JavaScript closure (the fast path inside the process). */
export interface CompiledJs {
  /** The generated source (self-contained; evaluates to `load(entities)`). */
  source: string;
  /** Loads an entity store once and returns the decision functions. */
  load(entities: Entity[]): { decide(req: AuthRequest): boolean; explain(req: AuthRequest): Decision };
}
/** Compiles the access policies of a contract to JavaScript. */
export function compileJs(src: string): CompiledJs {
  const code = call<string>('compileJs', { source: source('source', src) });
  // The code is produced by our own compiler from a parsed, type-checked tree; string
  // literals are JSON-escaped, so contract text cannot inject JavaScript.
  const load = new Function(`return ${code};`)() as (e: Entity[]) => { decide(req: AuthRequest): boolean; explain(req: AuthRequest): Decision };
  return {
    source: code,
    load(ents) {
      const e = entities('entities', ents);
      try {
        return load(e);
      } catch (err) {
        throw invalidArgument('entities', (err as Error).message, err);
      }
    },
  };
}

/** The native engine: contract and entities loaded once, batches decided in one call. */
export class Engine {
  readonly #inner: InstanceType<typeof native.ContractsEngine>;
  #prepared = 0;
  constructor(src: string, ents: Entity[] = []) {
    const e = entities('entities', ents);
    this.#inner = callNative(() => new native.ContractsEngine(source('source', src), JSON.stringify(e)));
  }
  /** One byte per request: 1 allow, 0 deny. */
  decideBatch(reqs: AuthRequest[]): Uint8Array {
    const r = requests('requests', reqs);
    return callNative(() => this.#inner.decideBatch(JSON.stringify(r)));
  }
  /** Parses requests once (replays, benchmarks); `decidePrepared` then decides them. */
  prepare(reqs: AuthRequest[]): number {
    const r = requests('requests', reqs);
    this.#prepared = callNative(() => this.#inner.prepare(JSON.stringify(r)));
    return this.#prepared;
  }
  decidePrepared(rounds = 1, out: Uint8Array = new Uint8Array(this.#prepared)): Uint8Array {
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1_000_000) throw invalidArgument('rounds', 'must be an integer in 1..1000000');
    if (!(out instanceof Uint8Array)) throw invalidArgument('out', 'must be a Uint8Array');
    callNative(() => this.#inner.decidePrepared(out, rounds));
    return out;
  }
}

/** A policy set compiled to a WebAssembly module (runs under any wasm runtime; ABI in ./wasm.ts). */
export interface CompiledWasm {
  /** The module bytes (self-contained: no imports). */
  bytes: Uint8Array;
  /** Policy ids and effects in evaluation order (the module's `omnitide.policies` section). */
  policies: wasm.PolicyInfo[];
  /** Instantiates the module under Node's `WebAssembly` and loads an entity store into it. */
  instantiate(entities?: Entity[]): Promise<WasmAuthorizer>;
}

/**
 * Compiles the access policies of a contract to WebAssembly. A construct the target cannot
 * compile yet throws `ERR_OMNI_UNSUPPORTED` naming it with its line:column.
 */
export function compileWasm(src: string, opts?: { file?: string }): CompiledWasm {
  const o = opts === undefined ? {} : parseOptions('opts', z.strictObject({ file: z.string().optional() }), opts);
  const bytes = wasm.compileWasmBytes(source('source', src), o.file ?? 'contract');
  const mod = new wasm.WA.Module(bytes);
  const ids = wasm.policies(mod);
  return {
    bytes,
    policies: ids,
    async instantiate(ents = []) {
      const e = entities('entities', ents);
      const inst = await wasm.WA.instantiate(mod, {});
      return new WasmAuthorizer(inst.exports as unknown as wasm.WasmExports, ids, JSON.stringify(e));
    },
  };
}

/** One module instance with its entity store loaded; decisions run inside the module. */
export class WasmAuthorizer {
  readonly #x: wasm.WasmExports;
  readonly #policies: wasm.PolicyInfo[];
  #prepared: { blob: number; ptrs: Uint32Array } | null = null;
  constructor(x: wasm.WasmExports, ids: wasm.PolicyInfo[], entitiesJson: string) {
    this.#x = x;
    this.#policies = ids;
    const store = wasm.place(x, (base) => wasm.encodeStore(entitiesJson, base));
    if (x.load(store) !== 0) throw new OmniError('ERR_OMNI_INTERNAL', 'wasm: the module already has a store');
  }
  #withRequest<T>(req: AuthRequest, f: (ptr: number) => T): T {
    const r = requests('request', [req]);
    const blob = wasm.place(this.#x, (base) => wasm.encodeRequests(JSON.stringify(r), base));
    try {
      return f(wasm.requestAt(this.#x, blob, 0));
    } finally {
      this.#x.free(blob);
    }
  }
  /** true = allow. */
  decide(req: AuthRequest): boolean {
    return this.#withRequest(req, (p) => this.#x.authorize(p) === 1);
  }
  /** The decision with the deciding policies (and the policies skipped on an error). */
  explain(req: AuthRequest): Decision {
    return this.#withRequest(req, (p) => {
      const permits: string[] = [], forbids: string[] = [], errors: Decision['errors'] = [];
      this.#policies.forEach(({ id, effect }, i) => {
        const r = this.#x.policy(i, p);
        if (r === 2) errors.push({ policy: id, message: 'evaluation error (the wasm target reports no message)' });
        else if (r === 1) (effect === 'permit' ? permits : forbids).push(id);
      });
      const allow = this.#x.authorize(p) === 1;
      return { decision: allow ? 'allow' : 'deny', reasons: forbids.length ? forbids : allow ? permits : [], errors };
    });
  }
  /** Encodes requests once into the module's memory (replays, benchmarks); replaces earlier ones. */
  prepare(reqs: AuthRequest[]): number {
    const r = requests('requests', reqs);
    if (this.#prepared) this.#x.free(this.#prepared.blob);
    this.#prepared = null;
    const blob = wasm.place(this.#x, (base) => wasm.encodeRequests(JSON.stringify(r), base));
    const ptrs = new Uint32Array(r.length);
    for (let i = 0; i < r.length; i++) ptrs[i] = wasm.requestAt(this.#x, blob, i);
    this.#prepared = { blob, ptrs };
    return r.length;
  }
  /** Decides the prepared requests `rounds` times; one byte per request (1 allow). */
  decidePrepared(rounds = 1, out?: Uint8Array): Uint8Array {
    if (!this.#prepared) throw invalidArgument('prepare', 'call prepare(requests) first');
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1_000_000) throw invalidArgument('rounds', 'must be an integer in 1..1000000');
    const { ptrs } = this.#prepared;
    const o = out ?? new Uint8Array(ptrs.length);
    if (!(o instanceof Uint8Array) || o.length < ptrs.length) throw invalidArgument('out', `must be a Uint8Array of at least ${ptrs.length} bytes`);
    const authorize = this.#x.authorize;
    for (let k = 0; k < rounds; k++) for (let i = 0; i < ptrs.length; i++) o[i] = authorize(ptrs[i]);
    return o;
  }
}

export { CONTRACT_PREDICATE, CONTRACT_TAMPERED, CONTRACT_UNTRUSTED, signCompiled, verifyCompiled } from './signing.js';
export type { ContractVersion, SignedContract, SignOptions, VerifyCompiledOptions } from './signing.js';

export { enforcePlan };
export type { EnforceTargets, KernelEnforcement, KernelPlan };
const planOptions = z.strictObject({ ipAttr: z.string().min(1).optional(), portAttr: z.string().min(1).optional(), file: z.string().optional() });

/**
 * The kernel plan of a contract: source-range forbids -> XDP blocklist, port forbids -> cgroup
 * connect policy, per-source rate limits -> XDP token buckets; `unsupported` lists the rest.
 * `ipAttr`/`portAttr` name the context attributes of the source address and port (ip, port).
 */
export function kernelPlan(src: string, opts?: z.input<typeof planOptions>): KernelPlan {
  const o = opts === undefined ? {} : parseOptions('opts', planOptions, opts);
  return call('kernelPlan', { source: source('source', src), ...o });
}
/** Plans and applies in one step (see `enforcePlan`). */
export async function enforceInKernel(src: string, targets: EnforceTargets, opts?: z.input<typeof planOptions>): Promise<KernelEnforcement> {
  return enforcePlan(kernelPlan(src, opts), targets);
}
