import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519 } from '../../ts/crypto/index.js';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-ledger-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnitide CLI: ledger', () => {
  it('appends, checkpoints, bundles and checks offline', () => {
    expect(existsSync(CLI)).toBe(true);
    const kp = ed25519.generateKeyPair();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, Buffer.from(kp.secretKey).toString('hex'));
    const base = ['--dir', join(dir, 'log'), '--origin', 'cli.example/log'];
    const a = run(['ledger', 'append', ...base, 'one', 'two', 'three']);
    expect(a.code).toBe(0);
    expect(a.stdout.trim().split('\n')).toHaveLength(3);
    const s = JSON.parse(run(['ledger', 'status', ...base, '--json']).stdout);
    expect(s.size).toBe(3);
    const cp = run(['ledger', 'checkpoint', ...base, '--key', keyFile]);
    expect(cp.code).toBe(0);
    expect(cp.stdout.split('\n').slice(0, 2)).toEqual(['cli.example/log', '3']);
    writeFileSync(join(dir, 'cp'), cp.stdout);
    const pk = Buffer.from(kp.publicKey).toString('hex');
    expect(run(['ledger', 'check', '--checkpoint', join(dir, 'cp'), '--public-key', pk]).stdout).toMatch(/^valid/);
    expect(run(['ledger', 'bundle', ...base, '--key', keyFile, '1', '--out', join(dir, 'b')]).code).toBe(0);
    expect(run(['ledger', 'check', '--bundle', join(dir, 'b'), '--public-key', pk]).code).toBe(0);
    const other = Buffer.from(ed25519.generateKeyPair().publicKey).toString('hex');
    const bad = run(['ledger', 'check', '--bundle', join(dir, 'b'), '--public-key', other]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^INVALID/);
    expect(run(['ledger', 'get', ...base, '2']).stdout).toBe('three');
    expect(run(['ledger', 'verify', ...base, '--full']).stdout).toMatch(/^ok: 3 entries/);
    const wrong = run(['ledger', 'status', '--dir', join(dir, 'log'), '--origin', 'x.example']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^omnitide: origin:/);
  });
});
