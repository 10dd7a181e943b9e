/**
 * Control from outside the runner: `status` (runs, outstanding faults),
 * `repair` (undo the journaled faults of runs whose process is gone) and
 * `abort` (the kill switch: a file the runner watches; a dead runner's faults
 * are repaired directly).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OmniError } from '../errors.js';
import { cgroup } from '../kernel/index.js';
import { cgroupFs, undo } from './system.js';
import { Journal, listRuns, runState, stateDir, type RunState } from './journal.js';

export interface RepairResult {
  runs: string[];
  undone: number;
  errors: string[];
}

/** Undoes every outstanding fault of every run whose runner is gone. */
export async function repair(dir?: string): Promise<RepairResult> {
  const root = stateDir(dir);
  const res: RepairResult = { runs: [], undone: 0, errors: [] };
  for (const r of listRuns(root)) {
    if (r.running || r.outstanding.length === 0) continue;
    const { undone, errors } = await undoOutstanding(r.outstanding);
    const j = Journal.create(root, r.runId);
    j.append({ op: 'repaired', t: Date.now(), undone, errors });
    if (!r.ended) j.append({ op: 'end', t: Date.now(), status: 'crashed-repaired' });
    j.close();
    res.runs.push(r.runId);
    res.undone += undone;
    res.errors.push(...errors);
  }
  return res;
}

type Outstanding = RunState['outstanding'][number];

/**
 * Undoes faults newest first, the reverse of application. A run of
 * consecutive cgroup thaws (a crashed run that froze many targets) goes to one
 * `thawMany` call instead of one wait per cgroup; if that batch is refused
 * (say a cgroup vanished meanwhile), each is undone on its own so every error
 * names its fault.
 */
async function undoOutstanding(outstanding: Outstanding[]): Promise<{ undone: number; errors: string[] }> {
  const errors: string[] = [];
  let undone = 0;
  const one = async (o: Outstanding) => {
    try {
      await undo(o.undo);
      undone++;
    } catch (e) {
      errors.push(`${o.fault} on ${o.target}: ${(e as Error).message}`);
    }
  };
  let thaws: Outstanding[] = [];
  const flushThaws = async () => {
    const batch = thaws;
    thaws = [];
    if (batch.length < 2) {
      for (const o of batch) await one(o);
      return;
    }
    // a cgroup frozen twice is thawed once; one already removed has nothing left to undo
    const paths = [...new Set(batch.map((o) => (o.undo as { cgroup: string }).cgroup))].filter((p) => existsSync(cgroupFs(p)));
    try {
      if (paths.length) await cgroup.thawMany(paths);
      undone += batch.length;
    } catch {
      for (const o of batch) await one(o);
    }
  };
  for (const o of [...outstanding].reverse()) {
    if (o.undo.kind === 'thaw') {
      thaws.push(o);
      continue;
    }
    await flushThaws();
    await one(o);
  }
  await flushThaws();
  return { undone, errors };
}

export interface Status {
  /** true when no run is live and no fault is outstanding */
  clean: boolean;
  runs: (Omit<RunState, 'outstanding' | 'dir'> & { outstanding: { fault: string; target: string; undo: string }[] })[];
}

export function status(dir?: string, opts: { all?: boolean } = {}): Status {
  const runs = listRuns(stateDir(dir))
    .filter((r) => opts.all || r.running || r.outstanding.length > 0)
    .map(({ dir: _d, outstanding, ...rest }) => ({ ...rest, outstanding: outstanding.map((o) => ({ fault: o.fault, target: o.target, undo: o.undo.kind })) }));
  return { clean: runs.every((r) => !r.running && r.outstanding.length === 0), runs };
}

/**
 * Pulls the kill switch of one run (or of every live run) and waits until
 * each has rolled back; runs whose process is gone are repaired here.
 */
export async function abort(dir?: string, opts: { runId?: string; timeoutMs?: number } = {}): Promise<{ aborted: string[]; repaired: RepairResult }> {
  const root = stateDir(dir);
  const targets = opts.runId ? [runState(root, opts.runId)] : listRuns(root).filter((r) => r.running);
  if (opts.runId && !existsSync(join(root, 'runs', opts.runId))) throw new OmniError('ERR_OMNI_NOT_FOUND', `runId: no run '${opts.runId}' under ${root}`);
  const live = targets.filter((r) => r.running);
  for (const r of live) writeFileSync(join(r.dir, 'abort'), `${Date.now()}\n`);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (const r of live) {
    while (runState(root, r.runId).running) {
      if (Date.now() > deadline) throw new OmniError('ERR_OMNI_TIMEOUT', `run ${r.runId} (pid ${r.pid}) did not roll back within ${opts.timeoutMs ?? 30_000} ms; kill it and run 'omnitide chaos status --repair'`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  return { aborted: live.map((r) => r.runId), repaired: await repair(root) };
}
