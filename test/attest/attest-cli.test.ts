import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'omni-attest-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'auth');
const P = '--insecure-plaintext';

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, 'attest', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnitide attest CLI', () => {
  it('key, issue, delegate, verify, revoke, audit', () => {
    expect(existsSync(CLI)).toBe(true);
    const keys: Record<string, string> = {};
    for (const k of ['root', 'ci']) {
      const r = run(['key', k, '--dir', dir, P, '--json']);
      expect(r.code, r.stderr).toBe(0);
      keys[k] = JSON.parse(r.stdout).publicKey;
    }
    const del = join(tmp, 'del.json');
    let r = run(['delegate', '--dir', dir, P, '--from', 'root', '--to', 'ci', '--subject-glob', 'pkg/*', '--max-depth', '0', '--out', del]);
    expect(r.code, r.stderr).toBe(0);
    const env = join(tmp, 'env.json');
    r = run(['issue', '--dir', dir, P, '--signer', 'ci', '--subject', `pkg/a=sha256:${'ab'.repeat(32)}`, '--predicate-type', 'https://slsa.dev/provenance/v1', '--predicate', '{"x":1}', '--out', env, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).id;
    r = run(['verify', env, '--root-key', keys.root, '--delegation', del]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid [0-9a-f]{64} signers [0-9a-f]{64} chain 1/);
    r = run(['verify', env, '--root-key', keys.root]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('invalid: unknown_key');
    r = run(['audit', id, '--dir', dir, P, '--out', join(tmp, 'bundle.json')]);
    expect(r.code, r.stderr).toBe(0);
    // 10.2: no trust anchor, no "valid".
    r = run(['audit', '--verify', join(tmp, 'bundle.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('valid bundle');
    expect(r.stderr).toContain('trust anchor');
    const logKey = run(['pubkey', '--log', '--dir', dir, P]).stdout.trim();
    expect(logKey).toMatch(/^[0-9a-f]{64}$/);
    r = run(['audit', '--verify', join(tmp, 'bundle.json'), '--log-key', logKey, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).valid).toBe(true);
    // Key JSON is Base64; flags take it as well as hex.
    r = run(['verify', env, '--root-key', Buffer.from(keys.root, 'hex').toString('base64'), '--delegation', del]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    r = run(['audit', '--verify', join(tmp, 'bundle.json'), '--log-key', Buffer.from(logKey, 'hex').toString('base64')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid bundle .*\nwarning: bundle: the envelope's signatures were not checked/);
    r = run(['revoke', '--dir', dir, P, '--attestation', id, '--reason', 'bad', '--by', 'root']);
    expect(r.code, r.stderr).toBe(0);
    r = run(['verify', env, '--root-key', keys.root, '--delegation', del, '--dir', dir, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('revoked');
    // Tampered bundle, usage errors.
    const b = JSON.parse(readFileSync(join(tmp, 'bundle.json'), 'utf8'));
    b.inclusionProof.index += 1;
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify(b));
    expect(run(['audit', '--verify', join(tmp, 'bad.json'), '--log-key', logKey]).code).toBe(1);
    r = run(['issue', '--dir', dir, P]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^omnitide: .*required/);
    expect(run(['--help']).code).toBe(0);
  });

  it('11.18: lists keys and prints a public key as the hex flags take', () => {
    const r = run(['keys', '--dir', dir, P, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const ks = JSON.parse(r.stdout);
    expect(ks.map((k: { name: string }) => k.name)).toEqual(['ci', 'root']);
    const pub = run(['pubkey', 'root', '--dir', dir, P]);
    expect(pub.stdout.trim()).toBe(ks[1].publicKey);
    expect(run(['keys', '--dir', dir, P]).stdout).toMatch(/^ci [0-9a-f]{64} [0-9a-f]{64} secret\n/);
  });

  it('10.5: no passphrase source and no terminal is an error, not a plaintext store; encrypt later', () => {
    const d = join(tmp, 'noenc');
    const r = run(['key', 'k', '--dir', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/passphrase is needed/);
    expect(existsSync(join(d, 'keys'))).toBe(false);
    expect(run(['key', 'k', '--dir', d, P]).code).toBe(0);
    writeFileSync(join(tmp, 'pwfile'), 'from a file\n');
    const e = run(['encrypt', '--dir', d, '--passphrase-file', join(tmp, 'pwfile')]);
    expect(e.code, e.stderr).toBe(0);
    expect(readFileSync(join(d, 'keys', 'k.json'), 'utf8')).toContain('ciphertext');
    expect(run(['keys', '--dir', d, P]).code).toBe(1);
    expect(run(['keys', '--dir', d, '--passphrase-file', join(tmp, 'pwfile')]).stdout).toMatch(/^k /);
  });

  it('encrypted key store via --passphrase-env', () => {
    const d = join(tmp, 'enc');
    expect(run(['key', 'k', '--dir', d, '--passphrase-env', 'PW'], { PW: 'secret' }).code).toBe(0);
    const r = run(['key', 'k2', '--dir', d, '--passphrase-env', 'PW'], { PW: 'nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('wrong passphrase');
  });
});
