/**
 * The generated addon loader (bindings/, produced by `napi build`). Every
 * module reaches native code through this one import, and takes the
 * generated types of native values (`LedgerCheckpoint`, ...) from here.
 */
import * as binding from '../bindings/index.js';

export type * from '../bindings/index.js';

export const native = binding;
export type Native = typeof binding;
