import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/run.js';

/**
 * The published artifact: `npm run pack` gives a tarball with the linux-x64-gnu
 * addon and no build scripts; installed into an empty project with no Rust
 * toolchain on PATH it works through import, require and TypeScript types
 * (nodenext and node10 resolution).
 */
const root = resolve(__dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'omni-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// PATH without any directory that holds cargo or rustc.
const noRustPath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => d && !/\.cargo|rustup/.test(d) && spawnSync('test', ['-x', join(d, 'cargo')]).status !== 0 && spawnSync('test', ['-x', join(d, 'rustc')]).status !== 0)
  .join(delimiter);
const env = { ...process.env, PATH: noRustPath, RUSTUP_HOME: '/nonexistent', CARGO_HOME: '/nonexistent' };
const sh = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });

let tarball = '';
const consumer = join(work, 'consumer');

// Asynchronous: a minute-long synchronous install would starve vitest's worker RPC ("Timeout calling onTaskUpdate").
const run = promisify(execFile);

beforeAll(async () => {
  // `npm run pack` packs what the build produced (no rebuild), from a staging
  // directory whose package.json carries no build scripts.
  const { stdout: out } = await run(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const info = JSON.parse(out)[0];
  tarball = join(work, info.filename);
  (globalThis as Record<string, unknown>).__packFiles = info.files.map((f: { path: string }) => f.path);
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', tarball, 'typescript@5', '@types/node@20'], { cwd: consumer, env, encoding: 'utf8', maxBuffer: 1 << 26 });
}, 1_200_000);

const tsc = (project: string) => runAsync(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env });

