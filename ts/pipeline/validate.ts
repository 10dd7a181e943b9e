/**
 * Static checks of a pipeline graph before it runs: unknown inputs, cycles,
 * field references against the fields known on each edge (from the source
 * schema, flowing through the operators), and type mismatches (a numeric
 * aggregate over a string field). Every problem carries a path.
 */
import { fieldsOf } from './schema.js';
import { AGG_KINDS, type Fields, type PipelineGraph, type PipelineNode } from './ir.js';
import { checkExpr } from './expr.js';

export interface Problem {
  /** Where: `nodes.<id>.aggregates.total.field` or a JSON path of a definition. */
  path: string;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  problems: Problem[];
  /** Node ids in execution (topological) order, when there is no cycle. */
  order: string[];
  /** Known fields on each node's output. */
  fields: Record<string, Fields>;
}

const NUMERIC_AGGS = new Set(['sum', 'min', 'max', 'mean', 'variance', 'quantile']);

export function baseId(input: string): string {
  const i = input.indexOf('#');
  return i < 0 ? input : input.slice(0, i);
}

/** Topological order (Kahn); the nodes left over are on a cycle. */
export function topoOrder(nodes: readonly PipelineNode[]): { order: string[]; cyclic: string[]; blocked: string[] } {
  const indeg = new Map<string, number>();
  const next = new Map<string, string[]>();
  for (const n of nodes) indeg.set(n.id, 0);
  for (const n of nodes) {
    for (const i of n.inputs) {
      const b = baseId(i);
      if (!indeg.has(b)) continue;
      indeg.set(n.id, indeg.get(n.id)! + 1);
      next.set(b, [...(next.get(b) ?? []), n.id]);
    }
  }
  const queue = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift()!;
    order.push(id);
    for (const m of next.get(id) ?? []) {
      indeg.set(m, indeg.get(m)! - 1);
      if (indeg.get(m) === 0) queue.push(m);
    }
  }
  const done = new Set(order);
  const left = nodes.filter((n) => !done.has(n.id)).map((n) => n.id);
  // Kahn leaves the cycles and everything downstream of them; keep the nodes that reach themselves.
  const reachesItself = (start: string) => {
    const seen = new Set<string>();
    const stack = [...(next.get(start) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === start) return true;
      if (seen.has(id) || done.has(id)) continue;
      seen.add(id);
      stack.push(...(next.get(id) ?? []));
    }
    return false;
  };
  return { order, cyclic: left.filter(reachesItself), blocked: left };
}

