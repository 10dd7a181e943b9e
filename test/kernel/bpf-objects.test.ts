/**
 * The committed eBPF objects (kernel/build/*.bpf.o, embedded by crates/kernel)
 * must be what their sources compile to: the drift check of the bpf2go-style
 * build. Needs clang and make, not root.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const missing = ['clang', 'make'].filter((c) => !has(c));
if (missing.length) {
  const line = `!!! SKIPPING the eBPF object drift check: ${missing.join(', ')} not installed !!!`;
  console.warn(`\n${line}\n`);
}

describe('kernel/build/*.bpf.o', () => {
  it.skipIf(missing.length > 0 && process.env.CI !== 'true')('match a fresh compile of kernel/*.bpf.c (commit the objects cargo build regenerated)', () => {
    // .ci/run installs clang: under CI a missing compiler fails instead of skipping
    expect(missing, 'clang and make are installed by .ci/run').toEqual([]);
    const out = mkdtempSync(join(tmpdir(), 'omni-bpf-'));
    try {
      const r = spawnSync('make', ['-s', '-B', '-C', join(root, 'kernel'), `OUT=${out}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      for (const name of ['xdp_filter', 'cgroup_policy']) {
        const fresh = readFileSync(join(out, `${name}.bpf.o`));
        const committed = readFileSync(join(root, 'kernel', 'build', `${name}.bpf.o`));
        expect(committed.equals(fresh), `kernel/build/${name}.bpf.o differs from its source: rebuild (cargo build or make -C kernel) and commit it`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
