/**
 * Ledger benchmark: omnitide/ledger vs hypercore (npm) appending the same
 * 64-byte entries, plus proof production/verification at a large tree size
 * (BENCH_LEDGER_N, default 10,000,000 entries, built with appendMany and
 * durability 'none'). Saves bench/results/ledger.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error hypercore ships no types
import Hypercore from 'hypercore';
import { Ledger } from '../ts/ledger/index.js';
import { ed25519 } from '../ts/crypto/index.js';
import { type Group, ratio, runGroups, timeOnce } from './harness.js';

const N = Number(process.env.BENCH_LEDGER_N ?? 10_000_000);
const BATCH = 1000;

function entries(n: number, seed: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const e = new Uint8Array(64);
    new DataView(e.buffer).setUint32(0, seed + i);
    e.fill(7, 4);
    return e;
  });
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'omni-ledger-bench-'));
  const kp = ed25519.generateKeyPair();
  try {
    // ---- append peers
    const ours = await Ledger.open(join(root, 'append-batch'), { origin: 'bench.example/a', durability: 'batch' });
    const oursNone = await Ledger.open(join(root, 'append-none'), { origin: 'bench.example/b', durability: 'none' });
    const oursAlways = await Ledger.open(join(root, 'append-always'), { origin: 'bench.example/c', durability: 'always' });
    const core = new Hypercore(join(root, 'hypercore'));
    await core.ready();
    const batch = entries(BATCH, 1 << 30).map((e) => Buffer.from(e));
    const one = Buffer.from(entries(1, 7)[0]);

    const appendGroups: Group[] = [
      {
        name: `appendMany of ${BATCH} 64-byte entries, per entry`,
        unit: 'entry',
        goal: ">= 200k entries/s with 'batch' durability",
        cases: [
          { impl: "omnitide (durability 'batch', fsync per call)", fn: () => ours.appendMany(batch), unitsPerCall: BATCH },
          { impl: "omnitide (durability 'none')", fn: () => oursNone.appendMany(batch), unitsPerCall: BATCH },
          { impl: 'hypercore append(array)', fn: () => core.append(batch), unitsPerCall: BATCH },
        ],
      },
      {
        name: 'append of one 64-byte entry',
        unit: 'entry',
        cases: [
          { impl: "omnitide (durability 'none')", fn: () => oursNone.append(one) },
          { impl: "omnitide (durability 'always', fsync each)", fn: () => oursAlways.append(one) },
          { impl: 'hypercore append(entry)', fn: () => core.append(one) },
        ],
      },
    ];
    const appendResults = await runGroups('ledger', appendGroups, {});
    await Promise.all([ours.close(), oursNone.close(), oursAlways.close()]);
    await core.close();

    // ---- the big tree
    const bigDir = join(root, 'big');
    const big = await Ledger.open(bigDir, { origin: 'bench.example/big', durability: 'none', signer: kp.secretKey });
    const chunk = entries(100_000, 0);
    const buildSecs = await timeOnce(async () => {
      for (let at = 0; at < N; at += chunk.length) await big.appendMany(at + chunk.length <= N ? chunk : chunk.slice(0, N - at));
      await big.sync();
    });
    console.log(`built a ${N.toLocaleString()}-entry ledger in ${buildSecs.toFixed(1)} s (${(N / buildSecs / 1e6).toFixed(2)}M entries/s, appendMany + durability 'none' + final fsync)`);
    await big.close();
    const reopenSecs = await timeOnce(async () => {
      const l = await Ledger.open(bigDir, { origin: 'bench.example/big', durability: 'none', signer: kp.secretKey });
      await l.close();
    });
    // Resident memory of a fresh process holding the big ledger open vs. an empty one.
    const rssOf = (d: string, origin: string) =>
      Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'fixtures', 'ledger-rss.ts'), d, origin], { encoding: 'utf8' }).trim()) / 2 ** 20;
    const rssBigMiB = rssOf(bigDir, 'bench.example/big');
    const rssEmptyMiB = rssOf(join(root, 'empty'), 'bench.example/empty');
    console.log(`RSS of a process with the ${N.toLocaleString()}-entry ledger open: ${rssBigMiB.toFixed(1)} MiB (empty ledger: ${rssEmptyMiB.toFixed(1)} MiB)`);
    const l = await Ledger.open(bigDir, { origin: 'bench.example/big', durability: 'none', signer: kp.secretKey });
    const size = l.size;
    const rootHash = l.root();
    let k = 1;
    const rnd = () => (k = (k * 1103515245 + 12345) % 2147483648) % size;
    const fixedIdx = rnd();
    const proof = l.inclusionProof(fixedIdx);
    const leaf = l.leafHash(fixedIdx);
    const oldSize = Math.floor(size / 3) + 1;
    const cproof = l.consistencyProof(oldSize);
    const oldRoot = l.root(oldSize);

    const proofGroups: Group[] = [
      {
        name: `proofs at ${size.toLocaleString()} entries`,
        unit: 'proof',
        goal: 'produce < 50 µs, verify < 20 µs',
        cases: [
          { impl: 'omnitide inclusionProof (random index)', fn: () => l.inclusionProof(rnd()) },
          { impl: 'omnitide consistencyProof (random old size)', fn: () => l.consistencyProof(1 + rnd()) },
          { impl: 'omnitide Ledger.verifyInclusion', fn: () => Ledger.verifyInclusion({ leafHash: leaf, index: fixedIdx, treeSize: size, proof, rootHash }) },
          { impl: 'omnitide Ledger.verifyConsistency', fn: () => Ledger.verifyConsistency({ oldSize, newSize: size, oldRoot, newRoot: rootHash, proof: cproof }) },
          { impl: 'omnitide root(random size)', fn: () => l.root(1 + rnd()) },
        ],
      },
    ];
    const proofResults = await runGroups('ledger', proofGroups, {});
    const results = [...appendResults, ...proofResults];
    const groups = appendGroups;
    const g0 = groups[0].name;
    const summary = {
      n: size,
      buildSeconds: buildSecs,
      buildEntriesPerSec: N / buildSecs,
      reopenSeconds: reopenSecs,
      rssFreshProcessBigLedgerMiB: rssBigMiB,
      rssFreshProcessEmptyLedgerMiB: rssEmptyMiB,
      appendManyBatchVsHypercore: ratio(results, g0, groups[0].cases[0].impl, groups[0].cases[2].impl),
      appendManyNoneVsHypercore: ratio(results, g0, groups[0].cases[1].impl, groups[0].cases[2].impl),
      note: 'hypercore 10 (random-access-file storage) does not fsync per append; omnitide batch does one fsync round per call',
    };
    console.log('\n' + JSON.stringify(summary, null, 2));
    const { save } = await import('./harness.js');
    save('ledger', { results, summary });
    await l.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
