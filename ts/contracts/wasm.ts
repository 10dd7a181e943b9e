/**
 * The WebAssembly target of omnitide/contracts. The module is emitted by the native crate
 * (wasm-encoder) and decides requests on its own; this file only places encoded inputs in
 * its memory and calls its exports. ABI (crates/contracts/src/wasm/mod.rs and abi.rs):
 * exports `memory`, `heap`, `alloc(n)`, `free(ptr)`, `load(store)`, `authorize(req)`,
 * `policy(i, req)`; custom section `omnitide.policies` = JSON array of {id, effect}. Inputs are
 * encoded by the crate for the address they will occupy (`heap` at the time), so any wasm
 * runtime can replay the same bytes at the same addresses.
 */
import { callNative, invalidArgument, OmniError } from '../errors.js';
import { native } from '../native.js';

/** The part of the WebAssembly JS API used here (the project's `lib` has no DOM/wasm typings). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WebAssemblyApi {
  Module: { new (bytes: Uint8Array): WasmModule; customSections(m: WasmModule, name: string): ArrayBuffer[] };
  instantiate(m: WasmModule, imports: object): Promise<{ exports: object }>;
}
export const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export interface WasmExports {
  memory: { buffer: ArrayBuffer };
  heap: { value: number };
  alloc(n: number): number;
  free(ptr: number): void;
  load(store: number): number;
  authorize(req: number): number;
  policy(i: number, req: number): number;
}

export interface PolicyInfo {
  id: string;
  effect: 'permit' | 'forbid';
}

/** Policy ids and effects from the module's `omnitide.policies` custom section. */
export function policies(mod: WasmModule): PolicyInfo[] {
  const [sec] = WA.Module.customSections(mod, 'omnitide.policies');
  if (sec === undefined) throw invalidArgument('module', 'has no omnitide.policies section (not compiled by omnitide/contracts)');
  return JSON.parse(Buffer.from(sec).toString('utf8')) as PolicyInfo[];
}

/** Copies `encode(base)` to the module's heap top; returns its address (kept until `free`). */
export function place(x: WasmExports, encode: (base: number) => Uint8Array): number {
  const base = x.heap.value;
  const bytes = encode(base);
  const p = x.alloc(bytes.length);
  if (p === 0) throw new OmniError('ERR_OMNI_LIMIT', `wasm: cannot allocate ${bytes.length} bytes in the module's memory`);
  if (p !== base) throw new OmniError('ERR_OMNI_INTERNAL', `wasm: alloc returned ${p}, expected the heap top ${base}`);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  return p;
}

/** Address of request `i` in a request blob at `blob`. */
export function requestAt(x: WasmExports, blob: number, i: number): number {
  return new DataView(x.memory.buffer).getUint32(blob + 8 + 4 * i, true);
}

export function encodeStore(entitiesJson: string, base: number): Uint8Array {
  return callNative(() => native.contractsWasmEncodeStore(entitiesJson, base));
}
export function encodeRequests(requestsJson: string, base: number): Uint8Array {
  return callNative(() => native.contractsWasmEncodeRequests(requestsJson, base));
}
export function compileWasmBytes(src: string, file: string): Uint8Array {
  return callNative(() => native.contractsCompileWasm(src, file));
}
