/**
 * Process faults on cgroups the test creates: freeze (not SIGSTOP), signal
 * kill, CPU/memory stress inside the cgroup, limits (refused with the missing
 * controller's name where cgroup v2 has none), progressive rollout and
 * blast radius by percentage of a selector.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { action, experiment, probe, runExperiment, status } from '../../ts/chaos/index.js';
import { cgroup } from '../../ts/kernel/index.js';
import { cgroupSuite, skipReason } from './env.js';

// Skipped (loudly, with the reason printed by test/kernel/env.ts) only without root or with
// OMNITIDE_SKIP_KERNEL_TESTS=1: XDP, network namespaces and cgroupfs need CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN. CI runs as root.
describe.skipIf(skipReason)('omnitide/chaos process faults on cgroups', () => {
  const base = `/omni-chaos-test-${process.pid}`;
  const { state, make, cleanup } = cgroupSuite(base);
  afterAll(cleanup);

  it('freezes a cgroup during the method (processes stay alive) and thaws it on the way out', async () => {
    const g = make('freeze');
    const r = await runExperiment(
      experiment('freeze the service')
        .hypothesis('running', probe('frozen', { type: 'cgroup', path: g.path, metric: 'frozen' }, false))
        .method(action('freeze', { type: 'cgroup-freeze', cgroups: [g.path] }), probe('frozen under fault', { type: 'cgroup', path: g.path, metric: 'frozen' }))
        .build(),
      { stateDir: state.dir, handleSignals: false },
    );
    expect(r.activities[1].result).toBe(true);
    expect(r.status).toBe('deviated');
    expect(g.group.frozen).toBe(false);
    expect(g.group.processes()).toEqual([g.child.pid]);
    expect(status(state.dir).clean).toBe(true);
  });

  it('kills the processes of a cgroup with a signal', async () => {
    const g = make('kill');
    const exited = new Promise<NodeJS.Signals | null>((res) => g.child.once('exit', (_c, s) => res(s)));
    const r = await runExperiment(experiment('kill').method(action('kill', { type: 'signal', cgroups: [g.path], signal: 'SIGKILL' })).build(), { stateDir: state.dir, handleSignals: false });
    expect(r.status).toBe('completed');
    expect(r.activities[0].result).toEqual({ signalled: 1 });
    expect(await exited).toBe('SIGKILL');
  });

  it('stresses CPU and memory inside the target cgroup and stops the workers afterwards', async () => {
    const g = make('stress');
    const r = await runExperiment(
      experiment('stress')
        .method(
          action('stress', { type: 'stress', cgroups: [g.path], cpuWorkers: 1, memoryMb: 16 }),
          probe('processes in the cgroup', { type: 'function', fn: () => g.group.processes().length }),
          probe('cpu used by the cgroup (once above 50 ms)', {
            type: 'function',
            fn: async () => {
              const deadline = Date.now() + 30_000;
              while (g.group.stats().cpu.usage_usec <= 50_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
              return g.group.stats().cpu.usage_usec;
            },
          }),
        )
        .build(),
      { stateDir: state.dir, handleSignals: false },
    );
    expect(r.status).toBe('completed');
    expect(r.activities[1].result).toBe(3);
    expect(r.activities[2].result).toBeGreaterThan(50_000);
    // PSI of the cgroup through Cgroup.stats(), where the kernel exposes it
    if (existsSync(`${g.group.fsPath}/cpu.pressure`)) {
      const psi = await runExperiment(experiment('psi').method(probe('cpu some avg10', { type: 'cgroup', path: g.path, metric: 'pressure.cpu.some.avg10' })).build(), { stateDir: state.dir, handleSignals: false });
      expect(psi.activities[0].result).toBeGreaterThanOrEqual(0);
    }
    expect(g.group.processes()).toEqual([g.child.pid]);
  });

  it('cgroup-net: connect() to a port fails for the processes of the cgroup only, and works again after the run', async () => {
    const server = createServer((c) => c.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const g = make('net');
    const client = spawn(
      process.execPath,
      ['-e', `const net=require('net');setInterval(()=>{const s=net.connect(${port},'127.0.0.1');s.on('connect',()=>{console.log('ok');s.destroy()});s.on('error',()=>console.log('fail'))},50);process.stdin.on('end',()=>process.exit(0));process.stdin.resume();`],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const lines: string[] = [];
    client.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
    try {
      g.group.addProcess(client.pid!);
      const seen = async (what: string, from: number) => {
        const deadline = Date.now() + 30_000;
        while (!lines.slice(from).includes(what) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        return lines.slice(from).includes(what);
      };
      expect(await seen('ok', 0)).toBe(true);
      expect(lines).not.toContain('fail');
      let mark = 0;
      const r = await runExperiment(
        experiment('deny the port to the cgroup')
          .method(
            action('deny port', { type: 'cgroup-net', cgroups: [g.path], denyPorts: [port] }),
            probe('the cgroup sees failures', { type: 'function', fn: () => ((mark = lines.length), seen('fail', mark)) }),
            probe('the runner (outside the cgroup) still connects', { type: 'tcp', host: '127.0.0.1', port }),
          )
          .build(),
        { stateDir: state.dir, handleSignals: false },
      );
      expect(r.status).toBe('completed');
      expect(r.activities[1].result).toBe(true);
      expect(r.activities[2].result).toBe(true);
      expect(r.faults[0]).toMatchObject({ fault: 'cgroup-net', target: `cgroup:${g.path}` });
      const after = lines.length;
      // once the policy is detached, connects succeed again
      const deadline = Date.now() + 30_000;
      while (!lines.slice(after).includes('ok') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(lines.slice(after)).toContain('ok');
    } finally {
      client.kill('SIGKILL');
      await new Promise((res) => server.close(res));
    }
  });

  it('resource limits: applied and restored where the controller exists, else refused naming it', async () => {
    const g = make('limits');
    const exp = experiment('limit cpu').method(action('cpu 10%', { type: 'cgroup-limits', cgroups: [g.path], limits: { cpu: { quotaUs: 10_000, periodUs: 100_000 } } })).build();
    if (!g.group.controllers().includes('cpu')) {
      await expect(runExperiment(exp, { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
        code: 'ERR_OMNI_CONTROLLER_UNAVAILABLE',
        controller: 'cpu',
        message: expect.stringMatching(/method\[0\]\.provider\.limits\.cpu: cgroup '.*limits' has no 'cpu' controller/),
      });
      return;
    }
    const r = await runExperiment(exp, { stateDir: state.dir, handleSignals: false });
    expect(r.faults[0].removedAt).not.toBeNull();
  });

  it('io limits: a device that is not a block device, or does not exist, is refused naming it before anything is applied', async () => {
    const g = make('io');
    const io = (device: string) => experiment('limit io').method(action('io', { type: 'cgroup-limits', cgroups: [g.path], limits: { io: [{ device, wbps: 1 << 20 }] } })).build();
    await expect(runExperiment(io('/dev/null'), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_INVALID_ARGUMENT',
      message: expect.stringMatching(/^method\[0\]\.provider\.limits\.io\[0\]\.device: '\/dev\/null' is not a block device/),
    });
    await expect(runExperiment(io(`/dev/omni-nope-${process.pid}`), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_NOT_FOUND',
      message: expect.stringMatching(/limits\.io\[0\]\.device: device '\/dev\/omni-nope-\d+' does not exist/),
    });
    expect(status(state.dir).clean).toBe(true);
  });

  it('progressive rollout stops when the hypothesis fails between steps and rolls back every step', async () => {
    const pool = ['r0', 'r1', 'r2', 'r3'].map((n) => make(`pool/${n}`));
    const frozen = () => pool.filter((g) => g.group.frozen).length;
    const r = await runExperiment(
      experiment('freeze progressively')
        .hypothesis('at most one replica frozen', probe('frozen replicas', { type: 'function', fn: frozen }, [0, 1]))
        .method(action('freeze replicas', { type: 'cgroup-freeze', selector: { parent: `${base}/pool` } }))
        .safety({ rollout: { initial: 1, factor: 2 } })
        .build(),
      { stateDir: state.dir, handleSignals: false },
    );
    expect(r.status).toBe('aborted');
    expect(r.deviations[0]).toMatch(/progressive rollout of 'freeze replicas' after 2 of 4 targets/);
    expect(r.faults.map((f) => f.target)).toEqual([`cgroup:${base}/pool/r0`, `cgroup:${base}/pool/r1`]);
    expect(r.faults.every((f) => f.removedAt !== null)).toBe(true);
    expect(frozen()).toBe(0);
    // blast radius by share of the selector's pool, refused before anything is frozen
    await expect(
      runExperiment(
        experiment('too many').method(action('freeze', { type: 'cgroup-freeze', selector: { parent: `${base}/pool`, percent: 75 } })).safety({ blastRadius: { maxPercent: 50 } }).build(),
        { stateDir: state.dir, handleSignals: false },
      ),
    ).rejects.toMatchObject({ code: 'ERR_OMNI_BLAST_RADIUS', message: expect.stringMatching(/selects 3 of 4 cgroups \(75\.0%\), more than safety\.blastRadius\.maxPercent 50%/) });
    expect(frozen()).toBe(0);
    await expect(runExperiment(experiment('nope').method(action('freeze', { type: 'cgroup-freeze', cgroups: [`${base}/absent`] })).build(), { stateDir: state.dir, handleSignals: false })).rejects.toMatchObject({
      code: 'ERR_OMNI_NOT_FOUND',
    });
    expect(existsSync(`${cgroup.root()}${base}/absent`)).toBe(false);
  });
});
