/**
 * Replication through a real 3-server JetStream cluster on loopback: three
 * domains, three omnitide nodes. The stream leader is killed mid-stream and a
 * node is stopped and restarted; afterwards every ledger holds every decision
 * exactly once, in the same order (identical Merkle roots). Forged, untrusted
 * and out-of-scope decisions are rejected and logged on every node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Autoblocker, jetstreamTransport, type TrustPolicy } from '../../ts/autoblock/index.js';
import { NATS_SERVER, NatsCluster } from './natscluster.js';

if (!NATS_SERVER) {
  const msg = '!!! SKIPPING autoblock cluster tests: nats-server is not installed !!!';
  if (process.env.CI === 'true') throw new Error(`${msg} — .ci/run installs it`);
  console.warn(`\n${msg}\n`);
}

const root = mkdtempSync(join(tmpdir(), 'omni-ab-cluster-'));
let cluster: NatsCluster;

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!NATS_SERVER)('omnitide/autoblock on NATS JetStream (3 servers, 3 nodes)', () => {
  beforeAll(async () => {
    cluster = await NatsCluster.start(join(root, 'nats'));
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('leader killed mid-stream, a node restarted: nothing lost or applied twice, identical roots; bad decisions rejected', async () => {
    const names = ['site-a', 'site-b', 'site-c'];
    // create the three domain keys first (each node's trust policy names all three)
    const keys: Uint8Array[] = [];
    for (const d of names) {
      const ab = await Autoblocker.open(join(root, d), { insecurePlaintext: true, domain: d });
      keys.push(ab.publicKey);
      await ab.close();
    }
    const trust: TrustPolicy = { roots: keys };
    const open = (i: number) =>
      Autoblocker.open(join(root, names[i]), { insecurePlaintext: true, domain: names[i], trust, transport: jetstreamTransport({ servers: cluster.urls, durable: names[i] }) });
    const nodes = [await open(0), await open(1), await open(2)];
    const evil = await Autoblocker.open(join(root, 'evil'), { insecurePlaintext: true, domain: 'evil' });
    try {
      const total = 120;
      let issued = 0;
      const ban = async (node: Autoblocker) => {
        const k = issued++;
        await node.ban({ value: `198.51.${k >> 8}.${k & 255}`, duration: 3600, reason: `test ${k}` });
      };
      for (let i = 0; i < 40; i++) await ban(nodes[i % 2]);
      // a node goes down; the stream leader is killed mid-stream
      await nodes[2].close();
      const nc = await connect({ servers: cluster.urls });
      let leader: string | undefined;
      await until('a stream leader', async () => {
        try {
          leader = (await (await nc.jetstreamManager()).streams.info('AUTOBLOCK')).cluster?.leader;
        } catch {
          leader = undefined;
        }
        return leader !== undefined;
      });
      await nc.close();
      expect(leader).toMatch(/^n\d$/);
      await cluster.kill(leader!);
      for (let i = 40; i < 80; i++) await ban(nodes[i % 2]);
      cluster.startNode(leader!);
      nodes[2] = await open(2);
      for (let i = 80; i < total; i++) await ban(nodes[i % 3]);
      // bad decisions straight onto the stream
      const good = await nodes[0].ban({ value: '203.0.113.1', duration: 60 });
      const forged = JSON.parse(JSON.stringify(good.envelope));
      const stmt = JSON.parse(Buffer.from(forged.payload, 'base64').toString());
      stmt.predicate.value = '203.0.113.2';
      stmt.subject[0].name = 'autoblock/ban/ip/203.0.113.2';
      forged.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
      const untrusted = (await evil.ban({ value: '203.0.113.3', duration: 60 })).envelope;
      const raw = await connect({ servers: cluster.urls });
      const js = raw.jetstream();
      for (const [id, e] of [['forged', forged], ['untrusted', untrusted]] as const) {
        const h = headers();
        h.set('Nats-Msg-Id', id);
        // the stream may still be electing its new leader (503 no responders): retry
        await until(`the ${id} decision stored`, () =>
          js.publish('autoblock.decisions', new TextEncoder().encode(JSON.stringify(e)), { headers: h, timeout: 2000 }).then(
            () => true,
            () => false,
          ),
        );
      }
      await raw.close();
      const expected = total + 1;
      await until('all ledgers to converge', () => nodes.every((n) => n.root.size === expected) && nodes.every((n) => n.rejections().length === 2), 60_000);
      const roots = nodes.map((n) => n.root.rootHash);
      expect(new Set(roots).size).toBe(1);
      for (const n of nodes) {
        const all = await n.decisions({ all: true });
        expect(new Set(all.map((d) => d.id)).size).toBe(expected); // none applied twice
        expect(new Set(all.map((d) => d.value)).size).toBe(expected); // none lost
        expect(n.lookup('198.51.0.5')).toBeDefined();
        expect(n.lookup('203.0.113.2')).toBeUndefined();
        expect(n.lookup('203.0.113.3')).toBeUndefined();
        expect(n.rejections().map((r) => r.reason).sort()).toEqual(['bad_signature', 'unknown_key']);
        expect((await n.verify(good.id)).valid).toBe(true);
      }
    } finally {
      for (const n of nodes) await n.close();
      await evil.close();
    }
  });

  it('with every server down, local decisions are still enforced and replicate once the cluster is back', async () => {
    const names = ['down-x', 'down-y'];
    const keys: Uint8Array[] = [];
    for (const d of names) {
      const ab = await Autoblocker.open(join(root, d), { insecurePlaintext: true, domain: d });
      keys.push(ab.publicKey);
      await ab.close();
    }
    const open = (d: string) =>
      Autoblocker.open(join(root, d), { insecurePlaintext: true, domain: d, trust: { roots: keys }, transport: jetstreamTransport({ servers: cluster.urls, durable: d, stream: 'AB_DOWN', subject: 'ab.down' }) });
    const x = await open('down-x');
    const y = await open('down-y');
    try {
      for (const n of cluster.nodes) await cluster.kill(n.name);
      const d = await x.ban({ value: '192.0.2.77', duration: 600 });
      expect(x.lookup('192.0.2.77')?.id).toBe(d.id); // enforced locally at once
      expect(d.logIndex).toBeNull(); // logged when the stream delivers it
      for (const n of cluster.nodes) cluster.startNode(n.name);
      await until('replication to resume', () => y.lookup('192.0.2.77')?.id === d.id && x.root.size === 1 && y.root.size === 1, 60_000);
      expect(x.root.rootHash).toBe(y.root.rootHash);
      expect((await x.verify(d.id)).valid).toBe(true);
    } finally {
      await x.close();
      await y.close();
    }
  });
});
