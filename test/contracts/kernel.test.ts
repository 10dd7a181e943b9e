// Kernel target: source-range forbids -> XDP blocklist, per-source rate limits -> XDP token
// buckets, port forbids -> cgroup connect policy; what the kernel cannot enforce is reported
// with its position. The XDP part runs on a veth pair into a network namespace the test creates.
import { execSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as c from '../../ts/contracts/index.js';
import { cgroup, type Cgroup, xdp } from '../../ts/kernel/index.js';
import { thrown } from '../helpers/thrown.js';
import { removePins, skipReason } from '../kernel/env.js';

const sh = (cmd: string): string => execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const octet = 50 + ((process.pid + 77) % 150);
const net = `10.215.${octet}`;
const CONTRACT = `@id("deny-bad") forbid(principal, action, resource) when { context.ip.isInRange(ip("${net}.3/32")) || context.ip == ip("192.0.2.9") };
@id("no-telnet") forbid(principal, action, resource) when { context.port == 23 || [2323, 23].contains(context.port) };
@id("per-source") ratelimit { key: context.ip, burst: 4, refill: 1, per: "1s", exceed: "deny" } when { context.ip.isInRange(ip("${net}.2/32")) };
@id("web") permit(principal, action, resource) when { context.port == 8080 };
@id("admins") forbid(principal in Group::"x", action, resource);
@id("by-user") ratelimit { key: principal, burst: 5, refill: 1, per: "1s", exceed: "deny" };
@id("mixed") forbid(principal, action, resource) when { context.ip.isInRange(ip("10.0.0.0/8")) && context.port == 22 };`;

describe('contracts kernel plan', () => {
  it('maps IP and port rules and per-source limits, and reports the rest with positions', () => {
    const p = c.kernelPlan(CONTRACT);
    expect(p.block).toEqual([{ cidr: `${net}.3/32`, policy: 'deny-bad' }, { cidr: '192.0.2.9/32', policy: 'deny-bad' }]);
    expect(p.denyPorts).toEqual([{ port: 23, policy: 'no-telnet' }, { port: 2323, policy: 'no-telnet' }, { port: 23, policy: 'no-telnet' }]);
    expect(p.rateLimits).toEqual([{ id: 'per-source', cidr: `${net}.2/32`, pps: 1, burst: 4, action: 'deny' }]);
    expect(p.unsupported.map((u) => [u.id, u.kind, u.line])).toEqual([['web', 'permit', 4], ['admins', 'forbid', 5], ['mixed', 'forbid', 7], ['by-user', 'ratelimit', 6]]);
    expect(p.unsupported.find((u) => u.id === 'by-user')!.reason).toContain('key must be context.ip');
    // Attribute names are configurable; a fractional rate is reported, not rounded.
    const q = c.kernelPlan('ratelimit { key: context.src, burst: 2, refill: 3, per: "2s" };', { ipAttr: 'src' });
    expect(q.rateLimits).toEqual([]);
    expect(q.unsupported[0].reason).toContain('not a whole number of packets per second');
    expect(c.kernelPlan('ratelimit { key: context.src, burst: 2, refill: 10, per: "1s" };', { ipAttr: 'src' }).rateLimits).toEqual([
      { id: 'ratelimit0', cidr: '0.0.0.0/0', pps: 10, burst: 2, action: 'deny' },
      { id: 'ratelimit0', cidr: '::/0', pps: 10, burst: 2, action: 'deny' },
    ]);
  });

  it('refuses to apply a plan without its targets, or with unsupported items under strict', async () => {
    const p = c.kernelPlan(CONTRACT);
    await expect(c.enforcePlan(p, {})).rejects.toMatchObject({ code: 'ERR_OMNI_INVALID_ARGUMENT', message: expect.stringContaining('targets.xdp') });
    await expect(c.enforcePlan(p, { strict: true })).rejects.toMatchObject({ code: 'ERR_OMNI_UNSUPPORTED', message: expect.stringContaining('4:1 permit web') });
    expect(thrown(() => c.kernelPlan('permit(principal, action, resource) when { nope };')).code).toBe('ERR_OMNI_CONTRACT_INVALID');
  });
});

// Skips without root or with OMNITIDE_SKIP_KERNEL_TESTS=1 (skipReason says which, loudly): XDP, veth pairs, namespaces and
// cgroup BPF need CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN. CI runs as root and runs it.
describe.skipIf(skipReason)('contracts enforced by XDP on a veth pair', () => {
  const tag = `${(process.pid + 7) % 100000}`;
  const ns = `omni-ctr-${process.pid}`;
  const host = `oc${tag}h`;
  const peer = `oc${tag}p`;
  const hostIp = `${net}.1`;

  beforeAll(() => {
    sh(`ip netns add ${ns}; ip link add ${host} type veth peer name ${peer}; ip link set ${peer} netns ${ns};
        ip addr add ${hostIp}/24 dev ${host}; ip link set ${host} up;
        ip -n ${ns} addr add ${net}.2/24 dev ${peer}; ip -n ${ns} addr add ${net}.3/24 dev ${peer}; ip -n ${ns} link set ${peer} up`);
  });
  const cgPath = `omnitide-ctr-${process.pid}`;
  afterAll(async () => {
    try { sh(`ip link del ${host} 2>/dev/null || true; ip netns del ${ns} 2>/dev/null || true; ${removePins(host)}`); } catch { /* best effort */ }
    try { await cgroup.open(cgPath).remove({ force: true }); } catch { /* not created or already removed */ }
  });

  /** Sends `n` UDP datagrams from `src` inside the namespace as fast as one process can. */
  function send(src: string, port: number, n: number) {
    sh(`ip netns exec ${ns} python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${src}', 0)); [s.sendto(b'omni', ('${hostIp}', ${port})) for _ in range(${n})]"`);
  }
  async function until(cond: () => boolean, ms = 10_000) {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  it('the rate limit drops exactly the excess packets and the blocklist drops the forbidden source', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, hostIp, () => r()));
    const got = new Map<string, number>();
    sock.on('message', (_m, rinfo) => got.set(rinfo.address, (got.get(rinfo.address) ?? 0) + 1));
    // Resolve ARP before the filter is attached (the datagram goes to the bound socket's port).
    send(`${net}.2`, sock.address().port, 1);
    await until(() => got.get(`${net}.2`) === 1);
    got.clear();
    const f = xdp.attach({ iface: host });
    const g: Cgroup = cgroup.create(cgPath);
    const server: Server = createServer((x) => x.end());
    let enforcement: c.KernelEnforcement | undefined;
    try {
      enforcement = await c.enforceInKernel(CONTRACT, { xdp: f, cgroup: g });
      expect(f.listBlocked().sort()).toEqual([`${net}.3/32`, '192.0.2.9/32'].sort());
      expect(f.rateLimits()).toEqual([{ cidr: `${net}.2/32`, pps: 1, burst: 4 }]);
      const port = sock.address().port;
      send(`${net}.2`, port, 12);
      send(`${net}.3`, port, 5);
      await until(() => f.stats().rateLimited.packets + (got.get(`${net}.2`) ?? 0) >= 12 && f.stats().blocked.packets >= 5);
      const s = f.stats();
      expect(s.rateLimited.packets).toBe(8);
      expect(s.blocked.packets).toBe(5);
      expect(got.get(`${net}.2`)).toBe(4);
      expect(got.get(`${net}.3`)).toBeUndefined();
      // The port forbid: a process in the cgroup cannot connect() to port 23; other ports work.
      const allowed = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
      const script = `echo $$ > ${g.fsPath}/cgroup.procs; (exec 3<>/dev/tcp/127.0.0.1/23) 2>/dev/null && echo D:ok || echo D:no; (exec 3<>/dev/tcp/127.0.0.1/${allowed}) 2>/dev/null && echo A:ok || echo A:no`;
      const out = await new Promise<string>((r) => {
        const p = spawn('bash', ['-c', script]);
        let o = '';
        p.stdout.on('data', (d) => (o += d));
        p.on('exit', () => r(o));
      });
      expect(out).toContain('D:no');
      expect(out).toContain('A:ok');
      expect(g.trafficStats().connect.deniedPackets).toBeGreaterThanOrEqual(1);
      // remove() takes every entry away again; the filter then passes everything.
      enforcement.remove();
      enforcement = undefined;
      expect(f.listBlocked()).toEqual([]);
      expect(f.rateLimits()).toEqual([]);
      send(`${net}.3`, port, 3);
      await until(() => (got.get(`${net}.3`) ?? 0) >= 3);
      expect(got.get(`${net}.3`)).toBe(3);
    } finally {
      enforcement?.remove();
      f.detach();
      sock.close();
      server.close();
      await g.remove({ force: true });
    }
  });
});
