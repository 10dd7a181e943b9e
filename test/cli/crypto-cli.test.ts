import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'omni-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: Uint8Array | string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 24 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function b3sum(args: string[], input?: Uint8Array | string) {
  const r = spawnSync('b3sum', args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.stdout;
}

const hasB3sum = spawnSync('b3sum', ['--version']).status === 0;
if (!hasB3sum && process.env.CI === 'true') throw new Error('b3sum is required under CI (apt-get install b3sum)');

describe('omnitide CLI: crypto commands', () => {
  const files: string[] = [];
  beforeAll(() => {
    expect(existsSync(CLI)).toBe(true);
    for (const [name, size] of [['empty', 0], ['one', 1], ['mib1', (1 << 20) + 1], ['big100', 100 << 20]] as const) {
      const p = join(dir, name);
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4093) data[i] = i & 255;
      writeFileSync(p, data);
      files.push(p);
    }
    const odd = join(dir, 'back\\slash\nnewline');
    writeFileSync(odd, 'odd name');
    files.push(odd);
  });

  it.runIf(hasB3sum)('hash output equals b3sum line for line (empty, 1 B, 1 MiB+1, 100 MiB, escaped names)', () => {
    expect(statSync(files[3]).size).toBe(100 << 20);
    const ours = run(['hash', ...files]);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(b3sum(files));
  });

  it.runIf(hasB3sum)('options match b3sum: --length, --no-names, --derive-key, --keyed, stdin', () => {
    expect(run(['hash', '--length', '100', files[1]]).stdout).toBe(b3sum(['--length', '100', files[1]]));
    expect(run(['hash', '--no-names', files[2]]).stdout).toBe(b3sum(['--no-names', files[2]]));
    expect(run(['hash', '--derive-key', 'ctx 1', files[2]]).stdout).toBe(b3sum(['--derive-key', 'ctx 1', files[2]]));
    const key = Buffer.alloc(32, 9);
    expect(run(['hash', '--keyed', files[2]], key).stdout).toBe(b3sum(['--keyed', files[2]], key));
    expect(run(['hash'], 'from stdin').stdout).toBe(b3sum([], 'from stdin'));
    expect(run(['hash', '-'], 'dash').stdout).toBe(b3sum(['-'], 'dash'));
  });

  it('a missing file fails with a one-line reason and exit 1, other files still print', () => {
    const r = run(['hash', join(dir, 'missing'), files[1]]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('missing');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('keygen, sign, verify round trip through files, and a tampered message fails', () => {
    const prefix = join(dir, 'k');
    expect(run(['keygen', '--out', prefix]).code).toBe(0);
    const sig = run(['sign', '--key', `${prefix}.key`, files[1]]);
    expect(sig.code).toBe(0);
    expect(sig.stdout.trim()).toMatch(/^[0-9a-f]{128}$/);
    const ok = run(['verify', '--pub', `${prefix}.pub`, '--sig', sig.stdout.trim(), files[1]]);
    expect(ok).toMatchObject({ code: 0, stdout: 'OK\n' });
    const bad = run(['verify', '--pub', `${prefix}.pub`, '--sig', sig.stdout.trim(), files[0], '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({ valid: false });
    expect(run(['keygen', '--out', prefix]).code).toBe(1); // never overwrites a key
  });

  it('10.6: key files carry their type; key material is never echoed in errors', () => {
    const prefix = join(dir, 'typed');
    expect(run(['keygen', '--out', prefix]).code).toBe(0);
    const sec = JSON.parse(readFileSync(`${prefix}.key`, 'utf8'));
    expect(sec.type).toBe('ed25519-secret-seed');
    expect(JSON.parse(readFileSync(`${prefix}.pub`, 'utf8')).type).toBe('ed25519-public-key');
    const pub = run(['sign', '--key', `${prefix}.pub`, files[1]]);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(/holds a public key; a secret key is needed/);
    expect(run(['verify', '--pub', `${prefix}.key`, '--sig', '00'.repeat(64), files[1]]).stderr).toMatch(/holds a secret key; a public key is needed/);
    // A legacy bare-hex .pub file is not taken as a secret either.
    writeFileSync(join(dir, 'legacy.pub'), 'ab'.repeat(32));
    expect(run(['sign', '--key', join(dir, 'legacy.pub'), files[1]]).stderr).toMatch(/public key/);
    for (const typo of [sec.hex.slice(0, 63), sec.hex.slice(0, 62) + 'zz', sec.hex + '0']) {
      const r = run(['sign', '--key', typo, files[1]]);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain(typo);
      expect(r.stderr).not.toContain(sec.hex.slice(0, 16));
    }
  });

  it('--help works on every level; unknown commands and bad flags exit 2 with one line', () => {
    expect(run(['--help'])).toMatchObject({ code: 0 });
    for (const c of ['hash', 'keygen', 'sign', 'verify']) {
      const r = run([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`omnitide ${c}`);
    }
    const u = run(['frobnicate']);
    expect(u.code).toBe(2);
    expect(u.stderr.trim().split('\n')).toHaveLength(1);
    expect(run(['hash', '--bogus']).code).toBe(2);
    const k = run(['sign', '--key', 'abcd', files[1]]);
    expect(k.code).toBe(1);
    expect(k.stderr).not.toContain('    at ');
  });
});
