import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-sym-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnitide symbolic CLI', () => {
  it('simplify, factor, derivative, equivalent', () => {
    expect(run(['symbolic', 'simplify', '(x+1)^2 - (x^2+2x+1)']).stdout.trim()).toBe('0');
    expect(JSON.parse(run(['symbolic', 'simplify', '(x^2-1)/(x-1)', '--json']).stdout)).toEqual({ expr: 'x + 1', conditions: ['x - 1 != 0'] });
    expect(run(['symbolic', 'factor', 'x^2-1']).stdout.trim()).toBe('(x + 1) * (x - 1)');
    expect(run(['symbolic', 'derivative', 'x^2', '--var', 'x']).stdout.trim()).toBe('2 * x');
    expect(run(['symbolic', 'equivalent', 'x*y', 'y*x']).code).toBe(0);
    expect(run(['symbolic', 'equivalent', 'x+1', 'x']).code).toBe(1);
  });
  it('sat exit codes follow the SAT competition (10 SAT, 20 UNSAT)', () => {
    const f = join(dir, 'u.cnf');
    writeFileSync(f, 'p cnf 1 2\n1 0\n-1 0\n');
    expect(run(['symbolic', 'sat', f]).code).toBe(20);
    expect(run(['symbolic', 'sat', '--expr', 'a and not b']).code).toBe(10);
  });
  it('fails with a one-line reason', () => {
    const r = run(['symbolic', 'simplify', 'x + * 2']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(10);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/position 4/);
    expect(run(['symbolic', '--help']).code).toBe(0);
  });
});
