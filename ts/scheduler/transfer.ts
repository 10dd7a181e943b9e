/** Task inputs: transfer lists (ownership moves of ArrayBuffers). */
import { ErrorCodes } from '../errors.js';
import { omni } from './errors.js';

/** Validates a transfer list (before anything is queued). */
export function checkTransfer(list: unknown[] | undefined): ArrayBuffer[] | undefined {
  if (!list || list.length === 0) return undefined;
  const seen = new Set<ArrayBuffer>();
  list.forEach((b, i) => {
    if (!(b instanceof ArrayBuffer)) {
      const what = b instanceof SharedArrayBuffer ? 'a SharedArrayBuffer (shared, never moved)' : ArrayBuffer.isView(b) ? 'a view (list its .buffer)' : typeof b;
      throw omni(ErrorCodes.INVALID_ARGUMENT, `options.transfer[${i}]: expected an ArrayBuffer, got ${what}`);
    }
    if (seen.has(b)) throw omni(ErrorCodes.INVALID_ARGUMENT, `options.transfer[${i}]: the same ArrayBuffer is listed twice`);
    try {
      new Uint8Array(b);
    } catch {
      throw omni(ErrorCodes.INVALID_ARGUMENT, `options.transfer[${i}]: the ArrayBuffer is already detached`);
    }
    seen.add(b);
  });
  return [...seen];
}

/** Detaches the listed buffers in this thread (their contents were captured already). */
export function detach(list: ArrayBuffer[] | undefined): void {
  if (!list) return;
  for (const b of list) {
    try {
      structuredClone(b, { transfer: [b] });
    } catch {
      /* marked untransferable by Node (e.g. the Buffer pool): stays attached */
    }
  }
}
