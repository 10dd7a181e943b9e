/**
 * Two processes run two stages of one pipeline through a real nats-server
 * (JetStream, loopback, free port): the producer filters and maps, the
 * consumer runs a keyed window aggregate; the result equals the reference.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../ts/pipeline/index.js';
import { NATS_SERVER, freePort } from '../autoblock/natscluster.js';
import { events } from './data.js';

const dir = mkdtempSync(join(tmpdir(), `omni-pipe-nats-${process.pid}-`));
let server: ChildProcess | null = null;
let url = '';

async function ready(deadlineMs = 30_000) {
  const { connect } = await import('nats');
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 1000 });
      await (await nc.jetstreamManager()).getAccountInfo();
      await nc.close();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function stage(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/nats-stage.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`stage ${args[0]} exited ${code}: ${err}`))));
  });
}

const skip = !NATS_SERVER && process.env.CI !== 'true';
if (skip) console.warn('SKIP pipeline NATS tests: nats-server is not installed (apt-get install nats-server)');

describe.skipIf(skip)('a stage boundary over NATS JetStream', () => {
  beforeAll(async () => {
    if (!NATS_SERVER) throw new Error('nats-server is required under CI (/usr/sbin/nats-server)');
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'js')}" }\n`);
    server = spawn(NATS_SERVER, ['-c', conf], { stdio: 'ignore' });
    await ready();
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('partitions are stable and spread keys', () => {
    const seen = new Set(Array.from({ length: 50 }, (_, i) => partitionOf(`u${i}`, 3)));
    expect(seen).toEqual(new Set([0, 1, 2]));
    expect(partitionOf('u7', 3)).toBe(partitionOf('u7', 3));
  });

  it('two processes run two stages and the result equals the reference', async () => {
    const N = 6000;
    // The consumer starts first and waits for the producer's end-of-stream markers.
    const consumer = stage(['consume', url, String(N)]);
    const produced = await stage(['produce', url, String(N)]);
    expect(produced).toContain('produced');
    const got = JSON.parse((await consumer).trim()) as Array<{ user: string; windowStart: number; n: number; cents: number }>;
    const want = new Map<string, { n: number; cents: number }>();
    for (const e of events(N, 77, 0, 11)) {
      if (e.kind !== 'buy') continue;
      const k = `${e.user}|${Math.floor(e.ts / 1000) * 1000}`;
      const g = want.get(k) ?? { n: 0, cents: 0 };
      g.n++;
      g.cents += Math.round(e.amount * 100);
      want.set(k, g);
    }
    expect(got.length).toBe(want.size);
    for (const r of got) expect({ n: r.n, cents: r.cents }).toEqual(want.get(`${r.user}|${r.windowStart}`));
  });
});
