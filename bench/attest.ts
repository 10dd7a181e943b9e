/**
 * Attestation benchmark: verifyMany of envelopes signed at the end of a
 * 3-level delegation chain (root -> a -> b -> c) against the same checks done
 * with node:crypto in the same run; p99 latency of single verify(); issue rate
 * including the durable ledger append. Saves bench/results/attest.json.
 */
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Authority, type Envelope, trustRoot, verify, verifyMany } from '../ts/attest/index.js';
import { type Group, ratio, runGroups, save } from './harness.js';

const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const T = 'https://slsa.dev/provenance/v1';

function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

/** Glob with `*` (no '/') and `**` as a RegExp, for the node:crypto baseline. */
function globRe(g: string): RegExp {
  const s = g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*').replace(/\?/g, '[^/]');
  return new RegExp(`^${s}$`);
}

/** The same checks as omnitide's verify, with node:crypto for the signatures. */
function nodeChainVerifier(rootPk: Uint8Array, delegations: Envelope[]) {
  const keys = new Map<string, KeyObject>();
  const keyOf = (b64: string) => createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(b64, 'base64')]), format: 'der', type: 'spki' });
  const rootKey = createPublicKey({ key: Buffer.concat([SPKI, rootPk]), format: 'der', type: 'spki' });
  const checkChain = () => {
    // delegation statements, checked top-down (each signed by the previous delegate)
    let signer = rootKey;
    const levels: { types?: string[]; globs?: RegExp[]; expiresAt?: number }[] = [];
    for (const d of delegations) {
      const body = Buffer.from(d.payload, 'base64');
      if (!nodeVerify(null, pae(d.payloadType, body), signer, Buffer.from(d.signatures[0].sig, 'base64'))) return null;
      const st = JSON.parse(body.toString());
      const sc = st.predicate.scope;
      levels.push({ types: sc.predicateTypes, globs: sc.subjects?.map(globRe), expiresAt: sc.expiresAt });
      let k = keys.get(st.predicate.delegate.keyid);
      if (!k) keys.set(st.predicate.delegate.keyid, (k = keyOf(st.predicate.delegate.publicKey)));
      signer = k;
    }
    return { leaf: signer, levels };
  };
  const checkOne = (e: Envelope, chain: NonNullable<ReturnType<typeof checkChain>>, now: number) => {
    const body = Buffer.from(e.payload, 'base64');
    if (!nodeVerify(null, pae(e.payloadType, body), chain.leaf, Buffer.from(e.signatures[0].sig, 'base64'))) return false;
    const st = JSON.parse(body.toString());
    if (st._type !== 'https://in-toto.io/Statement/v1') return false;
    if (st.omnitide?.expiresAt !== undefined && st.omnitide.expiresAt < now) return false;
    for (const l of chain.levels) {
      if (l.expiresAt !== undefined && l.expiresAt < now) return false;
      if (l.types && !l.types.includes(st.predicateType)) return false;
      if (l.globs && !st.subject.every((s: { name: string }) => l.globs!.some((g) => g.test(s.name)))) return false;
    }
    return true;
  };
  return {
    many(envs: Envelope[]) {
      const chain = checkChain();
      const now = Date.now();
      return envs.map((e) => !!chain && checkOne(e, chain, now));
    },
    one(e: Envelope) {
      const chain = checkChain();
      return !!chain && checkOne(e, chain, Date.now());
    },
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'omni-attest-bench-'));
  const a = await Authority.open(join(dir, 'auth'), { insecurePlaintext: true });
  for (const k of ['root', 'a', 'b', 'c']) a.createKey(k);
  const d = [
    await a.delegate({ from: 'root', to: 'a', scope: { predicateTypes: [T], subjects: ['pkg/**'], maxDepth: 2 } }),
    await a.delegate({ from: 'a', to: 'b', scope: { subjects: ['pkg/a/**'], maxDepth: 1 } }),
    await a.delegate({ from: 'b', to: 'c', scope: { subjects: ['pkg/a/*'], maxDepth: 0 } }),
  ].map((x) => x.envelope);
  const N = 1024;
  const envs = (
    await a.issueMany(Array.from({ length: N }, (_, i) => ({ signer: 'c', subject: [{ name: `pkg/a/${i}`, digest: { sha256: 'ab'.repeat(32) } }], predicateType: T, predicate: { i } })))
  ).map((x) => x.envelope);
  const rootPk = a.exportPublicKey('root');
  const roots = trustRoot([rootPk]);
  const opts = { roots, delegations: d };
  const nodeV = nodeChainVerifier(rootPk, d);
  if (!verifyMany(envs, opts).every((v) => v.valid) || !nodeV.many(envs).every(Boolean)) throw new Error('setup: envelopes must verify');

  // p99 latency of one verify() (full 3-level chain each call).
  const lat = (fn: () => unknown) => {
    const xs: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = process.hrtime.bigint();
      fn();
      xs.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    xs.sort((p, q) => p - q);
    return { p50us: xs[xs.length >> 1], p99us: xs[Math.floor(xs.length * 0.99)] };
  };
  const ours = lat(() => verify(envs[7], opts));
  const node = lat(() => nodeV.one(envs[7]));
  console.log(`\nsingle verify, 3-level chain (goal: p99 < 1 ms): omnitide p50 ${ours.p50us.toFixed(0)} us p99 ${ours.p99us.toFixed(0)} us; node:crypto p50 ${node.p50us.toFixed(0)} us p99 ${node.p99us.toFixed(0)} us`);

  const fresh = join(dir, 'issue');
  const b = await Authority.open(fresh, { insecurePlaintext: true });
  b.createKey('c');
  const reqs1k = Array.from({ length: 1024 }, (_, i) => ({ signer: 'c', subject: [{ name: `pkg/${i}`, digest: { sha256: 'cd'.repeat(32) } }], predicateType: T }));
  const reqs = Array.from({ length: 256 }, (_, i) => ({ signer: 'c', subject: [{ name: `pkg/${i}`, digest: { sha256: 'cd'.repeat(32) } }], predicateType: T }));

  const groups: Group[] = [
    {
      name: `verifyMany of ${N} envelopes, 3-level delegation chain, per envelope (one thread)`,
      unit: 'env',
      goal: '>= 20,000/s on one core',
      cases: [
        { impl: 'omnitide verifyMany', fn: () => verifyMany(envs, opts), unitsPerCall: N },
        { impl: 'node:crypto (same checks)', fn: () => nodeV.many(envs), unitsPerCall: N },
      ],
    },
    {
      name: 'verify one envelope with its 3-level chain',
      unit: 'op',
      cases: [
        { impl: 'omnitide verify', fn: () => verify(envs[3], opts) },
        { impl: 'node:crypto (same checks)', fn: () => nodeV.one(envs[3]) },
      ],
    },
    {
      name: 'issue incl. durable ledger append (batch durability: fsync before ack)',
      unit: 'att',
      goal: '>= 10,000/s',
      cases: [
        { impl: 'omnitide issueMany x1024', fn: () => b.issueMany(reqs1k), unitsPerCall: reqs1k.length },
        { impl: 'omnitide issueMany x256', fn: () => b.issueMany(reqs), unitsPerCall: reqs.length },
        { impl: 'omnitide issue (one per append)', fn: () => b.issue(reqs[0]) },
      ],
    },
  ];
  const results = await runGroups('attest', groups);
  const summary = {
    verifyManyPerSec: results.find((r) => r.impl === 'omnitide verifyMany')!.unitsPerSec,
    verifyManyVsNodeCrypto: ratio(results, groups[0].name, 'omnitide verifyMany', 'node:crypto (same checks)'),
    verifyOneVsNodeCrypto: ratio(results, groups[1].name, 'omnitide verify', 'node:crypto (same checks)'),
    singleVerifyLatency: { omnitide: ours, nodeCrypto: node },
    issueMany1024PerSec: results.find((r) => r.impl === 'omnitide issueMany x1024')!.unitsPerSec,
    issueMany256PerSec: results.find((r) => r.impl === 'omnitide issueMany x256')!.unitsPerSec,
    issueSinglePerSec: results.find((r) => r.impl === 'omnitide issue (one per append)')!.unitsPerSec,
  };
  console.log('\nsummary', JSON.stringify(summary, null, 2));
  save('attest', { results, summary });
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