export function validateGraph(g: PipelineGraph): ValidationReport {
  const problems: Problem[] = [];
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const consumed = new Set<string>();
  for (const n of g.nodes) {
    const at = `nodes.${n.id}`;
    const want = n.op === 'source' ? 0 : n.op === 'join' || n.op === 'intervalJoin' ? 2 : n.op === 'union' ? -1 : 1;
    if (want >= 0 && n.inputs.length !== want) problems.push({ path: `${at}.inputs`, message: `${n.op} takes ${want} input(s), got ${n.inputs.length}` });
    if (want < 0 && n.inputs.length < 1) problems.push({ path: `${at}.inputs`, message: 'union takes at least one input' });
    for (const i of n.inputs) {
      const src = byId.get(baseId(i));
      if (!src) problems.push({ path: `${at}.inputs`, message: `unknown input '${i}'` });
      else if (src.op === 'sink') problems.push({ path: `${at}.inputs`, message: `'${i}' is a sink and has no output` });
      else if (src.op === 'branch' && !i.includes('#')) problems.push({ path: `${at}.inputs`, message: `'${i}' is a branch: name one of its outputs (${src.branches.map((b) => `${i}#${b}`).join(', ')})` });
      else if (i.includes('#') && (src.op !== 'branch' || !src.branches.includes(i.slice(i.indexOf('#') + 1)))) problems.push({ path: `${at}.inputs`, message: `'${i}' is not an output of a branch` });
      consumed.add(baseId(i));
    }
  }
  const { order, cyclic, blocked } = topoOrder(g.nodes);
  if (cyclic.length > 0) problems.push({ path: 'nodes', message: `cycle through ${cyclic.join(' -> ')}` });
  for (const n of g.nodes) {
    if (n.op !== 'sink' && !consumed.has(n.id)) problems.push({ path: `nodes.${n.id}`, message: `the output of '${n.id}' goes nowhere (add a sink)` });
  }
  if (!g.nodes.some((n) => n.op === 'source')) problems.push({ path: 'nodes', message: 'the pipeline has no source' });

  const fields: Record<string, Fields> = {};
  const inFields = (n: PipelineNode, k = 0): Fields => (n.inputs[k] === undefined ? null : (fields[baseId(n.inputs[k])] ?? null));
  const need = (f: Fields, field: string, path: string, from: string, numeric = false) => {
    if (f === null) return;
    if (!(field in f)) problems.push({ path, message: `field '${field}' is not among the fields of '${from}' (${Object.keys(f).join(', ') || 'none'})` });
    else if (numeric && f[field] !== 'number' && f[field] !== 'unknown') problems.push({ path, message: `field '${field}' is ${f[field]}, a numeric aggregate needs a number` });
  };
  for (const id of order) {
    const n = byId.get(id)!;
    const at = `nodes.${id}`;
    const f = inFields(n);
    const from = n.inputs[0] ?? '';
    switch (n.op) {
      case 'source':
        fields[id] = n.schema ? fieldsOf(n.schema) : null;
        break;
      case 'map':
      case 'flatMap':
        fields[id] = n.outFields ?? null;
        break;
      case 'parallelMap':
        need(f, n.key, `${at}.key`, from);
        fields[id] = n.outFields ?? null;
        break;
      case 'mapExpr': {
        const out = f ? { ...f } : null;
        for (const [k, e] of Object.entries(n.exprs)) {
          const t = checkExpr(e, f, `${at}.exprs.${k}`, (path, message) => problems.push({ path, message }));
          if (t === 'boolean') problems.push({ path: `${at}.exprs.${k}`, message: 'type mismatch: a map computes numbers; a boolean expression belongs in a filter' });
          if (out) out[k] = 'number';
        }
        fields[id] = out;
        break;
      }
      case 'filterExpr': {
        const t = checkExpr(n.predicate, f, `${at}.predicate`, (path, message) => problems.push({ path, message }));
        if (t === 'number') problems.push({ path: `${at}.predicate`, message: 'type mismatch: a filter needs a boolean expression (a comparison), this is a number' });
        fields[id] = f;
        break;
      }
      case 'filter':
      case 'dedupe':
      case 'sort':
      case 'branch':
        if (n.op === 'dedupe') n.key.forEach((k, i) => need(f, k, `${at}.key[${i}]`, from));
        if (n.op === 'sort') n.by.forEach((b, i) => need(f, b.field, `${at}.by[${i}]`, from));
        fields[id] = f;
        break;
      case 'union': {
        fields[id] = f;
        n.inputs.slice(1).forEach((input, k) => {
          const o = inFields(n, k + 1);
          if (f && o && JSON.stringify(Object.keys(f).sort()) !== JSON.stringify(Object.keys(o).sort())) {
            problems.push({ path: `${at}.inputs[${k + 1}]`, message: `'${input}' has fields (${Object.keys(o).join(', ')}), '${from}' has (${Object.keys(f).join(', ')})` });
          }
        });
        break;
      }
      case 'aggregate': {
        n.key.forEach((k, i) => need(f, k, `${at}.key[${i}]`, from));
        if (n.options) {
          need(f, n.options.time, `${at}.time`, from);
          if (f && f[n.options.time] && !['number', 'date', 'string', 'unknown'].includes(f[n.options.time]!)) problems.push({ path: `${at}.time`, message: `field '${n.options.time}' is ${f[n.options.time]}, event time needs a number, date or ISO string` });
        } else if (n.window.type !== 'global') problems.push({ path: `${at}.time`, message: `a ${n.window.type} window needs an event-time field` });
        const out: Record<string, 'number' | 'unknown'> = {};
        for (const k of n.key) out[k] = (f?.[k] as 'number') ?? 'unknown';
        if (n.window.type !== 'global') Object.assign(out, { windowStart: 'number', windowEnd: 'number', pane: 'number' });
        for (const [name, a] of Object.entries(n.aggregates)) {
          const p = `${at}.aggregates.${name}`;
          if (!AGG_KINDS.includes(a.kind)) problems.push({ path: `${p}.kind`, message: `unknown aggregate '${a.kind}' (one of ${AGG_KINDS.join(', ')})` });
          else if (a.kind !== 'count') {
            if (typeof a.field !== 'string') problems.push({ path: `${p}.field`, message: `${a.kind} needs a field` });
            else need(f, a.field, `${p}.field`, from, NUMERIC_AGGS.has(a.kind));
          }
          if (a.kind === 'quantile' && !(typeof a.q === 'number' && a.q >= 0 && a.q <= 1)) problems.push({ path: `${p}.q`, message: `quantile q must be in [0, 1], got ${String(a.q)}` });
          if (name in out) problems.push({ path: p, message: `output name '${name}' clashes with a key or window field` });
          out[name] = 'number';
        }
        fields[id] = out;
        break;
      }
      case 'join': {
        const r = inFields(n, 1);
        need(f, n.on[0], `${at}.on.left`, from);
        need(r, n.on[1], `${at}.on.right`, n.inputs[1] ?? '');
        fields[id] = n.kind === 'anti' ? f : f && r ? { ...r, ...f } : null;
        break;
      }
      case 'intervalJoin': {
        const r = inFields(n, 1);
        need(f, n.on[0], `${at}.on.left`, from);
        need(r, n.on[1], `${at}.on.right`, n.inputs[1] ?? '');
        need(f, n.time[0], `${at}.time.left`, from);
        need(r, n.time[1], `${at}.time.right`, n.inputs[1] ?? '');
        fields[id] = { left: 'unknown', right: 'unknown' };
        break;
      }
      case 'lookup':
        need(f, n.on, `${at}.on`, from);
        fields[id] = f ? { ...f, [n.as]: 'unknown' } : null;
        break;
      case 'sink':
        fields[id] = null;
        break;
    }
  }
  return { ok: problems.length === 0, problems, order: blocked.length ? [] : order, fields };
}
