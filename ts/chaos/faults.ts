/**
 * Faults, applied only through omnitide/kernel's public API (XDP filters,
 * cgroup v2, cgroup BPF), the chaos TCP proxy, and `tc` for qdiscs. Plans come
 * from plan.ts (everything checked first); a fault is journaled before it is
 * applied when it would outlive the process, and removable one by one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OmniError } from '../errors.js';
import { cgroup, xdp, type Cgroup, type CgroupPolicy } from '../kernel/index.js';
import type { Journal, Undo } from './journal.js';
import { deviceNumber, dropRules, type Plan } from './plan.js';
import { Proxy } from './proxy/index.js';
import { RemoteFilter, type FilterLike } from './remote.js';
import { killMarked, restoreFiles, splitIface, tc } from './system.js';

export { plan, type Plan } from './plan.js';
export { killMarked, netemAvailable, qdiscAvailable, splitIface, undo } from './system.js';

interface Op {
  fault: string;
  target: string;
  undo: Undo;
  apply: () => Promise<void> | void;
  remove: () => Promise<void> | void;
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

const LIMIT_FILES = ['cpu.max', 'memory.max', 'memory.high', 'pids.max'];

/** io.max as MAJ:MIN -> its line (absent when the controller is off). */
function ioMaxLines(dir: string): Map<string, string> {
  try {
    const lines = readFileSync(join(dir, 'io.max'), 'utf8').split('\n').filter(Boolean);
    return new Map(lines.map((l) => [l.split(' ')[0], l.trim()]));
  } catch {
    return new Map();
  }
}

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
  /** which apply() call each fault came from */
  readonly #callOf = new WeakMap<AppliedFault, number>();
  #calls = 0;
  #thawQueue: { names: Set<string>; wait: boolean; done: Promise<void> } | null = null;
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
   * Journals every op (one write for the batch, done before anything is
   * applied; see journal.ts on why no fsync), then applies them concurrently. An op that
   * fails is undone best effort; the others stay tracked so removeAll() rolls
   * them back; the first error is rethrown.
   */
  async #applyAll(ops: Op[]): Promise<AppliedFault[]> {
    const t0 = performance.now();
    const ids = ops.map(() => this.#next++);
    const call = ++this.#calls;
    const now = Date.now();
    this.#journal?.appendMany(ops.map((op, i) => ({ op: 'intent', t: now, id: ids[i], fault: op.fault, target: op.target, undo: op.undo })));
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
      this.#callOf.set(f, call);
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
    let freezeBatch: { freeze: () => Promise<void>; wait: boolean } | null = null;
    const op = (fault: string, target: string, undo: Undo, apply: Op['apply'], remove: Op['remove']) => ops.push({ fault, target, undo, apply, remove });
    for (const target of targets) {
      const name = target.slice(target.indexOf(':') + 1);
      switch (p.type) {
        case 'xdp-drop': {
          const f = this.#filters.get(name)!;
          const rules = dropRules(p);
          // one call for every rule of the fault, all-or-nothing
          const set = async (probability: number) => void (await f.setDropMany(rules.map((r) => ({ ...r, probability }))));
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
          // every target of this call is frozen by one freezeMany (all-or-nothing) and thawed by
          // one thawMany per tick (see #thaw); the ops share the batch
          freezeBatch ??= (() => {
            const names = targets.map((t) => t.slice(t.indexOf(':') + 1));
            const wait = p.confirm ?? true;
            let done: Promise<void> | null = null;
            return { freeze: () => (done ??= cgroup.freezeMany(names, { wait })), wait };
          })();
          const batch = freezeBatch;
          op(p.type, target, { kind: 'thaw', cgroup: name }, () => batch.freeze(), () => this.#thaw(name, batch.wait));
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
          if (p.limits.io) {
            // io.max holds one line per device; each device this fault limits gets its old line back, or
            // an all-'max' line (which deletes the entry) when it had none
            const old = ioMaxLines(cg.fsPath);
            files['io.max'] = p.limits.io
              .map((d, i) => deviceNumber(d.device, `limits.io[${i}].device`))
              .map((n) => old.get(n) ?? `${n} rbps=max wbps=max riops=max wiops=max`)
              .join('\n');
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

  /**
   * Thaws `name` together with every other thaw requested in the same tick
   * (removeAll and removeMany request a batch's faults at once): one thawMany
   * call. If the batch is refused (say one cgroup is gone), each is thawed on
   * its own so the others are not held back.
   */
  #thaw(name: string, wait: boolean): Promise<void> {
    if (!this.#thawQueue) {
      const q = { names: new Set<string>(), wait, done: null as unknown as Promise<void> };
      q.done = new Promise<void>((res, rej) =>
        queueMicrotask(() => {
          this.#thawQueue = null;
          cgroup.thawMany([...q.names], { wait: q.wait }).then(res, rej);
        }),
      );
      this.#thawQueue = q;
    }
    const q = this.#thawQueue;
    q.names.add(name);
    q.wait ||= wait;
    return q.done.catch(async () => {
      if (existsSync(join(cgroup.root(), name))) await cgroup.thawMany([name], { wait });
    });
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
    // newest apply() call first; the faults of one call are removed together
    const calls: AppliedFault[][] = [];
    for (const f of [...this.applied].reverse()) {
      const last = calls.at(-1);
      if (last && this.#callOf.get(last[0]) === this.#callOf.get(f)) last.push(f);
      else calls.push([f]);
    }
    for (const c of calls) errors.push(...(await this.removeMany(c)));
    return errors;
  }

  /**
   * Removes the given faults concurrently, so a batch's cgroup thaws go out as
   * one thawMany call; returns the errors instead of stopping at the first.
   */
  async removeMany(faults: AppliedFault[]): Promise<string[]> {
    const settled = await Promise.allSettled(faults.map((f) => f.remove()));
    return settled.flatMap((r, i) => (r.status === 'rejected' ? [`${faults[i].fault} on ${faults[i].target}: ${(r.reason as Error).message}`] : []));
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
