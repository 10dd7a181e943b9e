/**
 * The generated addon loader (bindings/, produced by `napi build`). Every
 * module reaches native code through this one import.
 */
import * as binding from '../bindings/index.js';

export const native = binding;
export type Native = typeof binding;
