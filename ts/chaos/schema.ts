/**
 * The experiment format: Chaos Toolkit's shape (title, description,
 * configuration, steady-state-hypothesis, method, rollbacks) with omnitide's
 * providers and a `safety` section. Validation collects EVERY problem with its
 * JSON path instead of stopping at the first, so `omnitide chaos validate`
 * can list them all.
 */
import { z } from 'zod';
import { OmniError } from '../errors.js';
import { ioLimitEntry, limitValue } from '../kernel/limits-schema.js';
import { TOXIC_TYPES } from './proxy/index.js';

const ms = z.number().int().min(1).max(3_600_000);
const cidrs = z.array(z.string().min(1)).min(1);
const ifaceName = z.string().min(1).max(15).regex(/^[^/\s]+$/, 'not an interface name');
/** an interface of this namespace, or NETNS/IFACE for one inside a named network namespace (ip netns) */
const ifaceRef = z.string().regex(/^(?:[\w.-]{1,64}\/)?[^/\s]{1,15}$/, "expected an interface name or 'NETNS/IFACE'");
const cgroupPath = z.string().min(1).regex(/^\//, 'must be a path inside the cgroup2 hierarchy, starting with /');

/** cgroup targets: explicit paths, or the children of a parent (sorted; the first `count` or `percent`%). */
const cgroupTargets = {
  cgroups: z.array(cgroupPath).min(1).optional(),
  selector: z
    .strictObject({
      parent: cgroupPath,
      match: z.string().optional(),
      count: z.number().int().min(1).optional(),
      percent: z.number().gt(0).max(100).optional(),
    })
    .optional(),
};

const probeProviders = {
  http: z.strictObject({
    type: z.literal('http'),
    url: z.string().url(),
    method: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    timeoutMs: ms.optional(),
    /** requests per probe (latency percentile and error rate are measured over them) */
    requests: z.number().int().min(1).max(100_000).optional(),
    concurrency: z.number().int().min(1).max(1000).optional(),
    /** status (of the first request), body (text), latency (percentile ms; a failed request counts as timeoutMs), errors (fraction failed) */
    measure: z.enum(['status', 'body', 'latency', 'errors']).optional(),
    percentile: z.number().min(0).max(100).optional(),
  }),
  tcp: z.strictObject({ type: z.literal('tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535), timeoutMs: ms.optional() }),
  process: z.strictObject({
    type: z.literal('process'),
    path: z.string().min(1),
    /** numbers and booleans (e.g. a lone \${var} holding a number) are passed as their string form */
    arguments: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
    timeoutMs: ms.optional(),
    measure: z.enum(['exitCode', 'stdout']).optional(),
  }),
  cgroup: z.strictObject({
    type: z.literal('cgroup'),
    path: cgroupPath,
    /** a key of Cgroup.stats(): cpu.<key>, memoryCurrent, pidsCurrent, populated, frozen, pressure.<res>.<some|full>.<avg10|avg60|avg300|totalUs> */
    metric: z.string().regex(/^(cpu\.\w+|memoryCurrent|pidsCurrent|populated|frozen|pressure\.\w+\.(some|full)\.(avg10|avg60|avg300|totalUs))$/, 'unknown cgroup metric'),
  }),
  function: z.strictObject({ type: z.literal('function'), fn: z.custom<() => unknown>((v) => typeof v === 'function', 'expected a function (builder only)') }),
};

const actionProviders = {
  'xdp-drop': z.strictObject({
    type: z.literal('xdp-drop'),
    interfaces: z.array(ifaceRef).min(1),
    /** source CIDR whose packets are dropped; omitted (and no cidrs): every packet */
    cidr: z.string().optional(),
    /** several source CIDRs, each its own drop rule */
    cidrs: z.array(z.string()).min(1).optional(),
    probability: z.number().min(0, 'probability must be in [0,1]').max(1, 'probability must be in [0,1]'),
  }),
  partition: z.strictObject({
    type: z.literal('partition'),
    /** two sides; on each side's interfaces (where that side receives) the other side's CIDRs are blocked */
    sides: z
      .array(z.strictObject({ cidrs, interfaces: z.array(ifaceRef) }))
      .length(2, 'a partition has exactly two sides'),
  }),
  'cgroup-freeze': z.strictObject({
    type: z.literal('cgroup-freeze'),
    ...cgroupTargets,
    /**
     * true (default): the action completes once cgroup.events reports every target `frozen 1`
     * (every task parked, none mid-syscall), which is what probes of the cgroup's state and
     * `docker pause` see. false: it completes when cgroup.freeze is written, when the freeze is
     * already in effect (no task runs another user instruction; bench/chaos.ts proves it) but a
     * task may still be finishing a syscall.
     */
    confirm: z.boolean().optional(),
  }),
  /** network faults for the processes of a cgroup (cgroup_skb + connect programs of omnitide/kernel; bpf links, gone with the runner) */
  'cgroup-net': z.strictObject({
    type: z.literal('cgroup-net'),
    ...cgroupTargets,
    egressDenyCidrs: z.array(z.string()).min(1).optional(),
    ingressDenyCidrs: z.array(z.string()).min(1).optional(),
    denyPorts: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
  }),
  'cgroup-limits': z.strictObject({
    type: z.literal('cgroup-limits'),
    ...cgroupTargets,
    limits: z.strictObject({
      cpu: z.strictObject({ quotaUs: z.number().int().min(1000), periodUs: z.number().int().min(1000).max(1_000_000).optional() }).optional(),
      memory: z.strictObject({ max: limitValue.optional(), high: limitValue.optional() }).optional(),
      pids: z.strictObject({ max: limitValue }).optional(),
      /** io.max per block device (a path like /dev/vda or MAJ:MIN); an omitted rate stays unlimited */
      io: z.array(ioLimitEntry).min(1).optional(),
    }),
  }),
  signal: z.strictObject({ type: z.literal('signal'), ...cgroupTargets, signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT']).optional() }),
  stress: z.strictObject({
    type: z.literal('stress'),
    ...cgroupTargets,
    cpuWorkers: z.number().int().min(0).max(64).optional(),
    memoryMb: z.number().int().min(0).max(65536).optional(),
  }),
  netem: z.strictObject({
    type: z.literal('netem'),
    interfaces: z.array(ifaceName).min(1),
    netns: z.string().optional(),
    delayMs: z.number().min(0).optional(),
    jitterMs: z.number().min(0).optional(),
    lossPercent: z.number().min(0).max(100).optional(),
    corruptPercent: z.number().min(0).max(100).optional(),
    duplicatePercent: z.number().min(0).max(100).optional(),
  }),
  /** egress rate limit through tc tbf (journaled; undone by repair) */
  rate: z.strictObject({
    type: z.literal('rate'),
    interfaces: z.array(ifaceName).min(1),
    netns: z.string().optional(),
    kbit: z.number().int().min(8).max(100_000_000),
    burstKb: z.number().int().min(1).max(1_000_000).optional(),
    latencyMs: z.number().int().min(1).max(60_000).optional(),
  }),
  /** a Toxiproxy toxic on a TCP proxy the run starts (and closes at its end): faults without root */
  toxic: z.strictObject({
    type: z.literal('toxic'),
    proxy: z.strictObject({ name: z.string().min(1), listen: z.string().min(1), upstream: z.string().min(1) }),
    toxic: z.strictObject({
      name: z.string().min(1).optional(),
      type: z.enum(TOXIC_TYPES),
      stream: z.enum(['upstream', 'downstream']).optional(),
      toxicity: z.number().min(0).max(1).optional(),
      attributes: z.record(z.string(), z.number()).optional(),
    }),
  }),
  process: probeProviders.process,
  http: probeProviders.http,
  function: probeProviders.function,
};

export type ProbeProvider = { [K in keyof typeof probeProviders]: z.output<(typeof probeProviders)[K]> }[keyof typeof probeProviders];
export type ActionProvider = { [K in keyof typeof actionProviders]: z.output<(typeof actionProviders)[K]> }[keyof typeof actionProviders];
export type FaultProvider = Extract<ActionProvider, { type: 'xdp-drop' | 'partition' | 'cgroup-freeze' | 'cgroup-net' | 'cgroup-limits' | 'stress' | 'netem' | 'rate' | 'toxic' }>;
export const FAULT_TYPES = ['xdp-drop', 'partition', 'cgroup-freeze', 'cgroup-net', 'cgroup-limits', 'stress', 'netem', 'rate', 'toxic'] as const;

/** exact value, [lo, hi] range, {type:'regex'}, {type:'range'}, {type:'exact'} or a predicate (builder only). */
export type Tolerance =
  | number
  | string
  | boolean
  | [number, number]
  | { type: 'exact'; value: unknown }
  | { type: 'range'; range: [number, number] }
  | { type: 'regex'; pattern: string }
  | ((value: unknown) => boolean);

const tolerance = z.union([
  z.number(),
  z.string(),
  z.boolean(),
  z.tuple([z.number(), z.number()]),
  z.strictObject({ type: z.literal('exact'), value: z.unknown() }),
  z.strictObject({ type: z.literal('range'), range: z.tuple([z.number(), z.number()]) }),
  z.strictObject({ type: z.literal('regex'), pattern: z.string() }),
  z.custom<(v: unknown) => boolean>((v) => typeof v === 'function'),
]);

const pauses = z.strictObject({ before: z.number().min(0).max(3600).optional(), after: z.number().min(0).max(3600).optional() });

export interface Probe {
  type: 'probe';
  name: string;
  provider: ProbeProvider;
  tolerance?: Tolerance;
  pauses?: { before?: number; after?: number };
}
export interface Action {
  type: 'action';
  name: string;
  provider: ActionProvider;
  pauses?: { before?: number; after?: number };
}
export type Activity = Probe | Action;

export interface Safety {
  blastRadius?: {
    maxTargets?: number;
    /** for selector targets: the share of the selector's pool that may be hit */
    maxPercent?: number;
    /** targets must be listed here (interfaces) or lie under one of these cgroup paths */
    allow?: { interfaces?: string[]; cgroups?: string[]; proxies?: string[] };
  };
  /** probes with tolerances checked every probeIntervalMs while the method runs; one out of tolerance aborts */
  abortConditions?: Probe[];
  probeIntervalMs?: number;
  /** apply each multi-target fault to `initial` targets, then multiply by `factor`, re-checking the hypothesis between steps */
  rollout?: { initial?: number; factor?: number; pauseMs?: number };
}

export interface Experiment {
  title: string;
  description?: string;
  tags?: string[];
  configuration?: Record<string, unknown>;
  'steady-state-hypothesis'?: { title: string; probes: Probe[] };
  method: Activity[];
  rollbacks?: Activity[];
  safety?: Safety;
}

export interface Problem {
  path: string;
  message: string;
}

function fmtPath(base: string, path: readonly PropertyKey[]): string {
  let s = base;
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

function check(schema: z.ZodType, value: unknown, base: string, problems: Problem[]): void {
  const r = schema.safeParse(value);
  if (!r.success) for (const i of r.error.issues) problems.push({ path: fmtPath(base, i.path), message: i.message });
}

function checkActivity(v: unknown, path: string, problems: Problem[], needTolerance: boolean, probeOnly: boolean): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    problems.push({ path, message: 'expected an activity object' });
    return;
  }
  const a = v as Record<string, unknown>;
  if (a.type !== 'action' && a.type !== 'probe') problems.push({ path: `${path}.type`, message: `expected 'action' or 'probe', got ${JSON.stringify(a.type)}` });
  if (typeof a.name !== 'string' || !a.name) problems.push({ path: `${path}.name`, message: 'expected a non-empty string' });
  for (const k of Object.keys(a)) {
    if (!['type', 'name', 'provider', 'tolerance', 'pauses', 'background', 'ref'].includes(k)) problems.push({ path: `${path}.${k}`, message: `unknown key '${k}'` });
  }
  if (a.pauses !== undefined) check(pauses, a.pauses, `${path}.pauses`, problems);
  const kind = probeOnly || a.type === 'probe' ? 'probe' : 'action';
  if (a.tolerance !== undefined) check(tolerance, a.tolerance, `${path}.tolerance`, problems);
  else if (needTolerance) problems.push({ path: `${path}.tolerance`, message: 'a hypothesis or abort-condition probe needs a tolerance' });
  if (kind === 'action' && a.tolerance !== undefined) problems.push({ path: `${path}.tolerance`, message: 'an action has no tolerance' });
  const p = a.provider as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null) {
    problems.push({ path: `${path}.provider`, message: 'expected a provider object' });
    return;
  }
  const table: Record<string, z.ZodType> = kind === 'probe' ? probeProviders : actionProviders;
  const schema = typeof p.type === 'string' ? table[p.type] : undefined;
  if (!schema) {
    problems.push({ path: `${path}.provider.type`, message: `unknown ${kind} type ${JSON.stringify(p.type)} (known: ${Object.keys(table).join(', ')})` });
    return;
  }
  check(schema, p, `${path}.provider`, problems);
  if ('selector' in p || 'cgroups' in p) {
    if (p.selector !== undefined && p.cgroups !== undefined) problems.push({ path: `${path}.provider`, message: "give either 'cgroups' or 'selector', not both" });
  } else if (['cgroup-freeze', 'cgroup-net', 'cgroup-limits', 'signal', 'stress'].includes(p.type as string)) {
    problems.push({ path: `${path}.provider.cgroups`, message: "a cgroup fault needs 'cgroups' or 'selector'" });
  }
  if (p.type === 'cgroup-net' && p.egressDenyCidrs === undefined && p.ingressDenyCidrs === undefined && p.denyPorts === undefined) {
    problems.push({ path: `${path}.provider`, message: "a cgroup-net fault needs 'egressDenyCidrs', 'ingressDenyCidrs' or 'denyPorts'" });
  }
  const sel = p.selector as Record<string, unknown> | undefined;
  if (sel && sel.count !== undefined && sel.percent !== undefined) problems.push({ path: `${path}.provider.selector`, message: "give either 'count' or 'percent', not both" });
  if (sel && typeof sel.match === 'string') {
    try {
      new RegExp(sel.match);
    } catch (e) {
      problems.push({ path: `${path}.provider.selector.match`, message: `bad regex: ${(e as Error).message}` });
    }
  }
  const tol = a.tolerance as { type?: string; pattern?: string } | undefined;
  if (tol && typeof tol === 'object' && tol.type === 'regex' && typeof tol.pattern === 'string') {
    try {
      new RegExp(tol.pattern);
    } catch (e) {
      problems.push({ path: `${path}.tolerance.pattern`, message: `bad regex: ${(e as Error).message}` });
    }
  }
}

const top = z.object({
  title: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  configuration: z.record(z.string(), z.unknown()).optional(),
  'steady-state-hypothesis': z.object({ title: z.string().min(1), probes: z.array(z.unknown()) }).optional(),
  method: z.array(z.unknown()).min(1, 'the method needs at least one activity'),
  rollbacks: z.array(z.unknown()).optional(),
  safety: z
    .strictObject({
      blastRadius: z
        .strictObject({
          maxTargets: z.number().int().min(1).optional(),
          maxPercent: z.number().gt(0).max(100).optional(),
          allow: z.strictObject({ interfaces: z.array(z.string()).optional(), cgroups: z.array(cgroupPath).optional(), proxies: z.array(z.string()).optional() }).optional(),
        })
        .optional(),
      abortConditions: z.array(z.unknown()).optional(),
      probeIntervalMs: z.number().int().min(10).max(600_000).optional(),
      rollout: z
        .strictObject({ initial: z.number().int().min(1).optional(), factor: z.number().min(1.1).max(100).optional(), pauseMs: z.number().int().min(0).optional() })
        .optional(),
    })
    .optional(),
});

/** Every problem of an experiment object (after configuration substitution), each with its JSON path. */
export function problemsOf(exp: unknown): Problem[] {
  const problems: Problem[] = [];
  check(top, exp, '', problems);
  if (typeof exp !== 'object' || exp === null) return problems;
  const e = exp as Record<string, unknown>;
  const known = new Set(['title', 'description', 'tags', 'configuration', 'steady-state-hypothesis', 'method', 'rollbacks', 'safety', 'version', 'contributions', 'secrets', 'extensions', 'controls', 'runtime']);
  for (const k of Object.keys(e)) if (!known.has(k)) problems.push({ path: k, message: `unknown key '${k}'` });
  const each = (list: unknown, base: string, needTol: boolean, probeOnly: boolean) => {
    if (Array.isArray(list)) list.forEach((a, i) => checkActivity(a, `${base}[${i}]`, problems, needTol, probeOnly));
  };
  const ssh = e['steady-state-hypothesis'] as { probes?: unknown } | undefined;
  if (ssh) each(ssh.probes, 'steady-state-hypothesis.probes', true, true);
  each(e.method, 'method', false, false);
  each(e.rollbacks, 'rollbacks', false, false);
  const safety = e.safety as { abortConditions?: unknown } | undefined;
  if (safety) each(safety.abortConditions, 'safety.abortConditions', true, true);
  return problems;
}

export class ExperimentError extends OmniError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super('ERR_OMNI_INVALID_EXPERIMENT', `experiment: ${problems.length} problem(s): ${problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`);
    this.problems = problems;
  }
}

/** Validates (every problem at once) and returns the typed experiment. */
export function validateExperiment(exp: unknown): Experiment {
  const problems = problemsOf(exp);
  if (problems.length) throw new ExperimentError(problems);
  return exp as Experiment;
}
