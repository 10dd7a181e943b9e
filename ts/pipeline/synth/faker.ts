/**
 * Faker fields: realistic names, emails, addresses from `@faker-js/faker`, run
 * in JavaScript (Faker is a JS library) with one Faker instance per field
 * seeded from (seed, table, field), so each field is reproducible on its own.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { en, Faker } from '@faker-js/faker';
import { ErrorCodes, OmniError, invalidArgument } from '../../errors.js';

/** FNV-1a over the parts, folded to 32 bits: Faker's seed is a 32-bit integer. */
export function fieldSeed(seed: number, table: string, field: string): number {
  let h = 0x811c9dc5;
  for (const part of [String(seed), table, field]) {
    for (let i = 0; i < part.length; i++) {
      h ^= part.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h = Math.imul(h ^ 0xff, 0x01000193) >>> 0;
  }
  return h;
}

type FakerFn = () => unknown;

/** The faker method at `path` (e.g. `person.fullName`) bound to `f`, or an error naming `arg`. */
export function fakerMethod(arg: string, f: Faker, path: string): FakerFn {
  const parts = path.split('.');
  let owner: unknown = f;
  for (const p of parts.slice(0, -1)) owner = (owner as Record<string, unknown> | undefined)?.[p];
  const fn = (owner as Record<string, unknown> | undefined)?.[parts[parts.length - 1]];
  if (parts.length < 2 || typeof fn !== 'function') throw invalidArgument(arg, `unknown faker method '${path}' (e.g. person.fullName, internet.email)`);
  return () => (fn as (...a: unknown[]) => unknown).call(owner);
}

/** Checks every faker method of a schema exists before anything is generated. */
export function checkFakerMethod(arg: string, path: string): void {
  fakerMethod(arg, new Faker({ locale: [en] }), path);
}

/** Rows generated between two yields to the event loop (Faker is synchronous JS, ~10 µs a value). */
const SLICE = 4096;

/**
 * `rows` values of a faker field; null where `nulls[i] === 1`; distinct non-null values when
 * `unique`. Yields to the event loop every `SLICE` rows so a large column never blocks it.
 */
export async function fakerColumn(at: string, method: string, rows: number, seed: number, unique: boolean, nulls?: Uint8Array): Promise<(string | null)[]> {
  const f = new Faker({ locale: [en] });
  f.seed(seed);
  const gen = fakerMethod(`${at}.gen.method`, f, method);
  const out: (string | null)[] = new Array(rows);
  const seen = unique ? new Set<string>() : undefined;
  let budget = rows * 50 + 1000;
  for (let i = 0; i < rows; i++) {
    if (i % SLICE === SLICE - 1) await yieldToLoop();
    if (nulls?.[i] === 1) {
      out[i] = null;
      continue;
    }
    let v = String(gen());
    if (seen) {
      while (seen.has(v)) {
        if (--budget < 0) throw new OmniError(ErrorCodes.LIMIT, `${at}: faker ${method} did not yield ${rows} distinct values`);
        v = String(gen());
      }
      seen.add(v);
    }
    out[i] = v;
  }
  return out;
}
