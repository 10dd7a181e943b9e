/**
 * `omnitide/kernel`: an XDP packet filter, cgroup v2 control and cgroup BPF
 * policy, loaded natively with aya. Needs Linux and root (or CAP_BPF +
 * CAP_NET_ADMIN + CAP_SYS_ADMIN).
 */
import { z } from 'zod';
import { ioLimitEntry, limitValue } from './limits-schema.js';
import { callNative, callNativeAsync, invalidArgument, OmniError } from '../errors.js';
import { loggerFor, type Logger } from '../logger.js';
import { native } from '../native.js';
import { bytes, describe, parseOptions } from '../validate.js';

export { OmniError } from '../errors.js';

type NativeXdp = ReturnType<typeof native.kernelXdpLoad>;
type NativeCgroup = ReturnType<typeof native.kernelCgroupOpen>;
type NativePolicy = ReturnType<NativeCgroup['attachPolicy']>;

// ---------------------------------------------------------------- XDP

export type XdpMode = 'auto' | 'native' | 'generic';

export interface XdpAttachOptions {
  iface: string;
  /** 'auto' (default) tries native (driver) XDP, then generic (skb). */
  mode?: XdpMode;
  /**
   * Pin link and maps under /sys/fs/bpf/omnitide/net<netns inode>/<ifindex>-<iface>/ so the filter
   * outlives the process. Refused (ERR_OMNI_UNSUPPORTED) where the pin could not persist, e.g. under
   * `ip netns exec` (use `nsenter --net=/run/netns/NAME`).
   */
  pin?: boolean;
  logger?: Logger;
}

export interface Counter {
  packets: number;
  bytes: number;
}

/** Per-reason counters summed over CPUs. */
export interface XdpStats {
  passed: Counter;
  blocked: Counter;
  rateLimited: Counter;
  randomDrop: Counter;
  /** blocked + rateLimited + randomDrop packets */
  dropped: number;
  /** bytes seen over all verdicts */
  bytes: number;
}

export interface RateLimit {
  cidr: string;
  /** packets per second per source address */
  pps: number;
  /** bucket depth in packets */
  burst: number;
}

export interface DropRule {
  /** omitted: every packet */
  cidr?: string;
  /** 0..1; 0 removes the rule */
  probability: number;
}

export interface PinnedFilter {
  iface: string;
  path: string;
  mode: string;
  /** false when the interface is gone (the pin then holds only the maps) */
  ifaceExists: boolean;
  ifindex: number;
  /** inode of the network namespace the filter belongs to (always the caller's: filters of other namespaces are never listed or opened) */
  netns: number;
}

export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

const attachSchema = z.strictObject({
  iface: z.string().min(1).max(15),
  mode: z.enum(['auto', 'native', 'generic']).optional(),
  pin: z.boolean().optional(),
  logger: z.any().optional(),
});
const rateSchema = z.strictObject({
  cidr: z.string(),
  pps: z.number().int().min(1).max(1e9),
  burst: z.number().int().min(1).max(1e9),
});
const dropSchema = z.strictObject({ cidr: z.string().optional(), probability: z.number().min(0).max(1) });

/** Shape check of a drop-rule batch (values are re-checked natively, which names the index). */
function parseDropRules(rules: unknown): { cidr?: string; probability: number }[] {
  if (!Array.isArray(rules)) throw invalidArgument('rules', `expected an array of drop rules, got ${describe(rules)}`);
  return rules.map((r, i) => {
    const d = parseOptions(`rules[${i}]`, dropSchema, r);
    return d.cidr !== undefined ? { cidr: d.cidr, probability: d.probability } : { probability: d.probability };
  });
}

