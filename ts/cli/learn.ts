import { readFileSync, writeFileSync } from 'node:fs';
import * as learn from '../learn/index.js';
import { type CommandGroup, out, parse, printJson, UsageError } from './command.js';

interface Table {
  names: string[];
  x: Float64Array;
  y: Float64Array | undefined;
  rows: number;
}

/** Reads a headed CSV of numbers (empty cell = missing); `label` names the target column. */
function readCsv(path: string, label: string | undefined): Table {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new UsageError(`${path}: expected a header line and at least one row`);
  const header = lines[0].split(',').map((h) => h.trim());
  const li = label === undefined ? -1 : header.indexOf(label);
  if (label !== undefined && li < 0) throw new UsageError(`--label: no column '${label}' in ${path} (columns: ${header.join(', ')})`);
  const names = header.filter((_, i) => i !== li);
  const rows = lines.length - 1;
  const x = new Float64Array(rows * names.length);
  const y = li >= 0 ? new Float64Array(rows) : undefined;
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1].split(',');
    if (cells.length !== header.length) throw new UsageError(`${path}:${r + 2}: expected ${header.length} cells, got ${cells.length}`);
    let c = 0;
    for (let i = 0; i < cells.length; i++) {
      const s = cells[i].trim();
      const v = s === '' ? NaN : s === 'true' || s === 'True' ? 1 : s === 'false' || s === 'False' ? 0 : Number(s);
      if (Number.isNaN(v) && s !== '') throw new UsageError(`${path}:${r + 2}: '${s}' in column '${header[i]}' is not a number`);
      if (i === li) y![r] = v;
      else x[r * names.length + c++] = v;
    }
  }
  return { names, x, y, rows };
}

function jsonArg(name: string, v: string | undefined): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative integer, got '${v}'`);
  return n;
}

function needLabel(t: Table, path: string): Float64Array {
  if (!t.y) throw new UsageError(`${path}: --label is required`);
  return t.y;
}

function modelFrom(values: Record<string, string | boolean | undefined>, t: Table): learn.Model {
  if (typeof values.model === 'string') return learn.loadModel(new Uint8Array(readFileSync(values.model)));
  if (typeof values.kind !== 'string') throw new UsageError('either --model FILE or --kind KIND is required');
  return learn.createModel(values.kind as learn.ModelKind, { featureNames: t.names, scale: values.scale === true, params: jsonArg('params', values.params as string | undefined) });
}

const modelOptions = {
  label: { type: 'string' },
  kind: { type: 'string' },
  model: { type: 'string' },
  params: { type: 'string' },
  scale: { type: 'boolean' },
} as const;

export const learnCommands: CommandGroup = {
  summary: 'online learning: fit, evaluate (prequential), predict with and inspect saved models',
  commands: {
    fit: {
      summary: 'learn a CSV in row order and save the model (a new one from --kind, or --model to continue)',
      usage: 'omnitide learn fit DATA.csv --label COL (--kind KIND [--params JSON] [--scale] | --model FILE) --out FILE [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { ...modelOptions, out: { type: 'string' } });
        if (positionals.length !== 1) throw new UsageError('expected exactly one DATA.csv');
        if (typeof values.out !== 'string') throw new UsageError('--out FILE is required');
        const t = readCsv(positionals[0], values.label as string | undefined);
        const m = modelFrom(values, t);
        m.learnMany(t.x, needLabel(t, positionals[0]));
        writeFileSync(values.out, m.save());
        if (values.json) printJson({ out: values.out, rows: t.rows, model: m.inspect() });
        else out(`learnt ${t.rows} rows into ${values.out} (${m.kind})`);
        return 0;
      },
    },
    eval: {
      summary: 'prequential (test-then-train) evaluation of a CSV; prints the metrics',
      usage: 'omnitide learn eval DATA.csv --label COL (--kind KIND [--params JSON] [--scale] | --model FILE) [--window N] [--out FILE] [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, { ...modelOptions, window: { type: 'string' }, out: { type: 'string' } });
        if (positionals.length !== 1) throw new UsageError('expected exactly one DATA.csv');
        const t = readCsv(positionals[0], values.label as string | undefined);
        const m = modelFrom(values, t);
        const metrics = m.evaluate(t.x, needLabel(t, positionals[0]), { window: intArg('window', values.window as string | undefined) ?? 0 });
        if (typeof values.out === 'string') writeFileSync(values.out, m.save());
        if (values.json) printJson(metrics);
        else for (const [k, v] of Object.entries(metrics)) out(`${k.padEnd(9)} ${v === null ? '-' : Number(v).toPrecision(6)}`);
        return 0;
      },
    },
    predict: {
      summary: 'predictions of a saved model for each CSV row (one per line)',
      usage: 'omnitide learn predict MODEL DATA.csv [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, {});
        if (positionals.length !== 2) throw new UsageError('expected MODEL and DATA.csv');
        const m = learn.loadModel(new Uint8Array(readFileSync(positionals[0])));
        const t = readCsv(positionals[1], undefined);
        const names = m.featureNames;
        let x = t.x;
        if (names) {
          // Reorder the CSV's columns to the model's feature order.
          const idx = names.map((n) => t.names.indexOf(n));
          const missing = names.filter((_, i) => idx[i] < 0);
          if (missing.length) throw new UsageError(`${positionals[1]}: missing columns ${missing.join(', ')}`);
          x = new Float64Array(t.rows * names.length);
          for (let r = 0; r < t.rows; r++) for (let j = 0; j < names.length; j++) x[r * names.length + j] = t.x[r * t.names.length + idx[j]];
        }
        const p = m.predictMany(x);
        if (values.json) printJson(Array.from(p));
        else out(Array.from(p).join('\n'));
        return 0;
      },
    },
    inspect: {
      summary: 'kind, features, classes and learnt state of a saved model',
      usage: 'omnitide learn inspect MODEL [--json]',
      async run(argv) {
        const { values, positionals } = parse(argv, {});
        if (positionals.length !== 1) throw new UsageError('expected exactly one MODEL file');
        const info = learn.loadModel(new Uint8Array(readFileSync(positionals[0]))).inspect();
        if (values.json) printJson(info);
        else {
          for (const [k, v] of Object.entries(info)) {
            if (k === 'state') continue;
            out(`${k.padEnd(14)} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
          }
          out(`state          ${JSON.stringify(info.state).slice(0, 400)}`);
        }
        return 0;
      },
    },
  },
};
