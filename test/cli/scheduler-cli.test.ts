import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blake3 } from '../../ts/crypto/index.js';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const TASKS = resolve(__dirname, '..', 'scheduler', 'fixtures', 'tasks.mjs');
const dir = mkdtempSync(join(tmpdir(), 'omni-sched-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnitide CLI: scheduler commands', () => {
  it('run: prints a task result, --json, and fails with a one-line reason', () => {
    expect(existsSync(CLI)).toBe(true);
    expect(run(['scheduler', 'run', TASKS, 'add', '41'])).toMatchObject({ code: 0, stdout: '42\n' });
    expect(JSON.parse(run(['scheduler', 'run', TASKS, 'concat', '["a","b"]', '--json']).stdout)).toEqual({ task: 'concat', result: 'a+b' });
    const bad = run(['scheduler', 'run', TASKS, 'fail', '"x"']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^omnitide: task 'fail' \(id \d+\) threw: boom: x\n$/);
    expect(run(['scheduler', 'run', TASKS]).code).toBe(2);
  });

  it('hash-files: one line per file, identical to omnitide/crypto', () => {
    writeFileSync(join(dir, 'a'), 'alpha');
    writeFileSync(join(dir, 'b'), 'beta');
    const r = run(['scheduler', 'hash-files', dir, '--threads', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toEqual([
      `${Buffer.from(blake3.hash('alpha')).toString('hex')}  ${join(dir, 'a')}`,
      `${Buffer.from(blake3.hash('beta')).toString('hex')}  ${join(dir, 'b')}`,
    ]);
    const missing = run(['scheduler', 'hash-files', join(dir, 'nope')]);
    expect(missing.stdout).toBe('');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope/);
  });

  it('hash-files: stays in the tree unless --follow-symlinks, reports each bad entry and hashes the rest', () => {
    const tree = join(dir, 'tree');
    const outside = join(dir, 'outside');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(outside, 'secret');
    writeFileSync(join(tree, 'sub', 'f'), 'inside');
    symlinkSync(join(tree, 'sub', 'f'), join(tree, 'link-in'));
    symlinkSync(outside, join(tree, 'link-out'));
    symlinkSync('loop', join(tree, 'loop'));
    symlinkSync(tree, join(tree, 'sub', 'cycle')); // a directory cycle inside the tree
    spawnSync('mkfifo', [join(tree, 'fifo')]);
    const hx = (s: string) => Buffer.from(blake3.hash(s)).toString('hex');
    const r = run(['scheduler', 'hash-files', tree, '--json']);
    expect(r.code).toBe(1);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const by = new Map(rows.map((x: { file: string }) => [x.file.slice(tree.length + 1), x]));
    expect(by.get('sub/f')).toEqual({ file: join(tree, 'sub', 'f'), blake3: hx('inside') });
    expect(by.get('link-in')).toMatchObject({ blake3: hx('inside') });
    expect(by.get('link-out')).toMatchObject({ error: expect.stringMatching(/leaves the tree.*--follow-symlinks/) });
    expect(by.get('loop')).toMatchObject({ error: 'symbolic link loop' });
    expect(by.get('fifo')).toMatchObject({ error: expect.stringContaining('is a FIFO') });
    expect(rows.some((x: { blake3?: string }) => x.blake3 === hx('secret'))).toBe(false);
    const human = run(['scheduler', 'hash-files', tree]);
    expect(human.stdout).toContain(`${hx('inside')}  ${join(tree, 'sub', 'f')}`);
    expect(human.stderr).toMatch(/link-out: symbolic link to .* leaves the tree/);
    const follow = run(['scheduler', 'hash-files', tree, '--follow-symlinks']);
    expect(follow.stdout).toContain(`${hx('secret')}  ${join(tree, 'link-out')}`);
    expect(follow.stderr).toMatch(/loop: symbolic link loop/);
  });
});
