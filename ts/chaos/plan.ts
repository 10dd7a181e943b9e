/**
 * Planning a fault: targets resolved (interfaces, cgroups, selectors, proxies)
 * and every precondition checked (existence, controllers, qdiscs, CIDRs and
 * toxics validated by the real implementation) before anything is applied.
 */
import { readdirSync, existsSync, statSync } from 'node:fs';
import { OmniError } from '../errors.js';
import { cgroup, xdp } from '../kernel/index.js';
import { Proxy } from './proxy/index.js';
import type { FaultProvider } from './schema.js';
import { cgroupFs, ifaceExists, ifaceExistsIn, qdiscAvailable, splitIface } from './system.js';

/** A fault type's resolved targets, checked and ready to apply. */
export interface Plan {
  provider: FaultProvider;
  /** target keys in apply order: `iface:<name>` or `cgroup:<path>` */
  targets: string[];
  /** size of the selector's pool when targets came from a selector */
  pool?: number;
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

const CONTROLLER_FOR: Record<string, string> = { cpu: 'cpu', memory: 'memory', pids: 'pids', io: 'io' };

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
          probe.setDropManySync(dropRules(provider).map((r) => ({ ...r, probability: provider.probability })));
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
      // io.max is keyed by MAJ:MIN: each device must be a block device (or MAJ:MIN) before anything is applied
      provider.limits.io?.forEach((d, i) => deviceNumber(d.device, `${where}.limits.io[${i}].device`));
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

export function dropRules(p: Extract<FaultProvider, { type: 'xdp-drop' }>): { cidr?: string }[] {
  return p.cidrs ? p.cidrs.map((cidr) => ({ cidr })) : p.cidr !== undefined ? [{ cidr: p.cidr }] : [{}];
}

function checkCidr(c: string, where: string): void {
  // the filter re-checks; this catches typos before anything is attached
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(c);
  if (!m) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}: malformed CIDR '${c}'`);
}

/** A block device path or MAJ:MIN as the MAJ:MIN io.max is keyed by. */
export function deviceNumber(dev: string, where: string): string {
  if (/^\d+:\d+$/.test(dev)) return dev;
  let st;
  try {
    st = statSync(dev);
  } catch (e) {
    throw new OmniError('ERR_OMNI_NOT_FOUND', `${where}: device '${dev}' does not exist`, { cause: e });
  }
  if (!st.isBlockDevice()) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${where}: '${dev}' is not a block device`);
  // glibc's gnu_dev_major/minor split of dev_t
  const rdev = BigInt(st.rdev);
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}
