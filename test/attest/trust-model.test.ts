// Issue 10: the trust-model defects, through the public API. Each case fails on the old code.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority, RevocationWatcher, trustRoot, verify } from '../../ts/attest/index.js';

const T1 = 'https://slsa.dev/provenance/v1';
const root = mkdtempSync(join(tmpdir(), 'omni-trust-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `a${n++}`);
const sub = (name: string) => ({ name, digest: { sha256: 'ab'.repeat(32) } });
const plain = { insecurePlaintext: true } as const;

describe('issue 10: attest trust model', () => {
  it('1: a narrowly delegated key cannot revoke a root attestation or the root key; `by` is recorded', async () => {
    const dir = newDir();
    const a = await Authority.open(dir, plain);
    a.createKey('root');
    a.createKey('narrow');
    const roots = trustRoot([a.exportPublicKey('root')]);
    const d = await a.delegate({ from: 'root', to: 'narrow', scope: { subjects: ['pkg:npm/only-this'], maxDepth: 0 } });
    const iss = await a.issue({ signer: 'root', subject: [sub('pkg:npm/other')], predicateType: T1 });
    const past = Date.now() - 60_000;
    await a.revoke({ attestation: iss.id, reason: 'mine now', by: 'narrow', effectiveFrom: past });
    await a.revoke({ key: a.keyInfo('root').keyid, reason: 'mine now', by: 'narrow', effectiveFrom: past });
    const opts = { roots, delegations: [d.envelope] };
    const v = a.verify(iss.envelope, opts);
    expect(v.valid).toBe(true);
    expect(v.warnings).toHaveLength(2);
    expect(v.warnings.every((w) => w.startsWith('ignored revocation'))).toBe(true);
    expect(RevocationWatcher.open(dir).verify(iss.envelope, opts)).toMatchObject({ valid: true });
    expect(a.revocations().map((r) => r.by)).toEqual([a.keyInfo('narrow').keyid, a.keyInfo('narrow').keyid]);
    // The issuer can.
    await a.revoke({ attestation: iss.id, reason: 'bad build', by: 'root', effectiveFrom: past });
    expect(a.verify(iss.envelope, opts).reason).toBe('revoked');
    expect(RevocationWatcher.open(dir).verify(iss.envelope, opts).reason).toBe('revoked');
    a.close();
  });

  it('1: a root key with a 2-of-3 root needs two root keys to revoke it', async () => {
    const a = await Authority.open(newDir(), plain);
    for (const k of ['r1', 'r2', 'r3']) a.createKey(k);
    const roots = trustRoot(['r1', 'r2', 'r3'].map((k) => a.exportPublicKey(k)), { threshold: 2 });
    const one = await a.issue({ signer: 'r1', subject: [sub('x')], predicateType: T1 });
    const env = (await a.cosign(one.envelope, 'r2')).envelope;
    expect(a.verify(env, { roots }).valid).toBe(true);
    await a.revoke({ key: a.keyInfo('r1').keyid, reason: 'alone', by: 'r3', effectiveFrom: Date.now() - 60_000 });
    expect(a.verify(env, { roots })).toMatchObject({ valid: true, warnings: [expect.stringContaining('threshold of the root role')] });
    await a.revoke({ key: a.keyInfo('r1').keyid, reason: 'compromised', by: 'r3', cosigners: ['r2'], effectiveFrom: Date.now() - 60_000 });
    expect(a.verify(env, { roots }).reason).toBe('threshold_not_met');
    a.close();
  });

  it('2: verifyBundle needs trust anchors; a rogue authority or a revoked signer does not pass', async () => {
    const a = await Authority.open(newDir(), plain);
    const rogue = await Authority.open(newDir(), plain);
    a.createKey('root');
    rogue.createKey('root');
    const roots = trustRoot([a.exportPublicKey('root')]);
    const fake = await rogue.issue({ signer: 'root', subject: [sub('x')], predicateType: T1 });
    const fb = await rogue.auditBundle(fake.id);
    expect(Authority.verifyBundle(fb)).toMatchObject({ valid: false, reason: 'unknown_key' });
    expect(Authority.verifyBundle(fb).detail).toContain('no trust anchors');
    expect(Authority.verifyBundle(fb, { logPublicKey: a.logPublicKey! }).valid).toBe(false);
    expect(Authority.verifyBundle(fb, { roots }).valid).toBe(false);
    const real = await a.issue({ signer: 'root', subject: [sub('x')], predicateType: T1 });
    const b = await a.auditBundle(real.id);
    expect(Authority.verifyBundle(b, { logPublicKey: a.logPublicKey!, roots })).toMatchObject({ valid: true, warnings: [] });
    expect(Authority.verifyBundle(b, { roots }).warnings[0]).toContain('no trusted log key');
    a.createKey('ci');
    const d = await a.delegate({ from: 'root', to: 'ci' });
    const byCi = await a.issue({ signer: 'ci', subject: [sub('y')], predicateType: T1 });
    const bc = await a.auditBundle(byCi.id);
    await a.revoke({ key: a.keyInfo('ci').keyid, reason: 'leaked', by: 'root', effectiveFrom: Date.now() - 60_000 });
    expect(a.verifyBundle(bc, { roots, delegations: [d.envelope] }).reason).toBe('revoked');
    a.close();
    rogue.close();
  });

  it('3: the root threshold applies when no role is named', async () => {
    const a = await Authority.open(newDir(), plain);
    a.createKey('k1');
    a.createKey('k2');
    const roots = trustRoot([a.exportPublicKey('k1'), a.exportPublicKey('k2')], { threshold: 2 });
    const one = await a.issue({ signer: 'k1', subject: [sub('x')], predicateType: T1 });
    expect(verify(one.envelope, { roots }).reason).toBe('threshold_not_met');
    const twice = { ...one.envelope, signatures: [one.envelope.signatures[0], one.envelope.signatures[0]] };
    expect(verify(twice, { roots }).reason).toBe('threshold_not_met');
    expect(verify((await a.cosign(one.envelope, 'k2')).envelope, { roots }).valid).toBe(true);
    a.close();
  });

  it('5: keys are encrypted by default; 0700/0600 under umask 000; a plaintext store is encrypted later', async () => {
    const dir = newDir();
    await expect(Authority.open(dir)).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/^passphrase: required/) });
    const old = process.umask(0);
    let a: Authority;
    try {
      a = await Authority.open(dir, plain);
      a.createKey('k');
    } finally {
      process.umask(old);
    }
    for (const d of [dir, join(dir, 'keys'), join(dir, 'system')]) expect(statSync(d).mode & 0o777).toBe(0o700);
    for (const f of ['authority.json', 'keys/k.json', 'system/audit-log.json']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const pk = a.exportPublicKey('k');
    await expect(Authority.reencrypt(dir, { newPassphrase: 'pw' })).rejects.toMatchObject({ code: 'ERR_OMNI_LOCKED' });
    a.close();
    await Authority.reencrypt(dir, { newPassphrase: 'pw' });
    expect(readFileSync(join(dir, 'keys/k.json'), 'utf8')).not.toContain('plain');
    await expect(Authority.open(dir, plain)).rejects.toThrow(/encrypted; a passphrase is required/);
    const again = await Authority.open(dir, { passphrase: 'pw' });
    expect(again.exportPublicKey('k')).toEqual(pk);
    expect(again.keyInfo('k').hasSecret).toBe(true);
    again.close();
  });

  it('7: a revoked key cannot issue', async () => {
    const a = await Authority.open(newDir(), plain);
    a.createKey('root');
    a.createKey('ci');
    await a.delegate({ from: 'root', to: 'ci' });
    await a.issue({ signer: 'ci', subject: [sub('x')], predicateType: T1 });
    await a.revoke({ key: a.keyInfo('ci').keyid, reason: 'leaked', by: 'root' });
    await expect(a.issue({ signer: 'ci', subject: [sub('y')], predicateType: T1 })).rejects.toThrow(/key 'ci' .* revoked/);
    a.close();
  });

  it('11: per-authority origin and SHA-256 trees for the audit log', async () => {
    const a = await Authority.open(newDir(), { ...plain, logHash: 'sha256' });
    const b = await Authority.open(newDir(), { ...plain, logOrigin: 'example.com/attest' });
    expect(a.logOrigin).not.toBe(b.logOrigin);
    expect(b.logOrigin).toBe('example.com/attest');
    a.createKey('root');
    const iss = await a.issue({ signer: 'root', subject: [sub('x')], predicateType: T1 });
    const bundle = await a.auditBundle(iss.id);
    expect(bundle.hashAlg).toBe('sha256');
    expect(bundle.checkpoint.text.startsWith(`${a.logOrigin}\n`)).toBe(true);
    a.close();
    b.close();
  });
});
