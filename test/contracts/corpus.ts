// Policy corpus shared by the differential tests and the benchmark: hand-written sets plus a
// seeded generator of policies, entity stores (DAG hierarchies) and requests.
import type { AuthRequest, Entity } from '../../ts/contracts/index.js';

export const HANDWRITTEN: string[] = [
  `permit(principal, action == Action::"view", resource) when { resource.public == true };
permit(principal, action in [Action::"edit", Action::"delete"], resource) when { resource.owner == principal };
forbid(principal in Group::"g0", action == Action::"delete", resource);
forbid(principal, action, resource) unless { context.hour >= 8 && context.hour < 18 };`,
  `permit(principal is User, action, resource is Doc in Folder::"f0") when { principal.level > 3 || principal.dept like "eng*" };
forbid(principal, action, resource) when { context.ip.isInRange(ip("10.0.0.0/8")) && !context.ip.isLoopback() };
permit(principal == User::"u1", action, resource);`,
  `permit(principal, action, resource) when { principal has level && principal.level + context.n > 10 };
permit(principal, action, resource) when { if context.n < 0 then principal.tags.contains("admin") else principal.tags.containsAny(["a", "b"]) };
forbid(principal, action == Action::"edit", resource) when { resource has owner && resource.owner in Group::"g1" };`,
  `permit(principal in Group::"g2", action, resource) unless { principal.dept == "ops" };
permit(principal, action, resource) when { context.path like "/api/*/read" && context.tags.containsAll(["x"]) };
forbid(principal is Group, action, resource);
permit(principal, action, resource) when { context.n * 3 == -9 };`,
  `permit(principal, action, resource) when { principal in [Group::"g0", Group::"g3"] && {a: context.n, b: "x"} == {b: "x", a: 5} };
permit(principal is User in Group::"g1", action, resource) when { context.tags == ["y", "x"] || -context.n > 2 };
forbid(principal, action, resource) when { context.ip.isIpv4() && (context.ip.isMulticast() || ip("::1").isLoopback() && context.n - 9223372036854775807 > 0) };
permit(principal, action, resource) when { resource.owner is User && [principal.dept, "x"].contains("eng") };
permit(principal, action == Action::"share", resource) when { context.n * 4611686018427387904 != 0 || context has path && context.path like "*read" };
forbid(principal, action, resource) when { context has tags && context.tags.isEmpty() && principal.level >= 0 };`,
];

