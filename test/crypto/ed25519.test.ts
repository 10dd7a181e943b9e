import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '../../ts/crypto/index.js';
import { OmniError } from '../../ts/errors.js';

// node:crypto speaks DER/JWK; these wrap raw 32-byte keys.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const nodePrivate = (seed: Uint8Array) => createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
const nodePublic = (pk: Uint8Array) => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });

describe('ed25519 against node:crypto', () => {
  it('our signatures verify in node:crypto and are byte-identical to its signatures', () => {
    for (let i = 0; i < 50; i++) {
      const kp = ed25519.generateKeyPair();
      const msg = new Uint8Array(Buffer.from(`message ${i} `.repeat(i)));
      const sig = ed25519.sign(msg, kp.secretKey);
      expect(nodeVerify(null, msg, nodePublic(kp.publicKey), sig)).toBe(true);
      expect(Buffer.from(nodeSign(null, msg, nodePrivate(kp.secretKey)))).toEqual(Buffer.from(sig));
    }
  });

  it('node:crypto signatures verify here, single and batch', () => {
    const items = [];
    for (let i = 0; i < 40; i++) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
      const msg = new Uint8Array(Buffer.from(`node ${i}`));
      const sig = new Uint8Array(nodeSign(null, msg, privateKey));
      expect(ed25519.verify(sig, msg, new Uint8Array(raw))).toBe(true);
      items.push({ signature: sig, message: msg, publicKey: new Uint8Array(raw) });
    }
    expect(ed25519.verifyBatch(items).every(Boolean)).toBe(true);
  });
});

describe('ed25519 behaviour', () => {
  it('keys: 32-byte seed and public key; public key derivable from the seed', () => {
    const kp = ed25519.generateKeyPair();
    expect(kp.secretKey.byteLength).toBe(32);
    expect(kp.publicKey.byteLength).toBe(32);
    expect(ed25519.publicKeyFromSecret(kp.secretKey)).toEqual(kp.publicKey);
    expect(ed25519.generateKeyPair().secretKey).not.toEqual(kp.secretKey);
  });

  it('strings are signed as UTF-8', () => {
    const kp = ed25519.generateKeyPair();
    const sig = ed25519.sign('héllo', kp.secretKey);
    expect(ed25519.verify(sig, new TextEncoder().encode('héllo'), kp.publicKey)).toBe(true);
  });

  it('has no signing call that accepts a separate public key', () => {
    const kp = ed25519.generateKeyPair();
    const other = ed25519.generateKeyPair();
    // A third argument is not a public key: the signature is the same whatever is passed.
    const sig = (ed25519.sign as (...a: unknown[]) => Uint8Array)('m', kp.secretKey, other.publicKey);
    expect(sig).toEqual(ed25519.sign('m', kp.secretKey));
    expect(ed25519.sign.length).toBe(2);
    expect(Object.keys(ed25519).filter((k) => typeof (ed25519 as Record<string, unknown>)[k] === 'function' && /sign/i.test(k)).sort()).toEqual(['createSigner', 'sign']);
  });

  it('sign with the expanded-key cache gives the same bytes after clearing it', () => {
    const kp = ed25519.generateKeyPair();
    const a = ed25519.sign('x', kp.secretKey);
    ed25519.clearKeyCache();
    expect(ed25519.sign('x', kp.secretKey)).toEqual(a);
    expect(ed25519.createSigner(kp.secretKey).publicKey).toEqual(kp.publicKey);
  });

  it('small-order public key: rejected in strict mode, accepted by ZIP-215', () => {
    const pk = new Uint8Array(32);
    pk[0] = 1; // identity
    const sig = new Uint8Array(64);
    sig[0] = 1; // R = identity, S = 0
    expect(ed25519.verify(sig, 'any', pk)).toBe(false);
    expect(ed25519.verify(sig, 'any', pk, { mode: 'zip215' })).toBe(true);
    expect(ed25519.verifyBatch([{ signature: sig, message: 'any', publicKey: pk }], { mode: 'zip215' })).toEqual([true]);
  });

  it('verifyBatch answers item by item exactly what verify answers, sync and async, both modes', async () => {
    const keys = Array.from({ length: 5 }, () => ed25519.generateKeyPair());
    const items = Array.from({ length: 700 }, (_, i) => {
      const k = keys[i % keys.length];
      const message = `m${i}`;
      const signature = ed25519.sign(message, k.secretKey);
      return { signature, message, publicKey: k.publicKey };
    });
    // Corrupt a scattering of items in different ways.
    items[3].signature = items[3].signature.slice();
    items[3].signature[0] ^= 1;
    items[99].message = 'tampered';
    items[400].publicKey = keys[(400 + 1) % keys.length].publicKey;
    items[699].signature = items[699].signature.slice();
    items[699].signature[63] |= 0xf0; // S >= L
    for (const mode of ['strict', 'zip215'] as const) {
      const single = items.map((it) => ed25519.verify(it.signature, it.message, it.publicKey, { mode }));
      expect(single.filter((x) => !x).length).toBe(4);
      expect(ed25519.verifyBatch(items, { mode })).toEqual(single);
      expect(ed25519.verifyBatch(items, { mode, parallel: false })).toEqual(single);
      expect(await ed25519.verifyBatchAsync(items, { mode })).toEqual(single);
    }
    expect(ed25519.verifyBatch([])).toEqual([]);
  });

  it('a bad signature is false; a malformed argument throws OmniError naming it', () => {
    const kp = ed25519.generateKeyPair();
    const sig = ed25519.sign('m', kp.secretKey);
    expect(ed25519.verify(new Uint8Array(64), 'm', kp.publicKey)).toBe(false);
    const cases: [() => unknown, string][] = [
      [() => ed25519.verify(sig.subarray(0, 63), 'm', kp.publicKey), 'signature: expected 64 bytes, got 63'],
      [() => ed25519.verify(sig, 'm', kp.publicKey.subarray(1)), 'publicKey: expected 32 bytes, got 31'],
      [() => ed25519.verify(sig, 42 as never, kp.publicKey), 'message: expected a Uint8Array, got a number'],
      [() => ed25519.verify(sig, 'm', kp.publicKey, { mode: 'lax' as never }), 'opts.mode'],
      [() => ed25519.sign('m', 'secret' as never), 'secretKey: expected a Uint8Array, got a string'],
      [() => ed25519.verifyBatch([{ signature: sig, message: 'm', publicKey: new Uint8Array(3) }]), 'items[0].publicKey: expected 32 bytes, got 3'],
      [() => ed25519.verifyBatch({} as never), 'items: expected an array'],
      [() => ed25519.verifyBatch([null as never]), 'items[0]: expected an object'],
    ];
    for (const [fn, msg] of cases) {
      try {
        fn();
        expect.unreachable(`expected a throw containing '${msg}'`);
      } catch (err) {
        expect(err).toBeInstanceOf(OmniError);
        expect((err as OmniError).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
        expect((err as OmniError).message).toContain(msg);
      }
    }
  });
});
