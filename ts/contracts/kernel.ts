/**
 * Kernel target: the parts of a contract a packet filter can enforce (source-range forbids,
 * port forbids, per-source rate limits), planned by the native crate and applied through
 * omnitide/kernel's public API. What cannot be enforced in the kernel is listed in
 * `plan.unsupported` with position and reason (or refused with `strict`), never dropped silently.
 */
import { z } from 'zod';
import { OmniError } from '../errors.js';
import type { Cgroup, CgroupPolicy, XdpFilter } from '../kernel/index.js';
import { parseOptions } from '../validate.js';

export interface KernelPlan {
  /** XDP blocklist entries (source ranges) and the forbid that produced each. */
  block: { cidr: string; policy: string }[];
  /** cgroup connect policy: destination ports denied to the cgroup's processes. */
  denyPorts: { port: number; policy: string }[];
  /** XDP per-source token buckets (one packet = one request). */
  rateLimits: { id: string; cidr: string; pps: number; burst: number; action: 'deny' | 'throttle' }[];
  /** Items the kernel cannot enforce (they stay with the userspace targets). */
  unsupported: { id: string; kind: 'permit' | 'forbid' | 'ratelimit'; line: number; column: number; reason: string }[];
}

export interface KernelEnforcement {
  plan: KernelPlan;
  /** Removes every entry and policy this enforcement added (idempotent). */
  remove(): void;
}

const enforceSchema = z.strictObject({
  xdp: z.custom<XdpFilter>((v) => typeof v === 'object' && v !== null && typeof (v as XdpFilter).setRateLimit === 'function', 'must be an XdpFilter').optional(),
  cgroup: z.custom<Cgroup>((v) => typeof v === 'object' && v !== null && typeof (v as Cgroup).attachPolicy === 'function', 'must be a Cgroup').optional(),
  /** refuse (ERR_OMNI_UNSUPPORTED) when any item cannot be enforced in the kernel */
  strict: z.boolean().optional(),
});
export type EnforceTargets = z.input<typeof enforceSchema>;

/** Applies a kernel plan; all or nothing (a failure removes what was applied before it). */
export async function enforcePlan(plan: KernelPlan, targets: EnforceTargets): Promise<KernelEnforcement> {
  const t = parseOptions('targets', enforceSchema, targets);
  if (t.strict && plan.unsupported.length > 0) {
    const u = plan.unsupported.map((x) => `${x.line}:${x.column} ${x.kind} ${x.id}: ${x.reason}`).join('; ');
    throw new OmniError('ERR_OMNI_UNSUPPORTED', `contract: ${plan.unsupported.length} item(s) cannot be enforced in the kernel: ${u}`);
  }
  if ((plan.block.length > 0 || plan.rateLimits.length > 0) && !t.xdp) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', 'targets.xdp: the plan has blocklist or rate-limit entries and needs an XdpFilter');
  if (plan.denyPorts.length > 0 && !t.cgroup) throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', 'targets.cgroup: the plan denies ports and needs a Cgroup');
  const undo: (() => void)[] = [];
  const remove = () => {
    while (undo.length > 0) undo.pop()!();
  };
  try {
    const xdp = t.xdp;
    if (xdp) {
      for (const r of plan.rateLimits) {
        xdp.setRateLimit({ cidr: r.cidr, pps: r.pps, burst: r.burst });
        undo.push(() => void xdp.clearRateLimit(r.cidr));
      }
      const cidrs = [...new Set(plan.block.map((b) => b.cidr))];
      if (cidrs.length > 0) {
        await xdp.block(cidrs);
        undo.push(() => void xdp.unblock(cidrs));
      }
    }
    if (t.cgroup && plan.denyPorts.length > 0) {
      const pol: CgroupPolicy = t.cgroup.attachPolicy({ connect: { denyPorts: [...new Set(plan.denyPorts.map((p) => p.port))] } });
      undo.push(() => pol.detach());
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { plan, remove };
}