/** xorshift32: deterministic across runs and platforms. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const GROUPS = ['g0', 'g1', 'g2', 'g3'];
const DOCS = ['d0', 'd1', 'd2', 'd3'];
const ACTIONS = ['view', 'edit', 'delete', 'share'];
const DEPTS = ['eng', 'ops', 'engineering', 'sales'];

function ent(t: string, id: string) {
  return `${t}::"${id}"`;
}

function atom(r: () => number): string {
  switch (Math.floor(r() * 16)) {
    case 0: return `principal.level ${pick(r, ['<', '<=', '>', '>=', '==', '!='])} ${Math.floor(r() * 8) - 1}`;
    case 1: return `principal.dept == "${pick(r, DEPTS)}"`;
    case 2: return `principal.dept like "${pick(r, ['eng*', '*s', '*', 'o*s'])}"`;
    case 3: return `principal in ${ent('Group', pick(r, GROUPS))}`;
    case 4: return `resource.owner == principal`;
    case 5: return `resource.public`;
    case 6: return `principal has ${pick(r, ['level', 'dept', 'tags'])}`;
    case 7: return `principal.tags.contains("${pick(r, ['a', 'b', 'admin'])}")`;
    case 8: return `context.ip.isInRange(ip("${pick(r, ['10.0.0.0/8', '192.168.0.0/16', '127.0.0.0/8', '10.1.0.0/16'])}"))`;
    case 9: return `context.hour ${pick(r, ['<', '>='])} ${Math.floor(r() * 24)}`;
    case 10: return `context.n + ${pick(r, ['1', '9223372036854775800', '-5'])} > 0`;
    case 11: return `action == ${ent('Action', pick(r, ACTIONS))}`;
    case 12: return `resource in ${ent('Folder', pick(r, ['f0', 'f1']))}`;
    case 13: return `context has ${pick(r, ['hour', 'ip', 'n'])}`;
    case 14: return `principal.tags.containsAny(["a", "${pick(r, ['b', 'x'])}"])`;
    default: return `resource.owner in ${ent('Group', pick(r, GROUPS))}`;
  }
}

function cond(r: () => number, depth: number): string {
  if (depth <= 0 || r() < 0.4) return atom(r);
  const op = pick(r, ['&&', '||', '!']);
  if (op === '!') return `!(${cond(r, depth - 1)})`;
  return `(${cond(r, depth - 1)} ${op} ${cond(r, depth - 1)})`;
}

function scope(r: () => number, v: 'principal' | 'resource'): string {
  const x = r();
  if (x < 0.6) return v;
  if (v === 'principal') return x < 0.75 ? `principal == ${ent('User', pick(r, USERS))}` : x < 0.9 ? `principal in ${ent('Group', pick(r, GROUPS))}` : 'principal is User';
  return x < 0.8 ? `resource == ${ent('Doc', pick(r, DOCS))}` : `resource in ${ent('Folder', pick(r, ['f0', 'f1']))}`;
}

export function genPolicy(r: () => number): string {
  const effect = r() < 0.65 ? 'permit' : 'forbid';
  const act = r() < 0.5 ? 'action' : r() < 0.5 ? `action == ${ent('Action', pick(r, ACTIONS))}` : `action in [${ent('Action', pick(r, ACTIONS))}, ${ent('Action', pick(r, ACTIONS))}]`;
  const n = Math.floor(r() * 3);
  let conds = '';
  for (let i = 0; i < n; i++) conds += ` ${r() < 0.75 ? 'when' : 'unless'} { ${cond(r, 2)} }`;
  return `${effect}(${scope(r, 'principal')}, ${act}, ${scope(r, 'resource')})${conds};`;
}

export function genPolicySet(r: () => number, n: number): string {
  return Array.from({ length: n }, () => genPolicy(r)).join('\n');
}

const uid = (type: string, id: string) => ({ type, id });

export function genEntities(r: () => number): Entity[] {
  const out: Entity[] = [];
  GROUPS.forEach((g, i) => out.push({ uid: uid('Group', g), attrs: {}, parents: GROUPS.slice(0, i).filter(() => r() < 0.3).map((p) => uid('Group', p)) }));
  for (const u of USERS) {
    const attrs: Record<string, unknown> = {};
    if (r() < 0.85) attrs.level = r() < 0.9 ? Math.floor(r() * 8) - 1 : 'high';
    if (r() < 0.85) attrs.dept = pick(r, DEPTS);
    if (r() < 0.7) attrs.tags = ['a', 'b', 'admin', 'x'].filter(() => r() < 0.4);
    out.push({ uid: uid('User', u), attrs: attrs as Entity['attrs'], parents: GROUPS.filter(() => r() < 0.35).map((g) => uid('Group', g)) });
  }
  for (const d of DOCS) {
    const attrs: Record<string, unknown> = {};
    if (r() < 0.8) attrs.owner = { __entity: uid(r() < 0.8 ? 'User' : 'Group', pick(r, r() < 0.8 ? USERS : GROUPS)) };
    if (r() < 0.8) attrs.public = r() < 0.5;
    out.push({ uid: uid('Doc', d), attrs: attrs as Entity['attrs'], parents: ['f0', 'f1'].filter(() => r() < 0.4).map((f) => uid('Folder', f)) });
  }
  out.push({ uid: uid('Folder', 'f0'), attrs: {}, parents: [] }, { uid: uid('Folder', 'f1'), attrs: {}, parents: [uid('Folder', 'f0')] });
  for (const a of ACTIONS) out.push({ uid: uid('Action', a), attrs: {}, parents: [] });
  return out;
}

export function genRequest(r: () => number): AuthRequest {
  const context: Record<string, unknown> = {};
  if (r() < 0.9) context.hour = Math.floor(r() * 24);
  if (r() < 0.9) context.ip = { __extn: { fn: 'ip', arg: pick(r, ['10.1.2.3', '127.0.0.1', '192.168.4.4', '8.8.8.8', '10.0.0.0/24']) } };
  if (r() < 0.9) context.n = pick(r, [0, 5, -3, 100, 9]);
  if (r() < 0.5) context.path = pick(r, ['/api/v1/read', '/api/read', '/x']);
  if (r() < 0.5) context.tags = ['x', 'y'].filter(() => r() < 0.6);
  return {
    principal: r() < 0.9 ? uid('User', pick(r, [...USERS, 'nobody'])) : uid('Group', pick(r, GROUPS)),
    action: uid('Action', pick(r, ACTIONS)),
    resource: uid('Doc', pick(r, [...DOCS, 'missing'])),
    context: context as AuthRequest['context'],
  };
}
