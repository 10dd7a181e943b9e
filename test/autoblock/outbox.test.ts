/**
 * The on-disk outbox: decisions made while the JetStream server is unreachable
 * survive closing the node; the reopened node enforces them again and
 * publishes them once the server is up; each reaches the stream and the
 * ledgers exactly once (server-side dedup by message ID, ledger dedup by
 * decision ID). A real nats-server on a free loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoblocker, jetstreamTransport } from '../../ts/autoblock/index.js';
import { freePort, NATS_SERVER } from './natscluster.js';

if (!NATS_SERVER) {
  const msg = '!!! SKIPPING autoblock outbox test: nats-server is not installed !!!';
  if (process.env.CI === 'true') throw new Error(`${msg} — .ci/run installs it`);
  console.warn(`\n${msg}\n`);
}

const root = mkdtempSync(join(tmpdir(), 'omni-ab-outbox-'));
let server: ChildProcess | null = null;
afterAll(async () => {
  await stopServer();
  rmSync(root, { recursive: true, force: true });
});

async function stopServer(): Promise<void> {
  const p = server;
  server = null;
  if (p && p.exitCode === null) await new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGTERM')));
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const STREAM = 'AB_OUTBOX';
const SUBJECT = 'ab.outbox';

async function streamMessages(url: string): Promise<number> {
  const nc = await connect({ servers: [url], timeout: 1000 });
  try {
    return (await (await nc.jetstreamManager()).streams.info(STREAM)).state.messages;
  } finally {
    await nc.close();
  }
}

// Skips only outside CI without nats-server (the test replays the outbox into a real server); under CI=true that is
// an error above, since .ci/run installs nats-server.
describe.skipIf(!NATS_SERVER)('omnitide/autoblock outbox', () => {
  it('decisions made while the server is down survive a restart of the node and arrive exactly once', async () => {
    const port = await freePort();
    const url = `nats://127.0.0.1:${port}`;
    const names = ['box-a', 'box-b', 'box-c'];
    const keys: Uint8Array[] = [];
    for (const d of names) {
      const ab = await Autoblocker.open(join(root, d), { insecurePlaintext: true, domain: d });
      keys.push(ab.publicKey);
      await ab.close();
    }
    const open = (d: string) =>
      Autoblocker.open(join(root, d), {
        insecurePlaintext: true,
        domain: d,
        trust: { roots: keys },
        transport: jetstreamTransport({ servers: [url], durable: d, stream: STREAM, subject: SUBJECT, retryMs: 100 }),
      });
    const outboxOf = (d: string) => join(root, d, 'outbox.jsonl');

    // the server is not running: the node opens, decides, enforces, and queues on disk
    let a = await open('box-a');
    const made = [];
    try {
      for (let i = 1; i <= 5; i++) made.push(await a.ban({ value: `192.0.2.${i}`, duration: 600, reason: `down ${i}` }));
      const lifted = await a.unban('192.0.2.5', { reason: 'mistake' });
      made.push(lifted!);
      expect(made.every((d) => d.logIndex === null)).toBe(true);
      expect(a.lookup('192.0.2.1')?.id).toBe(made[0].id);
      expect(a.root.size).toBe(0);
    } finally {
      await a.close();
    }
    const lines = readFileSync(outboxOf('box-a'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    const saved = join(root, 'outbox-copy.jsonl');
    copyFileSync(outboxOf('box-a'), saved);

    // a new node on the same state, server still down: the queued decisions are enforced again
    a = await open('box-a');
    let b: Autoblocker | null = null;
    let c: Autoblocker | null = null;
    try {
      expect(a.lookup('192.0.2.1')?.id).toBe(made[0].id);
      expect(a.lookup('192.0.2.4')?.id).toBe(made[3].id);
      expect(a.lookup('192.0.2.5')).toBeUndefined(); // lifted before the restart
      expect(a.root.size).toBe(0);

      // the server starts: the outbox drains, every decision is stored and logged once
      const store = join(root, 'js');
      mkdirSync(store, { recursive: true });
      const conf = join(root, 'nats.conf');
      writeFileSync(conf, `listen: 127.0.0.1:${port}\njetstream { store_dir: "${store}" }\n`);
      server = spawn(NATS_SERVER!, ['-c', conf], { stdio: 'ignore' });
      await until('the outbox to drain into the ledger', () => a.root.size === 6 && !existsSync(outboxOf('box-a')));
      expect(await streamMessages(url)).toBe(6);
      const logged = await a.decisions({ all: true });
      expect(logged.map((d) => d.id).sort()).toEqual(made.map((d) => d.id).sort());
      for (const d of made) expect((await a.verify(d.id)).valid).toBe(true);

      // another domain's node receives each of them once
      b = await open('box-b');
      await until('box-b to catch up', () => b!.root.size === 6);
      expect(b.root.rootHash).toBe(a.root.rootHash);
      expect(b.lookup('192.0.2.3')?.id).toBe(made[2].id);
      expect(b.lookup('192.0.2.5')).toBeUndefined();

      // the same outbox published a second time (a node that crashed after the
      // stream stored them, before it forgot them): deduplicated by message ID
      writeFileSync(outboxOf('box-c'), readFileSync(saved));
      c = await open('box-c');
      await until('box-c to catch up and drain', () => c!.root.size === 6 && !existsSync(outboxOf('box-c')));
      expect(await streamMessages(url)).toBe(6);
      expect(c.root.rootHash).toBe(a.root.rootHash);
      expect(new Set((await c.decisions({ all: true })).map((d) => d.id)).size).toBe(6);
      expect(a.root.size).toBe(6);
    } finally {
      await a.close();
      await b?.close();
      await c?.close();
      await stopServer();
    }
  });
});
