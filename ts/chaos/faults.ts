/**
 * Faults, applied only through omnitide/kernel's public API (XDP filters,
 * cgroup v2) plus `tc` for netem. A fault is planned (targets resolved, every
 * precondition checked) before anything is applied, journaled before it is
 * applied when it would outlive the process, and removable one by one.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OmniError } from '../errors.js';
import { cgroup, xdp, type Cgroup, type CgroupPolicy } from '../kernel/index.js';
import { RemoteFilter, type FilterLike } from './remote.js';
import { Proxy } from './proxy/index.js';
import type { Journal, Undo } from './journal.js';
import type { FaultProvider } from './schema.js';

const run = promisify(execFile);

interface Op {
  fault: string;
  target: string;
  undo: Undo;
  apply: () => Promise<void> | void;
  remove: () => Promise<void> | void;
}

/** A fault type's resolved targets, checked and ready to apply. */
export interface Plan {
  provider: FaultProvider;
  /** target keys in apply order: `iface:<name>` or `cgroup:<path>` */
  targets: string[];
  /** size of the selector's pool when targets came from a selector */
  pool?: number;
}

export interface AppliedFault {
  id: number;
  fault: string;
  target: string;
  appliedAt: number;
  removedAt?: number;
  /** ms from the request to the kernel accepting it */
  applyMs: number;
  removeMs?: number;
  remove: () => Promise<void>;
}

/** 'NETNS/IFACE' -> [netns, iface]; 'IFACE' -> [null, iface] */
export function splitIface(ref: string): [string | null, string] {
  const i = ref.indexOf('/');
  return i < 0 ? [null, ref] : [ref.slice(0, i), ref.slice(i + 1)];
}

function ifaceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

