import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-lat-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cxt = join(dir, 'family.cxt');
writeFileSync(cxt, 'B\n\n4\n4\n\nman\nwoman\nboy\ngirl\nmale\nfemale\nadult\nchild\nX.X.\n.XX.\nX..X\n.X.X\n');

describe('omnitide lattice CLI', () => {
  it('build, query, implications, draw', () => {
    expect(JSON.parse(run(['lattice', 'build', cxt, '--json']).stdout)).toMatchObject({ objects: 4, attributes: 4, concepts: 10, covers: 16, levels: 4 });
    expect(run(['lattice', 'query', cxt, '--attrs', 'male,female']).stdout.trim()).toBe('male, female, adult, child');
    expect(JSON.parse(run(['lattice', 'query', cxt, '--attrs', 'adult', '--op', 'objects', '--json']).stdout)).toEqual({ objects: ['man', 'woman'] });
    expect(run(['lattice', 'query', cxt, '--attrs', 'adult,child', '--op', 'entails', '--then', 'male']).code).toBe(0);
    expect(run(['lattice', 'query', cxt, '--attrs', 'adult', '--op', 'entails', '--then', 'male']).code).toBe(1);
    expect(JSON.parse(run(['lattice', 'implications', cxt, '--json']).stdout)).toHaveLength(2);
    expect(run(['lattice', 'implications', cxt, '--rules', '--min-confidence', '0.5']).stdout).toMatch(/confidence 0.500/);
    const svg = join(dir, 'f.svg');
    expect(run(['lattice', 'draw', cxt, '-o', svg]).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg/);
    expect(run(['lattice', 'draw', cxt, '--as', 'dot']).stdout).toMatch(/^digraph/);
  });
  it('fails with a one-line reason and has --help', () => {
    const bad = join(dir, 'bad.cxt');
    writeFileSync(bad, 'B\n\n1\n1\n\no\na\nQ\n');
    const r = run(['lattice', 'build', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${bad}:8: column 1: expected 'X' or '.', found 'Q'`);
    const u = run(['lattice', 'query', cxt, '--attrs', 'tall']);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain("unknown attribute 'tall'");
    expect(run(['lattice', '--help']).code).toBe(0);
    expect(run(['lattice', 'build', '--help']).stdout).toMatch(/usage: omnitide lattice build FILE/);
    expect(run(['lattice', 'draw', cxt, '--as', 'png']).code).toBe(2);
  });
});
