import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, openSync, readSync, writeSync, closeSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Ledger, corruptIndex, type Bundle } from '../../ts/ledger/index.js';
import { OmniError } from '../../ts/errors.js';
import { ed25519 } from '../../ts/crypto/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const CT = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const kp = ed25519.generateKeyPair();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'omni-ledger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function expectOmni(p: Promise<unknown> | (() => unknown), code: string, msg?: RegExp): Promise<OmniError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OmniError);
  expect((err as OmniError).code).toBe(code);
  if (msg) expect((err as OmniError).message).toMatch(msg);
  return err as OmniError;
}

describe('Ledger (RFC 6962 with sha256)', () => {
  it('matches the CT reference roots and proofs', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', signer: kp.secretKey, hash: 'sha256' });
    expect(hex(l.root())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (let i = 0; i < CT.length; i++) {
      const r = await l.append(CT[i]);
      expect(r.index).toBe(i);
      expect(hex(l.root())).toBe(CT_ROOTS[i]);
    }
    expect(l.inclusionProof(5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(l.consistencyProof(2, 8).map(hex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(hex(Ledger.leafHash(CT[0]))).toBe(CT_ROOTS[0]);
    await l.close();
  });
});

describe('Ledger', () => {
  it('appends strings, bytes and objects; reads them back; proofs verify statically', async () => {
    for (const hash of ['sha256', 'blake3'] as const) {
      const d = join(dir, hash);
      const l = await Ledger.open(d, { origin: 'example.com/log', signer: kp.secretKey, hash });
      const a = await l.append('hello');
      const b = await l.append(new Uint8Array([1, 2, 3]));
      const c = await l.append({ kind: 'block', ip: '10.0.0.1' });
      expect([a.index, b.index, c.index]).toEqual([0, 1, 2]);
      const many = await l.appendMany(Array.from({ length: 50 }, (_, i) => `entry ${i}`));
      expect(many[0].index).toBe(3);
      expect(many[49].index).toBe(52);
      expect(l.size).toBe(53);
      expect(new TextDecoder().decode(await l.get(0))).toBe('hello');
      expect(JSON.parse(new TextDecoder().decode(await l.get(2)))).toEqual({ kind: 'block', ip: '10.0.0.1' });
      const all: string[] = [];
      for await (const e of l.entries(3)) all.push(new TextDecoder().decode(e));
      expect(all).toEqual(Array.from({ length: 50 }, (_, i) => `entry ${i}`));

      const root = l.root();
      for (const i of [0, 1, 17, 52]) {
        const proof = l.inclusionProof(i);
        expect(Ledger.verifyInclusion({ leafHash: l.leafHash(i), index: i, treeSize: 53, proof, rootHash: root, hash })).toEqual({ valid: true });
        const bad = Ledger.verifyInclusion({ entry: 'not it', index: i, treeSize: 53, proof, rootHash: root, hash });
        expect(bad.valid).toBe(false);
        expect(bad.reason).toMatch(/root/);
      }
      expect(Ledger.verifyInclusion({ entry: 'entry 14', index: 17, treeSize: 53, proof: l.inclusionProof(17), rootHash: root, hash }).valid).toBe(true);
      for (const m of [0, 1, 7, 20, 53]) {
        const proof = l.consistencyProof(m);
        expect(Ledger.verifyConsistency({ oldSize: m, newSize: 53, oldRoot: l.root(m), newRoot: root, proof, hash }).valid).toBe(true);
      }
      const p = l.consistencyProof(20, 40);
      expect(Ledger.verifyConsistency({ oldSize: 20, newSize: 40, oldRoot: l.root(21), newRoot: l.root(40), proof: p, hash }).valid).toBe(false);
      await l.close();
      // Reopen: the same log.
      const again = await Ledger.open(d, { origin: 'example.com/log', hash });
      expect(again.size).toBe(53);
      expect(hex(again.root())).toBe(hex(root));
      await again.verify({ full: true });
      await again.close();
    }
  });

  it('iterates large entries in bounded chunks', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', durability: 'none' });
    const big = Array.from({ length: 20 }, (_, i) => new Uint8Array(1 << 20).fill(i));
    await l.appendMany(big);
    await l.append('tail');
    let i = 0;
    for await (const e of l.entries(1)) {
      if (i < 19) {
        expect(e.byteLength).toBe(1 << 20);
        expect(e[12345]).toBe(i + 1);
      } else expect(new TextDecoder().decode(e)).toBe('tail');
      i++;
    }
    expect(i).toBe(20);
    const part: number[] = [];
    for await (const e of l.entries(3, 6)) part.push(e[0]);
    expect(part).toEqual([3, 4, 5]);
    await l.close();
  });

  it('group-commits concurrent appends and keeps order', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', durability: 'batch' });
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => l.append(`e${i}`)));
    expect(rs.map((r) => r.index)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const i of [0, 99, 199]) expect(new TextDecoder().decode(await l.get(i))).toBe(`e${i}`);
    await l.close();
    const n = await Ledger.open(dir, { origin: 'example.com/log', durability: 'always' });
    const r = await Promise.all(Array.from({ length: 20 }, (_, i) => n.append(`a${i}`)));
    expect(r.map((x) => x.index)).toEqual(Array.from({ length: 20 }, (_, i) => 200 + i));
    for (let i = 0; i < 20; i++) expect(new TextDecoder().decode(await n.get(200 + i))).toBe(`a${i}`);
    await n.close();
  });

  it('signs C2SP checkpoints and verifies them offline', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', signer: kp.secretKey });
    await l.appendMany(['a', 'b', 'c']);
    const cp = await l.checkpoint();
    expect(cp.origin).toBe('example.com/log');
    expect(cp.size).toBe(3);
    expect(hex(cp.rootHash)).toBe(hex(l.root()));
    const lines = cp.text.split('\n');
    expect(lines.slice(0, 2)).toEqual(['example.com/log', '3']);
    expect(lines[2]).toBe(Buffer.from(cp.rootHash).toString('base64'));
    expect(lines[3]).toMatch(/^timestamp \d+$/);
    expect(lines[5]).toMatch(/^\u2014 example\.com\/log [A-Za-z0-9+/]+=*$/);
    const v = Ledger.verifyCheckpoint(cp.text, kp.publicKey);
    expect(v.valid).toBe(true);
    expect(v.checkpoint.size).toBe(3);
    expect(v.checkpoint.timestamp).toBe(cp.timestamp);
    const other = ed25519.generateKeyPair();
    const wrong = Ledger.verifyCheckpoint(cp.text, other.publicKey);
    expect(wrong.valid).toBe(false);
    expect(wrong.reason).toMatch(/no signature line/);
    expect(Ledger.verifyCheckpoint(cp.text.replace('\n3\n', '\n4\n'), kp.publicKey).valid).toBe(false);
    await expectOmni(() => Ledger.verifyCheckpoint('garbage', kp.publicKey), 'ERR_OMNI_INVALID_ARGUMENT', /checkpoint: malformed/);
    await expectOmni(() => Ledger.verifyCheckpoint(cp.text, new Uint8Array(31)), 'ERR_OMNI_INVALID_ARGUMENT', /publicKey/);
    // Grow, re-sign: the two checkpoints are consistent.
    await l.appendMany(['d', 'e']);
    const cp2 = await l.checkpoint();
    const proof = l.consistencyProof(3, 5);
    expect(Ledger.verifyConsistency({ oldSize: 3, newSize: 5, oldRoot: cp.rootHash, newRoot: cp2.rootHash, proof }).valid).toBe(true);
    expect(l.lastCheckpoint()).toBe(cp2.text);
    await l.close();
    const noSigner = await Ledger.open(dir, { origin: 'example.com/log' });
    await expectOmni(noSigner.checkpoint(), 'ERR_OMNI_INVALID_ARGUMENT', /^signer:/);
    await noSigner.close();
  });

  it('bundles verify offline, as objects and as bytes, and reject tampering', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', signer: kp.secretKey, hash: 'blake3' });
    await l.appendMany(Array.from({ length: 21 }, (_, i) => ({ i })));
    const b = await l.bundle(13);
    expect(b.index).toBe(13);
    expect(b.treeSize).toBe(21);
    expect(JSON.parse(new TextDecoder().decode(b.entry))).toEqual({ i: 13 });
    expect(Ledger.verifyBundle(b, kp.publicKey).valid).toBe(true);
    const bytes = Ledger.encodeBundle(b);
    expect(Ledger.verifyBundle(bytes, kp.publicKey).valid).toBe(true);
    expect(Ledger.decodeBundle(bytes)).toEqual({ ...b, proof: b.proof.map((p) => new Uint8Array(p)) });
    const tampered: Bundle = { ...b, entry: new TextEncoder().encode('{"i":14}') };
    const v = Ledger.verifyBundle(tampered, kp.publicKey);
    expect(v.valid).toBe(false);
    expect(v.reason).toMatch(/inclusion proof/);
    expect(Ledger.verifyBundle(b, ed25519.generateKeyPair().publicKey).valid).toBe(false);
    await expectOmni(() => Ledger.verifyBundle(bytes.subarray(0, bytes.length - 5), kp.publicKey), 'ERR_OMNI_INVALID_ARGUMENT', /truncated/);
    await expectOmni(() => Ledger.verifyBundle({ ...b, proof: [new Uint8Array(31)] }, kp.publicKey), 'ERR_OMNI_INVALID_ARGUMENT', /bundle\.proof\[0\]/);
    await l.close();
  });

  it('stores string entries as their UTF-8 bytes, mixed with byte entries in one commit, capped by their UTF-8 size', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', maxEntrySize: 10 });
    const entries = ['plain', 'é'.repeat(5), new Uint8Array([0, 255, 7]), '\u{1F600}x', 'lone \ud800', ''];
    const res = await l.appendMany(entries);
    expect(res.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    const utf8 = (e: string | Uint8Array) => (typeof e === 'string' ? new TextEncoder().encode(e) : e);
    for (const [i, e] of entries.entries()) {
      expect(await l.get(i)).toEqual(utf8(e));
      expect(l.leafHash(i)).toEqual(res[i].leafHash);
    }
    // 'é' is 2 bytes: 6 of them are over the cap although 6 UTF-16 units are not
    await expectOmni(l.appendMany(['ok', 'é'.repeat(6)]), 'ERR_OMNI_LIMIT', /entries\[1\]: 12 bytes exceeds maxEntrySize 10/);
    expect(l.size).toBe(6);
    await l.close();
  });

  it('byte entries laid end to end in one buffer are stored as given (copied as one range when their commit starts)', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log' });
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const views = [buf.subarray(1, 3), buf.subarray(3, 3), buf.subarray(3, 7)];
    const appending = l.appendMany(views);
    buf.fill(0); // the caller reuses its buffer at once
    expect((await appending).map((r) => r.index)).toEqual([0, 1, 2]);
    // not laid end to end (a gap, then out of order): the one-by-one path
    await l.appendMany([buf.subarray(0, 1), buf.subarray(2, 3)]);
    await l.appendMany([buf.subarray(4, 5), buf.subarray(3, 4)]);
    const got = [];
    for await (const e of l.entries()) got.push([...e]);
    expect(got).toEqual([[2, 3], [], [4, 5, 6, 7], [0], [0], [0], [0]]);
    await l.close();
  });

  it('appendRun: the entries of a call are one contiguous run, whatever else joins the group commit; it answers the first index', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', maxEntrySize: 10 });
    await l.append('zero');
    // four calls queued while the first commit is in flight: the last three share one commit
    const [a, b, c, d] = await Promise.all([l.appendRun(['a0', 'a1']), l.appendMany(['b0']), l.appendRun(['c0', 'c1', 'c2']), l.appendRun([new Uint8Array([100, 48])])]);
    expect([a, b.map((r) => r.index), c, d]).toEqual([1, [3], 4, 7]);
    const got: string[] = [];
    for await (const e of l.entries()) got.push(new TextDecoder().decode(e));
    expect(got).toEqual(['zero', 'a0', 'a1', 'b0', 'c0', 'c1', 'c2', 'd0']);
    expect(b[0].leafHash).toEqual(l.leafHash(3));
    // nothing to append: where a run would start
    expect(await l.appendRun([])).toBe(8);
    await expectOmni(l.appendRun(['ok', 'x'.repeat(11)]), 'ERR_OMNI_LIMIT', /entries\[1\]: 11 bytes exceeds maxEntrySize 10/);
    await expectOmni(l.appendRun('nope' as never), 'ERR_OMNI_INVALID_ARGUMENT', /entries: expected an array/);
    expect(l.size).toBe(8);
    await l.close();
  });

  it('appendPacked: entries laid end to end are one contiguous run, alone or in a group commit, in both durability modes', async () => {
    const enc = new TextEncoder();
    const packed = (xs: string[]) => {
      const data = enc.encode(xs.join(''));
      let at = 0;
      return { data, ends: Uint32Array.from(xs.map((x) => (at += x.length))) };
    };
    for (const durability of ['batch', 'always'] as const) {
      const d = join(dir, durability);
      const l = await Ledger.open(d, { origin: 'example.com/log', maxEntrySize: 10, durability });
      const p = packed(['p0', 'p11', '', 'p333']);
      // alone: its data goes to the addon as it is
      expect(await l.appendPacked(p.data, p.ends)).toBe(0);
      // queued behind one another and between other callers' entries
      const q = packed(['q0', 'q1']);
      const [a, b, c, e] = await Promise.all([l.appendRun(['a0']), l.appendPacked(q.data, q.ends), l.appendMany(['b0']), l.appendPacked(p.data, p.ends)]);
      expect([a, b, c.map((r) => r.index), e]).toEqual([4, 5, [7], 8]);
      const got: string[] = [];
      for await (const x of l.entries()) got.push(new TextDecoder().decode(x));
      expect(got).toEqual(['p0', 'p11', '', 'p333', 'a0', 'q0', 'q1', 'b0', 'p0', 'p11', '', 'p333']);
      expect(c[0].leafHash).toEqual(l.leafHash(7));
      // nothing to append: where a run would start
      expect(await l.appendPacked(new Uint8Array(0), new Uint32Array(0))).toBe(12);
      // checked whole before it is queued: nothing of it, and no other caller's commit, fails
      const other = l.appendRun(['fine']);
      await expectOmni(l.appendPacked(enc.encode('abc'), Uint32Array.of(2, 1)), 'ERR_OMNI_INVALID_ARGUMENT', /ends\[1\]: 1 is out of order/);
      await expectOmni(l.appendPacked(enc.encode('abc'), Uint32Array.of(1, 4)), 'ERR_OMNI_INVALID_ARGUMENT', /ends\[1\]: 4 is out of order or past the data length 3/);
      await expectOmni(l.appendPacked(enc.encode('a' + 'x'.repeat(11)), Uint32Array.of(1, 12)), 'ERR_OMNI_LIMIT', /entries\[1\]: 11 bytes exceeds maxEntrySize 10/);
      await expectOmni(l.appendPacked([1, 2] as never, Uint32Array.of(2)), 'ERR_OMNI_INVALID_ARGUMENT', /^data: expected a Uint8Array/);
      await expectOmni(l.appendPacked(enc.encode('ab'), [2] as never), 'ERR_OMNI_INVALID_ARGUMENT', /^ends: expected a Uint32Array/);
      expect(await other).toBe(12);
      expect(l.size).toBe(13);
      await l.close();
    }
  });

  it('rejects bad input with clear OmniErrors and writes nothing', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log', maxEntrySize: 10 });
    await l.append('ok');
    await expectOmni(l.append('x'.repeat(11)), 'ERR_OMNI_LIMIT', /entry: 11 bytes exceeds maxEntrySize 10/);
    await expectOmni(l.appendMany(['a', 'b'.repeat(20)]), 'ERR_OMNI_LIMIT', /entries\[1\]/);
    await expectOmni(l.append(42 as never), 'ERR_OMNI_INVALID_ARGUMENT', /entry: expected/);
    expect(l.size).toBe(1);
    await expectOmni(l.get(1), 'ERR_OMNI_INVALID_ARGUMENT', /index: must be < size 1, got 1/);
    await expectOmni(l.get(-1), 'ERR_OMNI_INVALID_ARGUMENT', /index/);
    await expectOmni(() => l.inclusionProof(0, 5), 'ERR_OMNI_INVALID_ARGUMENT', /treeSize/);
    await expectOmni(() => l.consistencyProof(2, 1), 'ERR_OMNI_INVALID_ARGUMENT', /newSize|oldSize/);
    await expectOmni(() => l.root(2), 'ERR_OMNI_INVALID_ARGUMENT', /treeSize/);
    await expectOmni(() => Ledger.verifyInclusion({ leafHash: new Uint8Array(32), index: 0, treeSize: 1, proof: [], rootHash: new Uint8Array(3) }), 'ERR_OMNI_INVALID_ARGUMENT', /rootHash/);
    await expectOmni(Ledger.open(join(dir, 'x'), { origin: 'has space' }), 'ERR_OMNI_INVALID_ARGUMENT', /origin/);
    await expectOmni(Ledger.open(join(dir, 'x'), { origin: 'o', hash: 'md5' as never }), 'ERR_OMNI_INVALID_ARGUMENT', /opts\.hash/);
    await expectOmni(Ledger.open(join(dir, 'x'), { origin: 'o', signer: new Uint8Array(5) }), 'ERR_OMNI_INVALID_ARGUMENT', /opts\.signer/);
    await l.close();
    await expectOmni(l.get(0), 'ERR_OMNI_CLOSED');
  });

  it('origin and hash mismatches on reopen, and a second writer, are errors', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log' });
    await expectOmni(Ledger.open(dir, { origin: 'example.com/log' }), 'ERR_OMNI_LOCKED', /already open for writing/);
    await l.close();
    await expectOmni(Ledger.open(dir, { origin: 'other.example/log' }), 'ERR_OMNI_INVALID_ARGUMENT', /^origin: .*example\.com\/log/);
    await expectOmni(Ledger.open(dir, { origin: 'example.com/log', hash: 'blake3' }), 'ERR_OMNI_INVALID_ARGUMENT', /^hash:/);
  });

  it('truncates and logs a torn tail; reports tampering with the first bad index', async () => {
    const l = await Ledger.open(dir, { origin: 'example.com/log' });
    await l.appendMany(Array.from({ length: 100 }, (_, i) => `entry ${i}`));
    await l.close();
    appendFileSync(join(dir, 'entries.dat'), Buffer.from([40, 0, 0, 0, 1, 2]));
    appendFileSync(join(dir, 'tree.dat'), Buffer.alloc(40, 1));
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    const r = await Ledger.open(dir, { origin: 'example.com/log', logger });
    expect(r.size).toBe(100);
    expect(r.recovery.truncatedDataBytes).toBe(6);
    expect(r.recovery.truncatedTreeBytes).toBe(40);
    expect(lines.join('')).toMatch(/torn tail/);
    await r.close();

    // Flip a byte inside entry 97's payload (records: 4-byte length, payload, 8-byte check).
    const idx = openSync(join(dir, 'entries.idx'), 'r');
    const off = Buffer.alloc(8);
    readSync(idx, off, 0, 8, 97 * 8);
    closeSync(idx);
    const fd = openSync(join(dir, 'entries.dat'), 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, Number(off.readBigUInt64LE()) + 5);
    closeSync(fd);
    const err = await expectOmni(Ledger.open(dir, { origin: 'example.com/log' }), 'ERR_OMNI_LEDGER_CORRUPT');
    expect(corruptIndex(err)).toBe(97);
  });
});
