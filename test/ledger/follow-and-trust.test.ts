// Issue 10 items 4 and 13, issue 11 items 15 and 17, issue 12 item 7 (ledger).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ed25519 } from '../../ts/crypto/index.js';
import { Ledger } from '../../ts/ledger/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'omni-ledger-trust-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('ledger: signer, followers, entries', () => {
  it('10.4: a different signer is refused; an explicit rotation re-signs and is recorded', async () => {
    const k1 = ed25519.generateKeyPair();
    const k2 = ed25519.generateKeyPair();
    const l = await Ledger.open(dir, { origin: 'example.com/log', signer: k1.secretKey });
    await l.appendMany(['a', 'b', 'c']);
    await l.checkpoint();
    await l.close();
    await expect(Ledger.open(dir, { origin: 'example.com/log', signer: k2.secretKey })).rejects.toMatchObject({
      code: 'ERR_OMNI_INVALID_ARGUMENT',
      message: expect.stringMatching(/^signer: .*rotateSigner/),
    });
    const r = await Ledger.open(dir, { origin: 'example.com/log', signer: k2.secretKey, rotateSigner: true });
    const b = await r.bundle(0);
    expect(Ledger.verifyBundle(b, k2.publicKey).valid).toBe(true);
    expect(Ledger.verifyBundle(b, k1.publicKey).valid).toBe(false);
    await r.close();
    const rec = JSON.parse(readFileSync(join(dir, 'rotations'), 'utf8').trim());
    expect(Ledger.verifyCheckpoint(rec.previousCheckpoint, k1.publicKey).valid).toBe(true);
    expect(Ledger.verifyCheckpoint(rec.checkpoint, k2.publicKey).valid).toBe(true);
  });

  it('10.13: a read-only open follows a live writer (no lock), origin from ledger.json', async () => {
    const kp = ed25519.generateKeyPair();
    const w = await Ledger.open(dir, { origin: 'example.com/log', signer: kp.secretKey });
    await w.appendMany(['one', 'two']);
    const r = await Ledger.open(dir, { readOnly: true });
    expect([r.readOnly, r.origin, r.hash, r.size]).toEqual([true, 'example.com/log', 'sha256', 2]);
    await w.append('three');
    await w.checkpoint();
    expect(r.size).toBe(3);
    expect(text(await r.get(2))).toBe('three');
    expect(r.root()).toEqual(w.root());
    expect(r.inclusionProof(1)).toEqual(w.inclusionProof(1));
    expect(r.lastCheckpoint()).toBe(w.lastCheckpoint());
    expect(Ledger.verifyBundle(await r.bundle(0), kp.publicKey).valid).toBe(true);
    await r.verify({ full: true });
    await expect(r.append('x')).rejects.toMatchObject({ code: 'ERR_OMNI_READ_ONLY' });
    await expect(r.checkpoint()).rejects.toMatchObject({ code: 'ERR_OMNI_READ_ONLY' });
    await expect(Ledger.open(dir, { readOnly: true, origin: 'other.example' })).rejects.toThrow(/origin/);
    await r.close();
    await w.close();
  });

  it('11.15: a range past the end ends the iteration', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log' });
    await l.appendMany(['a', 'b', 'c']);
    const got: string[] = [];
    for await (const e of l.entries(0, 10)) got.push(text(e));
    expect(got).toEqual(['a', 'b', 'c']);
    for await (const e of l.entries(5, 10)) got.push(text(e));
    expect(got).toHaveLength(3);
    await l.close();
  });

  it('11.17: objects are stored as RFC 8785 JSON; values that do not round-trip are rejected', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log' });
    const a = await l.append({ b: 1, a: [1e21, 0.5, 'é'], c: { z: null, y: true } });
    expect(text(await l.get(a.index))).toBe('{"a":[1e+21,0.5,"é"],"b":1,"c":{"y":true,"z":null}}');
    const b = await l.append({ c: { y: true, z: null }, a: [1e21, 0.5, 'é'], b: 1 });
    expect(b.leafHash).toEqual(a.leafHash);
    for (const [bad, why] of [
      [new Map([['k', 1]]), /Map does not round-trip/],
      [new Set([1]), /Set does not round-trip/],
      [{ f: () => 1 }, /entry\.f: a function/],
      [{ n: 10n }, /entry\.n: a BigInt/],
      [{ u: undefined }, /entry\.u: undefined/],
      [{ d: new Date(0) }, /entry\.d: a Date/],
      [[1, , 3], /hole/],
      [{ x: Number.NaN }, /NaN/],
    ] as const) {
      await expect(l.append(bad as never)).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(why) });
    }
    expect(l.size).toBe(2);
    await l.close();
  });
});
