/**
 * Report rendering: a readable summary and a hand-written SVG of probe values
 * over time (one line per numeric probe, fault windows shaded). No chart
 * library: the plot is a few polylines and needs no runtime dependency.
 */
import type { RunReport } from './runner.js';

const iso = (t: number | null) => (t ? new Date(t).toISOString() : '-');
const show = (v: unknown) => {
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

export function renderSummary(r: RunReport): string {
  const l: string[] = [];
  l.push(`experiment: ${r.title}`, `run:        ${r.runId}  (${r.runDir})`, `status:     ${r.status.toUpperCase()}${r.reason ? ` - ${r.reason}` : ''}`);
  l.push(`time:       ${iso(r.startedAt)} .. ${iso(r.endedAt)} (${((r.endedAt - r.startedAt) / 1000).toFixed(2)} s)`);
  for (const [label, h] of [
    ['hypothesis before', r.hypothesisBefore],
    ['hypothesis after', r.hypothesisAfter],
  ] as const) {
    if (!h) {
      l.push(`${label}: not run`);
      continue;
    }
    l.push(`${label}: ${h.met ? 'met' : 'NOT MET'}`);
    for (const p of h.probes) l.push(`  ${p.ok ? 'ok  ' : 'FAIL'} ${p.name} = ${show(p.value)}${p.error ? ` (${p.error})` : ''}`);
  }
  l.push('faults:');
  for (const f of r.faults) {
    l.push(`  ${f.fault} on ${f.target}: applied ${iso(f.appliedAt)} (${f.applyMs.toFixed(2)} ms), removed ${iso(f.removedAt)}${f.removeMs !== null ? ` (${f.removeMs.toFixed(2)} ms)` : ''}`);
  }
  if (!r.faults.length) l.push('  none');
  l.push('activities:');
  for (const a of r.activities) l.push(`  ${a.type} ${a.name} [${a.provider}] ${a.error ? `error: ${a.error}` : a.result !== undefined ? `-> ${show(a.result)}` : ''}`);
  if (r.deviations.length) l.push('deviations:', ...r.deviations.map((d) => `  ${d}`));
  if (r.rollbackErrors.length) l.push('rollback errors:', ...r.rollbackErrors.map((d) => `  ${d}`));
  if (r.abortToRestoredMs !== null) l.push(`abort -> restored: ${r.abortToRestoredMs.toFixed(1)} ms`);
  return l.join('\n') + '\n';
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Probe values over time; each probe normalised to its own range (its min/max are in the legend). */
export function renderSvg(r: RunReport): string {
  const W = 800;
  const H = 360;
  const pad = { l: 50, r: 20, t: 30, b: 110 };
  const pw = W - pad.l - pad.r;
  const ph = H - pad.t - pad.b;
  const t0 = r.startedAt;
  const t1 = Math.max(r.endedAt, t0 + 1);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * pw;
  const toNum = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null);
  const series = new Map<string, { t: number; v: number; ok: boolean }[]>();
  for (const s of r.samples) {
    const v = toNum(s.value);
    if (v === null || !Number.isFinite(v)) continue;
    if (!series.has(s.name)) series.set(s.name, []);
    series.get(s.name)!.push({ t: s.t, v, ok: s.ok });
  }
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${pad.l}" y="18" font-size="13" font-weight="bold">${esc(r.title)} - ${esc(r.status)}</text>`);
  for (const f of r.faults) {
    const a = x(f.appliedAt);
    const b = x(f.removedAt ?? t1);
    out.push(`<rect x="${a.toFixed(1)}" y="${pad.t}" width="${Math.max(1, b - a).toFixed(1)}" height="${ph}" fill="#f4a" fill-opacity="0.08"><title>${esc(`${f.fault} on ${f.target}`)}</title></rect>`);
  }
  out.push(`<rect x="${pad.l}" y="${pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${pad.l}" y="${pad.t + ph + 14}">0 s</text><text x="${pad.l + pw}" y="${pad.t + ph + 14}" text-anchor="end">${((t1 - t0) / 1000).toFixed(1)} s</text>`);
  let i = 0;
  for (const [name, pts] of series) {
    const c = COLORS[i % COLORS.length];
    const lo = Math.min(...pts.map((p) => p.v));
    const hi = Math.max(...pts.map((p) => p.v));
    const y = (v: number) => pad.t + ph - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * ph;
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) if (!p.ok) out.push(`<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="3" fill="${c}" stroke="#000"/>`);
    out.push(`<text x="${pad.l}" y="${pad.t + ph + 32 + i * 14}" fill="${c}">${esc(name)}: ${lo.toPrecision(4)} .. ${hi.toPrecision(4)} (filled dots: out of tolerance)</text>`);
    i++;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
