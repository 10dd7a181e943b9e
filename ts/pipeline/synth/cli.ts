/**
 * `omnitide pipeline synth`: rule-based generation from a schema file, or
 * fit-and-sample (copula / mixture) from a sample table file with a fidelity
 * report. Tables are read as NDJSON, a JSON array of rows or CSV with a header
 * (by extension); output as NDJSON (default) or CSV per table. `--save-model`
 * keeps the fitted model; `--model` samples from a saved one without the table.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { type Command, out, parse, printJson, UsageError } from '../../cli/command.js';
import { OmniError } from '../../errors.js';
import { splitCsv } from '../sources.js';
import * as synth from './index.js';

function intFlag(name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new OmniError('ERR_OMNI_IO', `${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OmniError('ERR_OMNI_IO', `${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(path: string, text: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}${line === undefined ? '' : `:${line}`}: invalid JSON: ${(err as Error).message}`);
  }
}

type Row = Record<string, number | string | boolean>;

/**
 * Rows of a CSV file with a header (RFC 4180 quoting, records may span lines).
 * A column whose every cell is a finite number is numeric, any other column is
 * categorical; an empty cell or a record with the wrong field count is refused
 * with its line (the models have no missing values).
 */
function readCsvRows(path: string, text: string): Row[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const records: { fields: string[]; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let buf = lines[i];
    if (buf.trim() === '' && records.length > 0) continue;
    let fields: string[] | null;
    try {
      while ((fields = splitCsv(buf)) === null && i + 1 < lines.length) buf += `\n${lines[++i]}`;
    } catch (err) {
      throw new UsageError(`${path}:${line}: ${(err as Error).message}`);
    }
    if (fields === null) throw new UsageError(`${path}:${line}: a quoted field is never closed`);
    records.push({ fields, line });
  }
  const [header, ...body] = records;
  if (!header || body.length === 0) throw new UsageError(`${path}: expected a header row and at least one record`);
  const names = header.fields;
  const numeric = names.map((_, c) => body.every((r) => r.fields[c] !== undefined && r.fields[c].trim() !== '' && Number.isFinite(Number(r.fields[c]))));
  return body.map(({ fields, line }) => {
    if (fields.length !== names.length) throw new UsageError(`${path}:${line}: ${fields.length} fields, the header has ${names.length}`);
    const row: Row = {};
    names.forEach((n, c) => {
      if (fields[c] === '') throw new UsageError(`${path}:${line}: column '${n}' is empty (missing values are not supported)`);
      row[n] = numeric[c] ? Number(fields[c]) : fields[c];
    });
    return row;
  });
}

/** Rows of an NDJSON file, a JSON array file or a CSV file. */
function readRows(path: string): Row[] {
  const text = read(path);
  if (extname(path).toLowerCase() === '.csv') return readCsvRows(path, text);
  if (extname(path).toLowerCase() === '.json') {
    const v = parseJson(path, text);
    if (!Array.isArray(v)) throw new UsageError(`${path}: expected a JSON array of row objects`);
    return v;
  }
  return text
    .split('\n')
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l.length > 0)
    .map(([l, n]) => parseJson(path, l, n) as Row);
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function format(rows: Record<string, unknown>[], as: string): string {
  if (as === 'csv') {
    const names = Object.keys(rows[0] ?? {});
    return [names.map(csvCell).join(','), ...rows.map((r) => names.map((n) => csvCell(r[n])).join(','))].join('\n') + '\n';
  }
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'number' && Number.isNaN(v) ? null : v))).join('\n') + '\n';
}

