import { invalidArgument } from '../../errors.js';

/** A parsed `host:port` (IPv6 hosts in brackets: `[::1]:8080`). */
export interface HostPort {
  host: string;
  port: number;
}

// Hostnames, IPv4 literals, and (inside brackets) IPv6 literals.
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/**
 * Parses `host:port` the way Toxiproxy's users write it. The host is required
 * (an empty host would mean every interface: say `0.0.0.0:PORT` or `[::]:PORT`
 * explicitly). `minPort` is 0 for listen addresses (ephemeral) and 1 for upstreams.
 */
export function parseHostPort(arg: string, value: unknown, minPort: 0 | 1): HostPort {
  if (typeof value !== 'string') throw invalidArgument(arg, `expected a 'host:port' string, got ${typeof value}`);
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw invalidArgument(arg, `expected 'host:port' (IPv6 as '[::1]:port'), got ${JSON.stringify(value)}`);
  const host = m[1] ?? m[2];
  if (host === '') throw invalidArgument(arg, `the host is empty in ${JSON.stringify(value)} (write 127.0.0.1, or 0.0.0.0 for every interface)`);
  if (m[1] !== undefined ? !IPV6.test(host) : !HOSTNAME.test(host)) {
    throw invalidArgument(arg, `${JSON.stringify(host)} is not a valid host name or IP address`);
  }
  const port = Number(m[3]);
  if (port < minPort || port > 65535) throw invalidArgument(arg, `port ${port} is outside ${minPort}..65535`);
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
