/**
 * Probes (HTTP, TCP connect, process, JS function, cgroup metrics) and
 * tolerances (exact, [lo, hi] range, regex, predicate).
 */
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { cgroup } from '../kernel/index.js';
import type { ProbeProvider, Tolerance } from './schema.js';

export interface ProbeResult {
  value: unknown;
  error?: string;
}

interface HttpOutcome {
  ok: boolean;
  status: number;
  body: string;
  ms: number;
}

function oneHttp(p: Extract<ProbeProvider, { type: 'http' }>, timeoutMs: number): Promise<HttpOutcome> {
  const u = new URL(p.url);
  const req = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Omit<HttpOutcome, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...o, ms: performance.now() - t0 });
    };
    // agent:false: every request opens its own connection, so packet loss on the handshake is measured too
    const r = req(u, { method: p.method ?? 'GET', headers: p.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => finish({ ok: false, status: 0, body: e.message }));
    });
    const timer = setTimeout(() => {
      r.destroy(new Error('timeout'));
      finish({ ok: false, status: 0, body: 'timeout' });
    }, timeoutMs);
    r.on('error', (e) => finish({ ok: false, status: 0, body: e.message }));
    r.end(p.body);
  });
}

function percentile(sorted: number[], pct: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((pct / 100) * sorted.length) - 1));
  return sorted[i];
}

async function httpProbe(p: Extract<ProbeProvider, { type: 'http' }>): Promise<ProbeResult> {
  const timeoutMs = p.timeoutMs ?? 5000;
  const n = p.requests ?? 1;
  const conc = Math.min(p.concurrency ?? 1, n);
  const outcomes: HttpOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        next++;
        outcomes.push(await oneHttp(p, timeoutMs));
      }
    }),
  );
  const measure = p.measure ?? (n > 1 ? 'latency' : 'status');
  const failed = outcomes.filter((o) => !o.ok);
  switch (measure) {
    case 'status':
      return outcomes[0].ok ? { value: outcomes[0].status } : { value: null, error: outcomes[0].body };
    case 'body':
      return outcomes[0].ok ? { value: outcomes[0].body } : { value: null, error: outcomes[0].body };
    case 'errors':
      return { value: failed.length / n };
    case 'latency': {
      const lat = outcomes.map((o) => (o.ok ? o.ms : timeoutMs)).sort((a, b) => a - b);
      return { value: percentile(lat, p.percentile ?? 95) };
    }
  }
}

function tcpProbe(p: Extract<ProbeProvider, { type: 'tcp' }>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ host: p.host, port: p.port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ value: false, error: 'timeout' });
    }, p.timeoutMs ?? 2000);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ value: true });
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      resolve({ value: false, error: e.message });
    });
  });
}

function processProbe(p: Extract<ProbeProvider, { type: 'process' }>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(p.path, (p.arguments ?? []).map(String), { timeout: p.timeoutMs ?? 30_000, encoding: 'utf8' }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      if (p.measure === 'stdout') resolve({ value: stdout, ...(err && code === null ? { error: err.message } : {}) });
      else resolve(code === null ? { value: null, error: err!.message } : { value: code });
    });
  });
}

function cgroupProbe(p: Extract<ProbeProvider, { type: 'cgroup' }>): ProbeResult {
  const s = cgroup.open(p.path).stats();
  const parts = p.metric.split('.');
  let v: unknown = s;
  for (const k of parts) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[k];
  return v === undefined ? { value: null, error: `metric '${p.metric}' is not available for ${p.path}` } : { value: v };
}

/** Runs one probe; a failing probe yields a value of null and an error instead of throwing. */
export async function runProbe(p: ProbeProvider): Promise<ProbeResult> {
  try {
    switch (p.type) {
      case 'http':
        return await httpProbe(p);
      case 'tcp':
        return await tcpProbe(p);
      case 'process':
        return await processProbe(p);
      case 'cgroup':
        return cgroupProbe(p);
      case 'function':
        return { value: await p.fn() };
    }
  } catch (e) {
    return { value: null, error: (e as Error).message };
  }
}

/** Whether `value` lies within `tol` (a missing tolerance accepts anything but an error). */
export function within(tol: Tolerance | undefined, value: unknown): boolean {
  if (tol === undefined) return true;
  if (typeof tol === 'function') {
    try {
      return !!tol(value);
    } catch {
      return false;
    }
  }
  if (Array.isArray(tol)) return typeof value === 'number' && value >= tol[0] && value <= tol[1];
  if (typeof tol === 'object') {
    if (tol.type === 'range') return typeof value === 'number' && value >= tol.range[0] && value <= tol.range[1];
    if (tol.type === 'regex') return typeof value === 'string' && new RegExp(tol.pattern).test(value);
    return JSON.stringify(value) === JSON.stringify(tol.value);
  }
  return value === tol;
}
