/**
 * Enforcement points. An enforcer applies a decision in force and removes it
 * when it ends (expiry, unban, close): the XDP blocklist and rate limits of
 * `omnitide/kernel`, an nftables set, and — for hosts without root — HTTP
 * middleware for node:http, Express and Fastify that answers in O(1).
 */
import { spawnSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { XdpFilter } from '../kernel/index.js';
import { invalidArgument } from '../errors.js';
import type { Decision } from './decision.js';

export interface Enforcer {
  readonly name: string;
  apply(d: Decision): Promise<void> | void;
  remove(d: Decision): Promise<void> | void;
  /** removes everything this enforcer put in place */
  close?(): Promise<void> | void;
}

const DEFAULT_RATE = { pps: 10, burst: 20 };

/** Bans and throttles in an `omnitide/kernel` XDP filter; `close()` removes every entry it wrote. */
export function xdpEnforcer(filter: XdpFilter): Enforcer {
  const blocked = new Set<string>();
  const limited = new Set<string>();
  const cidrOf = (d: Decision) => (d.scope === 'ip' ? (d.value.includes(':') ? `${d.value}/128` : `${d.value}/32`) : d.value);
  return {
    name: 'xdp',
    async apply(d) {
      if (d.scope === 'user' || d.action === 'allow') return;
      const cidr = cidrOf(d);
      if (d.action === 'throttle') {
        filter.setRateLimit({ cidr, ...(d.rate ?? DEFAULT_RATE) });
        limited.add(cidr);
      } else {
        await filter.block([cidr]);
        blocked.add(cidr);
      }
    },
    remove(d) {
      if (d.scope === 'user' || d.action === 'allow') return;
      const cidr = cidrOf(d);
      if (blocked.delete(cidr)) filter.unblock([cidr]);
      if (limited.delete(cidr)) filter.clearRateLimit(cidr);
    },
    close() {
      if (blocked.size) filter.unblock([...blocked]);
      for (const c of limited) filter.clearRateLimit(c);
      blocked.clear();
      limited.clear();
    },
  };
}

export interface NftablesOptions {
  /** table name (family inet); created with its sets and an input-hook chain unless `createTable` is false */
  table?: string;
  createTable?: boolean;
  /** run inside this network namespace (`ip netns exec`) */
  netns?: string;
}

/**
 * Writes bans into nftables sets (`blocklist4`/`blocklist6`, interval sets with
 * timeouts so the kernel also expires them). `close()` deletes the table it created.
 */
export function nftablesEnforcer(opts: NftablesOptions = {}): Enforcer {
  const table = opts.table ?? 'omnitide_autoblock';
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(table)) throw invalidArgument('opts.table', 'expected an identifier of up to 32 characters');
  const run = (script: string) => {
    const [cmd, args] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, 'nft', '-f', '-']] : ['nft', ['-f', '-']];
    const r = spawnSync(cmd, args, { input: script, encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`nft: ${r.error?.message ?? r.stderr.trim()}`);
  };
  let created = false;
  const ensure = () => {
    if (created || opts.createTable === false) return;
    run(
      `table inet ${table} {
  set blocklist4 { type ipv4_addr; flags interval, timeout; }
  set blocklist6 { type ipv6_addr; flags interval, timeout; }
  chain input { type filter hook input priority -10; policy accept; ip saddr @blocklist4 drop; ip6 saddr @blocklist6 drop; }
}\n`,
    );
    created = true;
  };
  const element = (d: Decision) => {
    const set = d.value.includes(':') ? 'blocklist6' : 'blocklist4';
    return { set, value: d.value };
  };
  return {
    name: 'nftables',
    apply(d) {
      if (d.scope === 'user' || d.action !== 'ban') return;
      ensure();
      const { set, value } = element(d);
      const timeout = d.expiresAt === null ? '' : ` timeout ${Math.max(1, Math.ceil((d.expiresAt - Date.now()) / 1000))}s`;
      run(`add element inet ${table} ${set} { ${value}${timeout} }\n`);
    },
    remove(d) {
      if (d.scope === 'user' || d.action !== 'ban' || !created) return;
      const { set, value } = element(d);
      try {
        run(`delete element inet ${table} ${set} { ${value} }\n`);
      } catch {
        // already expired in the kernel
      }
    },
    close() {
      if (created) run(`delete table inet ${table}\n`);
      created = false;
    },
  };
}

/** What the middleware needs: an O(1) lookup of the decision applying to an address. */
export interface Lookup {
  lookup(ip: string): Decision | undefined;
}

export interface MiddlewareOptions {
  /** status for bans (default 403) */
  status?: number;
  /** read the client address from X-Forwarded-For's first entry (only behind a trusted proxy) */
  trustProxy?: boolean;
}

class TokenBuckets {
  readonly #b = new Map<string, { tokens: number; at: number }>();
  take(key: string, pps: number, burst: number, now: number): boolean {
    let b = this.#b.get(key);
    if (!b) {
      if (this.#b.size > 100_000) this.#b.clear();
      b = { tokens: burst, at: now };
      this.#b.set(key, b);
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * pps);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function clientIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.socket?.remoteAddress;
}

/**
 * `(req, res, next?)`: answers 403 (ban) or 429 (throttle over its rate) and
 * returns true when it answered; otherwise calls `next()` (Express) and returns false.
 */
export function httpMiddleware(table: Lookup, opts: MiddlewareOptions = {}) {
  const status = opts.status ?? 403;
  const buckets = new TokenBuckets();
  return function autoblockMiddleware(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): boolean {
    const ip = clientIp(req, opts.trustProxy ?? false);
    const d = ip === undefined ? undefined : table.lookup(ip);
    if (d && d.action === 'ban') {
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain');
      res.setHeader('connection', 'close');
      res.end('blocked\n');
      return true;
    }
    if (d && d.action === 'throttle' && ip !== undefined) {
      const r = d.rate ?? DEFAULT_RATE;
      if (!buckets.take(ip, r.pps, r.burst, Date.now())) {
        res.statusCode = 429;
        res.setHeader('retry-after', '1');
        res.end('too many requests\n');
        return true;
      }
    }
    next?.();
    return false;
  };
}

/** A Fastify `onRequest` hook doing the same. */
export function fastifyHook(table: Lookup, opts: MiddlewareOptions = {}) {
  const mw = httpMiddleware(table, opts);
  return function autoblockHook(request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack?: () => void }, done: (err?: Error) => void): void {
    if (mw(request.raw, reply.raw)) {
      reply.hijack?.();
      return;
    }
    done();
  };
}
