// The in-process fault proxy against a real TCP echo server on loopback.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OmniError } from '../../ts/errors.js';
import { Proxy } from '../../ts/chaos/proxy/index.js';
import { slicePoints } from '../../ts/chaos/proxy/toxics.js';
import { connectClient, listening, portOf, startEcho, tryConnect, waitFor, type Client, type Echo } from './proxy-fixtures/tcp.js';

let echo: Echo;
const open: Proxy[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  echo = await startEcho();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(open.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  await echo.close();
});

let seq = 0;
async function proxy(upstreamPort = echo.port): Promise<Proxy> {
  const p = await Proxy.start({ name: `t${process.pid}_${seq++}`, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}` });
  open.push(p);
  return p;
}
async function client(p: Proxy): Promise<Client> {
  const c = await connectClient(portOf(p.listen));
  clients.push(c);
  return c;
}
/** Sends `payload` and waits until `total` bytes have come back; returns the round trip in ms. */
async function roundTrip(c: Client, payload: Buffer | string, total: number): Promise<number> {
  const t = performance.now();
  c.socket.write(payload);
  await waitFor(`${total} bytes back`, () => c.data().length >= total);
  return performance.now() - t;
}
function expectOmni(fn: () => unknown, code: string, arg: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OmniError);
  expect((err as OmniError).code).toBe(code);
  expect((err as OmniError).message).toContain(arg);
}

describe('chaos proxy: passthrough', () => {
  it('relays 4 MiB both ways byte for byte and reports its real listen address', async () => {
    const p = await proxy();
    expect(p.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(p.listen)).toBeGreaterThan(0);
    const c = await client(p);
    const big = Buffer.alloc(4 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    await roundTrip(c, big, big.length);
    expect(c.data().equals(big)).toBe(true);
    expect(p.connections).toBe(1);
  });

  it('keeps 50 concurrent connections apart, with and without a toxic, and forgets them once closed', async () => {
    const p = await proxy();
    const run = async (k: number) => {
      const c = await client(p);
      const data = Buffer.alloc(64 * 1024, k);
      await roundTrip(c, data, data.length);
      expect(c.data().equals(data)).toBe(true);
      c.socket.destroy();
    };
    await Promise.all(Array.from({ length: 25 }, (_, k) => run(k)));
    p.addToxic({ type: 'latency', attributes: { latency: 5, jitter: 5 } });
    await Promise.all(Array.from({ length: 25 }, (_, k) => run(100 + k)));
    await waitFor('every connection to be forgotten', () => p.connections === 0);
  });

  it('passes a half-close on: the client ends, the echo server sees EOF and closes, the client sees EOF', async () => {
    const p = await proxy();
    const c = await client(p);
    c.socket.end('bye');
    await waitFor('EOF at the client', () => c.ended());
    expect(c.data().toString()).toBe('bye');
    await waitFor('the proxy to drop the connection', () => p.connections === 0);
  });
});

describe('chaos proxy: toxics', () => {
  it('latency adds at least `latency` ms per round trip, on a connection opened before the toxic', async () => {
    const p = await proxy();
    const c = await client(p);
    await roundTrip(c, 'warm', 4);
    const info = p.addToxic({ type: 'latency', attributes: { latency: 300 } });
    expect(info).toEqual({ name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 300, jitter: 0 } });
    const rtt = await roundTrip(c, 'ping', 8);
    expect(rtt).toBeGreaterThanOrEqual(290);
    // upstream too: both directions delayed
    p.addToxic({ type: 'latency', stream: 'upstream', attributes: { latency: 200 } });
    const c2 = await client(p);
    expect(await roundTrip(c2, 'ping', 4)).toBeGreaterThanOrEqual(490);
    expect(p.toxics().map((t) => t.name)).toEqual(['latency_downstream', 'latency_upstream']);
  });

  it('removing a latency toxic delivers what it held and stops delaying', async () => {
    const p = await proxy();
    const c = await client(p);
    p.addToxic({ type: 'latency', attributes: { latency: 60_000 } });
    c.socket.write('held');
    await waitFor('the echo server to have echoed', () => echo.received() > 0 && c.data().length === 0);
    p.removeToxic('latency_downstream');
    await waitFor('held bytes', () => c.data().toString() === 'held');
    expect(p.toxics()).toEqual([]);
  });

  it('latency with jitter delays by at least latency - jitter, and jitter may exceed latency', async () => {
    const p = await proxy();
    p.addToxic({ type: 'latency', attributes: { latency: 200, jitter: 100 } });
    const c = await client(p);
    expect(await roundTrip(c, 'j', 1)).toBeGreaterThanOrEqual(95);
    expect(p.addToxic({ name: 'wide', type: 'latency', attributes: { latency: 1, jitter: 5 } }).attributes).toEqual({ latency: 1, jitter: 5 });
  });

  it('removing a bandwidth toxic mid-transfer delivers the rest intact and in order', async () => {
    const p = await proxy();
    p.addToxic({ type: 'bandwidth', attributes: { rate: 20 } }); // 20 KB/s: 300 KB would take 15 s
    const c = await client(p);
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 11) & 0xff;
    c.socket.write(data);
    await waitFor('the first throttled bytes', () => c.data().length > 0);
    expect(c.data().length).toBeLessThan(data.length);
    p.removeToxic('bandwidth_downstream');
    await waitFor('all bytes', () => c.data().length >= data.length);
    expect(c.data().equals(data)).toBe(true);
  });

  it('removing a slicer mid-stream keeps every byte in order', async () => {
    const p = await proxy();
    p.addToxic({ type: 'slicer', attributes: { average_size: 10, size_variation: 5, delay: 20_000 } }); // 20 ms per 10 bytes
    const c = await client(p);
    const data = Buffer.alloc(5000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 3) & 0xff;
    c.socket.write(data);
    await waitFor('the first slices', () => c.data().length > 0);
    p.removeToxic('slicer_downstream');
    await waitFor('all bytes', () => c.data().length >= data.length);
    expect(c.data().equals(data)).toBe(true);
  });

  it('limit_data closes the connection after exactly `bytes` bytes', async () => {
    const p = await proxy();
    p.addToxic({ type: 'limit_data', attributes: { bytes: 1000 } });
    const c = await client(p);
    c.socket.write(Buffer.alloc(5000, 1));
    await waitFor('the connection to close', () => c.closed());
    expect(c.data().length).toBe(1000);
    expect(c.error()).toBeUndefined(); // a close, not a reset
  });

  it('limit_data upstream lets only `bytes` bytes reach the server', async () => {
    const server = await startEcho();
    try {
      const p = await proxy(server.port);
      p.addToxic({ type: 'limit_data', stream: 'upstream', attributes: { bytes: 10 } });
      const c = await client(p);
      c.socket.write('0123456789abcdefghij');
      await waitFor('the connection to close', () => c.closed());
      expect(server.received()).toBe(10);
      expect(c.data().toString()).toBe('0123456789'.slice(0, c.data().length));
    } finally {
      await server.close();
    }
  });

  it('reset_peer resets the connection (ECONNRESET) once data arrives', async () => {
    const p = await proxy();
    p.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } });
    const c = await client(p);
    c.socket.write('x');
    await waitFor('the reset', () => c.closed());
    expect(c.error()).toBe('ECONNRESET');
    expect(c.data().length).toBe(0);
  });

  it('timeout 0 holds the connection and drops data until removed, then closes it (as Toxiproxy)', async () => {
    const p = await proxy();
    const c = await client(p);
    p.addToxic({ type: 'timeout', attributes: { timeout: 0 } });
    const before = echo.received();
    c.socket.write('lost');
    await waitFor('the echo to have happened', () => echo.received() >= before + 4);
    // the echoed bytes are inside the proxy and dropped: give them time to (wrongly) arrive
    await new Promise((r) => setTimeout(r, 200));
    expect(c.data().length).toBe(0);
    expect(c.closed()).toBe(false);
    p.removeToxic('timeout_downstream');
    await waitFor('the close', () => c.closed());
    expect(c.data().length).toBe(0);
  });

  it('timeout > 0 closes the connection after that idle time without delivering data', async () => {
    const p = await proxy();
    p.addToxic({ type: 'timeout', attributes: { timeout: 100 } });
    const c = await client(p);
    const sent = performance.now();
    c.socket.write('lost');
    await waitFor('the close', () => c.closed());
    expect(c.data().length).toBe(0);
    expect(c.error()).toBeUndefined();
    expect(c.endedAt()! - sent).toBeGreaterThanOrEqual(90);
  });

  it('bandwidth caps the rate: 200 KB at 400 KB/s takes at least ~0.5 s and arrives intact', async () => {
    const p = await proxy();
    p.addToxic({ type: 'bandwidth', attributes: { rate: 400 } });
    const c = await client(p);
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    const ms = await roundTrip(c, data, data.length);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(c.data().equals(data)).toBe(true);
  });

  it('slicer splits data into many chunks and keeps every byte in order', async () => {
    const p = await proxy();
    p.addToxic({ type: 'slicer', attributes: { average_size: 100, size_variation: 20, delay: 5000 } });
    const c = await client(p);
    const data = Buffer.alloc(2000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await roundTrip(c, data, data.length);
    expect(c.data().equals(data)).toBe(true);
    expect(c.chunks()).toBeGreaterThanOrEqual(3); // unsliced, the 2000 bytes come back in one read
  });

  it('slicePoints covers the data with pieces of average ± variation', () => {
    for (const [n, avg, v] of [[10_000, 100, 20], [1, 10, 0], [999, 7, 3], [4096, 4096, 0]]) {
      const pts = slicePoints(0, n, avg, v);
      expect(pts.at(-1)).toBe(n);
      let at = 0;
      for (const q of pts) {
        expect(q).toBeGreaterThan(at);
        if (n > avg + v) expect(q - at).toBeLessThanOrEqual(avg + v);
        at = q;
      }
    }
  });

  it('slow_close delays the close the upstream started by at least `delay` ms', async () => {
    const closer = await startEcho({ closeAfter: 3 });
    try {
      const p = await proxy(closer.port);
      p.addToxic({ type: 'slow_close', attributes: { delay: 300 } });
      const c = await client(p);
      c.socket.write('abc');
      await waitFor('the close', () => c.ended() || c.closed());
      expect(c.data().toString()).toBe('abc');
      expect(c.endedAt()! - c.lastByteAt()!).toBeGreaterThanOrEqual(280);
    } finally {
      await closer.close();
    }
  });

  it('toxicity 0 never applies a toxic; an update to toxicity 1 applies it to the open connection', async () => {
    const p = await proxy();
    p.addToxic({ type: 'limit_data', toxicity: 0, attributes: { bytes: 0 } });
    const c = await client(p);
    await roundTrip(c, 'free', 4);
    expect(c.closed()).toBe(false);
    const u = p.updateToxic('limit_data_downstream', { toxicity: 1 });
    expect(u.toxicity).toBe(1);
    c.socket.write('more');
    await waitFor('the close', () => c.closed());
    expect(c.data().toString()).toBe('free');
  });

  it('chains toxics in the order they were added', async () => {
    const p = await proxy();
    p.addToxic({ name: 'cut', type: 'limit_data', attributes: { bytes: 6 } });
    p.addToxic({ name: 'slow', type: 'latency', attributes: { latency: 50 } });
    const c = await client(p);
    c.socket.write('abcdefghij');
    await waitFor('the close', () => c.closed());
    expect(c.data().toString()).toBe('abcdef');
  });
});

describe('chaos proxy: lifecycle', () => {
  it('close() closes its listener and every connection: nothing is left listening', async () => {
    const p = await proxy();
    const port = portOf(p.listen);
    const c = await client(p);
    await roundTrip(c, 'x', 1);
    expect(listening(port)).toBe(true);
    await p.close();
    await waitFor('the client to be closed', () => c.closed() || c.ended());
    expect(listening(port)).toBe(false);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(p.connections).toBe(0);
    await p.close(); // idempotent
    expectOmni(() => p.addToxic({ type: 'latency', attributes: { latency: 1 } }), 'ERR_OMNI_CLOSED', p.name);
  });

  it('disable drops connections and stops listening; enable listens on the same port again', async () => {
    const p = await proxy();
    const port = portOf(p.listen);
    const c = await client(p);
    const info = await p.update({ enabled: false });
    expect(info.enabled).toBe(false);
    await waitFor('the client to be closed', () => c.closed());
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    await p.update({ enabled: true });
    expect(p.listen).toBe(`127.0.0.1:${port}`);
    const c2 = await client(p);
    await roundTrip(c2, 'back', 4);
  });

  it('a new upstream drops open connections and new ones go there', async () => {
    const other = await startEcho({ closeAfter: 2 });
    try {
      const p = await proxy();
      const c = await client(p);
      await p.update({ upstream: `127.0.0.1:${other.port}` });
      expect(p.upstream).toBe(`127.0.0.1:${other.port}`);
      await waitFor('the old connection to close', () => c.closed());
      const c2 = await client(p);
      c2.socket.write('hi');
      await waitFor('the new upstream to end it', () => c2.ended());
      expect(other.received()).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('an unreachable upstream closes the client (as Toxiproxy)', async () => {
    // Port 1 (tcpmux) has no listener on this host: the dial is refused. A freed ephemeral port could be reused by a parallel test.
    expect(await tryConnect(1)).toBe('ECONNREFUSED');
    const p = await proxy(1);
    const c = await client(p);
    await waitFor('the client to be closed', () => c.closed());
    expect(p.connections).toBe(0);
  });
});

describe('chaos proxy: bad input', () => {
  it('rejects bad toxics with an OmniError naming the argument, and applies nothing', async () => {
    const p = await proxy();
    p.addToxic({ type: 'latency', attributes: { latency: 10 } });
    const bad: [unknown, string][] = [
      [{ type: 'explode' }, 'toxic.type'],
      [{ type: 'latency', attributes: { latency: -1 } }, 'toxic.attributes.latency'],
      [{ type: 'latency', attributes: { latency: 1.5 } }, 'toxic.attributes.latency'],
      [{ type: 'latency', attributes: { latancy: 1 } }, 'toxic.attributes'],
      [{ type: 'latency', toxicity: 1.5, attributes: { latency: 1 } }, 'toxic.toxicity'],
      [{ type: 'latency', toxicity: -0.1, attributes: { latency: 1 } }, 'toxic.toxicity'],
      [{ type: 'latency', stream: 'sideways', attributes: {} }, 'toxic.stream'],
      [{ type: 'slicer', attributes: { average_size: 0 } }, 'toxic.attributes.average_size'],
      [{ type: 'slicer', attributes: { average_size: 10, size_variation: 10 } }, 'toxic.attributes.size_variation'],
      [{ type: 'bandwidth', attributes: { rate: -5 } }, 'toxic.attributes.rate'],
      [{ type: 'limit_data', attributes: { bytes: '10' } }, 'toxic.attributes.bytes'],
      [{ type: 'latency', attributes: { latency: 5 } }, 'already exists'],
      [{ name: 'a/b', type: 'latency', attributes: {} }, 'toxic.name'],
    ];
    for (const [opts, arg] of bad) expectOmni(() => p.addToxic(opts as never), 'ERR_OMNI_INVALID_ARGUMENT', arg);
    expect(p.toxics()).toEqual([{ name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 10, jitter: 0 } }]);
    expectOmni(() => p.removeToxic('nope'), 'ERR_OMNI_INVALID_ARGUMENT', 'name');
    expectOmni(() => p.updateToxic('latency_downstream', { attributes: { latency: -3 } }), 'ERR_OMNI_INVALID_ARGUMENT', 'update.attributes.latency');
    expectOmni(() => p.updateToxic('latency_downstream', { toxicity: 2 }), 'ERR_OMNI_INVALID_ARGUMENT', 'update.toxicity');
    expect(p.toxic('latency_downstream')?.attributes.latency).toBe(10);
  });

  it('rejects malformed addresses and a busy listen port, leaving nothing listening', async () => {
    const p = await proxy();
    const busy = p.listen;
    const bad: [Record<string, unknown>, string, string][] = [
      [{ upstream: 'nohost' }, 'options.upstream', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ upstream: '127.0.0.1:0' }, 'options.upstream', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ upstream: '127.0.0.1:70000' }, 'options.upstream', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ upstream: ':80' }, 'options.upstream', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ upstream: 'bad host:80' }, 'options.upstream', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ listen: 'localhost' }, 'options.listen', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ name: '' }, 'options.name', 'ERR_OMNI_INVALID_ARGUMENT'],
      [{ listen: busy }, 'listen', 'ERR_OMNI_IO'],
    ];
    for (const [over, arg, code] of bad) {
      const err = await Proxy.start({ name: 'bad', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, ...over } as never).then(
        (q) => {
          open.push(q);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(over)).toBeInstanceOf(OmniError);
      expect((err as OmniError).code).toBe(code);
      expect((err as OmniError).message).toContain(arg);
    }
    const e = await p.update({ upstream: 'x' }).catch((x: unknown) => x);
    expect((e as OmniError).message).toContain('update.upstream');
    expect(p.upstream).toBe(`127.0.0.1:${echo.port}`);
    expect(p.enabled).toBe(true);
  });
});
