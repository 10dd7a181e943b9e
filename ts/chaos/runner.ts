/**
 * The runner: steady-state hypothesis before -> method -> hypothesis after ->
 * rollbacks, with blast radius and target checks before anything is applied,
 * abort conditions and the kill switch watched continuously while the method
 * runs, progressive rollout, and removal of every fault on every way out.
 */
import { existsSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OmniError } from '../errors.js';
import { loggerFor, type Logger } from '../logger.js';
import { cgroup } from '../kernel/index.js';
import { FaultEngine } from './faults.js';
import { plan } from './plan.js';
import { isFault, preflight } from './preflight.js';
import { Journal, processStart, stateDir } from './journal.js';
import { loadExperiment } from './load.js';
import { runProbe, within } from './probes.js';
import { repair } from './control.js';
import { renderSvg, renderSummary } from './report.js';
import type { Activity, Experiment, FaultProvider, Probe } from './schema.js';

export interface RunOptions {
  /** where runs, journals, kill switches and reports live (default $OMNITIDE_CHAOS_DIR or /run/omnitide/chaos) */
  stateDir?: string;
  /** configuration overrides for `${var}` substitution */
  vars?: Record<string, unknown>;
  /** stops the run (like the kill switch) */
  signal?: AbortSignal;
  /** roll back and stop on SIGINT/SIGTERM (default true) */
  handleSignals?: boolean;
  logger?: Logger;
  /** called for every probe sample (live views) */
  onSample?: (s: Sample) => void;
  /** signs the report and appends it to an omnitide/ledger log (opt-in) */
  audit?: (report: RunReport) => Promise<Record<string, unknown>>;
}

export interface ProbeOutcome {
  name: string;
  value: unknown;
  ok: boolean;
  error?: string;
}

export interface Sample {
  t: number;
  phase: 'before' | 'method' | 'rollout' | 'abort-check' | 'after';
  name: string;
  value: unknown;
  ok: boolean;
}

export interface FaultEvent {
  id: number;
  fault: string;
  target: string;
  appliedAt: number;
  removedAt: number | null;
  applyMs: number;
  removeMs: number | null;
}

export type RunStatus = 'completed' | 'deviated' | 'aborted' | 'failed';

export interface RunReport {
  runId: string;
  title: string;
  description?: string;
  status: RunStatus;
  /** why the run aborted or failed */
  reason: string | null;
  startedAt: number;
  endedAt: number;
  hypothesisBefore: { met: boolean; probes: ProbeOutcome[] } | null;
  hypothesisAfter: { met: boolean; probes: ProbeOutcome[] } | null;
  activities: { name: string; type: string; provider: string; startedAt: number; endedAt: number; result?: unknown; error?: string }[];
  faults: FaultEvent[];
  deviations: string[];
  samples: Sample[];
  rollbackErrors: string[];
  /** ms from the abort decision to every fault removed (when aborted) */
  abortToRestoredMs: number | null;
  runDir: string;
  audit?: Record<string, unknown>;
}

class Aborted extends Error {}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted(String(signal.reason)));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted(String(signal.reason)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves with `p`, or rejects as soon as the run is aborted. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Aborted(String(signal.reason)));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Aborted(String(signal.reason)));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

async function runAction(a: Activity & { type: 'action' }, signal: AbortSignal): Promise<unknown> {
  const p = a.provider;
  switch (p.type) {
    case 'signal': {
      const { targets } = await plan({ ...p, type: 'cgroup-freeze' } as FaultProvider, a.name);
      let n = 0;
      for (const t of targets) {
        for (const pid of cgroup.open(t.slice('cgroup:'.length)).processes()) {
          try {
            process.kill(pid, p.signal ?? 'SIGKILL');
            n++;
          } catch {
            /* exited meanwhile */
          }
        }
      }
      return { signalled: n };
    }
    case 'process':
    case 'http':
    case 'function': {
      const r = await raceAbort(runProbe(p), signal);
      if (r.error) throw new OmniError('ERR_OMNI_ACTION_FAILED', `action '${a.name}': ${r.error}`);
      if (p.type === 'process' && (p.measure ?? 'exitCode') === 'exitCode' && r.value !== 0) throw new OmniError('ERR_OMNI_ACTION_FAILED', `action '${a.name}': exited with ${String(r.value)}`);
      return r.value;
    }
    default:
      throw new OmniError('ERR_OMNI_INTERNAL', `action type ${p.type} is not a plain action`);
  }
}

