import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Scheduler } from '../scheduler/index.js';
import { type CommandGroup, hex, out, parse, printJson, UsageError } from './command.js';

/** A file to hash, or a path that was skipped and why. */
type Entry = { file: string } | { file: string; error: string };

function isInside(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Every file under `roots`. Symbolic links are followed only when their
 * target stays inside one of the roots (unless `followOutside`); a link that
 * leaves the tree, dangles or loops becomes an error entry for that path and
 * the walk goes on. Directories already visited (by device and inode) are not
 * entered twice, so link cycles end.
 */
function walk(roots: string[], followOutside: boolean): Entry[] {
  const out: Entry[] = [];
  const seen = new Set<string>();
  const realRoots = roots.map((r) => {
    try {
      return realpathSync(r);
    } catch {
      return resolve(r);
    }
  });
  const visit = (p: string, top: boolean) => {
    let st: Stats;
    try {
      st = lstatSync(p);
      if (st.isSymbolicLink()) {
        const target = realpathSync(p); // ELOOP, ENOENT: reported below
        if (!top && !followOutside && !realRoots.some((r) => isInside(r, target))) {
          out.push({ file: p, error: `symbolic link to '${target}' leaves the tree (pass --follow-symlinks to hash it)` });
          return;
        }
        st = statSync(p);
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ELOOP' ? 'symbolic link loop' : err.code === 'ENOENT' ? 'no such file (or a dangling symbolic link)' : err.message;
      out.push({ file: p, error: why });
      return;
    }
    if (!st.isDirectory()) {
      out.push({ file: p });
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    let names: string[];
    try {
      names = readdirSync(p).sort();
    } catch (e) {
      out.push({ file: p, error: (e as Error).message });
      return;
    }
    for (const n of names) visit(join(p, n), false);
  };
  for (const r of roots) visit(r, true);
  return out;
}

function threadsArg(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads: expected a positive integer, got '${v}'`);
  return n;
}

export const schedulerCommands: CommandGroup = {
  summary: 'work-stealing scheduler: run tasks from a module, hash many files natively',
  commands: {
    run: {
      summary: 'run one task of a task module (input as JSON) and print its result',
      usage: `omnitide scheduler run MODULE TASK [INPUT_JSON] [--timeout MS] [--threads N] [--json]`,
      async run(argv) {
        const { values, positionals } = parse(argv, { timeout: { type: 'string' }, threads: { type: 'string' } });
        const [mod, task, input] = positionals;
        if (!mod || !task) throw new UsageError('MODULE and TASK are required');
        let data: unknown;
        try {
          data = input === undefined ? undefined : JSON.parse(input);
        } catch (e) {
          throw new UsageError(`INPUT_JSON: ${(e as Error).message}`);
        }
        const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
        const s = new Scheduler({ tasks: mod, threads: threadsArg(values.threads) ?? 1 });
        try {
          const r = await s.run(task, data, timeoutMs ? { timeoutMs } : undefined);
          if (values.json) printJson({ task, result: r });
          else out(typeof r === 'string' ? r : JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
          return 0;
        } finally {
          await s.close({ graceMs: 1000 });
        }
      },
    },
    'hash-files': {
      summary: 'BLAKE3 of every file under the given paths, as native tasks on the pool',
      usage: `omnitide scheduler hash-files PATH... [--threads N] [--follow-symlinks] [--json]
  Symbolic links are followed only while they stay inside the given PATHs (--follow-symlinks: always).
  A path that cannot be hashed (unreadable, a link loop, a link out of the tree, not a regular file)
  is reported on stderr and the others are still hashed; the exit code is then 1.`,
      async run(argv) {
        const { values, positionals } = parse(argv, { threads: { type: 'string' }, 'follow-symlinks': { type: 'boolean' } });
        if (positionals.length === 0) throw new UsageError('at least one PATH is required');
        const entries = walk(positionals, !!values['follow-symlinks']);
        const files = entries.filter((e) => !('error' in e)).map((e) => e.file);
        const s = new Scheduler({ threads: threadsArg(values.threads) });
        let failed = 0;
        const bad = (file: string, why: string) => {
          failed++;
          if (values.json) printJson({ file, error: why });
          else process.stderr.write(`omnitide scheduler hash-files: ${file}: ${why}\n`);
        };
        try {
          const res = await s.native.hashFiles(files);
          let k = 0;
          for (const e of entries) {
            if ('error' in e) {
              bad(e.file, e.error);
              continue;
            }
            const r = res[k++];
            if (!r.ok) bad(e.file, r.error.message);
            else if (values.json) printJson({ file: e.file, blake3: hex(r.hash) });
            else out(`${hex(r.hash)}  ${e.file}`);
          }
        } finally {
          await s.close({ mode: 'cancel', graceMs: 500 });
        }
        return failed ? 1 : 0;
      },
    },
  },
};
