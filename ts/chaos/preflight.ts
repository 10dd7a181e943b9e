/**
 * Safety checks of a run, all before anything is applied: every fault planned
 * (targets exist, CIDRs/toxics valid, controllers and qdiscs present), the
 * blast radius (max targets, share of a selector, allow list), one fault type
 * per target, and no target another live run has under fault.
 */
import { OmniError } from '../errors.js';
import { plan, type Plan } from './plan.js';
import { listRuns } from './journal.js';
import { FAULT_TYPES, type Activity, type Experiment, type FaultProvider } from './schema.js';

export function isFault(a: Activity): a is Activity & { provider: FaultProvider } {
  return a.type === 'action' && (FAULT_TYPES as readonly string[]).includes(a.provider.type);
}

export interface Planned {
  index: number;
  plan: Plan;
}

/** Everything checked before anything is applied: targets exist, blast radius, nobody else's fault on them. */
export async function preflight(exp: Experiment, root: string): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (const [i, a] of exp.method.entries()) {
    if (isFault(a)) planned.push({ index: i, plan: await plan(a.provider, `method[${i}].provider`) });
  }
  const signalTargets: string[] = [];
  for (const [i, a] of exp.method.entries()) {
    if (a.type === 'action' && a.provider.type === 'signal') {
      const p = await plan({ ...a.provider, type: 'cgroup-freeze' } as FaultProvider, `method[${i}].provider`);
      signalTargets.push(...p.targets);
    }
  }
  const br = exp.safety?.blastRadius;
  const all = new Set([...planned.flatMap((p) => p.plan.targets), ...signalTargets]);
  if (br?.maxTargets !== undefined && all.size > br.maxTargets) {
    throw new OmniError('ERR_OMNI_BLAST_RADIUS', `safety.blastRadius.maxTargets: the experiment would touch ${all.size} targets (${[...all].join(', ')}), more than the limit of ${br.maxTargets}; nothing was applied`);
  }
  for (const { index, plan: p } of planned) {
    if (br?.maxPercent !== undefined && p.pool !== undefined && (p.targets.length / p.pool) * 100 > br.maxPercent) {
      throw new OmniError(
        'ERR_OMNI_BLAST_RADIUS',
        `method[${index}].provider.selector: selects ${p.targets.length} of ${p.pool} cgroups (${((p.targets.length / p.pool) * 100).toFixed(1)}%), more than safety.blastRadius.maxPercent ${br.maxPercent}%; nothing was applied`,
      );
    }
  }
  if (br?.allow) {
    for (const t of all) {
      const [kind, name] = [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)];
      const ok =
        kind === 'iface'
          ? (br.allow.interfaces ?? []).includes(name)
          : kind === 'proxy'
            ? (br.allow.proxies ?? []).includes(name)
            : (br.allow.cgroups ?? []).some((c) => name === c || name.startsWith(c.endsWith('/') ? c : `${c}/`));
      if (!ok) throw new OmniError('ERR_OMNI_BLAST_RADIUS', `target ${t} lies outside safety.blastRadius.allow; nothing was applied`);
    }
  }
  // one fault type per target inside a run; no target another live run has a fault on
  const seen = new Map<string, number>();
  for (const { index, plan: p } of planned) {
    for (const t of p.targets) {
      const k = `${p.provider.type}@${t}`;
      if (seen.has(k)) throw new OmniError('ERR_OMNI_TARGET_BUSY', `method[${index}]: ${t} is already under a ${p.provider.type} fault from method[${seen.get(k)}]`);
      seen.set(k, index);
    }
  }
  for (const r of listRuns(root)) {
    if (!r.running) continue;
    const busy = r.outstanding.map((o) => o.target).filter((t) => all.has(t));
    if (busy.length) throw new OmniError('ERR_OMNI_TARGET_BUSY', `${busy[0]} is already under fault by run ${r.runId} ('${r.title}', pid ${r.pid}); nothing was applied`);
  }
  return planned;
}
