import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Scheduler } from '../scheduler/index.js';
import { OmniError } from '../errors.js';
import { type CommandGroup, hex, out, parse, printJson, UsageError } from './command.js';

function walk(paths: string[]): string[] {
  const files: string[] = [];
  const visit = (p: string) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
    else files.push(p);
  };
  paths.forEach(visit);
  return files;
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
      usage: `omnitide scheduler hash-files PATH... [--threads N] [--json]`,
      async run(argv) {
        const { values, positionals } = parse(argv, { threads: { type: 'string' } });
        if (positionals.length === 0) throw new UsageError('at least one PATH is required');
        const files = walk(positionals);
        const s = new Scheduler({ threads: threadsArg(values.threads) });
        let failed = 0;
        try {
          const res = await s.native.hashFiles(files);
          res.forEach((r, i) => {
            if (r instanceof OmniError) {
              failed++;
              process.stderr.write(`omnitide scheduler hash-files: ${r.message}\n`);
            } else if (values.json) printJson({ file: files[i], blake3: hex(r) });
            else out(`${hex(r)}  ${files[i]}`);
          });
        } finally {
          await s.close({ mode: 'cancel', graceMs: 500 });
        }
        return failed ? 1 : 0;
      },
    },
  },
};
