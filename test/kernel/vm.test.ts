/**
 * Controller limits (pids.max, memory.max, cpu.max, io.max) cannot be tested on
 * this hybrid host (controllers are bound to cgroup v1), so the suite boots a
 * Debian kernel under qemu (TCG) with a pure cgroup2 hierarchy and runs the
 * omnitide API inside it (test/kernel/vm/run.sh + guest.cjs). The same boot
 * runs the chaos engine's faults this host's kernel lacks: netem and
 * cgroup-limits (chaos-guest.cjs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipReason } from './env.js';
import { runAsync } from '../helpers/run.js';

const RUN = resolve(__dirname, 'vm', 'run.sh');
const DIST = resolve(__dirname, '..', '..', 'dist', 'kernel', 'index.js');
const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
const vmSkip = skipReason ?? (process.env.OMNITIDE_SKIP_VM_TESTS === '1' ? 'OMNITIDE_SKIP_VM_TESTS=1' : !hasQemu && process.env.CI !== 'true' ? 'qemu-system-x86_64 not installed (apt-get install qemu-system-x86)' : null);
if (vmSkip && !skipReason) console.warn(`\n!!! SKIPPING omnitide kernel VM tests (cgroup controller limits): ${vmSkip} !!!\n`);

/** One boot for both guest scripts (the TCG boot is the slow part): the kernel API's limits, then the chaos engine's faults. */
async function bootOnce(): Promise<string> {
  expect(existsSync(DIST), 'dist/ must be built (npm run build:ts) before the VM test').toBe(true);
  // The guest runs with one vCPU (with -smp 2, multi-threaded TCG once soft-locked the guest for 8 minutes:
  // RCU stalls, "timer handling issue on cpu=1"). Each attempt is still bounded
  // and a stalled boot is retried once. Both attempts' output is kept for the failure message.
  let outText = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const r = await runAsync('bash', [RUN], { timeout: 330_000, env: { ...process.env, OMNI_VM_TIMEOUT: '300' } });
    outText += `\n--- attempt ${attempt} ---\n${r.stdout}\n${r.stderr}`;
    if (/OMNI_VM_CHAOS_RESULT |OMNI_VM_MISSING /.test(`${r.stdout}`)) break;
  }
  return outText;
}

// Skips without root, with OMNITIDE_SKIP_KERNEL_TESTS=1 or OMNITIDE_SKIP_VM_TESTS=1, or outside CI without qemu (vmSkip
// says which, printed above); under CI=true a missing qemu is not a skip (.ci/run installs qemu-system-x86).
describe.skipIf(vmSkip)('inside a qemu guest (pure cgroup2, netem)', () => {
  let outText = '';
  beforeAll(async () => {
    outText = await bootOnce();
  }, 700_000);
  const result = (marker: string) => {
    const missing = /OMNI_VM_MISSING (.*)/.exec(outText);
    if (missing) throw new Error(`VM prerequisites missing: ${missing[1]}`);
    const line = new RegExp(`${marker} (.*)`).exec(outText);
    expect(line, outText.slice(-3000)).not.toBeNull();
    console.log(`${marker}: ${line![1]}`);
    return JSON.parse(line![1]);
  };

  it('cgroup v2 controller limits: pids.max refuses forks, memory.max OOM-kills, cpu.max throttles, io.max throttles writes', () => {
    const res = result('OMNI_VM_RESULT');
    expect(res.fatal, res.fatal).toBeUndefined();
    expect(res.controllers).toMatch(/cpu/);
    for (const k of ['pids', 'memory', 'cpu', 'io', 'nothingHalfApplied', 'kernelRefusalRollsBack']) {
      expect(res[k]?.ok, `${k}: ${JSON.stringify(res[k])}`).toBe(true);
    }
  });

  it('chaos engine: netem delay + loss measured on a namespace loopback, cgroup limits (cpu/memory/pids/io) act and are restored exactly, a SIGKILLed runner is repaired from the journal, nothing left', () => {
    const res = result('OMNI_VM_CHAOS_RESULT');
    expect(res.fatal, res.fatal).toBeUndefined();
    expect(res.netnsCreated).toBe(true);
    for (const k of ['netem', 'limits', 'repair']) {
      expect(res[k]?.ok, `${k}: ${JSON.stringify(res[k])}`).toBe(true);
    }
    expect(res.leftovers).toEqual({ netns: false, cgroup: false, stateDir: false });
  });
});
