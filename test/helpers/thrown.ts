import { expect } from 'vitest';
import { OmniError } from '../../ts/errors.js';

/** The OmniError `f` throws (the test fails if it returns, or throws anything else). */
export function thrown(f: () => unknown): OmniError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OmniError);
    return e as OmniError;
  }
  throw new Error('expected a throw');
}

/** The OmniError `p` rejects with (the test fails if it resolves, or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<OmniError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OmniError);
    return e as OmniError;
  }
  throw new Error('expected a rejection');
}
