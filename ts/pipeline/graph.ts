/**
 * Drawing a pipeline: Graphviz DOT, and SVG (through `dot -Tsvg` when Graphviz
 * is installed, otherwise a simple layered layout drawn here so nothing
 * requires Graphviz).
 */
import { spawn } from 'node:child_process';
import { opsSummary, type PipelineGraph } from './ir.js';
import { baseId, topoOrder } from './validate.js';

function dotString(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}

export function toDot(g: PipelineGraph): string {
  const lines = [`digraph ${dotString(g.name)} {`, '  rankdir=LR;', '  node [shape=box, fontname="Helvetica", fontsize=10];'];
  for (const n of g.nodes) {
    const shape = n.op === 'source' ? 'cds' : n.op === 'sink' ? 'folder' : n.op === 'branch' ? 'diamond' : 'box';
    lines.push(`  ${dotString(n.id)} [label=${dotString(`${n.id}\n${opsSummary(n)}`)}, shape=${shape}];`);
  }
  for (const n of g.nodes) {
    n.inputs.forEach((input, port) => {
      const b = baseId(input);
      const label = input.includes('#') ? input.slice(input.indexOf('#') + 1) : n.inputs.length > 1 ? (n.op === 'union' ? '' : port === 0 ? 'left' : 'right') : '';
      lines.push(`  ${dotString(b)} -> ${dotString(n.id)}${label ? ` [label=${dotString(label)}]` : ''};`);
    });
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Layered SVG: column = longest path from a source, row = order within the column. */
export function layeredSvg(g: PipelineGraph): string {
  const { order, blocked } = topoOrder(g.nodes);
  const layer = new Map<string, number>();
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const id of [...order, ...blocked]) {
    const n = byId.get(id)!;
    layer.set(id, Math.max(0, ...n.inputs.map((i) => (layer.get(baseId(i)) ?? -1) + 1)));
  }
  const cols = new Map<number, string[]>();
  for (const [id, l] of layer) cols.set(l, [...(cols.get(l) ?? []), id]);
  const W = 220;
  const H = 56;
  const GX = 60;
  const GY = 24;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [l, ids] of cols) ids.forEach((id, r) => pos.set(id, { x: 20 + l * (W + GX), y: 20 + r * (H + GY) }));
  const width = 40 + cols.size * (W + GX) - GX;
  const height = 40 + Math.max(1, ...[...cols.values()].map((c) => c.length)) * (H + GY) - GY;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    `<title>${xml(g.name)}</title>`,
  ];
  for (const n of g.nodes) {
    for (const input of n.inputs) {
      const a = pos.get(baseId(input));
      const b = pos.get(n.id);
      if (!a || !b) continue;
      parts.push(`<line x1="${a.x + W}" y1="${a.y + H / 2}" x2="${b.x}" y2="${b.y + H / 2}" stroke="#555" marker-end="url(#arrow)"/>`);
    }
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id)!;
    const fill = n.op === 'source' ? '#e3f2fd' : n.op === 'sink' ? '#e8f5e9' : '#fff8e1';
    const summary = opsSummary(n);
    parts.push(
      `<g class="node" id="${xml(n.id)}"><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${fill}" stroke="#333"/>` +
        `<text x="${p.x + 8}" y="${p.y + 22}" font-family="Helvetica" font-size="13" font-weight="bold">${xml(n.id)}</text>` +
        `<text x="${p.x + 8}" y="${p.y + 42}" font-family="Helvetica" font-size="10">${xml(summary.length > 38 ? summary.slice(0, 37) + '…' : summary)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** SVG through Graphviz when `dot` runs, else the layered fallback. */
export async function toSvg(g: PipelineGraph, opts: { graphviz?: boolean } = {}): Promise<string> {
  if (opts.graphviz === false) return layeredSvg(g);
  const dot = toDot(g);
  const out = await new Promise<string | null>((resolve) => {
    let child;
    try {
      child = spawn('dot', ['-Tsvg'], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    child.on('error', () => resolve(null));
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', (code) => resolve(code === 0 ? Buffer.concat(chunks).toString('utf8') : null));
    child.stdin.on('error', () => {});
    child.stdin.end(dot);
  });
  return out ?? layeredSvg(g);
}
