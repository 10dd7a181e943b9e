// One client script, written against Toxiproxy's HTTP API through the npm
// client `toxiproxy-node-client`, run against our ToxiproxyServer and against
// the real Toxiproxy server (Go). Each scenario returns what a user observes:
// `facts` must be identical on both; `ms` are timings checked against lower bounds.
import { Toxiproxy, type ICreateToxicBody } from 'toxiproxy-node-client';
import { connectClient, portOf, startEcho, tryConnect, waitFor, type Client, type Echo } from './tcp.js';

export interface Observation {
  facts: Record<string, unknown>;
  ms?: number;
}

async function statusOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const m = /status code (\d+)/.exec(String((e as Error).message));
    return m ? Number(m[1]) : -1;
  }
}

const pattern = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + 7) & 0xff;
  return b;
};

export async function runScenarios(apiUrl: string, tag: string): Promise<Record<string, Observation>> {
  const api = new Toxiproxy(apiUrl);
  const echo: Echo = await startEcho();
  const clients: Client[] = [];
  const out: Record<string, Observation> = {};
  let n = 0;
  const mkProxy = async (upstreamPort = echo.port) =>
    api.createProxy({ name: `${tag}_${process.pid}_${n++}`, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstreamPort}` });
  const connect = async (listen: string) => {
    const c = await connectClient(portOf(listen));
    clients.push(c);
    return c;
  };
  // The client's type wants every field; Toxiproxy's API defaults name, stream and toxicity, which is what we exercise.
  const toxic = <T>(body: Partial<ICreateToxicBody<T>> & { type: string; attributes: T }) => body as ICreateToxicBody<T>;
  try {
    {
      const p = await mkProxy();
      const c = await connect(p.listen);
      const data = pattern(64 * 1024);
      c.socket.write(data);
      await waitFor('passthrough echo', () => c.data().length >= data.length);
      out.passthrough = { facts: { bytes: c.data().length, intact: c.data().equals(data), error: c.error() ?? null } };
    }
    {
      const p = await mkProxy();
      const t = await p.addToxic(toxic({ type: 'latency', attributes: { latency: 200, jitter: 0 } }));
      const got = await p.getToxic(t.name);
      const c = await connect(p.listen);
      const t0 = performance.now();
      c.socket.write('ping');
      await waitFor('latency echo', () => c.data().length >= 4);
      out.latency = { facts: { created: t.toJson(), fetched: got.toJson(), bytes: c.data().length }, ms: performance.now() - t0 };
    }
    {
      // A toxic added to a connection that is already open applies to it too.
      const p = await mkProxy();
      const c = await connect(p.listen);
      c.socket.write('a');
      await waitFor('first echo', () => c.data().length >= 1);
      await p.addToxic(toxic({ type: 'latency', stream: 'upstream', attributes: { latency: 200, jitter: 0 } }));
      const t0 = performance.now();
      c.socket.write('b');
      await waitFor('second echo', () => c.data().length >= 2);
      out.latencyOnOpenConnection = { facts: { data: c.data().toString() }, ms: performance.now() - t0 };
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'limit_data', attributes: { bytes: 1000 } }));
      const c = await connect(p.listen);
      c.socket.write(pattern(5000));
      await waitFor('limit_data close', () => c.closed());
      out.limitData = { facts: { bytes: c.data().length, intact: c.data().equals(pattern(5000).subarray(0, 1000)), error: c.error() ?? null } };
    }
    {
      const server = await startEcho();
      try {
        const p = await mkProxy(server.port);
        await p.addToxic(toxic({ type: 'limit_data', stream: 'upstream', attributes: { bytes: 10 } }));
        const c = await connect(p.listen);
        c.socket.write('0123456789abcdefghij');
        await waitFor('limit_data upstream close', () => c.closed());
        out.limitDataUpstream = { facts: { serverReceived: server.received() } };
      } finally {
        await server.close();
      }
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'reset_peer', attributes: { timeout: 0 } }));
      const c = await connect(p.listen);
      c.socket.write('x');
      await waitFor('reset', () => c.closed());
      out.resetPeer = { facts: { bytes: c.data().length, error: c.error() ?? null } };
    }
    {
      const server = await startEcho();
      try {
        const p = await mkProxy(server.port);
        await p.addToxic(toxic({ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } }));
        const c = await connect(p.listen);
        c.socket.write('x');
        await waitFor('upstream reset', () => c.closed());
        out.resetPeerUpstream = { facts: { bytes: c.data().length, error: c.error() ?? null, serverReceived: server.received() } };
      } finally {
        await server.close();
      }
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'limit_data', toxicity: 0, attributes: { bytes: 0 } }));
      const c = await connect(p.listen);
      c.socket.write('free');
      await waitFor('echo past a toxicity-0 toxic', () => c.data().length >= 4);
      out.toxicityZero = { facts: { data: c.data().toString(), closed: c.closed() } };
    }
    {
      // A client updating a toxic the way toxiproxy-node-client does: the whole toxic JSON with new attributes.
      const p = await mkProxy();
      const t = await p.addToxic(toxic({ type: 'latency', attributes: { latency: 100, jitter: 10 } }));
      const updated = await t.update({ ...t.toJson(), toxicity: 0.5, attributes: { latency: 5 } as never });
      out.toxicUpdate = { facts: { updated: updated.toJson(), fetched: (await p.getToxic(t.name)).toJson() } };
    }
    {
      const p = await mkProxy();
      const t = await p.addToxic(toxic({ type: 'timeout', attributes: { timeout: 0 } }));
      const c = await connect(p.listen);
      const before = echo.received();
      c.socket.write('held');
      await waitFor('the echo behind the timeout toxic', () => echo.received() >= before + 4);
      await new Promise((r) => setTimeout(r, 200)); // time for dropped bytes to (wrongly) arrive
      const whileHeld = { bytes: c.data().length, closed: c.closed() };
      await t.remove();
      await waitFor('close after removing the timeout toxic', () => c.closed());
      out.timeoutHold = { facts: { whileHeld, bytesAfterRemove: c.data().length, error: c.error() ?? null } };
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'timeout', attributes: { timeout: 150 } }));
      const c = await connect(p.listen);
      const t0 = performance.now();
      c.socket.write('x');
      await waitFor('timeout close', () => c.closed());
      out.timeoutClose = { facts: { bytes: c.data().length, error: c.error() ?? null }, ms: performance.now() - t0 };
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'bandwidth', attributes: { rate: 400 } }));
      const c = await connect(p.listen);
      const data = pattern(200_000);
      const t0 = performance.now();
      c.socket.write(data);
      await waitFor('bandwidth echo', () => c.data().length >= data.length);
      out.bandwidth = { facts: { intact: c.data().equals(data) }, ms: performance.now() - t0 };
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ type: 'slicer', attributes: { average_size: 100, size_variation: 20, delay: 5000 } }));
      const c = await connect(p.listen);
      const data = pattern(2000);
      c.socket.write(data);
      await waitFor('slicer echo', () => c.data().length >= data.length);
      out.slicer = { facts: { intact: c.data().equals(data), manyChunks: c.chunks() >= 3 } };
    }
    {
      const closer = await startEcho({ closeAfter: 3 });
      try {
        const p = await mkProxy(closer.port);
        await p.addToxic(toxic({ type: 'slow_close', attributes: { delay: 300 } }));
        const c = await connect(p.listen);
        c.socket.write('abc');
        await waitFor('slow close', () => c.closed());
        out.slowClose = { facts: { data: c.data().toString(), error: c.error() ?? null }, ms: c.endedAt()! - c.lastByteAt()! };
      } finally {
        await closer.close();
      }
    }
    {
      const p = await mkProxy();
      await p.addToxic(toxic({ name: 'dup', type: 'latency', attributes: { latency: 1, jitter: 0 } }));
      const off = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
      const refused = await tryConnect(portOf(p.listen));
      const on = await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
      const c = await connect(on.listen);
      c.socket.write('up');
      await waitFor('echo after re-enable', () => c.data().length >= 2);
      const all = await api.getAll();
      out.api = {
        facts: {
          disabled: off.enabled,
          refused,
          reenabled: on.enabled,
          samePort: on.listen === p.listen,
          listed: all[p.name]?.toJson().name === p.name,
          duplicateToxic: await statusOf(p.addToxic(toxic({ name: 'dup', type: 'latency', attributes: { latency: 1, jitter: 0 } }))),
          unknownType: await statusOf(p.addToxic(toxic({ type: 'explode' as never, attributes: {} }))),
          badStream: await statusOf(p.addToxic(toxic({ type: 'latency', stream: 'sideways' as never, attributes: { latency: 1, jitter: 0 } }))),
          unknownProxy: await statusOf(api.get(`${tag}_missing`)),
          unknownToxic: await statusOf(p.getToxic('nope')),
          duplicateProxy: await statusOf(api.createProxy({ name: p.name, listen: '127.0.0.1:0', upstream: p.upstream })),
          missingUpstream: await statusOf(api.createProxy({ name: `${tag}_noup`, listen: '127.0.0.1:0' } as never)),
          toxicsAfterReset: await api.reset().then(async () => (await api.getApi().get<unknown[]>(`${apiUrl}/proxies/${p.name}/toxics`)).data.length),
        },
      };
      await p.remove();
      out.deleted = { facts: { status: await statusOf(api.get(p.name)), refused: await tryConnect(portOf(p.listen)) } };
    }
  } finally {
    for (const c of clients) c.socket.destroy();
    for (const p of Object.values(await api.getAll().catch(() => ({})))) await p.remove().catch(() => {});
    await echo.close();
  }
  return out;
}
