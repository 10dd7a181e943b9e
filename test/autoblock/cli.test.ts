import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const main = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-ab-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, 'autoblock', ...args], { encoding: 'utf8' });

describe.skipIf(!existsSync(main))('omnitide autoblock CLI', () => {
  it('--help on every level', () => {
    const g = cli('--help');
    expect(g.status).toBe(0);
    for (const v of ['run', 'test', 'decisions', 'ban', 'unban', 'explain', 'verify']) expect(g.stdout).toContain(v);
    expect(cli('ban', '--help').stdout).toMatch(/usage: omnitide autoblock ban VALUE/);
  });

  it('test: a fail2ban filter over a log, like fail2ban-regex', () => {
    const f = join(dir, 'f.conf');
    writeFileSync(f, '[Definition]\nfailregex = ^\\s*\\S+ app\\[\\d+\\]: fail from <HOST>$\n');
    const log = join(dir, 'a.log');
    writeFileSync(log, [1, 2, 3].map((s) => `Nov 30 11:00:0${s} srv app[1]: fail from 198.51.100.1`).join('\n') + '\nNov 30 11:00:04 srv other\n');
    const r = cli('test', f, log, '--maxretry', '3', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ lines: 4, matched: 3, missed: 1 });
    expect(j.bans.map((b: { value: string }) => b.value)).toEqual(['198.51.100.1']);
    expect(cli('test', f, log).stdout).toMatch(/4 lines, 0 ignored, 3 matched, 1 missed/);
    const bad = cli('test', join(dir, 'nope.conf'), log);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^omnitide: .*nope.conf/);
  });

  it('ban, decisions, explain, verify, unban on a state directory', () => {
    const st = ['--dir', join(dir, 'state'), '--domain', 'site-a', '--insecure-plaintext'];
    const b = cli('ban', '203.0.113.9', '--duration', '600', '--reason', 'manual', ...st, '--json');
    expect(b.status, b.stderr).toBe(0);
    const d = JSON.parse(b.stdout);
    expect(d).toMatchObject({ action: 'ban', value: '203.0.113.9', reason: 'manual', logIndex: 0 });
    expect(JSON.parse(cli('decisions', ...st, '--json').stdout).id).toBe(d.id);
    const v = cli('verify', d.id, ...st);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^valid: decision/);
    expect(cli('explain', '203.0.113.9', ...st).stdout).toMatch(/203.0.113.9: BLOCKED/);
    expect(cli('unban', '203.0.113.9', ...st).status).toBe(0);
    expect(cli('unban', '203.0.113.9', ...st).status).toBe(1);
    expect(cli('verify', 'f'.repeat(64), ...st).status).toBe(1);
    expect(cli('ban', ...st).status).toBe(2);
    expect(cli('ban', 'x', '--dir', join(dir, 'state')).stderr).toMatch(/--domain/);
    expect(cli('ban', '1.2.3.4', '--duration', 'soon', ...st).status).toBe(2);
  });

  it('the domain key is encrypted unless --insecure-plaintext is explicit', () => {
    const st = ['--dir', join(dir, 'enc'), '--domain', 'site-e'];
    const refused = cli('ban', '203.0.113.7', ...st);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--passphrase-env/);
    const env = { ...process.env, AB_PASS: 'correct horse battery staple' };
    const run = (...a: string[]) => spawnSync(process.execPath, [main, 'autoblock', ...a], { encoding: 'utf8', env });
    const b = run('ban', '203.0.113.7', ...st, '--passphrase-env', 'AB_PASS', '--json');
    expect(b.status, b.stderr).toBe(0);
    expect(run('explain', '203.0.113.7', ...st, '--passphrase-env', 'AB_PASS').stdout).toMatch(/BLOCKED/);
    const wrong = spawnSync(process.execPath, [main, 'autoblock', 'explain', '203.0.113.7', ...st, '--passphrase-env', 'AB_PASS'], {
      encoding: 'utf8', env: { ...process.env, AB_PASS: 'wrong' },
    });
    expect(wrong.status).not.toBe(0);
  });
});
