/** 32-bit FNV-1a of the key's text mod `partitions`: stable across processes and hosts. */
export function partitionOf(key: unknown, partitions: number): number {
  const s = typeof key === 'string' ? key : (JSON.stringify(key) ?? String(key));
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}
