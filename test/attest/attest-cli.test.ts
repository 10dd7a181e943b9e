import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'omni-attest-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'auth');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, 'attest', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnitide attest CLI', () => {
  it('key, issue, delegate, verify, revoke, audit', () => {
    expect(existsSync(CLI)).toBe(true);
    const keys: Record<string, string> = {};
    for (const k of ['root', 'ci']) {
      const r = run(['key', k, '--dir', dir, '--json']);
      expect(r.code, r.stderr).toBe(0);
      keys[k] = JSON.parse(r.stdout).publicKey;
    }
    const del = join(tmp, 'del.json');
    let r = run(['delegate', '--dir', dir, '--from', 'root', '--to', 'ci', '--subject-glob', 'pkg/*', '--max-depth', '0', '--out', del]);
    expect(r.code, r.stderr).toBe(0);
    const env = join(tmp, 'env.json');
    r = run(['issue', '--dir', dir, '--signer', 'ci', '--subject', `pkg/a=sha256:${'ab'.repeat(32)}`, '--predicate-type', 'https://slsa.dev/provenance/v1', '--predicate', '{"x":1}', '--out', env, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).id;
    r = run(['verify', env, '--root-key', keys.root, '--delegation', del]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^valid [0-9a-f]{64} signers [0-9a-f]{64} chain 1/);
    r = run(['verify', env, '--root-key', keys.root]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('invalid: unknown_key');
    r = run(['audit', id, '--dir', dir, '--out', join(tmp, 'bundle.json')]);
    expect(r.code, r.stderr).toBe(0);
    r = run(['audit', '--verify', join(tmp, 'bundle.json'), '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).valid).toBe(true);
    r = run(['revoke', '--dir', dir, '--attestation', id, '--reason', 'bad', '--by', 'root']);
    expect(r.code, r.stderr).toBe(0);
    r = run(['verify', env, '--root-key', keys.root, '--delegation', del, '--dir', dir, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).reason).toBe('revoked');
    // Tampered bundle, usage errors.
    const b = JSON.parse(readFileSync(join(tmp, 'bundle.json'), 'utf8'));
    b.inclusionProof.index += 1;
    writeFileSync(join(tmp, 'bad.json'), JSON.stringify(b));
    expect(run(['audit', '--verify', join(tmp, 'bad.json')]).code).toBe(1);
    r = run(['issue', '--dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^omnitide: .*required/);
    expect(run(['--help']).code).toBe(0);
  });

  it('encrypted key store via --passphrase-env', () => {
    const d = join(tmp, 'enc');
    expect(run(['key', 'k', '--dir', d, '--passphrase-env', 'PW'], { PW: 'secret' }).code).toBe(0);
    const r = run(['key', 'k2', '--dir', d, '--passphrase-env', 'PW'], { PW: 'nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('wrong passphrase');
  });
});
