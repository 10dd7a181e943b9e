/**
 * Crypto benchmark: omnitide vs node:crypto, sodium-native, @noble/curves,
 * @noble/hashes and hash-wasm, in one run. Saves bench/results/crypto.json.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sodium from 'sodium-native';
import { ed25519 as nobleEd } from '@noble/curves/ed25519.js';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { createBLAKE3 } from 'hash-wasm';
import { blake3, ed25519 } from '../ts/crypto/index.js';
import { type Group, ratio, runGroups, timeOnce } from './harness.js';

const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');

async function main() {
  const kp = ed25519.generateKeyPair();
  const msg = new Uint8Array(64).fill(7);
  const sig = ed25519.sign(msg, kp.secretKey);
  const nodePriv = createPrivateKey({ key: Buffer.concat([PKCS8, kp.secretKey]), format: 'der', type: 'pkcs8' });
  const nodePub = createPublicKey({ key: Buffer.concat([SPKI, kp.publicKey]), format: 'der', type: 'spki' });
  const sodiumSk = Buffer.alloc(64);
  const sodiumPk = Buffer.alloc(32);
  sodium.crypto_sign_seed_keypair(sodiumPk, sodiumSk, Buffer.from(kp.secretKey));
  const sodiumSig = Buffer.alloc(64);
  const signer = ed25519.createSigner(kp.secretKey);

  // A batch of 1024 distinct keys and messages (the realistic, hardest case for batching).
  const N = 1024;
  const batch = Array.from({ length: N }, (_, i) => {
    const k = ed25519.generateKeyPair();
    const message = new Uint8Array(64).fill(i & 255);
    return { signature: ed25519.sign(message, k.secretKey), message, publicKey: k.publicKey };
  });
  const sodiumBatch = batch.map((b) => ({ s: Buffer.from(b.signature), m: Buffer.from(b.message), p: Buffer.from(b.publicKey) }));

  const mib = new Uint8Array(1 << 20).fill(1);
  const mib64 = new Uint8Array(64 << 20).fill(2);
  const small = new Uint8Array(64).fill(3);
  const smallItems = Array.from({ length: 4096 }, (_, i) => new Uint8Array(64).fill(i & 255));
  const packedSmall = new Uint8Array(smallItems.length * 64);
  smallItems.forEach((it, i) => packedSmall.set(it, i * 64));
  const packedEnds = Uint32Array.from(smallItems, (_, i) => (i + 1) * 64);
  const wasm = await createBLAKE3();
  const wasmHash = (d: Uint8Array) => wasm.init().update(d).digest('binary');

  const groups: Group[] = [
    {
      name: 'ed25519 verify (single, 64-byte message)',
      unit: 'op',
      goal: '>= 1.0x sodium-native',
      cases: [
        { impl: 'omnitide', fn: () => ed25519.verify(sig, msg, kp.publicKey) },
        { impl: 'sodium-native', fn: () => sodium.crypto_sign_verify_detached(Buffer.from(sig), Buffer.from(msg), sodiumPk) },
        { impl: 'node:crypto', fn: () => nodeVerify(null, msg, nodePub, sig) },
        { impl: '@noble/curves', fn: () => nobleEd.verify(sig, msg, kp.publicKey) },
      ],
    },
    {
      name: 'ed25519 verifyBatch of 1024 (distinct keys), per signature',
      unit: 'sig',
      goal: '>= 2x sodium-native per signature; 2 threads >= 1.8x 1 thread',
      cases: [
        { impl: 'omnitide (2 threads)', fn: () => ed25519.verifyBatch(batch), unitsPerCall: N },
        { impl: 'omnitide (1 thread)', fn: () => ed25519.verifyBatch(batch, { parallel: false }), unitsPerCall: N },
        { impl: 'omnitide async', fn: () => ed25519.verifyBatchAsync(batch), unitsPerCall: N },
        { impl: 'sodium-native', fn: () => sodiumBatch.every((b) => sodium.crypto_sign_verify_detached(b.s, b.m, b.p)), unitsPerCall: N },
        { impl: 'node:crypto', fn: () => batch.every((b) => nodeVerify(null, b.message, createPublicKey({ key: Buffer.concat([SPKI, b.publicKey]), format: 'der', type: 'spki' }), b.signature)), unitsPerCall: N },
      ],
    },
    {
      name: 'ed25519 sign (64-byte message)',
      unit: 'op',
      goal: '>= 1.0x sodium-native',
      cases: [
        { impl: 'omnitide sign(msg, seed)', fn: () => ed25519.sign(msg, kp.secretKey) },
        { impl: 'omnitide createSigner().sign', fn: () => signer.sign(msg) },
        { impl: 'sodium-native', fn: () => sodium.crypto_sign_detached(sodiumSig, Buffer.from(msg), sodiumSk) },
        { impl: 'node:crypto', fn: () => nodeSign(null, msg, nodePriv) },
        { impl: '@noble/curves', fn: () => nobleEd.sign(msg, kp.secretKey) },
      ],
    },
    {
      name: 'BLAKE3 1 MiB buffer (single thread)',
      unit: 'byte',
      goal: '>= 3 GB/s',
      cases: [
        { impl: 'omnitide', fn: () => blake3.hash(mib), unitsPerCall: mib.length },
        { impl: 'omnitide hashAsync (all cores)', fn: () => blake3.hashAsync(mib), unitsPerCall: mib.length },
        { impl: 'hash-wasm', fn: () => wasmHash(mib), unitsPerCall: mib.length },
        { impl: '@noble/hashes', fn: () => nobleBlake3(mib), unitsPerCall: mib.length },
        { impl: 'node:crypto sha256 (reference)', fn: () => createHash('sha256').update(mib).digest(), unitsPerCall: mib.length },
      ],
    },
    {
      name: 'BLAKE3 64 MiB buffer (single thread)',
      unit: 'byte',
      goal: '>= 3 GB/s',
      cases: [
        { impl: 'omnitide', fn: () => blake3.hash(mib64), unitsPerCall: mib64.length },
        { impl: 'omnitide hashAsync (all cores)', fn: () => blake3.hashAsync(mib64), unitsPerCall: mib64.length },
        { impl: 'hash-wasm', fn: () => wasmHash(mib64), unitsPerCall: mib64.length },
        { impl: 'node:crypto sha256 (reference)', fn: () => createHash('sha256').update(mib64).digest(), unitsPerCall: mib64.length },
      ],
    },
    {
      name: 'BLAKE3 64-byte input, one call',
      unit: 'op',
      goal: '<= 500 ns per call',
      cases: [
        { impl: 'omnitide', fn: () => blake3.hash(small) },
        { impl: 'hash-wasm', fn: () => wasmHash(small) },
        { impl: '@noble/hashes', fn: () => nobleBlake3(small) },
        { impl: 'node:crypto sha256 (reference)', fn: () => createHash('sha256').update(small).digest() },
      ],
    },
    {
      name: 'BLAKE3 hashMany of 4096 x 64-byte inputs, per item',
      unit: 'item',
      goal: '<= 100 ns per item',
      cases: [
        { impl: 'omnitide hashMany', fn: () => blake3.hashMany(smallItems), unitsPerCall: smallItems.length },
        { impl: 'omnitide hashManyPacked', fn: () => blake3.hashManyPacked(packedSmall, packedEnds), unitsPerCall: smallItems.length },
        { impl: 'hash-wasm (loop)', fn: () => smallItems.map(wasmHash), unitsPerCall: smallItems.length },
        { impl: '@noble/hashes (loop)', fn: () => smallItems.map((d) => nobleBlake3(d)), unitsPerCall: smallItems.length },
      ],
    },
  ];

  const results = await runGroups('crypto', groups);

  // hashFile on a 1 GiB file: all cores (mmap + rayon) vs one thread (read loop).
  const dir = mkdtempSync(join(tmpdir(), 'omni-bench-'));
  const file = join(dir, 'gib');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 << 20, 5);
  for (let i = 0; i < 64; i++) writeSync(fd, chunk);
  closeSync(fd);
  await blake3.hashFile(file); // warm the page cache
  const best = async (fn: () => Promise<unknown>) => Math.min(await timeOnce(fn), await timeOnce(fn), await timeOnce(fn));
  const par = await best(() => blake3.hashFile(file));
  const ser = await best(() => blake3.hashFile(file, { parallel: false }));
  rmSync(dir, { recursive: true, force: true });
  const gib = 1 << 30;
  const fileResult = { parallelGBps: gib / par / 1e9, singleGBps: gib / ser / 1e9, speedup: ser / par };
  console.log(`\nhashFile 1 GiB (page cache warm)   (goal: >= 1.6x single thread)`);
  console.log(`  all cores ${fileResult.parallelGBps.toFixed(2)} GB/s, one thread ${fileResult.singleGBps.toFixed(2)} GB/s, speedup ${fileResult.speedup.toFixed(2)}x`);

  const summary = {
    verifySingleVsSodium: ratio(results, groups[0].name, 'omnitide', 'sodium-native'),
    verifyBatchVsSodium: ratio(results, groups[1].name, 'omnitide (2 threads)', 'sodium-native'),
    verifyBatch2vs1Thread: ratio(results, groups[1].name, 'omnitide (2 threads)', 'omnitide (1 thread)'),
    signVsSodium: ratio(results, groups[2].name, 'omnitide sign(msg, seed)', 'sodium-native'),
    signerVsSodium: ratio(results, groups[2].name, 'omnitide createSigner().sign', 'sodium-native'),
    blake3_1MiB_GBps: results.find((r) => r.group === groups[3].name && r.impl === 'omnitide')!.unitsPerSec / 1e9,
    blake3_64MiB_GBps: results.find((r) => r.group === groups[4].name && r.impl === 'omnitide')!.unitsPerSec / 1e9,
    hash64B_ns: results.find((r) => r.group === groups[5].name && r.impl === 'omnitide')!.nsPerUnit,
    hashMany64B_ns: results.find((r) => r.group === groups[6].name && r.impl === 'omnitide hashMany')!.nsPerUnit,
    hashFile1GiB: fileResult,
  };
  console.log('\nsummary', JSON.stringify(summary, null, 2));
  const { save } = await import('./harness.js');
  save('crypto', { results, summary });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