function cidrList(arg: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of CIDR strings, got ${describe(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') throw invalidArgument(`${arg}[${i}]`, `expected a CIDR string, got ${describe(v[i])}`);
  }
  return v as string[];
}

/** A handle on one interface's filter. */
export class XdpFilter {
  readonly #h: NativeXdp;
  readonly #log: Logger;

  /** @internal */
  constructor(h: NativeXdp, log: Logger) {
    this.#h = h;
    this.#log = log;
  }

  #info() {
    return callNative(() => this.#h.info());
  }
  /** null for a filter loaded without an interface (xdp.load). */
  get iface(): string | null {
    return this.#info().iface ?? null;
  }
  /** The mode actually attached: 'native' or 'generic'. */
  get mode(): string | null {
    return this.#info().mode ?? null;
  }
  get pinned(): boolean {
    return this.#info().pinned;
  }
  get pinPath(): string | null {
    return this.#info().pinPath ?? null;
  }
  get closed(): boolean {
    return callNative(() => this.#h.isClosed());
  }

  /**
   * Blocks IPv4/IPv6 addresses and prefixes (longest-prefix match). All CIDRs are
   * validated before any is written; one native call (batch map updates) off the
   * event loop. Resolves to the number of entries written.
   */
  async block(cidrs: string[]): Promise<number> {
    const list = cidrList('cidrs', cidrs);
    const n = await callNativeAsync(() => this.#h.blockAsync(list));
    this.#log.debug({ count: n }, 'xdp block');
    return n;
  }

  /** Synchronous form for small lists. */
  blockSync(cidrs: string[]): number {
    const list = cidrList('cidrs', cidrs);
    return callNative(() => this.#h.block(list));
  }

  /** Bulk path: IPv4 /32s packed 4 bytes each in network order. */
  async blockPacked(ipv4: Uint8Array): Promise<number> {
    const b = bytes('ipv4', ipv4);
    if (b.byteLength % 4 !== 0) throw invalidArgument('ipv4', `length must be a multiple of 4, got ${b.byteLength}`);
    return callNativeAsync(() => this.#h.blockIpv4PackedAsync(b));
  }

  /** Removes entries (same spelling as blocked). Returns how many existed. */
  unblock(cidrs: string[]): number {
    const list = cidrList('cidrs', cidrs);
    return callNative(() => this.#h.unblock(list));
  }

  listBlocked(): string[] {
    return callNative(() => this.#h.listBlocked());
  }

  /** Per-source token bucket: every source address inside `cidr` gets its own bucket. */
  setRateLimit(rule: RateLimit): void {
    const r = parseOptions('rule', rateSchema, rule);
    callNative(() => this.#h.setRateLimit(r.cidr, r.pps, r.burst));
  }

  clearRateLimit(cidr: string): boolean {
    if (typeof cidr !== 'string') throw invalidArgument('cidr', `expected a CIDR string, got ${describe(cidr)}`);
    return callNative(() => this.#h.clearRateLimit(cidr));
  }

  rateLimits(): RateLimit[] {
    return callNative(() => this.#h.rateLimits());
  }

  /** Probabilistic drop (bpf_get_prandom_u32) for `cidr`, or for every packet. */
  setDrop(rule: DropRule): void {
    const r = parseOptions('rule', dropSchema, rule);
    callNative(() => this.#h.setDrop(r.cidr ?? null, r.probability));
  }

  /**
   * Many drop rules in one native call, all-or-nothing: a bad entry refuses
   * the whole batch naming its index (`rules[3].cidr: …`) before anything is
   * written, and a failed map write restores the rules this call changed.
   * Runs off the event loop. Returns how many rules were written.
   */
  async setDropMany(rules: DropRule[]): Promise<number> {
    const list = parseDropRules(rules);
    return callNativeAsync(() => this.#h.setDropManyAsync(list));
  }

  /** setDropMany on the calling thread (small batches). */
  setDropManySync(rules: DropRule[]): number {
    const list = parseDropRules(rules);
    return callNative(() => this.#h.setDropMany(list));
  }

  dropRules(): DropRule[] {
    return callNative(() => this.#h.dropRules()).map((r) => (r.cidr ? { cidr: r.cidr, probability: r.probability } : { probability: r.probability }));
  }

  stats(): XdpStats {
    const s = callNative(() => this.#h.stats());
    return {
      passed: s.passed,
      blocked: s.blocked,
      rateLimited: s.rateLimited,
      randomDrop: s.randomDrop,
      dropped: s.blocked.packets + s.rateLimited.packets + s.randomDrop.packets,
      bytes: s.passed.bytes + s.blocked.bytes + s.rateLimited.bytes + s.randomDrop.bytes,
    };
  }

  resetStats(): void {
    callNative(() => this.#h.resetStats());
  }

  /** Runs the program on one Ethernet frame (BPF_PROG_TEST_RUN). */
  testRun(frame: Uint8Array, opts: { repeat?: number } = {}): { action: number; durationNs: number } {
    const f = bytes('frame', frame);
    const { repeat } = parseOptions('opts', z.strictObject({ repeat: z.number().int().min(1).max(1e8).optional() }), opts);
    return callNative(() => this.#h.testRun(f, repeat));
  }

  /** Detaches the program and removes its pins. The handle is unusable afterwards; a second call does nothing. */
  detach(): void {
    callNative(() => this.#h.detach());
    this.#log.info('xdp detached');
  }

  /** Releases the handle; a pinned filter stays attached. */
  close(): void {
    callNative(() => this.#h.close());
  }
}

function xdpAttach(opts: XdpAttachOptions): XdpFilter {
  const o = parseOptions('opts', attachSchema, opts);
  const log = loggerFor('kernel', o.logger as Logger | undefined).child({ iface: o.iface });
  const h = callNative(() => native.kernelXdpAttach(o.iface, o.mode ?? 'auto', o.pin ?? false));
  const f = new XdpFilter(h, log);
  log.info({ mode: f.mode, pinned: f.pinned }, 'xdp attached');
  return f;
}

function xdpOpen(iface: string, opts: { logger?: Logger } = {}): XdpFilter {
  if (typeof iface !== 'string') throw invalidArgument('iface', `expected a string, got ${describe(iface)}`);
  const h = callNative(() => native.kernelXdpOpen(iface));
  return new XdpFilter(h, loggerFor('kernel', opts.logger).child({ iface }));
}

function xdpList(): PinnedFilter[] {
  return callNative(() => native.kernelXdpList());
}

/** Loads and verifies the filter without attaching it (test runs, benchmarks). */
function xdpLoad(opts: { logger?: Logger } = {}): XdpFilter {
  return new XdpFilter(callNative(() => native.kernelXdpLoad()), loggerFor('kernel', opts.logger));
}

export const xdp = { attach: xdpAttach, open: xdpOpen, list: xdpList, load: xdpLoad };

// ---------------------------------------------------------------- cgroup v2

const limitsSchema = z.strictObject({
  cpu: z
    .union([
      z.strictObject({ quotaUs: z.union([z.number().int().min(1000), z.literal('max')]), periodUs: z.number().int().min(1000).max(1_000_000).optional() }),
      z.strictObject({ weight: z.number().int().min(1).max(10000) }),
    ])
    .optional(),
  memory: z.strictObject({ max: limitValue.optional(), high: limitValue.optional() }).optional(),
  pids: z.strictObject({ max: limitValue }).optional(),
  io: z.array(ioLimitEntry).optional(),
});

export type CgroupLimits = z.input<typeof limitsSchema>;

export interface Pressure {
  some: { avg10: number; avg60: number; avg300: number; totalUs: number };
  full: { avg10: number; avg60: number; avg300: number; totalUs: number };
}

export interface CgroupStats {
  /** cpu.stat (usage_usec, user_usec, system_usec, nr_throttled, throttled_usec, ...) */
  cpu: Record<string, number>;
  /** memory.current when the memory controller is enabled */
  memoryCurrent?: number;
  pidsCurrent?: number;
  /** cpu/memory/io/irq .pressure (PSI) where present */
  pressure: Record<string, Pressure>;
  populated: boolean;
  frozen: boolean;
}

const cidrArray = z.array(z.string());
const policySchema = z.strictObject({
  egress: z.strictObject({ denyCidrs: cidrArray.optional(), count: z.boolean().optional() }).optional(),
  ingress: z.strictObject({ denyCidrs: cidrArray.optional(), count: z.boolean().optional() }).optional(),
  connect: z.strictObject({ denyPorts: z.array(z.number().int().min(1).max(65535)).optional(), allowCidrs: cidrArray.optional() }).optional(),
});
export type CgroupPolicySpec = z.input<typeof policySchema>;

export interface TrafficCounter {
  packets: number;
  bytes: number;
  deniedPackets: number;
  deniedBytes: number;
}
export interface TrafficStats {
  ingress: TrafficCounter;
  egress: TrafficCounter;
  /** packets = allowed connect() calls, deniedPackets = refused ones */
  connect: TrafficCounter;
}

/** cgroup BPF programs attached to one cgroup (bpf_links; detached on `detach()` or process exit). */
export class CgroupPolicy {
  readonly #h: NativePolicy;
  /** @internal */
  constructor(h: NativePolicy) {
    this.#h = h;
  }
  trafficStats(): TrafficStats {
    return callNative(() => this.#h.stats());
  }
  detach(): void {
    callNative(() => this.#h.detach());
  }
}

const waitSchema = z.strictObject({ timeoutMs: z.number().int().min(1).max(600_000).optional() });

export class Cgroup {
  readonly #h: NativeCgroup;
  readonly #log: Logger;
  #policy: CgroupPolicy | null = null;

  /** @internal */
  constructor(h: NativeCgroup, log: Logger) {
    this.#h = h;
    this.#log = log;
  }

  /** Path inside the hierarchy, starting with '/'. */
  get path(): string {
    return callNative(() => this.#h.path());
  }
  /** Absolute cgroupfs directory. */
  get fsPath(): string {
    return callNative(() => this.#h.fsPath());
  }

  controllers(): string[] {
    return callNative(() => this.#h.controllers());
  }

  /**
   * Validates every value and checks every needed controller first; throws
   * ERR_OMNI_CONTROLLER_UNAVAILABLE naming the controller and what
   * cgroup.controllers offers. Nothing is half-applied.
   */
  setLimits(limits: CgroupLimits): void {
    const l = parseOptions('limits', limitsSchema, limits);
    const str = (v: number | 'max' | undefined) => (v === undefined ? undefined : String(v));
    callNative(() =>
      this.#h.setLimits({
        cpu: l.cpu
          ? 'weight' in l.cpu
            ? { weight: l.cpu.weight }
            : { quotaUs: l.cpu.quotaUs === 'max' ? undefined : l.cpu.quotaUs, periodUs: l.cpu.periodUs }
          : undefined,
        memoryMax: str(l.memory?.max),
        memoryHigh: str(l.memory?.high),
        pidsMax: str(l.pids?.max),
        io: l.io,
      }),
    );
    this.#log.info({ limits: l }, 'cgroup limits set');
  }

  addProcess(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw invalidArgument('pid', `expected a positive integer pid, got ${String(pid)}`);
    callNative(() => this.#h.addProcess(pid));
  }

  processes(): number[] {
    return callNative(() => this.#h.processes());
  }

  children(): string[] {
    return callNative(() => this.#h.children());
  }

  /** Freezes the group and resolves once cgroup.events reports `frozen 1`. */
  async freeze(opts: { timeoutMs?: number } = {}): Promise<void> {
    const o = parseOptions('opts', waitSchema, opts);
    await callNativeAsync(() => this.#h.freeze(o.timeoutMs));
  }

  async thaw(opts: { timeoutMs?: number } = {}): Promise<void> {
    const o = parseOptions('opts', waitSchema, opts);
    await callNativeAsync(() => this.#h.thaw(o.timeoutMs));
  }

  get frozen(): boolean {
    return callNative(() => this.#h.isFrozen());
  }

  /** SIGKILLs every process in the subtree (cgroup.kill) and waits until empty. */
  async kill(opts: { timeoutMs?: number } = {}): Promise<void> {
    const o = parseOptions('opts', waitSchema, opts);
    await callNativeAsync(() => this.#h.kill(o.timeoutMs));
  }

  stats(): CgroupStats {
    const s = callNative(() => this.#h.stats());
    const pressure: Record<string, Pressure> = {};
    for (const p of s.pressure) {
      pressure[p.resource] = {
        some: { avg10: p.someAvg10, avg60: p.someAvg60, avg300: p.someAvg300, totalUs: p.someTotalUs },
        full: { avg10: p.fullAvg10, avg60: p.fullAvg60, avg300: p.fullAvg300, totalUs: p.fullTotalUs },
      };
    }
    return {
      cpu: Object.fromEntries(s.cpu.map((kv) => [kv.key, kv.value])),
      ...(s.memoryCurrent !== undefined && s.memoryCurrent !== null ? { memoryCurrent: s.memoryCurrent } : {}),
      ...(s.pidsCurrent !== undefined && s.pidsCurrent !== null ? { pidsCurrent: s.pidsCurrent } : {}),
      pressure,
      populated: s.populated,
      frozen: s.frozen,
    };
  }

  /** Attaches cgroup_skb ingress/egress and connect4/6 programs; replaces an earlier policy of this handle. */
  attachPolicy(spec: CgroupPolicySpec): CgroupPolicy {
    const s = parseOptions('policy', policySchema, spec);
    const p = new CgroupPolicy(callNative(() => this.#h.attachPolicy(s)));
    if (this.#policy) {
      try {
        this.#policy.detach();
      } catch {
        /* already detached */
      }
    }
    this.#policy = p;
    this.#log.info({ policy: s }, 'cgroup policy attached');
    return p;
  }

  /** Counters of the policy attached through this handle. */
  trafficStats(): TrafficStats {
    if (!this.#policy) throw new OmniError('ERR_OMNI_CLOSED', 'cgroup: no policy attached through this handle (call attachPolicy first)');
    return this.#policy.trafficStats();
  }

  /** Removes the group; refuses a non-empty one unless `force` (which kills first). */
  async remove(opts: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const o = parseOptions('opts', waitSchema.extend({ force: z.boolean().optional() }), opts);
    if (this.#policy) {
      try {
        this.#policy.detach();
      } catch {
        /* already detached */
      }
      this.#policy = null;
    }
    await callNativeAsync(() => this.#h.remove(o.force ?? false, o.timeoutMs));
    this.#log.info('cgroup removed');
  }
}

function pathArg(path: unknown): string {
  if (typeof path !== 'string') throw invalidArgument('path', `expected a string, got ${describe(path)}`);
  return path;
}

export interface FreezeManyOptions {
  /**
   * true (default): resolve once every cgroup.events reports the new `frozen`
   * state (one poll loop over all of them). false: resolve as soon as every
   * cgroup.freeze is written; a freeze is then already in effect (each task
   * traps on its next return to user mode and runs no further user code) but
   * tasks may still be finishing a syscall before they park.
   */
  wait?: boolean;
  /** deadline for the wait, default 5000 ms */
  timeoutMs?: number;
}

const manySchema = waitSchema.extend({ wait: z.boolean().optional() });

function pathsArg(paths: unknown): string[] {
  if (!Array.isArray(paths)) throw invalidArgument('paths', `expected an array of cgroup paths, got ${describe(paths)}`);
  if (paths.length === 0) throw invalidArgument('paths', 'must name at least one cgroup');
  paths.forEach((p, i) => {
    if (typeof p !== 'string') throw invalidArgument(`paths[${i}]`, `expected a string, got ${describe(p)}`);
  });
  return paths as string[];
}

async function setFrozenMany(paths: unknown, frozen: boolean, opts: FreezeManyOptions): Promise<void> {
  const ps = pathsArg(paths);
  const o = parseOptions('opts', manySchema, opts);
  await callNativeAsync(() => native.kernelCgroupSetFrozenMany(ps, frozen, o.wait ?? true, o.timeoutMs));
}

export const cgroup = {
  /** The cgroup2 mount point, from /proc/self/mountinfo. */
  root: (): string => callNative(() => native.kernelCgroupRoot()),
  /**
   * Freezes many cgroups in one native call. Every path is checked first (a bad
   * one refuses the batch, naming `paths[i]`); if a write fails, the cgroups
   * already frozen by this call are thawed again, so nothing is half-applied.
   */
  freezeMany: (paths: string[], opts: FreezeManyOptions = {}): Promise<void> => setFrozenMany(paths, true, opts),
  /** Thaws many cgroups in one native call; same checks and rollback as freezeMany. */
  thawMany: (paths: string[], opts: FreezeManyOptions = {}): Promise<void> => setFrozenMany(paths, false, opts),
  create(path: string, opts: { logger?: Logger } = {}): Cgroup {
    const p = pathArg(path);
    return new Cgroup(callNative(() => native.kernelCgroupCreate(p)), loggerFor('kernel', opts.logger).child({ cgroup: p }));
  },
  open(path: string, opts: { logger?: Logger } = {}): Cgroup {
    const p = pathArg(path);
    return new Cgroup(callNative(() => native.kernelCgroupOpen(p)), loggerFor('kernel', opts.logger).child({ cgroup: p }));
  },
};

// ---------------------------------------------------------------- doctor

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** what does not work when the check fails */
  disables: string;
  /** a failed required check means omnitide/kernel cannot work here; a failed optional one only disables `disables` */
  required: boolean;
}

export function doctor(): DoctorCheck[] {
  return callNative(() => native.kernelDoctor());
}
