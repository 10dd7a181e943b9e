/**
 * cgroup.freezeMany / thawMany on real cgroups (the rollback after a failed
 * write is proven in crates/kernel/src/cgroup_batch.rs, where a test can
 * remove a cgroup between validation and its write).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroup, type OmniError } from '../../ts/kernel/index.js';
import { skipReason } from './env.js';

// Skipped (loudly, with the reason printed by test/kernel/env.ts) only without root or with
// OMNITIDE_SKIP_KERNEL_TESTS=1: cgroupfs writes need CAP_SYS_ADMIN. CI runs as root, so CI runs it.
describe.skipIf(skipReason)('omnitide/kernel cgroup.freezeMany / thawMany', () => {
  const base = `omnitide-test-${process.pid}-batch`;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    try {
      await cgroup.open(base).remove({ force: true });
    } catch {
      /* not created or already removed */
    }
  });

  const freezeFile = (p: string) => readFileSync(join(cgroup.root(), p, 'cgroup.freeze'), 'utf8').trim();
  const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

  it('freezes and thaws many cgroups with processes in one call, waiting for the frozen state', async () => {
    const paths = Array.from({ length: 20 }, (_, i) => cgroup.create(`${base}/ok/g${i}`).path);
    const pids: number[] = [];
    for (const p of [paths[0], paths[19]]) {
      // a busy process and a sleeping one
      const c = spawn('sh', ['-c', p === paths[0] ? 'while :; do :; done' : 'sleep 60'], { stdio: 'ignore' });
      children.push(c);
      cgroup.open(p).addProcess(c.pid!);
      pids.push(c.pid!);
    }
    await cgroup.freezeMany(paths, { timeoutMs: 20_000 });
    for (const p of paths) expect(cgroup.open(p).frozen).toBe(true);
    // a frozen task parks in the freezer trap: not runnable (D or S depending on the kernel), even the busy loop
    for (const pid of pids) expect(['D', 'S']).toContain(state(pid));
    await cgroup.thawMany(paths, { timeoutMs: 20_000 });
    for (const p of paths) expect(cgroup.open(p).frozen).toBe(false);
    // without waiting: the request is written when the promise resolves
    await cgroup.freezeMany(paths, { wait: false });
    for (const p of paths) expect(freezeFile(p)).toBe('1');
    await cgroup.thawMany(paths, { wait: false });
    for (const p of paths) expect(freezeFile(p)).toBe('0');
  });

  it('refuses a batch with a bad path, naming its index, and changes nothing', async () => {
    const paths = Array.from({ length: 3 }, (_, i) => cgroup.create(`${base}/bad/g${i}`).path);
    const missing = [...paths, `${base}/bad/nope`];
    await expect(cgroup.freezeMany(missing)).rejects.toMatchObject({ code: 'ERR_OMNI_NOT_FOUND', message: expect.stringContaining('paths[3]') });
    for (const p of paths) expect(freezeFile(p)).toBe('0');
    await expect(cgroup.freezeMany([paths[0], '../etc'])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringContaining('paths[1]') });
    await expect(cgroup.freezeMany([paths[0], paths[0]])).rejects.toMatchObject({ message: expect.stringContaining('paths[1]') });
    await expect(cgroup.freezeMany([])).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT' });
    await expect(cgroup.thawMany([paths[0], 7 as unknown as string])).rejects.toMatchObject({ message: expect.stringContaining('paths[1]') });
    await expect(cgroup.freezeMany(paths, { wait: 'yes' } as unknown as { wait: boolean })).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT' } satisfies Partial<OmniError>);
    for (const p of paths) expect(freezeFile(p)).toBe('0');
  });
});
