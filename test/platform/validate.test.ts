import { describe, expect, it } from 'vitest';
import { OmniError } from '../../ts/errors.js';
import { packBytes, unpackBytes } from '../../ts/validate.js';

/** The one "data + ends" packing every batch call uses to cross N-API. */
describe('packBytes / unpackBytes', () => {
  it('round-trip items of every size, including empty ones', () => {
    const items = [new Uint8Array(0), Uint8Array.of(1), new Uint8Array(300).fill(7), new Uint8Array(0), Uint8Array.of(2, 3)];
    const { data, ends } = packBytes('items', items);
    expect(Array.from(ends)).toEqual([0, 1, 301, 301, 303]);
    expect(data.byteLength).toBe(303);
    const back = unpackBytes(data, ends);
    expect(back.map((b) => Array.from(b))).toEqual(items.map((b) => Array.from(b)));
    // Views, not copies.
    expect(back[2].buffer).toBe(data.buffer);
  });

  it('an empty batch packs to nothing', () => {
    const { data, ends } = packBytes('items', []);
    expect(data.byteLength).toBe(0);
    expect(ends.length).toBe(0);
    expect(unpackBytes(data, ends)).toEqual([]);
  });

  it('offsets out of order or past the data are an internal error, never a silent short view', () => {
    const data = new Uint8Array(4);
    for (const ends of [[3, 2], [5]]) {
      let err: unknown;
      try {
        unpackBytes(data, ends);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OmniError);
      expect((err as OmniError).code).toBe('ERR_OMNI_INTERNAL');
    }
  });
});
