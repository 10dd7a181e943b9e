import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-learn-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const csv = join(dir, 'train.csv');
const lines = ['a,b,label'];
for (let i = 0; i < 400; i++) {
  const a = Math.sin(i) * 3;
  const b = Math.cos(i * 1.3) * 3;
  lines.push(`${a},${i % 50 === 7 ? '' : b},${a + b > 0 ? 'true' : 'false'}`);
}
writeFileSync(csv, lines.join('\n') + '\n');

describe('omnitide learn CLI', () => {
  it('fit, eval, predict, inspect', () => {
    const model = join(dir, 'm.bin');
    const fit = run(['learn', 'fit', csv, '--label', 'label', '--kind', 'logistic-regression', '--scale', '--out', model, '--json']);
    expect(fit.code).toBe(0);
    expect(JSON.parse(fit.stdout).rows).toBe(400);
    const ev = run(['learn', 'eval', csv, '--label', 'label', '--kind', 'gaussian-nb', '--json']);
    expect(ev.code).toBe(0);
    const metrics = JSON.parse(ev.stdout);
    expect(metrics.n).toBe(400);
    expect(metrics.accuracy).toBeGreaterThan(0.8);
    const pred = join(dir, 'new.csv');
    writeFileSync(pred, 'b,a\n3,3\n-3,-3\n');
    const p = run(['learn', 'predict', model, pred]);
    expect(p.code).toBe(0);
    expect(p.stdout.trim().split('\n')).toEqual(['1', '0']);
    const info = JSON.parse(run(['learn', 'inspect', model, '--json']).stdout);
    expect(info).toMatchObject({ kind: 'logistic-regression', featureNames: ['a', 'b'], scaled: true, samplesLearnt: 400 });
    expect(run(['learn', 'inspect', model]).stdout).toMatch(/kind\s+logistic-regression/);
  });

  it('fails with a one-line reason', () => {
    const bad = join(dir, 'bad.bin');
    writeFileSync(bad, 'not a model');
    const r = run(['learn', 'inspect', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad magic/);
    expect(run(['learn', 'fit', csv, '--label', 'nope', '--kind', 'gaussian-nb', '--out', bad]).stderr).toMatch(/no column 'nope'/);
    expect(run(['learn', 'eval', csv, '--label', 'label']).stderr).toMatch(/--model FILE or --kind KIND/);
    expect(run(['learn', '--help']).code).toBe(0);
    expect(run(['learn', 'fit', '--help']).stdout).toMatch(/usage: omnitide learn fit/);
    expect(readFileSync(bad, 'utf8')).toBe('not a model');
  });
});
