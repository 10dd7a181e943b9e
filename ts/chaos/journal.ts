/**
 * The run journal: every fault that would outlive the runner (frozen
 * cgroups, changed limits, stress workers, qdiscs) is appended here BEFORE it
 * is applied, with what undoes it. A run whose process is
 * gone without an `end` record is repaired by `status --repair`, `abort`, or
 * the next run. bpf-link faults (XDP) are journaled too, for the report and
 * for target locking, but need no undo: the kernel detaches them with the
 * process.
 *
 * Durability: the runner dying (SIGKILL, OOM, a crash) is what the journal
 * guards against, and a record whose write(2) has returned is in the kernel's
 * page cache: it outlives the process without an fsync. An fsync only adds
 * protection against the OS itself going down, and that also takes every
 * fault the journal records with it (cgroup freeze and limits, qdiscs and
 * processes are volatile kernel state). So fault records are written, not
 * fsync'd, before the fault is applied: on a disk-backed state dir the fsync
 * was the largest share of the freeze latency (p95 ~7 ms under load). The
 * start/end records are still fsync'd (they are not on the fault path).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_STATE_DIR = '/run/omnitide/chaos';

export function stateDir(dir?: string): string {
  return dir ?? process.env.OMNITIDE_CHAOS_DIR ?? DEFAULT_STATE_DIR;
}

/** How to undo one fault without the process that applied it. */
export type Undo =
  | { kind: 'bpf-link' }
  /** in-process (the TCP proxy): gone with the runner */
  | { kind: 'in-process' }
  | { kind: 'thaw'; cgroup: string }
  | { kind: 'restore-files'; cgroup: string; files: Record<string, string> }
  | { kind: 'kill-marked'; marker: string }
  | { kind: 'tc-del'; iface: string; netns?: string };

export type JournalRecord =
  | { op: 'start'; t: number; pid: number; pidStart: string; title: string }
  | { op: 'intent'; t: number; id: number; fault: string; target: string; undo: Undo }
  | { op: 'applied'; t: number; id: number }
  | { op: 'removed'; t: number; id: number }
  | { op: 'end'; t: number; status: string }
  | { op: 'repaired'; t: number; undone: number; errors: string[] };

/** Field 22 of /proc/<pid>/stat (start time in ticks): a pid plus this identifies a process across pid reuse. */
export function processStart(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function alive(pid: number, start: string): boolean {
  return processStart(pid) === start;
}

export class Journal {
  readonly dir: string;
  #fd: number;

  private constructor(dir: string, fd: number) {
    this.dir = dir;
    this.#fd = fd;
  }

  static create(root: string, runId: string): Journal {
    const dir = join(root, 'runs', runId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(join(dir, 'journal.jsonl'), 'a', 0o600);
    return new Journal(dir, fd);
  }

  /** Appends one record; `durable` also fsyncs it (the start and end of a run). */
  append(r: JournalRecord, durable = true): void {
    writeSync(this.#fd, JSON.stringify(r) + '\n');
    if (durable) fsyncSync(this.#fd);
  }

  /** Appends records with one write(2) (a batch of intents before it is applied). */
  appendMany(rs: JournalRecord[]): void {
    if (rs.length) writeSync(this.#fd, rs.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  sync(): void {
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

export function readRecords(runDir: string): JournalRecord[] {
  let text: string;
  try {
    text = readFileSync(join(runDir, 'journal.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: JournalRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch {
      // a torn last line from a crash mid-write: the fault after it was never applied (its intent is written first)
    }
  }
  return out;
}

export interface RunState {
  runId: string;
  dir: string;
  title: string;
  pid: number;
  running: boolean;
  ended: boolean;
  status: string | null;
  /** faults applied (or possibly applied) and not removed */
  outstanding: Extract<JournalRecord, { op: 'intent' }>[];
  repaired: boolean;
}

export function runState(root: string, runId: string): RunState {
  const dir = join(root, 'runs', runId);
  const recs = readRecords(dir);
  const start = recs.find((r) => r.op === 'start') as Extract<JournalRecord, { op: 'start' }> | undefined;
  const removed = new Set(recs.filter((r) => r.op === 'removed').map((r) => (r as { id: number }).id));
  const end = recs.find((r) => r.op === 'end') as Extract<JournalRecord, { op: 'end' }> | undefined;
  const repaired = recs.some((r) => r.op === 'repaired');
  const running = !!start && !end && alive(start.pid, start.pidStart);
  const intents = recs.filter((r) => r.op === 'intent') as Extract<JournalRecord, { op: 'intent' }>[];
  const lastRepair = recs.map((r, i) => (r.op === 'repaired' ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  // intents before the last repair were undone by it
  const outstanding = intents.filter((r) => !removed.has(r.id) && recs.indexOf(r) > lastRepair);
  return {
    runId,
    dir,
    title: start?.title ?? '?',
    pid: start?.pid ?? 0,
    running,
    ended: !!end,
    status: end?.status ?? (running ? 'running' : 'crashed'),
    outstanding,
    repaired,
  };
}

export function listRuns(root: string): RunState[] {
  const runs = join(root, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .sort()
    .map((id) => runState(root, id));
}
