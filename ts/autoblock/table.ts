/**
 * The decisions in force, answering "is this address blocked?" in O(1): one
 * hash lookup for the address and one per distinct prefix length in use.
 * Allow decisions and the allowlist win over bans.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Decision } from './decision.js';

function v4ToInt(ip: string): number {
  const p = ip.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}
function intToV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
function v6ToBig(ip: string): bigint {
  let [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  let n = 0n;
  for (const g of [...h, ...fill, ...t]) n = (n << 16n) | BigInt(parseInt(g || '0', 16));
  return n;
}
function bigToV6(n: bigint): string {
  const g: string[] = [];
  for (let i = 7; i >= 0; i--) g.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return g.join(':');
}

/** Canonical form of an address (IPv4-mapped IPv6 becomes IPv4; IPv6 fully expanded); null if not an address. */
export function canonicalIp(ip: string): string | null {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) {
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (m) return m[1];
    return bigToV6(v6ToBig(ip));
  }
  return null;
}

/** Canonical `network/len` of a CIDR; null if malformed. */
export function canonicalCidr(cidr: string): string | null {
  const [a, l] = cidr.split('/');
  const len = Number(l);
  if (!Number.isInteger(len) || l === undefined || l === '') return null;
  if (isIPv4(a) && len >= 0 && len <= 32) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return `${intToV4((v4ToInt(a) & mask) >>> 0)}/${len}`;
  }
  if (isIPv6(a) && len >= 0 && len <= 128) {
    const mask = len === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n);
    return `${bigToV6(v6ToBig(a) & mask)}/${len}`;
  }
  return null;
}

/** Canonical scope value (`ip`, `range`, `user:`), or null when malformed. */
export function canonicalValue(scope: string, value: string): string | null {
  if (scope === 'user') return value.startsWith('user:') && value.length > 5 ? value : null;
  if (scope === 'ip') return canonicalIp(value);
  if (scope === 'range') return canonicalCidr(value);
  return null;
}

export class DecisionTable {
  /** canonical value -> decision in force */
  readonly #byValue = new Map<string, Decision>();
  readonly #lensV4 = new Map<number, number>();
  readonly #lensV6 = new Map<number, number>();

  get size(): number {
    return this.#byValue.size;
  }

  get(value: string): Decision | undefined {
    return this.#byValue.get(value);
  }

  values(): IterableIterator<Decision> {
    return this.#byValue.values();
  }

  set(key: string, d: Decision): Decision | undefined {
    const prev = this.#byValue.get(key);
    this.#byValue.set(key, d);
    if (!prev && d.scope === 'range') this.#count(key, 1);
    return prev;
  }

  delete(key: string): Decision | undefined {
    const prev = this.#byValue.get(key);
    if (!prev) return undefined;
    this.#byValue.delete(key);
    if (prev.scope === 'range') this.#count(key, -1);
    return prev;
  }

  #count(cidr: string, by: number): void {
    const len = Number(cidr.split('/')[1]);
    const m = cidr.includes(':') ? this.#lensV6 : this.#lensV4;
    const n = (m.get(len) ?? 0) + by;
    if (n <= 0) m.delete(len);
    else m.set(len, n);
  }

  /** The decision that applies to an address: an allow wins, then the most specific ban/throttle. */
  lookup(ip: string): Decision | undefined {
    const c = canonicalIp(ip);
    if (c === null) return undefined;
    let found: Decision | undefined = this.#byValue.get(c);
    if (found?.action === 'allow') return found;
    if (c.includes(':')) {
      if (this.#lensV6.size) {
        const n = v6ToBig(c);
        for (const len of this.#lensV6.keys()) {
          const mask = len === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n);
          const d = this.#byValue.get(`${bigToV6(n & mask)}/${len}`);
          if (d?.action === 'allow') return d;
          found ??= d;
        }
      }
    } else if (this.#lensV4.size) {
      const n = v4ToInt(c);
      for (const len of this.#lensV4.keys()) {
        const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
        const d = this.#byValue.get(`${intToV4((n & mask) >>> 0)}/${len}`);
        if (d?.action === 'allow') return d;
        found ??= d;
      }
    }
    return found;
  }
}
