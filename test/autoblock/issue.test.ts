/**
 * Decisions written and signed in Rust from their fields (`issueDecisions`)
 * against the path they replaced: the body printed by `JSON.stringify`,
 * hashed for the subject, sent as request JSON to `Authority.issueManyJson`
 * (parsed and canonicalised there). The signed statements must be the same
 * bytes; only the statement's own issue time and nonce (drawn per call) differ,
 * so those are carried over before comparing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority, verify, type IssuedJson } from '../../ts/attest/index.js';
import { Autoblocker, type Decision } from '../../ts/autoblock/index.js';
import { PREDICATE_TYPE, subjectName, type DecisionBody } from '../../ts/autoblock/decision.js';
import { envelopeText, issueDecisions } from '../../ts/autoblock/issue.js';
import { blake3 } from '../../ts/crypto/index.js';
import { OmniError } from '../../ts/errors.js';
import { Ledger } from '../../ts/ledger/index.js';

const root = mkdtempSync(join(tmpdir(), 'omni-ab-issue-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

/** The request the autoblocker built before: the body's JSON.stringify text as predicate, its BLAKE3 as subject digest. */
function oldRequest(domain: string, b: DecisionBody): string {
  const text = JSON.stringify(b);
  const digest = Buffer.from(blake3.hash(new TextEncoder().encode(text))).toString('hex');
  return `{"signer":${JSON.stringify(domain)},"subject":[{"name":${JSON.stringify(subjectName(b.action, b.scope, b.value))},"digest":{"blake3":"${digest}"}}],"predicateType":${JSON.stringify(PREDICATE_TYPE)},"predicate":${text}}`;
}

