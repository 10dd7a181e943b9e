// Issue 10 items 8 and 9: DSSE interop with the reference implementation
// (Python securesystemslib), both ways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority, type Envelope, verify } from '../../ts/attest/index.js';
import { pythonMissing, runPython, unavailable } from './oracle.js';

const missing = pythonMissing();
const skip = missing !== null && unavailable(missing);
const T1 = 'https://slsa.dev/provenance/v1';
const tmp = mkdtempSync(join(tmpdir(), 'omni-interop-dsse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(skip)('DSSE interop with securesystemslib', () => {
  it('securesystemslib verifies our envelopes (and rejects a tampered one)', async () => {
    const a = await Authority.open(join(tmp, 'a'), { insecurePlaintext: true });
    const k = a.createKey('root');
    const iss = await a.issue({ signer: 'root', subject: [{ name: 'pkg', digest: { sha256: 'ab'.repeat(32) } }], predicateType: T1, predicate: { x: 1 } });
    const cos = await a.cosign(iss.envelope, (a.createKey('other'), 'other'));
    const tampered = { ...iss.envelope, payload: Buffer.from(Buffer.from(iss.envelope.payload, 'base64').toString().replace('pkg', 'pkh')).toString('base64') };
    const res = runPython('dsse_oracle.py', {
      op: 'verify',
      envelopes: [iss.envelope, cos.envelope, tampered],
      keyid: k.keyid,
      public: Buffer.from(k.publicKey).toString('hex'),
    }) as { ok: boolean; error?: string }[];
    expect(res[0]).toEqual({ ok: true });
    expect(res[1]).toEqual({ ok: true });
    expect(res[2].ok).toBe(false);
    a.close();
  });

  it('we verify envelopes securesystemslib signed with its default key IDs, incl. vnd.in-toto.<predicate>+json', () => {
    const st = JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x', digest: { sha256: 'cd'.repeat(32) } }], predicateType: T1, predicate: {} });
    const payload = Buffer.from(st).toString('base64');
    const out = runPython('dsse_oracle.py', {
      op: 'sign',
      payloads: [
        { payloadType: 'application/vnd.in-toto+json', payload },
        { payloadType: 'application/vnd.in-toto.provenance+json', payload },
      ],
    }) as { public: string; keyid: string; envelopes: Envelope[] };
    const pk = new Uint8Array(Buffer.from(out.public, 'hex'));
    expect(out.envelopes[0].signatures[0].keyid).toBe(out.keyid); // SHA-256 of its key JSON, not our BLAKE3 key ID
    for (const env of out.envelopes) {
      const v = verify(env, { roots: [pk] });
      expect(v, JSON.stringify(v)).toMatchObject({ valid: true, reason: null });
    }
    const other = new Uint8Array(32).fill(9);
    expect(verify(out.envelopes[0], { roots: [other] }).valid).toBe(false);
  });
});
