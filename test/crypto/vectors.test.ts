import { describe, expect, it } from 'vitest';
import { blake3, ed25519 } from '../../ts/crypto/index.js';
import { fromHex, loadVectors, toHex } from '../helpers/vectors.js';

interface Blake3Vectors {
  key: string;
  context_string: string;
  cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[];
}
interface Wycheproof {
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: string; flags: string[] }[] }[];
}

const b3 = loadVectors<Blake3Vectors>('blake3_test_vectors.json');
const wp = loadVectors<Wycheproof>('wycheproof_ed25519_test.json');

/** The official vectors' input: bytes 0..250 repeating. */
const input = (len: number) => Uint8Array.from({ length: len }, (_, i) => i % 251);

describe.runIf(b3)('BLAKE3 official test vectors', () => {
  const v = b3!;
  const key = new TextEncoder().encode(v.key);

  it('has the expected case set', () => {
    expect(v.cases.length).toBeGreaterThanOrEqual(35);
  });

  for (const c of v.cases) {
    const full = c.hash.length / 2;
    it(`input_len ${c.input_len}: hash, keyed_hash, derive_key at every output length form`, () => {
      const data = input(c.input_len);
      expect(toHex(blake3.hash(data))).toBe(c.hash.slice(0, 64));
      expect(toHex(blake3.hash(data, { length: full }))).toBe(c.hash);
      expect(toHex(blake3.hash(data, { key }))).toBe(c.keyed_hash.slice(0, 64));
      expect(toHex(blake3.hash(data, { key, length: full }))).toBe(c.keyed_hash);
      expect(toHex(blake3.deriveKey(v.context_string, data))).toBe(c.derive_key.slice(0, 64));
      expect(toHex(blake3.deriveKey(v.context_string, data, full))).toBe(c.derive_key);
      // Every shorter extended length is a prefix of the full output.
      for (const len of [1, 31, 33, 64, full - 1]) {
        expect(toHex(blake3.hash(data, { length: len }))).toBe(c.hash.slice(0, len * 2));
      }
    });

    it(`input_len ${c.input_len}: streaming in odd chunks, hashMany, hashAsync`, async () => {
      const data = input(c.input_len);
      for (const opts of [undefined, { key }, { context: v.context_string }] as const) {
        const h = blake3.createHasher(opts);
        for (let at = 0; at < data.length; at += 1021) h.update(data.subarray(at, at + 1021));
        const want = opts === undefined ? c.hash : 'key' in opts ? c.keyed_hash : c.derive_key;
        expect(toHex(h.digest(full))).toBe(want);
        expect(toHex(h.reset().update(data).digest())).toBe(want.slice(0, 64));
      }
      expect(toHex(blake3.hashMany([data, data])[1])).toBe(c.hash.slice(0, 64));
      expect(toHex(await blake3.hashAsync(data, { length: full }))).toBe(c.hash);
    });
  }
});

describe('RFC 8032 Ed25519 test vectors (section 7.1)', () => {
  const cases = [
    {
      name: 'TEST 1',
      sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      msg: '',
      sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      name: 'TEST 2',
      sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      msg: '72',
      sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
    {
      name: 'TEST 3',
      sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      msg: 'af82',
      sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
    {
      name: 'TEST SHA(abc)',
      sk: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
      pk: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
      msg: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sk = fromHex(c.sk);
      const msg = fromHex(c.msg);
      expect(toHex(ed25519.publicKeyFromSecret(sk))).toBe(c.pk);
      expect(toHex(ed25519.sign(msg, sk))).toBe(c.sig);
      expect(toHex(ed25519.createSigner(sk).sign(msg))).toBe(c.sig);
      expect(ed25519.verify(fromHex(c.sig), msg, fromHex(c.pk))).toBe(true);
      expect(ed25519.verify(fromHex(c.sig), msg, fromHex(c.pk), { mode: 'zip215' })).toBe(true);
      const bad = fromHex(c.sig);
      bad[5] ^= 0x10;
      expect(ed25519.verify(bad, msg, fromHex(c.pk))).toBe(false);
    });
  }
});

describe.runIf(wp)('Wycheproof Ed25519 (strict mode)', () => {
  const all = wp!.testGroups.flatMap((g) => g.tests.map((t) => ({ ...t, pk: g.publicKey.pk })));

  it('covers the whole file', () => {
    expect(all.length).toBeGreaterThanOrEqual(145);
  });

  // Wycheproof puts malformed signatures (wrong length) among the "invalid"
  // cases; our API throws for a wrong-length argument, which is a rejection.
  const verdict = (t: (typeof all)[number]) => {
    try {
      return ed25519.verify(fromHex(t.sig), fromHex(t.msg), fromHex(t.pk));
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
      return false;
    }
  };

  for (const t of all) {
    it(`tcId ${t.tcId} (${t.result}; ${t.flags.join(',')})`, () => {
      expect(verdict(t)).toBe(t.result === 'valid');
    });
  }

  it('verifyBatch over every well-formed case equals verify, item by item', () => {
    const wellFormed = all.filter((t) => t.sig.length === 128 && t.pk.length === 64);
    const items = wellFormed.map((t) => ({ signature: fromHex(t.sig), message: fromHex(t.msg), publicKey: fromHex(t.pk) }));
    const got = ed25519.verifyBatch(items);
    expect(got).toEqual(wellFormed.map((t) => t.result === 'valid'));
    expect(got).toEqual(items.map((i) => ed25519.verify(i.signature, i.message, i.publicKey)));
  });
});
