// `npm run lint`: every lint gate, all of them even when one fails, then a
// summary; exits non-zero when any failed. `npm test` runs the same gates.
import { spawnSync } from 'node:child_process';
import { lintSteps } from './lint-steps.mjs';

const root = new URL('..', import.meta.url).pathname;
const failed = [];
for (const step of lintSteps) {
  console.log(`\n== ${step.name}`);
  const r = spawnSync(step.cmd, step.args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed.push(step);
}
for (const step of failed) console.error(`lint: ${step.name} failed (to fix: ${step.fix})`);
console.log(failed.length ? `lint: ${failed.length} of ${lintSteps.length} gates failed` : `lint: all ${lintSteps.length} gates pass`);
process.exit(failed.length ? 1 : 0);