async function ifaceExistsIn(netns: string, name: string): Promise<boolean> {
  try {
    await run('ip', ['-n', netns, 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

const qdiscCache = new Map<string, Promise<{ ok: boolean; detail: string }>>();
const QDISC_TRY: Record<string, string[]> = { netem: ['netem', 'delay', '1ms'], tbf: ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms'] };

/**
 * Whether this kernel has qdisc `kind` ('netem' or 'tbf'): tried on a veth
 * inside a throwaway namespace (never on a real interface), then the
 * namespace is removed. Cached per process.
 */
export function qdiscAvailable(kind: 'netem' | 'tbf'): Promise<{ ok: boolean; detail: string }> {
  let p = qdiscCache.get(kind);
  if (!p) {
    p = (async () => {
      const ns = `omni-chaos-nq-${process.pid}-${kind}`;
      try {
        await run('ip', ['netns', 'add', ns]);
        await run('ip', ['-n', ns, 'link', 'add', 'nq0', 'type', 'veth', 'peer', 'name', 'nq1']);
        await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'nq0', 'root', ...QDISC_TRY[kind]]);
        return { ok: true, detail: `${kind} qdisc available` };
      } catch (e) {
        return { ok: false, detail: String((e as { stderr?: string }).stderr ?? (e as Error).message).trim() };
      } finally {
        await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      }
    })();
    qdiscCache.set(kind, p);
  }
  return p;
}

export const netemAvailable = (): Promise<{ ok: boolean; detail: string }> => qdiscAvailable('netem');

function cgroupFs(path: string): string {
  return join(cgroup.root(), path);
}

function resolveCgroups(p: { cgroups?: string[]; selector?: { parent: string; match?: string; count?: number; percent?: number } }, where: string): { targets: string[]; pool?: number } {
  if (p.cgroups) {
    for (const c of p.cgroups) {
      if (!existsSync(cgroupFs(c))) throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}.cgroups: cgroup '${c}' does not exist under ${cgroup.root()}`);
    }
    return { targets: [...new Set(p.cgroups)] };
  }
  const s = p.selector!;
  const dir = cgroupFs(s.parent);
  if (!existsSync(dir)) throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}.selector.parent: cgroup '${s.parent}' does not exist`);
  const re = s.match ? new RegExp(s.match) : null;
  const pool = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && (!re || re.test(d.name)))
    .map((d) => `${s.parent.replace(/\/$/, '')}/${d.name}`)
    .sort();
  if (!pool.length) throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}.selector: no cgroup under '${s.parent}' matches`);
  const n = s.count !== undefined ? Math.min(s.count, pool.length) : s.percent !== undefined ? Math.max(1, Math.floor((pool.length * s.percent) / 100)) : pool.length;
  return { targets: pool.slice(0, n), pool: pool.length };
}

const CONTROLLER_FOR: Record<string, string> = { cpu: 'cpu', memory: 'memory', pids: 'pids' };

/** Resolves targets and checks every precondition; applies nothing (XDP filters are attached empty: they pass everything). */
export async function plan(provider: FaultProvider, where: string): Promise<Plan> {
  switch (provider.type) {
    case 'xdp-drop':
    case 'partition': {
      const ifaces = provider.type === 'xdp-drop' ? provider.interfaces : provider.sides.flatMap((s) => s.interfaces);
      for (const i of ifaces) {
        const [ns, name] = splitIface(i);
        const ok = ns ? await ifaceExistsIn(ns, name) : ifaceExists(name);
        if (!ok) throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}: interface '${name}' does not exist ${ns ? `in network namespace '${ns}'` : 'in this network namespace'}`);
      }
      if (provider.type === 'xdp-drop') {
        if (provider.cidr !== undefined && provider.cidrs !== undefined) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}: give either 'cidr' or 'cidrs', not both`);
        if (provider.cidr !== undefined) checkCidr(provider.cidr, `${where}.cidr`);
        provider.cidrs?.forEach((c, i) => checkCidr(c, `${where}.cidrs[${i}]`));
        // the filter validates CIDRs natively; a dry run on a loaded, unattached copy refuses bad ones before anything is applied
        const probe = xdp.load();
        try {
          for (const r of dropRules(provider)) probe.setDrop({ ...r, probability: provider.probability });
        } catch (e) {
          throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}: ${(e as Error).message}`, { cause: e });
        } finally {
          probe.close();
        }
      }
      if (provider.type === 'partition') {
        provider.sides.forEach((s, i) => s.cidrs.forEach((c, j) => checkCidr(c, `${where}.sides[${i}].cidrs[${j}]`)));
        const probe = xdp.load();
        try {
          provider.sides.forEach((s, i) => {
            try {
              probe.blockSync(s.cidrs);
            } catch (e) {
              throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}.sides[${i}].${(e as Error).message}`, { cause: e });
            }
          });
        } finally {
          probe.close();
        }
      }
      return { provider, targets: [...new Set(ifaces)].map((i) => `iface:${i}`) };
    }
    case 'netem':
    case 'rate': {
      for (const i of provider.interfaces) {
        const ok = provider.netns ? await ifaceExistsIn(provider.netns, i) : ifaceExists(i);
        if (!ok) throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}: interface '${i}' does not exist${provider.netns ? ` in netns ${provider.netns}` : ''}`);
      }
      const kind = provider.type === 'netem' ? 'netem' : 'tbf';
      const n = await qdiscAvailable(kind);
      if (!n.ok) {
        throw new OmniError(
          'ERR_OMNI_UNSUPPORTED',
          `${where}: this kernel has no '${kind}' qdisc (tc said: ${n.detail}); ${kind === 'netem' ? 'latency/jitter/loss/corruption through tc need sch_netem (use xdp-drop for loss)' : 'rate limits through tc need sch_tbf'}`,
          { fields: { qdisc: kind } },
        );
      }
      return { provider, targets: provider.interfaces.map((i) => `iface:${provider.netns ? `${provider.netns}/` : ''}${i}`) };
    }
    case 'toxic': {
      // a throwaway proxy nobody connects to checks the toxic with the proxy's own validation, before anything is applied
      let probe: Proxy | null = null;
      try {
        probe = await Proxy.start({ name: provider.proxy.name, listen: '127.0.0.1:0', upstream: provider.proxy.upstream });
        probe.addToxic(provider.toxic);
      } catch (e) {
        throw new OmniError((e as OmniError).code ?? 'ERR_OMNI_INVALID_ARGUMENT', `${where}: ${(e as Error).message}`, { cause: e });
      } finally {
        await probe?.close();
      }
      return { provider, targets: [`proxy:${provider.proxy.name}`] };
    }
    case 'cgroup-net': {
      [...(provider.egressDenyCidrs ?? []), ...(provider.ingressDenyCidrs ?? [])].forEach((c) => checkCidr(c, `${where}: CIDR`));
      const r = resolveCgroups(provider, where);
      return { provider, targets: r.targets.map((c) => `cgroup:${c}`), pool: r.pool };
    }
    case 'cgroup-freeze':
    case 'stress': {
      const r = resolveCgroups(provider, where);
      return { provider, targets: r.targets.map((c) => `cgroup:${c}`), pool: r.pool };
    }
    case 'cgroup-limits': {
      const r = resolveCgroups(provider, where);
      for (const c of r.targets) {
        const offered = cgroup.open(c).controllers();
        for (const k of Object.keys(provider.limits)) {
          const ctl = CONTROLLER_FOR[k];
          if (ctl && !offered.includes(ctl)) {
            throw new OmniError(
              'ERR_OMNI_CONTROLLER_UNAVAILABLE',
              `${where}.limits.${k}: cgroup '${c}' has no '${ctl}' controller (its cgroup.controllers offers: ${offered.join(' ') || 'none'}); enable it in the parent's cgroup.subtree_control`,
              { fields: { controller: ctl } },
            );
          }
        }
      }
      return { provider, targets: r.targets.map((c) => `cgroup:${c}`), pool: r.pool };
    }
  }
}

