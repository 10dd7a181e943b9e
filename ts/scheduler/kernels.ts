/**
 * Native kernels of a `Scheduler`: BLAKE3 of files and Ed25519 batch
 * verification run on the scheduler's native pool and never touch JS, so they
 * work without a task module and keep working when the task module failed to
 * load.
 */
import { callNativeAsync, invalidArgument, OmniError, type OmniErrorCode } from '../errors.js';
import { native } from '../native.js';
import { bytes, bytesOfLength, describe, packBytes } from '../validate.js';

/** One file of `hashFiles`: its hash, or why it has none. Check `ok` (no `instanceof` needed). */
export type HashFileResult = { ok: true; hash: Uint8Array } | { ok: false; error: OmniError };

export interface VerifyItem {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

/** Counts of what the kernels did (reported by `Scheduler.stats().native`). */
export interface NativeKernelStats {
  /** Items processed successfully (files hashed, signatures checked). */
  completed: number;
  /** Items that failed (a file that could not be hashed, a batch that was rejected). */
  failed: number;
}

/** @internal `Scheduler.native`: `check` throws when the scheduler is closed. */
export class NativeKernels {
  readonly #id: number;
  readonly #check: () => void;
  readonly #stats: NativeKernelStats = { completed: 0, failed: 0 };

  constructor(id: number, check: () => void) {
    this.#id = id;
    this.#check = check;
  }

  /** @internal */
  stats(): NativeKernelStats {
    return { ...this.#stats };
  }

  /**
   * BLAKE3 of many files, one native task per file. `result[i]` is
   * `{ ok: true, hash }` or `{ ok: false, error }` for `paths[i]`; one bad
   * path never fails the others.
   */
  hashFiles = async (paths: string[]): Promise<HashFileResult[]> => {
    this.#check();
    if (!Array.isArray(paths)) throw invalidArgument('paths', `expected an array of strings, got ${describe(paths)}`);
    paths.forEach((p, i) => {
      if (typeof p !== 'string') throw invalidArgument(`paths[${i}]`, `expected a string, got ${describe(p)}`);
    });
    const r = await callNativeAsync(() => native.schedHashFiles(this.#id, paths));
    const out = paths.map((_, i): HashFileResult => ({ ok: true, hash: new Uint8Array(r.hashes.buffer, r.hashes.byteOffset + i * 32, 32) }));
    for (const f of r.failures) out[f.index] = { ok: false, error: new OmniError(f.code as OmniErrorCode, f.message) };
    this.#stats.completed += paths.length - r.failures.length;
    this.#stats.failed += r.failures.length;
    return out;
  };

  /** Ed25519 batch verification on the native pool (`result[i]` for `items[i]`). */
  verifyBatch = async (items: VerifyItem[], options: { mode?: 'strict' | 'zip215' } = {}): Promise<boolean[]> => {
    this.#check();
    if (!Array.isArray(items)) throw invalidArgument('items', `expected an array, got ${describe(items)}`);
    const n = items.length;
    const sig = new Uint8Array(n * 64);
    const pk = new Uint8Array(n * 32);
    const msgs: Uint8Array[] = new Array(n);
    items.forEach((it, i) => {
      if (it === null || typeof it !== 'object') throw invalidArgument(`items[${i}]`, `expected an object, got ${describe(it)}`);
      sig.set(bytesOfLength(`items[${i}].signature`, it.signature, 64), i * 64);
      pk.set(bytesOfLength(`items[${i}].publicKey`, it.publicKey, 32), i * 32);
      msgs[i] = bytes(`items[${i}].message`, it.message);
    });
    const { data, ends } = packBytes('items', msgs);
    try {
      const ok = await callNativeAsync(() => native.schedVerifyBatch(this.#id, sig, data, ends, pk, options.mode));
      this.#stats.completed += n;
      return ok;
    } catch (e) {
      this.#stats.failed += n;
      throw e;
    }
  };

  /** Runs `n` empty native tasks (measures per-task overhead). */
  noop = (n: number): Promise<number> => {
    this.#check();
    return callNativeAsync(() => native.schedNoop(this.#id, n));
  };
}