describe('npm pack tarball', () => {
  it('contains the addon, the loader, the types and the CLI, and no Rust sources', () => {
    const files = (globalThis as Record<string, unknown>).__packFiles as string[];
    expect(files).toContain('bindings/omnitide.linux-x64-gnu.node');
    expect(files).toContain('bindings/index.js');
    expect(files).toContain('dist/crypto/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files.some((f) => f.endsWith('.rs') || f.startsWith('crates/'))).toBe(false);
  });

  it('the test environment really has no cargo or rustc', () => {
    expect(spawnSync('cargo', ['--version'], { env }).error).toBeDefined();
    expect(spawnSync('rustc', ['--version'], { env }).error).toBeDefined();
    expect(readdirSync(join(consumer, 'node_modules', 'omnitide', 'bindings'))).toContain('omnitide.linux-x64-gnu.node');
  });

  it('works through require (CJS) for every subpath', () => {
    const out = sh(process.execPath, ['-e', `
      const { blake3, ed25519 } = require('omnitide/crypto');
      const { OmniError, crypto } = require('omnitide');
      const kp = ed25519.generateKeyPair();
      const ok = ed25519.verify(ed25519.sign('m', kp.secretKey), 'm', kp.publicKey);
      let code; try { blake3.hash(5) } catch (e) { code = e instanceof OmniError && e.code }
      console.log(blake3.toHex(blake3.hash('')), ok, code, typeof crypto.blake3.hash);
    `], consumer);
    expect(out.trim()).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262 true ERR_OMNI_INVALID_ARGUMENT function');
  });

  it('works through import (ESM) with named exports', () => {
    writeFileSync(join(consumer, 'esm.mjs'), `
      import { blake3, ed25519 } from 'omnitide/crypto';
      import { OmniError } from 'omnitide';
      const r = await blake3.hashAsync('abc');
      console.log(blake3.toHex(r), typeof ed25519.verifyBatch, typeof OmniError);
    `);
    expect(sh(process.execPath, ['esm.mjs'], consumer).trim()).toBe(
      '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85 function function',
    );
  });

  it('carries no build scripts, while the repository keeps `prepare` so `npm install` in a clone builds', () => {
    const published = JSON.parse(readFileSync(join(consumer, 'node_modules', 'omnitide', 'package.json'), 'utf8'));
    expect(published.scripts).toBeUndefined();
    expect(published.devDependencies).toBeUndefined();
    expect(published.exports['./crypto']).toBeDefined();
    const repo = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(repo.scripts.prepare).toBe('npm run build');
    expect(repo.scripts.build).toContain('build:native');
  });

  it('a plain `npm pack` in the repository is refused (it would publish `prepare`)', () => {
    const r = spawnSync('npm', ['pack', '--dry-run'], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('npm run pack');
  });

  it('the CLI bin runs', () => {
    expect(sh(join(consumer, 'node_modules', '.bin', 'omnitide'), ['--help'], consumer)).toContain('usage: omnitide');
  });

  it('types resolve for TypeScript consumers under tsc --noEmit (ESM and CJS)', async () => {
    const src = `
      import { blake3, ed25519, type KeyPair } from 'omnitide/crypto';
      import { OmniError, type OmniErrorCode } from 'omnitide';
      const kp: KeyPair = ed25519.generateKeyPair();
      const d: Uint8Array = blake3.hash('x', { length: 64 });
      const ok: boolean = ed25519.verify(ed25519.sign(d, kp.secretKey), d, kp.publicKey, { mode: 'strict' });
      const c: OmniErrorCode = new OmniError('ERR_OMNI_IO', 'x').code;
      // @ts-expect-error: the contract has no mode called 'lax'
      ed25519.verify(d, d, d, { mode: 'lax' });
      export { ok, c };
    `;
    for (const [name, module, ext] of [['esm', 'nodenext', 'mts'], ['cjs', 'nodenext', 'cts']] as const) {
      const d = join(consumer, name);
      execFileSync('mkdir', ['-p', d]);
      writeFileSync(join(d, `index.${ext}`), src);
      writeFileSync(join(d, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { module, moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(consumer, 'node_modules', '@types')] },
        include: [`index.${ext}`],
      }));
      const r = await tsc(d);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  // omnitide/crypto, /ledger, /symbolic, /attest, /lattice and /learn declare no Node types (signals are a
  // structural AbortSignalLike, loggers a structural Logger instead of pino's, the bindings' scheduler buffers
  // are declared Uint8Array). pipeline, chaos, kernel and contracts are checked below. Scheduler and
  // autoblock still need @types/node (EventEmitter base classes, autoblock's node:http middleware, the
  // scheduler's `tasks: string | URL` schema).
  it('omnitide/crypto, /ledger, /symbolic, /attest, /lattice and /learn type-check without @types/node', async () => {
    const dir = join(consumer, 'no-node-types');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'index.mts'), `
      import { blake3, ed25519 } from 'omnitide/crypto';
      import { simplify, equivalent } from 'omnitide/symbolic';
      import { verify, Authority } from 'omnitide/attest';
      import { Ledger } from 'omnitide/ledger';
      import { FormalContext, build } from 'omnitide/lattice';
      import { createModel } from 'omnitide/learn';
      const lattice = await build(FormalContext.fromRows(['a'], ['x'], [[0]]));
      const p: number = createModel('logistic-regression', { nFeatures: 2 }).predictOne([1, 2]);
      const log = await Ledger.open('./log', { logger: { child() { return this; }, debug() {}, info() {}, warn() {}, error() {} } });
      const d: Uint8Array = await blake3.hashFile('/etc/hostname', { maxBytes: 1024, signal: { aborted: false, addEventListener() {}, removeEventListener() {} } });
      const e: string = simplify('x/x').expr;
      const s: 'equal' | 'different' | 'unknown' = equivalent('x', 'x').status;
      export { d, e, s, p, ed25519, verify, Authority, log, lattice };
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
      files: ['index.mts'],
    }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'no-node-types', private: true, type: 'module' }));
    // @types/node is installed in the consumer, so --listFiles shows that no declaration pulled it in.
    const r = await runAsync(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--listFiles'], { cwd: dir, env });
    const listed = r.stdout.split('\n').filter((l) => l.startsWith('/'));
    expect(r.stdout.split('\n').filter((l) => l && !l.startsWith('/'))).toEqual([]);
    expect(r.status).toBe(0);
    expect(listed.some((f) => f.includes('/omnitide/dist/crypto/blake3.d.ts'))).toBe(true);
    expect(listed.some((f) => f.includes('/omnitide/dist/logger.d.ts'))).toBe(true);
    expect(listed.some((f) => f.includes('/omnitide/bindings/index.d.ts'))).toBe(true);
    expect(listed.filter((f) => f.includes('/@types/node/'))).toEqual([]);
  });

  // omnitide/pipeline, /chaos, /kernel and /contracts declare no Node types either (pipeline's
  // Readable/Writable inputs are the structural ReadableLike/WritableLike, chaos's internals use
  // Uint8Array); only zod v4's own declarations name the global URL, which lib "dom" provides, so this
  // consumer has lib dom and still no @types/node.
  it('omnitide/pipeline, /chaos, /kernel and /contracts type-check without @types/node (lib dom only for zod v4\'s URL)', async () => {
    const dir = join(consumer, 'no-node-types-pipeline');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'index.mts'), `
      import { Pipeline, fromArray, fromReadable, toArray, toWritable, type WritableLike } from 'omnitide/pipeline';
      import { runExperiment, type RunReport } from 'omnitide/chaos';
      import { xdp } from 'omnitide/kernel';
      import { Engine, check } from 'omnitide/contracts';
      const p = new Pipeline('orders');
      const sink = toArray<{ n: number }>();
      p.source('in', { n: 'number' }, fromArray([{ n: 1 }])).map((r) => ({ n: r.n * 2 })).to(sink);
      const res = await p.run({ mode: 'batch', signal: new AbortController().signal });
      const lines: string[] = [];
      const w: WritableLike = { writableObjectMode: false, writableFinished: true, write(c) { lines.push(String(c)); return true; }, end() {}, on() {}, once() {} };
      const out = toWritable<{ n: number }>(w);
      const src = fromReadable((async function* () { yield { n: 1 }; })() as AsyncGenerator<{ n: number }> & { pipe(): void });
      let report: RunReport | undefined;
      export { res, out, src, report, runExperiment, xdp, Engine, check };
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
      files: ['index.mts'],
    }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'no-node-types-pipeline', private: true, type: 'module' }));
    const r = await runAsync(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--listFiles'], { cwd: dir, env });
    const listed = r.stdout.split('\n').filter((l) => l.startsWith('/'));
    expect(r.stdout.split('\n').filter((l) => l && !l.startsWith('/'))).toEqual([]);
    expect(r.status).toBe(0);
    for (const f of ['pipeline/sinks.d.ts', 'chaos/proxy/toxics.d.ts', 'kernel/index.d.ts', 'contracts/index.d.ts']) {
      expect(listed.some((l) => l.includes(`/omnitide/dist/${f}`)), f).toBe(true);
    }
    expect(listed.filter((f) => f.includes('/@types/node/'))).toEqual([]);
  });

  // With @types/node, Node's own streams still fit the structural inputs (users' code keeps compiling).
  it('Node Readable/Writable streams still fit omnitide/pipeline\'s structural inputs', async () => {
    const dir = join(consumer, 'pipeline-node-streams');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'index.mts'), `
      import { Readable, Writable, PassThrough } from 'node:stream';
      import { createWriteStream } from 'node:fs';
      import { fromReadable, toWritable, run, Pipeline } from 'omnitide/pipeline';
      const a = toWritable(process.stdout);
      const b = toWritable(createWriteStream('/dev/null'));
      const c = toWritable<{ n: number }>(new Writable({ objectMode: true, write(_c, _e, cb) { cb(); } }));
      const d = fromReadable<{ n: number }>(Readable.from([{ n: 1 }]));
      const r: Readable = new PassThrough();
      const e = fromReadable(r);
      const ac = new AbortController();
      const f = new Pipeline('p').run({ signal: ac.signal });
      export { a, b, c, d, e, f, run };
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(consumer, 'node_modules', '@types')] },
      files: ['index.mts'],
    }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pipeline-node-streams', private: true, type: 'module' }));
    const r = await tsc(dir);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  // moduleResolution node10 ignores `exports`: subpaths resolve through `typesVersions`.
  const node10 = (dir: string, src: string, types: string[]) => {
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'index.ts'), src);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'commonjs', moduleResolution: 'node10', target: 'es2022', lib: ['es2022'], strict: true, noEmit: true, esModuleInterop: true, skipLibCheck: false, types },
      files: ['index.ts'],
    }));
    return tsc(dir);
  };

  // The declarations still use Node types (Buffer in the generated bindings, AbortSignal, pino), so
  // consumers need @types/node; what this checks is that every subpath resolves under node10.
  it('types resolve with moduleResolution node10 for every subpath', async () => {
    const r = await node10(join(consumer, 'node10-subpaths'), `
      import { blake3, type KeyPair } from 'omnitide/crypto';
      import { Ledger, type Checkpoint } from 'omnitide/ledger';
      import { verify } from 'omnitide/attest';
      import { simplify } from 'omnitide/symbolic';
      import { xdp } from 'omnitide/kernel';
      const d: Uint8Array = blake3.hash('x');
      let kp: KeyPair | undefined; let cp: Checkpoint | undefined;
      export { d, kp, cp, Ledger, verify, simplify, xdp };
    `, ['node']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the root entry and omnitide/scheduler type-check with node10 given @types/node (Scheduler is an EventEmitter)', async () => {
    const r = await node10(join(consumer, 'node10'), `
      import { OmniError, type OmniErrorCode } from 'omnitide';
      import { Scheduler } from 'omnitide/scheduler';
      import { blake3 } from 'omnitide/crypto';
      const c: OmniErrorCode = new OmniError('ERR_OMNI_IO', 'x').code;
      export { c, Scheduler, blake3 };
    `, ['node']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('package.json', () => {
  it('maps every exported subpath in typesVersions to the same .d.ts', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const [sub, target] of Object.entries(pkg.exports as Record<string, { types?: string }>)) {
      if (sub === '.' || !target.types) continue;
      expect(pkg.typesVersions['*'][sub.slice(2)], sub).toEqual([target.types]);
    }
  });
});
