/**
 * Our Gaussian copula against the Python `copulas` package (the engine of SDV's
 * GaussianCopulaSynthesizer) on the same numeric table: both synthetic tables
 * are scored by the same fidelity report, and ours must be in the same range
 * as theirs (not identical numbers: marginals and RNGs differ). `.ci/run`
 * installs `copulas`; under CI=true a missing package fails. Elsewhere the test
 * tries `pip install copulas` itself and, if that fails, skips loudly with the reason.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as synth from '../../ts/pipeline/synth/index.js';
import { sampleTable } from './synth-data.js';

interface PeerOut {
  columns: Record<string, number[]>;
  fitMs: number;
  sampleMs: number;
}

/** Runs `cmd args` with `input` on stdin: exit code (or spawn error text), stdout, stderr. */
async function run(cmd: string, args: string[], input = ''): Promise<{ code: number | string; out: string; err: string }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<number | string>((resolve) => {
    child.on('error', (e) => resolve(e.message));
    child.on('close', (c) => resolve(c ?? -1));
  });
  child.stdin.on('error', () => {}); // a python3 that exits early is reported through its exit code
  child.stdin.end(input);
  return { code: await done, out, err };
}

/** pip install of the peer (Debian's Python is externally managed: retry with --break-system-packages). */
async function install(): Promise<string> {
  const base = ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'copulas'];
  const a = await run('python3', base);
  if (a.code === 0) return '';
  const b = await run('python3', [...base, '--break-system-packages']);
  return b.code === 0 ? '' : `pip install copulas failed: ${(b.err || a.err).trim().split('\n').pop()}`;
}

/** Runs the peer; `undefined` (after a loud warning) when `copulas` cannot be had outside CI. */
async function peer(columns: Record<string, number[]>, rows: number, seed: number): Promise<PeerOut | undefined> {
  const input = JSON.stringify({ columns, rows, seed });
  let { code, out, err } = await run('python3', [join(__dirname, 'synth_peer.py')], input);
  if (code === 3 && process.env.CI !== 'true') {
    const failed = await install();
    if (failed) err += ` (${failed})`;
    else ({ code, out, err } = await run('python3', [join(__dirname, 'synth_peer.py')], input));
  }
  if (code === 3 || typeof code === 'string') {
    const why = typeof code === 'string' ? `python3 not runnable: ${code}` : `the Python package 'copulas' is not installed (pip install copulas): ${err.trim()}`;
    if (process.env.CI === 'true') throw new Error(`synth copula peer missing under CI: ${why}`);
    console.warn(`\n*** SKIPPING copula-vs-copulas comparison: ${why} ***\n`);
    return undefined;
  }
  if (code !== 0) throw new Error(`copula peer failed (${code}): ${err}`);
  return JSON.parse(out) as PeerOut;
}

describe('Gaussian copula vs Python copulas (SDV engine)', () => {
  it('our fidelity on the same table is in the range of theirs', async () => {
    const { a, b } = sampleTable(2000, 21);
    // A third column with a non-linear, non-monotone link: neither copula captures it fully.
    const c = a.map((x, i) => ((x - 50) / 10) ** 2 + 0.1 * Math.log(b[i]));
    const real = { a, b, c };
    const theirs = await peer(real, 2000, 5);
    if (!theirs) return;
    const ours = await (await synth.fit(real, { seed: 5 })).sample(2000, { seed: 6 });
    const [ro, rt] = [await synth.fidelity(real, ours), await synth.fidelity(real, theirs.columns)];
    for (let i = 0; i < ro.columns.length; i++) {
      const [o, t] = [ro.columns[i], rt.columns[i]];
      expect(o.name).toBe(t.name);
      // Same range: at most a little worse than theirs on every column, and small in absolute terms.
      expect(o.value, `${o.name}: ours ${o.value} theirs ${t.value}`).toBeLessThan(Math.max(t.value + 0.03, 0.06));
    }
    expect(ro.correlation.meanAbsError).toBeLessThan(rt.correlation.meanAbsError + 0.05);
    expect(ro.privacy.exactMatches).toBe(0);
    expect(rt.privacy.exactMatches).toBe(0);
  }, 300_000);
});
