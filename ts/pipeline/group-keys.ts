/**
 * Group keys -> dense group ids for the native window operator, one native
 * call per batch for number keys (the Rust `KeyDictionary`: a direct-indexed
 * table for small non-negative integers, a hash map otherwise). A per-row
 * JavaScript dictionary was the largest cost of a batch group-by.
 *
 * Keys compare as a `Map`'s do (SameValueZero: -0 is 0, NaN is one key).
 * Other keys (strings, composite JSON keys, null) stay in a JS `Map` and take
 * their ids from the same native counter, so `values[id]` is every key's
 * first-seen value and ids follow first appearance (the order groups are
 * emitted in).
 */
import { callNative } from '../errors.js';
import { native, type PipelineKeyDictionary } from '../native.js';

export class GroupKeys {
  /** @internal The native dictionary (the fused expression path encodes through it). */
  readonly dict: PipelineKeyDictionary = callNative(() => new native.PipelineKeyDictionary());
  private readonly others = new Map<unknown, number>();
  /** Key value by id. */
  readonly values: unknown[] = [];
  /** While every key is a number: the values again as doubles (a typed gather per window batch, see `numbersOf`). */
  private numeric: Float64Array | null = new Float64Array(64);

  /** Ids of a key column (typed or not) into `out` (same length). */
  encode(col: ArrayLike<unknown>, out: Uint32Array): void {
    if (col instanceof Uint32Array) this.add(callNative(() => this.dict.encodeU32(col, out)));
    else if (col instanceof Float64Array) this.add(callNative(() => this.dict.encodeF64(col, out)));
    else if (ArrayBuffer.isView(col)) this.encodeNumbers(Float64Array.from(col as ArrayLike<number>), out, 0);
    else this.encodeMixed(col, out);
  }

  /** @internal Records keys the native dictionary added (in id order). */
  add(added: Float64Array) {
    const at = this.values.length;
    for (let i = 0; i < added.length; i++) this.values.push(added[i]);
    if (this.numeric) {
      if (this.numeric.length < this.values.length) {
        const grown = new Float64Array(Math.max(this.values.length, this.numeric.length * 2));
        grown.set(this.numeric);
        this.numeric = grown;
      }
      this.numeric.set(added, at);
    }
  }

  /** The values of `ids` as doubles, or null when some key is not a number. */
  numbersOf(ids: Uint32Array): Float64Array | null {
    const num = this.numeric;
    if (!num) return null;
    const out = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = num[ids[i]];
    return out;
  }

  private encodeNumbers(keys: Float64Array, out: Uint32Array, at: number) {
    this.add(callNative(() => this.dict.encodeF64(keys, out.subarray(at, at + keys.length))));
  }

  /** Runs of numbers go native in one call each; other keys one by one, in order, so ids follow first appearance. */
  private encodeMixed(col: ArrayLike<unknown>, out: Uint32Array) {
    const len = col.length;
    let i = 0;
    while (i < len) {
      let j = i;
      while (j < len && typeof col[j] === 'number') j++;
      if (j > i) {
        const run = new Float64Array(j - i);
        for (let k = i; k < j; k++) run[k - i] = col[k] as number;
        this.encodeNumbers(run, out, i);
      }
      for (i = j; i < len && typeof col[i] !== 'number'; i++) {
        const v = col[i];
        let id = this.others.get(v);
        if (id === undefined) {
          id = callNative(() => this.dict.reserve());
          this.others.set(v, id);
          this.values.push(v);
          this.numeric = null;
        }
        out[i] = id;
      }
    }
  }
}
