import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs a Python script of this folder and parses its JSON output. Without Python or the package
 *  it needs, the suite is skipped loudly outside CI and fails under CI=true (.ci/run installs it). */
export function runPython<T>(script: string, needs: string): T | undefined {
  const probe = spawnSync('python3', ['-c', `import ${needs}`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = `python3 with '${needs}' is not available (pip install ${needs === 'sklearn' ? 'scikit-learn' : needs}): ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}`;
    if (process.env.CI === 'true') throw new Error(`oracle missing under CI: ${why}`);
    console.warn(`\n*** SKIPPING ${script}-based tests: ${why} ***\n`);
    return undefined;
  }
  const r = spawnSync('python3', [join(__dirname, script)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
