/**
 * The part of an AbortSignal the public options use, spelled out structurally so the published
 * declarations do not need the global `AbortSignal` (from @types/node or lib.dom) to type-check.
 * A real AbortSignal satisfies it; the runtime validators still require a real one.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
