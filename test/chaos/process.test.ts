/**
 * Process faults on cgroups the test creates: freeze (not SIGSTOP), signal
 * kill, CPU/memory stress inside the cgroup, limits (refused with the missing
 * controller's name where cgroup v2 has none), progressive rollout and
 * blast radius by percentage of a selector.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { action, experiment, probe, runExperiment, status } from '../../ts/chaos/index.js';
import { cgroup } from '../../ts/kernel/index.js';
import { cgroupWithSleeper, skipReason, tempStateDir, type SleepingCgroup } from './env.js';

describe.skipIf(skipReason)('omnitide/chaos process faults on cgroups', () => {
  const base = `/omni-chaos-test-${process.pid}`;
  const state = tempStateDir();
  const groups: SleepingCgroup[] = [];
  const make = (name: string) => {
    const g = cgroupWithSleeper(`${base}/${name}`);
    groups.push(g);
    return g;
  };
  afterAll(async () => {
    for (const g of groups) await g.remove();
    try {
      await cgroup.open(base).remove({ force: true });
    } catch {
      /* not created */
    }
    state.remove();
  });

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
