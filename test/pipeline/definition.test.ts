/**
 * JSON/YAML definitions: the same results as the typed builder; validation
 * names cycles, unknown operators and functions, field and type mismatches
 * with their paths; DOT and SVG drawings; compile-time types of the builder.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Pipeline, fromArray, layeredSvg, loadDefinition, loadPipeline, run, toArray, toDot, toSvg } from '../../ts/pipeline/index.js';
import { byKey, events } from './data.js';

const YAML = `
name: spend
nodes:
  - { id: orders, op: source, schema: { ts: number, user: string, amount: number, kind: string } }
  - { id: buys, op: filter, input: orders, fn: isBuy }
  - id: perUser
    op: aggregate
    input: buys
    key: [user]
    window: { type: tumbling, size: 1000 }
    time: ts
    aggregates:
      n: { kind: count }
      total: { kind: sum, field: amount }
      p50: { kind: quantile, field: amount, q: 0.5 }
  - { id: out, op: sink, input: perUser }
`;

const functions = { isBuy: (r: { kind: string }) => r.kind === 'buy' };

describe('definitions', () => {
  it('a YAML definition runs like the same builder pipeline', async () => {
    const rows = events(8000, 11, 0);
    const fromYaml = toArray<Record<string, unknown>>();
    const graph = loadPipeline(YAML, { functions, sources: { orders: fromArray(rows) }, sinks: { out: fromYaml } });
    await run(graph, { mode: 'batch' });

    const p = new Pipeline('spend');
    const built = toArray<Record<string, unknown>>();
    p.source('orders', z.object({ ts: z.number(), user: z.string(), amount: z.number(), kind: z.string() }), fromArray(rows))
      .filter((r) => r.kind === 'buy')
      .keyBy('user')
      .window({ type: 'tumbling', size: 1000 }, { time: 'ts' })
      .aggregate((a) => ({ n: a.count(), total: a.sum('amount'), p50: a.quantile('amount', 0.5) }))
      .to(built);
    await p.run({ mode: 'batch' });
    const k = (r: Record<string, unknown>) => `${r.user}|${r.windowStart}`;
    expect(byKey(fromYaml.records, k)).toEqual(byKey(built.records, k));
    expect(fromYaml.records.length).toBeGreaterThan(50);
    // JSON text loads to the same graph shape.
    const json = JSON.stringify({ name: 'j', nodes: [{ id: 's', op: 'source', schema: { a: 'number' } }, { id: 'o', op: 'sink', input: 's' }] });
    expect(loadDefinition(json).ok).toBe(true);
  });

  it('reports cycles, unknown operators/functions/inputs and field/type mismatches with paths', () => {
    const problems = (nodes: unknown[]) => loadDefinition({ name: 'bad', nodes }, { functions }).problems;
    const src = { id: 's', op: 'source', schema: { ts: 'number', user: 'string', amount: 'number' } };
    expect(problems([src, { id: 'x', op: 'explode', input: 's' }])).toEqual([{ path: 'nodes[1].op', message: expect.stringMatching(/unknown operator 'explode'/) }]);
    expect(problems([src, { id: 'f', op: 'filter', input: 's', fn: 'nope' }])[0]).toEqual({ path: 'nodes[1].fn', message: expect.stringMatching(/unknown function 'nope'.*isBuy/) });
    const cyc = problems([src, { id: 'a', op: 'union', inputs: ['s', 'b'] }, { id: 'b', op: 'filter', input: 'a', fn: 'isBuy' }, { id: 'o', op: 'sink', input: 'b' }]);
    expect(cyc).toContainEqual({ path: 'nodes', message: 'cycle through a -> b' });
    const fields = problems([
      src,
      { id: 'w', op: 'aggregate', input: 's', key: 'usr', time: 'ts', window: { type: 'tumbling', size: 10 }, aggregates: { t: { kind: 'sum', field: 'user' }, m: { kind: 'mean', field: 'amout' } } },
      { id: 'o', op: 'sink', input: 'w' },
      { id: 'o2', op: 'sink', input: 'ghost' },
    ]);
    expect(fields).toEqual(
      expect.arrayContaining([
        { path: 'nodes.o2.inputs', message: "unknown input 'ghost'" },
        { path: 'nodes.w.key[0]', message: expect.stringMatching(/field 'usr' is not among the fields of 's' \(ts, user, amount\)/) },
        { path: 'nodes.w.aggregates.t.field', message: "field 'user' is string, a numeric aggregate needs a number" },
        { path: 'nodes.w.aggregates.m.field', message: expect.stringMatching(/'amout'/) },
      ]),
    );
    expect(problems([src, { id: 'w', op: 'aggregate', input: 's', key: 'user', window: { type: 'hourly' }, aggregates: { n: { kind: 'count' } } }])[0].path).toBe('nodes[1].window.type');
    expect(loadDefinition('nodes: [').problems[0].path).toBe('(document)');
    expect(() => loadPipeline({ name: 'x', nodes: [src] })).toThrow(expect.objectContaining({ code: 'ERR_OMNI_PIPELINE_INVALID', message: expect.stringMatching(/goes nowhere/) }));
  });

  it('the builder refuses an invalid graph before running', async () => {
    const p = new Pipeline('nosink');
    p.source('s', z.object({ a: z.number() }), fromArray([{ a: 1 }]));
    await expect(p.run()).rejects.toMatchObject({ code: 'ERR_OMNI_PIPELINE_INVALID' });
    expect(p.validate().problems).toEqual([{ path: 'nodes.s', message: "the output of 's' goes nowhere (add a sink)" }]);
  });

  it('types flow through the builder', () => {
    const p = new Pipeline('types');
    const s = p.source('s', z.object({ ts: z.number(), user: z.string(), amount: z.number() }), fromArray([]));
    const w = s
      .map((r) => ({ ...r, cents: r.amount * 100 }))
      .keyBy('user')
      .window({ type: 'tumbling', size: 10 }, { time: 'ts' })
      .aggregate((a) => ({ total: a.sum('cents') }));
    w.map((r) => {
      const user: string = r.user;
      const total: number = r.total;
      const start: number = r.windowStart;
      return { user, total, start };
    }).to(toArray());
    const f = p.source('f', { ts: 'number', user: 'string', note: 'string?' }, fromArray([]));
    f.map((r) => {
      const ts: number = r.ts;
      const note: string | undefined = r.note;
      return { ts, note };
    }).to(toArray());
    expect(() => p.source('g', { a: 'float' as 'number' }, fromArray([]))).toThrow(/schema\.a: unknown type 'float'/);
    // @ts-expect-error 'usr' is not a field
    expect(() => s.keyBy('usr')).not.toThrow();
    // @ts-expect-error a numeric aggregate over a string field
    s.keyBy('user').aggregate((a) => ({ x: a.sum('user') }));
    expect(true).toBe(true);
  });
});

describe('graph', () => {
  const g = loadPipeline(YAML, { functions });

  it('DOT names every node and edge', () => {
    const dot = toDot(g);
    expect(dot).toMatch(/^digraph "spend" \{/);
    for (const id of ['orders', 'buys', 'perUser', 'out']) expect(dot).toContain(`"${id}" [label=`);
    expect(dot).toContain('"orders" -> "buys"');
    expect(dot).toContain('"perUser" -> "out"');
    expect(dot).toContain('filter(isBuy)');
  });

  it('SVG: a layered drawing without Graphviz, and toSvg always answers', async () => {
    const svg = layeredSvg(g);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<g class="node"/g)).toHaveLength(4);
    expect(svg.match(/<line /g)).toHaveLength(3);
    expect(await toSvg(g, { graphviz: false })).toBe(svg);
    expect(await toSvg(g)).toMatch(/<svg[\s\S]*<\/svg>/);
  });
});
