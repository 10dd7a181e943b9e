/**
 * Controller limits (pids.max, memory.max, cpu.max, io.max) cannot be tested on
 * this hybrid host (controllers are bound to cgroup v1), so the suite boots a
 * Debian kernel under qemu (TCG) with a pure cgroup2 hierarchy and runs the
 * omnitide API inside it (test/kernel/vm/run.sh + guest.cjs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipReason } from './env.js';
import { runAsync } from '../helpers/run.js';

const RUN = resolve(__dirname, 'vm', 'run.sh');
const DIST = resolve(__dirname, '..', '..', 'dist', 'kernel', 'index.js');
const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
const vmSkip = skipReason ?? (process.env.OMNITIDE_SKIP_VM_TESTS === '1' ? 'OMNITIDE_SKIP_VM_TESTS=1' : !hasQemu && process.env.CI !== 'true' ? 'qemu-system-x86_64 not installed (apt-get install qemu-system-x86)' : null);
if (vmSkip && !skipReason) console.warn(`\n!!! SKIPPING omnitide kernel VM tests (cgroup controller limits): ${vmSkip} !!!\n`);

describe.skipIf(vmSkip)('cgroup v2 controller limits inside a qemu guest (pure cgroup2)', () => {
  it('pids.max refuses forks, memory.max OOM-kills, cpu.max throttles, io.max throttles writes', async () => {
    expect(existsSync(DIST), 'dist/ must be built (npm run build:ts) before the VM test').toBe(true);
    // The guest runs with one vCPU (with -smp 2, multi-threaded TCG once soft-locked the guest for 8 minutes:
    // RCU stalls, "timer handling issue on cpu=1"). Each attempt is still bounded
    // and a stalled boot is retried once. Both attempts' output is kept for the failure message.
    let outText = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await runAsync('bash', [RUN], { timeout: 280_000, env: { ...process.env, OMNI_VM_TIMEOUT: '240' } });
      outText += `\n--- attempt ${attempt} ---\n${r.stdout}\n${r.stderr}`;
      if (/OMNI_VM_RESULT |OMNI_VM_MISSING /.test(`${r.stdout}`)) break;
    }
    const missing = /OMNI_VM_MISSING (.*)/.exec(outText);
    if (missing) throw new Error(`VM prerequisites missing: ${missing[1]}`);
    const line = /OMNI_VM_RESULT (.*)/.exec(outText);
    expect(line, outText.slice(-3000)).not.toBeNull();
    const res = JSON.parse(line![1]);
    expect(res.fatal, res.fatal).toBeUndefined();
    expect(res.controllers).toMatch(/cpu/);
    for (const k of ['pids', 'memory', 'cpu', 'io', 'nothingHalfApplied', 'kernelRefusalRollsBack']) {
      expect(res[k]?.ok, `${k}: ${JSON.stringify(res[k])}`).toBe(true);
    }
    console.log(`VM results: ${line![1]}`);
  }, 600_000);
});
