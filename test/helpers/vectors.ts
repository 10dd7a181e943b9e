import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `../shared/vectors` beside the project root. */
export const VECTORS_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'vectors');

/**
 * Loads a shared vector file. Outside CI a missing folder skips the suite
 * (returns undefined); under CI=true it is a failure, never a silent skip.
 */
export function loadVectors<T>(name: string): T | undefined {
  const path = join(VECTORS_DIR, name);
  if (!existsSync(path)) {
    if (process.env.CI === 'true') throw new Error(`test vectors missing under CI: ${path}`);
    console.warn(`\n*** SKIPPING vector tests: ${path} not found ***\n`);
    return undefined;
  }
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
