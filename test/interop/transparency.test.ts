// Issue 10 item 10 and the ledger's C2SP/RFC 6962 interop with Go's
// reference packages (golang.org/x/mod/sumdb/note, transparency-dev/merkle),
// both ways. The small Go program lives in test/interop/go.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519 } from '../../ts/crypto/index.js';
import { Ledger } from '../../ts/ledger/index.js';
import { buildGoOracle, runGo, unavailable } from './oracle.js';

const tmp = mkdtempSync(join(tmpdir(), 'omni-interop-go-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** The note verifier key `<name>+<hex key id>+<base64(0x01 || key)>` (C2SP signed-note). */
function verifierKey(name: string, pk: Uint8Array): string {
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, 0x01]), pk])).digest().subarray(0, 4);
  return `${name}+${id.toString('hex')}+${b64(new Uint8Array([1, ...pk]))}`;
}

let bin: string | undefined;
let skip = false;
beforeAll(async () => {
  const r = await buildGoOracle();
  bin = r.bin;
  if (!bin) skip = unavailable(r.missing!);
}, 600_000);

describe('C2SP checkpoints and RFC 6962 proofs: interop with Go', () => {
  it('Go note and merkle verify our checkpoints and proofs', async (ctx) => {
    if (skip) ctx.skip();
    const kp = ed25519.generateKeyPair();
    const l = await Ledger.open(join(tmp, 'l1'), { origin: 'example.com/omnitide', signer: kp.secretKey });
    const entries = Array.from({ length: 37 }, (_, i) => `entry ${i}`);
    await l.appendMany(entries);
    const cp = await l.checkpoint();
    const reqs: unknown[] = [{ op: 'open-note', note: cp.text, verifier: verifierKey('example.com/omnitide', kp.publicKey) }];
    reqs.push({ op: 'open-note', note: cp.text.replace('\n37\n', '\n36\n'), verifier: verifierKey('example.com/omnitide', kp.publicKey) });
    for (const i of [0, 5, 36]) {
      reqs.push({ op: 'verify-inclusion', entry: b64(new TextEncoder().encode(entries[i])), index: i, size: 37, proof: l.inclusionProof(i).map(b64), root: b64(l.root()) });
    }
    for (const m of [1, 8, 20]) {
      reqs.push({ op: 'verify-consistency', size: m, size2: 37, proof: l.consistencyProof(m).map(b64), root: b64(l.root(m)), root2: b64(l.root()) });
    }
    reqs.push({ op: 'verify-inclusion', entry: b64(new TextEncoder().encode('not it')), index: 5, size: 37, proof: l.inclusionProof(5).map(b64), root: b64(l.root()) });
    const res = runGo(bin!, reqs);
    expect(res[0]).toMatchObject({ ok: true });
    expect(res[0].text).toBe(cp.text.slice(0, cp.text.indexOf('\n\n') + 1));
    expect(res[1].ok).toBe(false);
    for (const r of res.slice(2, 8)) expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    expect(res[8].ok).toBe(false);
    await l.close();
  });

  it('we verify notes Go signed (opaque extension lines, non-decimal timestamp) and proofs Go computed', (ctx) => {
    if (skip) ctx.skip();
    const root = createHash('sha256').update('x').digest();
    const body = `go.example/log\n12\n${root.toString('base64')}\ntimestamp 2026-11-30T13:00:00Z\nwitness-hint something\n`;
    const entries = Array.from({ length: 21 }, (_, i) => b64(new TextEncoder().encode(`go ${i}`)));
    const [signed, proved] = runGo(bin!, [
      { op: 'sign-note', name: 'go.example/log', text: body },
      { op: 'prove', entries, index: 9, size: 13, size2: 21 },
    ]);
    expect(signed.ok).toBe(true);
    const [, , ...key] = String(signed.verifier).split('+'); // name+hash+base64 (Base64 may hold '+')
    const pk = fromB64(key.join('+')).subarray(1);
    const v = Ledger.verifyCheckpoint(String(signed.note), pk);
    expect(v, JSON.stringify(v)).toMatchObject({ valid: true });
    expect(v.checkpoint.size).toBe(12);
    expect(v.checkpoint.timestamp).toBeUndefined();
    expect(Ledger.verifyCheckpoint(String(signed.note), ed25519.generateKeyPair().publicKey).valid).toBe(false);

    expect(proved.ok).toBe(true);
    const inc = (proved.proof as string[]).map(fromB64);
    expect(Ledger.verifyInclusion({ entry: fromB64(entries[9]), index: 9, treeSize: 13, proof: inc, rootHash: fromB64(String(proved.root)) })).toEqual({ valid: true });
    const cons = (JSON.parse(String(proved.text)) as string[]).map(fromB64);
    expect(Ledger.verifyConsistency({ oldSize: 13, newSize: 21, oldRoot: fromB64(String(proved.root)), newRoot: fromB64(String(proved.root2)), proof: cons })).toEqual({ valid: true });
    expect(Ledger.verifyConsistency({ oldSize: 13, newSize: 21, oldRoot: fromB64(String(proved.root2)), newRoot: fromB64(String(proved.root2)), proof: cons }).valid).toBe(false);
  });
});
