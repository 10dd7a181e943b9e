import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519 } from '../../ts/crypto/index.js';
import { Ledger } from '../../ts/ledger/index.js';

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
    // 11.18: the human status shows the checkpoint.
    const st = run(['ledger', 'status', '--dir', join(dir, 'log')]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/checkpoint \(tree size 3\):\ncli\.example\/log\n3\n/);
    // 10.4: another key cannot hand out bundles; an explicit rotation can.
    const other2 = join(dir, 'k2');
    expect(run(['keygen', '--out', other2]).code).toBe(0);
    const sw = run(['ledger', 'bundle', ...base, '--key', `${other2}.key`, '1', '--out', join(dir, 'b2')]);
    expect(sw.code).toBe(1);
    expect(sw.stderr).toMatch(/^omnitide: signer: .*rotate/);
    expect(run(['ledger', 'bundle', ...base, '--key', `${other2}.key`, '--rotate-key', '1', '--out', join(dir, 'b2')]).code).toBe(0);
    const pk2 = JSON.parse(readFileSync(`${other2}.pub`, 'utf8')).hex;
    expect(run(['ledger', 'check', '--bundle', join(dir, 'b2'), '--public-key', pk2]).code).toBe(0);
    // A public key file is not a signing key.
    expect(run(['ledger', 'checkpoint', ...base, '--key', `${other2}.pub`]).stderr).toMatch(/public key; a secret key is needed/);
  });

  it('10.13: status, verify, get and proof work while a service holds the write lock', async () => {
    const d = join(dir, 'live');
    const w = await Ledger.open(d, { origin: 'live.example/log' });
    try {
      await w.appendMany(['a', 'b', 'c', 'd']);
      expect(run(['ledger', 'append', '--dir', d, '--origin', 'live.example/log', 'x']).stderr).toMatch(/ERR_OMNI_LOCKED|already open/);
      const s = JSON.parse(run(['ledger', 'status', '--dir', d, '--json']).stdout);
      expect(s).toMatchObject({ origin: 'live.example/log', size: 4 });
      expect(run(['ledger', 'verify', '--dir', d, '--full']).stdout).toMatch(/^ok: 4 entries/);
      expect(run(['ledger', 'get', '--dir', d, '3']).stdout).toBe('d');
      const p = JSON.parse(run(['ledger', 'proof', '--dir', d, '1', '--consistency-from', '2', '--json']).stdout);
      expect(p.rootHash).toBe(Buffer.from(w.root()).toString('hex'));
      expect(Ledger.verifyInclusion({ entry: 'b', index: 1, treeSize: 4, proof: p.inclusion.map((h: string) => Buffer.from(h, 'hex')), rootHash: w.root() }).valid).toBe(true);
      expect(
        Ledger.verifyConsistency({ oldSize: 2, newSize: 4, oldRoot: w.root(2), newRoot: w.root(), proof: p.consistency.map((h: string) => Buffer.from(h, 'hex')) }).valid,
      ).toBe(true);
    } finally {
      await w.close();
    }
  });
});
