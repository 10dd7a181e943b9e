/**
 * `omnitide pipeline synth` (the command object; the lead wires it under
 * `omnitide pipeline`): schema generation with files and constraint report,
 * fit-and-sample with a fidelity report, and usage errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { synthCommand } from '../../ts/pipeline/synth/cli.js';
import { sampleTable } from './synth-data.js';

const dir = mkdtempSync(join(tmpdir(), `omni-synth-cli-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    stdout += String(c);
    return true;
  });
  try {
    return { code: await synthCommand.run(args), stdout };
  } finally {
    spy.mockRestore();
  }
}

describe('omnitide pipeline synth', () => {
  it('--schema writes every table and reports constraints', async () => {
    const schema = join(dir, 'schema.json');
    writeFileSync(
      schema,
      JSON.stringify({
        tables: [
          { name: 'users', rows: 50, fields: [{ name: 'id', gen: { kind: 'sequence' }, unique: true }, { name: 'email', gen: { kind: 'faker', method: 'internet.email' } }] },
          { name: 'orders', rows: 200, fields: [{ name: 'user', gen: { kind: 'ref', table: 'users', field: 'id' } }, { name: 'total', gen: { kind: 'float', min: 1, max: 9 } }] },
        ],
      }),
    );
    const r = await run(['--schema', schema, '--seed', '3', '-o', join(dir, 'out'), '--format', 'csv', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.tables).toEqual({ users: 50, orders: 200 });
    expect(s.constraints.violations).toEqual([]);
    const csv = readFileSync(join(dir, 'out', 'orders.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('user,total');
    expect(csv).toHaveLength(201);
    expect(Number(csv[1].split(',')[0])).toBeGreaterThanOrEqual(1);
  });

  it('--fit samples rows and prints the fidelity report', async () => {
    const t = sampleTable(300, 4);
    const file = join(dir, 'real.ndjson');
    writeFileSync(file, t.a.map((a, i) => JSON.stringify({ a, b: t.b[i], band: t.band[i] })).join('\n'));
    const r = await run(['--fit', file, '--rows', '100', '--seed', '1', '--json', '--reject-copies', '-o', join(dir, 'fake.ndjson')]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.fidelity.privacy.exactMatches).toBe(0);
    expect(rep.redrawn).toBe(0); // continuous columns: nothing to redraw
    expect(rep.fidelity.columns.map((c: { name: string }) => c.name)).toEqual(['a', 'b', 'band']);
    const rows = readFileSync(join(dir, 'fake.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(100);
    expect(typeof rows[0].band).toBe('string');
    const human = await run(['--fit', file, '--rows', '5', '--strategy', 'mixture', '--components', '2']);
    expect(human.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('--fit reads CSV (quoted fields, numeric and categorical columns) and refuses bad records with their line', async () => {
    const t = sampleTable(200, 6);
    const csv = join(dir, 'real.csv');
    // A quoted categorical value holding a comma and a doubled quote, CRLF line ends.
    const quoted = (b: string) => (b === t.band[0] ? `"${b}, ""very"""` : b);
    const named = (b: string) => (b === t.band[0] ? `${b}, "very"` : b);
    writeFileSync(csv, ['a,b,band', ...t.a.map((a, i) => `${a},${t.b[i]},${quoted(t.band[i])}`)].join('\r\n') + '\r\n');
    const r = await run(['--fit', csv, '--rows', '50', '--seed', '2', '--json', '-o', join(dir, 'fake-csv.ndjson')]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.fidelity.columns.map((c: { name: string; metric: string }) => `${c.name}:${c.metric}`)).toEqual(['a:ks', 'b:ks', 'band:tvd']);
    const rows = readFileSync(join(dir, 'fake-csv.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(typeof rows[0].a).toBe('number');
    const levels = new Set(t.band.map(named));
    for (const row of rows) expect(levels.has(row.band)).toBe(true);
    expect(rows.some((row) => row.band === named(t.band[0]))).toBe(true);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n');
    await expect(run(['--fit', bad, '--rows', '3'])).rejects.toThrow(/bad\.csv:3: 1 fields, the header has 2/);
    writeFileSync(bad, 'a,b\n1,2\n3,\n');
    await expect(run(['--fit', bad, '--rows', '3'])).rejects.toThrow(/bad\.csv:3: column 'b' is empty/);
  });

  it('--save-model keeps the model and --model samples the same rows from it', async () => {
    const file = join(dir, 'real.ndjson');
    const model = join(dir, 'model.bin');
    const a = await run(['--fit', file, '--rows', '40', '--seed', '9', '--save-model', model, '--format', 'csv']);
    expect(a.code).toBe(0);
    const b = await run(['--model', model, '--rows', '40', '--seed', '9', '--format', 'csv']);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stdout.trim().split('\n')).toHaveLength(41);
    const bytes = readFileSync(model);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(model, bytes);
    await expect(run(['--model', model, '--rows', '3'])).rejects.toThrow(/checksum mismatch/);
    await expect(run(['--model', model, '--rows', '3', '--strategy', 'mixture'])).rejects.toThrow(/belong to --fit/);
  });

  it('rejects bad usage with a reason', async () => {
    await expect(run([])).rejects.toThrow(/exactly one of --schema, --fit or --model/);
    await expect(run(['--schema', 'a.json', '--save-model', 'm.bin'])).rejects.toThrow(/--save-model needs --fit/);
    await expect(run(['--fit', 'x.ndjson'])).rejects.toThrow(/--fit needs --rows N/);
    await expect(run(['--fit', join(dir, 'missing.ndjson'), '--rows', '3'])).rejects.toThrow(/cannot read/);
    await expect(run(['--schema', 'a.json', '--seed', '1.5'])).rejects.toThrow(/--seed must be an integer/);
    await expect(run(['--fit', join(dir, 'real.ndjson'), '--rows', '0'])).rejects.toThrow(/--rows must be an integer >= 1/);
  });
});