export const synthCommand: Command = {
  summary: 'synthetic data: rule-based tables from a schema, or rows sampled from a model fitted on a table',
  usage: [
    'omnitide pipeline synth --schema SCHEMA.json [--seed N] [-o DIR] [--format ndjson|csv] [--json]',
    '       omnitide pipeline synth --fit TABLE.ndjson|.json|.csv --rows N [--strategy copula|mixture] [--components K] [--seed N] [--reject-copies] [--save-model MODEL] [-o FILE] [--format ndjson|csv] [--json]',
    '       omnitide pipeline synth --model MODEL --rows N [--seed N] [--reject-copies] [-o FILE] [--format ndjson|csv] [--json]',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parse(argv, {
      schema: { type: 'string' },
      fit: { type: 'string' },
      model: { type: 'string' },
      'save-model': { type: 'string' },
      rows: { type: 'string' },
      strategy: { type: 'string' },
      components: { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'reject-copies': { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if ([values.schema, values.fit, values.model].filter((v) => v !== undefined).length !== 1) throw new UsageError('give exactly one of --schema, --fit or --model');
    if (values['save-model'] !== undefined && values.fit === undefined) throw new UsageError('--save-model needs --fit');
    const seed = intFlag('seed', values.seed, 0, 0);
    const as = values.format ?? 'ndjson';
    if (as !== 'ndjson' && as !== 'csv') throw new UsageError(`--format must be ndjson or csv, got '${as}'`);
    if (values.schema !== undefined) {
      const schema = parseJson(values.schema, read(values.schema)) as synth.SynthSchema;
      const t0 = performance.now();
      const tables = await synth.generate(schema, { seed });
      const report = await synth.checkConstraints(schema, tables);
      const ms = performance.now() - t0;
      const written: string[] = [];
      if (typeof values.output === 'string') {
        mkdirSync(values.output, { recursive: true });
        for (const t of Object.values(tables)) {
          const file = join(values.output, `${t.name}.${as}`);
          writeFileSync(file, format(t.rows(), as));
          written.push(file);
        }
      }
      const summary = { tables: Object.fromEntries(Object.values(tables).map((t) => [t.name, t.rowCount])), constraints: report, written, ms: Math.round(ms) };
      if (values.json) printJson(summary);
      else {
        for (const [name, rows] of Object.entries(summary.tables)) out(`${name}: ${rows} rows`);
        out(`constraints: ${report.checked} checked, ${report.violations.length} violated`);
        for (const v of report.violations) out(`  ${v.table}.${v.field}: ${v.constraint} x${v.count} (first row ${v.firstRow})`);
        for (const w of written) out(`wrote ${w}`);
      }
      return report.violations.length === 0 ? 0 : 1;
    }
    const rows = intFlag('rows', values.rows, -1, 1);
    if (rows < 0) throw new UsageError(`${values.fit === undefined ? '--model' : '--fit'} needs --rows N`);
    if (values.model !== undefined) {
      if (values.strategy !== undefined || values.components !== undefined) throw new UsageError('--strategy and --components belong to --fit; a saved model has its own');
      const model = synth.load(readBytes(values.model));
      const fake = await model.sample(rows, { seed, rejectCopies: Boolean(values['reject-copies']) });
      const text = format(synth.toRows(fake), as);
      if (typeof values.output === 'string') writeFileSync(values.output, text);
      else if (!values.json) process.stdout.write(text);
      if (values.json) printJson({ strategy: model.strategy, rows, redrawn: fake.redrawn, written: values.output ?? null });
      else if (typeof values.output === 'string') out(`wrote ${rows} rows to ${values.output} (${model.strategy} model from ${values.model})`);
      return 0;
    }
    const strategy = values.strategy ?? 'copula';
    if (strategy !== 'copula' && strategy !== 'mixture') throw new UsageError(`--strategy must be copula or mixture, got '${strategy}'`);
    const real = readRows(values.fit!);
    const model = await synth.fit(real, { strategy, seed, components: values.components === undefined ? undefined : intFlag('components', values.components, 5, 1) });
    if (typeof values['save-model'] === 'string') writeFileSync(values['save-model'], model.save(), { mode: 0o600 });
    const fake = await model.sample(rows, { seed, rejectCopies: Boolean(values['reject-copies']) });
    const report = await synth.fidelity(real, fake);
    const text = format(synth.toRows(fake), as);
    if (typeof values.output === 'string') writeFileSync(values.output, text);
    else if (!values.json) process.stdout.write(text);
    if (values.json) printJson({ strategy, rows, redrawn: fake.redrawn, fidelity: report, written: values.output ?? null });
    else if (typeof values.output === 'string') {
      out(`wrote ${rows} rows to ${values.output}`);
      for (const c of report.columns) out(`  ${c.name}: ${c.metric} ${c.value.toFixed(4)}`);
      out(`  correlation error: mean ${report.correlation.meanAbsError.toFixed(4)}, max ${report.correlation.maxAbsError.toFixed(4)}`);
      out(`  exact copies of real rows: ${report.privacy.exactMatches}; distance to closest record: median ${report.privacy.dcrMedian.toFixed(4)} (real-to-real ${report.privacy.realNnMedian.toFixed(4)})`);
    }
    return 0;
  },
};
