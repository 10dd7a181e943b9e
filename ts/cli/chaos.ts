import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OmniError } from '../errors.js';
import { abort, check, readExperimentFile, renderSummary, repair, runExperiment, stateDir, status, type RunReport } from '../chaos/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';

const STATE = `  --state-dir DIR   runs, journals and kill switches (default $OMNITIDE_CHAOS_DIR or /run/omnitide/chaos)`;

function vars(list: string[] | undefined): Record<string, string> {
  const v: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--var expects NAME=VALUE, got '${kv}'`);
    v[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return v;
}

const run: Command = {
  summary: 'run an experiment (JSON or YAML); every fault is rolled back on every way out',
  usage: `omnitide chaos run FILE [--var NAME=VALUE]... [--state-dir DIR] [--json]
  Prints the summary (its 'run:' line names the run id and directory). Exit code 0 when the steady
  state held, 1 when it deviated, was aborted or failed. SIGINT/SIGTERM roll back and stop; from
  another shell, 'omnitide chaos abort' does the same.
${STATE}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { var: { type: 'string', multiple: true }, 'state-dir': { type: 'string' } });
    const file = positionals[0];
    if (!file) throw new UsageError('missing FILE');
    const report = await runExperiment(file, {
      stateDir: values['state-dir'],
      vars: vars(values.var),
    });
    if (values.json) printJson(report);
    else out(renderSummary(report).trimEnd());
    return report.status === 'completed' ? 0 : 1;
  },
};

const validate: Command = {
  summary: 'check an experiment file; lists every problem with its JSON path',
  usage: `omnitide chaos validate FILE [--var NAME=VALUE]... [--json]`,
  async run(argv) {
    const { values, positionals } = parse(argv, { var: { type: 'string', multiple: true } });
    const file = positionals[0];
    if (!file) throw new UsageError('missing FILE');
    const r = check(readExperimentFile(file), vars(values.var));
    if (values.json) printJson({ valid: r.problems.length === 0, problems: r.problems });
    else if (!r.problems.length) out(`${file}: valid (${r.experiment!.method.length} method activities)`);
    else for (const p of r.problems) out(`${p.path || '(root)'}: ${p.message}`);
    return r.problems.length ? 1 : 0;
  },
};

const statusCmd: Command = {
  summary: 'live runs and faults left outstanding; --repair undoes those of crashed runners',
  usage: `omnitide chaos status [--repair] [--all] [--state-dir DIR] [--json]
  Exit code 0 when clean (no live run, nothing outstanding), 1 otherwise.
${STATE}`,
  async run(argv) {
    const { values } = parse(argv, { repair: { type: 'boolean' }, all: { type: 'boolean' }, 'state-dir': { type: 'string' } });
    const dir = values['state-dir'];
    const repaired = values.repair ? await repair(dir) : null;
    const s = status(dir, { all: values.all });
    if (values.json) printJson({ ...s, ...(repaired ? { repaired } : {}) });
    else {
      if (repaired) out(`repaired ${repaired.undone} fault(s) of ${repaired.runs.length} crashed run(s)${repaired.errors.length ? `; errors: ${repaired.errors.join('; ')}` : ''}`);
      for (const r of s.runs) {
        out(`${r.runId}  ${r.status}  pid ${r.pid}  '${r.title}'${r.outstanding.length ? `  outstanding: ${r.outstanding.map((o) => `${o.fault}@${o.target}`).join(', ')}` : ''}`);
      }
      out(s.clean ? 'clean: no live run, no fault outstanding' : 'NOT clean');
    }
    return s.clean ? 0 : 1;
  },
};

const abortCmd: Command = {
  summary: 'kill switch: stop a live run (or all) and wait until it rolled back; repairs crashed runs',
  usage: `omnitide chaos abort [RUN_ID] [--timeout-ms N] [--state-dir DIR] [--json]
${STATE}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'timeout-ms': { type: 'string' }, 'state-dir': { type: 'string' } });
    const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new UsageError('--timeout-ms expects a positive integer');
    const r = await abort(values['state-dir'], { runId: positionals[0], timeoutMs });
    if (values.json) printJson(r);
    else out(`aborted ${r.aborted.length} run(s)${r.aborted.length ? `: ${r.aborted.join(', ')}` : ''}; repaired ${r.repaired.undone} fault(s)`);
    return 0;
  },
};

const reportCmd: Command = {
  summary: "print a run's report (summary, --json, or --svg for the probe plot)",
  usage: `omnitide chaos report RUN_ID [--svg] [--state-dir DIR] [--json]
${STATE}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { svg: { type: 'boolean' }, 'state-dir': { type: 'string' } });
    const id = positionals[0];
    if (!id) throw new UsageError('missing RUN_ID');
    if (!/^[\w.-]+$/.test(id)) throw new UsageError(`RUN_ID: not a run id: '${id}'`);
    const dir = join(stateDir(values['state-dir']), 'runs', id);
    let text: string;
    try {
      text = readFileSync(join(dir, values.svg ? 'report.svg' : 'report.json'), 'utf8');
    } catch {
      throw new OmniError('ERR_OMNI_NOT_FOUND', `RUN_ID: no finished report for run '${id}' in ${dir}`);
    }
    if (values.svg) process.stdout.write(text);
    else if (values.json) process.stdout.write(text.trimEnd() + '\n');
    else out(renderSummary(JSON.parse(text) as RunReport).trimEnd());
    return 0;
  },
};

export const chaosCommands: CommandGroup = {
  summary: 'chaos experiments: run, validate, status, abort, report',
  commands: { run, validate, status: statusCmd, abort: abortCmd, report: reportCmd },
};
