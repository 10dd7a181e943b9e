import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The glibc floor of the addon the package ships: a release build made with
 * zig (scripts/build-native.mjs) must need nothing newer than glibc 2.17.
 * Debug and host-toolchain builds have the host's floor: skipped loudly, but
 * under CI (which installs zig) the shipped addon must be the 2.17 build.
 */
const FLOOR = '2.17';
const root = resolve(__dirname, '..', '..');
const addon = join(root, 'bindings', 'omnitide.linux-x64-gnu.node');
const infoPath = join(root, 'bindings', 'build-info.json');
const info: { profile?: string; toolchain?: string; glibcFloor?: string | null } = existsSync(infoPath) ? JSON.parse(readFileSync(infoPath, 'utf8')) : {};

const hasObjdump = spawnSync('objdump', ['--version']).status === 0;
const zigRelease = info.profile === 'release' && info.glibcFloor === FLOOR;
const skipReason = !existsSync(addon)
  ? 'no addon in bindings/ (build first)'
  : !hasObjdump
    ? 'objdump not installed (binutils)'
    : !zigRelease
      ? `bindings/ holds a ${info.profile ?? 'unknown'} build made with the ${info.toolchain ?? 'unknown'} toolchain; the ${FLOOR} floor is asserted on zig release builds (npm run build:native)`
      : null;
if (skipReason && process.env.CI === 'true') throw new Error(`glibc floor check cannot run under CI: ${skipReason}`);
if (skipReason) console.warn(`SKIP glibc floor: ${skipReason}`);

/** `1.2.3` ordering. */
function cmp(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

describe.skipIf(skipReason)('glibc floor of the release addon', () => {
  it(`needs no glibc symbol version above ${FLOOR}`, () => {
    const dynsyms = execFileSync('objdump', ['-T', addon], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const versions = [...new Set([...dynsyms.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]))].sort(cmp);
    expect(versions.length).toBeGreaterThan(0);
    const newest = versions[versions.length - 1];
    expect(cmp(newest, FLOOR), `newest glibc symbol version GLIBC_${newest}`).toBeLessThanOrEqual(0);
  });
});
