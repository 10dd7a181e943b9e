/**
 * The addon returns Node Buffers from its scheduler and channel calls, but declares them as
 * Uint8Array so that the published declarations need no @types/node (issue 11 item 21). The
 * scheduler's own decoders use Buffer's read methods, so they take the value back as a Buffer.
 */
export function asBuffer(b: Uint8Array | null): Buffer | null {
  return b as Buffer | null;
}