function dropRules(p: Extract<FaultProvider, { type: 'xdp-drop' }>): { cidr?: string }[] {
  return p.cidrs ? p.cidrs.map((cidr) => ({ cidr })) : p.cidr !== undefined ? [{ cidr: p.cidr }] : [{}];
}

function checkCidr(c: string, where: string): void {
  // the filter re-checks; this catches typos before anything is attached
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(c);
  if (!m) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}: malformed CIDR '${c}'`);
}

const LIMIT_FILES = ['cpu.max', 'memory.max', 'memory.high', 'pids.max'];

/**
 * Applies and removes faults for one run. XDP filters are attached once per
 * interface (at plan time, empty) and detached by `close()` or by the kernel
 * when the process dies.
 */
export class FaultEngine {
  readonly #filters = new Map<string, FilterLike>();
  readonly #proxies = new Map<string, { proxy: Proxy; listen: string; upstream: string }>();
  #journal: Journal | null;
  readonly #runId: string;
  readonly #workers = new Set<ChildProcess>();
  readonly applied: AppliedFault[] = [];
  #next = 1;

  constructor(journal: Journal | null, runId: string) {
    this.#journal = journal;
    this.#runId = runId;
  }

  /** Journals every fault applied from now on. */
  useJournal(j: Journal): void {
    this.#journal = j;
  }

  /**
   * Attaches empty filters on every interface the plans name (through an agent
   * for NETNS/IFACE); an interface already under an XDP program is refused.
   */
  async prepare(plans: Plan[]): Promise<void> {
    try {
      for (const p of plans) {
        if (p.provider.type === 'toxic') {
          // started empty (no toxic: it passes everything through), like the XDP filters
          const { name, listen, upstream } = p.provider.proxy;
          const have = this.#proxies.get(name);
          if (have && (have.listen !== listen || have.upstream !== upstream)) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `proxy '${name}' is given twice with different listen/upstream`);
          if (!have) {
            try {
              this.#proxies.set(name, { proxy: await Proxy.start({ name, listen, upstream }), listen, upstream });
            } catch (e) {
              throw new OmniError((e as OmniError).code ?? 'ERR_OMNI_IO', `proxy '${name}': ${(e as Error).message}`, { cause: e });
            }
          }
          continue;
        }
        if (p.provider.type !== 'xdp-drop' && p.provider.type !== 'partition') continue;
        for (const t of p.targets) {
          const ref = t.slice('iface:'.length);
          if (this.#filters.has(ref)) continue;
          const [ns, iface] = splitIface(ref);
          try {
            this.#filters.set(ref, ns ? await RemoteFilter.attach(ns, iface) : xdp.attach({ iface }));
          } catch (e) {
            if ((e as OmniError).code === 'ERR_OMNI_BUSY') throw new OmniError('ERR_OMNI_TARGET_BUSY', `interface '${ref}' already has an XDP program (another experiment or filter is on it)`, { cause: e });
            throw e;
          }
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * Journals every op (one fsync for the batch, and only when something in it
   * would outlive the process), then applies them concurrently. An op that
   * fails is undone best effort; the others stay tracked so removeAll() rolls
   * them back; the first error is rethrown.
   */
  async #applyAll(ops: Op[]): Promise<AppliedFault[]> {
    const t0 = performance.now();
    const ids = ops.map(() => this.#next++);
    ops.forEach((op, i) => this.#journal?.append({ op: 'intent', t: Date.now(), id: ids[i], fault: op.fault, target: op.target, undo: op.undo }, false));
    if (ops.some((op) => op.undo.kind !== 'bpf-link' && op.undo.kind !== 'in-process')) this.#journal?.sync();
    const settled = await Promise.allSettled(ops.map(async (op) => {
      await op.apply();
      return performance.now() - t0;
    }));
    const out: AppliedFault[] = [];
    let firstError: unknown = null;
    for (const [i, r] of settled.entries()) {
      const op = ops[i];
      const id = ids[i];
      if (r.status === 'rejected') {
        firstError ??= r.reason;
        try {
          await op.remove();
          this.#journal?.append({ op: 'removed', t: Date.now(), id }, false);
        } catch {
          /* stays outstanding in the journal: repair retries */
        }
        continue;
      }
      const f: AppliedFault = {
        id,
        fault: op.fault,
        target: op.target,
        appliedAt: Date.now(),
        applyMs: r.value,
        remove: async () => {
          if (f.removedAt !== undefined) return;
          const t1 = performance.now();
          await op.remove();
          f.removeMs = performance.now() - t1;
          f.removedAt = Date.now();
          // no fsync: every undo is idempotent, so a lost 'removed' record only means repair undoes it again
          this.#journal?.append({ op: 'removed', t: f.removedAt, id }, false);
        },
      };
      this.#journal?.append({ op: 'applied', t: f.appliedAt, id }, false);
      this.applied.push(f);
      out.push(f);
    }
    if (firstError) throw firstError;
    return out;
  }

  /** Applies `plan`'s fault to the given subset of its targets. */
  async apply(plan: Plan, targets: string[]): Promise<AppliedFault[]> {
    const p = plan.provider;
    const ops: Op[] = [];
    const op = (fault: string, target: string, undo: Undo, apply: Op['apply'], remove: Op['remove']) => ops.push({ fault, target, undo, apply, remove });
    for (const target of targets) {
      const name = target.slice(target.indexOf(':') + 1);
      switch (p.type) {
        case 'xdp-drop': {
          const f = this.#filters.get(name)!;
          const rules = dropRules(p);
          const set = async (probability: number) => {
            for (const r of rules) await f.setDrop({ ...r, probability });
          };
          op(p.type, target, { kind: 'bpf-link' }, () => set(p.probability), () => set(0));
          break;
        }
        case 'partition': {
          const f = this.#filters.get(name)!;
          const other = p.sides.find((s) => !s.interfaces.includes(name));
          const mine = p.sides.filter((s) => s.interfaces.includes(name));
          const block = [...new Set([...(other && mine.length < 2 ? other.cidrs : []), ...(mine.length === 2 ? p.sides.flatMap((s) => s.cidrs) : [])])];
          op(p.type, target, { kind: 'bpf-link' }, async () => void (await f.block(block)), async () => void (await f.unblock(block)));
          break;
        }
        case 'toxic': {
          const px = this.#proxies.get(name)!.proxy;
          let toxicName = '';
          op(p.type, target, { kind: 'in-process' }, () => void (toxicName = px.addToxic(p.toxic).name), () => {
            if (toxicName && px.toxic(toxicName)) px.removeToxic(toxicName);
          });
          break;
        }
        case 'cgroup-net': {
          const cg = cgroup.open(name);
          let policy: CgroupPolicy | null = null;
          const spec = {
            ...(p.egressDenyCidrs ? { egress: { denyCidrs: p.egressDenyCidrs } } : {}),
            ...(p.ingressDenyCidrs ? { ingress: { denyCidrs: p.ingressDenyCidrs } } : {}),
            ...(p.denyPorts ? { connect: { denyPorts: p.denyPorts } } : {}),
          };
          op(p.type, target, { kind: 'bpf-link' }, () => void (policy = cg.attachPolicy(spec)), () => policy?.detach());
          break;
        }
        case 'cgroup-freeze': {
          const cg = cgroup.open(name);
          op(p.type, target, { kind: 'thaw', cgroup: name }, () => cg.freeze(), () => cg.thaw());
          break;
        }
        case 'cgroup-limits': {
          const cg = cgroup.open(name);
          const files: Record<string, string> = {};
          for (const f of LIMIT_FILES) {
            try {
              files[f] = readFileSync(join(cg.fsPath, f), 'utf8').trim();
            } catch {
              /* the controller's file is absent: nothing of it can change */
            }
          }
          op(p.type, target, { kind: 'restore-files', cgroup: name, files }, () => cg.setLimits(p.limits), () => restoreFiles(name, files));
          break;
        }
        case 'stress': {
          const marker = `omnitide-chaos-stress:${this.#runId}:${name}`;
          const cg = cgroup.open(name);
          op(p.type, target, { kind: 'kill-marked', marker }, () => this.#startStress(cg, marker, p.cpuWorkers ?? 1, p.memoryMb ?? 0), () => this.#stopStress(marker));
          break;
        }
        case 'netem':
        case 'rate': {
          const ns = p.netns;
          const iface = ns ? name.slice(ns.length + 1) : name;
          const args = ['qdisc', 'add', 'dev', iface, 'root'];
          if (p.type === 'netem') {
            args.push('netem');
            if (p.delayMs !== undefined) args.push('delay', `${p.delayMs}ms`, ...(p.jitterMs !== undefined ? [`${p.jitterMs}ms`] : []));
            if (p.lossPercent !== undefined) args.push('loss', `${p.lossPercent}%`);
            if (p.corruptPercent !== undefined) args.push('corrupt', `${p.corruptPercent}%`);
            if (p.duplicatePercent !== undefined) args.push('duplicate', `${p.duplicatePercent}%`);
          } else {
            args.push('tbf', 'rate', `${p.kbit}kbit`, 'burst', `${p.burstKb ?? 32}kb`, 'latency', `${p.latencyMs ?? 400}ms`);
          }
          op(p.type, target, { kind: 'tc-del', iface, ...(ns ? { netns: ns } : {}) }, () => tc(args, ns), () => tc(['qdisc', 'del', 'dev', iface, 'root'], ns));
          break;
        }
      }
    }
    return this.#applyAll(ops);
  }

  async #startStress(cg: Cgroup, marker: string, cpu: number, memMb: number): Promise<void> {
    // Workers exit when our stdin pipe closes, so even a SIGKILLed runner leaves none; the journal's marker covers the rest.
    const code = `const [,mb,cpu]=process.argv.slice(1);const keep=[];for(let i=0;i<+mb;i++)keep.push(Buffer.alloc(1<<20,i&255));
process.stdin.on('end',()=>process.exit(0));process.stdin.on('data',()=>{});
if(cpu==='1'){const spin=()=>{const t=Date.now();while(Date.now()-t<20){}setImmediate(spin)};spin()}else setInterval(()=>{},1e9);`;
    const kinds = [...Array(cpu).fill('1'), ...(memMb > 0 ? ['0'] : [])];
    for (const k of kinds) {
      const child = spawn(process.execPath, ['-e', code, marker, k === '0' ? String(memMb) : '0', k], { stdio: ['pipe', 'ignore', 'ignore'] });
      this.#workers.add(child);
      child.on('exit', () => this.#workers.delete(child));
      await new Promise<void>((res, rej) => {
        child.once('spawn', () => res());
        child.once('error', rej);
      });
      cg.addProcess(child.pid!);
    }
  }

  async #stopStress(marker: string): Promise<void> {
    killMarked(marker);
    const deadline = Date.now() + 10_000;
    while ([...this.#workers].some((w) => w.spawnargs.includes(marker) && w.exitCode === null && w.signalCode === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Removes every fault still applied, newest first; collects errors instead of stopping at the first. */
  async removeAll(): Promise<string[]> {
    const errors: string[] = [];
    for (const f of [...this.applied].reverse()) {
      try {
        await f.remove();
      } catch (e) {
        errors.push(`${f.fault} on ${f.target}: ${(e as Error).message}`);
      }
    }
    return errors;
  }

  /** Detaches the XDP filters (and with them every XDP fault) and ends stray workers. */
  close(): void {
    for (const f of this.#filters.values()) {
      try {
        f.detach();
      } catch {
        /* already gone with its interface */
      }
    }
    this.#filters.clear();
    for (const w of this.#workers) w.kill('SIGKILL');
    for (const { proxy } of this.#proxies.values()) void proxy.close().catch(() => undefined);
    this.#proxies.clear();
  }

  /** close(), waiting until the proxies' listeners and connections are closed. */
  async closeAsync(): Promise<void> {
    const proxies = [...this.#proxies.values()].map((p) => p.proxy);
    this.#proxies.clear();
    this.close();
    await Promise.all(proxies.map((p) => p.close().catch(() => undefined)));
  }
}

async function tc(args: string[], netns?: string): Promise<void> {
  try {
    if (netns) await run('ip', ['netns', 'exec', netns, 'tc', ...args]);
    else await run('tc', args);
  } catch (e) {
    throw new OmniError('ERR_OMNI_IO', `tc ${args.join(' ')}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
  }
}

function restoreFiles(cg: string, files: Record<string, string>): void {
  const dir = cgroupFs(cg);
  for (const [f, v] of Object.entries(files)) {
    try {
      writeFileSync(join(dir, f), v);
    } catch (e) {
      if (existsSync(dir)) throw new OmniError('ERR_OMNI_IO', `restoring ${f} of cgroup ${cg}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** SIGKILLs every process whose command line carries `marker` (stress workers of a run). */
export function killMarked(marker: string): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(marker)) {
        process.kill(Number(d), 'SIGKILL');
        n++;
      }
    } catch {
      /* gone */
    }
  }
  return n;
}

/** Undoes one journaled fault without the process that applied it. */
export async function undo(u: Undo): Promise<void> {
  switch (u.kind) {
    case 'bpf-link':
    case 'in-process':
      return; // the kernel detached it (or it ended) with its owner
    case 'thaw':
      if (existsSync(cgroupFs(u.cgroup))) await cgroup.open(u.cgroup).thaw();
      return;
    case 'restore-files':
      restoreFiles(u.cgroup, u.files);
      return;
    case 'kill-marked':
      killMarked(u.marker);
      return;
    case 'tc-del':
      try {
        await tc(['qdisc', 'del', 'dev', u.iface, 'root'], u.netns);
      } catch {
        // already gone (interface or namespace removed, or the qdisc never added)
      }
      return;
  }
}

