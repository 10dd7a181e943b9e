/**
 * Host-side helpers of the chaos engine: interface lookup (also inside named
 * network namespaces), qdisc detection, `tc`, cgroupfs paths, and the undo of
 * journaled faults without the process that applied them (repair).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OmniError } from '../errors.js';
import { cgroup } from '../kernel/index.js';
import type { Undo } from './journal.js';

/** `execFile`, promisified (typed plainly so the declarations need no node:child_process). */
export const run: (file: string, args: readonly string[]) => Promise<{ stdout: string; stderr: string }> = promisify(execFile);

/** 'NETNS/IFACE' -> [netns, iface]; 'IFACE' -> [null, iface] */
export function splitIface(ref: string): [string | null, string] {
  const i = ref.indexOf('/');
  return i < 0 ? [null, ref] : [ref.slice(0, i), ref.slice(i + 1)];
}

export function ifaceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export async function ifaceExistsIn(netns: string, name: string): Promise<boolean> {
  try {
    await run('ip', ['-n', netns, 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

const qdiscCache = new Map<string, Promise<{ ok: boolean; detail: string }>>();
const QDISC_TRY: Record<string, string[]> = { netem: ['netem', 'delay', '1ms'], tbf: ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms'] };

/**
 * Whether this kernel has qdisc `kind` ('netem' or 'tbf'): tried on a veth
 * inside a throwaway namespace (never on a real interface), then the
 * namespace is removed. Cached per process.
 */
export function qdiscAvailable(kind: 'netem' | 'tbf'): Promise<{ ok: boolean; detail: string }> {
  let p = qdiscCache.get(kind);
  if (!p) {
    p = (async () => {
      const ns = `omni-chaos-nq-${process.pid}-${kind}`;
      try {
        await run('ip', ['netns', 'add', ns]);
        await run('ip', ['-n', ns, 'link', 'add', 'nq0', 'type', 'veth', 'peer', 'name', 'nq1']);
        await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'nq0', 'root', ...QDISC_TRY[kind]]);
        return { ok: true, detail: `${kind} qdisc available` };
      } catch (e) {
        return { ok: false, detail: String((e as { stderr?: string }).stderr ?? (e as Error).message).trim() };
      } finally {
        await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      }
    })();
    qdiscCache.set(kind, p);
  }
  return p;
}

export const netemAvailable = (): Promise<{ ok: boolean; detail: string }> => qdiscAvailable('netem');

export function cgroupFs(path: string): string {
  return join(cgroup.root(), path);
}

export async function tc(args: string[], netns?: string): Promise<void> {
  try {
    if (netns) await run('ip', ['netns', 'exec', netns, 'tc', ...args]);
    else await run('tc', args);
  } catch (e) {
    throw new OmniError('ERR_OMNI_IO', `tc ${args.join(' ')}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, { cause: e });
  }
}

export function restoreFiles(cg: string, files: Record<string, string>): void {
  const dir = cgroupFs(cg);
  for (const [f, v] of Object.entries(files)) {
    try {
      // io.max takes one device line per write
      if (f === 'io.max') for (const line of v.split('\n')) writeFileSync(join(dir, f), line);
      else writeFileSync(join(dir, f), v);
    } catch (e) {
      if (existsSync(dir)) throw new OmniError('ERR_OMNI_IO', `restoring ${f} of cgroup ${cg}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** SIGKILLs every process whose command line carries `marker` (stress workers of a run). */
export function killMarked(marker: string): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(marker)) {
        process.kill(Number(d), 'SIGKILL');
        n++;
      }
    } catch {
      /* gone */
    }
  }
  return n;
}

/** Undoes one journaled fault without the process that applied it. */
export async function undo(u: Undo): Promise<void> {
  switch (u.kind) {
    case 'bpf-link':
    case 'in-process':
      return; // the kernel detached it (or it ended) with its owner
    case 'thaw':
      if (existsSync(cgroupFs(u.cgroup))) await cgroup.open(u.cgroup).thaw();
      return;
    case 'restore-files':
      restoreFiles(u.cgroup, u.files);
      return;
    case 'kill-marked':
      killMarked(u.marker);
      return;
    case 'tc-del':
      try {
        await tc(['qdisc', 'del', 'dev', u.iface, 'root'], u.netns);
      } catch {
        // already gone (interface or namespace removed, or the qdisc never added)
      }
      return;
  }
}
