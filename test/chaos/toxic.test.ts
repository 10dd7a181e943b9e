/**
 * Faults without root: a `toxic` fault runs a Toxiproxy toxic on the TCP
 * proxy of omnitide/chaos in front of a real TCP echo server; the run starts
 * the proxy, applies and removes the toxic, and closes the proxy at its end.
 */
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, experiment, probe, runExperiment } from '../../ts/chaos/index.js';
import { tempStateDir } from './env.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Milliseconds for one 5-byte echo through `port`, or -1 when the connection fails. */
function echoMs(port: number): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => resolve(-1));
    s.on('connect', () => s.write('hello'));
    s.on('data', () => {
      resolve(performance.now() - t0);
      s.destroy();
    });
  });
}

describe('omnitide/chaos toxic faults (Toxiproxy toxics, no root)', () => {
  const state = tempStateDir();
  let echo: Server;
  let upstream: string;
  beforeAll(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    upstream = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => echo.close(r));
    state.remove();
  });

  it('adds 300 ms of latency to the echo service through the proxy, then removes it and closes the proxy', async () => {
    const port = await freePort();
    const proxy = { name: 'echo', listen: `127.0.0.1:${port}`, upstream };
    const r = await runExperiment(
      experiment('echo under latency')
        .hypothesis('fast echo', probe('echo ms', { type: 'function', fn: () => echoMs(port) }, [0, 250]))
        .method(action('latency', { type: 'toxic', proxy, toxic: { type: 'latency', attributes: { latency: 300 } } }), probe('echo ms under toxic', { type: 'function', fn: () => echoMs(port) }))
        .build(),
      { stateDir: state.dir, handleSignals: false },
    );
    expect(r.hypothesisBefore?.met).toBe(true);
    expect(r.activities[1].result).toBeGreaterThanOrEqual(300);
    expect(r.status).toBe('deviated');
    expect(r.faults[0]).toMatchObject({ fault: 'toxic', target: 'proxy:echo' });
    expect(r.faults[0].removedAt).not.toBeNull();
    // the proxy went with the run
    expect(await echoMs(port)).toBe(-1);
  });

  it('a bad toxic is refused with the proxy\'s own message before anything starts', async () => {
    const port = await freePort();
    const proxy = { name: 'echo', listen: `127.0.0.1:${port}`, upstream };
    await expect(
      runExperiment(experiment('bad').method(action('latency', { type: 'toxic', proxy, toxic: { type: 'latency', attributes: { latncy: 300 } } })).build(), { stateDir: state.dir, handleSignals: false }),
    ).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/^method\[0\]\.provider: .*latncy/) });
    expect(await echoMs(port)).toBe(-1);
    await expect(
      runExperiment({ title: 'bad type', method: [{ type: 'action', name: 't', provider: { type: 'toxic', proxy, toxic: { type: 'jitterbug' } } }] }, { stateDir: state.dir, handleSignals: false }),
    ).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_EXPERIMENT', message: expect.stringMatching(/method\[0\]\.provider\.toxic\.type/) });
  });

  it('an action that throws fails the run and still removes every fault and closes the proxy', async () => {
    const port = await freePort();
    const proxy = { name: 'echo', listen: `127.0.0.1:${port}`, upstream };
    const r = await runExperiment(
      experiment('throwing action')
        .method(
          action('latency', { type: 'toxic', proxy, toxic: { type: 'latency', attributes: { latency: 100 } } }),
          action('boom', { type: 'function', fn: () => { throw new Error('boom'); } }),
          probe('never reached', { type: 'function', fn: () => 1 }),
        )
        .build(),
      { stateDir: state.dir, handleSignals: false },
    );
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/action 'boom': boom/);
    expect(r.activities.map((a) => a.name)).toEqual(['latency', 'boom']);
    expect(r.faults[0].removedAt).not.toBeNull();
    expect(await echoMs(port)).toBe(-1);
  });
});