const META = /^\{"_type":"https:\/\/in-toto\.io\/Statement\/v1","omnitide":\{"issuedAt":\d+,"nonce":"[0-9a-f]{24}"\}/;
const payloadOf = (env: string) => Buffer.from(JSON.parse(env).payload, 'base64').toString('utf8');

/** `fresh` must equal `old` but for the statement's issuedAt and nonce, which are taken from `fresh`. */
function expectSameStatement(fresh: { envelope: string }, old: IssuedJson) {
  const p = payloadOf(fresh.envelope);
  const meta = p.match(META)![0];
  expect(p).toBe(payloadOf(old.envelope).replace(META, meta));
  // the envelope around it is laid out the same (canonical JSON, same key id)
  const e = JSON.parse(fresh.envelope);
  const o = JSON.parse(old.envelope);
  expect(fresh.envelope).toBe(JSON.stringify({ payload: e.payload, payloadType: o.payloadType, signatures: [{ keyid: o.signatures[0].keyid, sig: e.signatures[0].sig }] }));
}

const hex = (c: string) => c.repeat(64);
function body(over: Partial<DecisionBody>): DecisionBody {
  // the key order of `Autoblocker#body`: optional fields before nonce
  const b = { v: 1, action: 'ban', scope: 'ip', value: '10.0.0.1', issuedAt: 1764600000123, expiresAt: 1764614400123, reason: 'scenario t: trigger', evidence: [hex('a')], domain: 'site-a', origin: 'scenario:t' } as DecisionBody;
  const { rate, lifts, global, nonce, ...rest } = over;
  Object.assign(b, rest);
  if (rate) b.rate = rate;
  if (lifts) b.lifts = lifts;
  if (global) b.global = true;
  b.nonce = nonce ?? '0123456789abcdef';
  return b;
}

describe('decisions issued from their fields', () => {
  it('sign the statements the request-JSON path signed, byte for byte, and audit every one', async () => {
    const a = await Authority.open(fresh(), { insecurePlaintext: true });
    try {
      const key = a.createKey('site-a');
      const bodies = [
        body({}),
        body({ action: 'throttle', scope: 'range', value: '10.0.0.0/8', rate: { pps: 10, burst: 20 }, expiresAt: null, evidence: [] }),
        body({ action: 'unban', scope: 'user', value: 'user:ops', lifts: hex('c'), reason: '', origin: 'operator' }),
        body({ global: true, evidence: [hex('d'), hex('e')], origin: 'operator' }),
        // escapes and characters outside ASCII and the BMP in the reason, odd numbers
        body({ reason: 'q"uo\\te \n\t\r\b\f\u0001\u001f\u007f é ü 漢字 😀 \u2028\u2029 </script> \\u0041', issuedAt: 2 ** 53 + 2, expiresAt: Infinity }),
        body({ action: 'throttle', rate: { pps: 1.5, burst: 1e21 }, lifts: hex('f'), global: true, nonce: 'fedcba9876543210', value: 'user:名前', scope: 'user' }),
      ];
      // twice over: below and above the size at which signing goes parallel
      for (const batch of [bodies, Array.from({ length: 70 }, (_, i) => ({ ...bodies[i % bodies.length], nonce: i.toString(16).padStart(16, '0') }))]) {
        const got = await issueDecisions(a, 'site-a', 'site-a', batch);
        const fresh = got.ids.map((id, i) => ({ id, envelope: envelopeText(got.envelopes[i]) }));
        const old = await a.issueManyJson(batch.map((b) => oldRequest('site-a', b)));
        expect(fresh).toHaveLength(batch.length);
        for (let i = 0; i < batch.length; i++) {
          expectSameStatement(fresh[i], old[i]);
          const v = verify(fresh[i].envelope, { roots: [key.publicKey] });
          expect(v.valid, v.detail).toBe(true);
          expect(v.id).toBe(fresh[i].id);
        }
        // every attestation is in the audit log, in order
        const bundles = await Promise.all(fresh.map((f) => a.auditBundle(f.id)));
        expect(bundles.map((b) => JSON.stringify(b.envelope))).toEqual(fresh.map((f) => f.envelope));
        expect(bundles.map((b) => b.inclusionProof.index)).toEqual(fresh.map((_, i) => bundles[0].inclusionProof.index + i));
      }
    } finally {
      a.close();
    }
  });

  it('an autoblocker decision with every optional field is the statement the old path signed', async () => {
    const ab = await Autoblocker.open(fresh(), { domain: 'site-b', insecurePlaintext: true });
    try {
      const ds: Decision[] = [
        await ab.ban({ value: '203.0.113.0/24', action: 'throttle', rate: { pps: 5, burst: 7 }, reason: 'abuse \u00e9 "x"\n', evidence: [hex('1')], global: true, duration: -1 }),
        await ab.ban({ value: '198.51.100.7', reason: 'report 😀' }),
      ];
      ds.push((await ab.unban('198.51.100.7', { reason: 'lifted' }))!);
      for (const d of ds) {
        const { id, envelope, logIndex, ...b } = d;
        expect(logIndex).not.toBeNull();
        const [old] = await ab.authority.issueManyJson([oldRequest('site-b', b as DecisionBody)]);
        const envJson = JSON.stringify(envelope);
        expectSameStatement({ envelope: envJson }, old);
      }
    } finally {
      await ab.close();
    }
  });

  it('a single node audits each batch of decisions by ID, once, and its ledger holds the envelopes', async () => {
    const dir = fresh();
    const ab = await Autoblocker.open(dir, { domain: 'site-d', insecurePlaintext: true, scenarios: [{ file: 't.yaml', text: 'type: trigger\nname: t\ngroupby: source_ip\n' }] });
    let batches: Decision[][];
    try {
      batches = [await ab.ingest([{ source_ip: '192.0.2.1' }, { source_ip: '192.0.2.2' }, { source_ip: '192.0.2.3' }]), [await ab.ban({ value: '198.51.100.0/24' })]];
      for (const d of batches.flat()) expect((await ab.verify(d.id)).valid).toBe(true);
    } finally {
      await ab.close();
    }
    const decisions = await Ledger.open(join(dir, 'ledger'), { readOnly: true });
    const audit = await Ledger.open(join(dir, 'authority', 'ledger'), { readOnly: true });
    try {
      const logged: string[] = [];
      for await (const e of decisions.entries()) logged.push(new TextDecoder().decode(e));
      expect(logged).toEqual(batches.flat().map((d) => JSON.stringify(d.envelope)));
      const entries: { kind: string; id?: string; batch?: { count: number; ids: string[]; loggedIn: string; predicateType: string } }[] = [];
      for await (const e of audit.entries()) entries.push(JSON.parse(new TextDecoder().decode(e)));
      const listed = entries.filter((e) => e.kind === 'issue-batch').map((e) => e.batch);
      expect(listed).toEqual(batches.map((b) => ({ count: b.length, ids: b.map((d) => d.id), loggedIn: decisions.origin, predicateType: PREDICATE_TYPE })));
      // and no second copy of any envelope
      const ids = new Set(batches.flat().map((d) => d.id));
      expect(entries.filter((e) => e.id !== undefined && ids.has(e.id))).toEqual([]);
    } finally {
      await decisions.close();
      await audit.close();
    }
  });

  it('refuses lone surrogates and an unknown signer with errors naming them', async () => {
    const a = await Authority.open(fresh(), { insecurePlaintext: true });
    try {
      a.createKey('site-a');
      const bad = body({ reason: 'x\ud800y' });
      await expect(issueDecisions(a, 'site-a', 'site-a', [body({}), bad])).rejects.toThrow(/decisions\[1\]\.reason: not well-formed UTF-16/);
      const e = await issueDecisions(a, 'nobody', 'site-a', [body({})]).catch((x) => x);
      expect(e).toBeInstanceOf(OmniError);
      expect(String(e.message)).toMatch(/nobody/);
      const none = await issueDecisions(a, 'site-a', 'site-a', []);
      expect([none.ids, none.envelopes, none.packed.ends.length]).toEqual([[], [], 0]);
    } finally {
      a.close();
    }
    const ab = await Autoblocker.open(fresh(), { domain: 'site-c', insecurePlaintext: true });
    try {
      const err = (p: Promise<unknown>) => p.then(() => null, (e: OmniError) => `${e.code} ${e.message}`);
      expect(await err(ab.ban({ value: '192.0.2.1', reason: 'x\udc00' }))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT .*request\.reason.*lone surrogate/);
      expect(await err(ab.ban({ value: 'user:a\ud800' }))).toMatch(/request\.value.*lone surrogate/);
      await ab.ban({ value: '192.0.2.1', reason: 'pair 😀 ok' });
      expect(await err(ab.unban('192.0.2.1', { reason: '\ud800' }))).toMatch(/opts\.reason.*lone surrogate/);
      expect(await ab.unban('192.0.2.1', { reason: 'lifted' })).not.toBeNull();
    } finally {
      await ab.close();
    }
  });
});
