/**
 * The chaos TCP fault proxy with no toxics: echo throughput and small
 * request/response round trips through our proxy, directly, and through the
 * real Toxiproxy server (Go), same run. Both proxies run in their own process
 * behind Toxiproxy's HTTP API (ours: this file with --serve), so neither
 * shares the event loop with the echo server and the client here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { ToxiproxyServer } from '../ts/chaos/proxy/index.js';
import { findToxiproxy, startGoToxiproxy } from '../test/chaos/proxy-fixtures/toxiproxy-go.js';
import { runGroups, type Case } from './harness.js';

const PAYLOAD = 1 << 20;
const PINGS = Number(process.env.BENCH_PINGS ?? 3000);

async function serve(): Promise<void> {
  const s = await ToxiproxyServer.start({ listen: '127.0.0.1:0' });
  process.stdout.write(`${s.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void s.close().then(() => process.exit(0)));
}

/** Our ToxiproxyServer in a child process; its API URL. */
async function startOurs(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`proxy server exited with ${code}`)));
  });
  return { url: line.trim(), child };
}

async function startEcho(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

async function createProxy(api: string, name: string, upstreamPort: number): Promise<number> {
  const r = await fetch(`${api}/proxies`, { method: 'POST', body: JSON.stringify({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}` }) });
  if (r.status !== 201) throw new Error(`creating proxy on ${api}: ${r.status} ${await r.text()}`);
  const { listen } = (await r.json()) as { listen: string };
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** A persistent connection that can wait for its echo. */
class Conn {
  private received = 0;
  private waiter: { target: number; resolve: () => void } | null = null;
  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.received += d.length;
      if (this.waiter && this.received >= this.waiter.target) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve();
      }
    });
  }
  static async open(port: number): Promise<Conn> {
    const sock = connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    return new Conn(sock);
  }
  roundTrip(buf: Buffer): Promise<void> {
    const target = this.received + buf.length;
    return new Promise((resolve) => {
      this.waiter = { target, resolve };
      this.sock.write(buf);
    });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function pingStats(c: Conn): Promise<{ p50us: number; p95us: number }> {
  const ping = Buffer.alloc(64, 1);
  for (let i = 0; i < 200; i++) await c.roundTrip(ping);
  const t: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const s = process.hrtime.bigint();
    await c.roundTrip(ping);
    t.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  t.sort((a, b) => a - b);
  return { p50us: percentile(t, 50), p95us: percentile(t, 95) };
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve();
  const echo = await startEcho();
  const ours = await startOurs();
  const targets: { impl: string; port: number }[] = [
    { impl: 'omnitide (proxy, no toxics)', port: await createProxy(ours.url, 'bench', echo.port) },
    { impl: 'direct (no proxy)', port: echo.port },
  ];
  const found = await findToxiproxy();
  const go = found.bin ? await startGoToxiproxy(found.bin) : undefined;
  if (go) targets.push({ impl: 'toxiproxy (Go v2.5.0)', port: await createProxy(go.url, 'bench', echo.port) });
  else console.warn(`!!! Toxiproxy (Go) peer SKIPPED: ${found.missing} !!!`);

  try {
    const conns = await Promise.all(targets.map((t) => Conn.open(t.port)));
    const payload = Buffer.alloc(PAYLOAD, 0x5a);
    const ping = Buffer.alloc(64, 1);
    const throughput: Case[] = targets.map((t, i) => ({ impl: t.impl, unitsPerCall: PAYLOAD, fn: () => conns[i].roundTrip(payload) }));
    const roundTrips: Case[] = targets.map((t, i) => ({ impl: t.impl, fn: () => conns[i].roundTrip(ping) }));

    const latency: Record<string, { p50us: number; p95us: number }> = {};
    for (let i = 0; i < targets.length; i++) latency[targets[i].impl] = await pingStats(conns[i]);
    const direct = latency['direct (no proxy)'];
    console.log(`\n64-byte request/response round trips (${PINGS} sequential), p50 / p95 and added over direct:`);
    const added: Record<string, { p50us: number; p95us: number }> = {};
    for (const [impl, l] of Object.entries(latency)) {
      added[impl] = { p50us: l.p50us - direct.p50us, p95us: l.p95us - direct.p95us };
      console.log(`  ${impl.padEnd(30)} p50 ${l.p50us.toFixed(1).padStart(7)} µs  p95 ${l.p95us.toFixed(1).padStart(7)} µs   added p50 ${added[impl].p50us.toFixed(1)} µs, p95 ${added[impl].p95us.toFixed(1)} µs`);
    }
    const ourAdded = added['omnitide (proxy, no toxics)'];
    const goAdded = added['toxiproxy (Go v2.5.0)'];
    const addedRatio = goAdded ? { p50: ourAdded.p50us / goAdded.p50us, p95: ourAdded.p95us / goAdded.p95us } : null;
    if (addedRatio) console.log(`  added latency omnitide/toxiproxy: p50 ${addedRatio.p50.toFixed(2)}x, p95 ${addedRatio.p95.toFixed(2)}x (lower is better)`);

    await runGroups(
      'chaos-proxy',
      [
        { name: `echo throughput, ${PAYLOAD >> 20} MiB round trips, no toxics`, unit: 'byte', cases: throughput, goal: 'within 2x of Toxiproxy (Go)' },
        { name: '64-byte request/response round trips, no toxics', unit: 'op', cases: roundTrips },
      ],
      { latency, addedLatency: added, addedLatencyRatioVsToxiproxy: addedRatio, note: 'each proxy in its own process; echo server and client in the bench process' },
    );
    for (const c of conns) c.sock.destroy();
  } finally {
    ours.child.stdin!.end();
    await go?.stop();
    echo.server.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
