import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, type Envelope, keyId, RevocationWatcher, trustRoot, verify, verifyMany, verifyManyAsync, verifyRotation } from '../../ts/attest/index.js';
import { OmniError } from '../../ts/errors.js';

const T1 = 'https://slsa.dev/provenance/v1';
const T2 = 'https://example.com/test-result/v1';
const root = mkdtempSync(join(tmpdir(), 'omni-attest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `a${n++}`);
const sub = (name: string) => ({ name, digest: { sha256: 'ab'.repeat(32) } });

describe('omnitide/attest', () => {
  let a: Authority;
  let roots: ReturnType<typeof trustRoot>;
  beforeAll(async () => {
    a = await Authority.open(newDir(), { insecurePlaintext: true });
    for (const k of ['root', 'a', 'b', 'c', 'k1', 'k2', 'k3']) a.createKey(k);
    roots = trustRoot([a.exportPublicKey('root')], {
      roles: { release: { keys: ['k1', 'k2', 'k3'].map((k) => a.exportPublicKey(k)), threshold: 2 } },
    });
  });

  it('issues DSSE/in-toto envelopes and verifies them; key IDs are BLAKE3 of the key', async () => {
    const info = a.keyInfo('root');
    expect(info.keyid).toBe(keyId(info.publicKey));
    const iss = await a.issue({ signer: 'root', subject: [sub('pkg/a')], predicateType: T1, predicate: { b: 1, a: 2 } });
    expect(iss.envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(iss.envelope.signatures[0].keyid).toBe(info.keyid);
    const st = JSON.parse(Buffer.from(iss.envelope.payload, 'base64').toString());
    expect(st._type).toBe('https://in-toto.io/Statement/v1');
    expect(Object.keys(st.predicate)).toEqual(['a', 'b']); // RFC 8785 key order
    const v = verify(iss.envelope, { roots: [a.exportPublicKey('root')] });
    expect(v).toMatchObject({ valid: true, reason: null, id: iss.id, signers: [info.keyid], chain: [] });
    // Re-serialized (pretty, other key order) stays valid.
    const pretty = JSON.stringify({ signatures: iss.envelope.signatures, payload: iss.envelope.payload, payloadType: iss.envelope.payloadType }, null, 2);
    expect(verify(pretty, { roots }).valid).toBe(true);
  });

  it('reports every reason instead of throwing; wrong argument types throw OmniError', async () => {
    const iss = await a.issue({ signer: 'root', subject: [sub('x')], predicateType: T1 });
    const tampered: Envelope = { ...iss.envelope, payload: Buffer.from(Buffer.from(iss.envelope.payload, 'base64').toString().replace('"x"', '"y"')).toString('base64') };
    expect(verify(tampered, { roots }).reason).toBe('bad_signature');
    const badSig = structuredClone(iss.envelope);
    const s = Buffer.from(badSig.signatures[0].sig, 'base64');
    s[5] ^= 1;
    badSig.signatures[0].sig = s.toString('base64');
    expect(verify(badSig, { roots }).reason).toBe('bad_signature');
    expect(verify(iss.envelope, { roots: [a.exportPublicKey('a')] }).reason).toBe('unknown_key');
    expect(verify('{"nope":1}', { roots }).reason).toBe('malformed');
    expect(verify(iss.envelope, { roots, limits: { maxEnvelopeBytes: 64 } }).reason).toBe('malformed');
    const exp = await a.issue({ signer: 'root', subject: [sub('x')], predicateType: T1, expiresAt: Date.now() + 1000 });
    expect(verify(exp.envelope, { roots, at: Date.now() + 5000 }).reason).toBe('expired'); // replayed later
    expect(verify(exp.envelope, { roots, at: Date.now() + 5000, clockSkewMs: 10_000 }).valid).toBe(true);
    expect(verify(iss.envelope, { roots, role: 'nope' })).toMatchObject({ valid: false, reason: 'unknown_key', detail: "role 'nope' is not defined in the trust root" });
    expect(() => verify(iss.envelope, { roots: 'x' } as never)).toThrow(/opts.roots/);
    await expect(a.issue({ signer: 'root', subject: [], predicateType: T1 })).rejects.toThrow(OmniError);
    await expect(a.issue({ signer: 'nobody', subject: [sub('x')], predicateType: T1 })).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT' });
  });

  it('verifies a 3-level delegation chain offline and rejects widening children', async () => {
    const d1 = await a.delegate({ from: 'root', to: 'a', scope: { predicateTypes: [T1, T2], subjects: ['pkg/**'], maxDepth: 2 } });
    const d2 = await a.delegate({ from: 'a', to: 'b', scope: { predicateTypes: [T1], subjects: ['pkg/a/*'], maxDepth: 1 } });
    const d3 = await a.delegate({ from: 'b', to: 'c', scope: { maxDepth: 0 } });
    const delegations = [d3.envelope, d1.envelope, d2.envelope];
    const ok = await a.issue({ signer: 'c', subject: [sub('pkg/a/x')], predicateType: T1 });
    const v = verify(ok.envelope, { roots, delegations });
    expect(v.valid).toBe(true);
    expect(v.chain).toEqual([d1.id, d2.id, d3.id]);
    const outside = await a.issue({ signer: 'c', subject: [sub('pkg/b/x')], predicateType: T1 });
    expect(verify(outside.envelope, { roots, delegations }).reason).toBe('out_of_scope');
    const wrongType = await a.issue({ signer: 'c', subject: [sub('pkg/a/x')], predicateType: T2 });
    expect(verify(wrongType.envelope, { roots, delegations }).reason).toBe('out_of_scope');
    // A child that widens its parent's predicate types fails even for an allowed statement.
    const wide = await a.delegate({ from: 'a', to: 'b', scope: { predicateTypes: [T1, 'https://other/v1'] } });
    const v2 = verify(ok.envelope, { roots, delegations: [d1.envelope, wide.envelope, d3.envelope] });
    expect(v2.reason).toBe('out_of_scope');
    expect(verify(ok.envelope, { roots }).reason).toBe('unknown_key');
  });

  it('repeated verifies with a cached chain still reject tampering and see revocations', async () => {
    const b = await Authority.open(newDir(), { insecurePlaintext: true });
    for (const k of ['root', 'a', 'b', 'c']) b.createKey(k);
    const r = trustRoot([b.exportPublicKey('root')]);
    const ds = [
      await b.delegate({ from: 'root', to: 'a', scope: { subjects: ['pkg/**'] } }),
      await b.delegate({ from: 'a', to: 'b', scope: {} }),
      await b.delegate({ from: 'b', to: 'c', scope: {} }),
    ];
    const delegations = ds.map((d) => d.envelope);
    const iss = await b.issue({ signer: 'c', subject: [sub('pkg/x')], predicateType: T1 });
    for (let i = 0; i < 3; i++) expect(verify(iss.envelope, { roots: r, delegations }).valid).toBe(true);
    const flipPayload = (e: Envelope): Envelope => {
      const body = Buffer.from(e.payload, 'base64');
      body[body.indexOf('"nonce":"') + 9] ^= 1;
      return { ...e, payload: body.toString('base64') };
    };
    const flipSig = (e: Envelope): Envelope => {
      const sig = Buffer.from(e.signatures[0].sig, 'base64');
      sig[5] ^= 1;
      return { ...e, signatures: [{ ...e.signatures[0], sig: sig.toString('base64') }] };
    };
    for (let level = 0; level < 3; level++) {
      for (const t of [flipPayload(delegations[level]), flipSig(delegations[level])]) {
        const ds2 = delegations.map((d, i) => (i === level ? t : d));
        expect(verify(iss.envelope, { roots: r, delegations: ds2 }).reason).toBe('bad_signature');
        expect(verifyMany([iss.envelope, iss.envelope], { roots: r, delegations: ds2 }).map((v) => v.reason)).toEqual(['bad_signature', 'bad_signature']);
      }
    }
    expect(verify(iss.envelope, { roots: r, delegations }).valid).toBe(true);
    await b.revoke({ attestation: ds[1].id, reason: 'team key leaked', by: 'a', effectiveFrom: Date.now() - 60_000 });
    const v = b.verify(iss.envelope, { roots: r, delegations });
    expect(v.reason).toBe('revoked');
    expect(v.detail).toContain(ds[1].id);
    b.close();
  });

  it('counts distinct keys toward a role threshold', async () => {
    const one = await a.issue({ signer: 'k1', subject: [sub('r')], predicateType: T1 });
    expect(verify(one.envelope, { roots, role: 'release' }).reason).toBe('threshold_not_met');
    const dup = structuredClone(one.envelope);
    dup.signatures.push({ ...dup.signatures[0] });
    expect(verify(dup, { roots, role: 'release' }).reason).toBe('threshold_not_met');
    const two = await a.cosign(one.envelope, 'k2');
    expect(two.id).toBe(one.id);
    const v = verify(two.envelope, { roots, role: 'release' });
    expect(v.valid).toBe(true);
    expect(v.signers).toHaveLength(2);
  });

  it('verifyMany matches verify item by item (sync and async)', async () => {
    const envs = (await a.issueMany(Array.from({ length: 20 }, (_, i) => ({ signer: i % 3 ? 'root' : 'a', subject: [sub(`m${i}`)], predicateType: T1 })))).map((x) => x.envelope);
    envs[4] = { ...envs[4], payload: envs[5].payload };
    const many = verifyMany(envs, { roots });
    expect(many.map((v) => v.reason)).toEqual(envs.map((e) => verify(e, { roots }).reason));
    expect((await verifyManyAsync(envs, { roots })).map((v) => v.valid)).toEqual(many.map((v) => v.valid));
    expect(many.filter((v) => v.valid).length).toBe(12);
  });

  it('revokes attestations and keys; revocations apply in this authority', async () => {
    const iss = await a.issue({ signer: 'root', subject: [sub('rv')], predicateType: T1 });
    expect(a.verify(iss.envelope, { roots }).valid).toBe(true);
    await a.revoke({ attestation: iss.id, reason: 'bad build', by: 'root', effectiveFrom: Date.now() - 1 });
    const v = a.verify(iss.envelope, { roots });
    expect(v.reason).toBe('revoked');
    expect(v.detail).toContain('bad build');
    expect(a.revocations().some((r) => 'attestation' in r.target && r.target.attestation === iss.id)).toBe(true);
    await expect(a.revoke({ reason: 'x', by: 'root' } as never)).rejects.toThrow(/exactly one/);
  });

  it('root rotation needs a threshold of old and new roots', async () => {
    const old = trustRoot(['k1', 'k2', 'k3'].map((k) => a.exportPublicKey(k)), { threshold: 2 });
    const next = trustRoot(['a', 'b', 'c'].map((k) => a.exportPublicKey(k)), { threshold: 2, version: 2 });
    const good = await a.signRoot(next, ['k1', 'k2', 'a', 'b']);
    expect(verifyRotation(old, good.envelope)).toMatchObject({ valid: true, root: next });
    const half = await a.signRoot(next, ['a', 'b', 'c']);
    expect(verifyRotation(old, half.envelope)).toMatchObject({ valid: false, reason: 'threshold_not_met' });
  });

  it('audit bundles verify offline against the ledger key', async () => {
    const iss = await a.issue({ signer: 'root', subject: [sub('aud')], predicateType: T1 });
    const b = await a.auditBundle(iss.id);
    expect(b.checkpoint.text).toContain(`\n\u2014 ${a.logOrigin} `);
    expect(a.logOrigin).toMatch(/^omnitide-attest\/[0-9a-f]{16}$/);
    expect(Authority.verifyBundle(b, { logPublicKey: a.logPublicKey! }).valid).toBe(true);
    expect(Authority.verifyBundle(b, { logPublicKey: a.logPublicKey!, roots }).valid).toBe(true);
    const other = await a.issue({ signer: 'root', subject: [sub('aud2')], predicateType: T1 });
    expect(Authority.verifyBundle({ ...b, envelope: other.envelope }, { logPublicKey: a.logPublicKey! }).reason).toBe('malformed');
    expect(Authority.verifyBundle(b, { logPublicKey: new Uint8Array(32).fill(7) }).reason).toBe('unknown_key');
  });

  it('a parallel batch: every issued envelope is in the audit log (proof verifies), a tampered one is not; bad requests still name the argument', async () => {
    const reqs = Array.from({ length: 130 }, (_, i) => ({ signer: 'root', subject: [sub(`batch/${i}`)], predicateType: T1, predicate: { i } }));
    const out = await a.issueMany(reqs);
    expect(new Set(out.map((o) => o.id)).size).toBe(130);
    expect(out.map((o) => o.logIndex)).toEqual(out.map((_, i) => out[0].logIndex + i));
    for (const o of [out[0], out[77], out[129]]) {
      expect(verify(o.envelope, { roots }).valid).toBe(true);
      const b = await a.auditBundle(o.id);
      expect(b.inclusionProof.index).toBe(o.logIndex);
      expect(Authority.verifyBundle(b, { logPublicKey: a.logPublicKey!, roots }).valid).toBe(true);
      const payload = Buffer.from(Buffer.from(o.envelope.payload, 'base64').toString().replace('"batch/', '"batcH/')).toString('base64');
      expect(Authority.verifyBundle({ ...b, envelope: { ...b.envelope, payload } }, { logPublicKey: a.logPublicKey! }).valid).toBe(false);
    }
    // shapes the hand-written fast check does not accept go through zod and are rejected whole
    const bad: unknown[] = [
      { ...reqs[0], extra: 1 },
      { ...reqs[0], expiresAt: 1.5 },
      { ...reqs[0], subject: [] },
      { ...reqs[0], subject: [{ name: 'x', digest: { sha256: 1 } }] },
      { ...reqs[0], predicateType: '' },
    ];
    for (const q of bad) {
      await expect(a.issueMany([reqs[1], q as (typeof reqs)[0]])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/requests\[1\]/) });
    }
    await expect(a.issueMany([{ ...reqs[0], signer: 'nobody' }])).rejects.toThrow(/nobody/);
  });

  it('issueManyJson: envelopes as canonical JSON (RFC 8785) strings, the bytes issueMany gives, that verify, are audited and fail when tampered', async () => {
    // an independent RFC 8785 writer: keys in UTF-16 order, JS number and string forms
    const jcs = (v: unknown): string =>
      Array.isArray(v)
        ? `[${v.map(jcs).join(',')}]`
        : v !== null && typeof v === 'object'
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${jcs((v as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(v);
    const predicate = { z: [1.5, -2, 1e21, null, true], a: { '\u{1F600}': 'é\u0001\n"\\/', '\uffff': 2, b: {} }, evidence: ['ab'], n: 9007199254740991 };
    const reqs = Array.from({ length: 70 }, (_, i) => ({ signer: i % 2 ? 'a' : 'root', subject: [sub(`json/${i}`)], predicateType: T1, predicate: { ...predicate, i } }));
    const out = await a.issueManyJson(reqs);
    expect(out).toHaveLength(70);
    expect(out.map((o) => o.logIndex)).toEqual(out.map((_, i) => out[0].logIndex + i));
    for (const [i, o] of out.entries()) {
      const env = JSON.parse(o.envelope) as Envelope;
      // what the ledger stored before (JSON.stringify of issueMany's envelope object) is these bytes
      expect(JSON.stringify(env)).toBe(o.envelope);
      expect(jcs(env)).toBe(o.envelope);
      const stmt = Buffer.from(env.payload, 'base64').toString('utf8');
      expect(jcs(JSON.parse(stmt))).toBe(stmt);
      expect(JSON.parse(stmt)).toMatchObject({ _type: 'https://in-toto.io/Statement/v1', subject: [sub(`json/${i}`)], predicateType: T1, predicate: { ...predicate, i } });
      expect(verify(o.envelope, { roots }).valid).toBe(i % 2 === 0);
      expect(verify(o.envelope, { roots, delegations: [] }).id).toBe(o.id);
    }
    // the same shape through issueMany: envelope objects that print to the same kind of string
    const [viaObject] = await a.issueMany([reqs[0]]);
    expect(jcs(viaObject.envelope)).toBe(JSON.stringify(viaObject.envelope));
    const b = await a.auditBundle(out[4].id);
    expect(b.inclusionProof.index).toBe(out[4].logIndex);
    expect(JSON.stringify(b.envelope)).toBe(out[4].envelope);
    expect(Authority.verifyBundle(b, { logPublicKey: a.logPublicKey!, roots }).valid).toBe(true);
    const tampered = out[4].envelope.replace(/"payload":"./, (m) => m.slice(0, -1) + (m.endsWith('e') ? 'f' : 'e'));
    expect(verify(tampered, { roots }).valid).toBe(false);
    expect(Authority.verifyBundle({ ...b, envelope: JSON.parse(tampered) }, { logPublicKey: a.logPublicKey! }).valid).toBe(false);
    await expect(a.issueManyJson([reqs[0], { ...reqs[0], predicateType: '' }])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/requests\[1\]/) });
    expect(await a.issueManyJson([])).toEqual([]);
  });

  it('issueManyJson: a request given as its JSON text signs the same statement, checked natively with the argument named', async () => {
    const req = { signer: 'root', subject: [sub('text/0')], predicateType: T1, predicate: { b: 'é', a: [1, 2] } };
    const [asText, asObject] = await a.issueManyJson([JSON.stringify(req), req]);
    const stmt = (e: string) => JSON.parse(Buffer.from((JSON.parse(e) as Envelope).payload, 'base64').toString('utf8'));
    const { omnitide: m1, ...s1 } = stmt(asText.envelope);
    const { omnitide: m2, ...s2 } = stmt(asObject.envelope);
    expect(s1).toEqual(s2);
    expect(Object.keys(m1)).toEqual(Object.keys(m2));
    expect(asObject.logIndex).toBe(asText.logIndex + 1);
    expect(verify(asText.envelope, { roots }).valid).toBe(true);
    // what the object form refuses, the text form refuses too, and nothing of the batch is issued
    const bad = async (text: string, what: RegExp) =>
      expect(a.issueManyJson([req, text])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(what) });
    await bad('{', /requests\[1\]/);
    await bad('[]', /requests\[1\]/);
    await bad(JSON.stringify({ ...req, issuedAt: 1 }), /requests\[1\]\.issuedAt: unknown field/);
    await bad(JSON.stringify({ ...req, subject: [{ ...sub('x'), uri: 'u' }] }), /requests\[1\]\.subject\[0\]\.uri: unknown field/);
    await bad(JSON.stringify({ ...req, signer: 7 }), /requests\[1\]\.signer/);
    await bad(JSON.stringify({ ...req, predicateType: '' }), /requests\[1\]\.predicateType/);
    const [next] = await a.issueManyJson([req]);
    expect(next.logIndex).toBe(asObject.logIndex + 1);
  });

  it('encrypts keys at rest with a passphrase', async () => {
    const dir = newDir();
    const p = await Authority.open(dir, { passphrase: 'pw' });
    p.createKey('k');
    await expect(Authority.open(dir, { passphrase: 'pw' })).rejects.toMatchObject({ code: 'ERR_OMNI_LOCKED' });
    p.close();
    expect(() => p.createKey('x')).toThrow(expect.objectContaining({ code: 'ERR_OMNI_CLOSED' }));
    await expect(Authority.open(dir, { passphrase: 'wrong' })).rejects.toThrow(/wrong passphrase/);
    const again = await Authority.open(dir, { passphrase: 'pw' });
    expect(again.keyInfo('k').hasSecret).toBe(true);
    again.close();
  });
});

describe('revocation seen by a second process', () => {
  it('a watcher in another process sees a revocation without restarting', async () => {
    const dir = newDir();
    const a = await Authority.open(dir, { insecurePlaintext: true });
    a.createKey('root');
    const roots = trustRoot([a.exportPublicKey('root')]);
    const iss = await a.issue({ signer: 'root', subject: [sub('live')], predicateType: T1 });
    writeFileSync(join(dir, 'env.json'), JSON.stringify(iss.envelope));
    writeFileSync(join(dir, 'roots.json'), JSON.stringify(roots));
    const dist = resolve(__dirname, '..', '..', 'dist', 'attest', 'index.js');
    const script = `
      const { RevocationWatcher } = require(${JSON.stringify(dist)});
      const fs = require('fs');
      const dir = ${JSON.stringify(dir)};
      const env = fs.readFileSync(dir + '/env.json', 'utf8');
      const roots = JSON.parse(fs.readFileSync(dir + '/roots.json', 'utf8'));
      const w = RevocationWatcher.open(dir, { pollMs: 50 });
      let said = false;
      const t = setInterval(() => {
        const v = w.verify(env, { roots });
        if (v.valid && !said) { said = true; console.log('valid'); }
        if (v.reason === 'revoked') { console.log('revoked ' + Date.now()); process.exit(0); }
      }, 10);
      setTimeout(() => process.exit(3), 20000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('valid');
    const t = Date.now();
    await a.revoke({ attestation: iss.id, reason: 'compromised', by: 'root', effectiveFrom: t - 1 });
    const seen = Number(String((await lines.next()).value).split(' ')[1]);
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    console.log(`revocation seen by the second process after ${seen - t} ms`);
    // The watcher in this process agrees.
    expect(RevocationWatcher.open(dir).verify(iss.envelope, { roots }).reason).toBe('revoked');
  });
});
