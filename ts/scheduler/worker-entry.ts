/** Where worker threads come from: the task module spec and the worker entry file. */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path (or URL) of the task module, as workers import it. */
export function specOf(tasks: string | URL): string {
  if (tasks instanceof URL) return tasks.protocol === 'file:' ? fileURLToPath(tasks) : tasks.href;
  if (tasks.startsWith('file:')) return fileURLToPath(tasks);
  return path.resolve(tasks);
}

/** The worker script (compiled), or a tsx bootstrap when running from the TypeScript sources. */
export function workerEntry(): { file: string; eval: boolean } {
  const dir = path.dirname(__filename);
  if (!__filename.endsWith('.ts')) return { file: path.join(dir, 'worker.js'), eval: false };
  // Running from TypeScript sources (tests, tsx): load the worker through tsx.
  const req = createRequire(__filename);
  const tsx = req.resolve('tsx/cjs');
  return { file: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(path.join(dir, 'worker.ts'))});`, eval: true };
}
