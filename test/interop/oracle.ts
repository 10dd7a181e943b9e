// Finding the interop oracles (Python securesystemslib, Go). Under CI=true a
// missing oracle (which .ci/run installs) fails; elsewhere the suite skips
// loudly with the reason.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export function unavailable(reason: string): true {
  if (process.env.CI === 'true') throw new Error(`interop oracle missing under CI: ${reason}`);
  console.warn(`SKIPPED interop test: ${reason}`);
  return true;
}

/** null when Python with securesystemslib is available, else the reason. */
export function pythonMissing(): string | null {
  const r = spawnSync('python3', ['-c', 'import securesystemslib.dsse, securesystemslib.signer'], { encoding: 'utf8' });
  if (r.error) return `python3 not found (${r.error.message})`;
  if (r.status !== 0) return `securesystemslib is not installed (pip install 'securesystemslib[crypto]'): ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

export function runPython(script: string, input: unknown): unknown {
  const r = spawnSync('python3', [resolve(__dirname, script)], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const GO = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';

/** Builds test/interop/go into a temp dir: the binary path, or the reason it cannot be built. Async: a
 *  long synchronous build would starve the test worker's event loop. */
export async function buildGoOracle(): Promise<{ bin?: string; missing?: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'omni-go-')), 'interop');
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'omni-go-cache') };
  return new Promise((done) => {
    execFile(GO, ['build', '-o', out, '.'], { cwd: resolve(__dirname, 'go'), env }, (err, _stdout, stderr) => {
      if (!err) return done({ bin: out });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return done({ missing: `Go not found (${err.message})` });
      done({ missing: `the Go oracle does not build (module proxy unreachable?): ${String(stderr).trim().split('\n').slice(-2).join(' ')}` });
    });
  });
}

export function runGo(bin: string, reqs: unknown[]): { ok: boolean; error?: string; [k: string]: unknown }[] {
  const r = spawnSync(bin, [], { input: JSON.stringify(reqs), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Go oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