const newRunId = () => `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;

/** Runs an experiment (object, builder output, or a JSON/YAML file path). */
export async function runExperiment(source: Experiment | object | string, opts: RunOptions = {}): Promise<RunReport> {
  const exp = loadExperiment(source as string | object, opts.vars ?? {});
  const log = loggerFor('chaos', opts.logger).child({ experiment: exp.title });
  const root = stateDir(opts.stateDir);
  // "the next run" undoes whatever a crashed runner left behind
  const repaired = await repair(root);
  if (repaired.undone) log.warn({ repaired }, 'repaired faults left by a crashed run');
  const planned = await preflight(exp, root);

  const runId = newRunId();
  const engine = new FaultEngine(null, runId);
  // attaching the (empty) XDP filters is the last check: an interface someone else filters is refused here
  await engine.prepare(planned.map((p) => p.plan));
  let journal: Journal;
  try {
    journal = Journal.create(root, runId);
  } catch (e) {
    engine.close();
    throw new OmniError('ERR_OMNI_IO', `stateDir: cannot create the run journal under ${root}: ${(e as Error).message}`, { cause: e });
  }
  engine.useJournal(journal);
  const runDir = journal.dir;
  journal.append({ op: 'start', t: Date.now(), pid: process.pid, pidStart: processStart(process.pid) ?? '', title: exp.title });
  writeFileSync(join(runDir, 'experiment.json'), JSON.stringify(exp, (_k, v) => (typeof v === 'function' ? '[function]' : v), 2));
  const ctl = new AbortController();
  const signal = ctl.signal;
  let abortedAt = 0;
  const abort = (reason: string) => {
    if (signal.aborted) return;
    abortedAt = performance.now();
    log.warn({ reason }, 'aborting');
    ctl.abort(reason);
  };

  const report: RunReport = {
    runId,
    title: exp.title,
    ...(exp.description ? { description: exp.description } : {}),
    status: 'completed',
    reason: null,
    startedAt: Date.now(),
    endedAt: 0,
    hypothesisBefore: null,
    hypothesisAfter: null,
    activities: [],
    faults: [],
    deviations: [],
    samples: [],
    rollbackErrors: [],
    abortToRestoredMs: null,
    runDir,
  };
  const sample = (phase: Sample['phase'], name: string, value: unknown, ok: boolean) => {
    const s: Sample = { t: Date.now(), phase, name, value, ok };
    report.samples.push(s);
    opts.onSample?.(s);
  };
  const hypothesis = async (phase: 'before' | 'after' | 'rollout') => {
    const probes = exp['steady-state-hypothesis']?.probes ?? [];
    const out: ProbeOutcome[] = [];
    for (const p of probes) {
      const r = await raceAbort(runProbe(p.provider), signal);
      const ok = !r.error && within(p.tolerance, r.value);
      sample(phase, p.name, r.value, ok);
      out.push({ name: p.name, value: r.value, ok, ...(r.error ? { error: r.error } : {}) });
    }
    return { met: out.every((o) => o.ok), probes: out };
  };

  const onSignal = (sig: NodeJS.Signals) => abort(`received ${sig}`);
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const onExternal = () => abort(`aborted by caller: ${String(opts.signal?.reason ?? '')}`);
  opts.signal?.addEventListener('abort', onExternal, { once: true });
  if (opts.signal?.aborted) onExternal();
  // the kill switch: `omnitide chaos abort` creates this file
  const killSwitch = join(runDir, 'abort');
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(runDir, () => {
      if (existsSync(killSwitch)) abort('kill switch (omnitide chaos abort)');
    });
  } catch {
    /* polling below still sees it */
  }

  const interval = exp.safety?.probeIntervalMs ?? 500;
  const conditions: Probe[] = exp.safety?.abortConditions ?? [];
  let monitorStop = false;
  let methodRunning = false;
  let wakeMonitor = () => {};
  const monitor = (async () => {
    while (!monitorStop && !signal.aborted) {
      const t0 = Date.now();
      if (existsSync(killSwitch)) abort('kill switch (omnitide chaos abort)');
      if (methodRunning) {
        const results = await Promise.all(conditions.map(async (c) => ({ c, r: await runProbe(c.provider) })));
        for (const { c, r } of results) {
          const ok = !r.error && within(c.tolerance, r.value);
          sample('abort-check', c.name, r.value, ok);
          if (!ok && methodRunning && !monitorStop) abort(`abort condition '${c.name}' violated (value ${JSON.stringify(r.value)}${r.error ? `, ${r.error}` : ''})`);
        }
      }
      if (monitorStop) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(5, interval - (Date.now() - t0)));
        wakeMonitor = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  })();

  try {
    report.hypothesisBefore = await hypothesis('before');
    if (!report.hypothesisBefore.met) {
      report.status = 'failed';
      report.reason = `steady state not met before the method: ${report.hypothesisBefore.probes.filter((p) => !p.ok).map((p) => p.name).join(', ')}`;
    } else {
      methodRunning = true;
      const rollout = exp.safety?.rollout;
      for (const [i, a] of exp.method.entries()) {
        const rec: RunReport['activities'][number] = { name: a.name, type: a.type, provider: a.provider.type, startedAt: Date.now(), endedAt: 0 };
        report.activities.push(rec);
        await abortableSleep((a.pauses?.before ?? 0) * 1000, signal);
        try {
          if (isFault(a)) {
            const p = planned.find((x) => x.index === i)!.plan;
            let done = 0;
            let step = rollout ? Math.min(rollout.initial ?? 1, p.targets.length) : p.targets.length;
            while (done < p.targets.length) {
              if (signal.aborted) throw new Aborted(String(signal.reason));
              await engine.apply(p, p.targets.slice(done, done + step));
              done += step;
              if (rollout && done < p.targets.length) {
                await abortableSleep(rollout.pauseMs ?? 0, signal);
                const h = await hypothesis('rollout');
                if (!h.met) {
                  const msg = `steady state lost during progressive rollout of '${a.name}' after ${done} of ${p.targets.length} targets`;
                  report.deviations.push(msg);
                  abort(msg);
                  throw new Aborted(msg);
                }
                step = Math.min(p.targets.length - done, Math.ceil(done * (rollout.factor ?? 2)) - done);
              }
            }
            rec.result = { targets: p.targets.length };
          } else if (a.type === 'probe') {
            const r = await raceAbort(runProbe(a.provider), signal);
            const ok = !r.error && within(a.tolerance, r.value);
            sample('method', a.name, r.value, ok);
            rec.result = r.value;
            if (r.error) rec.error = r.error;
          } else {
            rec.result = await runAction(a as Activity & { type: 'action' }, signal);
          }
        } finally {
          rec.endedAt = Date.now();
        }
        await abortableSleep((a.pauses?.after ?? 0) * 1000, signal);
      }
      methodRunning = false;
      report.hypothesisAfter = await hypothesis('after');
      if (!report.hypothesisAfter.met) {
        report.status = 'deviated';
        for (const p of report.hypothesisAfter.probes.filter((x) => !x.ok)) report.deviations.push(`probe '${p.name}' out of tolerance after the method: ${JSON.stringify(p.value)}${p.error ? ` (${p.error})` : ''}`);
      }
    }
  } catch (e) {
    if (e instanceof Aborted || signal.aborted) {
      report.status = 'aborted';
      report.reason = String(signal.reason ?? (e as Error).message);
    } else {
      report.status = 'failed';
      report.reason = (e as Error).message;
      const last = report.activities[report.activities.length - 1];
      if (last && last.endedAt && !last.error) last.error = (e as Error).message;
    }
  } finally {
    methodRunning = false;
    monitorStop = true;
    wakeMonitor();
    report.rollbackErrors.push(...(await engine.removeAll()));
    if (report.status === 'aborted') report.abortToRestoredMs = performance.now() - abortedAt;
    await engine.closeAsync();
    for (const [i, a] of (exp.rollbacks ?? []).entries()) {
      try {
        if (a.type === 'probe') await runProbe(a.provider);
        else await runAction(a as Activity & { type: 'action' }, new AbortController().signal);
      } catch (e) {
        report.rollbackErrors.push(`rollbacks[${i}] '${a.name}': ${(e as Error).message}`);
      }
    }
    await monitor;
    watcher?.close();
    opts.signal?.removeEventListener('abort', onExternal);
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    report.faults = engine.applied.map((f) => ({
      id: f.id,
      fault: f.fault,
      target: f.target,
      appliedAt: f.appliedAt,
      removedAt: f.removedAt ?? null,
      applyMs: f.applyMs,
      removeMs: f.removeMs ?? null,
    }));
    report.endedAt = Date.now();
    journal.append({ op: 'end', t: report.endedAt, status: report.status });
    journal.close();
    if (opts.audit) {
      try {
        report.audit = await opts.audit(report);
      } catch (e) {
        report.rollbackErrors.push(`audit: ${(e as Error).message}`);
      }
    }
    writeReportFiles(report);
  }
  return report;
}

export function writeReportFiles(report: RunReport): void {
  writeFileSync(join(report.runDir, 'report.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(report.runDir, 'report.txt'), renderSummary(report));
  writeFileSync(join(report.runDir, 'report.svg'), renderSvg(report));
}
