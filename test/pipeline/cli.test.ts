/** `omnitide pipeline run|validate|graph` on YAML definitions, through the built CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), `omni-pipe-cli-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'pipeline', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const input = join(dir, 'orders.ndjson');
writeFileSync(input, ['{"ts":1,"user":"a","amount":5}', '{"ts":2,"user":"a","amount":-1}', 'not json', '{"ts":1500,"user":"b","amount":2}'].join('\n') + '\n');
writeFileSync(join(dir, 'fns.mjs'), 'export const positive = (r) => r.amount > 0;\n');
const def = join(dir, 'p.yaml');
writeFileSync(
  def,
  `name: cli
nodes:
  - { id: orders, op: source, schema: { ts: number, user: string, amount: number }, from: { ndjson: orders.ndjson } }
  - { id: pos, op: filter, input: orders, fn: positive }
  - { id: agg, op: aggregate, input: pos, key: user, time: ts, window: { type: tumbling, size: 1000 }, aggregates: { total: { kind: sum, field: amount } } }
  - { id: out, op: sink, input: agg, to: { ndjson: out.ndjson } }
`,
);

describe('omnitide pipeline', () => {
  it('validate: ok, and problems with paths and exit 1', () => {
    expect(cli(['validate', def])).toMatchObject({ code: 0, stdout: 'ok: cli (4 nodes)\n' });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'nodes:\n  - { id: s, op: source, schema: { a: number } }\n  - { id: x, op: teleport, input: s }\n');
    const r = cli(['validate', bad, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).problems).toEqual([{ path: 'nodes[1].op', message: expect.stringMatching(/unknown operator 'teleport'/) }]);
  });

  it('graph: DOT to stdout, SVG to a file', () => {
    const r = cli(['graph', def]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"pos" -> "agg"');
    const svg = join(dir, 'p.svg');
    expect(cli(['graph', def, '--format', 'svg', '--out', svg]).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg[\s\S]*<\/svg>/);
    expect(cli(['graph', def, '--format', 'png'])).toMatchObject({ code: 2 });
  });

  it('run: reads NDJSON, writes NDJSON, reports the dead letter', () => {
    expect(cli(['run', def]).code).not.toBe(0); // functions are needed to run
    const r = cli(['run', def, '--functions', join(dir, 'fns.mjs'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'stream', deadLetters: 1 });
    expect(r.stderr).toMatch(/dead letter at orders line 3: malformed NDJSON/);
    const out = readFileSync(join(dir, 'out.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(out).toEqual([
      { user: 'a', windowStart: 0, windowEnd: 1000, pane: 0, total: 5 },
      { user: 'b', windowStart: 1000, windowEnd: 2000, pane: 0, total: 2 },
    ]);
  });
});
