/**
 * End to end in a network namespace: an attacker namespace brute-forces a
 * login service behind a veth pair; the service logs failures, the autoblocker
 * tails the log, bans with the jail's bantime and enforces in XDP on the
 * service side: the attacker's packets are dropped, and pass again once the
 * ban ends. Everything the test creates is removed in finally.
 */
import { exec } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Autoblocker, xdpEnforcer, type Decision } from '../../ts/autoblock/index.js';
import { xdp } from '../../ts/kernel/index.js';
import { sh, skipReason } from '../kernel/env.js';

const run = promisify(exec);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const syslogNow = () => {
  const d = new Date();
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
};
const FILTER = `[Definition]
failregex = ^\\s*\\S+ login\\[\\d+\\]: authentication failure for <F-USER>\\S+</F-USER> from <HOST>$
`;

describe.skipIf(skipReason)('omnitide/autoblock end to end in network namespaces', () => {
  it('an attacker namespace brute-forcing the service is dropped by XDP within the window and passes after bantime', async () => {
    const tag = `${process.pid % 100000}`;
    const ns = `omni-ab-${process.pid}`;
    const host = `oab${tag}h`;
    const peer = `oab${tag}p`;
    const octet = 50 + (process.pid % 150);
    const hostIp = `10.216.${octet}.1`;
    const peerIp = `10.216.${octet}.2`;
    const dir = mkdtempSync(join(tmpdir(), 'omni-ab-e2e-'));
    const log = join(dir, 'auth.log');
    writeFileSync(log, '');
    let ab: Autoblocker | undefined;
    let filter: ReturnType<typeof xdp.attach> | undefined;
    const server = createServer((req, res) => {
      const user = new URL(req.url ?? '/', 'http://x').searchParams.get('u') ?? '-';
      appendFileSync(log, `${syslogNow()} srv login[42]: authentication failure for ${user} from ${req.socket.remoteAddress}\n`);
      res.statusCode = 401;
      res.end('no\n');
    });
    try {
      sh(`ip netns add ${ns}; ip link add ${host} type veth peer name ${peer}; ip link set ${peer} netns ${ns};
          ip addr add ${hostIp}/24 dev ${host}; ip link set ${host} up;
          ip -n ${ns} addr add ${peerIp}/24 dev ${peer}; ip -n ${ns} link set ${peer} up; ip -n ${ns} link set lo up`);
      await new Promise<void>((r) => server.listen(0, hostIp, () => r()));
      const port = (server.address() as { port: number }).port;
      filter = xdp.attach({ iface: host });
      ab = await Autoblocker.open(join(dir, 'state'), {
        insecurePlaintext: true,
        domain: 'service',
        jails: [{ name: 'login', filter: { text: FILTER }, maxretry: 3, findtime: 60, bantime: 3 }],
        enforcers: [xdpEnforcer(filter)],
      });
      await ab.tail(log, { pollMs: 50 });
      const banned = new Promise<Decision>((r) => ab!.once('decision', r));
      const ended = new Promise<Decision>((r) => ab!.once('expired', r));
      const attempt = async () => (await run(`ip netns exec ${ns} curl -s -o /dev/null -w '%{http_code}' -m 1 'http://${hostIp}:${port}/login?u=root' || true`)).stdout.trim();
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) codes.push(await attempt());
      expect(codes).toEqual(['401', '401', '401']);
      const d = await banned;
      expect(d).toMatchObject({ action: 'ban', value: peerIp, origin: 'jail:login' });
      expect(filter.listBlocked()).toContain(`${peerIp}/32`);
      expect(await attempt()).toBe('000'); // dropped before the stack: curl times out
      expect(filter.stats().blocked.packets).toBeGreaterThan(0);
      expect((await ended).id).toBe(d.id);
      expect(filter.listBlocked()).toEqual([]);
      expect(await attempt()).toBe('401');
      expect((await ab.verify(d.id)).valid).toBe(true);
    } finally {
      await ab?.close();
      try {
        filter?.detach();
      } catch {
        // already detached
      }
      await new Promise((r) => server.close(r));
      sh(`ip link del ${host} 2>/dev/null || true; ip netns del ${ns} 2>/dev/null || true`);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
