/**
 * Network faults against a real HTTP service in a namespace the test creates:
 * 30% XDP packet drop, a partition, an abort condition that stops and rolls
 * back, and the refusals that happen before anything is applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, experiment, netemAvailable, probe, runExperiment, runProbe, status, type ProbeProvider } from '../../ts/chaos/index.js';
import { xdp } from '../../ts/kernel/index.js';
import { hasXdp, netnsWithService, sh, skipReason, tempStateDir, until, type Netns } from './env.js';

// Skipped (loudly, with the reason printed by test/kernel/env.ts) only without root or with
// OMNITIDE_SKIP_KERNEL_TESTS=1: XDP, network namespaces and cgroupfs need CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN. CI runs as root.
describe.skipIf(skipReason)('omnitide/chaos network faults on a service in a namespace', () => {
  let net: Netns;
  const state = tempStateDir();
  beforeAll(async () => {
    net = await netnsWithService(1);
  });
  afterAll(() => {
    net?.down();
    state.remove();
  });

  const errors = (): ProbeProvider => ({ type: 'http', url: net.url, requests: 60, concurrency: 10, timeoutMs: 1000, measure: 'errors' });
  const reachable = (): ProbeProvider => ({ type: 'tcp', host: net.peerIp, port: net.port, timeoutMs: 1000 });

  it('dropping 30% of the service packets (XDP) shows in the error rate, and is rolled back', async () => {
    const exp = experiment('drop 30% of the service packets')
      .hypothesis('the service answers', probe('error rate', errors(), [0, 0.1]))
      .method(action('drop 30%', { type: 'xdp-drop', interfaces: [net.host], cidr: `${net.peerIp}/32`, probability: 0.3 }), probe('error rate under fault', errors()))
      .build();
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.hypothesisBefore?.met).toBe(true);
    const during = r.activities[1].result as number;
    console.log(`error rate before ${String(r.hypothesisBefore?.probes[0].value)}, under 30% drop ${during}`);
    expect(during).toBeGreaterThan(0.1);
    // the hypothesis after runs with the fault still applied (Chaos Toolkit's order): a deviation
    expect(r.status).toBe('deviated');
    expect(r.deviations[0]).toMatch(/error rate/);
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]).toMatchObject({ fault: 'xdp-drop', target: `iface:${net.host}` });
    expect(r.faults[0].removedAt).toBeGreaterThanOrEqual(r.faults[0].appliedAt);
    expect(hasXdp(net.host)).toBe(false);
    expect((await runProbe(errors())).value).toBeLessThanOrEqual(0.1);
    expect(status(state.dir).clean).toBe(true);
  });

  it('http probes: status, body (regex tolerance), latency percentile; process probe exit code', async () => {
    const exp = experiment('probes')
      .hypothesis(
        'service answers',
        probe('status', { type: 'http', url: net.url }, 200),
        probe('body', { type: 'http', url: `${net.url}hello`, measure: 'body' }, { type: 'regex', pattern: '^ok /hello$' }),
        probe('p50 latency ms', { type: 'http', url: net.url, requests: 10, measure: 'latency', percentile: 50, timeoutMs: 5000 }, [0, 5000]),
        probe('exit code', { type: 'process', path: 'ip', arguments: ['netns', 'exec', net.ns, 'true'] }, 0),
      )
      .method(probe('missing page status', { type: 'http', url: `http://${net.peerIp}:1/` }))
      .build();
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.hypothesisBefore?.probes.map((p) => [p.name, p.ok])).toEqual([
      ['status', true],
      ['body', true],
      ['p50 latency ms', true],
      ['exit code', true],
    ]);
    expect(r.hypothesisBefore?.probes[2].value).toBeGreaterThan(0);
    // a refused connection is a probe error, recorded, not a crash
    expect(r.activities[0]).toMatchObject({ result: null, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(r.status).toBe('completed');
  });

  it('a partition between the host and the namespace cuts TCP, and heals', async () => {
    const exp = experiment('partition host | service')
      .hypothesis('reachable', probe('tcp connect', reachable(), true))
      .method(
        action('partition', { type: 'partition', sides: [{ cidrs: [`${net.hostIp}/32`], interfaces: [net.host] }, { cidrs: [`${net.peerIp}/32`], interfaces: [] }] }),
        probe('tcp connect under partition', reachable()),
      )
      .build();
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.hypothesisBefore?.met).toBe(true);
    expect(r.activities[1].result).toBe(false);
    expect(r.status).toBe('deviated');
    expect(r.faults[0]).toMatchObject({ fault: 'partition', target: `iface:${net.host}` });
    expect(r.faults[0].removedAt).not.toBeNull();
    expect(hasXdp(net.host)).toBe(false);
    expect((await runProbe(reachable())).value).toBe(true);
  });

  it('a partition with both sides\' interfaces, one inside the namespace (through the in-namespace agent)', async () => {
    const inNs = `${net.ns}/${net.peer}`;
    const exp = experiment('partition both sides')
      .hypothesis('reachable', probe('tcp connect', reachable(), true))
      .method(
        action('partition', { type: 'partition', sides: [{ cidrs: [`${net.hostIp}/32`], interfaces: [net.host] }, { cidrs: [`${net.peerIp}/32`], interfaces: [inNs] }] }),
        probe('xdp inside the namespace', { type: 'process', path: 'ip', arguments: ['-n', net.ns, 'link', 'show', 'dev', net.peer], measure: 'stdout' }),
        probe('tcp connect under partition', reachable()),
      )
      .build();
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.hypothesisBefore?.met).toBe(true);
    expect(r.activities[1].result).toMatch(/\bxdp/);
    expect(r.activities[2].result).toBe(false);
    expect(r.faults.map((f) => f.target).sort()).toEqual([`iface:${inNs}`, `iface:${net.host}`].sort());
    expect(r.faults.every((f) => f.removedAt !== null)).toBe(true);
    expect(hasXdp(net.host)).toBe(false);
    // the agent detached and exited with the run
    await until('the agent to exit', () => !/\bxdp/.test(sh(`ip -n ${net.ns} link show dev ${net.peer}`)), 10_000);
    expect((await runProbe(reachable())).value).toBe(true);
  });

  it('a violated abort condition stops the method and rolls back', async () => {
    const exp = experiment('abort on lost reachability')
      .hypothesis('reachable', probe('tcp connect', reachable(), true))
      .method(action('partition', { type: 'partition', sides: [{ cidrs: [`${net.hostIp}/32`], interfaces: [net.host] }, { cidrs: [`${net.peerIp}/32`], interfaces: [] }] }, { after: 120 }))
      .safety({ abortConditions: [probe('service reachable', reachable(), true)], probeIntervalMs: 200 })
      .build();
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.status).toBe('aborted');
    expect(r.reason).toMatch(/abort condition 'service reachable' violated/);
    const violation = r.samples.find((s) => s.phase === 'abort-check' && !s.ok)!;
    expect(violation).toBeDefined();
    expect(r.faults[0].removedAt).toBeGreaterThanOrEqual(violation.t);
    console.log(`violation seen -> fault removed: ${r.faults[0].removedAt! - violation.t} ms (probe interval 200 ms); abort -> restored ${r.abortToRestoredMs?.toFixed(1)} ms`);
    // the 120 s pause after the fault was cut short
    expect(r.endedAt - r.startedAt).toBeLessThan(120_000);
    expect(r.hypothesisAfter).toBeNull();
    expect(hasXdp(net.host)).toBe(false);
    expect((await runProbe(reachable())).value).toBe(true);
  });

  it('refuses before anything is applied: blast radius, allow list, missing interface, busy target, probability', async () => {
    const drop = (interfaces: string[], probability = 0.3) => action('drop', { type: 'xdp-drop', interfaces, probability });
    const before = status(state.dir, { all: true }).runs.length;
    await expect(runExperiment(experiment('too wide').method(drop([net.host, 'lo'])).safety({ blastRadius: { maxTargets: 1 } }).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_BLAST_RADIUS',
      message: expect.stringMatching(/2 targets .* more than the limit of 1; nothing was applied/),
    });
    await expect(runExperiment(experiment('outside').method(drop([net.host])).safety({ blastRadius: { allow: { interfaces: ['lo'] } } }).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_BLAST_RADIUS',
      message: expect.stringMatching(new RegExp(`iface:${net.host} lies outside safety.blastRadius.allow`)),
    });
    await expect(runExperiment(experiment('missing').method(drop(['omni-nope9'])).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_NOT_FOUND',
      message: expect.stringMatching(/method\[0\]\.provider: interface 'omni-nope9' does not exist/),
    });
    await expect(runExperiment({ title: 'p', method: [drop([net.host], 1.5)] }, { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_INVALID_EXPERIMENT',
      message: expect.stringMatching(/method\[0\]\.provider\.probability: probability must be in \[0,1\]/),
    });
    await expect(runExperiment(experiment('bad cidr').method(action('drop', { type: 'xdp-drop', interfaces: [net.host], cidrs: ['10.0.0.1', '10.0.0.1/8'], probability: 0.5 })).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_INVALID_ARGUMENT',
      message: expect.stringMatching(/method\[0\]\.provider: .*host bits set/),
    });
    await expect(
      runExperiment(experiment('bad side').method(action('cut', { type: 'partition', sides: [{ cidrs: ['10.0.0.0/8'], interfaces: [net.host] }, { cidrs: ['bogus'], interfaces: [] }] })).build(), { stateDir: state.dir, handleSignals: false }),
    ).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringMatching(/method\[0\]\.provider\.sides\[1\]\.cidrs/) });
    const other = xdp.attach({ iface: net.host });
    try {
      await expect(runExperiment(experiment('busy').method(drop([net.host])).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
        code: 'ERR_OMNI_TARGET_BUSY',
        message: expect.stringMatching(/already has an XDP program/),
      });
    } finally {
      other.detach();
    }
    expect(hasXdp(net.host)).toBe(false);
    expect(status(state.dir, { all: true }).runs.length).toBe(before);
  });

  it('rate limit through tc tbf inside the namespace: applied during the method, removed after', async () => {
    const show = probe('qdisc', { type: 'process', path: 'ip', arguments: ['netns', 'exec', net.ns, 'tc', 'qdisc', 'show', 'dev', net.peer], measure: 'stdout' });
    const r = await runExperiment(experiment('rate').method(action('1 mbit', { type: 'rate', interfaces: [net.peer], netns: net.ns, kbit: 1000 }), show).build(), { stateDir: state.dir, handleSignals: false });
    expect(r.status).toBe('completed');
    expect(r.activities[1].result).toMatch(/qdisc tbf .*rate 1Mbit/);
    expect(r.faults[0]).toMatchObject({ fault: 'rate', target: `iface:${net.ns}/${net.peer}` });
    expect(sh(`ip netns exec ${net.ns} tc qdisc show dev ${net.peer}`)).not.toMatch(/tbf/);
  });

  it('netem latency: applied where the kernel has netem, else a clear error naming the qdisc', async () => {
    const exp = experiment('latency').method(action('delay', { type: 'netem', interfaces: [net.peer], netns: net.ns, delayMs: 50, jitterMs: 5 }), probe('qdisc', { type: 'process', path: 'ip', arguments: ['netns', 'exec', net.ns, 'tc', 'qdisc', 'show', 'dev', net.peer], measure: 'stdout' })).build();
    const n = await netemAvailable();
    if (!n.ok) {
      console.warn(`netem not available on this kernel (${n.detail}): checking the refusal`);
      await expect(runExperiment(exp, { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({ code: 'ERR_OMNI_UNSUPPORTED', qdisc: 'netem', message: expect.stringMatching(/no 'netem' qdisc/) });
      return;
    }
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.activities[1].result).toMatch(/netem .*delay 50ms/);
    expect(sh(`ip netns exec ${net.ns} tc qdisc show dev ${net.peer}`)).not.toMatch(/netem/);
  });
});
