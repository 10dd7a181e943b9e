/**
 * `npm run bench [-- system...]`: runs each bench/<system>.ts in its own
 * process (one system's failure does not hide the others' figures).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv.slice(2);
const systems = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(f))
  .map((f) => f.slice(0, -3))
  .filter((s) => only.length === 0 || only.includes(s));

let failed = 0;
for (const s of systems) {
  console.log(`\n=== bench: ${s} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, `${s}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${s} failed with status ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
