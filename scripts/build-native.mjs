// Builds the addon into bindings/ (loader + index.d.ts + .node) with napi build.
//
//   node scripts/build-native.mjs            debug, host toolchain (tests)
//   node scripts/build-native.mjs --release  release; glibc 2.17 floor with zig
//
// The release addon is linked against glibc 2.17 (the floor napi-rs's own
// packages use: RHEL/CentOS 7+, Debian 8+, Ubuntu 14.04+) through
// cargo-zigbuild, which pins zig's glibc stubs with the target suffix
// `x86_64-unknown-linux-gnu.2.17`. Without zig or cargo-zigbuild it falls back
// to the host toolchain and says so: the floor is then the host's glibc.
// OMNITIDE_HOST_TOOLCHAIN=1 forces the fallback.
//
// bindings/build-info.json records what was built (test/pack/glibc.test.ts
// asserts the floor of a zig build against it).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export const GLIBC_FLOOR = '2.17';
const HOST_TARGET = 'x86_64-unknown-linux-gnu';
const root = new URL('..', import.meta.url).pathname;
const release = process.argv.includes('--release');

const works = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

/** Why zig cannot be used, or null when it can. */
function zigMissing() {
  if (process.env.OMNITIDE_HOST_TOOLCHAIN === '1') return 'OMNITIDE_HOST_TOOLCHAIN=1';
  // cargo-zigbuild finds `zig` on PATH or the `ziglang` Python package.
  if (!works('zig', ['version']) && !works('python3', ['-m', 'ziglang', 'version'])) return 'zig not found (pip install ziglang)';
  if (!works('cargo-zigbuild', ['--version'])) return 'cargo-zigbuild not found (cargo install cargo-zigbuild)';
  return null;
}

const args = [
  'build', '--platform', '--manifest-path', 'native/Cargo.toml', '--package-json-path', 'package.json',
  '--output-dir', 'bindings', '--js', 'index.js', '--dts', 'index.d.ts',
];
let glibc = null;
if (release) {
  args.push('--release');
  const missing = zigMissing();
  if (missing) {
    console.warn(`omnitide: ${missing}: building the release addon with the host toolchain; its glibc floor will be the host's, not ${GLIBC_FLOOR}`);
  } else {
    args.push('--cross-compile', '--target', `${HOST_TARGET}.${GLIBC_FLOOR}`);
    glibc = GLIBC_FLOOR;
  }
}

const napi = new URL('../node_modules/@napi-rs/cli/dist/cli.js', import.meta.url).pathname;
const build = (a) => spawnSync(process.execPath, [napi, ...a], { cwd: root, stdio: 'inherit' }).status;
let status = build(args);
if (status !== 0 && glibc) {
  // A failed zig build must not break `npm install`: build with the host
  // toolchain and say so (the glibc floor test then fails under CI).
  console.warn(`omnitide: the zig build for glibc ${GLIBC_FLOOR} failed; building the release addon with the host toolchain instead`);
  glibc = null;
  status = build(args.filter((a, i) => a !== '--cross-compile' && a !== '--target' && args[i - 1] !== '--target'));
}
if (status !== 0) process.exit(status ?? 1);
writeFileSync(
  new URL('../bindings/build-info.json', import.meta.url),
  `${JSON.stringify({ profile: release ? 'release' : 'debug', toolchain: glibc ? 'zig' : 'host', glibcFloor: glibc }, null, 2)}\n`,
);
